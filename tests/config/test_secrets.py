"""Secrets never reach error messages, repr/str or the redacted view."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.config.problems import raise_if_any, secret_candidates
from ingestor.errors import ConfigError

from .helpers import TOKEN, environment, load, minimal, with_environments

STATIC = "static-token-5d1e9b7c"
DB_PASSWORD = "db-pass-77a1f0"
DB_URL = f"postgresql+asyncpg://ingestor:{DB_PASSWORD}@db.internal:5432/ingestor"


def _static(token: str, subject: str) -> dict[str, Any]:
    return {"type": "static", "options": {"token": token, "subject": subject}}


def _full() -> dict[str, Any]:
    return minimal(
        database={"url": DB_URL},
        auth={"externalAccess": [{"type": "static", "options": {"token": STATIC, "subject": "agent"}}]},
    )


def _error_text(data: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(data, env)
    assert info.value.__cause__ is None and info.value.__context__ is None, "no chained pydantic error"
    return str(info.value) + repr(info.value) + repr(info.value.problems)


def test_repr_and_str_mask_every_secret() -> None:
    s = load(_full())
    for text in (repr(s), str(s), repr(s.database), repr(s.spectrocloud.environments[0]), repr(s.auth)):
        assert TOKEN not in text and STATIC not in text and DB_PASSWORD not in text
    assert "SecretStr('**********')" in repr(s.spectrocloud.environments[0])


def test_json_dumps_mask_every_secret() -> None:
    s = load(_full())
    dumped = s.model_dump_json() + str(s.model_dump(mode="json"))
    assert TOKEN not in dumped and STATIC not in dumped and DB_PASSWORD not in dumped


def test_redacted_view() -> None:
    view = load(_full()).redacted()
    assert view["spectrocloud"]["environments"][0]["apiToken"] == "***"
    assert view["auth"]["externalAccess"][0]["options"] == {"token": "***", "subject": "agent"}
    assert view["database"]["url"] == "postgresql+asyncpg://ingestor:***@db.internal:5432/ingestor"
    assert view["server"]["port"] == 7007
    assert DB_PASSWORD not in str(view) and TOKEN not in str(view) and STATIC not in str(view)


def test_database_url_without_password_is_shown_whole() -> None:
    s = load(minimal(database={"url": "postgresql://db.internal/ingestor"}))
    assert s.redacted()["database"]["url"] == "postgresql://db.internal/ingestor"
    assert s.database.password is None


def test_secret_values_lists_every_secret_for_the_log_redactor() -> None:
    values = load(_full()).secret_values()
    assert set(values) == {TOKEN, STATIC, DB_PASSWORD}


def test_percent_encoded_database_password_is_listed_in_both_forms() -> None:
    s = load(minimal(database={"url": "postgresql://u:p%40ss-word@db/x"}))
    assert {"p%40ss-word", "p@ss-word"} <= set(s.secret_values())


@pytest.mark.parametrize(
    "data",
    [
        with_environments(environment(apiToken={"nested": TOKEN})),
        with_environments(environment(apiToken=[TOKEN])),
        with_environments(environment(apiToken=f"{TOKEN} trailing-part")),
        with_environments(environment(url=f"https://user:{TOKEN}@palette.example.com")),
        minimal(auth={"externalAccess": [_static("sh0rt!", "a")]}),
        minimal(auth={"externalAccess": [_static(STATIC + " x", "")]}),
        minimal(database={"url": f"mysql://root:{DB_PASSWORD}@db/x"}),
        minimal(database={"url": DB_URL, "pool": {"size": 0}}),
    ],
)
def test_errors_never_contain_secret_values(data: dict[str, Any]) -> None:
    text = _error_text(data)
    for secret in (TOKEN, STATIC, DB_PASSWORD, "sh0rt!"):
        assert secret not in text


def test_duplicate_static_tokens_message_has_no_token() -> None:
    entry = {"type": "static", "options": {"token": STATIC, "subject": "a"}}
    text = _error_text(minimal(auth={"externalAccess": [entry, entry]}))
    assert "same token" in text and STATIC not in text


def test_override_and_substitution_values_stay_out_of_errors() -> None:
    env = {"SECRET_URL": f"https://u:{TOKEN}@x.example.com", "INGESTOR__server__port": STATIC}
    text = _error_text(with_environments(environment(url="${SECRET_URL}")), env)
    assert TOKEN not in text and STATIC not in text
    assert "INGESTOR__server__port" in text


def test_scrubber_masks_known_secrets_in_any_message() -> None:
    raw = {"spectrocloud": {"environments": [{"apiToken": TOKEN}]}, "database": {"url": DB_URL}}
    with pytest.raises(ConfigError) as info:
        raise_if_any(
            [(("x",), f"echoed {TOKEN} and {DB_PASSWORD}")],
            lines={},
            overridden={},
            secrets=secret_candidates(raw),
        )
    assert info.value.problems == [("x", "echoed *** and ***")]
