/* Shared helpers of the key screens: JSON calls with the CSRF token, messages, elements. */
(function (global) {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var statusText = { connecting: "连接中…", live: "实时", reconnecting: "连接中断，正在重连…" };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  /* fetch JSON; resolves with the body, rejects with the server's message (zh first) */
  function call(method, url, body) {
    var opts = { method: method, headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
                 credentials: "same-origin" };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var msg = data.message || (data.errors ? "输入有误 Invalid input" : "操作失败 (" + r.status + ")");
          if (data.message_en && data.message_en !== msg) msg += " · " + data.message_en;
          throw new Error(msg);
        }
        return data;
      });
    });
  }

  var hideTimer = null;
  function say(text, kind) {
    var box = document.getElementById("message");
    box.textContent = text;
    box.className = "key-message " + (kind || "info");
    box.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () { box.hidden = true; }, kind === "error" ? 12000 : 5000);
  }

  function overdueAlerts(list) {
    var box = document.getElementById("overdue");
    box.replaceChildren();
    list.forEach(function (k) {
      var a = el("div", "alert", "⚠ 钥匙 " + k.tag + "（" + k.plate + "）在" + k.holder_label +
                 "处已 " + k.minutes_with_holder + " 分钟未流转");
      a.setAttribute("role", "alert");
      box.appendChild(a);
    });
  }

  /* follow /staff and call refresh() whenever something that matters here changed */
  function live(refresh, types) {
    var pending = null;
    function soon() { clearTimeout(pending); pending = setTimeout(refresh, 150); }
    StationRealtime.follow("/staff", {
      onStatus: function (s) {
        var e = document.getElementById("rt-status");
        e.textContent = statusText[s]; e.className = "rt-status " + s;
      },
      onSnapshot: function () { soon(); },
      onEvent: function (type) { if (types.indexOf(type) >= 0) soon(); }
    });
    setInterval(refresh, 60000); // minutes held tick on
  }

  global.StationKeys = { el: el, call: call, say: say, overdueAlerts: overdueAlerts, live: live };
})(window);
