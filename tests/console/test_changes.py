"""The change feed (``/changes``) and its Server-Sent Events stream (``/console/events``), over real sockets.

Expected changes come from the store's change log (``queries.changes``), the status JSON and the simulator's
data, never from the page's own code.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestor.api.server import BackgroundServer, build_service
from ingestor.console import views_changes
from ingestor.console.views_changes import Filters, Wakeups, latest_changes, open_streams
from ingestor.simulator.server import SimulatorServer
from ingestor.store import migrate, queries
from ingestor.store.db import Database
from ingestor.store.rows import ChangeRow
from tests.api.conftest import make_settings
from tests.console.conftest import OPERATOR_TOKEN, SIM_KEY, VIEWER_TOKEN, Console, start_console

SIM_HEADERS = {"ApiKey": SIM_KEY}


# ---- helpers ----------------------------------------------------------------------------------------------


class FeedParser(HTMLParser):
    """The ``li.change`` items of the feed: id, change, kind, instance, entity link and name, project."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.stream: str | None = None
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "ol" and a.get("id") == "change-feed":
            self.stream = a.get("data-stream")
        elif tag == "li" and "change" in classes:
            self.items.append({"id": int(a["data-id"] or 0), "change": a["data-change"], "href": None})
        elif self.items and tag in ("span", "a", "time"):
            names = {"change-type", "change-instance", "change-kind", "change-entity", "change-project"}
            self._field = next((c for c in classes if c in names), None)
            if tag == "a" and self._field == "change-entity":
                self.items[-1]["href"] = a.get("href")

    def handle_data(self, data: str) -> None:
        if self._field and data.strip():
            self.items[-1][self._field] = data.strip()
            self._field = None


def feed(answer: httpx.Response) -> FeedParser:
    assert answer.status_code == 200, answer.text
    parser = FeedParser()
    parser.feed(answer.text)
    return parser


def store_changes(console: Console, **kwargs: Any) -> list[ChangeRow]:
    return queries.changes(console.server.service.db, **kwargs)


def project_titles(console: Console) -> dict[str, str]:
    (instance,) = console.status()["instances"]
    return {p["uid"]: p["name"] for p in instance["projects"] if p["uid"]}


@dataclass
class Event:
    id: str | None
    event: str
    data: str

    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


class EventReader:
    """Parses ``text/event-stream`` lines of an open httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.retry: int | None = None
        self.comments: list[str] = []
        self._lines = response.iter_lines()

    def next(self) -> Event:
        fields: dict[str, str] = {}
        data: list[str] = []
        for line in self._lines:
            if line == "":
                if data or "event" in fields:
                    return Event(fields.get("id"), fields.get("event", "message"), "\n".join(data))
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "retry":
                self.retry = int(value)
            else:
                fields[name] = value
        raise AssertionError("the stream ended")

    def opened(self) -> int:
        """Read up to the ``retry`` line the stream starts with; the stream's cursor is fixed by then."""
        for line in self._lines:
            if line.startswith("retry:"):
                self.retry = int(line.partition(":")[2])
                return self.retry
        raise AssertionError("the stream ended before it started")

    def comment(self) -> str:
        """Read up to the next comment line (a heartbeat), skipping events."""
        for line in self._lines:
            if line.startswith(":"):
                return line
        raise AssertionError("the stream ended")

    def changes(self, count: int, timeout: float = 30.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        found: list[Event] = []
        while len(found) < count:
            assert time.monotonic() < deadline, f"only {len(found)} of {count} change events"
            event = self.next()
            if event.event == "change":
                found.append(event)
        return found


def stream(console: Console, query: str = "", **kwargs: Any) -> Any:
    timeout = httpx.Timeout(30.0, read=20.0)
    return httpx.stream("GET", f"{console.url}/console/events{query}", timeout=timeout, **kwargs)


def expected_item(row: ChangeRow, titles: dict[str, str]) -> dict[str, Any]:
    name = row.ref.rpartition("/")[2]
    return {
        "id": row.id,
        "instance": row.instance,
        "change": row.change,
        "kind": row.palette_kind,
        "ref": row.ref,
        "name": name,
        "url": None if row.change == "removed" else f"/entities/{row.instance}/{row.palette_kind}/{name}",
        "projectUid": row.project_uid,
        "project": titles.get(row.project_uid) if row.project_uid else None,
    }


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def sim_reset(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    """The simulator, back to its seed afterwards (its data is shared by the module's tests)."""
    yield sim
    httpx.delete(f"{sim.url}/__sim/faults", headers=SIM_HEADERS, timeout=10)
    assert httpx.post(f"{sim.url}/__sim/reset", headers=SIM_HEADERS, timeout=10).status_code == 204


# ---- the page ---------------------------------------------------------------------------------------------


def test_page_lists_the_store_changes_newest_first_with_entity_links(console: Console) -> None:
    rows = store_changes(console)
    page = feed(console.get("/changes"))
    titles = project_titles(console)
    assert rows, "the first crawl records every entity as added"
    assert [item["id"] for item in page.items] == [row.id for row in reversed(rows)][
        : views_changes.PAGE_SIZE
    ]
    by_id = {row.id: row for row in rows}
    for item in page.items:
        want = expected_item(by_id[item["id"]], titles)
        assert item["change"] == want["change"] == item["change-type"]
        assert (item["change-instance"], item["change-kind"]) == (want["instance"], want["kind"])
        assert (item["href"], item["change-entity"]) == (want["url"], want["name"])
        assert item["change-project"] == (want["project"] or "(tenant)")
    (instance,) = console.status()["instances"]
    assert sum(item["change"] == "added" for item in page.items) == instance["lastRun"]["added"]
    assert page.stream == f"/console/events?after={rows[-1].id}"
    some = page.items[0]["href"]
    assert console.get(some).status_code == 200, "the entity link opens its catalog page"


def test_page_headers_and_no_inline_script_or_style(console: Console) -> None:
    answer = console.get("/changes")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert re.search(r"<script(?![^>]*\bsrc=)", answer.text) is None
    assert "style=" not in answer.text and "<style" not in answer.text
    assert '<script src="/console/static/changes.js" defer></script>' in answer.text
    assert console.get("/console/static/changes.js").status_code == 200
    assert console.get("/console/static/changes.css").status_code == 200


def test_filters_narrow_the_page(console: Console) -> None:
    rows = store_changes(console)
    clusters = feed(console.get("/changes", params={"kind": "cluster"})).items
    (instance,) = console.status()["instances"]
    assert len(clusters) == instance["lastRun"]["counts"]["cluster"]
    assert {item["change-kind"] for item in clusters} == {"cluster"}

    uid, title = sorted(project_titles(console).items())[0]
    mine = feed(console.get("/changes", params={"project": uid, "instance": "main"})).items
    assert [item["id"] for item in mine] == [row.id for row in reversed(rows) if row.project_uid == uid]
    assert {item["change-project"] for item in mine} == {title}

    both = feed(console.get("/changes", params={"project": uid, "kind": "virtual-cluster"})).items
    assert [item["id"] for item in both] == [
        row.id for row in reversed(rows) if row.project_uid == uid and row.palette_kind == "virtual-cluster"
    ]
    nothing = console.get("/changes", params={"kind": "no-such-kind"})
    assert feed(nothing).items == [] and "No changes match these filters." in nothing.text
    unknown = console.get("/changes", params={"instance": "elsewhere"})
    assert unknown.status_code == 404 and "No such instance" in unknown.text


def test_newest_reads_find_the_tail_of_the_log(console: Console) -> None:
    db = console.server.service.db
    rows = store_changes(console)
    assert queries.newest_change_id(db) == rows[-1].id
    assert latest_changes(db, Filters("elsewhere", None, None)) == ([], rows[-1].id)
    latest, cursor = latest_changes(db, Filters(None, None, None), limit=5)
    assert [row.id for row in latest] == [row.id for row in reversed(rows)][:5] and cursor == rows[-1].id
    profiles = [row.id for row in reversed(rows) if row.palette_kind == "cluster-profile"]
    latest, _ = latest_changes(db, Filters("main", None, "cluster-profile"), limit=3)
    assert [row.id for row in latest] == profiles[:3]
    every, _ = latest_changes(db, Filters(None, None, "cluster-profile"), limit=1000)
    assert [row.id for row in every] == profiles


def test_newest_id_of_an_empty_store(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        migrate.upgrade(db)
        assert queries.newest_change_id(db) == 0
        assert latest_changes(db, Filters(None, None, None)) == ([], 0)
    finally:
        db.close()


def test_page_says_so_before_the_first_crawl_and_streams_it(sim: SimulatorServer, tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}",
        [{"name": "main", "url": sim.url, "apiToken": SIM_KEY}],
        scheduler={"enabled": False, "runOnStart": False},
        auth={"externalAccess": [{"type": "static", "options": {"token": OPERATOR_TOKEN, "subject": "op"}}]},
        console={"anonymousRead": True},
    )
    with BackgroundServer(build_service(settings)) as server:
        console = Console(server, sim)
        answer = console.get("/changes")
        assert "No crawl has completed yet" in answer.text and "not crawled yet" in answer.text
        page = feed(answer)
        assert page.items == [] and page.stream == "/console/events?after=0"
        with stream(console, "?after=0") as response:
            reader = EventReader(response)
            assert reader.opened() == 2000
            crawl = httpx.post(
                f"{console.url}/status/crawl",
                headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
                timeout=30,
            )
            assert crawl.status_code == 202, crawl.text
            wait_until(lambda: console.status()["instances"][0]["snapshot"]["present"], timeout=30)
            rows = store_changes(console)
            events = reader.changes(len(rows))
            assert [int(e.id or 0) for e in events] == [row.id for row in rows]
        assert "not crawled yet" not in console.get("/changes").text


def test_a_failed_crawl_is_shown_with_its_reason(console: Console, sim_reset: SimulatorServer) -> None:
    fault = {"kind": "error", "status": 500, "path": "/v1/*"}
    assert httpx.post(f"{sim_reset.url}/__sim/faults", json=fault, headers=SIM_HEADERS).status_code in (
        200,
        201,
    )
    trigger = httpx.post(
        f"{console.url}/status/crawl", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30
    )
    assert trigger.status_code == 202
    console.wait_for_runs(2)
    (instance,) = console.status()["instances"]
    last = instance["lastRun"]
    assert last["status"] != "ok"
    answer = console.get("/changes")
    assert "crawl problem" in answer.text
    assert f"the last crawl ({last['status']})" in answer.text
    if last["error"]:
        detail = last["error"]["message"] if isinstance(last["error"], dict) else last["error"]
        assert str(detail)[:40] in answer.text.replace("&#39;", "'").replace("&#34;", '"')
    assert SIM_KEY not in answer.text
    assert feed(answer).items, "the earlier changes are still listed"


# ---- the stream -------------------------------------------------------------------------------------------


def test_stream_replays_after_an_id_with_sse_headers(console: Console) -> None:
    rows = store_changes(console)
    titles = project_titles(console)
    start = rows[len(rows) // 2].id
    with stream(console, f"?after={start}") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        reader = EventReader(response)
        tail = [row for row in rows if row.id > start]
        events = reader.changes(len(tail))
        assert reader.retry == 2000
    assert [int(e.id or 0) for e in events] == [row.id for row in tail]
    for event, row in zip(events, tail, strict=True):
        data = event.json()
        assert {key: data[key] for key in expected_item(row, titles)} == expected_item(row, titles)
        assert data["at"] == row.at.isoformat().replace("+00:00", "Z")


def test_last_event_id_wins_over_after(console: Console) -> None:
    rows = store_changes(console)
    resume = rows[-3].id
    with stream(console, "?after=0", headers={"Last-Event-ID": str(resume)}) as response:
        events = EventReader(response).changes(2)
    assert [int(e.id or 0) for e in events] == [row.id for row in rows[-2:]]


def test_stream_filters(console: Console) -> None:
    rows = store_changes(console)
    uid = sorted(project_titles(console))[0]
    wanted = [row.id for row in rows if row.project_uid == uid and row.palette_kind == "cluster"]
    with stream(console, f"?after=0&instance=main&project={uid}&kind=cluster") as response:
        events = EventReader(response).changes(len(wanted))
    assert [int(e.id or 0) for e in events] == wanted
    assert {(e.json()["projectUid"], e.json()["kind"]) for e in events} == {(uid, "cluster")}


def project_clusters(console: Console) -> dict[str, list[str]]:
    """Project uid -> the uids of its stored clusters."""
    found: dict[str, list[str]] = {}
    for row in queries.current_entities(console.server.service.db, palette_kind="cluster").entities:
        if row.project_uid:
            found.setdefault(row.project_uid, []).append(row.key)
    return found


def crawl(console: Console, runs: int) -> None:
    answer = httpx.post(
        f"{console.url}/status/crawl", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    console.wait_for_runs(runs)


def test_crawl_changes_arrive_live_with_increasing_ids(console: Console, sim_reset: SimulatorServer) -> None:
    before = store_changes(console)[-1].id
    patched, deleted = sorted(project_clusters(console).values())[0][:2]
    admin = httpx.Client(base_url=sim_reset.url, headers=SIM_HEADERS, timeout=10)
    with stream(console) as response:  # no cursor: from now on
        reader = EventReader(response)
        assert reader.opened() == 2000
        assert admin.patch(f"/__sim/data/clusters/{patched}", json={"status": {"state": "Error"}}).is_success
        assert admin.delete(f"/__sim/data/clusters/{deleted}").status_code == 204
        crawl(console, 2)
        new = store_changes(console, after_id=before)
        assert len(new) == 2, "the crawl recorded one modification and one removal"
        events = reader.changes(len(new))
    ids = [int(e.id or 0) for e in events]
    assert ids == [row.id for row in new] and ids == sorted(set(ids)) and ids[0] > before
    got = {e.json()["change"]: e.json() for e in events}
    assert set(got) == {"modified", "removed"}
    assert got["removed"]["url"] is None and got["modified"]["url"].startswith("/entities/main/cluster/")
    listed = feed(console.get("/changes")).items[:2]
    assert [(item["id"], item["change"], item["href"]) for item in listed] == [
        (int(e.id or 0), e.json()["change"], e.json()["url"]) for e in reversed(events)
    ]


def test_held_back_removals_are_shown_with_their_reason(console: Console, sim_reset: SimulatorServer) -> None:
    project, clusters = max(project_clusters(console).items(), key=lambda item: len(item[1]))
    admin = httpx.Client(base_url=sim_reset.url, headers=SIM_HEADERS, timeout=10)
    for uid in clusters:
        assert admin.delete(f"/__sim/data/clusters/{uid}").status_code == 204
    crawl(console, 2)
    held = queries.held_removals(console.server.service.db, "main")
    assert len(held) == len(clusters), "a whole part vanishing is held back by the removal guard"
    answer = console.get("/changes")
    plural = "s" if len(held) != 1 else ""
    assert f"{len(held)} removal{plural} held back" in answer.text
    assert held[0].reason.split(";")[0][:30] in answer.text.replace("&#39;", "'")
    assert not [item for item in feed(answer).items if item["change"] == "removed"]


def test_events_need_read_access(sim: SimulatorServer, tmp_path: Path) -> None:
    closed = start_console(tmp_path, sim)
    try:
        assert closed.get("/console/events?after=0").status_code == 401
        assert closed.get("/changes").status_code == 401
        with stream(closed, "?after=0", headers={"Authorization": f"Bearer {VIEWER_TOKEN}"}) as response:
            assert response.status_code == 200
            assert EventReader(response).changes(1)
        assert feed(closed.get("/changes", token=VIEWER_TOKEN)).items
        assert closed.get("/console/events?after=x1", token=VIEWER_TOKEN).status_code == 400
        assert closed.get("/console/events?instance=nope", token=VIEWER_TOKEN).status_code == 404
    finally:
        closed.server.stop()


def test_an_idle_stream_sends_heartbeats(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_changes, "HEARTBEAT_SECONDS", 0.5)
    with stream(console) as response:
        reader = EventReader(response)
        assert reader.opened() == 2000
        started = time.monotonic()
        assert reader.comment() == ": ping"
        assert reader.comment() == ": ping"
    assert time.monotonic() - started < 10


def test_a_closed_client_ends_its_stream(console: Console) -> None:
    scheduler = console.server.service.scheduler
    for _ in range(3):
        with stream(console, "?after=0") as response:
            EventReader(response).changes(1)
            assert open_streams(scheduler) >= 1
    wait_until(lambda: open_streams(scheduler) == 0)


def test_server_stops_promptly_with_a_stream_open(console: Console) -> None:
    with stream(console) as response:
        reader = EventReader(response)
        assert reader.opened() == 2000
        started = time.monotonic()
        console.server.stop()
        took = time.monotonic() - started
        with pytest.raises((AssertionError, httpx.HTTPError, StopIteration)):
            reader.next()
    assert took < 5, f"the server took {took:.1f} s to stop with a stream open"


def test_store_failures_are_reported_not_blank(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    real = queries.changes
    last = store_changes(console)[-1].id

    def broken(*args: Any, **kwargs: Any) -> list[ChangeRow]:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(queries, "changes", broken)
    answer = console.get("/changes")
    assert answer.status_code == 500
    assert "cannot be read from the store (RuntimeError)" in answer.text and "locked" not in answer.text
    with stream(console, f"?after={last - 1}") as response:
        reader = EventReader(response)
        status = reader.next()
        assert status.event == "status" and status.json()["ok"] is False
        monkeypatch.setattr(queries, "changes", real)
        recovered = reader.next()
        assert recovered.event == "status" and recovered.json()["ok"] is True
        (event,) = reader.changes(1)
        assert int(event.id or 0) == last


# ---- the wake-ups -----------------------------------------------------------------------------------------


def test_wakeups_set_events_on_their_loop_and_from_other_threads() -> None:
    async def scenario() -> None:
        wakeups = Wakeups()
        event = wakeups.open()
        wakeups("main", None)
        assert event.is_set() and len(wakeups) == 1
        event.clear()
        thread = threading.Thread(target=wakeups, args=("main", None))
        thread.start()
        thread.join()
        await asyncio.wait_for(event.wait(), 2)
        wakeups.close(event)
        assert len(wakeups) == 0

    asyncio.run(scenario())
