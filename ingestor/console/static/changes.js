// Change feed: new changes arrive over Server-Sent Events (/console/events) and are prepended to the list.
// EventSource reconnects by itself after a dropped connection (resending Last-Event-ID); when the browser gives
// up (an error answer such as a proxy's 502 during a restart) this script opens a new one after a backoff.
"use strict";
(function () {
  var feed = document.getElementById("change-feed");
  var live = document.getElementById("changes-live");
  if (!feed || !live) {
    return;
  }
  if (!window.EventSource) {
    live.textContent = "not live (this browser has no EventSource); reload for new changes";
    return;
  }
  var empty = document.getElementById("changes-empty");
  var problem = document.getElementById("changes-stream-problem");
  var limit = parseInt(feed.getAttribute("data-limit"), 10) || 200;
  var base = feed.getAttribute("data-stream");
  var lastId = null;
  var source = null;
  var timer = null;
  var delay = 2000;

  function setState(state, text) {
    live.setAttribute("data-state", state);
    live.textContent = text;
  }

  function streamUrl() {
    if (lastId === null) {
      return base;
    }
    var url = new URL(base, window.location.href);
    url.searchParams.set("after", String(lastId));
    return url.pathname + url.search;
  }

  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function item(change) {
    var li = document.createElement("li");
    li.className = "change new";
    li.setAttribute("data-id", String(change.id));
    li.setAttribute("data-change", change.change);
    var time = document.createElement("time");
    time.className = "change-time";
    time.setAttribute("datetime", change.at);
    time.textContent = change.time;
    li.appendChild(time);
    li.appendChild(span("badge " + change.badge + " change-type", change.change));
    li.appendChild(span("change-instance", change.instance));
    li.appendChild(span("change-kind", change.kind));
    if (change.url) {
      var link = document.createElement("a");
      link.className = "change-entity";
      link.href = change.url;
      link.textContent = change.name;
      li.appendChild(link);
    } else {
      li.appendChild(span("change-entity removed", change.name));
    }
    li.appendChild(span("change-project muted", change.project || "(tenant)"));
    return li;
  }

  function onChange(event) {
    var change;
    try {
      change = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    var id = parseInt(event.lastEventId, 10);
    if (!isNaN(id)) {
      lastId = id;
    }
    if (feed.querySelector('li[data-id="' + String(change.id) + '"]')) {
      return;
    }
    feed.insertBefore(item(change), feed.firstChild);
    while (feed.children.length > limit) {
      feed.removeChild(feed.lastElementChild);
    }
    if (empty) {
      empty.hidden = true;
    }
  }

  function onStatus(event) {
    var status;
    try {
      status = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (problem) {
      problem.textContent = status.ok ? "" : "The live feed is interrupted: " + status.message;
      problem.hidden = !!status.ok;
    }
  }

  function connect() {
    timer = null;
    source = new EventSource(streamUrl());
    source.addEventListener("open", function () {
      delay = 2000;
      setState("open", "live");
    });
    source.addEventListener("change", onChange);
    source.addEventListener("status", onStatus);
    source.addEventListener("error", function () {
      setState("closed", "reconnecting…");
      // CONNECTING: the browser retries by itself. CLOSED: it gave up; open a new stream after a backoff.
      if (source.readyState === EventSource.CLOSED && timer === null) {
        timer = window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      }
    });
  }

  setState("closed", "connecting…");
  connect();
})();
