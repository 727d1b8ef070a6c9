/* The candidate's exam page (and the countdown of the page before the start).
 *
 * - Every change is written at once to localStorage (per attempt) and sent ~400 ms later;
 *   a change leaves the queue only when the server acknowledges it (after its commit).
 *   Offline, the queue waits and is re-sent with backoff, and at once on "online".
 * - Each change carries a sequence number, increasing per attempt, kept in localStorage
 *   and never below the server's highest: an older change never overwrites a newer one.
 * - The timer counts down from the remaining time the server sent last (performance.now(),
 *   never the device's clock) and is re-synchronised by every save and status check.
 * - A device token (from the start, or from taking the attempt over) goes with every
 *   request; when another device takes over, this page is told (409) and stops.
 * Plain ES5 and XMLHttpRequest: old browsers in training centres must work too.
 */
(function () {
  "use strict";

  function text(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, name) {
      return values && values[name] !== undefined ? values[name] : m;
    });
  }

  function clock(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function now() { return window.performance && performance.now ? performance.now() : Date.now(); }

  /* When the page's own response arrived (ms on the performance clock) and half its round trip. */
  function pageArrival() {
    var p = window.performance;
    var nav = p && p.getEntriesByType && p.getEntriesByType("navigation")[0];
    if (nav && nav.responseStart) {
      return { at: nav.responseStart, half: Math.max(0, nav.responseStart - nav.requestStart) / 2 };
    }
    if (p && p.timing && p.timing.responseStart) {
      var t = p.timing;
      return { at: t.responseStart - t.navigationStart, half: Math.max(0, t.responseStart - t.requestStart) / 2 };
    }
    return { at: now(), half: 0 };
  }

  /* ---------------------------------------------------------------- a busy start */
  var BUSY_KEY = "skillcert.busy";
  if (document.querySelector("[data-page=busy]")) {
    // Every start slot was busy: try again within a second, then less and less often, always
    // spread out. (Retrying faster was measured to slow everyone down: each try costs a page.)
    var tries = Number(window.sessionStorage && sessionStorage.getItem(BUSY_KEY)) || 0;
    try { sessionStorage.setItem(BUSY_KEY, String(tries + 1)); } catch (e) { /* private mode */ }
    window.setTimeout(function () {
      var form = document.getElementById("busy-form");
      if (form) { form.submit(); } else { window.location.reload(); }
    }, (300 + Math.random() * 700) * Math.pow(2, Math.min(tries, 3)));
    return;
  }
  try { sessionStorage.removeItem(BUSY_KEY); } catch (e) { /* private mode */ }

  /* ---------------------------------------------------------------- before the start */
  var prestart = document.querySelector("[data-page=prestart]");
  if (prestart) {
    var PT = JSON.parse(document.getElementById("prestart-text").textContent);
    var out = document.getElementById("countdown");
    var opensIn = prestart.getAttribute("data-opens-in");
    var waiting = prestart.getAttribute("data-waiting") === "true";
    if (opensIn !== null && out) {
      var base = pageArrival();
      var opensAt = base.at + Number(opensIn) - base.half;
      var closesAt = base.at + Number(prestart.getAttribute("data-closes-in")) - base.half;
      var reloadScheduled = false;
      var tickPrestart = function () {
        var t = now();
        if (t < opensAt) {
          out.textContent = text(PT.opens_in, { time: clock(opensAt - t) });
        } else if (t < closesAt) {
          out.textContent = text(PT.closes_in, { time: clock(closesAt - t) });
          if (waiting && !reloadScheduled) {
            // The window just opened: look again, spread over a few seconds (not all at once).
            reloadScheduled = true;
            window.setTimeout(function () { window.location.reload(); }, 500 + Math.random() * 4000);
          }
        } else {
          out.textContent = PT.closed;
        }
      };
      tickPrestart();
      window.setInterval(tickPrestart, 1000);
    }
    if (waiting) {
      // Waiting for the check-in or the opening: look again every half minute or so.
      window.setTimeout(function () { window.location.reload(); }, 25000 + Math.random() * 10000);
    }
    return;
  }

  var dataNode = document.getElementById("exam-data");
  if (!dataNode) { return; }

  /* ---------------------------------------------------------------- state */
  var D = JSON.parse(dataNode.textContent);
  var T = JSON.parse(document.getElementById("exam-text").textContent);
  var U = T.urls;
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var KEY = "skillcert.exam." + D.attempt;
  var memory = {};
  var storage = (function () {
    try {
      var probe = "skillcert.probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return { getItem: function (k) { return memory[k] || null; },
               setItem: function (k, v) { memory[k] = String(v); },
               removeItem: function (k) { delete memory[k]; } };
    }
  })();

  function readStore() {
    try {
      var s = JSON.parse(storage.getItem(KEY) || "null");
      if (s && typeof s === "object" && s.pending && typeof s.pending === "object") { return s; }
    } catch (e) { /* unreadable: start afresh */ }
    return { token: null, seq: 0, pending: {}, current: 0, noticed: false };
  }
  var store = readStore();
  function writeStore() {
    try { storage.setItem(KEY, JSON.stringify(store)); } catch (e) { /* full: keep in memory */ }
  }
  if (D.token) { store.token = D.token; }
  store.seq = Math.max(store.seq || 0, D.seq || 0);
  writeStore();

  function nextSeq() {
    // Re-read: another tab of this browser may have numbered changes meanwhile.
    var saved = readStore();
    store.seq = Math.max(store.seq || 0, saved.seq || 0) + 1;
    return store.seq;
  }

  var stopped = false, ending = false;
  var deadline = null, handinAt = null, extendedSeen = D.extended || 0;
  var lastContact = now();

  /* ---------------------------------------------------------------- elements */
  var layout = document.getElementById("layout");
  var items = [].slice.call(document.querySelectorAll(".q"));
  var byPos = {};
  items.forEach(function (el) { byPos[el.getAttribute("data-pos")] = el; });
  var gridButtons = {};
  [].forEach.call(document.querySelectorAll(".qbtn[data-go]"), function (b) {
    gridButtons[b.getAttribute("data-go")] = b;
  });
  var saveState = document.getElementById("save-state");
  var timerEl = document.getElementById("timer");
  var timerBox = document.getElementById("timer-box");
  var handinButton = document.getElementById("handin");
  var noticeEl = document.getElementById("notice");
  var alarm = document.getElementById("alarm");

  /* ---------------------------------------------------------------- answers in the page */
  function readItem(el) {
    var type = el.getAttribute("data-type");
    var checked, values;
    if (type === "single") {
      checked = el.querySelector("input[type=radio]:checked");
      return checked ? checked.value : null;
    }
    if (type === "true_false") {
      checked = el.querySelector("input[type=radio]:checked");
      return checked ? checked.value === "true" : null;
    }
    if (type === "multiple") {
      values = [];
      [].forEach.call(el.querySelectorAll("input[type=checkbox]:not([data-flag])"), function (c) {
        if (c.checked) { values.push(c.value); }
      });
      return values.length ? values : null;
    }
    if (type === "fill_blank") {
      values = [];
      [].forEach.call(el.querySelectorAll(".blank"), function (i) { values.push(i.value); });
      return values;
    }
    var area = el.querySelector("textarea");
    return area && area.value !== "" ? area.value : null;
  }

  function writeItem(el, answer, flagged) {
    var type = el.getAttribute("data-type");
    if (type === "single" || type === "true_false") {
      [].forEach.call(el.querySelectorAll("input[type=radio]"), function (r) {
        r.checked = type === "single" ? r.value === answer : (answer === true && r.value === "true") ||
          (answer === false && r.value === "false");
      });
    } else if (type === "multiple") {
      [].forEach.call(el.querySelectorAll("input[type=checkbox]:not([data-flag])"), function (c) {
        c.checked = !!answer && answer.indexOf(c.value) >= 0;
      });
    } else if (type === "fill_blank") {
      [].forEach.call(el.querySelectorAll(".blank"), function (i, n) {
        i.value = answer && typeof answer[n] === "string" ? answer[n] : "";
      });
    } else {
      var area = el.querySelector("textarea");
      if (area) { area.value = typeof answer === "string" ? answer : ""; }
    }
    var flag = el.querySelector("[data-flag]");
    if (flag) { flag.checked = !!flagged; }
  }

  function isAnswered(type, answer) {
    if (answer === null || answer === undefined) { return false; }
    if (type === "multiple") { return answer.length > 0; }
    if (type === "fill_blank") {
      return answer.some(function (v) { return v && v.replace(/\s+/g, "") !== ""; });
    }
    if (type === "short_answer") { return answer.replace(/\s+/g, "") !== ""; }
    return true;
  }

  var answers = {};
  D.answers.forEach(function (r) { answers[r[0]] = { a: r[1], f: !!r[2] }; });
  Object.keys(store.pending).forEach(function (p) {
    answers[p] = { a: store.pending[p].a, f: !!store.pending[p].f };
  });
  Object.keys(answers).forEach(function (p) {
    if (byPos[p]) { writeItem(byPos[p], answers[p].a, answers[p].f); }
  });

  function itemState(pos) {
    var el = byPos[pos], entry = answers[pos] || { a: null, f: false };
    return { answered: isAnswered(el.getAttribute("data-type"), entry.a), flagged: entry.f };
  }

  function refreshGrid(pos) {
    var button = gridButtons[pos];
    if (!button) { return; }
    var st = itemState(pos);
    button.classList.toggle("answered", st.answered);
    button.classList.toggle("flagged", st.flagged);
    var label = [text(T.question, { n: Number(pos) + 1 }), st.answered ? T.state_answered : T.state_unanswered];
    if (st.flagged) { label.push(T.state_flagged); }
    button.setAttribute("aria-label", label.join(", "));
  }

  function refreshProgress() {
    var done = 0;
    items.forEach(function (el) { if (itemState(el.getAttribute("data-pos")).answered) { done += 1; } });
    [].forEach.call(document.querySelectorAll("[data-progress]"), function (n) {
      n.textContent = text(T.progress, { done: done, total: items.length });
    });
    return done;
  }

  items.forEach(function (el) { refreshGrid(el.getAttribute("data-pos")); });
  refreshProgress();

  /* Record the item's state as a change: into the queue at once, to the server shortly. */
  function record(el) {
    var pos = el.getAttribute("data-pos");
    var answer = readItem(el);
    var flagEl = el.querySelector("[data-flag]");
    var flagged = !!(flagEl && flagEl.checked);
    var before = answers[pos];
    if (before && JSON.stringify(before.a) === JSON.stringify(answer) && before.f === flagged) { return; }
    answers[pos] = { a: answer, f: flagged };
    store.pending[pos] = { a: answer, f: flagged, q: nextSeq() };
    writeStore();
    refreshGrid(pos);
    refreshProgress();
    showState();
    scheduleFlush(400);
  }

  var typing = {};
  function onEdit(event) {
    var el = event.target.closest && event.target.closest(".q");
    if (!el || stopped || ending) { return; }
    var pos = el.getAttribute("data-pos");
    var isText = event.target.matches("textarea, input[type=text]");
    if (isText && event.type === "input") {
      if (typing[pos]) { window.clearTimeout(typing[pos]); }
      typing[pos] = window.setTimeout(function () { typing[pos] = null; record(el); }, 400);
      showState("saving");
      return;
    }
    if (typing[pos]) { window.clearTimeout(typing[pos]); typing[pos] = null; }
    record(el);
  }
  var paper = document.getElementById("paper");
  paper.addEventListener("change", onEdit);
  paper.addEventListener("input", onEdit);
  paper.addEventListener("focusout", function (event) {
    if (event.target.matches && event.target.matches("textarea, input[type=text]")) { onEdit({ target: event.target, type: "blur" }); }
  });

  function lockInputs(locked) {
    [].forEach.call(paper.querySelectorAll("input, textarea"), function (i) { i.disabled = locked; });
  }

  /* ---------------------------------------------------------------- talking to the server */
  function send(method, url, body, done, options) {
    var xhr = new XMLHttpRequest();
    var sentAt = now();
    xhr.open(method, url, true);
    xhr.timeout = (options && options.timeout) || 15000;
    xhr.setRequestHeader("Accept", "application/json");
    if (store.token) { xhr.setRequestHeader("X-Exam-Device", store.token); }
    if (method !== "GET") {
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.setRequestHeader("X-CSRFToken", CSRF);
    }
    var finished = false;
    function finish() {
      if (finished) { return; }
      finished = true;
      var parsed = null;
      try { parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { parsed = null; }
      done(xhr.status, parsed || {}, sentAt, now());
    }
    xhr.onload = finish;
    xhr.onerror = finish;
    xhr.ontimeout = function () { finished = true; done(0, {}, sentAt, now()); };
    xhr.send(body === null ? null : JSON.stringify(body));
  }

  function sync(body, sentAt, receivedAt) {
    lastContact = now();
    if (typeof body.seq === "number" && body.seq > store.seq) { store.seq = body.seq; }
    if (typeof body.remaining_ms === "number") {
      deadline = receivedAt + body.remaining_ms - (receivedAt - sentAt) / 2;
      if (typeof body.extended === "number" && body.extended > extendedSeen) {
        say(text(T.extended, { n: body.extended - extendedSeen }));
        extendedSeen = body.extended;
        warned = {};
      }
    }
    if (body.status && body.status !== "in_progress") { finished(); }
  }

  var retryDelay = 0, retryTimer = null, flushTimer = null, inflight = false, offline = false;

  function backoff(fn) {
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : 1000, 30000);
    if (retryTimer) { window.clearTimeout(retryTimer); }
    retryTimer = window.setTimeout(function () { retryTimer = null; fn(); }, retryDelay * (0.8 + Math.random() * 0.4));
  }

  function retryNow() {
    if (retryTimer) { window.clearTimeout(retryTimer); retryTimer = null; }
    retryDelay = 0;
    if (!store.token) { claim(false); } else { flush(); sendSignals(); }
  }

  function scheduleFlush(ms) {
    if (flushTimer) { window.clearTimeout(flushTimer); }
    flushTimer = window.setTimeout(function () { flushTimer = null; flush(); }, ms);
  }

  function pendingBatch(limit) {
    var entries = Object.keys(store.pending).map(function (p) {
      var c = store.pending[p];
      return { p: Number(p), a: c.a, f: !!c.f, q: c.q };
    }).sort(function (x, y) { return x.q - y.q; });
    var batch = [], size = 0;
    for (var i = 0; i < entries.length; i += 1) {
      size += JSON.stringify(entries[i]).length;
      if (batch.length && size > limit) { break; }
      batch.push(entries[i]);
    }
    return batch;
  }

  function pendingCount() { return Object.keys(store.pending).length; }
  // Characters per request (at most 3 bytes each in UTF-8): well under the server's limit.
  var BATCH_CHARS = 150000;

  var csrfReloaded = false;
  function failed(status, body, retry, batch) {
    inflight = false;
    if (status === 409 && body.error === "device_replaced") { stop(body.message); return; }
    if (status === 422 && body.error === "malformed" && batch) {
      // Cannot be stored however often it is sent: drop it rather than block the queue.
      batch.forEach(function (c) {
        if (store.pending[c.p] && store.pending[c.p].q === c.q) { delete store.pending[c.p]; }
      });
      writeStore();
      say(text(T.rejected, { message: body.message || "" }));
      showState();
      return;
    }
    if (status === 410) { finished(); return; }
    if (status === 400 && body.error === "csrf" && !csrfReloaded) {
      // The form token expired (or the candidate signed in again): the queue survives a reload.
      csrfReloaded = true;
      window.location.reload();
      return;
    }
    offline = true;
    showState(status === 401 ? "signed_out" : "offline");
    backoff(retry);
  }

  function flush() {
    if (inflight || stopped || !store.token) { showState(); return; }
    var batch = pendingBatch(BATCH_CHARS);
    if (!batch.length) { showState(); return; }
    inflight = true;
    showState("saving");
    send("POST", U.save, { changes: batch }, function (status, body, sentAt, receivedAt) {
      if (status !== 200) { failed(status, body, flush, batch); return; }
      inflight = false;
      offline = false;
      retryDelay = 0;
      (body.acked || []).forEach(function (ack) {
        var c = store.pending[ack[0]];
        if (c && c.q <= ack[1]) { delete store.pending[ack[0]]; }
      });
      (body.rejected || []).forEach(function (r) {
        var c = store.pending[r.p];
        if (c && c.q <= r.q) { delete store.pending[r.p]; }
        say(text(T.rejected, { message: r.message }));
      });
      sync(body, sentAt, receivedAt);
      writeStore();
      if (pendingCount() && !flushTimer) { scheduleFlush(50); }
      showState();
    });
  }

  var shownState = null;
  function showState(forced) {
    var n = pendingCount();
    var state = stopped ? "stopped" : forced || (offline ? "offline" : (inflight || n ? "saving" : "saved"));
    var label = {
      saved: T.saved, saving: T.saving, stopped: T.stopped, signed_out: T.signed_out,
      offline: text(T.offline, { n: n })
    }[state];
    if (state === shownState && saveState.textContent === label) { return; }
    shownState = state;
    saveState.setAttribute("data-state", state);
    saveState.textContent = label;
  }

  function statusCheck() {
    if (stopped || !store.token) { return; }
    send("GET", U.status, null, function (status, body, sentAt, receivedAt) {
      if (status === 200) { offline = false; sync(body, sentAt, receivedAt); showState(); return; }
      if (status === 409 && body.error === "device_replaced") { stop(body.message); return; }
      if (status === 0) { offline = true; showState(); }
    }, { timeout: 10000 });
  }

  /* ---------------------------------------------------------------- device */
  var deviceDialog = document.getElementById("device-dialog");
  var deviceCode = document.getElementById("device-code");

  function claim(confirmed) {
    send("POST", U.device, { confirm: confirmed, access_code: deviceCode.value }, function (status, body, sentAt, receivedAt) {
      var error = document.getElementById("device-error");
      if (status === 200) {
        store.token = body.token;
        writeStore();
        closeDialog(deviceDialog);
        lockInputs(false);
        sync(body, sentAt, receivedAt);
        flush();
        return;
      }
      if (status === 409 && body.error === "device_in_use") {
        lockInputs(true);
        document.getElementById("device-message").textContent = body.message || T.device_first;
        document.getElementById("device-code-field").classList.toggle("hidden", !D.needs_code);
        error.textContent = "";
        openDialog(deviceDialog);
        return;
      }
      if (status === 422) { error.textContent = body.message || ""; deviceCode.focus(); return; }
      if (status === 410) { finished(); return; }
      if (status === 403 || status === 404) { stop(body.message || ""); return; }
      offline = true;
      showState(status === 401 ? "signed_out" : "offline");
      backoff(function () { claim(confirmed); });
    });
  }
  document.getElementById("device-confirm").addEventListener("click", function () { claim(true); });

  /* ---------------------------------------------------------------- stopping and ending */
  function stop(message) {
    if (stopped) { return; }
    stopped = true;
    lockInputs(true);
    showState();
    document.getElementById("stop-message").textContent = message || "";
    closeDialog(document.getElementById("handin-dialog"));
    closeDialog(deviceDialog);
    openDialog(document.getElementById("stop-dialog"));
  }

  function forget() {
    // Nothing of the exam stays on a shared computer once it is over.
    try { storage.removeItem(KEY); } catch (e) { /* ignore */ }
  }

  function finished() {
    stopped = true;
    forget();
    window.location.href = U.done;
  }

  function handIn(atDeadline) {
    var changes = pendingBatch(BATCH_CHARS);
    if (changes.length < pendingCount()) {
      // More waiting than one request carries (long answers written offline): send them first.
      if (!inflight) { flush(); }
      window.setTimeout(function () { handIn(atDeadline); }, 500);
      return;
    }
    send("POST", U.submit, { changes: changes, at_deadline: atDeadline }, function (status, body, sentAt, receivedAt) {
      if (status === 200) {
        stopped = true;
        forget();
        window.location.href = body.done_url || U.done;
        return;
      }
      if (status === 409 && body.error === "too_early") {
        ending = false;
        hideBusy();
        lockInputs(false);
        if (atDeadline) { statusCheck(); } else { say(body.message); }
        return;
      }
      if (status === 409 && body.error === "device_replaced") { stop(body.message); return; }
      if (status === 410) { finished(); return; }
      offline = true;
      showState(status === 401 ? "signed_out" : "offline");
      backoff(function () { handIn(atDeadline); });
    }, { timeout: 20000 });
  }

  function showBusy(message) {
    document.getElementById("stop-title").textContent = message;
    document.getElementById("stop-message").textContent = "";
    document.getElementById("stop-reload").classList.add("hidden");
    openDialog(document.getElementById("stop-dialog"));
  }
  function hideBusy() {
    document.getElementById("stop-reload").classList.remove("hidden");
    closeDialog(document.getElementById("stop-dialog"));
  }

  function timeUp() {
    if (ending || stopped) { return; }
    ending = true;
    lockInputs(true);
    closeDialog(document.getElementById("handin-dialog"));
    showBusy(T.time_up);
    handIn(true);
  }

  /* ---------------------------------------------------------------- timer */
  var arrival = pageArrival();
  deadline = arrival.at + D.remaining_ms - arrival.half;
  handinAt = arrival.at + D.handin_in_ms - arrival.half;
  var warned = {};

  function tick() {
    var t = now();
    var left = deadline - t;
    timerEl.textContent = clock(left);
    timerBox.classList.toggle("warn", left <= 5 * 60000);
    [15, 5, 1].forEach(function (minutes) {
      if (left <= minutes * 60000 && left > (minutes - 0.5) * 60000 && !warned[minutes]) {
        warned[minutes] = true;
        alarm.textContent = text(T.minutes_left, { n: minutes });
      }
    });
    var canHandIn = t >= handinAt;
    if (handinButton.disabled === canHandIn || !handinButton.getAttribute("data-ready")) {
      handinButton.disabled = !canHandIn;
      handinButton.setAttribute("data-ready", "1");
      handinButton.textContent = canHandIn ? T.handin : text(T.handin_from, { time: D.handin_at });
    }
    if (left <= 0 && !stopped) { timeUp(); }
    if (!stopped && !ending && t - lastContact >= D.poll_ms && !inflight) {
      lastContact = t;
      statusCheck();
    }
  }

  /* ---------------------------------------------------------------- navigation */
  var current = Math.min(Math.max(Number(store.current) || 0, 0), items.length - 1);
  var positionEl = document.getElementById("position");

  function go(pos, focus) {
    pos = Math.min(Math.max(pos, 0), items.length - 1);
    var oldEl = byPos[current];
    if (oldEl) {
      oldEl.classList.remove("current");
      oldEl.parentNode.classList.remove("has-current");
      if (gridButtons[current]) { gridButtons[current].removeAttribute("aria-current"); }
    }
    current = pos;
    var el = byPos[pos];
    el.classList.add("current");
    el.parentNode.classList.add("has-current");
    if (gridButtons[pos]) { gridButtons[pos].setAttribute("aria-current", "step"); }
    positionEl.textContent = text(T.position, { n: pos + 1, total: items.length });
    document.getElementById("prev").disabled = pos === 0;
    document.getElementById("next").disabled = pos === items.length - 1;
    store.current = pos;
    writeStore();
    if (focus) {
      var heading = el.querySelector(".q-no");
      if (layout.classList.contains("all") && el.scrollIntoView) { el.scrollIntoView({ block: "start" }); }
      else if (window.scrollY > el.offsetTop) { window.scrollTo(0, 0); }
      heading.focus({ preventScroll: layout.classList.contains("one") });
    }
  }

  document.getElementById("prev").addEventListener("click", function () { go(current - 1, true); });
  document.getElementById("next").addEventListener("click", function () { go(current + 1, true); });
  document.getElementById("sheet").addEventListener("click", function (event) {
    var b = event.target.closest && event.target.closest("[data-go]");
    if (!b) { return; }
    go(Number(b.getAttribute("data-go")), true);
    toggleSheet(false);
  });

  var viewToggle = document.getElementById("view-toggle");
  viewToggle.addEventListener("click", function () {
    var all = layout.classList.toggle("all");
    layout.classList.toggle("one", !all);
    viewToggle.textContent = all ? T.show_one : T.show_all;
    go(current, true);
  });

  var sheetToggle = document.getElementById("sheet-toggle");
  function toggleSheet(open) {
    layout.classList.toggle("sheet-open", open);
    sheetToggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  sheetToggle.addEventListener("click", function () {
    var open = !layout.classList.contains("sheet-open");
    toggleSheet(open);
    if (open) { document.getElementById("sheet-close").focus(); }
  });
  document.getElementById("sheet-close").addEventListener("click", function () { toggleSheet(false); sheetToggle.focus(); });
  layout.addEventListener("click", function (event) {
    // A tap beside the drawer closes it.
    if (layout.classList.contains("sheet-open") && event.target === layout) { toggleSheet(false); }
  });

  var fullButton = document.getElementById("fullscreen");
  var root = document.documentElement;
  if (!root.requestFullscreen) { fullButton.classList.add("hidden"); }
  fullButton.addEventListener("click", function () {
    if (document.fullscreenElement) { document.exitFullscreen(); } else if (root.requestFullscreen) { root.requestFullscreen(); }
  });

  /* Keyboard: A–F choose, ←/→ previous/next, M mark (not while typing). */
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || stopped || ending) { return; }
    if (event.key === "Escape" && layout.classList.contains("sheet-open")) {
      toggleSheet(false);
      sheetToggle.focus();
      return;
    }
    var open = document.querySelector(".overlay:not(.hidden)");
    if (open) {
      if (event.key === "Escape" && open.id === "handin-dialog") { closeDialog(open); handinButton.focus(); }
      if (event.key === "Tab") { trapFocus(open, event); }
      return;
    }
    var target = event.target;
    if (target.matches && target.matches("textarea, input[type=text], select")) { return; }
    var focusedItem = target.closest && target.closest(".q");
    var el = layout.classList.contains("all") && focusedItem ? focusedItem : byPos[current];
    var key = event.key || "";
    // Left/right always move between questions (never change a radio answer by accident).
    if (key === "ArrowLeft" || key === "ArrowRight") {
      event.preventDefault();
      go(current + (key === "ArrowLeft" ? -1 : 1), true);
      return;
    }
    if (key.length === 1 && /[a-fA-F]/.test(key)) {
      var label = key.toUpperCase();
      var input = null;
      [].forEach.call(el.querySelectorAll(".opt"), function (opt) {
        if (opt.querySelector(".opt-key").textContent.trim() === label) { input = opt.querySelector("input"); }
      });
      if (input) {
        event.preventDefault();
        input.checked = input.type === "checkbox" ? !input.checked : true;
        input.focus();
        record(el);
      }
      return;
    }
    if (key === "m" || key === "M") {
      var flag = el.querySelector("[data-flag]");
      flag.checked = !flag.checked;
      record(el);
    }
  });

  /* ---------------------------------------------------------------- dialogs */
  var lastFocus = null;
  function openDialog(dialog) {
    if (!dialog.classList.contains("hidden")) { return; }
    lastFocus = document.activeElement;
    dialog.classList.remove("hidden");
    var first = dialog.querySelector("button:not(.hidden), a.button:not(.hidden), input");
    if (first) { first.focus(); }
  }
  function closeDialog(dialog) {
    if (dialog.classList.contains("hidden")) { return; }
    dialog.classList.add("hidden");
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }
  function trapFocus(dialog, event) {
    var focusables = [].filter.call(dialog.querySelectorAll("button, a[href], input"), function (n) {
      return !n.disabled && n.offsetParent !== null;
    });
    if (!focusables.length) { return; }
    var first = focusables[0], last = focusables[focusables.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  }

  var handinDialog = document.getElementById("handin-dialog");
  function jumpList(listEl, positions) {
    listEl.innerHTML = "";
    positions.forEach(function (pos) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "qbtn";
      b.textContent = String(Number(pos) + 1);
      b.setAttribute("aria-label", text(T.question, { n: Number(pos) + 1 }));
      b.addEventListener("click", function () { closeDialog(handinDialog); go(Number(pos), true); });
      li.appendChild(b);
      listEl.appendChild(li);
    });
    listEl.parentNode.classList.toggle("hidden", !positions.length);
  }
  handinButton.addEventListener("click", function () {
    var unanswered = [], flagged = [];
    items.forEach(function (el) {
      var pos = el.getAttribute("data-pos"), st = itemState(pos);
      if (!st.answered) { unanswered.push(pos); }
      if (st.flagged) { flagged.push(pos); }
    });
    document.getElementById("handin-summary").textContent =
      text(T.handin_summary, { done: items.length - unanswered.length, total: items.length });
    jumpList(document.getElementById("handin-unanswered-list"), unanswered);
    jumpList(document.getElementById("handin-flagged-list"), flagged);
    openDialog(handinDialog);
  });
  document.getElementById("handin-cancel").addEventListener("click", function () { closeDialog(handinDialog); });
  document.getElementById("handin-confirm").addEventListener("click", function () {
    if (ending) { return; }
    ending = true;
    closeDialog(handinDialog);
    lockInputs(true);
    showBusy(T.handing_in);
    handIn(false);
  });

  /* ---------------------------------------------------------------- notices */
  var noticeTimer = null;
  function say(message) {
    noticeEl.textContent = message;
    noticeEl.classList.remove("hidden");
    if (noticeTimer) { window.clearTimeout(noticeTimer); }
    noticeTimer = window.setTimeout(function () { noticeEl.classList.add("hidden"); }, 8000);
  }

  /* ---------------------------------------------------------------- integrity signals */
  var signals = [], signalsInflight = false, lastSignal = {}, signalTimer = null, wasFullscreen = false;
  function signal(kind) {
    if (stopped || ending) { return; }
    var t = now();
    if (lastSignal[kind] && t - lastSignal[kind] < 2000) { return; }
    lastSignal[kind] = t;
    signals.push({ k: kind, t: t });
    if (signals.length > 200) { signals.shift(); }
    if (!store.noticed) {
      store.noticed = true;
      writeStore();
      say(T.signal_notice);
    }
    if (!signalTimer) { signalTimer = window.setTimeout(sendSignals, 5000); }
  }
  function sendSignals() {
    signalTimer = null;
    if (!signals.length || signalsInflight || !store.token || stopped) { return; }
    var batch = signals.splice(0, 50);
    var t = now();
    signalsInflight = true;
    send("POST", U.signals, { events: batch.map(function (s) { return { k: s.k, ago: Math.round(t - s.t) }; }) }, function (status) {
      signalsInflight = false;
      if (status === 409 || status === 410) { return; }
      if (status !== 200) {
        signals = batch.concat(signals);
        signalTimer = window.setTimeout(sendSignals, 15000);
      } else if (signals.length) {
        signalTimer = window.setTimeout(sendSignals, 5000);
      }
    });
  }
  window.addEventListener("blur", function () { signal("focus_lost"); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { signal("tab_hidden"); } else { statusCheck(); }
  });
  document.addEventListener("copy", function () { signal("copy"); });
  document.addEventListener("cut", function () { signal("copy"); });
  document.addEventListener("paste", function () { signal("paste"); });
  document.addEventListener("fullscreenchange", function () {
    var full = !!document.fullscreenElement;
    if (wasFullscreen && !full) { signal("fullscreen_exit"); }
    wasFullscreen = full;
    fullButton.setAttribute("aria-pressed", full ? "true" : "false");
  });

  /* ---------------------------------------------------------------- connection and leaving */
  window.addEventListener("online", retryNow);
  window.addEventListener("offline", function () { offline = true; showState(); });
  window.addEventListener("storage", function (event) {
    if (event.key === KEY && !store.otherTab) { store.otherTab = true; say(T.other_tab); }
  });
  window.addEventListener("beforeunload", function (event) {
    if (pendingCount() && !stopped) {
      event.preventDefault();
      event.returnValue = T.leave_warning;
      return T.leave_warning;
    }
  });
  window.addEventListener("pagehide", function () {
    // A last try for changes still waiting; the queue in localStorage is re-sent on the next load anyway.
    if (!pendingCount() || stopped || !store.token || !window.fetch) { return; }
    try {
      window.fetch(U.save, { method: "POST", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, "X-Exam-Device": store.token },
        body: JSON.stringify({ changes: pendingBatch(20000) }) });
    } catch (e) { /* ignore */ }
  });

  /* ---------------------------------------------------------------- start */
  go(current, false);
  tick();
  window.setInterval(tick, 250);
  if (!store.token) {
    claim(false);
  } else {
    statusCheck();
    if (pendingCount()) { flush(); }
  }
  showState();
})();
