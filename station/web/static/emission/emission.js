/* The lane terminal's free-acceleration page: start, zero, then follow the test live.
 * Polls …/live?after=<seq> every 250 ms (4 updates/s) and appends new readings to the chart. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var box = document.getElementById("controls"), base = box.dataset.base;
  var $ = function (id) { return document.getElementById(id); };
  var seq = 0, timer = null, WINDOW_S = 60;

  var chart = new Chart($("chart"), {
    type: "line",
    data: {datasets: [
      {label: "N (%)", data: [], borderColor: "#0b5cab", pointRadius: 0, borderWidth: 2, yAxisID: "n"},
      {label: "k (m⁻¹)", data: [], borderColor: "#c4320a", pointRadius: 0, borderWidth: 2, yAxisID: "k"},
      {label: "r/min", data: [], borderColor: "#98a2b3", pointRadius: 0, borderWidth: 1, yAxisID: "rpm"}]},
    options: {animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      scales: {x: {type: "linear", title: {display: true, text: "s"}},
               n: {position: "left", min: 0, suggestedMax: 60, title: {display: true, text: "N %"}},
               k: {position: "right", min: 0, suggestedMax: 2.5, grid: {drawOnChartArea: false}},
               rpm: {display: false, min: 0, suggestedMax: 4000}}}
  });

  function post(path, body) {
    return fetch(base + path, {method: "POST", headers: {"X-CSRFToken": csrf, "Accept": "application/json",
      "Content-Type": "application/json"}, body: JSON.stringify(body || {})}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (!r.ok) throw new Error(d.message || ("HTTP " + r.status)); return d; });
    });
  }
  function error(text) { var m = $("msg"); m.textContent = text; m.className = "msg" + (text ? " show" : ""); }
  function controls(step) {
    var running = step && step !== "complete" && step !== "aborted";
    $("start").disabled = !!running;
    $("zero").disabled = step !== "zero_check";
    $("abort").disabled = !running;
    if ($("sim-accel")) $("sim-accel").disabled = !(step === "purge" || step === "measure");
  }
  function apply(s) {
    if (!s || !s.step) { controls(null); return; }
    var p = $("prompt");
    p.textContent = s.prompt.zh; p.className = "prompt " + s.prompt.code;
    $("purge").textContent = s.purge_count; $("purge-needed").textContent = s.purge_needed;
    $("measured").textContent = s.measured.length ? s.measured.join(" / ") : "—";
    $("limit").textContent = s.limit.label + " " + s.limit.k_max_m1 + " m⁻¹";
    $("limit-source").textContent = "限值依据：" + s.limit.source;
    s.readings.forEach(function (r) {
      chart.data.datasets[0].data.push({x: r.t, y: r.n});
      chart.data.datasets[1].data.push({x: r.t, y: r.k});
      chart.data.datasets[2].data.push({x: r.t, y: r.rpm});
    });
    if (s.readings.length) {
      var last = s.readings[s.readings.length - 1];
      $("now-n").textContent = last.n.toFixed(1); $("now-k").textContent = last.k.toFixed(2);
      $("now-rpm").textContent = last.rpm;
      chart.data.datasets.forEach(function (d) { while (d.data.length && d.data[0].x < last.t - WINDOW_S) d.data.shift(); });
      chart.options.scales.x.min = Math.max(0, last.t - WINDOW_S); chart.options.scales.x.max = Math.max(WINDOW_S, last.t);
      chart.update("none");
    }
    seq = Math.max(seq, s.seq);
    if (s.error) error(s.error);
    controls(s.finished ? "complete" : s.step);
    if (s.finished) stop();
  }
  function poll() {
    fetch(base + "/live?after=" + seq, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); }).then(apply).catch(function () {});
  }
  function follow() { stop(); timer = setInterval(poll, 250); }
  function stop() { if (timer) { clearInterval(timer); timer = null; } }

  $("start").addEventListener("click", function () {
    error("");
    chart.data.datasets.forEach(function (d) { d.data = []; }); seq = 0;
    post("/start", {visit_id: $("visit").value}).then(function (s) { apply(s); follow(); })
      .catch(function (e) { error(e.message); });
  });
  $("zero").addEventListener("click", function () {
    $("zero").disabled = true;
    post("/zero").then(function () { error(""); }).catch(function (e) { error(e.message); $("zero").disabled = false; });
  });
  $("abort").addEventListener("click", function () { post("/abort").then(apply).catch(function (e) { error(e.message); }); });
  if ($("sim-accel")) $("sim-accel").addEventListener("click", function () { post("/simulate").catch(function (e) { error(e.message); }); });
  // a test already running at this station (page reloaded): follow it
  fetch(base + "/live?after=0", {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); })
    .then(function (s) { if (s.step) { apply(s); if (!s.finished) follow(); } }).catch(function () {});
})();
