// Catalog browser: apply the filters without a full reload (the GET form works without this script).
// Select changes apply at once, typing after a pause; the result section is swapped in place and the URL
// updated. A failed request falls back to a normal navigation, so the server's own error page is shown.
"use strict";
(function () {
  var form = document.getElementById("catalog-filters");
  var results = document.getElementById("catalog-results");
  if (!form || !results || !window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  var inflight = null;

  function target() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "") {
        params.append(key, value);
      }
    });
    var query = params.toString();
    return form.getAttribute("action") + (query ? "?" + query : "");
  }

  function refresh() {
    var url = target();
    if (inflight) {
      inflight.abort();
    }
    inflight = new AbortController();
    results.classList.add("loading");
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin", signal: inflight.signal })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("catalog-results");
        if (!fresh) {
          throw new Error("no results in the answer");
        }
        results.replaceWith(fresh);
        results = fresh;
        window.history.replaceState(null, "", url);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return;
        }
        window.location.assign(url);
      });
  }

  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") {
      refresh();
    }
  });
  form.addEventListener("input", function (event) {
    if (event.target.type === "search") {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 350);
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    refresh();
  });
})();
