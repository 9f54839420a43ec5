"""Project crawls in the scheduler: they wait for a running crawl of the instance, coalesce, never overlap
another crawl of it, respect a lease held elsewhere, end cleanly on stop, and tell the listeners (so the
served catalog and its ETag change) once they committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ingestor.api.server import BackgroundServer, build_service
from ingestor.config import EnvironmentSettings, Settings
from ingestor.scheduler import CrawlScheduler, UnknownInstanceError, lease_name
from ingestor.simulator.server import SimulatorServer
from ingestor.store import lease, migrate, queries
from ingestor.store.db import Database
from ingestor.store.writer import CommitResult
from tests.api.conftest import SIM_KEY, environment, make_settings, wait_ready
from tests.simulator.test_create import eks_body

YAML_URL = "/catalog/entities.yaml"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        database.close()


class Crawls:
    """Fake full and project crawls sharing one count of what runs at once; each waits for its gate."""

    def __init__(self) -> None:
        self.full_gate = asyncio.Event()
        self.project_gate = asyncio.Event()
        self.calls: list[tuple[str, Any]] = []
        self.active = 0
        self.max_active = 0

    async def _run(self, gate: asyncio.Event, call: tuple[str, Any]) -> CommitResult:
        self.calls.append(call)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await gate.wait()
            return CommitResult(len(self.calls), "ok", len(self.calls), 1, 0, 0, 0, 0)
        finally:
            self.active -= 1

    async def full(
        self, settings: Settings, env: EnvironmentSettings, db: Database, *, trigger: str, replica_id: str
    ) -> CommitResult:
        return await self._run(self.full_gate, ("full", trigger))

    async def project(
        self,
        settings: Settings,
        env: EnvironmentSettings,
        db: Database,
        *,
        project_uids: frozenset[str],
        replica_id: str,
    ) -> CommitResult:
        return await self._run(self.project_gate, ("project", project_uids))


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _scheduler(database_url: str, db: Database, crawls: Crawls, **options: Any) -> CrawlScheduler:
    settings = make_settings(
        database_url, [environment("main", "http://127.0.0.1:9")], scheduler={"runOnStart": False}
    )
    return CrawlScheduler(
        settings,
        db,
        replica_id="here",
        crawl=crawls.full,
        project_crawl=crawls.project,
        project_retry_seconds=0.02,
        **options,
    )


async def test_project_crawls_wait_for_a_running_crawl_and_coalesce(database_url: str, db: Database) -> None:
    crawls = Crawls()
    scheduler = _scheduler(database_url, db, crawls)
    full = asyncio.ensure_future(scheduler.crawl_now("main"))
    await _until(lambda: crawls.active == 1)

    requests = [
        await scheduler.crawl_project("main", "p1"),
        await scheduler.crawl_project("main", "p1"),
        await scheduler.crawl_project("main", "p2"),
    ]
    await asyncio.sleep(0.1)
    assert crawls.calls == [("full", "manual")]  # the running crawl may predate the creation: wait
    assert not any(r.done() for r in requests)

    crawls.project_gate.set()
    crawls.full_gate.set()
    results = await asyncio.wait_for(asyncio.gather(*requests), 5)
    assert (await full) is not None
    assert crawls.calls == [("full", "manual"), ("project", frozenset({"p1", "p2"}))]
    assert len({id(r) for r in results}) == 1 and results[0] is not None and results[0].run_id == 2
    assert crawls.max_active == 1
    assert lease.holder_of(db, lease_name("main")) is None


async def test_a_request_made_during_its_project_crawl_gets_another_one(
    database_url: str, db: Database
) -> None:
    crawls = Crawls()
    scheduler = _scheduler(database_url, db, crawls)
    first = await scheduler.crawl_project("main", "p1")
    await _until(lambda: crawls.active == 1)
    second = await scheduler.crawl_project("main", "p1")
    assert scheduler.running("main")

    crawls.project_gate.set()
    one, two = await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert crawls.calls == [("project", frozenset({"p1"}))] * 2
    assert one is not None and two is not None and (one.run_id, two.run_id) == (1, 2)
    await scheduler.project_crawls_idle("main")
    assert not scheduler.running("main") and crawls.max_active == 1


async def test_a_full_crawl_asked_for_during_a_project_crawl_runs_after_it(
    database_url: str, db: Database
) -> None:
    crawls = Crawls()
    scheduler = _scheduler(database_url, db, crawls)
    project = await scheduler.crawl_project("main", "p1")
    await _until(lambda: crawls.active == 1)

    assert (await scheduler.trigger("main")).state == "started"  # queued behind, not refused
    await scheduler._tick("main")  # a tick meanwhile finds that full crawl and skips
    await asyncio.sleep(0.1)
    assert crawls.calls == [("project", frozenset({"p1"}))]

    crawls.project_gate.set()
    crawls.full_gate.set()
    assert await asyncio.wait_for(project, 5) is not None
    await _until(lambda: len(crawls.calls) == 2 and not scheduler.running("main"))
    assert crawls.calls[1] == ("full", "manual") and crawls.max_active == 1


async def test_a_lease_held_elsewhere_delays_the_project_crawl(database_url: str, db: Database) -> None:
    crawls = Crawls()
    crawls.project_gate.set()
    scheduler = _scheduler(database_url, db, crawls)
    assert lease.try_acquire(db, lease_name("main"), "elsewhere", 60)

    waiting = await scheduler.crawl_project("main", "p1")
    await asyncio.sleep(0.15)
    assert crawls.calls == [] and not waiting.done()
    joined = await scheduler.crawl_project("main", "p2")

    assert lease.release(db, lease_name("main"), "elsewhere")
    result = await asyncio.wait_for(waiting, 5)
    assert result is not None and await joined is result
    assert crawls.calls == [("project", frozenset({"p1", "p2"}))]


async def test_a_lease_that_never_frees_is_given_up(database_url: str, db: Database) -> None:
    crawls = Crawls()
    scheduler = _scheduler(database_url, db, crawls, project_wait_seconds=0.1)
    assert lease.try_acquire(db, lease_name("main"), "elsewhere", 60)
    assert await asyncio.wait_for(await scheduler.crawl_project("main", "p1"), 5) is None
    assert crawls.calls == []


async def test_stop_answers_waiting_project_crawls(database_url: str, db: Database) -> None:
    crawls = Crawls()
    scheduler = _scheduler(database_url, db, crawls)
    running = await scheduler.crawl_project("main", "p1")
    await _until(lambda: crawls.active == 1)
    queued = await scheduler.crawl_project("main", "p2")

    await scheduler.stop(grace=0.05)

    assert running.result() is None and queued.result() is None
    assert crawls.active == 0 and lease.holder_of(db, lease_name("main")) is None
    assert (await scheduler.crawl_project("main", "p3")).result() is None  # stopping: nothing new starts
    with pytest.raises(UnknownInstanceError):
        await scheduler.crawl_project("nope", "p1")
    with pytest.raises(ValueError):
        await scheduler.crawl_project("main", "")


async def test_listeners_hear_of_a_real_project_crawl(
    fresh_sim: SimulatorServer, database_url: str, db: Database
) -> None:
    settings = make_settings(
        database_url, [environment("main", fresh_sim.url)], scheduler={"runOnStart": False}
    )
    scheduler = CrawlScheduler(settings, db, replica_id="here")
    heard: list[tuple[str, CommitResult]] = []
    scheduler.add_listener(lambda instance, result: heard.append((instance, result)))
    full = await scheduler.crawl_now("main")
    assert full is not None and full.status == "ok"
    project = next(
        u for u, p in fresh_sim.dataset.collection("projects").items() if p["metadata"]["name"] == "platform"
    )
    created = _create(fresh_sim, project, "made-for-listeners")

    result = await asyncio.wait_for(await scheduler.crawl_project("main", project), 30)

    assert result is not None and (result.status, result.added, result.modified, result.removed) == (
        "ok",
        1,
        0,
        0,
    )
    assert heard == [("main", full), ("main", result)]
    keys = {e.key for e in queries.current_entities(db, "main").entities}
    assert created in keys
    run = queries.last_run(db, "main")
    assert run is not None and run.trigger == "project"
    # the interval check looks at crawls of the whole instance only
    assert (
        queries.last_run(db, "main", triggers=("schedule", "manual", "start"))
        == queries.recent_runs(db, "main")[1]
    )


def _create(sim: SimulatorServer, project: str, name: str) -> str:
    answer = httpx.post(
        f"{sim.url}/v1/spectroclusters/eks",
        json=eks_body(sim, name=name),
        headers={"ApiKey": SIM_KEY, "ProjectUid": project},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["uid"])


def test_the_served_catalog_and_its_etag_change_after_a_project_crawl(
    fresh_sim: SimulatorServer, sqlite_url: str
) -> None:
    service = build_service(make_settings(sqlite_url, [environment("main", fresh_sim.url)]))
    loops: list[asyncio.AbstractEventLoop] = []
    scheduler = service.scheduler
    scheduler.add_listener(lambda instance, result: loops.append(asyncio.get_running_loop()))
    with BackgroundServer(service) as server:
        wait_ready(server)
        _served_after_a_project_crawl(fresh_sim, server, scheduler, loops[0])


def _served_after_a_project_crawl(
    fresh_sim: SimulatorServer,
    server: BackgroundServer,
    scheduler: CrawlScheduler,
    loop: asyncio.AbstractEventLoop,
) -> None:
    before = httpx.get(server.url + YAML_URL, headers={"Accept-Encoding": "identity"})
    project = next(
        u for u, p in fresh_sim.dataset.collection("projects").items() if p["metadata"]["name"] == "payments"
    )
    _create(fresh_sim, project, "served-at-once")

    async def crawl() -> CommitResult | None:
        return await (await scheduler.crawl_project("main", project))

    result = asyncio.run_coroutine_threadsafe(crawl(), loop).result(timeout=30)  # the service's loop

    assert result is not None and result.added == 1
    after = httpx.get(server.url + YAML_URL, headers={"Accept-Encoding": "identity"})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert "served-at-once" in after.text and "served-at-once" not in before.text
    stale = httpx.get(server.url + YAML_URL, headers={"If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200
