"""The crawl lease: one holder at a time, renewals, releases, takeover after expiry, real contention."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta

from ingestor.store import lease, migrate
from ingestor.store.db import Database
from tests.store.fakes import T0


def test_acquire_renew_release(db: Database) -> None:
    assert lease.holder_of(db, "crawl:prod", now=T0) is None
    assert lease.try_acquire(db, "crawl:prod", "a", ttl=60, now=T0)
    assert lease.holder_of(db, "crawl:prod", now=T0) == "a"
    assert not lease.try_acquire(db, "crawl:prod", "b", ttl=60, now=T0 + timedelta(seconds=30))
    assert lease.try_acquire(db, "crawl:prod", "a", ttl=60, now=T0 + timedelta(seconds=30))  # re-entrant
    assert lease.renew(db, "crawl:prod", "a", ttl=60, now=T0 + timedelta(seconds=80))
    assert not lease.try_acquire(db, "crawl:prod", "b", ttl=60, now=T0 + timedelta(seconds=100))
    assert not lease.renew(db, "crawl:prod", "b", ttl=60)
    assert not lease.release(db, "crawl:prod", "b")
    assert lease.release(db, "crawl:prod", "a")
    assert lease.holder_of(db, "crawl:prod", now=T0) is None
    assert lease.try_acquire(db, "crawl:prod", "b", ttl=60, now=T0 + timedelta(seconds=101))


def test_expired_leases_are_taken_over(db: Database) -> None:
    assert lease.try_acquire(db, "leader", "a", ttl=10, now=T0)
    later = T0 + timedelta(seconds=10)
    assert lease.holder_of(db, "leader", now=later) is None
    assert lease.try_acquire(db, "leader", "b", ttl=10, now=later)
    assert lease.holder_of(db, "leader", now=later) == "b"
    assert not lease.renew(db, "leader", "a", ttl=10, now=later)  # a lost it
    assert not lease.release(db, "leader", "a")


def test_leases_are_independent(db: Database) -> None:
    assert lease.try_acquire(db, "crawl:prod", "a", ttl=60, now=T0)
    assert lease.try_acquire(db, "crawl:lab", "b", ttl=60, now=T0)
    assert (lease.holder_of(db, "crawl:prod", now=T0), lease.holder_of(db, "crawl:lab", now=T0)) == ("a", "b")


def test_renew_just_after_expiry_works_when_nobody_took_it(db: Database) -> None:
    assert lease.try_acquire(db, "leader", "a", ttl=10, now=T0)
    assert lease.renew(db, "leader", "a", ttl=10, now=T0 + timedelta(seconds=11))
    assert lease.holder_of(db, "leader", now=T0 + timedelta(seconds=12)) == "a"


def test_contention_has_exactly_one_winner(database_url: str) -> None:
    """Eight replicas (each with its own engine) race for the same lease, over several rounds."""
    migrate.upgrade(database_url)
    replicas = [Database(database_url, pool_size=1) for _ in range(8)]
    try:
        for round_ in range(5):
            now = T0 + timedelta(minutes=round_)  # every round starts after the last lease expired
            wins, errors = _race(replicas, now)
            assert errors == []
            assert sum(wins.values()) == 1, wins
            assert lease.holder_of(replicas[0], "leader", now=now) in wins
    finally:
        for db in replicas:
            db.close()


def _race(replicas: list[Database], now: datetime) -> tuple[Counter[str], list[BaseException]]:
    barrier = threading.Barrier(len(replicas))
    wins: Counter[str] = Counter()
    errors: list[BaseException] = []

    def race(i: int, db: Database) -> None:
        try:
            barrier.wait(5)
            if lease.try_acquire(db, "leader", f"r{i}", ttl=30, now=now):
                wins[f"r{i}"] += 1
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(i, db), daemon=True) for i, db in enumerate(replicas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return wins, errors
