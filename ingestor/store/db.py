"""Engine, transactions and URL normalisation of the snapshot store; the only place engines are made.

Sync SQLAlchemy (stdlib sqlite3, psycopg 3) on a small thread pool of our own, not SQLAlchemy async: the
store makes few, coarse calls (one write transaction per crawl, one read per catalog version), SQLite
serialises writers anyway, and Alembic, the CLI and lease tests are sync. Async code awaits ``db.run(fn)``.
Imports nothing of ours but ``ingestor.errors``; only ``store/`` imports SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import structlog
from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, delete, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from ingestor.errors import ConfigError

log = structlog.get_logger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_DRIVER = "sqlite+pysqlite"
POSTGRES_DRIVER = "postgresql+psycopg"
CHUNK = 500
"""Rows or bound values per bulk statement (well below SQLite's and PostgreSQL's parameter limits)."""
SQLITE_IMMEDIATE = "ingestor_sqlite_immediate"
"""Connection option: SQLite transactions start with ``BEGIN IMMEDIATE`` (they take the write lock)."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (every timestamp the store writes is UTC)."""
    return datetime.now(UTC)


def instance_key(name: str | None) -> str:
    """How an instance is keyed in the store: its configured name, ``""`` for an unnamed environment."""
    return name or ""


def normalize_url(url: str) -> URL:
    """A SQLAlchemy URL on our drivers: ``sqlite:///path`` (parent folder made), ``postgresql://`` (psycopg).

    Raises ``ConfigError`` naming ``database.url``; the message never holds the URL (it may carry a password).
    """
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise ConfigError([("database.url", "is not a valid database URL")]) from None
    backend = parsed.drivername.split("+", 1)[0].lower()
    if backend == "sqlite":
        parsed = parsed.set(drivername=SQLITE_DRIVER)
        if not _is_memory(parsed) and not parsed.query.get("uri"):
            Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        return parsed
    if backend in ("postgresql", "postgres"):
        if not parsed.database:
            raise ConfigError([("database.url", "must name a database, e.g. postgresql://host/dbname")])
        return parsed.set(drivername=POSTGRES_DRIVER)
    raise ConfigError([("database.url", "must be a sqlite:///path or postgresql://host/database URL")])


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def masked(url: URL) -> str:
    """The URL for logs and status: password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


class Database:
    """An engine plus the store's transaction helpers and its worker threads."""

    def __init__(
        self, url: str, *, pool_size: int = 5, echo: bool = False, busy_timeout: float = 30.0
    ) -> None:
        self.url = normalize_url(url)
        self.dialect = self.url.get_backend_name()
        self.engine = _make_engine(self.url, pool_size=pool_size, echo=echo, busy_timeout=busy_timeout)
        workers = 1 if self.dialect == "sqlite" and _is_memory(self.url) else pool_size
        self._workers = workers
        self._executor: ThreadPoolExecutor | None = None
        log.debug("store.engine", url=masked(self.url), dialect=self.dialect)

    def __repr__(self) -> str:
        return f"Database({masked(self.url)!r})"

    @property
    def display_url(self) -> str:
        return masked(self.url)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction that sees one consistent snapshot (REPEATABLE READ on PostgreSQL)."""
        options: dict[str, Any] = {}
        if self.dialect == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with self.engine.connect() as conn:
            conn = conn.execution_options(**options) if options else conn
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on exit, rolled back on any exception (SQLite: BEGIN IMMEDIATE)."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
            with conn.begin():
                yield conn

    def ping(self) -> bool:
        """Readiness: ``SELECT 1`` succeeds."""
        with self.engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1")).scalar_one() == 1)

    async def run(self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(self, *args, **kwargs)`` on the store's threads, so async callers never block the loop."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="store")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, self, *args, **kwargs))

    def close(self) -> None:
        """Stop the worker threads and close every pooled connection."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.engine.dispose()


def _make_engine(url: URL, *, pool_size: int, echo: bool, busy_timeout: float) -> Engine:
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"application_name": "spectrocloud-ingestor"},
        )
    args: dict[str, Any] = {"timeout": busy_timeout, "check_same_thread": False}
    if _is_memory(url):
        engine = create_engine(url, echo=echo, connect_args=args, poolclass=StaticPool)
    else:
        engine = create_engine(url, echo=echo, connect_args=args, pool_size=pool_size, max_overflow=pool_size)
    _sqlite_transactions(engine, wal=not _is_memory(url), busy_timeout=busy_timeout)
    return engine


def _enable_wal(cursor: Any, busy_timeout: float) -> None:
    """Switch the file to WAL (persistent). SQLite answers "locked" at once, without waiting, when
    several fresh connections race to switch it, so retry with back-off up to the busy timeout."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.005
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _sqlite_transactions(engine: Engine, *, wal: bool, busy_timeout: float) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN, so transactions (and DDL) behave as written."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            _enable_wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def upsert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT with ``on_conflict_do_*`` (SQLite and PostgreSQL share that API)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def delete_by_key(
    conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[Sequence[Any]]
) -> None:
    """Delete rows by full key in executemany batches: index lookups, whatever the planner's statistics."""
    if not keys:
        return
    stmt = delete(table).where(*[table.c[name] == bindparam(f"k_{name}") for name in columns])
    for batch in chunks(keys):
        conn.execute(stmt, [{f"k_{name}": v for name, v in zip(columns, key, strict=True)} for key in batch])


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
