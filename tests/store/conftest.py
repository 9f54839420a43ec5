"""Fixtures of the store tests: every database test runs on a fresh SQLite file and a fresh PostgreSQL schema.

PostgreSQL is 127.0.0.1:5432, database ``test``, trust auth as ``postgres`` or ``root`` (whichever works).
Without a reachable server the PostgreSQL cases skip, except when ``CI`` is set: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from ingestor.store import migrate
from ingestor.store.db import Database

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
_pg_user: list[str | None] = []


def _find_pg_user() -> str | None:
    """The first user that can connect, or ``None`` when PostgreSQL is unreachable (probed once)."""
    if not _pg_user:
        found = None
        for user in ("postgres", "root"):
            try:
                with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=user, connect_timeout=3):
                    found = user
                    break
            except psycopg.OperationalError:
                continue
        _pg_user.append(found)
    return _pg_user[0]


def pg_user_or_skip() -> str:
    user = _find_pg_user()
    if user is None:
        message = f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} (database {PG_DB!r})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI is set, so PostgreSQL tests must run")
        pytest.skip(message)
    return user


def _admin(user: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=user, autocommit=True)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema (dropped afterwards)."""
    user = pg_user_or_skip()
    schema = f"store_test_{uuid.uuid4().hex[:12]}"
    with _admin(user) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    options = quote(f"-csearch_path={schema}", safe="")
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options={options}"
    finally:
        with _admin(user) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in a folder that does not exist yet, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'store.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A migrated database."""
    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        database.close()
