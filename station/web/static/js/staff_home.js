/* Staff overview: lanes, stations, counters and vehicles on site, live from /staff. */
(function () {
  "use strict";
  var state = null;
  var statusText = { connecting: "连接中…", live: "实时", reconnecting: "连接中断，正在重连…" };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function render() {
    var lanes = document.getElementById("lanes");
    lanes.replaceChildren();
    state.lanes.forEach(function (lane) {
      var row = el("div", "lane-row " + lane.state);
      row.appendChild(el("div", "lane-name", lane.name));
      var stations = el("div", "stations");
      lane.stations.forEach(function (st) {
        var s = el("span", "station " + st.state, st.name);
        if (st.state_reason) s.title = st.state_reason;
        stations.appendChild(s);
      });
      row.appendChild(stations);
      lanes.appendChild(row);
    });
    var tbody = document.getElementById("visits");
    tbody.replaceChildren();
    state.visits.forEach(function (v) {
      var tr = el("tr");
      var a = el("a", null, v.plate); a.href = "/staff/visits/" + v.id;
      var td = el("td"); td.appendChild(a); tr.appendChild(td);
      tr.appendChild(el("td", null, v.serial));
      tr.appendChild(el("td", null, v.state_label));
      tbody.appendChild(tr);
    });
    document.getElementById("no-visits").hidden = state.visits.length > 0;
    var devices = document.getElementById("devices");
    devices.replaceChildren();
    state.devices.forEach(function (d) {
      var tr = el("tr", "device " + d.state);
      tr.appendChild(el("td", null, d.name + (d.simulated ? "（模拟）" : "")));
      tr.appendChild(el("td", null, d.state_label));
      tr.appendChild(el("td", "muted", d.message || ""));
      devices.appendChild(tr);
    });
    document.getElementById("no-devices").hidden = state.devices.length > 0;
    var counters = document.getElementById("counters");
    counters.replaceChildren();
    state.counters.forEach(function (c) { counters.appendChild(el("span", "chip " + c.state, c.name)); });
  }
  StationRealtime.follow("/staff", {
    onStatus: function (s) {
      var e = document.getElementById("rt-status");
      e.textContent = statusText[s]; e.className = "rt-status " + s;
    },
    onSnapshot: function (snapshot) { state = snapshot; render(); },
    onEvent: function (type, data) {
      if (type === "visit") {
        state.visits = state.visits.filter(function (v) { return v.id !== data.visit_id; });
        if (data.on_site) {
          state.visits.push({id: data.visit_id, plate: data.plate, serial: data.serial,
                             state: data.to_state, state_label: data.state_label});
        }
      } else if (type === "ticket") {
        var alerts = document.getElementById("alerts");
        var id = "ticket-alert-" + data.ticket_id;
        var existing = document.getElementById(id);
        if (existing) existing.remove();
        if (data.print_state === "failed") {
          var box = el("div", "alert", "取号票 " + data.label + " 打印失败：" + (data.print_error || "") +
                       "。号码已发出，可在窗口补打。");
          box.id = id; box.setAttribute("role", "alert");
          alerts.prepend(box);
        }
        return;
      } else if (type === "key_overdue") {
        var keyAlerts = document.getElementById("alerts");
        var keyBox = el("div", "alert", "钥匙 " + data.tag + "（" + data.plate + "）在" + data.holder_label +
                        "处已 " + data.minutes + " 分钟未流转");
        keyBox.setAttribute("role", "alert");
        keyAlerts.prepend(keyBox);
        return;
      } else if (type === "device") {
        state.devices = state.devices.filter(function (d) { return d.id !== data.id; });
        state.devices.push(data);
        state.devices.sort(function (a, b) { return a.id - b.id; });
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
