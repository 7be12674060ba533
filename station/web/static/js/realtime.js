/* Station realtime client: snapshot + sequenced events, re-sync on gaps and restarts.
 * Contract: docs/REALTIME.md. Usage:
 *   StationRealtime.follow("/lobby", {auth: {token}, onSnapshot(state){}, onEvent(type, data){},
 *                                      onStatus(status){}});
 * status is "connecting" | "live" | "reconnecting"; a screen must not present data as live
 * unless status is "live".
 */
(function (global) {
  "use strict";

  function follow(namespace, options) {
    var epoch = null, seq = null, buffered = [], status = null;
    var socket = global.io(namespace, {
      auth: options.auth || {}, transports: ["websocket", "polling"],
      reconnectionDelay: 500, reconnectionDelayMax: 5000,
    });

    function setStatus(next) {
      if (next !== status) { status = next; if (options.onStatus) options.onStatus(next); }
    }
    function resync() { seq = null; buffered = []; socket.emit("resync"); }
    function apply(msg) {
      if (msg.epoch !== epoch) { resync(); return; }      // the server restarted
      if (msg.seq <= seq) return;                           // already in the snapshot
      if (msg.seq !== seq + 1) { resync(); return; }        // a gap: we missed something
      seq = msg.seq;
      options.onEvent(msg.type, msg.data, msg.seq);
    }

    // The server sends the snapshot from its connect handler, which can arrive before the
    // client's own "connect" event: so state is reset on disconnect, never on connect.
    socket.on("snapshot", function (msg) {
      epoch = msg.epoch; seq = msg.seq;
      options.onSnapshot(msg.state, msg.seq);
      var pending = buffered; buffered = [];
      pending.sort(function (a, b) { return a.seq - b.seq; }).forEach(apply);
      setStatus("live");
    });
    socket.on("event", function (msg) {
      if (seq === null) { buffered.push(msg); return; }     // snapshot not here yet
      apply(msg);
    });
    socket.on("disconnect", function () { seq = null; buffered = []; setStatus("reconnecting"); });
    socket.on("connect_error", function () { setStatus("reconnecting"); });
    setStatus("connecting");
    return socket;
  }

  global.StationRealtime = { follow: follow };
})(window);
