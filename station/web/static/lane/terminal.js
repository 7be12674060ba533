/* Lane terminal: the car at this station, its items, the cars coming next (tracking API). */
(function () {
  "use strict";
  var root = document.getElementById("terminal");
  var stationId = root.dataset.stationId;
  var api = "/api/v1/tracking/stations/" + stationId;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var verdicts = {};      // item code → {outcome, reason} entered for the car shown
  var shownVisit = null;
  var STATE = {open: "", closed: "本工位已关闭", blocked: "本工位暂停"};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function showError(message) {
    var box = document.getElementById("error");
    box.textContent = message || ""; box.hidden = !message;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
                       body: JSON.stringify(body)})
      .then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error(data.message || ("HTTP " + r.status));
          return data;
        });
      });
  }
  function renderItems(car) {
    var body = document.getElementById("items");
    body.replaceChildren();
    car.items.forEach(function (item) {
      var tr = el("tr", item.skipped ? "skipped" : "");
      tr.dataset.code = item.code;
      tr.appendChild(el("td", null, item.name));
      var verdict = el("td", "verdict"), note = el("td");
      if (item.skipped) {
        verdict.textContent = "不适用";
        note.textContent = item.rule;
      } else if (car.emission) {
        verdict.textContent = item.outcome === "pass" ? "合格" : item.outcome === "fail" ? "不合格" : "待检测";
        note.textContent = [item.measured, item.reason].filter(Boolean).join(" ");
      } else {
        var v = verdicts[item.code] || (item.outcome ? {outcome: item.outcome, reason: item.reason || ""} : null);
        if (v) verdicts[item.code] = v;
        [["pass", "合格"], ["fail", "不合格"]].forEach(function (pair) {
          var b = el("button", pair[0] + (v && v.outcome === pair[0] ? " on" : ""), pair[1]);
          b.type = "button"; b.dataset.outcome = pair[0];
          b.addEventListener("click", function () {
            verdicts[item.code] = {outcome: pair[0], reason: (verdicts[item.code] || {}).reason || ""};
            showError("");  // "not yet judged: …" is out of date; finishing checks again
            renderItems(car);
          });
          verdict.appendChild(b);
        });
        if (v && v.outcome === "fail") {
          var input = el("input"); input.placeholder = "请填写不合格原因"; input.value = v.reason || "";
          input.addEventListener("input", function () { verdicts[item.code].reason = input.value; });
          note.appendChild(input);
        }
      }
      tr.appendChild(verdict); tr.appendChild(note);
      body.appendChild(tr);
    });
  }
  function render(data) {
    var stateBox = document.getElementById("station-state");
    stateBox.textContent = STATE[data.station.state] +
      (data.station.state_reason ? "：" + data.station.state_reason : "");
    stateBox.className = "state " + data.station.state;
    var car = data.car;
    document.getElementById("no-car").hidden = !!car;
    document.getElementById("car").hidden = !car;
    if (car) {
      if (shownVisit !== car.visit_id) { verdicts = {}; shownVisit = car.visit_id; }
      car.emission = !!data.emission_page;
      document.getElementById("car-plate").textContent = car.plate;
      document.getElementById("car-info").textContent =
        [car.vehicle_type_label, car.fuel_label, car.attempt > 1 ? "第" + car.attempt + "次" : ""].filter(Boolean).join(" · ");
      document.getElementById("car-retest").hidden = car.attempt <= 1;
      var link = document.getElementById("emission-link");
      link.hidden = !data.emission_page;
      if (data.emission_page) link.href = data.emission_page + "?visit_id=" + car.visit_id;
      renderItems(car);
    }
    var list = document.getElementById("incoming");
    list.replaceChildren();
    data.incoming.forEach(function (c) {
      var li = el("li");
      li.appendChild(el("span", "plate", c.plate));
      var b = el("button", "button primary", "车辆到位");
      b.type = "button"; b.disabled = !!car;
      b.addEventListener("click", function () {
        post(api + "/arrive", {visit_id: c.visit_id}).then(function () { showError(""); load(); })
          .catch(function (e) { showError(e.message); });
      });
      li.appendChild(b);
      list.appendChild(li);
    });
    document.getElementById("no-incoming").hidden = data.incoming.length > 0;
  }
  var loading = false, again = false;
  function load() {
    if (loading) { again = true; return; }
    loading = true;
    fetch(api, {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(render).catch(function (e) { showError(e.message); })
      .finally(function () { loading = false; if (again) { again = false; load(); } });
  }
  document.getElementById("finish").addEventListener("click", function () {
    var results = [];
    if (!document.getElementById("emission-link").hidden) results = [];
    else Object.keys(verdicts).forEach(function (code) {
      results.push({code: code, outcome: verdicts[code].outcome, reason: verdicts[code].reason || null});
    });
    post(api + "/finish", {visit_id: shownVisit, results: results})
      .then(function () { showError(""); verdicts = {}; load(); })
      .catch(function (e) { showError(e.message); });
  });
  StationRealtime.follow("/staff", {
    onStatus: function (s) {
      var badge = document.getElementById("rt-status");
      badge.className = "rt-status " + s;
      badge.textContent = s === "live" ? "实时" : "连接中…";
    },
    onSnapshot: function () { load(); },
    onEvent: function (type) { if (type === "position" || type === "lane" || type === "visit") load(); },
  });
})();
