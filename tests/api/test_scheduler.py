"""The scheduler: one crawl per instance at a time, a lease across replicas, once per interval, renewal,
bounded concurrency, jobs per instance, clean shutdown (crawls finish or are cancelled, nothing half-done)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

import ingestor.scheduler as scheduler_module
from ingestor.config import EnvironmentSettings, Settings
from ingestor.scheduler import CrawlScheduler, lease_name, min_gap_seconds
from ingestor.simulator.faults_spec import HangFault
from ingestor.simulator.server import SimulatorServer
from ingestor.store import lease, migrate, queries
from ingestor.store.db import Database, utcnow
from ingestor.store.writer import CommitResult
from tests.api.conftest import environment, make_settings


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        database.close()


class FakeCrawl:
    """Records calls; each crawl waits for ``release`` (or ``seconds``) and returns a made-up result."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        self.release = asyncio.Event()
        self.calls: list[tuple[str, str, str]] = []
        self.active = 0
        self.max_active = 0
        self.cancelled = 0

    async def __call__(
        self, settings: Settings, env: EnvironmentSettings, db: Database, *, trigger: str, replica_id: str
    ) -> CommitResult:
        self.calls.append((env.name or "", trigger, replica_id))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.seconds is not None:
                await asyncio.sleep(self.seconds)
            else:
                await self.release.wait()
            return CommitResult(len(self.calls), "ok", 1, 0, 0, 0, 0, 0)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1


async def _until(predicate: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _settings(
    url: str, sim_url: str = "http://127.0.0.1:9", names: tuple[str, ...] = ("main",), **scheduler: object
) -> Settings:
    return make_settings(
        url, [environment(n, sim_url) for n in names], scheduler={"runOnStart": False, **scheduler}
    )


async def test_two_replicas_crawl_an_instance_once_per_interval(
    sim: SimulatorServer, database_url: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(database_url, sim.url)
    other_db = Database(database_url)  # the second replica has its own engine, as another process would
    try:
        a = CrawlScheduler(settings, db, replica_id="replica-a")
        b = CrawlScheduler(settings, other_db, replica_id="replica-b")
        both = await asyncio.gather(
            a.crawl_now("main", "schedule", check_interval=True),
            b.crawl_now("main", "schedule", check_interval=True),
        )
        assert sum(r is not None for r in both) == 1
        assert [r.status for r in both if r is not None] == ["ok"]
        # Later ticks inside the interval find the recorded run and skip, whichever replica fires.
        for replica in (b, a, b):
            assert await replica.crawl_now("main", "schedule", check_interval=True) is None
        assert "within the interval" in (b.last_skip("main") or "")
        assert "within the interval" in (a.last_skip("main") or "")
        assert len(queries.recent_runs(db, "main")) == 1

        interval = settings.spectrocloud.environments[0].catalog_provider.refresh_interval_seconds
        later = utcnow() + timedelta(seconds=min_gap_seconds(interval, 0) + 1)
        monkeypatch.setattr(scheduler_module, "utcnow", lambda: later)
        assert (await b.crawl_now("main", "schedule", check_interval=True)) is not None
        runs = queries.recent_runs(db, "main")
        assert [r.replica_id for r in runs][0] == "replica-b" and len(runs) == 2
        assert lease.holder_of(db, lease_name("main")) is None  # released after each crawl
    finally:
        other_db.close()


async def test_a_lease_held_elsewhere_blocks_triggers_too(database_url: str, db: Database) -> None:
    crawl = FakeCrawl(seconds=0)
    scheduler = CrawlScheduler(_settings(database_url), db, replica_id="here", crawl=crawl)
    assert lease.try_acquire(db, lease_name("main"), "elsewhere", 60)
    result = await scheduler.trigger("main")
    assert (result.state, result.holder) == ("busy", "elsewhere")
    assert await scheduler.crawl_now("main") is None and crawl.calls == []
    assert "another replica" in (scheduler.last_skip("main") or "")


async def test_never_two_crawls_of_one_instance(database_url: str, db: Database) -> None:
    crawl = FakeCrawl()
    scheduler = CrawlScheduler(_settings(database_url), db, crawl=crawl)
    first = await scheduler.trigger("main")
    assert first.state == "started"
    await _until(lambda: crawl.active == 1)
    assert (await scheduler.trigger("main")).state == "running"
    assert await scheduler.crawl_now("main") is None
    await scheduler._tick("main")
    assert scheduler.running("main") and "still running" in (scheduler.last_skip("main") or "")
    crawl.release.set()
    await _until(lambda: not scheduler.running("main"))
    assert len(crawl.calls) == 1 and crawl.max_active == 1
    assert lease.holder_of(db, lease_name("main")) is None


async def test_a_failing_crawl_function_never_escapes(database_url: str, db: Database) -> None:
    async def broken(*args: object, **kwargs: object) -> CommitResult:
        raise RuntimeError("bug")

    scheduler = CrawlScheduler(_settings(database_url), db, crawl=broken)
    assert await scheduler.crawl_now("main") is None
    assert "RuntimeError" in (scheduler.last_skip("main") or "")
    assert lease.holder_of(db, lease_name("main")) is None


async def test_max_concurrent_crawls(database_url: str, db: Database) -> None:
    crawl = FakeCrawl(seconds=0.05)
    names = ("a", "b", "c")
    scheduler = CrawlScheduler(_settings(database_url, names=names, maxConcurrentCrawls=1), db, crawl=crawl)
    results = await asyncio.gather(*(scheduler.crawl_now(n) for n in names))
    assert all(r is not None for r in results)
    assert sorted(c[0] for c in crawl.calls) == list(names) and crawl.max_active == 1


async def test_lease_is_renewed_and_a_lost_lease_cancels_the_crawl(database_url: str, db: Database) -> None:
    crawl = FakeCrawl()
    scheduler = CrawlScheduler(
        _settings(database_url, leaseSeconds=10), db, replica_id="me", crawl=crawl, renew_every=0.05
    )
    running = asyncio.ensure_future(scheduler.crawl_now("main"))
    await _until(lambda: crawl.active == 1)
    first = _expiry(db)
    await asyncio.sleep(0.3)
    assert _expiry(db) > first  # renewed while crawling
    assert lease.holder_of(db, lease_name("main")) == "me"
    # Another replica takes the lease over (as if ours had expired): our crawl stops without a result.
    assert lease.try_acquire(db, lease_name("main"), "thief", 10, now=utcnow() + timedelta(seconds=60))
    assert await asyncio.wait_for(running, 5) is None
    assert crawl.cancelled == 1 and "lease was lost" in (scheduler.last_skip("main") or "")
    assert lease.holder_of(db, lease_name("main"), now=utcnow() + timedelta(seconds=61)) == "thief"


def _expiry(db: Database) -> object:
    from sqlalchemy import select

    from ingestor.store import models

    with db.read() as conn:
        return conn.execute(select(models.leases.c.expires_at)).scalar_one()


async def test_jobs_per_instance_with_their_own_interval(database_url: str, db: Database) -> None:
    settings = make_settings(
        database_url,
        [
            environment("fast", "http://127.0.0.1:9", refreshIntervalSeconds=60),
            environment("slow", "http://127.0.0.1:9", refreshIntervalSeconds=3600),
        ],
        scheduler={"runOnStart": True, "jitterSeconds": 5},
    )
    crawl = FakeCrawl(seconds=0)
    scheduler = CrawlScheduler(settings, db, crawl=crawl)
    await scheduler.start()
    try:
        await _until(
            lambda: len(crawl.calls) == 2 and not (scheduler.running("fast") or scheduler.running("slow"))
        )
        assert sorted((c[0], c[1]) for c in crawl.calls) == [("fast", "start"), ("slow", "start")]
        now = utcnow()
        for name, interval in (("fast", 60), ("slow", 3600)):
            due = scheduler.next_run_at(name)
            assert due is not None
            assert interval - 5 <= (due - now).total_seconds() <= interval + 5 + 1
        await scheduler._tick("fast")  # what APScheduler runs when the job fires
        await _until(lambda: len(crawl.calls) == 3)
        assert crawl.calls[-1][:2] == ("fast", "schedule")
    finally:
        await scheduler.stop()
    assert scheduler.next_run_at("fast") is None


async def test_disabled_scheduler_runs_only_manual_crawls(database_url: str, db: Database) -> None:
    crawl = FakeCrawl(seconds=0)
    scheduler = CrawlScheduler(_settings(database_url, enabled=False, runOnStart=True), db, crawl=crawl)
    await scheduler.start()
    await asyncio.sleep(0.05)
    assert crawl.calls == [] and scheduler.next_run_at("main") is None
    assert await scheduler.crawl_now("main") is not None
    await scheduler.stop()


async def test_stop_waits_for_a_crawl_that_finishes_in_time(database_url: str, db: Database) -> None:
    crawl = FakeCrawl(seconds=0.2)
    scheduler = CrawlScheduler(_settings(database_url), db, crawl=crawl)
    await scheduler.start()
    await scheduler.trigger("main")
    await _until(lambda: crawl.active == 1)
    await scheduler.stop(grace=5)
    assert crawl.cancelled == 0 and crawl.active == 0


async def test_stop_cancels_a_hanging_crawl_and_commits_nothing(
    fresh_sim: SimulatorServer, database_url: str, db: Database
) -> None:
    fresh_sim.faults.add(HangFault(path="/v1/dashboard/spectroclusters/search"))
    scheduler = CrawlScheduler(_settings(database_url, fresh_sim.url), db)
    await scheduler.start()
    await scheduler.trigger("main")
    await _until(lambda: fresh_sim.faults.hanging > 0)  # the crawl is inside its lists, stuck
    assert scheduler.running("main")
    await scheduler.stop(grace=0.1)
    assert not scheduler.running("main")
    fresh_sim.faults.release_hangs()
    state = queries.instance_state(db, "main")
    assert state is None or not state.has_snapshot
    assert queries.current_entities(db, "main").entities == []
    run = queries.last_run(db, "main")
    assert run is not None and run.status == "failed" and run.error_class == "CrawlCancelledError"
    assert lease.holder_of(db, lease_name("main")) is None
