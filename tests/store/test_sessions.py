"""Palette sessions on real SQL (SQLite file and PostgreSQL schema): the store functions, then the vault
through the SQL adapter ``api.session_repo.SqlSessionRepository`` with a fake clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import structlog
from sqlalchemy import select

from ingestor.api.session_repo import SqlSessionRepository
from ingestor.auth.sessions import SessionCipher, SessionVault, vault_from_settings
from ingestor.config import AuthSettings
from ingestor.store import sessions
from ingestor.store.db import Database
from ingestor.store.models import palette_sessions
from ingestor.store.sessions import SessionRow

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = "k3y-for-palette-sessions-0123456789abcdef"
JANE, JOHN = "user:default/jane", "user:default/john"
EMAIL = "Jane.Doe@Example.com"
PALETTE_SECRET = "palette-signing-secret-0123456789abcdef"


class Clock:
    """A settable clock returning aware UTC datetimes."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def palette_token(exp: datetime | None, **claims: object) -> str:
    """An HS256 JWT like the session tokens Palette issues."""
    body: dict[str, object] = {"sub": "palette-user-1", "email": EMAIL.lower(), **claims}
    if exp is not None:
        body["exp"] = int(exp.timestamp())
    return jwt.encode(body, PALETTE_SECRET, algorithm="HS256")


def row(user_ref: str = JANE, instance: str = "prod", *, at: datetime = T0, **changes: Any) -> SessionRow:
    base = SessionRow(
        user_ref=user_ref,
        instance=instance,
        email_hash=None,
        ciphertext=b"\x01sealed",
        expires_at=at + timedelta(hours=1),
        created_at=at,
        updated_at=at,
    )
    return replace(base, **changes)


# --- store functions --------------------------------------------------------------------------------


def test_save_and_load_round_trip(db: Database) -> None:
    saved = row(email_hash="ab" * 32, ciphertext=bytes(range(256)))
    sessions.save_session(db, saved)
    assert sessions.load_session(db, JANE, "prod") == saved
    assert sessions.load_session(db, JANE, "staging") is None
    assert sessions.load_session(db, JOHN, "prod") is None
    loaded = sessions.load_session(db, JANE, "prod")
    assert loaded is not None and loaded.expires_at.tzinfo is not None
    assert "sealed" not in repr(loaded) and "ciphertext" not in repr(loaded)


def test_save_replaces_but_keeps_created_at(db: Database) -> None:
    sessions.save_session(db, row())
    later = T0 + timedelta(minutes=5)
    sessions.save_session(db, row(at=later, ciphertext=b"\x01new", email_hash="cd" * 32))
    loaded = sessions.load_session(db, JANE, "prod")
    assert loaded is not None
    assert (loaded.created_at, loaded.updated_at, loaded.ciphertext) == (T0, later, b"\x01new")
    assert loaded.email_hash == "cd" * 32 and loaded.expires_at == later + timedelta(hours=1)
    assert sessions.count_sessions(db) == 1


def test_find_by_email_hash_returns_the_newest_of_the_instance(db: Database) -> None:
    digest = "ef" * 32
    sessions.save_session(db, row(JANE, email_hash=digest))
    sessions.save_session(db, row(JOHN, email_hash=digest, at=T0 + timedelta(seconds=1)))
    sessions.save_session(db, row("user:default/other", "staging", email_hash=digest, at=T0 + timedelta(2)))
    found = sessions.find_by_email_hash(db, "prod", digest)
    assert found is not None and found.user_ref == JOHN
    assert sessions.find_by_email_hash(db, "prod", "00" * 32) is None
    assert sessions.find_by_email_hash(db, "dev", digest) is None


def test_delete_session_and_its_updated_at_guard(db: Database) -> None:
    sessions.save_session(db, row())
    assert not sessions.delete_session(db, JANE, "prod", updated_at=T0 - timedelta(seconds=1))
    assert sessions.load_session(db, JANE, "prod") is not None
    assert sessions.delete_session(db, JANE, "prod", updated_at=T0)
    assert not sessions.delete_session(db, JANE, "prod")
    sessions.save_session(db, row())
    assert sessions.delete_session(db, JANE, "prod")
    assert sessions.count_sessions(db) == 0


def test_delete_user_sessions_spans_instances_only(db: Database) -> None:
    for instance in ("prod", "staging", ""):
        sessions.save_session(db, row(JANE, instance))
    sessions.save_session(db, row(JOHN, "prod"))
    assert sessions.delete_user_sessions(db, JANE) == 3
    assert sessions.delete_user_sessions(db, JANE) == 0
    assert sessions.count_sessions(db) == 1


def test_purge_expired_includes_the_boundary(db: Database) -> None:
    sessions.save_session(db, row(JANE, expires_at=T0))
    sessions.save_session(db, row(JOHN, expires_at=T0 + timedelta(microseconds=1)))
    assert sessions.purge_expired(db, T0) == 1
    assert sessions.load_session(db, JOHN, "prod") is not None
    assert sessions.purge_expired(db, T0) == 0


def test_trim_oldest_keeps_the_most_recently_saved(db: Database) -> None:
    for i in range(6):
        sessions.save_session(db, row(f"user:default/u{i}", at=T0 + timedelta(seconds=i)))
    assert sessions.trim_oldest(db, 10) == 0
    assert sessions.trim_oldest(db, 4) == 2
    assert sessions.count_sessions(db) == 4
    assert sessions.load_session(db, "user:default/u1", "prod") is None
    assert sessions.load_session(db, "user:default/u2", "prod") is not None
    assert sessions.trim_oldest(db, 0) == 4
    with pytest.raises(ValueError):
        sessions.trim_oldest(db, -1)


# --- the vault on the SQL adapter -------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(db: Database) -> SqlSessionRepository:
    return SqlSessionRepository(db)


@pytest.fixture
def vault(repo: SqlSessionRepository, clock: Clock) -> SessionVault:
    return SessionVault(repo, SessionCipher(KEY), clock=clock)


def _raw_rows(db: Database) -> list[SessionRow]:
    with db.read() as conn:
        return [SessionRow(**r._mapping) for r in conn.execute(select(palette_sessions))]


def _database_bytes(db: Database) -> bytes:
    """Every byte of the SQLite files (main file and WAL); for PostgreSQL, every column's raw value."""
    if db.dialect == "sqlite":
        path = Path(db.url.database or "")
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT user_ref, instance, email_hash, ciphertext FROM palette_sessions")
        return b"\n".join(b"|".join(str(v).encode() for v in r[:3]) + b"|" + bytes(r[3]) for r in rows)


async def test_put_and_get(vault: SessionVault, db: Database) -> None:
    token = palette_token(T0 + timedelta(minutes=30))
    with structlog.testing.capture_logs() as logs:
        assert await vault.put("User:Default/Jane", "prod", token, email=EMAIL) == T0 + timedelta(minutes=30)
        assert await vault.get(JANE, "prod") == token
        assert await vault.get("USER:default/JANE", "prod") == token
    assert await vault.get(JANE, "staging") is None
    assert await vault.get(JOHN, "prod") is None
    assert token not in str(logs) and EMAIL.lower() not in str(logs).lower()
    (stored,) = _raw_rows(db)
    assert stored.user_ref == JANE and stored.instance == "prod"


async def test_token_and_email_never_stored_in_clear(vault: SessionVault, db: Database) -> None:
    token = palette_token(T0 + timedelta(minutes=30))
    await vault.put(JANE, "prod", token, email=EMAIL)
    (stored,) = _raw_rows(db)
    assert token.encode() not in stored.ciphertext
    assert stored.email_hash == hashlib.sha256(EMAIL.lower().encode()).hexdigest()
    db.engine.dispose()  # SQLite: flush pooled connections so the files are complete
    raw = _database_bytes(db)
    assert raw, "read nothing from the database"
    signature = token.rsplit(".", 1)[1]
    for secret in (token, signature, EMAIL, EMAIL.lower()):
        assert secret.encode() not in raw
    assert stored.email_hash is not None and stored.email_hash.encode() in raw  # what *is* there


async def test_expiry_comes_from_the_jwt_exp(vault: SessionVault, db: Database) -> None:
    exp = T0 + timedelta(minutes=20)
    # The JWT's own exp wins over the expires_at offered by the sign-in flow (the ID token's).
    await vault.put(JANE, "prod", palette_token(exp), expires_at=T0 + timedelta(hours=2))
    (stored,) = _raw_rows(db)
    assert stored.expires_at == exp


async def test_expiry_is_capped_by_the_maximum_lifetime(repo: SqlSessionRepository, clock: Clock) -> None:
    vault = SessionVault(repo, SessionCipher(KEY), max_lifetime_seconds=600, clock=clock)
    cap = T0 + timedelta(seconds=600)
    assert await vault.put(JANE, "prod", palette_token(T0 + timedelta(days=30))) == cap
    assert await vault.put(JANE, "a", palette_token(datetime(9999, 1, 1, tzinfo=UTC))) == cap
    assert await vault.put(JANE, "b", "opaque-token", expires_at=T0 + timedelta(days=1)) == cap
    assert await vault.put(
        JANE, "c", "opaque-token", expires_at=T0 + timedelta(seconds=90)
    ) == T0 + timedelta(seconds=90)


async def test_expiry_without_exp_or_expires_at_is_one_hour(vault: SessionVault) -> None:
    assert await vault.put(JANE, "prod", "opaque-token") == T0 + timedelta(hours=1)
    assert await vault.put(JANE, "x", palette_token(None)) == T0 + timedelta(hours=1)
    assert await vault.put(
        JANE, "y", palette_token(None), expires_at=T0 + timedelta(minutes=5)
    ) == T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("token", "expires_at"),
    [
        (palette_token(T0), None),
        (palette_token(T0 - timedelta(days=1)), T0 + timedelta(hours=1)),
        (palette_token(datetime(1970, 1, 2, tzinfo=UTC)), None),
        ("opaque-token", T0 - timedelta(seconds=1)),
    ],
)
async def test_expired_tokens_are_refused(
    vault: SessionVault, db: Database, token: str, expires_at: datetime | None
) -> None:
    with pytest.raises(ValueError, match="already expired") as info:
        await vault.put(JANE, "prod", token, expires_at=expires_at)
    assert token not in str(info.value)
    assert sessions.count_sessions(db) == 0


async def test_empty_token_and_ref_are_refused(vault: SessionVault) -> None:
    with pytest.raises(ValueError):
        await vault.put(JANE, "prod", "  ")
    with pytest.raises(ValueError):
        await vault.put(" ", "prod", "opaque-token")


async def test_expired_sessions_are_deleted_when_read(
    vault: SessionVault, db: Database, clock: Clock
) -> None:
    await vault.put(JANE, "prod", palette_token(T0 + timedelta(minutes=10)))
    clock.advance(599)
    assert await vault.get(JANE, "prod") is not None
    clock.advance(1)
    assert await vault.get(JANE, "prod") is None
    assert sessions.count_sessions(db) == 0


async def test_undecryptable_sessions_are_deleted(
    vault: SessionVault, repo: SqlSessionRepository, db: Database, clock: Clock
) -> None:
    other = SessionVault(repo, SessionCipher("a-rotated-key-nobody-told-us-about-42"), clock=clock)
    await other.put(JANE, "prod", "opaque-token")
    with structlog.testing.capture_logs() as logs:
        assert await vault.get(JANE, "prod") is None
    assert "auth.sessions.undecryptable" in [entry["event"] for entry in logs]
    assert "opaque-token" not in str(logs)
    assert sessions.count_sessions(db) == 0


async def test_a_row_copied_to_another_user_does_not_open(vault: SessionVault, db: Database) -> None:
    await vault.put(JANE, "prod", "janes-palette-token")
    (janes,) = _raw_rows(db)
    sessions.save_session(db, replace(janes, user_ref=JOHN))
    sessions.save_session(db, replace(janes, instance="staging"))
    assert await vault.get(JOHN, "prod") is None
    assert await vault.get(JANE, "staging") is None
    assert await vault.get(JANE, "prod") == "janes-palette-token"


async def test_the_bound_trims_the_least_recently_saved(
    repo: SqlSessionRepository, db: Database, clock: Clock
) -> None:
    vault = SessionVault(repo, SessionCipher(KEY), max_entries=3, clock=clock)
    for i in range(5):
        await vault.put(f"user:default/u{i}", "prod", f"token-{i}")
        clock.advance(1)
    assert sessions.count_sessions(db) == 3
    assert [await vault.get(f"user:default/u{i}", "prod") for i in range(5)] == [
        None,
        None,
        "token-2",
        "token-3",
        "token-4",
    ]


async def test_the_bound_purges_expired_sessions_before_trimming(
    repo: SqlSessionRepository, db: Database, clock: Clock
) -> None:
    vault = SessionVault(repo, SessionCipher(KEY), max_entries=2, clock=clock)
    await vault.put(JANE, "prod", "long-lived", expires_at=T0 + timedelta(hours=1))
    clock.advance(1)
    await vault.put(JOHN, "prod", "short-lived", expires_at=T0 + timedelta(seconds=5))
    clock.advance(10)
    await vault.put("user:default/third", "prod", "newest")
    assert sessions.count_sessions(db) == 2
    assert await vault.get(JANE, "prod") == "long-lived"  # the oldest, kept: the expired one went instead
    assert await vault.get("user:default/third", "prod") == "newest"


async def test_drop_and_drop_user(vault: SessionVault, db: Database) -> None:
    for instance in ("prod", "staging"):
        await vault.put(JANE, instance, f"jane-{instance}")
    await vault.put(JOHN, "prod", "john-prod")
    await vault.drop("User:Default/Jane", "prod")
    await vault.drop(JANE, "prod")  # already gone: no error
    assert await vault.get(JANE, "prod") is None
    assert await vault.get(JANE, "staging") == "jane-staging"
    await vault.put(JANE, "prod", "jane-prod")
    assert await vault.drop_user("USER:DEFAULT/JANE") == 2
    assert await vault.drop_user(JANE) == 0
    assert await vault.get(JOHN, "prod") == "john-prod"
    assert sessions.count_sessions(db) == 1


async def test_lookup_by_email_is_case_insensitive(vault: SessionVault) -> None:
    await vault.put(JANE, "prod", "jane-token", email=EMAIL)
    await vault.put(JOHN, "prod", "john-token", email="john@example.com")
    await vault.put(JOHN, "staging", "john-staging", email=EMAIL)
    assert await vault.get_by_email("jane.doe@EXAMPLE.COM", "prod") == (JANE, "jane-token")
    assert await vault.get_by_email(" jane.doe@example.com ", "staging") == (JOHN, "john-staging")
    assert await vault.get_by_email("nobody@example.com", "prod") is None
    assert await vault.get_by_email(EMAIL, "dev") is None


async def test_lookup_by_email_skips_and_deletes_unusable_rows(
    vault: SessionVault, db: Database, clock: Clock
) -> None:
    await vault.put(JANE, "prod", "older-valid", email=EMAIL, expires_at=T0 + timedelta(hours=1))
    clock.advance(1)
    await vault.put(JOHN, "prod", "newer-short", email=EMAIL, expires_at=T0 + timedelta(seconds=30))
    clock.advance(60)
    assert await vault.get_by_email(EMAIL, "prod") == (JANE, "older-valid")
    assert sessions.load_session(db, JOHN, "prod") is None


async def test_purge_expired(vault: SessionVault, db: Database, clock: Clock) -> None:
    await vault.put(JANE, "prod", "a", expires_at=T0 + timedelta(seconds=30))
    await vault.put(JOHN, "prod", "b", expires_at=T0 + timedelta(seconds=90))
    clock.advance(60)
    assert await vault.purge_expired() == 1
    assert await vault.purge_expired() == 0
    assert sessions.count_sessions(db) == 1


@pytest.fixture
def replica(database_url: str, db: Database) -> Iterator[Database]:
    """A second ``Database`` on the same (migrated) store, as another replica would have."""
    second = Database(database_url)
    try:
        yield second
    finally:
        second.close()


async def test_replicas_share_sessions_through_the_store(
    db: Database, replica: Database, clock: Clock
) -> None:
    settings = AuthSettings.model_validate({"sessions": {"encryptionKey": KEY, "maxEntries": 5}})
    first = vault_from_settings(settings, SqlSessionRepository(db), clock=clock)
    second = vault_from_settings(settings, SqlSessionRepository(replica), clock=clock)
    await first.put(JANE, "prod", "shared-token")
    assert await second.get(JANE, "prod") == "shared-token"
    assert await second.drop_user(JANE) == 1
    assert await first.get(JANE, "prod") is None
    assert "max_entries=5" in repr(first) and KEY not in repr(first)


async def test_without_a_key_sessions_are_not_shared(db: Database, replica: Database, clock: Clock) -> None:
    with structlog.testing.capture_logs() as logs:
        first = vault_from_settings(AuthSettings(), SqlSessionRepository(db), clock=clock)
        second = vault_from_settings(AuthSettings(), SqlSessionRepository(replica), clock=clock)
    assert [entry["event"] for entry in logs].count("auth.sessions.ephemeral_key") == 2
    await first.put(JANE, "prod", "process-local")
    assert await first.get(JANE, "prod") == "process-local"
    assert await second.get(JANE, "prod") is None
