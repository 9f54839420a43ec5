"""Engine and URL handling: drivers, folders, masking, transactions, the thread bridge."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select, text

from ingestor.errors import ConfigError
from ingestor.store import models as m
from ingestor.store.db import Database, instance_key, normalize_url


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:pw@db.example:5432/ingestor", "postgresql+psycopg"),
        ("postgres://u@db.example/ingestor", "postgresql+psycopg"),
        ("postgresql+asyncpg://u@db.example/ingestor", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@db.example/ingestor?sslmode=require", "postgresql+psycopg"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+pysqlite"),
    ],
)
def test_urls_use_our_drivers(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_url_query_and_credentials_survive() -> None:
    url = normalize_url("postgres://u:pw@db.example:6543/ingestor?sslmode=require")
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "u",
        "pw",
        "db.example",
        6543,
        "ingestor",
    )
    assert url.query == {"sslmode": "require"}


def test_sqlite_url_creates_the_parent_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = normalize_url("sqlite:///./data/nested/ingestor.db")
    assert (tmp_path / "data" / "nested").is_dir()
    assert url.database == "./data/nested/ingestor.db"
    absolute = tmp_path / "abs" / "x.db"
    normalize_url(f"sqlite:///{absolute}")
    assert absolute.parent.is_dir()


@pytest.mark.parametrize(
    "bad", ["mysql://u:s3cr3t@h/db", "postgresql://u:s3cr3t@h", "not a url s3cr3t", "http://u:s3cr3t@h/x"]
)
def test_bad_urls_name_the_key_and_hide_the_password(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_url(bad)
    assert info.value.problems[0][0] == "database.url"
    assert "s3cr3t" not in str(info.value)


def test_password_never_in_repr_or_logs(tmp_path: Path) -> None:
    secret = "Sup3rS3cret"
    db = Database(f"postgresql://ingestor:{secret}@127.0.0.1:1/nowhere")
    try:
        with structlog.testing.capture_logs() as logs:
            db2 = Database(f"postgresql://ingestor:{secret}@127.0.0.1:1/nowhere")
            db2.close()
        assert secret not in repr(db) and secret not in db.display_url
        assert "***" in db.display_url
        assert logs and secret not in repr(logs)
    finally:
        db.close()


def test_connection_errors_do_not_show_the_password() -> None:
    secret = "Sup3rS3cret"
    db = Database(f"postgresql://ingestor:{secret}@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(Exception) as info:
            db.ping()
        assert secret not in str(info.value) and secret not in repr(info.value)
    finally:
        db.close()


def test_instance_key() -> None:
    assert instance_key(None) == ""
    assert instance_key("prod") == "prod"


def test_ping_and_dialects(db: Database) -> None:
    assert db.ping()
    assert db.dialect in ("sqlite", "postgresql")


def test_write_rolls_back_on_error(db: Database) -> None:
    now = datetime.now(UTC)
    row = {"name": "x", "holder": "a", "acquired_at": now, "renewed_at": now, "expires_at": now}
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(m.leases.insert().values(**row))
        raise RuntimeError("boom")
    with db.read() as conn:
        assert conn.execute(select(m.leases)).all() == []


def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    local = datetime(2025, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    with db.write() as conn:
        conn.execute(
            m.leases.insert().values(
                name="t", holder="h", acquired_at=local, renewed_at=local, expires_at=local
            )
        )
    with db.read() as conn:
        got = conn.execute(select(m.leases.c.acquired_at)).scalar_one()
    assert got == local and got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got.hour == 12


def test_naive_datetimes_are_refused(db: Database) -> None:
    naive = datetime(2025, 1, 1)
    with pytest.raises(Exception, match="naive"), db.write() as conn:
        conn.execute(
            m.leases.insert().values(
                name="t", holder="h", acquired_at=naive, renewed_at=naive, expires_at=naive
            )
        )


def test_sqlite_writers_wait_for_each_other(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer waits for the first instead of failing on a lock upgrade."""
    from ingestor.store import migrate

    url = f"sqlite:///{tmp_path / 's.db'}"
    migrate.upgrade(url)
    db = Database(url)
    inside = threading.Event()
    started = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with db.write() as conn:
            conn.execute(text("SELECT count(*) FROM leases")).scalar_one()
            inside.set()
            release.wait(5)
            conn.execute(
                text("INSERT INTO leases VALUES ('a', 'x', '2025-01-01', '2025-01-01', '2025-01-01')")
            )
            order.append("first")

    def second() -> None:
        inside.wait(5)
        started.set()
        with db.write() as conn:
            conn.execute(text("SELECT count(*) FROM leases")).scalar_one()
            conn.execute(
                text("INSERT INTO leases VALUES ('b', 'x', '2025-01-01', '2025-01-01', '2025-01-01')")
            )
            order.append("second")

    threads = [threading.Thread(target=first, daemon=True), threading.Thread(target=second, daemon=True)]
    for t in threads:
        t.start()
    started.wait(5)
    time.sleep(0.2)  # let the second writer reach BEGIN while the first holds the lock
    release.set()
    for t in threads:
        t.join(10)
    db.close()
    assert order == ["first", "second"]


async def test_run_calls_on_store_threads(db: Database) -> None:
    def who(database: Database, suffix: str) -> str:
        assert database is db
        return threading.current_thread().name + suffix

    names = await asyncio.gather(*(db.run(who, "!") for _ in range(4)))
    assert all(name.startswith("store") and name.endswith("!") for name in names)
    assert await db.run(lambda d: d.ping())


def test_unreachable_postgres_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.store import conftest

    monkeypatch.setattr(conftest, "_pg_user", [None])
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest.pg_user_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        conftest.pg_user_or_skip()
