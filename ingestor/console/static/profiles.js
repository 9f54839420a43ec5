// Profile explorer: highlight a graph node's edges on hover or focus; filter selects submit on change.
"use strict";
(function () {
  var svg = document.getElementById("profile-graph");
  if (svg) {
    var light = function (id) {
      svg.classList.toggle("focused", id !== null);
      svg.querySelectorAll(".graph-edge").forEach(function (edge) {
        var on = id !== null && (edge.getAttribute("data-source") === id || edge.getAttribute("data-target") === id);
        edge.classList.toggle("lit", on);
      });
    };
    svg.querySelectorAll(".graph-node").forEach(function (node) {
      var id = node.getAttribute("data-node");
      node.addEventListener("mouseenter", function () { light(id); });
      node.addEventListener("focus", function () { light(id); });
      node.addEventListener("mouseleave", function () { light(null); });
      node.addEventListener("blur", function () { light(null); });
    });
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });
})();
