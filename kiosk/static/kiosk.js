/* Ticket kiosk (自助取号机): one page, one state machine, the JSON API with the device token.
 * Screens: boot → unregistered | closed | home → code | plate → result | error → home.
 * See docs/KIOSK.md. */
(function () {
  "use strict";

  // -- timing: every number the kiosk waits on, in one place -----------------------------------
  var TIMEOUTS = {
    idleSeconds: 60,        // back to the home screen after this long without a touch …
    resultIdleSeconds: 30,  // … and sooner on the result screen
    printPollMs: 500,       // ask for the ticket's print state this often …
    printPollMaxMs: 10000,  // … for at most this long
    openCheckMs: 60000,     // re-read the opening hours
    retryMs: 5000,          // retry after the server could not be reached at start
  };
  var query = new URLSearchParams(location.search);
  var idleOverride = Number(query.get("idle"));   // ?idle=2: a test (or a demo) shortens both
  if (idleOverride > 0) { TIMEOUTS.idleSeconds = idleOverride; TIMEOUTS.resultIdleSeconds = idleOverride; }

  // -- what the kiosk offers: plate types (号牌种类), provinces, the booking code alphabet ------
  var PLATE_TYPES = [
    {code: "02", zh: "小型汽车", en: "Small car", length: 7, colour: "blue"},
    {code: "52", zh: "小型新能源汽车", en: "Small new-energy", length: 8, colour: "green"},
    {code: "01", zh: "大型汽车", en: "Large vehicle", length: 7, colour: "yellow"},
    {code: "51", zh: "大型新能源汽车", en: "Large new-energy", length: 8, colour: "yellow-green"},
    {code: "15", zh: "挂车", en: "Trailer", length: 7, colour: "yellow", suffix: "挂"},
    {code: "16", zh: "教练汽车", en: "Driving-school car", length: 7, colour: "yellow", suffix: "学"},
  ];
  var PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼".split("");
  var LETTER_ROWS = ["1234567890", "QWERTYUP", "ASDFGHJKL", "ZXCVBNM"];   // no I, no O
  var CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".split("");
  var CODE_LENGTH = 8;

  // -- every text on screen, in both languages --------------------------------------------------
  var TEXT = {
    zh: {
      kiosk: "自助取号机", switch_to: "English", connecting: "正在连接服务器…",
      welcome: "欢迎！请选择办理方式",
      checkin: "预约签到", checkin_hint: "已预约的车辆，凭预约号或号牌签到",
      walkin: "现场取号", walkin_hint: "没有预约，输入号牌现场排队",
      special: "绿色通道", special_hint: "老年人、孕妇、残疾人等需要帮助的车主",
      prices: "收费标准（明码标价）", hotline: "投诉电话",
      code_title: "请输入预约号", code_hint: "8位预约号，见预约短信或预约页面",
      by_plate: "没有预约号？用号牌签到", back: "返回", confirm_checkin: "确认签到",
      confirm_walkin: "确认取号", clear: "清空", backspace: "退格",
      plate_title_checkin: "用号牌签到：请输入车牌号", plate_title_walkin: "现场取号：请输入车牌号",
      plate_type: "号牌种类",
      your_number: "您的排队号", ahead: "前面等候", people: "人", wait: "预计等候", minutes: "分钟",
      scan: "手机扫码，随时查看检验进度", next_step: "下一步", done: "完成",
      countdown: "{n} 秒后自动返回首页",
      print_pending: "正在打印号票…",
      print_printed: "请取走打印的号票",
      print_failed: "打印机故障（{error}），请拍照保存号码或扫描屏幕二维码",
      print_no_printer: "本机未连接打印机，请拍照保存号码或扫描屏幕二维码",
      print_slow: "号票仍在打印中；如未出票，请拍照保存号码或扫描屏幕二维码",
      error_title: "暂时无法办理", fix: "返回修改", home: "回到首页",
      use_code: "用预约号签到", take_walkin: "改为现场取号",
      network: "网络连接失败，请稍后再试，或到综合咨询台取号",
      busy: "正在办理，请稍候…",
      rate: "服务评价", rate_title: "服务评价", rate_hint: "请将排队小票上的二维码对准扫码口",
      rate_for: "{ticket} 号 · {plate}", rate_thanks: "感谢您的评价！",
      rate_unknown: "未找到该小票，请重新扫码",
      rating_too_early: "检验完成后才能评价", rating_exists: "本次检验已评价过，感谢您的反馈",
      rating_window_over: "已超过评价期限",
    },
    en: {
      kiosk: "Ticket kiosk", switch_to: "中文", connecting: "Connecting to the server…",
      welcome: "Welcome! How can we help?",
      checkin: "Booked check-in", checkin_hint: "You have a booking: check in with its code or your plate",
      walkin: "Walk-in ticket", walkin_hint: "No booking: enter your plate and join the queue",
      special: "Priority service", special_hint: "For elderly, pregnant or disabled drivers who need help",
      prices: "Prices", hotline: "Complaints hotline",
      code_title: "Enter your booking code", code_hint: "8 characters, from your booking SMS or page",
      by_plate: "No code? Check in by plate", back: "Back", confirm_checkin: "Check in",
      confirm_walkin: "Take a ticket", clear: "Clear", backspace: "Delete",
      plate_title_checkin: "Check in by plate: enter your plate number",
      plate_title_walkin: "Walk-in: enter your plate number",
      plate_type: "Plate type",
      your_number: "Your number", ahead: "Ahead of you", people: "people", wait: "Estimated wait",
      minutes: "min", scan: "Scan to follow your inspection on your phone", next_step: "Next",
      done: "Done", countdown: "Back to the start in {n} s",
      print_pending: "Printing your ticket…",
      print_printed: "Please take your printed ticket",
      print_failed: "Printer fault ({error}): take a photo of your number or scan the QR code on the screen",
      print_no_printer: "No printer here: take a photo of your number or scan the QR code on the screen",
      print_slow: "Still printing. If no ticket comes out, take a photo of your number or scan the QR code",
      error_title: "We could not do that", fix: "Back", home: "Start again",
      use_code: "Check in with booking code", take_walkin: "Take a walk-in ticket instead",
      network: "The network is down. Please try again shortly or ask at the information desk.",
      busy: "One moment…",
      rate: "Rate our service", rate_title: "Rate our service",
      rate_hint: "Hold the QR code on your ticket to the scanner",
      rate_for: "Ticket {ticket} · {plate}", rate_thanks: "Thank you for your rating!",
      rate_unknown: "Ticket not found: please scan again",
      rating_too_early: "A visit can be rated once it is tested",
      rating_exists: "This visit has already been rated: thank you",
      rating_window_over: "The time for rating this visit is over",
    },
  };
  // the ticket's category in English (the server names it in Chinese)
  var CATEGORY_EN = {"预约": "Booked", "现场": "Walk-in", "复检": "Retest"};
  // the queue's reason in English, from the arrival (the server words it in Chinese only)
  var REASON_EN = {on_time: "Booked, on time", early: "Early for your booking: ordered by your slot",
                   late: "Late for your booking: walk-in order", walk_in: "Walk-in, in order of arrival",
                   special: "Priority service"};

  // -- the device token: from the URL fragment once, then local storage -------------------------
  var TOKEN_KEY = "station.kioskToken";
  var fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    localStorage.setItem(TOKEN_KEY, fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);  // out of the address bar
  }
  var token = localStorage.getItem(TOKEN_KEY) || "";

  var state = {
    screen: "boot", lang: "zh", special: false,
    mode: "walkin",            // what the plate screen does: "walkin" or "checkin"
    code: "", plateType: "02", plate: "",
    result: null, print: null, error: null, errorFrom: null,
    station: null, open: null, busy: false,
  };

  function $(id) { return document.getElementById(id); }
  function t(key) { return TEXT[state.lang][key]; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function plateType() {
    return PLATE_TYPES.filter(function (p) { return p.code === state.plateType; })[0];
  }

  // -- talking to the server --------------------------------------------------------------------
  function api(method, path, body) {
    var options = {method: method, cache: "no-store",
                   headers: {"Authorization": "Bearer " + token, "Accept": "application/json"}};
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) return data;
        var err = new Error(data.code || "http_" + response.status);
        err.status = response.status;
        err.body = data;
        throw err;
      });
    });
  }

  // -- screens ------------------------------------------------------------------------------------
  function show(screen) {
    state.screen = screen;
    document.querySelectorAll(".screen").forEach(function (s) { s.hidden = s.id !== "screen-" + screen; });
    document.body.dataset.screen = screen;
    if (screen !== "result") printGeneration++;   // stop following a ticket's print state
    render();
    armIdle();
    showCountdown();
  }

  function render() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach(function (e) { e.textContent = t(e.dataset.t); });
    var other = state.lang === "zh" ? "en" : "zh";
    document.querySelectorAll("[data-alt]").forEach(function (e) { e.textContent = TEXT[other][e.dataset.alt]; });
    var lang = $("lang");
    lang.textContent = t("switch_to");
    lang.lang = other === "zh" ? "zh-CN" : "en";
    lang.hidden = ["boot", "unregistered", "closed"].indexOf(state.screen) >= 0;
    var special = $("btn-special");
    special.setAttribute("aria-pressed", String(state.special));
    special.classList.toggle("on", state.special);
    renderStation();
    if (state.screen === "closed") renderClosed();
    if (state.screen === "code") renderCode();
    if (state.screen === "plate") renderPlate();
    if (state.screen === "result") renderResult();
    if (state.screen === "error") renderError();
  }

  function renderStation() {
    if (!state.station) return;
    $("station-name").textContent = state.station.name;
    document.querySelectorAll(".hotline").forEach(function (e) { e.textContent = state.station.hotline; });
    var list = $("prices");
    list.replaceChildren();
    state.station.prices.forEach(function (p) {
      var li = el("li");
      li.appendChild(el("span", "price-name", state.lang === "zh" ? p.name_zh : p.name_en));
      li.appendChild(el("span", "price-amount", "¥" + p.amount_yuan));
      list.appendChild(li);
    });
  }

  function renderClosed() {
    $("closed-zh").textContent = state.open ? state.open.message_zh : "";
    $("closed-en").textContent = state.open ? state.open.message_en : "";
  }

  function slots(container, text, length, separatorAfter) {
    container.replaceChildren();
    for (var i = 0; i < length; i++) {
      var s = el("span", "slot", text.charAt(i));
      if (i === text.length) s.classList.add("cursor");
      if (i < text.length) s.classList.add("filled");
      if (i === separatorAfter) s.classList.add("sep");
      container.appendChild(s);
    }
    container.dataset.value = text;
  }

  function renderCode() {
    slots($("code-display"), state.code, CODE_LENGTH, -1);
    var full = state.code.length >= CODE_LENGTH;
    $("code-keys").querySelectorAll("[data-key]").forEach(function (k) { k.disabled = full; });
    $("code-ok").disabled = !full;
    keyLabels($("code-keys"));
  }

  function renderPlate() {
    var type = plateType();
    $("plate-title").textContent = t(state.mode === "checkin" ? "plate_title_checkin" : "plate_title_walkin");
    $("plate-ok").textContent = t(state.mode === "checkin" ? "confirm_checkin" : "confirm_walkin");
    var types = $("plate-types");
    types.querySelectorAll("button").forEach(function (b) {
      var p = PLATE_TYPES.filter(function (x) { return x.code === b.dataset.type; })[0];
      b.querySelector(".type-name").textContent = p[state.lang];
      b.setAttribute("aria-pressed", String(p.code === state.plateType));
    });
    var display = $("plate-display");
    display.className = "slots plate-slots plate-" + type.colour;
    slots(display, state.plate, type.length, 1);
    var keys = $("plate-keys");
    var pos = state.plate.length;
    keys.classList.toggle("provinces", pos === 0);
    keys.querySelectorAll("[data-key]").forEach(function (k) {
      var ch = k.dataset.key;
      var province = PROVINCES.indexOf(ch) >= 0, suffix = ch === "挂" || ch === "学";
      var digit = /[0-9]/.test(ch);
      k.hidden = suffix && (pos === 0 || ch !== type.suffix);   // provinces/letters: by CSS
      var ok;
      if (pos === 0) ok = province;
      else if (pos >= type.length) ok = false;
      else if (type.suffix && pos === type.length - 1) ok = suffix;   // 浙A1234挂, 浙A1234学
      else if (pos === 1) ok = !digit && !suffix;                     // the issuing letter
      else ok = !suffix;
      k.disabled = !ok;
    });
    $("plate-ok").disabled = state.plate.length !== type.length;
    keyLabels(keys);
  }

  function keyLabels(keys) {
    keys.querySelectorAll("[data-action]").forEach(function (k) { k.textContent = t(k.dataset.action); });
  }

  function renderResult() {
    var r = state.result;
    if (!r) return;
    $("r-number").textContent = r.ticket;
    var category = $("r-category");
    category.textContent = state.lang === "zh" ? r.ticket_category
      : CATEGORY_EN[r.ticket_category] || r.ticket_category;
    category.className = "chip " + (r.ticket_category === "预约" ? "booked" : "walkin");
    $("r-plate").textContent = r.plate;
    $("r-ahead").textContent = r.people_ahead;
    $("r-wait").textContent = r.estimated_wait_min;
    var reason = state.lang === "zh" ? r.reason_zh
      : REASON_EN[state.special ? "special" : (r.arrival || "walk_in")];
    $("r-reason").textContent = reason || "";
    $("r-next").textContent = r.next_step;
    var qr = document.body.dataset.qrUrl + "?data=" + encodeURIComponent(r.progress_url);
    if ($("r-qr").getAttribute("src") !== qr) $("r-qr").src = qr;
    renderPrint();
  }

  function renderPrint() {
    var p = state.print;
    var line = $("print-status");
    if (!p) { line.textContent = ""; return; }
    line.className = "print-status " + p.state;
    $("screen-result").classList.toggle("print-problem", p.state !== "pending" && p.state !== "printed");
    line.textContent = fill(t("print_" + p.state), {error: p.error || "?"});
  }

  function renderError() {
    var body = state.error;
    var message = body ? (state.lang === "zh" ? body.message_zh : body.message_en) || body.message : null;
    $("error-text").textContent = message || t("network");
    var alt = $("err-alt");
    var code = body && body.code;
    alt.hidden = true;
    if (code === "plate_has_booking") {
      alt.hidden = false; alt.textContent = t("use_code"); alt.dataset.go = "code";
    } else if (code === "booking_not_found" && state.errorFrom === "plate") {
      alt.hidden = false; alt.textContent = t("take_walkin"); alt.dataset.go = "walkin";
    }
  }

  // -- keyboards ------------------------------------------------------------------------------------
  function key(label, cls) {
    var b = el("button", "key " + (cls || ""), label);
    b.type = "button";
    b.dataset.key = label;
    return b;
  }
  function actionKey(action) {
    var b = el("button", "key action " + action);
    b.type = "button";
    b.dataset.action = action;
    return b;
  }

  function buildKeyboards() {
    var code = $("code-keys");
    var grid = el("div", "key-grid code-grid");
    CODE_ALPHABET.forEach(function (c) { grid.appendChild(key(c)); });
    code.appendChild(grid);
    var row = el("div", "key-row");
    row.appendChild(actionKey("clear"));
    row.appendChild(actionKey("backspace"));
    code.appendChild(row);

    var types = $("plate-types");
    PLATE_TYPES.forEach(function (p) {
      var b = el("button", "type");
      b.type = "button";
      b.dataset.type = p.code;
      b.appendChild(el("span", "type-code", p.code));
      b.appendChild(el("span", "type-name", p.zh));
      types.appendChild(b);
    });

    var plate = $("plate-keys");
    var provinces = el("div", "key-grid province-grid");
    PROVINCES.forEach(function (c) { provinces.appendChild(key(c, "province")); });
    plate.appendChild(provinces);
    var letters = el("div", "letter-rows");
    LETTER_ROWS.forEach(function (chars) {
      var r = el("div", "letter-row");
      chars.split("").forEach(function (c) { r.appendChild(key(c)); });
      letters.appendChild(r);
    });
    plate.appendChild(letters);
    var actions = el("div", "key-row");
    actions.appendChild(key("挂", "suffix"));
    actions.appendChild(key("学", "suffix"));
    actions.appendChild(actionKey("clear"));
    actions.appendChild(actionKey("backspace"));
    plate.appendChild(actions);
  }

  // -- actions --------------------------------------------------------------------------------------
  function startCheckin() { state.code = ""; state.mode = "checkin"; show("code"); }
  function startWalkin() { state.plate = ""; state.plateType = "02"; state.mode = "walkin"; show("plate"); }
  function plateInstead() { state.plate = ""; state.plateType = "02"; state.mode = "checkin"; show("plate"); }

  function submit(path, body, from) {
    if (state.busy) return;
    state.busy = true;
    $("busy").hidden = false;
    body.special_needs = state.special;
    api("POST", path, body).then(function (result) {
      state.result = result;
      state.code = ""; state.plate = "";   // keep no full plate on the page once it is done
      renderCode(); renderPlate();
      show("result");
      followPrint(result);
    }, function (err) {
      if (err.status === 401) { show("unregistered"); return; }
      if (err.body && err.body.code === "station_closed") {
        state.open = {open: false, message_zh: err.body.message_zh, message_en: err.body.message_en};
        show("closed");
        return;
      }
      state.error = err.body && (err.body.message_zh || err.body.message) ? err.body : null;
      state.errorFrom = from;
      show("error");
    }).then(function () {
      state.busy = false;
      $("busy").hidden = true;
    });
  }

  function submitCode() {
    if (state.code.length === CODE_LENGTH) submit("/api/v1/checkin", {code: state.code}, "code");
  }
  function submitPlate() {
    var body = {plate_type: state.plateType, plate: state.plate};
    submit(state.mode === "checkin" ? "/api/v1/checkin" : "/api/v1/walk-in", body, "plate");
  }

  var printGeneration = 0;
  function followPrint(result) {
    var generation = ++printGeneration;
    var started = Date.now();
    state.print = {state: result.print_state, error: null};
    renderPrint();
    if (result.print_state !== "pending") return;
    function poll() {
      setTimeout(function () {
        if (generation !== printGeneration) return;
        api("GET", "/api/v1/tickets/" + result.ticket_id).then(function (ticket) {
          if (generation !== printGeneration) return;
          state.print = {state: ticket.print_state, error: ticket.print_error};
          again();
        }, function () { if (generation === printGeneration) again(); });
      }, TIMEOUTS.printPollMs);
    }
    function again() {
      if (state.print.state !== "pending") { renderPrint(); return; }
      if (Date.now() - started < TIMEOUTS.printPollMaxMs) { poll(); return; }
      state.print = {state: "slow", error: null};
      renderPrint();
    }
    poll();
  }

  function goHome() {
    state.code = ""; state.plate = ""; state.result = null; state.print = null; state.error = null;
    $("r-qr").removeAttribute("src");   // the next driver never sees the last one's code
    show(state.open && !state.open.open ? "closed" : "home");
  }

  // a new person at the kiosk: Chinese, no priority service, nothing typed
  function reset() {
    state.lang = "zh";
    state.special = false;
    goHome();
  }

  // -- rating the visit (好差评): the ticket's QR, read by the kiosk's scanner into a field -------
  var rateOptions = null;
  function scannedToken(text) {
    var m = /\/p\/([A-Za-z0-9_-]{16,64})/.exec(text);
    return m ? m[1] : text.trim();
  }
  function startRating() {
    state.rateToken = null;
    $("rate-scan").value = "";
    $("rate-for").textContent = "";
    $("rate-status").textContent = "";
    $("rate-levels").replaceChildren();
    show("rate");
    $("rate-scan").focus();
  }
  function ratingFor(text) {
    var token = scannedToken(text);
    if (!token) return;
    state.rateToken = token;
    var options = rateOptions ? Promise.resolve(rateOptions)
      : api("GET", "/api/v1/feedback/options").then(function (o) { rateOptions = o; return o; });
    Promise.all([api("GET", "/api/v1/feedback/rate/" + encodeURIComponent(token)), options])
      .then(function (got) {
        var status = got[0];
        $("rate-for").textContent = t("rate_for").replace("{ticket}", status.ticket).replace("{plate}", status.plate);
        var row = $("rate-levels");
        row.replaceChildren();
        if (!status.can_rate) { $("rate-status").textContent = t(status.reason) || status.reason; return; }
        $("rate-status").textContent = "";
        got[1].levels.forEach(function (lv) {
          var b = el("button", "btn level" + (lv.bad ? " bad" : ""), state.lang === "zh" ? lv.label : lv.label_en);
          b.type = "button";
          b.dataset.level = lv.value;
          b.addEventListener("click", function () { submitRating(lv.value); });
          row.appendChild(b);
        });
      }, function () { $("rate-status").textContent = t("rate_unknown"); });
  }
  function submitRating(level) {
    api("POST", "/api/v1/feedback/ratings", {token: state.rateToken, level: level}).then(function () {
      $("rate-levels").replaceChildren();
      $("rate-status").textContent = t("rate_thanks");
      setTimeout(function () { if (state.screen === "rate") reset(); }, 4000);
    }, function (err) {
      $("rate-status").textContent = (err.body && (state.lang === "zh" ? err.body.message_zh : err.body.message_en)) || t("network");
    });
  }

  // -- idle ----------------------------------------------------------------------------------------
  var idleTimer = null, idleDeadline = 0;
  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = null;
    if (["home", "code", "plate", "result", "error"].indexOf(state.screen) < 0) return;
    var seconds = state.screen === "result" ? TIMEOUTS.resultIdleSeconds : TIMEOUTS.idleSeconds;
    idleDeadline = Date.now() + seconds * 1000;
    idleTimer = setTimeout(function () {
      if (state.busy) { armIdle(); return; }
      reset();
    }, seconds * 1000);
  }
  function showCountdown() {
    var left = Math.max(0, Math.ceil((idleDeadline - Date.now()) / 1000));
    $("r-countdown").textContent = state.screen === "result" ? fill(t("countdown"), {n: left}) : "";
  }
  setInterval(showCountdown, 250);

  // -- the open/closed state and the start ----------------------------------------------------------
  function refreshOpen() {
    return api("GET", "/api/v1/station/open").then(function (open) {
      state.open = open;
      if (!open.open && ["boot", "home", "closed"].indexOf(state.screen) >= 0) show("closed");
      else if (open.open && ["boot", "closed"].indexOf(state.screen) >= 0) show("home");
      else render();
    });
  }

  // The token must belong to a registered kiosk (not a lobby display, not a revoked one).
  function checkRegistration() {
    return api("GET", "/api/v1/devices/me").then(function (me) { return me.kind === "kiosk"; },
      function (err) {
        if (err.status === 401) return false;
        throw err;
      });
  }

  function boot() {
    if (!token) { show("unregistered"); return; }
    checkRegistration().then(function (registered) {
      if (!registered) { show("unregistered"); return null; }
      return api("GET", "/api/v1/station").then(function (station) {
        state.station = station;
        tick();  // in the station's time zone from now on
        return refreshOpen();
      });
    }).catch(function () { setTimeout(boot, TIMEOUTS.retryMs); });
  }

  function tick() {  // the station's time, whatever zone this machine is set to
    var now = new Date(), zone = state.station && state.station.timezone;
    var show = function (z) {
      $("clock").textContent = now.toLocaleTimeString("zh-CN", Object.assign(
        {hour: "2-digit", minute: "2-digit", hourCycle: "h23"}, z ? {timeZone: z} : {}));
    };
    try { show(zone); } catch (e) { show(null); }  // a zone this browser does not know: its own
  }

  // -- wiring ------------------------------------------------------------------------------------------
  function on(id, handler) { $(id).addEventListener("click", handler); }

  buildKeyboards();
  on("lang", function () { state.lang = state.lang === "zh" ? "en" : "zh"; render(); });
  on("btn-checkin", startCheckin);
  on("btn-walkin", startWalkin);
  on("btn-special", function () { state.special = !state.special; render(); });
  on("code-back", goHome);
  on("code-by-plate", plateInstead);
  on("code-ok", submitCode);
  on("plate-back", function () { if (state.mode === "checkin") show("code"); else goHome(); });
  on("plate-ok", submitPlate);
  on("r-done", reset);
  on("btn-rate", startRating);
  on("rate-back", goHome);
  $("rate-scan").addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); ratingFor($("rate-scan").value); $("rate-scan").value = ""; }
  });
  on("err-home", reset);
  on("err-back", function () { show(state.errorFrom || "home"); });
  on("err-alt", function () {
    if ($("err-alt").dataset.go === "code") startCheckin();
    else { state.mode = "walkin"; show("plate"); }   // keep the plate typed for the check-in
  });
  $("code-keys").addEventListener("click", function (e) {
    var k = e.target.closest("button");
    if (!k || k.disabled) return;
    if (k.dataset.key) state.code = (state.code + k.dataset.key).slice(0, CODE_LENGTH);
    else if (k.dataset.action === "backspace") state.code = state.code.slice(0, -1);
    else if (k.dataset.action === "clear") state.code = "";
    renderCode();
  });
  $("plate-types").addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b) return;
    state.plateType = b.dataset.type;
    state.plate = state.plate.slice(0, plateType().length);
    renderPlate();
  });
  $("plate-keys").addEventListener("click", function (e) {
    var k = e.target.closest("button");
    if (!k || k.disabled) return;
    if (k.dataset.key) state.plate += k.dataset.key;
    else if (k.dataset.action === "backspace") state.plate = state.plate.slice(0, -1);
    else if (k.dataset.action === "clear") state.plate = "";
    renderPlate();
  });

  // locked to the kiosk: every touch counts as activity; no context menu, dragging or selection
  document.addEventListener("pointerdown", armIdle, true);
  document.addEventListener("keydown", armIdle, true);
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });
  document.addEventListener("dragstart", function (e) { e.preventDefault(); });
  document.addEventListener("selectstart", function (e) { e.preventDefault(); });

  setInterval(tick, 1000); tick();
  setInterval(function () { if (state.station) refreshOpen().catch(function () {}); }, TIMEOUTS.openCheckMs);
  render();
  boot();
})();
