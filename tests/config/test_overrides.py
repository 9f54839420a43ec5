"""`INGESTOR__…` environment variables override any key."""

from __future__ import annotations

from .helpers import TOKEN, config_problems, environment, load, minimal, with_environments


def test_scalar_override_is_parsed_for_typed_keys() -> None:
    s = load(
        minimal(),
        {
            "INGESTOR__server__port": "8080",
            "INGESTOR__scheduler__runOnStart": "false",
            "INGESTOR__palette__timeouts__read": "2.5",
            "INGESTOR__server__baseUrl": "null",
        },
    )
    assert s.server.port == 8080 and s.scheduler.run_on_start is False
    assert s.palette.timeouts.read == 2.5 and s.server.base_url is None


def test_segments_match_case_insensitively_and_ignore_underscores() -> None:
    s = load(minimal(), {"INGESTOR__SERVER__BODY_LIMIT_BYTES": "4096", "INGESTOR__Logging__LEVEL": "debug"})
    assert s.server.body_limit_bytes == 4096 and s.logging.level == "debug"


def test_list_index_overrides_an_existing_item() -> None:
    s = load(minimal(), {"INGESTOR__spectrocloud__environments__0__apiToken": "override-token-1"})
    assert s.spectrocloud.environments[0].api_token.get_secret_value() == "override-token-1"
    assert s.spectrocloud.environments[0].name == "prod", "siblings are kept"


def test_next_index_appends_an_item() -> None:
    env = {
        "INGESTOR__spectrocloud__environments__1__name": "stage",
        "INGESTOR__spectrocloud__environments__1__url": "https://stage.example.com",
        "INGESTOR__spectrocloud__environments__1__apiToken": TOKEN,
        "INGESTOR__spectrocloud__environments__1__catalogProvider__refreshIntervalSeconds": "120",
    }
    envs = load(minimal(), env).spectrocloud.environments
    assert [e.name for e in envs] == ["prod", "stage"]
    assert envs[1].catalog_provider.refresh_interval_seconds == 120


def test_text_keys_keep_the_value_verbatim() -> None:
    env = {
        "INGESTOR__spectrocloud__environments__0__apiToken": "0123456",
        "INGESTOR__spectrocloud__environments__0__tenant": "yes",
        "INGESTOR__spectrocloud__environments__0__name": "007",
    }
    e = load(minimal(), env).spectrocloud.environments[0]
    assert e.api_token.get_secret_value() == "0123456" and e.tenant == "yes" and e.name == "007"


def test_flow_list_value() -> None:
    env = {"INGESTOR__server__cors__allowedOrigins": "[https://a.example.com, https://b.example.com]"}
    assert load(minimal(), env).server.cors.allowed_origins == (
        "https://a.example.com",
        "https://b.example.com",
    )


def test_override_wins_over_an_undefined_reference_and_is_not_substituted() -> None:
    data = with_environments(environment(apiToken="${UNSET_TOKEN}"))
    env = {"INGESTOR__spectrocloud__environments__0__apiToken": "tok-with-${dollar}"}
    assert load(data, env).spectrocloud.environments[0].api_token.get_secret_value() == "tok-with-${dollar}"


def test_override_creates_missing_sections() -> None:
    s = load(minimal(), {"INGESTOR__auth__backstage__issuer": "https://issuer.example.com"})
    assert s.auth.backstage.issuer == "https://issuer.example.com"


def test_unknown_segment_names_the_variable_and_suggests() -> None:
    found = config_problems(minimal(), {"INGESTOR__server__prot": "1", "INGESTOR__sevrer__port": "1"})
    assert found["INGESTOR__server__prot"] == "unknown key 'prot' under 'server'; did you mean 'port'?"
    assert found["INGESTOR__sevrer__port"] == "unknown key 'sevrer' at the top level; did you mean 'server'?"


def test_index_errors() -> None:
    found = config_problems(
        minimal(),
        {
            "INGESTOR__spectrocloud__environments__5__url": "https://x.example.com",
            "INGESTOR__spectrocloud__environments__first__url": "https://x.example.com",
            "INGESTOR__server__port__deeper": "1",
            "INGESTOR__server____port": "1",
        },
    )
    assert "out of range" in found["INGESTOR__spectrocloud__environments__5__url"]
    assert "list index" in found["INGESTOR__spectrocloud__environments__first__url"]
    assert "has no key 'deeper'" in found["INGESTOR__server__port__deeper"]
    assert "empty key segment" in found["INGESTOR__server____port"]


def test_invalid_override_value_names_key_and_variable_but_not_the_value() -> None:
    found = config_problems(minimal(), {"INGESTOR__server__port": "not-a-port-4242"})
    assert "server.port" in found
    assert "(set by INGESTOR__server__port)" in found["server.port"]
    assert "not-a-port-4242" not in str(found)


def test_unrelated_variables_are_ignored() -> None:
    s = load(minimal(), {"INGESTOR_SERVER_PORT": "1", "OTHER__server__port": "2"})
    assert s.server.port == 7007
