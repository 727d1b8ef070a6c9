/* Blueprint and practical-spec editors: live totals and added rows. The forms work without
   it (the server computes and checks everything on save). */
(function () {
  "use strict";

  function num(input) {
    var value = parseFloat((input && input.value || "").replace(",", "."));
    return isFinite(value) ? value : 0;
  }

  function show(output, value, target) {
    if (!output) { return; }
    var rounded = Math.round(value * 100) / 100;
    output.textContent = String(rounded);
    output.classList.remove("is-ok", "is-off");
    if (target !== null && target !== undefined) {
      output.classList.add(Math.abs(rounded - target) < 0.005 ? "is-ok" : "is-off");
    }
  }

  // --- blueprint form ------------------------------------------------------------------------
  function blueprintTotals(form) {
    var count = 0, points = 0;
    form.querySelectorAll("[data-section-row]").forEach(function (row) {
      var c = num(row.querySelector("[data-count]"));
      var p = num(row.querySelector("[data-points]"));
      count += c;
      points += c * p;
      show(row.querySelector("[data-subtotal]"), c * p);
    });
    show(form.querySelector('[data-total="count"]'), count);
    var totalField = form.querySelector('[name="total_points"]');
    show(form.querySelector('[data-total="points"]'), points, totalField ? num(totalField) : 100);
    var shares = 0;
    form.querySelectorAll("[data-share]").forEach(function (input) { shares += num(input); });
    show(form.querySelector('[data-total="shares"]'), shares, 100);
    var mix = 0, anyMix = false;
    form.querySelectorAll("[data-mix]").forEach(function (input) {
      if (input.value.trim() !== "") { anyMix = true; }
      mix += num(input);
    });
    show(form.querySelector('[data-total="mix"]'), mix, anyMix ? 100 : null);
  }

  document.querySelectorAll("[data-blueprint-form]").forEach(function (form) {
    form.addEventListener("input", function () { blueprintTotals(form); });
    blueprintTotals(form);
  });

  // --- practical spec editor ------------------------------------------------------------------
  function practicalTotals(form) {
    var required = 0, optionalWeight = null, filled = false;
    form.querySelectorAll("[data-task]").forEach(function (block) {
      var sum = 0;
      block.querySelectorAll("[data-max-points]").forEach(function (input) { sum += num(input); });
      var anyItem = Array.prototype.some.call(block.querySelectorAll("[data-max-points]"),
        function (input) { return input.value.trim() !== ""; });
      show(block.querySelector("[data-sheet-total]"), sum, anyItem ? 100 : null);
      var weightInput = block.querySelector("[data-weight]");
      if (!weightInput || weightInput.value.trim() === "") { return; }
      filled = true;
      var isRequired = block.querySelector("[data-required]").value === "1";
      if (isRequired) { required += num(weightInput); } else if (optionalWeight === null) { optionalWeight = num(weightInput); }
    });
    var chooseInput = form.querySelector('[name="choose"]');
    var optional = (optionalWeight || 0) * (chooseInput ? num(chooseInput) : 0);
    show(form.querySelector("[data-weights-required]"), required);
    show(form.querySelector("[data-weights-optional]"), optional);
    var total = form.querySelector("[data-weights-total]");
    if (filled) { show(total, required + optional, 100); }
  }

  function fromTemplate(template, replacements) {
    var html = template.innerHTML;
    Object.keys(replacements).forEach(function (key) { html = html.split(key).join(replacements[key]); });
    var holder = document.createElement(template.getAttribute("data-item-template") !== null ? "tbody" : "div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  function nextIndex(elements, attribute) {
    var max = -1;
    elements.forEach(function (el) {
      var match = (el.getAttribute("name") || "").match(attribute);
      if (match) { max = Math.max(max, parseInt(match[1], 10)); }
    });
    return max + 1;
  }

  function wireTask(form, block) {
    var button = block.querySelector("[data-add-item]");
    if (!button) { return; }
    button.classList.remove("hidden");
    button.addEventListener("click", function () {
      var t = block.getAttribute("data-task");
      var inputs = block.querySelectorAll("[name^='tasks-" + t + "-sheet-']");
      var i = nextIndex(inputs, /-sheet-(\d+)-/);
      var row = fromTemplate(form.querySelector("[data-item-template]"), { "__T__": t, "__I__": String(i) });
      block.querySelector("[data-sheet]").appendChild(row);
      row.querySelector("input, textarea").focus();
    });
  }

  document.querySelectorAll("[data-practical-form]").forEach(function (form) {
    form.querySelectorAll("[data-task]").forEach(function (block) { wireTask(form, block); });
    var addTask = form.querySelector("[data-add-task]");
    if (addTask) {
      addTask.classList.remove("hidden");
      addTask.addEventListener("click", function () {
        var t = nextIndex(form.querySelectorAll("[name^='tasks-']"), /^tasks-(\d+)-/);
        var block = fromTemplate(form.querySelector("[data-task-template]"), { "__T__": String(t) });
        block.setAttribute("data-task", String(t));
        form.querySelector("[data-tasks]").appendChild(block);
        wireTask(form, block);
        block.querySelector("input").focus();
      });
    }
    form.addEventListener("input", function () { practicalTotals(form); });
    form.addEventListener("change", function () { practicalTotals(form); });
    practicalTotals(form);
  });
})();
