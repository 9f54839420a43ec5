"""In-process, fast: a replica whose scheduled crawl found the lease held looks again every renewal period.

If the holder died mid-crawl (it recorded no run), the replica takes over once the dead holder's lease has
expired; if the holder's crawl was recorded, the replica skips as for any crawl within the interval. The
three-process proof is ``test_three_replicas``; these pin the scheduler's part on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from ingestor.config import EnvironmentSettings, Settings
from ingestor.scheduler import CrawlScheduler, lease_name
from ingestor.simulator.server import SimulatorServer
from ingestor.store import lease, migrate, queries
from ingestor.store.db import Database
from ingestor.store.writer import CommitResult
from tests.api.conftest import GatedCrawl, database_url, environment, make_settings, sim  # noqa: F401
from tests.store.conftest import pg_schema_url  # noqa: F401 (the fixture database_url asks for)

LOOK_AGAIN = 0.2  # renew_every, and so how often a replica that found the lease held looks again


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:  # noqa: F811
    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        database.close()


class CountingCrawl:
    """Records when each crawl started; returns a made-up result at once (records no run)."""

    def __init__(self) -> None:
        self.started: list[float] = []

    async def __call__(
        self, settings: Settings, env: EnvironmentSettings, db: Database, *, trigger: str, replica_id: str
    ) -> CommitResult:
        self.started.append(time.monotonic())
        return CommitResult(len(self.started), "ok", 1, 0, 0, 0, 0, 0)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def settings_for(url: str, sim_url: str = "http://127.0.0.1:9") -> Settings:
    """Scheduler on, no crawl on start, the regular tick 600 s away (only looks-again can fire here)."""
    return make_settings(url, [environment("main", sim_url)], scheduler={"runOnStart": False})


async def test_a_replica_takes_over_once_a_dead_holders_lease_expires(
    database_url: str,  # noqa: F811
    db: Database,
) -> None:
    crawl = CountingCrawl()
    replica = CrawlScheduler(
        settings_for(database_url), db, replica_id="survivor", crawl=crawl, renew_every=LOOK_AGAIN
    )
    await replica.start()
    try:
        # A holder that died mid-crawl: its lease runs out in a second and it recorded no run.
        assert lease.try_acquire(db, lease_name("main"), "dead", 1.0)
        began = time.monotonic()
        assert await replica.crawl_now("main", "schedule", check_interval=True) is None
        assert replica.last_skip("main") == "another replica holds the crawl lease"
        assert crawl.started == []

        await until(lambda: bool(crawl.started), timeout=5)
        waited = crawl.started[0] - began
        assert 0.9 <= waited <= 1.0 + LOOK_AGAIN + 1.0, waited
        await until(lambda: not replica.running("main"))
        assert len(crawl.started) == 1
        assert lease.holder_of(db, lease_name("main")) is None
    finally:
        await replica.stop()


async def test_a_replica_skips_once_the_holders_crawl_is_recorded(
    sim: SimulatorServer,  # noqa: F811
    database_url: str,  # noqa: F811
    db: Database,
) -> None:
    settings = settings_for(database_url, sim.url)
    other_db = Database(database_url)  # the holder has its own engine, as another process would
    holder_crawl, replica_crawl = GatedCrawl(), GatedCrawl(opened=True)
    holder = CrawlScheduler(settings, other_db, replica_id="holder", crawl=holder_crawl)
    replica = CrawlScheduler(settings, db, replica_id="replica", crawl=replica_crawl, renew_every=LOOK_AGAIN)
    await replica.start()
    try:
        crawling = asyncio.ensure_future(holder.crawl_now("main", "schedule", check_interval=True))
        await until(lambda: lease.holder_of(db, lease_name("main")) == "holder")
        assert await replica.crawl_now("main", "schedule", check_interval=True) is None
        await asyncio.sleep(3 * LOOK_AGAIN)  # it looked again, found the lease still held
        assert replica.last_skip("main") == "another replica holds the crawl lease"

        holder_crawl.open()
        result = await crawling
        assert result is not None and result.status == "ok"
        await until(lambda: "within the interval" in (replica.last_skip("main") or ""))
        await asyncio.sleep(3 * LOOK_AGAIN)  # and stopped looking: the holder's run counts for the interval
        assert replica_crawl.calls == []
        assert [run.replica_id for run in queries.recent_runs(db, "main")] == ["holder"]
    finally:
        await replica.stop()
        other_db.close()
