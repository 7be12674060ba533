/* The owner's progress page: follows /progress for this ticket (masked data only). */
(function () {
  "use strict";
  var statusText = { connecting: "连接中…", live: "实时", reconnecting: "重新连接中…" };
  function renderSteps(steps) {
    var list = document.getElementById("steps");
    list.replaceChildren();
    steps.forEach(function (step) {
      var li = document.createElement("li");
      li.className = step.status;
      li.textContent = step.label;
      list.appendChild(li);
    });
  }
  function render(state) {
    document.getElementById("state-label").textContent = state.state_label;
    renderSteps(state.steps);
    var wait = document.getElementById("wait");
    if (state.people_ahead === null || state.people_ahead === undefined) {
      wait.hidden = true;
    } else {
      wait.hidden = false;
      document.getElementById("ahead").textContent = state.people_ahead;
      document.getElementById("minutes").textContent = state.estimated_wait_min;
    }
  }
  var socket = StationRealtime.follow("/progress", {
    auth: {token: window.PROGRESS_TOKEN},
    onStatus: function (s) {
      var e = document.getElementById("rt-status");
      e.textContent = statusText[s]; e.className = "rt " + s;
    },
    onSnapshot: render,
    onEvent: function (type, data) {
      if (type === "progress") {
        render(data);
        socket.emit("resync");  // the snapshot carries the new place in the queue
      }
    },
  });
})();
