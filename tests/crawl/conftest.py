"""Fixtures of the crawl tests: the real simulator on 127.0.0.1 and a migrated store per test.

Most tests run on SQLite; the ones that use ``any_harness`` also run on a fresh PostgreSQL schema (skipped
when PostgreSQL is unreachable, as in ``tests/store``). The API key is distinctive so a leak is easy to find.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestor.simulator import SimulatorOptions, SimulatorServer
from ingestor.store import migrate
from ingestor.store.db import Database
from tests.store.conftest import pg_schema_url  # noqa: F401  (fixture: a fresh PostgreSQL schema)

from .harness import TOKEN, Harness, settings_for


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    """The default generated tenant (3 projects), no server-side rate limits, fresh per test."""
    with SimulatorServer(SimulatorOptions(api_key=TOKEN, rate_limits=False)) as server:
        yield server


def _migrated(url: str) -> Iterator[Database]:
    migrate.upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite store."""
    yield from _migrated(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated store on SQLite, then on PostgreSQL."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
    yield from _migrated(url)


@pytest.fixture
def harness(sim: SimulatorServer, db: Database) -> Harness:
    return Harness(sim, db, settings_for(sim.url))


@pytest.fixture
def any_harness(sim: SimulatorServer, any_db: Database) -> Harness:
    return Harness(sim, any_db, settings_for(sim.url))
