/* Lobby display: follows /lobby (masked data only) and never shows stale data as live.
 * State = the snapshot of docs/REALTIME.md (/lobby); events replace one entity each. */
(function () {
  "use strict";
  var params = new URLSearchParams(location.hash.slice(1));
  if (params.get("token")) {
    localStorage.setItem("station.lobbyToken", params.get("token"));
    history.replaceState(null, "", location.pathname);   // keep the token out of the address bar
  }
  var token = localStorage.getItem("station.lobbyToken") || "";
  var state = null;
  var tiles = { urls: null, byLane: {}, loose: [] };   // the camera tiles (updateTiles)
  var STAGE_MAX = 3;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
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
  function laneNumber(name) { var m = /^(\d+号线)/.exec(name); return m ? m[1] : name; }

  function renderLanes() {
    var box = document.getElementById("lanes"), notices = document.getElementById("notices");
    box.replaceChildren(); notices.replaceChildren();
    var waits = {};
    (state.waits ? state.waits.lanes : []).forEach(function (w) { waits[w.lane_id] = w; });
    state.lanes.forEach(function (lane) {
      var row = el("div", "lane " + lane.state);
      row.dataset.laneId = lane.id;
      var body = el("div", "lane-body");
      row.appendChild(body);
      var head = el("div", "lane-head");
      head.appendChild(el("span", "name", lane.name));
      if (lane.state !== "open") {
        head.appendChild(el("span", "lane-state", (lane.state === "closed" ? "暂停使用" : "暂停检测") +
                                                  (lane.state_reason ? "：" + lane.state_reason : "")));
      }
      var wait = waits[lane.id] ? waits[lane.id].estimated_wait_min : lane.estimated_wait_min;
      if (lane.state === "open") head.appendChild(el("span", "wait", "排队 " + lane.waiting.length + " 辆 · 预计等候约 " + (wait || 0) + " 分钟"));
      body.appendChild(head);
      var stations = el("div", "stations");
      lane.stations.forEach(function (st) {
        var s = el("div", "station " + st.state);
        s.dataset.stationId = st.id;
        s.appendChild(el("div", "name", st.position + " " + st.name));
        (st.cars || []).forEach(function (c) { s.appendChild(el("div", "car " + c.kind, c.plate)); });
        if (st.state !== "open") {
          s.appendChild(el("div", "why", st.state === "blocked" ? "暂停检测" : "关闭"));
          notices.appendChild(el("p", null, laneNumber(lane.name) + " " + st.name + " 暂停检测" +
                                           (st.state_reason ? "（" + st.state_reason + "）" : "")));
        }
        stations.appendChild(s);
      });
      body.appendChild(stations);
      var line = el("div", "waiting-line");
      line.appendChild(el("span", null, "待检："));
      if (!lane.waiting.length) line.appendChild(el("span", null, "—"));
      lane.waiting.slice(0, 6).forEach(function (w) { line.appendChild(el("span", "plate", w.plate)); });
      body.appendChild(line);
      // the lane's own camera beside it: the same element each time (its stream goes on)
      var video = el("div", "lane-video");
      (tiles.byLane[lane.id] || []).forEach(function (fig) { video.appendChild(fig); });
      if (video.childNodes.length) row.appendChild(video);
      box.appendChild(row);
    });
  }
  function renderCalls() {
    var list = document.getElementById("calls");
    list.replaceChildren();
    state.now_serving.slice(0, 5).forEach(function (c, i) {
      var li = el("li", i === 0 ? "latest" : "");
      li.appendChild(el("span", "number", c.label));
      li.appendChild(el("span", "window", "→ " + c.counter_name));
      list.appendChild(li);
    });
    document.getElementById("no-calls").hidden = state.now_serving.length > 0;
  }
  function renderQueues() {
    var table = document.getElementById("queues");
    table.replaceChildren();
    (state.waits ? state.waits.queues : []).forEach(function (q) {
      var tr = el("tr");
      tr.appendChild(el("td", null, q.label));
      tr.appendChild(el("td", "count", q.count + " 人"));
      tr.appendChild(el("td", "tickets", q.tickets.slice(0, 3).join(" ")));
      tr.appendChild(el("td", null, !q.count ? "无需等候" :
                                    q.estimated_wait_min ? "约 " + q.estimated_wait_min + " 分钟" : "即将办理"));
      table.appendChild(tr);
    });
  }
  function renderStages() {
    var box = document.getElementById("stages");
    box.replaceChildren();
    state.handover_stages.forEach(function (stage) {
      var col = el("div", "stage");
      col.appendChild(el("h3", null, stage.label));
      var list = el("ul");
      var mine = state.visits.filter(function (v) { return v.stage === stage.code; });
      mine.slice(-STAGE_MAX).reverse().forEach(function (v) { list.appendChild(el("li", null, v.plate)); });
      if (mine.length > STAGE_MAX) list.appendChild(el("li", "more", "另有 " + (mine.length - STAGE_MAX) + " 辆"));
      col.appendChild(list);
      box.appendChild(col);
    });
  }
  // live lane video: masked, low-rate tiles. A lane's camera is shown beside its lane, any
  // other camera in the panel below; an image is only made anew when the set changes.
  function updateTiles() {
    var cameras = state.cameras || [];
    var wanted = cameras.map(function (c) { return c.url + "@" + c.lane_id; }).join(" ");
    if (tiles.urls === wanted) return;
    tiles.urls = wanted; tiles.byLane = {}; tiles.loose = [];
    var lanes = {};
    state.lanes.forEach(function (lane) { lanes[lane.id] = true; });
    cameras.forEach(function (c) {
      var fig = el("figure");
      var img = el("img");
      img.alt = c.name;
      // a camera without a picture (offline, or served by another process) takes no room
      img.addEventListener("error", function () { fig.hidden = true; showPanel(); });
      img.src = c.url;
      fig.appendChild(img);
      fig.appendChild(el("figcaption", null, c.name));
      if (c.lane_id !== null && lanes[c.lane_id]) (tiles.byLane[c.lane_id] = tiles.byLane[c.lane_id] || []).push(fig);
      else tiles.loose.push(fig);
    });
    var box = document.getElementById("tiles");
    box.replaceChildren.apply(box, tiles.loose);
  }
  function showPanel() {
    var shown = tiles.loose.filter(function (fig) { return !fig.hidden; }).length;
    document.getElementById("tiles-panel").hidden = shown === 0;
  }
  function render() {
    document.getElementById("station-name").textContent = state.station.name;
    document.getElementById("hotline").textContent = state.station.hotline;
    updateTiles(); renderLanes(); renderCalls(); renderQueues(); renderStages(); showPanel();
    var prices = document.getElementById("prices");
    prices.replaceChildren();
    state.station.prices.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("td", null, p.name_zh));
      tr.appendChild(el("td", null, "¥" + p.amount_yuan));
      prices.appendChild(tr);
    });
  }
  // a car moved: take it off every station and waiting line, then put it where it is now
  function applyPosition(p) {
    state.lanes.forEach(function (lane) {
      lane.waiting = lane.waiting.filter(function (w) { return w.id !== p.id; });
      lane.stations.forEach(function (st) {
        st.cars = (st.cars || []).filter(function (c) { return c.id !== p.id; });
      });
      if (lane.id !== p.lane_id) return;
      if (p.kind === "assigned") lane.waiting.push({id: p.id, plate: p.plate});
      lane.stations.forEach(function (st) {
        if (st.id === p.station_id && p.kind !== "left") st.cars.push({id: p.id, kind: p.kind, plate: p.plate, since: p.at});
      });
    });
  }
  function tick() {  // the station's time, whatever zone this machine is set to
    var now = new Date(), zone = state && state.station && state.station.timezone;
    var show = function (z) {
      var inZone = z ? {timeZone: z} : {};
      document.getElementById("clock").textContent =
        now.toLocaleTimeString("zh-CN", Object.assign({hour12: false}, inZone));
      document.getElementById("date").textContent =
        now.toLocaleDateString("zh-CN", Object.assign({month: "long", day: "numeric", weekday: "short"}, inZone));
    };
    try { show(zone); } catch (e) { show(null); }  // a zone this browser does not know: its own
  }
  setInterval(tick, 1000); tick();

  StationRealtime.follow("/lobby", {
    auth: {token: token},
    onStatus: function (s) {
      var badge = document.getElementById("rt-status");
      badge.className = "rt-status " + s;
      badge.textContent = s === "live" ? "实时" : s === "connecting" ? "连接中…" : "重新连接中…";
      document.getElementById("offline-banner").hidden = s === "live" || state === null;
      document.getElementById("main").classList.toggle("stale", s !== "live");
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
        if (!data.on_site || data.state === "tested") applyPosition({id: data.id, kind: "left"});
      } else if (type === "position") {
        applyPosition(data);
      } else if (type === "waits") {
        state.waits = data;
      } else if (type === "lane") {
        state.lanes.forEach(function (lane) {
          if (data.station_id === null && lane.id === data.lane_id) { lane.state = data.state; lane.state_reason = data.reason; }
          lane.stations.forEach(function (st) {
            if (st.id === data.station_id) { st.state = data.state; st.state_reason = data.reason; }
          });
        });
      }
      render();
    },
  });
})();
