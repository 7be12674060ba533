/* The counter touchscreen (一窗通办): calling, the queue, registration, payment, pick-up.
 * Every rule is the server's: this script sends the staff's actions to the JSON API and shows
 * what it answers (errors in the user's language). */
(function () {
  "use strict";
  var root = document.getElementById("win");
  var counterId = Number(root.dataset.counterId);
  var T = window.WINDOW_TEXT;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var visit = null;      // the called visit's card
  var picked = null;     // the pick-up card
  var queryOk = false;

  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value == null ? "" : String(value); }
  function yuan(fen) { return (fen / 100).toFixed(2); }
  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content != null) node.textContent = content;
    return node;
  }

  function message(msg, ok) {
    var box = $("msg");
    box.hidden = !msg;
    box.className = "win-msg " + (ok ? "ok" : "error");
    text(box, msg);
  }

  function api(method, url, body) {
    var opts = {method: method, headers: {"X-CSRFToken": csrf, "Accept": "application/json"},
                credentials: "same-origin"};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.message || ("HTTP " + r.status)); e.body = data; throw e; }
        return data;
      });
    });
  }
  function fail(err) { message(err.message, false); throw err; }

  function docLine(d, after) {
    var li = el("li", "", d.title + "：" + (d.state === "printed" ? T.printed :
      d.state === "failed" ? T.failed + "（" + d.error + "）" : T.pending));
    if (d.state !== "pending") {
      var b = el("button", "button link", T.reprint);
      b.type = "button";
      b.addEventListener("click", function () {
        api("POST", "/api/v1/window/documents/" + d.id + "/reprint").then(after, fail);
      });
      li.appendChild(document.createTextNode(" "));
      li.appendChild(b);
    }
    return li;
  }

  // -- calling --------------------------------------------------------------------------------
  function showCurrent(call) {
    text($("current-ticket"), call ? call.ticket : "—");
    text($("current-plate"), call ? call.plate : "");
    text($("current-state"), call ? call.call_state === "called" ? T.serving : "" : "");
    if (call) loadVisit(call.visit_id); else clearVisit();
  }
  function refreshCurrent() {
    return fetch("/api/v1/counters/" + counterId + "/current", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; }).then(showCurrent);
  }
  function refreshQueue() {
    return api("GET", "/api/v1/queue/counter").then(function (places) {
      var body = $("queue");
      body.innerHTML = "";
      text($("queue-count"), places.length);
      if (!places.length) {
        var row = el("tr"); var td = el("td", "muted", T.noQueue); td.colSpan = 4;
        row.appendChild(td); body.appendChild(row);
      }
      places.forEach(function (p) {
        var row = el("tr", p.hold_until ? "held" : "");
        row.appendChild(el("td", "nowrap", p.ticket || "—"));
        row.appendChild(el("td", "nowrap", p.plate));
        row.appendChild(el("td", "", p.reason_zh + (p.hold_until ? T.skipped : "")));
        row.appendChild(el("td", "num", p.waited_min));
        body.appendChild(row);
      });
    }).catch(function () {});
  }
  function act(path, body) {
    message("");
    return api("POST", "/api/v1/counters/" + counterId + "/" + path, body)
      .then(function (call) {
        if (call.text) message(call.text, true);
        return refreshCurrent();
      }, fail).then(refreshQueue, function () { refreshQueue(); });
  }
  $("btn-next").addEventListener("click", function () { act("call-next"); });
  $("btn-recall").addEventListener("click", function () { act("recall"); });
  $("btn-skip").addEventListener("click", function () { act("skip"); });
  $("btn-park").addEventListener("click", function () { act("park"); });
  $("btn-finish").addEventListener("click", function () { act("finish"); });
  $("btn-call").addEventListener("click", function () {
    act("call", {ticket: $("call-label").value.trim()});
  });
  $("btn-transfer").addEventListener("click", function () {
    act("transfer", {to_counter_id: Number($("transfer-to").value)});
  });

  // -- the called visit: registration and payment ----------------------------------------------
  var form = $("reg-form");
  function clearVisit() {
    visit = null;
    $("visit-panel").hidden = true;
    $("no-visit").hidden = false;
  }
  function loadVisit(id) {
    return api("GET", "/api/v1/window/visits/" + id).then(showVisit).catch(function () {});
  }
  function showVisit(card) {
    var fresh = !visit || visit.id !== card.id;
    visit = card;
    $("no-visit").hidden = true;
    $("visit-panel").hidden = false;
    text($("visit-title"), (card.ticket || "") + " " + card.vehicle.plate + " · " + card.serial);
    text($("visit-state"), card.state_zh);
    if (fresh) {
      form.reset();
      var v = card.vehicle;
      form.plate_type.value = v.plate_type; form.plate.value = v.plate; form.vin.value = v.vin || "";
      form.vehicle_type.value = v.vehicle_type || ""; form.use_nature.value = v.use_nature || "";
      form.fuel.value = v.fuel || ""; form.seats.value = v.seats || "";
      $("query-result").hidden = true; $("agency").hidden = true; $("vin-confirm").hidden = true;
      queryOk = false;
    }
    var registering = card.state === "called";
    form.hidden = !registering;
    $("pay-panel").hidden = !card.due;
    if (card.due) showDue(card.due);
    var paid = $("paid-panel");
    paid.hidden = !card.payment;
    paid.innerHTML = "";
    if (card.payment) {
      paid.appendChild(el("p", "win-ok", T.paid + " " + yuan(card.payment.amount_fen) + T.yuan +
        " · " + card.payment.method_zh + " · " + T.receipt + " " + card.payment.receipt_no));
      var list = el("ul", "muted");
      card.documents.forEach(function (d) { list.appendChild(docLine(d, showVisit)); });
      paid.appendChild(list);
    }
  }
  function showDue(due) {
    var body = $("due");
    body.innerHTML = "";
    due.items.forEach(function (i) {
      var row = el("tr");
      row.appendChild(el("td", "", i.name_zh + (i.note ? "（" + i.note + "）" : "")));
      row.appendChild(el("td", "num", yuan(i.amount_fen) + T.yuan));
      body.appendChild(row);
    });
    var total = el("tr", "total");
    total.appendChild(el("th", "", T.total));
    var cell = el("th", "num", yuan(due.total_fen) + T.yuan); cell.id = "due-total";
    total.appendChild(cell);
    body.appendChild(total);
  }
  function formData() {
    var data = {};
    ["plate_type", "plate", "vin", "vehicle_type", "use_nature", "fuel"].forEach(function (k) {
      data[k] = form[k].value.trim();
    });
    data.seats = form.seats.value ? Number(form.seats.value) : null;
    data.confirm_vin = form.confirm_vin.checked;
    data.insurance_agency = form.insurance_agency.checked;
    data.counter_id = counterId;
    return data;
  }
  function showQuery(q) {
    var box = $("query-result");
    box.hidden = false;
    box.innerHTML = "";
    box.className = "wide win-query " + (q.may_test ? "ok" : "blocked");
    box.appendChild(el("p", "win-verdict", (q.may_test ? T.mayTest : T.blocked) + " · " + q.status_codes));
    var list = el("ul");
    q.findings.forEach(function (f) {
      var item = el("li", f.blocks_test ? "blocks" : "");
      item.appendChild(el("strong", "", f.code + " " + f.meaning_zh + "："));
      item.appendChild(document.createTextNode(f.action_zh));
      list.appendChild(item);
    });
    box.appendChild(list);
    box.appendChild(el("p", "", T.validUntil + "：" + (q.inspection_valid_until || "—")));
    box.appendChild(el("p", q.insurance_valid ? "" : "warn", T.insurance + "：" + q.insurance_note_zh));
    $("agency").hidden = q.insurance_valid;
    ["vehicle_type", "use_nature", "fuel"].forEach(function (k) {
      if (q[k] && !form[k].value) form[k].value = q[k];
    });
    if (q.vin && !form.vin.value) form.vin.value = q.vin;
    queryOk = q.may_test;
  }
  $("btn-query").addEventListener("click", function () {
    message("");
    api("POST", "/api/v1/window/query", {plate_type: form.plate_type.value, plate: form.plate.value})
      .then(showQuery, fail);
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!visit) return;
    message("");
    api("POST", "/api/v1/window/visits/" + visit.id + "/register", formData()).then(function (card) {
      message(card.registration.insurance_zh, true);
      showVisit(card);
    }, function (err) {
      if (err.body && err.body.code === "vin_check_digit_unconfirmed") $("vin-confirm").hidden = false;
      message(err.message, false);
    });
  });
  $("btn-pay").addEventListener("click", function () {
    if (!visit || !visit.due) return;
    message("");
    api("POST", "/api/v1/window/visits/" + visit.id + "/pay", {
      method: $("pay-method").value, payer_code: $("payer-code").value.trim() || null,
      counter_id: counterId, expected_total_fen: visit.due.total_fen,
    }).then(function (card) {
      message(T.paid + " " + yuan(card.payment.amount_fen) + T.yuan, true);
      showVisit(card);
      text($("current-ticket"), "—"); text($("current-plate"), ""); text($("current-state"), "");
      setTimeout(function () { loadVisit(card.id); }, 2500);  // the receipt's print state
      refreshQueue();
    }, fail);
  });

  // -- pick-up -------------------------------------------------------------------------------
  function showPickup(card) {
    picked = card;
    $("pickup").hidden = false;
    text($("pk-title"), (card.ticket || "") + " " + card.vehicle.plate + " · " + card.serial + "-" + card.attempt);
    text($("pk-state"), card.state_zh);
    var res = $("pk-result");
    res.className = "win-result " + (card.result || "none");
    text(res, card.result_zh || T.noResult);
    var body = $("pk-items");
    body.innerHTML = "";
    card.items.forEach(function (i) {
      var row = el("tr", i.outcome);
      row.appendChild(el("td", "", i.name_zh));
      row.appendChild(el("td", "", i.outcome_zh));
      row.appendChild(el("td", "", i.reason || i.measured || ""));
      body.appendChild(row);
    });
    text($("pk-insurance"), card.registration ? card.registration.insurance_zh +
      (card.registration.insurance_until ? "（" + card.registration.insurance_until + "）" : "") : "");
    var blockers = $("pk-blockers");
    blockers.innerHTML = "";
    card.papers_blockers.forEach(function (b) { blockers.appendChild(el("li", "", b)); });
    var st = $("pk-stations");
    st.innerHTML = "";
    var stations = card.retest ? card.retest.repair_stations : card.repair_stations;
    if (card.retest) st.appendChild(el("p", "win-ok", T.retestFree + "：" + card.retest.free_until));
    if (stations.length) {
      st.appendChild(el("p", "warn", T.mStations));
      var ul = el("ul");
      stations.forEach(function (s) { ul.appendChild(el("li", "", s.name + " " + s.address + " " + s.phone)); });
      st.appendChild(ul);
    }
    $("btn-papers").disabled = !card.papers_ready;
    $("btn-retest").disabled = !card.can_book_retest;
    $("btn-verify").disabled = !card.registration || card.registration.insurance_state === "verified";
    var docs = $("pk-docs");
    docs.innerHTML = "";
    card.documents.forEach(function (d) { docs.appendChild(docLine(d, showPickup)); });
    showRating(card);
  }
  /* the owner rates the visit at the window (好差评): five levels, once per visit */
  var ratingLevels = null;
  var givenHere = {};  // visit id → the label the owner just pressed on this screen
  function showRating(card) {
    var box = $("pk-rating");
    box.hidden = !card.result;
    if (box.hidden) return;
    var row = $("pk-levels");
    if (card.rated) {  // once per visit: a refresh of the card keeps the thanks, not the buttons
      text($("pk-rated"), "✓ " + (givenHere[card.id] || T.rated));
      row.innerHTML = "";
      return;
    }
    text($("pk-rated"), "");
    var render = function (levels) {
      row.innerHTML = "";
      levels.forEach(function (lv) {
        var b = el("button", "button big" + (lv.bad ? " warn" : ""), lv.label);
        b.type = "button";
        b.dataset.level = lv.value;
        b.addEventListener("click", function () {
          api("POST", "/api/v1/feedback/ratings", {visit_id: card.id, level: lv.value}).then(function () {
            givenHere[card.id] = lv.label;
            text($("pk-rated"), "✓ " + lv.label);
            row.innerHTML = "";
          }, function (err) { text($("pk-rated"), err.message); });
        });
        row.appendChild(b);
      });
    };
    if (ratingLevels) { render(ratingLevels); return; }
    api("GET", "/api/v1/feedback/options").then(function (o) { ratingLevels = o.levels; render(o.levels); });
  }
  function pickupAction(path) {
    message("");
    return api("POST", "/api/v1/window/visits/" + picked.id + "/" + path, {counter_id: counterId})
      .then(function (card) { showPickup(card); setTimeout(function () {
        api("GET", "/api/v1/window/visits/" + card.id).then(showPickup); }, 2500); }, fail);
  }
  $("btn-find").addEventListener("click", function () {
    message("");
    api("GET", "/api/v1/window/find?q=" + encodeURIComponent($("pickup-q").value.trim()))
      .then(showPickup, fail);
  });
  $("btn-verify").addEventListener("click", function () { pickupAction("insurance/verify"); });
  $("btn-papers").addEventListener("click", function () { pickupAction("papers"); });
  $("btn-retest").addEventListener("click", function () { pickupAction("retest"); });

  Array.prototype.forEach.call(document.querySelectorAll(".win-tabs .tab"), function (tab) {
    tab.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".win-tabs .tab"), function (t) {
        t.classList.toggle("active", t === tab);
        $("tab-" + t.dataset.tab).hidden = t !== tab;
      });
    });
  });

  refreshCurrent();
  refreshQueue();
  setInterval(refreshQueue, 3000);
})();
