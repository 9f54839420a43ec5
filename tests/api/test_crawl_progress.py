"""Crawl progress: ``running`` on the status endpoint while a slow crawl runs, ``crawl.progress`` log lines,
and what the crawler tells its observer (scopes done of planned, projects in flight, Palette calls)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestor.crawl.service import CallEvent, CrawlProgress, run_crawl
from ingestor.logging import configure_logging
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import migrate, queries
from ingestor.store.db import Database
from tests.api.conftest import (
    SIM_KEY,
    TRIGGER_TOKEN,
    ServiceFactory,
    environment,
    make_settings,
    wait_for,
    wait_ready,
)

AUTH = {"Authorization": f"Bearer {TRIGGER_TOKEN}"}
PROJECTS = 6
IN_FLIGHT = 2


@pytest.fixture
def slow_sim() -> Iterator[SimulatorServer]:
    """Six projects, every answer 150 ms late: a crawl long enough to watch."""
    options = SimulatorOptions(api_key=SIM_KEY, rate_limits=False, projects=PROJECTS, latency_ms=150)
    with SimulatorServer(options) as server:
        yield server


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    yield stream
    configure_logging("warning", "console")


def progress_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [r for r in records if r["event"] == "crawl.progress"]


def test_status_shows_a_running_crawl_and_logs_tell_its_progress(
    slow_sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory, log_stream: io.StringIO
) -> None:
    settings = make_settings(
        sqlite_url, [environment("main", slow_sim.url)], crawl={"maxConcurrentProjects": IN_FLIGHT}
    )
    server = start_service(settings)
    seen: list[dict[str, Any]] = []

    def mid_crawl() -> bool:
        main = httpx.get(server.url + "/status", headers=AUTH, timeout=10).json()["instances"][0]
        if main["running"] is not None:
            seen.append(main["running"])
        running = main["running"]
        return running is not None and running["scopesTotal"] is not None and running["currentProjects"]

    wait_for(mid_crawl, 30, "a crawl with projects in flight")
    wait_ready(server)
    wait_for(
        lambda: httpx.get(server.url + "/status", headers=AUTH).json()["instances"][0]["running"] is None,
        30,
        "the crawl to end",
    )

    running = seen[-1]
    assert running["trigger"] == "start" and running["startedAt"].endswith("Z")
    assert running["scopesTotal"] == PROJECTS + 1  # the tenant and each project
    assert 0 <= running["scopesDone"] < running["scopesTotal"]
    assert 1 <= len(running["currentProjects"]) <= IN_FLIGHT
    for project in running["currentProjects"]:
        assert set(project) == {"uid", "name"} and project["uid"]
    done = [r["scopesDone"] for r in seen if r["scopesTotal"] is not None]
    assert done == sorted(done)  # it only moves forward

    lines = progress_lines(log_stream)
    assert lines and lines[-1]["scopes_done"] == lines[-1]["scopes_total"] == PROJECTS + 1
    assert all(line["instance"] == "main" and line["scopes_total"] == PROJECTS + 1 for line in lines)
    assert [line["scopes_done"] for line in lines] == sorted(line["scopes_done"] for line in lines)


class Recorder:
    """A ``CrawlObserver`` that keeps everything it hears (and the thread it heard it on)."""

    def __init__(self) -> None:
        self.progress: list[CrawlProgress] = []
        self.calls: list[CallEvent] = []
        self.instances: set[str] = set()
        self.threads: set[int] = set()

    def crawl_progress(self, instance: str, progress: CrawlProgress) -> None:
        self.instances.add(instance)
        self.threads.add(threading.get_ident())
        self.progress.append(progress)

    def palette_call(self, instance: str, event: CallEvent) -> None:
        self.instances.add(instance)
        self.calls.append(event)


async def test_the_crawler_tells_its_observer(sim: SimulatorServer, sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, [environment("main", sim.url)], crawl={"maxConcurrentProjects": 1})
    db = Database(sqlite_url)
    try:
        migrate.upgrade(db)
        heard = Recorder()
        env = settings.spectrocloud.environments[0]
        result = await run_crawl(settings, env, db, trigger="manual", replica_id="test", observer=heard)
        run = await db.run(queries.last_run, "main")
    finally:
        db.close()
    assert run is not None and result.status == "ok" and heard.instances == {"main"}
    assert heard.threads == {threading.get_ident()}  # on the crawl's own loop
    total = heard.progress[-1].scopes_total
    assert total == 1 + len({o.scope for o in run.outcomes} - {"tenant"})
    assert heard.progress[-1].scopes_done == total and heard.progress[-1].current == ()
    assert [p.scopes_done for p in heard.progress] == sorted(p.scopes_done for p in heard.progress)
    assert max(len(p.current) for p in heard.progress) == 1  # maxConcurrentProjects
    attempts = [e for e in heard.calls if e.kind == "attempt"]
    assert len(attempts) == run.calls and {e.status for e in attempts} == {200}
    assert ("POST", "/v1/dashboard/projects") in {(e.method, e.template) for e in attempts}
