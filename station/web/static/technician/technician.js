/* Technician screens: forms and the opacity meter's daily check, posted with fetch (JSON). */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(url, body) {
    var opts = {method: "POST", headers: {"X-CSRFToken": csrf, "Accept": "application/json"}};
    if (body instanceof FormData) { opts.body = body; }
    else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body || {}); }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.message || ("HTTP " + r.status)); }
        return data;
      });
    });
  }
  function show(el, text, ok) {
    if (!el) return;
    el.textContent = text; el.className = "msg show " + (ok ? "ok" : "error");
  }
  function bindForm(id, msgId) {
    var form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = new FormData(form);
      post(form.dataset.url, data).then(function () { window.location.reload(); })
        .catch(function (err) { show(document.getElementById(msgId), err.message, false); });
    });
  }
  bindForm("register", "register-msg");
  bindForm("verification", "verification-msg");
  bindForm("manual-check", "daily-msg");

  var box = document.getElementById("opacity-check");
  if (!box) return;
  var base = box.dataset.base, msg = document.getElementById("daily-msg");
  var $ = function (id) { return document.getElementById(id); };
  function enable(ids, on) { ids.forEach(function (id) { var b = $(id); if (b) b.disabled = !on; }); }
  function busy(button, promise) {
    button.disabled = true; var label = button.textContent; button.textContent = "…";
    return promise.finally(function () { button.textContent = label; button.disabled = false; });
  }
  function nominal() { return $("dc-nominal-custom").value || $("dc-nominal").value; }
  function render(state) {
    $("dc-zero-value").textContent = state.zero_n_pct === null ? "" : ("零点 " + state.zero_n_pct.toFixed(1) + " %");
    var rows = state.points.map(function (p, i) {
      var ok = Math.abs(p.error) <= TOL;
      return "<tr><td>" + (i + 1) + "</td><td>" + p.nominal.toFixed(1) + "</td><td>" + p.measured.toFixed(1) +
        "</td><td>" + (p.error >= 0 ? "+" : "") + p.error.toFixed(1) + "</td><td class='" + (ok ? "pass'>合格" : "fail'>超差") + "</td></tr>";
    });
    $("dc-points").innerHTML = rows.join("");
  }
  var TOL = parseFloat(box.dataset.tolerance);

  $("dc-start").addEventListener("click", function () {
    busy($("dc-start"), post(base + "/start").then(function (s) {
      render(s); show(msg, "请将探头置于清洁空气中，然后点击“清洁空气调零”", true);
      enable(["dc-zero", "dc-cancel"], true);
    }).catch(function (e) { show(msg, e.message, false); }));
  });
  $("dc-zero").addEventListener("click", function () {
    busy($("dc-zero"), post(base + "/zero").then(function (s) {
      render(s); show(msg, "调零完成。请插入滤光片并读取", true);
      enable(["dc-read", "dc-finish", "dc-sim-insert", "dc-sim-remove"], true);
    }).catch(function (e) { show(msg, e.message, false); }));
  });
  $("dc-read").addEventListener("click", function () {
    busy($("dc-read"), post(base + "/filter", {nominal: nominal()}).then(function (s) {
      render(s);
      show(msg, "滤光片 " + s.last.nominal.toFixed(1) + "%：实测 " + s.last.measured.toFixed(1) + "%，误差 " +
        (s.last.error >= 0 ? "+" : "") + s.last.error.toFixed(1) + "%，" + (s.last.passed ? "合格" : "超差"), s.last.passed);
    }).catch(function (e) { show(msg, e.message, false); }));
  });
  $("dc-finish").addEventListener("click", function () {
    busy($("dc-finish"), post(base + "/finish").then(function (r) {
      show(msg, r.passed ? "日常检查通过，已保存" : "日常检查未通过，已保存", r.passed);
      setTimeout(function () { window.location.reload(); }, 1200);
    }).catch(function (e) { show(msg, e.message, false); }));
  });
  $("dc-cancel").addEventListener("click", function () {
    post(base + "/cancel").then(function () { window.location.reload(); });
  });
  if ($("dc-sim-insert")) {
    $("dc-sim-insert").addEventListener("click", function () {
      post(base + "/simulate", {filter: nominal()}).then(function () { show(msg, "（模拟）已插入 " + nominal() + "% 滤光片", true); })
        .catch(function (e) { show(msg, e.message, false); });
    });
    $("dc-sim-remove").addEventListener("click", function () {
      post(base + "/simulate", {filter: ""}).then(function () { show(msg, "（模拟）已取出滤光片", true); });
    });
  }
})();
