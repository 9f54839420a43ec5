"""Sign-in flows in SQL: taken once, never after expiry, purged; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from ingestor.store import signin_flows
from ingestor.store.db import Database
from ingestor.store.signin_flows import FlowRow

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def flow(flow_id: str, minutes: int = 10) -> FlowRow:
    return FlowRow(flow_id, "main", "b" * 64, b"\x01sealed", T0, T0 + timedelta(minutes=minutes))


def test_a_flow_is_taken_once(db: Database) -> None:
    signin_flows.save_flow(db, flow("f1"))
    taken = signin_flows.take_flow(db, "f1", T0 + timedelta(minutes=1))
    assert taken == flow("f1")
    assert signin_flows.take_flow(db, "f1", T0 + timedelta(minutes=1)) is None
    assert signin_flows.take_flow(db, "unknown", T0) is None


def test_an_expired_flow_is_not_taken_and_is_gone(db: Database) -> None:
    signin_flows.save_flow(db, flow("f2", minutes=10))
    assert signin_flows.take_flow(db, "f2", T0 + timedelta(minutes=10)) is None
    signin_flows.save_flow(db, flow("f2", minutes=10))  # the id is free again: the expired row was deleted


def test_purge_removes_only_expired_flows(db: Database) -> None:
    signin_flows.save_flow(db, flow("old", minutes=1))
    signin_flows.save_flow(db, flow("new", minutes=30))
    assert signin_flows.purge_flows(db, T0 + timedelta(minutes=5)) == 1
    assert signin_flows.take_flow(db, "old", T0) is None
    assert signin_flows.take_flow(db, "new", T0) is not None


def test_concurrent_takes_hand_the_flow_to_one_taker(db: Database) -> None:
    signin_flows.save_flow(db, flow("race"))
    barrier = threading.Barrier(4)
    got: list[FlowRow | None] = []

    def take() -> None:
        barrier.wait(5)
        got.append(signin_flows.take_flow(db, "race", T0))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(row is not None for row in got) == 1 and len(got) == 4
