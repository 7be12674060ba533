/* The handover desk (交钥匙): register a handover with photos, return keys, the key board. */
(function () {
  "use strict";
  var K = StationKeys, el = K.el;

  function renderHeld(list) {
    var tbody = document.getElementById("held");
    tbody.replaceChildren();
    list.forEach(function (k) {
      var tr = el("tr", k.overdue ? "overdue" : "");
      var tag = el("td"); tag.appendChild(el("span", "tag small", k.tag)); tr.appendChild(tag);
      var plate = el("td");
      if (window.KEYS_MANAGER) {
        var a = el("a", null, k.plate); a.href = "/keys/visits/" + k.visit_id; plate.appendChild(a);
      } else { plate.textContent = k.plate; }
      tr.appendChild(plate);
      tr.appendChild(el("td", null, k.ticket || ""));
      tr.appendChild(el("td", null, k.holder_label));
      tr.appendChild(el("td", "num", String(k.minutes_with_holder) + (k.overdue ? " ⚠" : "")));
      tr.appendChild(el("td", null, k.visit_state_label));
      tbody.appendChild(tr);
    });
    document.getElementById("held-count").textContent = list.length;
    document.getElementById("held-empty").hidden = list.length > 0;
    K.overdueAlerts(list.filter(function (k) { return k.overdue; }));
  }
  function refresh() {
    K.call("GET", "/api/v1/keys/held").then(renderHeld).catch(function (err) { K.say(err.message, "error"); });
  }

  document.getElementById("handover-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var body = {ticket: f.ticket.value.trim(), tag: f.tag.value.trim(), parking_spot: f.parking_spot.value.trim() || null};
    K.call("POST", "/api/v1/keys/handover", body).then(function (key) {
      var files = f.photo.files;
      var done = "已登记：" + key.plate + " 钥匙牌 " + key.tag + "。请车主到休息区等候。";
      if (!files.length) return done;
      var data = new FormData();
      for (var i = 0; i < files.length; i++) data.append("photo", files[i]);
      return K.call("POST", "/api/v1/keys/" + key.key_id + "/photos", data)
        .then(function (photos) { return done + "（照片 " + photos.length + " 张）"; })
        .catch(function (err) { return done + " 照片未保存：" + err.message; });
    }).then(function (text) { K.say(text, "ok"); f.reset(); refresh(); })
      .catch(function (err) { K.say(err.message, "error"); });
  });

  function returnBody(f, override) {
    var code = f.code.value.trim();
    var body = /^[A-Za-z]\d{1,4}$/.test(code) ? {ticket: code} : {token: code.replace(/^.*\/p\//, "")};
    if (override) body.override_reason = f.override_reason.value.trim();
    else body.phone_tail = f.phone_tail.value.trim();
    return body;
  }
  function giveBack(body, f) {
    K.call("POST", "/api/v1/keys/return", body).then(function (key) {
      K.say("已将钥匙 " + key.tag + " 交还车主（" + key.plate + "）", "ok"); f.reset(); refresh();
    }).catch(function (err) { K.say(err.message, "error"); });
  }
  var returnForm = document.getElementById("return-form");
  returnForm.addEventListener("submit", function (ev) { ev.preventDefault(); giveBack(returnBody(ev.target, false), ev.target); });
  var override = document.getElementById("override");
  if (override) override.addEventListener("click", function () { giveBack(returnBody(returnForm, true), returnForm); });

  refresh();
  K.live(refresh, ["key", "key_overdue", "visit"]);
})();
