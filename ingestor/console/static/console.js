// spectrocloud-ingestor console: progressive enhancement only (pages work without it).
// Pages opt in with data attributes; each page's own script lives in its own file.
"use strict";
(function () {
  // Confirm buttons marked data-confirm.
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
