// Overview: keep the instance cards current without a framework. Every 10 s (slower after failures) ask
// /console/api/overview for the page's digest and reload when it changed, unless the reader is busy
// (a form field focused or text selected). A failed refresh is said on the page, never hidden.
"use strict";
(function () {
  var root = document.getElementById("overview");
  var live = document.getElementById("overview-live");
  if (!root || !live || !window.fetch) { return; }
  var source = root.getAttribute("data-source");
  var digest = root.getAttribute("data-digest");
  var base = 10000, delay = base, max = 60000;

  function busy() {
    var active = document.activeElement;
    if (active && active.closest && active.closest("form") && active.tagName !== "BODY") { return true; }
    var selection = window.getSelection && window.getSelection();
    return !!(selection && String(selection).length);
  }

  function say(state, text) {
    live.setAttribute("data-state", state);
    live.textContent = text;
  }

  function schedule() { window.setTimeout(poll, delay); }

  function poll() {
    if (document.hidden) { schedule(); return; }
    fetch(source, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error(body.error || ("HTTP " + response.status)); }
          return body;
        });
      })
      .then(function (body) {
        delay = base;
        if (body.digest !== digest && !busy()) { window.location.replace(window.location.pathname); return; }
        say("open", "Up to date as of " + new Date().toLocaleTimeString() +
          (body.digest !== digest ? " (changes waiting: reload to see them)" : ""));
        schedule();
      })
      .catch(function (error) {
        delay = Math.min(max, delay * 2);
        say("closed", "Could not refresh (" + error.message + "); showing older data, retrying in " +
          Math.round(delay / 1000) + " s.");
        schedule();
      });
  }

  schedule();
})();
