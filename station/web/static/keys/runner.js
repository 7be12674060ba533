/* The runner's phone (引车): the key in hand, the cars ready to move, tested cars to take back. */
(function () {
  "use strict";
  var K = StationKeys, el = K.el;
  var busy = false;
  var shownMine = null;   // what the "key in hand" card shows now: kept while the runner types
  var spotValue = "";

  function act(promise, done) {
    busy = true;
    promise.then(function (key) { K.say(done(key), "ok"); })
      .catch(function (err) { K.say(err.message, "error"); })
      .then(function () { busy = false; refresh(); });
  }
  function button(text, cls, onclick) {
    var b = el("button", "button " + (cls || ""), text);
    b.type = "button"; b.addEventListener("click", onclick);
    return b;
  }
  function carLine(k) {
    var line = el("div", "car");
    line.appendChild(el("span", "tag", k.tag));
    var who = el("div", "who");
    who.appendChild(el("div", "plate", k.plate));
    who.appendChild(el("div", "muted", [k.ticket ? k.ticket + "号" : "", k.parking_spot ? "车位 " + k.parking_spot : ""]
      .filter(Boolean).join(" · ")));
    line.appendChild(who);
    return line;
  }

  function renderMine(k, lanes) {
    var signature = JSON.stringify([k && [k.key_id, k.version, k.visit_state, k.lane_id], lanes]);
    if (signature === shownMine) return;
    shownMine = signature;
    var box = document.getElementById("mine");
    box.replaceChildren();
    document.getElementById("mine-card").classList.toggle("holding", !!k);
    if (!k) { box.appendChild(el("p", "muted", "手上没有钥匙，请从下方取一辆车")); return; }
    box.appendChild(carLine(k));
    var actions = el("div", "actions");
    if (k.visit_state === "queued_for_lane" || k.visit_state === "on_lane") {
      if (k.lane_id) {
        box.appendChild(el("p", "go", "请开往 " + k.lane_name));
        actions.appendChild(button("已交 " + k.lane_name, "primary big", function () {
          act(K.call("POST", "/api/v1/keys/" + k.key_id + "/deliver", {}), function () { return "已交检测线"; });
        }));
      } else {
        var pick = el("select", "lane-pick"); pick.setAttribute("aria-label", "检测线");
        lanes.filter(function (l) { return l.state === "open"; }).forEach(function (l) {
          var o = el("option", null, l.name); o.value = l.id; pick.appendChild(o);
        });
        box.appendChild(el("p", "go", "尚未派线，请按调度选择检测线"));
        actions.appendChild(pick);
        actions.appendChild(button("已交检测线", "primary big", function () {
          act(K.call("POST", "/api/v1/keys/" + k.key_id + "/deliver", {lane_id: Number(pick.value)}),
              function () { return "已交检测线"; });
        }));
      }
      if (k.visit_state === "queued_for_lane") {
        actions.appendChild(button("放回交车区", "", function () {
          act(K.call("POST", "/api/v1/keys/" + k.key_id + "/release", {}), function () { return "钥匙已放回交车区"; });
        }));
      }
    } else {
      box.appendChild(el("p", "go", "检测完成：停入提车区，钥匙挂回 " + k.tag));
      var spot = el("input", "spot"); spot.placeholder = "提车区车位，如 P-08"; spot.maxLength = 20;
      spot.setAttribute("aria-label", "提车区车位");
      spot.value = spotValue;
      spot.addEventListener("input", function () { spotValue = spot.value; });
      actions.appendChild(spot);
      actions.appendChild(button("已停车并挂回 " + k.tag, "primary big", function () {
        act(K.call("POST", "/api/v1/keys/" + k.key_id + "/park", {pickup_spot: spot.value}),
            function () { spotValue = ""; return "钥匙已挂回 " + k.tag; });
      }));
    }
    box.appendChild(actions);
  }

  function renderList(id, items, empty, make) {
    var list = document.getElementById(id);
    list.replaceChildren();
    items.forEach(function (k) { list.appendChild(make(k)); });
    document.getElementById(empty).hidden = items.length > 0;
  }

  function render(board) {
    K.overdueAlerts(board.overdue);
    renderMine(board.mine, board.lanes);
    var holding = !!board.mine;
    document.getElementById("queue-count").textContent = board.queue.length;
    renderList("queue", board.queue, "queue-empty", function (k) {
      var li = el("li", "item" + (k.next_for_lane ? " next" : "") + (k.lane_ready ? "" : " waiting"));
      li.dataset.keyId = k.key_id;
      li.appendChild(carLine(k));
      var meta = el("div", "meta");
      meta.appendChild(el("span", "chip " + (k.lane_ready ? "open" : "closed"),
                          k.lane_name ? "→ " + k.lane_name : "待派线"));
      if (k.next_for_lane) meta.appendChild(el("span", "chip next", "下一辆"));
      meta.appendChild(el("span", "muted", k.reason + " · 等候" + k.waited_min + "分钟"));
      li.appendChild(meta);
      var claim = button("取钥匙引车", "primary", function () {
        act(K.call("POST", "/api/v1/keys/" + k.key_id + "/claim"), function (key) {
          return "已取钥匙 " + key.tag + (key.lane_name ? "，请开往 " + key.lane_name : "");
        });
      });
      claim.disabled = holding;
      li.appendChild(claim);
      return li;
    });
    document.getElementById("collect-count").textContent = board.to_collect.length;
    renderList("collect", board.to_collect, "collect-empty", function (k) {
      var li = el("li", "item");
      li.appendChild(carLine(k));
      li.appendChild(el("div", "meta", k.holder_label + " · " + k.visit_state_label));
      var take = button("取回停车", "primary", function () {
        act(K.call("POST", "/api/v1/keys/" + k.key_id + "/collect"), function (key) {
          return "已从检测线取回 " + key.tag;
        });
      });
      take.disabled = holding;
      li.appendChild(take);
      return li;
    });
  }

  function refresh() {
    if (busy) return;
    K.call("GET", "/api/v1/keys/runner").then(render).catch(function (err) { K.say(err.message, "error"); });
  }

  refresh();
  K.live(refresh, ["key", "key_overdue", "visit", "lane"]);
})();
