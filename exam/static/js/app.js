/* Small progressive enhancements shared by every page. No inline scripts (the CSP forbids them). */
(function () {
  "use strict";
  // Buttons and forms marked data-confirm ask before they act.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm") ||
      (event.submitter && event.submitter.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);
  // Avoid double submissions of slow forms (uploads, batch jobs).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("data-allow-resubmit")) { return; }
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Menu groups: one open at a time, closed by a click elsewhere or Escape.
  var groups = document.querySelectorAll(".navgroup details");
  document.addEventListener("click", function (event) {
    groups.forEach(function (d) { if (d.open && !d.contains(event.target)) { d.open = false; } });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { groups.forEach(function (d) { d.open = false; }); }
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form button[type=submit][disabled]:not([data-keep-disabled])")
      .forEach(function (b) { b.disabled = false; });
  });
  // Elements with data-autosubmit submit their form on change (filters).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) { el.form.submit(); }
  });
})();
