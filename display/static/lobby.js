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
  function render() {
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
      if (type === "visit") {
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
