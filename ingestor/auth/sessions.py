"""Per-user Palette session tokens: sealed with AES-256-GCM, kept in a ``SessionRepository`` (SQL, shared).

Keyed by (lower-cased Backstage user entity ref, instance), never by an unverified e-mail (compat S1, S10).
Imports only ``ingestor.config`` of ours; the SQL adapter lives in ``ingestor.api.session_repo``.
Tokens, keys and e-mails never reach a log, repr or message. Observers hear the result of every lookup.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import jwt
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ingestor.config import AuthSettings

log = structlog.get_logger(__name__)

HKDF_INFO = b"spectrocloud-ingestor palette sessions v1"
BLOB_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
DEFAULT_LIFETIME = timedelta(hours=1)
"""Expiry of a token that is not a JWT with ``exp`` and comes without ``expires_at``."""

Clock = Callable[[], datetime]
LookupResult = Literal["hit", "miss", "expired"]
LookupObserver = Callable[[LookupResult], None]
"""``observer(result)`` after each lookup: ``hit`` (a usable token), ``miss`` (none stored, or unreadable),
``expired`` (only an expired one, now deleted). Gets nothing else: no user, no instance, no token."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class SealedSession:
    """A stored session as the repository sees it: the token only as ciphertext."""

    user_ref: str
    instance: str
    email_hash: str | None
    ciphertext: bytes = field(repr=False)
    expires_at: datetime
    created_at: datetime
    updated_at: datetime


class SessionRepository(Protocol):
    """Where sealed sessions live (``api.session_repo.SqlSessionRepository`` in the service)."""

    async def save(self, session: SealedSession) -> None: ...
    async def load(self, user_ref: str, instance: str) -> SealedSession | None: ...
    async def find_by_email_hash(self, instance: str, email_hash: str) -> SealedSession | None: ...
    async def delete(self, user_ref: str, instance: str, *, updated_at: datetime | None = None) -> bool: ...
    async def delete_user(self, user_ref: str) -> int: ...
    async def purge_expired(self, now: datetime) -> int: ...
    async def count(self) -> int: ...
    async def trim_oldest(self, keep: int) -> int: ...


class SessionCipher:
    """AES-256-GCM with a key derived by HKDF-SHA256; each blob is bound to its (user_ref, instance).

    Blob layout: version byte, 12-byte random nonce, ciphertext with its 16-byte tag.
    """

    def __init__(self, key: str, *, ephemeral: bool = False) -> None:
        if not key:
            raise ValueError("the session encryption key is empty")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(key.encode())
        self._aead = AESGCM(derived)
        self.is_ephemeral = ephemeral

    @classmethod
    def ephemeral(cls) -> SessionCipher:
        """A cipher with a random key: sessions then die with the process and are not shared by replicas."""
        log.warning(
            "auth.sessions.ephemeral_key",
            detail="auth.sessions.encryptionKey is not set: Palette sessions do not survive a restart "
            "and are not shared across replicas",
        )
        return cls(secrets.token_urlsafe(32), ephemeral=True)

    def __repr__(self) -> str:
        return f"SessionCipher(key=***, ephemeral={self.is_ephemeral})"

    def seal(self, token: str, user_ref: str, instance: str) -> bytes:
        """``token`` encrypted for this user and instance only."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), _associated(user_ref, instance))
        return bytes([BLOB_VERSION]) + nonce + sealed

    def open(self, blob: bytes, user_ref: str, instance: str) -> str | None:
        """The token, or ``None`` when the blob is damaged, sealed with another key or for another row."""
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[0] != BLOB_VERSION:
            reason = "unknown format"
        else:
            nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
            try:
                return self._aead.decrypt(nonce, sealed, _associated(user_ref, instance)).decode()
            except InvalidTag:
                reason = "authentication failed (other key, other row or tampered)"
            except UnicodeDecodeError:
                reason = "not text"
        log.warning("auth.sessions.undecryptable", user_ref=user_ref, instance=instance, reason=reason)
        return None


def _associated(user_ref: str, instance: str) -> bytes:
    return f"{normalize_ref(user_ref)}\n{instance}".encode()


def normalize_ref(user_ref: str) -> str:
    """How user refs are keyed: trimmed and lower-cased (Backstage refs compare case-insensitively)."""
    ref = user_ref.strip().lower()
    if not ref:
        raise ValueError("the user entity ref is empty")
    return ref


def email_hash(email: str) -> str:
    """Hex SHA-256 of the trimmed, lower-cased e-mail: what is stored instead of the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class SessionVault:
    """Puts and gets the callers' Palette session tokens: sealed, expiring, bounded in number."""

    def __init__(
        self,
        repo: SessionRepository,
        cipher: SessionCipher,
        *,
        max_entries: int = 10000,
        max_lifetime_seconds: int = 12 * 3600,
        clock: Clock = utcnow,
    ) -> None:
        if max_entries < 1 or max_lifetime_seconds < 1:
            raise ValueError("max_entries and max_lifetime_seconds must be positive")
        self._repo = repo
        self._cipher = cipher
        self._max_entries = max_entries
        self._max_lifetime = timedelta(seconds=max_lifetime_seconds)
        self._clock = clock
        self._observers: list[LookupObserver] = []

    def add_observer(self, observer: LookupObserver) -> None:
        """Call ``observer(result)`` after every ``get`` and ``get_by_email`` (the service's metrics)."""
        self._observers.append(observer)

    def _looked_up(self, result: LookupResult) -> None:
        for observer in self._observers:
            try:
                observer(result)
            except Exception as exc:  # counting must never fail a lookup
                log.warning("auth.sessions.observer_failed", error_class=type(exc).__name__)

    def __repr__(self) -> str:
        return f"SessionVault(max_entries={self._max_entries}, cipher={self._cipher!r})"

    async def put(
        self,
        user_ref: str,
        instance: str,
        token: str,
        *,
        email: str | None = None,
        expires_at: datetime | None = None,
    ) -> datetime:
        """Store ``token`` for the user and instance (replacing any); returns when it expires.

        Expiry: the token's own ``exp`` when it is a JWT, else ``expires_at``, else one hour; never
        beyond ``max_lifetime_seconds``. Raises ``ValueError`` for an empty or already expired token.
        """
        ref = normalize_ref(user_ref)
        if not token or not token.strip():
            raise ValueError("the Palette session token is empty")
        now = self._clock()
        expiry = min(self._expiry(token, expires_at, now), now + self._max_lifetime)
        if expiry <= now:
            raise ValueError("the Palette session token has already expired")
        sealed = SealedSession(
            user_ref=ref,
            instance=instance,
            email_hash=email_hash(email) if email and email.strip() else None,
            ciphertext=self._cipher.seal(token, ref, instance),
            expires_at=expiry,
            created_at=now,
            updated_at=now,
        )
        await self._repo.save(sealed)
        log.info("auth.sessions.saved", user_ref=ref, instance=instance, expires_at=expiry.isoformat())
        await self._bound(now)
        return expiry

    async def get(self, user_ref: str, instance: str) -> str | None:
        """The user's token for ``instance``; ``None`` when absent, expired or unreadable (then deleted)."""
        ref = normalize_ref(user_ref)
        row = await self._repo.load(ref, instance)
        if row is None:
            self._looked_up("miss")
            return None
        token, result = await self._usable(row)
        self._looked_up(result)
        return token

    async def get_by_email(self, email: str, instance: str) -> tuple[str, str] | None:
        """``(user_ref, token)`` of the newest usable session saved with this e-mail (case-insensitive).

        Only for an e-mail taken from a verified identity: an unverified header must never reach it (S1).
        """
        digest = email_hash(email)
        expired = False
        while (row := await self._repo.find_by_email_hash(instance, digest)) is not None:
            token, result = await self._usable(row)  # an unusable row is deleted, so the loop moves on
            if token is not None:
                self._looked_up(result)
                return row.user_ref, token
            expired = expired or result == "expired"
        self._looked_up("expired" if expired else "miss")
        return None

    async def drop(self, user_ref: str, instance: str) -> None:
        """Forget one session (Palette answered 401 to it)."""
        ref = normalize_ref(user_ref)
        found = await self._repo.delete(ref, instance)
        log.info("auth.sessions.dropped", user_ref=ref, instance=instance, found=found)

    async def drop_user(self, user_ref: str) -> int:
        """Forget every session of a user (sign-out); how many there were."""
        ref = normalize_ref(user_ref)
        count = await self._repo.delete_user(ref)
        log.info("auth.sessions.user_dropped", user_ref=ref, sessions=count)
        return count

    async def purge_expired(self) -> int:
        """Delete every expired session; how many there were."""
        purged = await self._repo.purge_expired(self._clock())
        if purged:
            log.info("auth.sessions.purged", sessions=purged)
        return purged

    async def _usable(self, row: SealedSession) -> tuple[str | None, LookupResult]:
        """The row's token and ``hit``; else ``None`` and why (the row is deleted)."""
        if row.expires_at <= self._clock():
            await self._repo.delete(row.user_ref, row.instance, updated_at=row.updated_at)
            log.info("auth.sessions.expired", user_ref=row.user_ref, instance=row.instance)
            return None, "expired"
        token = self._cipher.open(row.ciphertext, row.user_ref, row.instance)
        if token is None:
            await self._repo.delete(row.user_ref, row.instance, updated_at=row.updated_at)
            return None, "miss"
        return token, "hit"

    async def _bound(self, now: datetime) -> None:
        count = await self._repo.count()
        if count <= self._max_entries:
            return
        count -= await self._repo.purge_expired(now)
        if count > self._max_entries:
            trimmed = await self._repo.trim_oldest(self._max_entries)
            log.warning("auth.sessions.trimmed", sessions=trimmed, max_entries=self._max_entries)

    def _expiry(self, token: str, expires_at: datetime | None, now: datetime) -> datetime:
        exp = _jwt_exp(token)
        if exp is not None:
            # Clamped as a number first: an absurd exp would overflow datetime arithmetic.
            seconds = max(min(exp - now.timestamp(), self._max_lifetime.total_seconds()), -1.0)
            return now + timedelta(seconds=seconds)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise ValueError("expires_at must be timezone-aware")
            return expires_at
        return now + DEFAULT_LIFETIME


def _jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verification (only to learn the expiry), else ``None``."""
    if token.count(".") != 2:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


def vault_from_settings(
    settings: AuthSettings, repo: SessionRepository, *, clock: Clock = utcnow
) -> SessionVault:
    """The vault configured by ``auth.sessions`` (an ephemeral key, with a warning, when none is set)."""
    config = settings.sessions
    key = config.encryption_key
    cipher = SessionCipher(key.get_secret_value()) if key is not None else SessionCipher.ephemeral()
    return SessionVault(
        repo,
        cipher,
        max_entries=config.max_entries,
        max_lifetime_seconds=config.max_lifetime_seconds,
        clock=clock,
    )
