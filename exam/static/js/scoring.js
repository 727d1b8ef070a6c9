/* Scoring sheets on a tablet: totals as you type, a local draft that survives a weak connection,
   saving with retries, and the saved/offline state. No framework; no inline scripts (CSP). */
(function () {
  "use strict";

  // Sheets already signed: forget their local drafts (the candidate list marks them).
  function clearSignedDrafts() {
    document.querySelectorAll("[data-clear-draft]").forEach(function (el) {
      try { window.localStorage.removeItem(el.getAttribute("data-clear-draft")); } catch (e) { /* private mode */ }
    });
  }

  function parseAmount(text) {
    var value = String(text == null ? "" : text).trim().replace("，", ".").replace(",", ".");
    if (value === "") { return null; }
    if (!/^\d+(\.\d{1,2})?$/.test(value)) { return NaN; }
    return Math.round(parseFloat(value) * 100);  // hundredths: exact sums
  }

  function format(cents) {
    var text = (cents / 100).toFixed(2);
    return text.replace(/\.?0+$/, "") || "0";
  }

  function Sheet(form) {
    this.form = form;
    this.key = form.getAttribute("data-draft-key");
    this.url = form.getAttribute("data-draft-url");
    this.locked = form.getAttribute("data-locked") === "true";
    this.serverSeq = parseInt(form.getAttribute("data-seq"), 10) || 0;
    this.seq = this.serverSeq;
    this.savedSeq = this.serverSeq;
    this.status = document.getElementById("sheet-status");
    this.items = Array.prototype.slice.call(form.querySelectorAll(".sheet-item"));
    this.timer = null;
    this.retry = 0;
    this.inFlight = false;
    var meta = document.querySelector('meta[name="csrf-token"]');
    this.csrf = meta ? meta.getAttribute("content") : "";
  }

  Sheet.prototype.input = function (item) { return item.querySelector("input[type=number]"); };
  Sheet.prototype.veto = function (item) { return item.querySelector("input[type=checkbox]"); };
  Sheet.prototype.note = function () { return this.form.querySelector("textarea[name=note]"); };

  Sheet.prototype.setState = function (state) {
    if (!this.status) { return; }
    this.status.setAttribute("data-state", state);
    this.status.textContent = this.status.getAttribute("data-text-" + state) || state;
  };

  // Points of each item and the total, from the deductions typed so far.
  Sheet.prototype.recompute = function () {
    var total = 0, filled = 0, self = this;
    this.items.forEach(function (item) {
      var max = Math.round(parseFloat(item.getAttribute("data-max")) * 100);
      var deduction = parseAmount(self.input(item).value);
      var out = item.querySelector("[data-points]");
      var bad = deduction !== null && (isNaN(deduction) || deduction > max);
      item.classList.toggle("has-error", bad);
      item.classList.toggle("filled", deduction !== null && !bad);
      if (deduction === null || bad) {
        out.textContent = bad ? "!" : "—";
        return;
      }
      filled += 1;
      total += max - deduction;
      out.textContent = format(max - deduction);
    });
    document.getElementById("sheet-total").textContent = filled ? format(total) : "—";
    var counter = document.getElementById("sheet-filled");
    if (counter) { counter.textContent = "(" + filled + "/" + this.items.length + ")"; }
  };

  Sheet.prototype.entries = function () {
    var entries = {}, self = this;
    this.items.forEach(function (item) {
      var code = item.getAttribute("data-code"), entry = {};
      var value = self.input(item).value.trim();
      if (value !== "") { entry.deduction = value; }
      var veto = self.veto(item);
      if (veto) { entry.veto = veto.checked; }
      entries[code] = entry;
    });
    return entries;
  };

  Sheet.prototype.apply = function (draft) {
    var self = this;
    this.items.forEach(function (item) {
      var entry = (draft.entries || {})[item.getAttribute("data-code")] || {};
      self.input(item).value = entry.deduction || "";
      var veto = self.veto(item);
      if (veto) { veto.checked = !!entry.veto; }
    });
    if (this.note()) { this.note().value = draft.note || ""; }
  };

  Sheet.prototype.keep = function () {
    try {
      window.localStorage.setItem(this.key, JSON.stringify({
        seq: this.seq, entries: this.entries(), note: this.note() ? this.note().value : "",
        at: new Date().toISOString()
      }));
    } catch (e) { /* storage full or disabled: the server copy still works */ }
  };

  Sheet.prototype.changed = function () {
    this.seq = Math.max(this.seq, this.savedSeq) + 1;
    this.recompute();
    this.keep();
    this.setState("local");
    this.schedule(700);
  };

  Sheet.prototype.schedule = function (delay) {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.save(); }, delay);
  };

  Sheet.prototype.save = function () {
    if (this.inFlight || this.seq <= this.savedSeq) { return; }
    var self = this, seq = this.seq;
    this.inFlight = true;
    this.setState("saving");
    fetch(this.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": this.csrf},
      body: JSON.stringify({entries: this.entries(), note: this.note() ? this.note().value : "", seq: seq})
    }).then(function (response) {
      self.inFlight = false;
      if (response.ok) {
        self.retry = 0;
        self.savedSeq = Math.max(self.savedSeq, seq);
        if (self.seq <= self.savedSeq) {
          self.setState("saved");
          try { window.localStorage.removeItem(self.key); } catch (e) { /* ignore */ }
        } else {
          self.schedule(300);
        }
        return;
      }
      if (response.status === 409) { window.location.reload(); return; }
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        self.setState("error");  // kept on the device; the assessor corrects the marked item
        return;
      }
      self.offline();
    }).catch(function () {
      self.inFlight = false;
      self.offline();
    });
  };

  Sheet.prototype.offline = function () {
    this.setState("offline");
    this.retry = Math.min(this.retry + 1, 5);
    this.schedule(Math.min(30000, 1000 * Math.pow(2, this.retry)));
  };

  Sheet.prototype.step = function (button) {
    var item = button.closest(".sheet-item");
    var input = this.input(item);
    var max = parseFloat(item.getAttribute("data-max"));
    var current = parseFloat(input.value);
    if (isNaN(current)) { current = 0; }  // an empty item starts from "no deduction"
    current += parseInt(button.getAttribute("data-step"), 10);
    input.value = String(Math.max(0, Math.min(max, Math.round(current * 100) / 100)));
    this.changed();
  };

  Sheet.prototype.fillZero = function () {
    var self = this;
    this.items.forEach(function (item) {
      if (self.input(item).value.trim() === "") { self.input(item).value = "0"; }
    });
    this.changed();
  };

  Sheet.prototype.start = function () {
    var self = this;
    if (this.locked) {
      try { window.localStorage.removeItem(this.key); } catch (e) { /* ignore */ }
      this.recompute();
      return;
    }
    var stored = null;
    try { stored = JSON.parse(window.localStorage.getItem(this.key) || "null"); } catch (e) { stored = null; }
    if (stored && stored.seq > this.serverSeq) {  // typed here but never reached the server
      this.apply(stored);
      this.seq = stored.seq;
      this.setState("local");
      this.schedule(200);
    }
    this.recompute();
    this.form.addEventListener("input", function (event) {
      if (event.target.matches("input, textarea")) { self.changed(); }
    });
    this.form.addEventListener("change", function (event) {
      if (event.target.matches("input[type=checkbox]")) { self.changed(); }
    });
    this.form.addEventListener("click", function (event) {
      var button = event.target.closest("button.step");
      if (button) { event.preventDefault(); self.step(button); }
    });
    var fill = document.getElementById("fill-zero");
    if (fill) { fill.addEventListener("click", function () { self.fillZero(); }); }
    // Signing sends the form itself (with every input), so it works even when the last save did not.
    this.form.addEventListener("submit", function () { self.keep(); window.clearTimeout(self.timer); });
    window.addEventListener("online", function () { if (self.seq > self.savedSeq) { self.retry = 0; self.save(); } });
    window.addEventListener("offline", function () { if (self.seq > self.savedSeq) { self.setState("offline"); } });
  };

  document.addEventListener("DOMContentLoaded", function () {
    clearSignedDrafts();
    var form = document.getElementById("sheet-form");
    if (form) { new Sheet(form).start(); }
  });
})();
