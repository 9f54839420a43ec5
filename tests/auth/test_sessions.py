"""The session cipher and the ``auth.sessions`` settings; the vault on real SQL is in tests/store."""

from __future__ import annotations

import pytest
import structlog

from ingestor.auth.sessions import BLOB_VERSION, NONCE_BYTES, SessionCipher, email_hash, normalize_ref
from ingestor.config import SessionSettings, Settings, settings_from_dict
from ingestor.config.values import MASK
from ingestor.errors import ConfigError

KEY = "k3y-for-palette-sessions-0123456789abcdef"
OTHER_KEY = "another-key-for-palette-sessions-98765432"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.palette-session-signature"
USER, INSTANCE = "user:default/jane", "prod"


def test_round_trip() -> None:
    cipher = SessionCipher(KEY)
    blob = cipher.seal(TOKEN, USER, INSTANCE)
    assert cipher.open(blob, USER, INSTANCE) == TOKEN
    assert blob[0] == BLOB_VERSION
    assert TOKEN.encode() not in blob and b"palette-session" not in blob


def test_each_seal_uses_a_fresh_nonce() -> None:
    cipher = SessionCipher(KEY)
    first, second = cipher.seal(TOKEN, USER, INSTANCE), cipher.seal(TOKEN, USER, INSTANCE)
    assert first[1 : 1 + NONCE_BYTES] != second[1 : 1 + NONCE_BYTES]
    assert first != second


def test_replicas_with_the_same_key_read_each_other() -> None:
    blob = SessionCipher(KEY).seal(TOKEN, USER, INSTANCE)
    assert SessionCipher(KEY).open(blob, USER, INSTANCE) == TOKEN


def test_wrong_key_fails_and_logs_no_secret() -> None:
    blob = SessionCipher(KEY).seal(TOKEN, USER, INSTANCE)
    with structlog.testing.capture_logs() as logs:
        assert SessionCipher(OTHER_KEY).open(blob, USER, INSTANCE) is None
    assert [entry["event"] for entry in logs] == ["auth.sessions.undecryptable"]
    assert logs[0]["log_level"] == "warning"
    text = str(logs)
    assert TOKEN not in text and KEY not in text and OTHER_KEY not in text


@pytest.mark.parametrize("position", [0, 1, 1 + NONCE_BYTES, -1])
def test_tampered_blob_fails(position: int) -> None:
    cipher = SessionCipher(KEY)
    blob = bytearray(cipher.seal(TOKEN, USER, INSTANCE))
    blob[position] ^= 0x01
    assert cipher.open(bytes(blob), USER, INSTANCE) is None


@pytest.mark.parametrize("blob", [b"", b"\x01", bytes([BLOB_VERSION]) + b"\x00" * 27])
def test_short_or_garbage_blob_fails(blob: bytes) -> None:
    assert SessionCipher(KEY).open(blob, USER, INSTANCE) is None


def test_a_blob_is_bound_to_its_user_and_instance() -> None:
    cipher = SessionCipher(KEY)
    blob = cipher.seal(TOKEN, USER, INSTANCE)
    assert cipher.open(blob, "user:default/john", INSTANCE) is None
    assert cipher.open(blob, USER, "staging") is None
    # The separator keeps (ref, instance) pairs apart that would concatenate to the same text.
    assert cipher.open(cipher.seal(TOKEN, "user:default/a", "bc"), "user:default/ab", "c") is None
    assert cipher.open(blob, "User:Default/Jane", INSTANCE) == TOKEN  # refs compare case-insensitively


def test_repr_hides_the_key() -> None:
    assert KEY not in repr(SessionCipher(KEY))
    assert repr(SessionCipher(KEY)) == "SessionCipher(key=***, ephemeral=False)"
    assert KEY not in str(vars(SessionCipher(KEY)))


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        SessionCipher("")


def test_ephemeral_ciphers_warn_and_do_not_share() -> None:
    with structlog.testing.capture_logs() as logs:
        first, second = SessionCipher.ephemeral(), SessionCipher.ephemeral()
    assert [entry["event"] for entry in logs] == ["auth.sessions.ephemeral_key"] * 2
    assert all(entry["log_level"] == "warning" for entry in logs)
    assert first.is_ephemeral and "ephemeral=True" in repr(first)
    blob = first.seal(TOKEN, USER, INSTANCE)
    assert first.open(blob, USER, INSTANCE) == TOKEN
    assert second.open(blob, USER, INSTANCE) is None


def test_email_hash_is_case_insensitive_and_not_the_email() -> None:
    digest = email_hash(" Jane.Doe@Example.COM ")
    assert digest == email_hash("jane.doe@example.com")
    assert len(digest) == 64 and "jane" not in digest
    assert digest != email_hash("john@example.com")


def test_normalize_ref() -> None:
    assert normalize_ref(" User:Default/Jane ") == "user:default/jane"
    with pytest.raises(ValueError):
        normalize_ref("  ")


# --- auth.sessions settings -----------------------------------------------------------------------


PALETTE = {
    "environments": [{"name": "prod", "url": "https://palette.example.com", "apiToken": "pal-key-1234"}]
}


def _load(sessions: dict[str, object] | None = None, env: dict[str, str] | None = None) -> Settings:
    data: dict[str, object] = {"spectrocloud": PALETTE}
    if sessions is not None:
        data["auth"] = {"sessions": sessions}
    return settings_from_dict(data, env or {})


def _settings(sessions: dict[str, object], env: dict[str, str] | None = None) -> SessionSettings:
    return _load(sessions, env).auth.sessions


def test_defaults() -> None:
    s = SessionSettings()
    assert (s.encryption_key, s.max_entries, s.max_lifetime_seconds) == (None, 10000, 43200)


def test_key_is_a_masked_secret_known_to_the_log_redactor() -> None:
    settings = _load({"encryptionKey": KEY})
    key = settings.auth.sessions.encryption_key
    assert key is not None and key.get_secret_value() == KEY
    assert KEY in settings.secret_values()
    for text in (repr(settings), str(settings.auth), settings.model_dump_json(), str(settings.redacted())):
        assert KEY not in text
    assert settings.redacted()["auth"]["sessions"]["encryptionKey"] == MASK


def test_unset_key_is_null_in_the_redacted_view() -> None:
    settings = _load()
    assert settings.redacted()["auth"]["sessions"]["encryptionKey"] is None


def test_key_from_the_environment_and_blank_means_unset() -> None:
    assert _settings({"encryptionKey": "${SESSION_KEY}"}, {"SESSION_KEY": KEY}).encryption_key is not None
    assert _settings({"encryptionKey": "${SESSION_KEY:-}"}).encryption_key is None


def test_key_override_by_environment_variable() -> None:
    env = {"INGESTOR__auth__sessions__encryptionKey": KEY}
    key = _load(None, env).auth.sessions.encryption_key
    assert key is not None and key.get_secret_value() == KEY


@pytest.mark.parametrize("value", ["short-key-123", "x" * 31, f"{'x' * 20} {'y' * 20}"])
def test_weak_keys_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        _settings({"encryptionKey": value})
    problems = dict(info.value.problems)
    assert set(problems) == {"auth.sessions.encryptionKey"}
    assert value not in str(info.value) + repr(info.value.problems)


@pytest.mark.parametrize(
    ("key", "value"), [("maxEntries", 0), ("maxLifetimeSeconds", 59), ("maxLifetimeSeconds", -1)]
)
def test_bounds(key: str, value: int) -> None:
    with pytest.raises(ConfigError) as info:
        _settings({key: value})
    assert set(dict(info.value.problems)) == {f"auth.sessions.{key}"}
