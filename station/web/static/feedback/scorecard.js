// The manager's scorecard charts (Chart.js, served from /vendor/). Data is embedded in the
// page as JSON by the server; rates are fractions and shown as percentages.
(function () {
  var data = JSON.parse(document.getElementById("scorecard-data").textContent);
  var labels = data.periods.map(function (p) { return p.label; });
  function pct(key) {
    return data.periods.map(function (p) { return p[key] === null ? null : +(p[key] * 100).toFixed(1); });
  }
  function values(key) { return data.periods.map(function (p) { return p[key]; }); }
  function target(value) { return labels.map(function () { return value * 100; }); }
  var common = { responsive: true, animation: false, spanGaps: true,
                 plugins: { legend: { position: "bottom" } } };
  function percentScale(min) {
    return { y: { min: min, max: 100, ticks: { callback: function (v) { return v + "%"; } } } };
  }
  window.scorecardCharts = [
    new Chart(document.getElementById("chart-good-rate"), {
      type: "line",
      data: { labels: labels, datasets: [
        { label: "好评率", data: pct("good_rate"), borderColor: "#0b5cab", backgroundColor: "#0b5cab" },
        { label: "目标 98%", data: target(data.targets.good_rate), borderColor: "#c4320a",
          borderDash: [6, 4], pointRadius: 0 }] },
      options: Object.assign({ scales: percentScale(80) }, common) }),
    new Chart(document.getElementById("chart-booking"), {
      type: "bar",
      data: { labels: labels, datasets: [
        { label: "预约率", data: pct("appointment_rate"), backgroundColor: "#5b8fd1" },
        { label: "线上预约占比", data: pct("online_rate"), backgroundColor: "#1a7f37" }] },
      options: Object.assign({ scales: percentScale(0) }, common) }),
    new Chart(document.getElementById("chart-times"), {
      type: "line",
      data: { labels: labels, datasets: [
        { label: "平均等候", data: values("wait_avg_min"), borderColor: "#b54708", backgroundColor: "#b54708" },
        { label: "平均在站", data: values("stay_avg_min"), borderColor: "#0b5cab", backgroundColor: "#0b5cab" }] },
      options: Object.assign({ scales: { y: { min: 0 } } }, common) }),
    new Chart(document.getElementById("chart-keys"), {
      type: "bar",
      data: { labels: labels, datasets: [
        { label: "交钥匙占比", data: pct("key_handover_share"), backgroundColor: "#6941c6" },
        { label: "爽约率", data: pct("no_show_rate"), backgroundColor: "#c4320a" }] },
      options: Object.assign({ scales: percentScale(0) }, common) }),
  ];
  document.body.dataset.chartsReady = "1";
})();
