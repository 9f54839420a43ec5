"""`${VAR}`, `${VAR:-default}` and `$${` in every string value."""

from __future__ import annotations

import pytest

from ingestor.config.substitution import substitute_text

from .helpers import TOKEN, config_problems, environment, load, minimal, with_environments


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-fallback}", {"A": ""}, "fallback"),
        ("${A:-fallback}", {"A": "set"}, "set"),
        ("${A:-}", {}, ""),
        ("${A:-a:b/c d}", {}, "a:b/c d"),
        ("${A}", {"A": ""}, ""),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost $5 and $${literal}", {}, "cost $5 and ${literal}"),
        ("no references", {}, "no references"),
    ],
)
def test_substitute_text(text: str, env: dict[str, str], expected: str) -> None:
    assert substitute_text(text, env) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${UNSET}", "environment variable 'UNSET' is not set"),
        ("${", "unterminated"),
        ("${}", "invalid substitution"),
        ("${1BAD}", "invalid substitution"),
        ("${A-default}", "invalid substitution"),
        ("${A:-${B}}", "nested substitutions"),
    ],
)
def test_substitution_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        substitute_text(text, {})
    assert fragment in str(info.value)


def test_substitution_applies_to_every_string_and_coerces_numbers() -> None:
    data = minimal(
        server={
            "port": "${PORT}",
            "host": "${HOST:-0.0.0.0}",
            "cors": {"allowedOrigins": ["https://${WEB}"]},
        },
        scheduler={"enabled": "${SCHED:-false}"},
    )
    s = load(data, {"PORT": "8088", "WEB": "backstage.example.com"})
    assert s.server.port == 8088 and s.server.host == "0.0.0.0"
    assert s.server.cors.allowed_origins == ("https://backstage.example.com",)
    assert s.scheduler.enabled is False


def test_undefined_variable_names_key_path_and_variable_once() -> None:
    found = config_problems(with_environments(environment(url="${PALETTE_URL}")), {"OTHER": "x"})
    message = found.pop("spectrocloud.environments[0].url")
    assert "'PALETTE_URL'" in message and "not set" in message
    assert found == {}, "the unresolved value must not also fail URL validation"


def test_undefined_variables_are_all_reported() -> None:
    data = with_environments(environment(url="${U1}", apiToken="${T1}"), server={"baseUrl": "${BASE}"})
    assert set(config_problems(data)) == {
        "spectrocloud.environments[0].url",
        "spectrocloud.environments[0].apiToken",
        "server.baseUrl",
    }


def test_escaped_reference_survives_as_text() -> None:
    s = load(minimal(auth={"backstage": {"issuer": "$${NOT_A_VAR}"}}))
    assert s.auth.backstage.issuer == "${NOT_A_VAR}"


def test_secret_from_environment_is_substituted() -> None:
    s = load(with_environments(environment(apiToken="${TOK}")), {"TOK": TOKEN})
    assert s.spectrocloud.environments[0].api_token.get_secret_value() == TOKEN


def test_failed_substitutions_do_not_count_as_duplicates() -> None:
    data = with_environments(environment(name="${REGION}"), environment(name="${REGION}"))
    found = config_problems(data)
    assert set(found) == {"spectrocloud.environments[0].name", "spectrocloud.environments[1].name"}
    assert all("'REGION' is not set" in message for message in found.values())
