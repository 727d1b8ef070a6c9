/* Question-bank pages.
   - The item form shows the fields of the chosen question type (without JavaScript every field
     stays visible and the server ignores the others).
   - On narrow screens the bank's element tree starts folded, so the items come first. */
(function () {
  "use strict";
  var tree = document.querySelector(".tree-box");
  if (tree && window.matchMedia("(max-width: 900px)").matches) {
    tree.open = false;
  }

  var chooser = document.querySelector("#item-form select[name=type]");
  if (!chooser) { return; }
  var groups = document.querySelectorAll("#item-form fieldset[data-types]");

  function show() {
    var type = chooser.value;
    groups.forEach(function (group) {
      var wanted = group.getAttribute("data-types").split(" ").indexOf(type) >= 0;
      group.hidden = !wanted;
      group.disabled = !wanted;
    });
  }
  chooser.addEventListener("change", show);
  show();
})();
