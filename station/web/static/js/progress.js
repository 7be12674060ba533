/* The owner's progress page: follows /progress for this ticket (masked data only) — the
 * state and steps, the place in the queue, the car on its lane and the key's last step. */
(function () {
  "use strict";
  var statusText = { connecting: "连接中…", live: "实时", reconnecting: "重新连接中…" };
  function renderList(id, items) {
    var list = document.getElementById(id);
    list.replaceChildren();
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = item.status;
      li.textContent = item.label || item.name;
      list.appendChild(li);
    });
  }
  function renderLane(lane) {
    var box = document.getElementById("lane-progress");
    box.hidden = !lane;
    if (!lane) return;
    document.getElementById("lane-name").textContent = lane.lane_name;
    renderList("lane-stations", lane.stations);
  }
  function renderKey(key) {
    var line = document.getElementById("key-stage");
    line.hidden = !key;
    if (!key) return;
    document.getElementById("key-label").textContent = key.stage_label;
    document.getElementById("key-tag").textContent = key.tag;
  }
  function render(state) {
    document.getElementById("state-label").textContent = state.state_label;
    renderList("steps", state.steps);
    var wait = document.getElementById("wait");
    if (state.people_ahead === null || state.people_ahead === undefined) {
      wait.hidden = true;
    } else {
      wait.hidden = false;
      document.getElementById("ahead").textContent = state.people_ahead;
      document.getElementById("minutes").textContent = state.estimated_wait_min;
    }
    renderLane(state.lane);
    renderKey(state.key);
  }
  var socket = StationRealtime.follow("/progress", {
    auth: {token: window.PROGRESS_TOKEN},
    onStatus: function (s) {
      var e = document.getElementById("rt-status");
      e.textContent = statusText[s]; e.className = "rt " + s;
    },
    onSnapshot: render,
    onEvent: function (type, data) {
      if (type === "key") renderKey(data);
      if (type === "progress") render(data);
      if (type === "progress" || type === "position" || type === "key") {
        socket.emit("resync");  // the snapshot carries the new place, lane and key step
      }
    },
  });
})();
