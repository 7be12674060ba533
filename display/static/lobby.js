/* Lobby display: follows /lobby (masked data only) and never shows stale data as live. */
(function () {
  "use strict";
  var params = new URLSearchParams(location.hash.slice(1));
  if (params.get("token")) {
    localStorage.setItem("station.lobbyToken", params.get("token"));
    history.replaceState(null, "", location.pathname);   // keep the token out of the address bar
  }
  var token = localStorage.getItem("station.lobbyToken") || "";
  var state = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Speak a call in Mandarin with the browser's own zh-CN voice (offline; no online service).
  function speak(text) {
    if (!("speechSynthesis" in window)) return;
    var voice = speechSynthesis.getVoices().filter(function (v) { return /^zh(-CN)?/i.test(v.lang); })[0];
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "zh-CN";
    if (voice) utterance.voice = voice;
    utterance.rate = 0.9;
    speechSynthesis.speak(utterance);
  }
  function renderCalls() {
    var list = document.getElementById("calls");
    list.replaceChildren();
    state.now_serving.slice(0, 6).forEach(function (c, i) {
      var li = el("li", i === 0 ? "latest" : "");
      li.appendChild(el("span", "number", c.label));
      li.appendChild(el("span", "window", c.counter_name));
      list.appendChild(li);
    });
  }
  function render() {
    renderCalls();
    document.getElementById("station-name").textContent = state.station.name;
    document.getElementById("hotline").textContent = state.station.hotline;
    var lanes = document.getElementById("lanes");
    lanes.replaceChildren();
    state.lanes.forEach(function (lane) {
      var box = el("div", "lane " + lane.state);
      box.appendChild(el("h2", null, lane.name));
      var row = el("div", "stations");
      lane.stations.forEach(function (st) {
        var s = el("div", "station " + st.state);
        s.appendChild(el("div", "name", st.name));
        row.appendChild(s);
      });
      box.appendChild(row);
      lanes.appendChild(box);
    });
    var list = document.getElementById("visits");
    list.replaceChildren();
    state.visits.forEach(function (v) {
      var li = el("li");
      li.appendChild(el("span", "plate", v.plate));
      li.appendChild(el("span", "stage", v.state_label));
      list.appendChild(li);
    });
    var prices = document.getElementById("prices");
    prices.replaceChildren();
    state.station.prices.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", null, p.name_zh));
      tr.appendChild(el("td", null, "¥" + p.amount_yuan));
      prices.appendChild(tr);
    });
  }
  function tick() {
    document.getElementById("clock").textContent =
      new Date().toLocaleTimeString("zh-CN", {hour12: false});
  }
  setInterval(tick, 1000); tick();

  StationRealtime.follow("/lobby", {
    auth: {token: token},
    onStatus: function (s) {
      var badge = document.getElementById("rt-status");
      badge.className = "rt-status " + s;
      badge.textContent = s === "live" ? "实时" : "连接中…";
      document.getElementById("offline-banner").hidden = s === "live" || state === null;
      document.querySelector("main").classList.toggle("stale", s !== "live");
    },
    onSnapshot: function (snapshot) { state = snapshot; render(); },
    onEvent: function (type, data) {
      if (type === "call") {
        state.now_serving = state.now_serving.filter(function (c) { return c.label !== data.label; });
        state.now_serving.unshift(data);
        speak(data.text);
      } else if (type === "visit") {
        state.visits = state.visits.filter(function (v) { return v.id !== data.id; });
        if (data.on_site) state.visits.push(data);
      } else if (type === "lane") {
        state.lanes.forEach(function (lane) {
          if (data.station_id === null && lane.id === data.lane_id) lane.state = data.state;
          lane.stations.forEach(function (st) { if (st.id === data.station_id) st.state = data.state; });
        });
      }
      render();
    },
  });
})();
