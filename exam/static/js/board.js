/* The proctor's live board: polls the room's JSON every few seconds and updates the rows in
 * place (focus and open dialogs survive a refresh); actions post JSON with the CSRF token. */
(function () {
  "use strict";
  var node = document.getElementById("board-data");
  if (!node) { return; }
  var B = JSON.parse(node.textContent);
  var X = B.text;
  var csrfMeta = document.querySelector("meta[name=csrf-token]");
  var CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var tbody = document.getElementById("board-rows");
  var fresh = document.getElementById("board-fresh");
  var rows = {};
  var data = null, receivedAt = 0, lastOk = 0, selected = null, failures = 0;

  function now() { return window.performance && performance.now ? performance.now() : Date.now(); }
  function text(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) { return values[k] !== undefined ? values[k] : m; });
  }
  function clock(ms) {
    var total = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  function hhmm(epochMs) {
    if (!epochMs) { return "—"; }
    // In the exam's time zone (sent by the server), whatever the proctor's device is set to.
    var d = new Date(epochMs + (data ? data.tz_offset_ms : 0));
    return (d.getUTCHours() < 10 ? "0" : "") + d.getUTCHours() + ":" + (d.getUTCMinutes() < 10 ? "0" : "") + d.getUTCMinutes();
  }
  function url(name, id) { return B.urls[name].replace("/0/", "/" + id + "/"); }
  function el(tag, cls, content) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (content !== undefined) { n.textContent = content; }
    return n;
  }

  function request(method, address, body, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, address, true);
    xhr.timeout = 15000;
    xhr.setRequestHeader("Accept", "application/json");
    if (method !== "GET") {
      xhr.setRequestHeader("Content-Type", "application/json");
      xhr.setRequestHeader("X-CSRFToken", CSRF);
    }
    function finish() {
      var parsed = {};
      try { parsed = JSON.parse(xhr.responseText || "{}"); } catch (e) { parsed = {}; }
      done(xhr.status, parsed);
    }
    xhr.onload = finish;
    xhr.onerror = finish;
    xhr.ontimeout = function () { done(0, {}); };
    xhr.send(body ? JSON.stringify(body) : null);
  }

  /* ---------------------------------------------------------------- rows */
  function serverNow() { return data ? data.server_time + (now() - receivedAt) : Date.now(); }

  function ago(epochMs) {
    if (!epochMs) { return X.never; }
    var seconds = Math.max(0, Math.round((serverNow() - epochMs) / 1000));
    return seconds < 120 ? text(X.ago_s, { n: seconds }) : text(X.ago_m, { n: Math.floor(seconds / 60) });
  }

  function makeRow(c) {
    var tr = el("tr");
    tr.appendChild(el("td", "num seat"));
    var who = el("td", "who");
    who.appendChild(el("strong", "name"));
    who.appendChild(el("span", "ticket muted"));
    tr.appendChild(who);
    var state = el("td");
    state.appendChild(el("span", "badge state"));
    state.appendChild(el("span", "ext"));
    tr.appendChild(state);
    var progress = el("td", "progress");
    var bar = el("span", "bar");
    bar.appendChild(el("span", "bar-fill"));
    progress.appendChild(bar);
    progress.appendChild(el("span", "progress-text"));
    tr.appendChild(progress);
    tr.appendChild(el("td", "num left"));
    tr.appendChild(el("td", "last-save"));
    tr.appendChild(el("td", "incidents"));
    var actions = el("td", "row-actions");
    var button = el("button", "button button-secondary button-small", X.details);
    button.type = "button";
    button.setAttribute("data-enrolment", c.enrolment_id);
    actions.appendChild(button);
    tr.appendChild(actions);
    return tr;
  }

  function fillRow(tr, c) {
    tr.setAttribute("data-state", c.state);
    tr.querySelector(".seat").textContent = c.seat || "";
    tr.querySelector(".name").textContent = c.name;
    tr.querySelector(".ticket").textContent = c.ticket ? text(X.ticket, { t: c.ticket }) : "";
    var badge = tr.querySelector(".state");
    badge.textContent = B.states[c.state];
    badge.className = "badge state state-" + c.state;
    tr.querySelector(".ext").textContent = c.extended_minutes ? text(X.extended, { n: c.extended_minutes }) : "";
    var total = c.total || 0;
    tr.querySelector(".bar-fill").style.width = total ? Math.round(100 * c.answered / total) + "%" : "0";
    tr.querySelector(".progress-text").textContent = c.attempt_id ? c.answered + " / " + total : "—";
    tr.querySelector(".left").textContent = "";
    var incidents = tr.querySelector(".incidents");
    incidents.textContent = c.incidents ? c.incidents + " · " + (B.kinds[c.last_incident] || c.last_incident) : "—";
    incidents.classList.toggle("has-incidents", c.incidents > 0);
    tr.querySelector(".row-actions button").setAttribute("aria-label", X.details + ": " + c.name);
  }

  function tickRows() {
    if (!data) { return; }
    var elapsed = now() - receivedAt;
    data.candidates.forEach(function (c) {
      var tr = rows[c.enrolment_id];
      if (!tr) { return; }
      var left = tr.querySelector(".left");
      if (c.state === "in_progress") {
        var ms = c.remaining_ms - elapsed;
        left.textContent = clock(ms);
        left.classList.toggle("warn", ms < 5 * 60000);
      } else {
        left.textContent = "—";
        left.classList.remove("warn");
      }
      var last = tr.querySelector(".last-save");
      last.textContent = c.attempt_id ? ago(c.last_save_at) : "—";
      last.classList.toggle("stale", c.state === "in_progress" && (!c.last_save_at || serverNow() - c.last_save_at > 180000));
    });
    var seconds = Math.round((now() - lastOk) / 1000);
    fresh.textContent = text(failures ? X.stale : X.updated, { s: seconds });
    fresh.classList.toggle("stale", failures > 0);
  }

  function render(body) {
    data = body;
    receivedAt = now();
    lastOk = receivedAt;
    var seen = {};
    if (tbody.querySelector("td[colspan]")) { tbody.innerHTML = ""; }
    body.candidates.forEach(function (c, index) {
      var tr = rows[c.enrolment_id];
      if (!tr) { tr = rows[c.enrolment_id] = makeRow(c); }
      fillRow(tr, c);
      if (tbody.children[index] !== tr) { tbody.insertBefore(tr, tbody.children[index] || null); }
      seen[c.enrolment_id] = true;
    });
    Object.keys(rows).forEach(function (id) {
      if (!seen[id]) { tbody.removeChild(rows[id]); delete rows[id]; }
    });
    Object.keys(body.counts).forEach(function (state) {
      var n = document.querySelector("[data-count=" + state + "]");
      if (n) { n.textContent = body.counts[state]; }
    });
    document.getElementById("room-extend").classList.toggle("hidden", !body.can_act);
    if (selected) { fillPanel(); }
    tickRows();
  }

  var pollTimer = null;
  function poll() {
    if (pollTimer) { window.clearTimeout(pollTimer); }
    request("GET", B.urls.board, null, function (status, body) {
      if (status === 200) { failures = 0; render(body); } else { failures += 1; tickRows(); }
      pollTimer = window.setTimeout(poll, document.hidden ? B.poll_ms * 3 : B.poll_ms);
    });
  }

  /* ---------------------------------------------------------------- the candidate panel */
  var panel = document.getElementById("panel");
  var roomPanel = document.getElementById("room-panel");
  var lastFocus = null;

  function candidate() {
    if (!data || !selected) { return null; }
    for (var i = 0; i < data.candidates.length; i += 1) {
      if (String(data.candidates[i].enrolment_id) === String(selected)) { return data.candidates[i]; }
    }
    return null;
  }

  function fillPanel() {
    var c = candidate();
    if (!c) { return; }
    document.getElementById("panel-title").textContent = c.name + " · " + B.states[c.state];
    var facts = c.attempt_id ? text(X.facts, { started: hhmm(c.started_at), deadline: hhmm(c.deadline_at),
      answered: c.answered, total: c.total }) : (c.ticket ? text(X.ticket, { t: c.ticket }) : "");
    if (c.device_free) { facts += " · " + X.device_free; }
    document.getElementById("panel-facts").textContent = facts;
    document.getElementById("panel-actions").classList.toggle("hidden", !(data.can_act && c.state === "in_progress"));
    document.getElementById("note-form").classList.toggle("hidden", !data.can_note);
  }

  function loadIncidents() {
    var list = document.getElementById("panel-incidents");
    request("GET", url("incidents", selected), null, function (status, body) {
      if (status !== 200) { return; }
      list.innerHTML = "";
      if (!body.incidents.length) { list.appendChild(el("li", "muted", X.no_incidents)); }
      body.incidents.forEach(function (i) {
        var li = el("li");
        li.appendChild(el("span", "incident-time", hhmm(i.occurred_at)));
        li.appendChild(el("strong", null, B.kinds[i.kind] || i.kind));
        var extra = [B.sources[i.source] || i.source];
        if (i.by) { extra.push(i.by); }
        ["note", "reason"].forEach(function (k) { if (i.details[k]) { extra.push(i.details[k]); } });
        if (i.details.minutes) { extra.push(text(X.extended, { n: i.details.minutes })); }
        li.appendChild(el("span", "muted", " " + extra.join(" · ")));
        list.appendChild(li);
      });
    });
  }

  function open(dialog) {
    lastFocus = document.activeElement;
    dialog.classList.remove("hidden");
    var first = dialog.querySelector("input, textarea, button");
    if (first) { first.focus(); }
  }
  function close(dialog) {
    dialog.classList.add("hidden");
    if (dialog === panel) { selected = null; }
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }

  tbody.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-enrolment]");
    if (!button) { return; }
    selected = button.getAttribute("data-enrolment");
    document.getElementById("panel-error").textContent = "";
    fillPanel();
    loadIncidents();
    open(panel);
  });
  document.getElementById("room-extend").addEventListener("click", function () {
    document.getElementById("room-panel-error").textContent = "";
    open(roomPanel);
  });
  [panel, roomPanel].forEach(function (dialog) {
    dialog.querySelector("[data-close]").addEventListener("click", function () { close(dialog); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { close(dialog); } });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    [panel, roomPanel].forEach(function (dialog) { if (!dialog.classList.contains("hidden")) { close(dialog); } });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.getAttribute("data-action");
    if (!action || event.defaultPrevented) { return; }
    event.preventDefault();
    var c = candidate();
    var body = {}, address;
    [].forEach.call(form.elements, function (field) {
      if (field.name) { body[field.name] = field.type === "number" ? Number(field.value) : field.value; }
    });
    if (action === "extend-room") { address = B.urls.extend_room; }
    else if (action === "note") { address = url("note", selected); }
    else if (c && c.attempt_id) { address = url(action, c.attempt_id); }
    else { return; }
    var errorEl = document.getElementById(action === "extend-room" ? "room-panel-error" : "panel-error");
    var buttons = form.querySelectorAll("button");
    [].forEach.call(buttons, function (b) { b.disabled = true; });
    request("POST", address, body, function (status, response) {
      [].forEach.call(buttons, function (b) { b.disabled = false; });
      if (status !== 200) {
        errorEl.textContent = response.message || String(status);
        return;
      }
      errorEl.textContent = X.done;
      form.reset();
      if (action === "extend-room") { close(roomPanel); }
      else { loadIncidents(); }
      poll();
    });
  });

  poll();
  window.setInterval(tickRows, 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
})();
