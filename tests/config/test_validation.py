"""Every validation problem names its key path; all problems are reported at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestor.config import load_settings
from ingestor.errors import ConfigError, FatalError

from .helpers import TOKEN, config_problems, environment, load, minimal, problems_of, with_environments

ENV0 = "spectrocloud.environments[0]"


def test_config_error_is_fatal_and_lists_problems() -> None:
    with pytest.raises(FatalError) as info:
        load({"server": {"port": -1}})
    assert isinstance(info.value, ConfigError)
    assert "server.port" in str(info.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://palette.example.com", "http:// or https://"),
        ("palette.example.com", "http:// or https://"),
        ("https://", "host"),
        ("https://user:pw@palette.example.com", "credentials"),
        ("https://palette.example.com?x=1", "query"),
        ("https://palette.example.com:99999", "port"),
        ("https://palette example.com", "whitespace"),
    ],
)
def test_bad_url(url: str, fragment: str) -> None:
    found = config_problems(with_environments(environment(url=url)))
    assert list(found) == [f"{ENV0}.url"]
    assert fragment in found[f"{ENV0}.url"]


def test_missing_url_and_token() -> None:
    found = config_problems(with_environments({"name": "prod"}))
    assert found == {f"{ENV0}.url": "required key is missing", f"{ENV0}.apiToken": "required key is missing"}


@pytest.mark.parametrize(
    "data",
    [{}, {"spectrocloud": {}}, {"spectrocloud": {"environments": []}}, {"spectrocloud": {"enabled": "yes"}}],
)
def test_at_least_one_environment(data: dict[str, Any]) -> None:
    found = config_problems(data)
    assert list(found) == ["spectrocloud.environments"]
    assert found["spectrocloud.environments"].startswith("at least one environment is required")


def test_names_required_and_unique_with_several_environments() -> None:
    data = with_environments(
        environment(name="prod"),
        environment(),
        environment(name="PROD"),
        environment(name="stage"),
    )
    found = config_problems(data)
    assert "required when more than one" in found["spectrocloud.environments[1].name"]
    assert "duplicate name 'PROD'" in found["spectrocloud.environments[2].name"]
    assert "spectrocloud.environments[0]" in found["spectrocloud.environments[2].name"]
    assert set(found) == {"spectrocloud.environments[1].name", "spectrocloud.environments[2].name"}


@pytest.mark.parametrize("name", ["-lead", "has space", "a/b", "x" * 64, "ünï"])
def test_names_must_be_routing_keys(name: str) -> None:
    found = config_problems(with_environments(environment(name=name)))
    assert "routing key" in found[f"{ENV0}.name"]


def test_unknown_keys_get_suggestions_at_every_level() -> None:
    data = minimal(
        sever={},
        server={"prot": 1},
        palette={"rateLimits": {"prefixes": {"/v1/x": {"rate": 1, "burts": 2}}}},
    )
    data["spectrocloud"]["environments"][0]["catalogProvider"] = {"refreshIntervalSecond": 60}
    data["spectrocloud"]["environments"][0]["apiTokken"] = "x"
    found = config_problems(data)
    assert found["sever"] == "unknown key; did you mean 'server'?"
    assert found["server.prot"] == "unknown key; did you mean 'port'?"
    assert found[f"{ENV0}.catalogProvider.refreshIntervalSecond"] == (
        "unknown key; did you mean 'refreshIntervalSeconds'?"
    )
    assert found[f"{ENV0}.apiTokken"] == "unknown key; did you mean 'apiToken'?"
    assert "did you mean 'burst'?" in found['palette.rateLimits.prefixes["/v1/x"].burts']
    assert found['palette.rateLimits.prefixes["/v1/x"].burst'] == "required key is missing"


def test_snake_case_keys_are_not_accepted_in_files() -> None:
    found = config_problems(minimal(server={"body_limit_bytes": 2048}))
    assert found["server.body_limit_bytes"] == "unknown key; did you mean 'bodyLimitBytes'?"


def test_unrelated_unknown_key_has_no_suggestion() -> None:
    assert config_problems(minimal(server={"zzzzqqq": 1}))["server.zzzzqqq"] == "unknown key"


@pytest.mark.parametrize(
    ("section", "path", "fragment"),
    [
        ({"server": {"port": "eighty"}}, "server.port", "valid integer"),
        ({"server": {"port": 70000}}, "server.port", "less than or equal to 65535"),
        ({"server": {"bodyLimitBytes": 10}}, "server.bodyLimitBytes", "greater than or equal to 1024"),
        ({"scheduler": {"enabled": "sometimes"}}, "scheduler.enabled", "valid boolean"),
        ({"scheduler": {"maxConcurrentCrawls": 0}}, "scheduler.maxConcurrentCrawls", "greater than or equal"),
        ({"database": {"pool": {"size": 0}}}, "database.pool.size", "greater than or equal to 1"),
        ({"database": {"url": "mysql://db/x"}}, "database.url", "sqlite"),
        ({"palette": {"pageSize": 51}}, "palette.pageSize", "less than or equal to 50"),
        ({"palette": {"timeouts": {"read": 0}}}, "palette.timeouts.read", "greater than 0"),
        ({"palette": {"retries": {"backoffInitialSeconds": 5, "backoffMaxSeconds": 1}}},
         "palette.retries", "must not be smaller"),
        ({"palette": {"rateLimits": {"prefixes": {"v1": {"rate": 1, "burst": 1}}}}},
         "palette.rateLimits.prefixes.v1", "invalid key: a rate-limit prefix"),
        ({"logging": {"level": "loud"}}, "logging.level", "'debug'"),
        ({"logging": {"format": "xml"}}, "logging.format", "'json'"),
        ({"server": {"cors": {"allowedOrigins": ["https://a.example.com/path"]}}},
         "server.cors.allowedOrigins[0]", "origin"),
        ({"server": "yes"}, "server", "should be a mapping of keys"),
        ({"auth": {"externalAccess": {"type": "static"}}}, "auth.externalAccess", "should be a list"),
        ({"spectrocloud": {"environments": "prod"}}, "spectrocloud.environments", "should be a list"),
        ({"spectrocloud": {"annotationPrefix": "Not_A.Domain"}}, "spectrocloud.annotationPrefix", "DNS"),
    ],
)  # fmt: skip
def test_wrong_types_and_ranges_name_the_key(section: dict[str, Any], path: str, fragment: str) -> None:
    data = minimal()
    for key, value in section.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    found = config_problems(data)
    assert path in found, found
    assert fragment in found[path]


def test_catalog_provider_rules() -> None:
    cp = {
        "refreshIntervalSeconds": 10,
        "ownerNamespace": "team",
        "defaultOwner": "bad owner!",
        "includeProjects": ["a", "b", "c"],
        "excludeProjects": ["c", "d", "a"],
    }
    found = config_problems(with_environments(environment(catalogProvider=cp)))
    base = f"{ENV0}.catalogProvider"
    assert "greater than or equal to 30" in found[f"{base}.refreshIntervalSeconds"]
    assert "'group' or 'user'" in found[f"{base}.ownerNamespace"]
    assert "entity name" in found[f"{base}.defaultOwner"]
    assert found[f"{base}.excludeProjects"].startswith("'c', 'a' also listed in includeProjects")


def test_static_access_rules() -> None:
    auth = {
        "externalAccess": [
            {"type": "static", "options": {"token": "short", "subject": "a"}},
            {"type": "jwks", "options": {"token": "long-enough-token", "subject": "b"}},
            {"type": "static", "options": {"token": "long enough token", "subject": ""}},
            {"type": "static", "options": {"token": "dup-token-123", "subject": "c"}},
            {"type": "static", "options": {"token": "dup-token-123", "subject": "d"}},
            {"type": "static"},
        ]
    }
    found = config_problems(minimal(auth=auth))
    assert "at least 8 characters" in found["auth.externalAccess[0].options.token"]
    assert "'static'" in found["auth.externalAccess[1].type"]
    assert "whitespace" in found["auth.externalAccess[2].options.token"]
    assert "at least 1 character" in found["auth.externalAccess[2].options.subject"]
    assert "same token as auth.externalAccess[3]" in found["auth.externalAccess[4].options.token"]
    assert found["auth.externalAccess[5].options"] == "required key is missing"


def test_all_problems_are_reported_together(write_yaml: Callable[[str], Path]) -> None:
    text = """\
spectrocloud:
  environments:
    - name: prod
      url: ftp://palette.example.com
      apiToken: ${MISSING_TOKEN}
      catalogProvider:
        refreshIntervalSecond: 60
    - name: prod
      url: https://palette.example.com
      apiToken: t0ken-value
server:
  port: 0x
scheduler:
  leaseSeconds: 1
"""
    found = problems_of(lambda: load_settings(write_yaml(text), {}))
    assert set(found) == {
        f"{ENV0}.url",
        f"{ENV0}.apiToken",
        f"{ENV0}.catalogProvider.refreshIntervalSecond",
        "spectrocloud.environments[1].name",
        "server.port",
        "scheduler.leaseSeconds",
    }
    assert found[f"{ENV0}.url"].endswith("(line 4)")
    assert found[f"{ENV0}.catalogProvider.refreshIntervalSecond"].endswith("(line 7)")
    assert found["server.port"].endswith("(line 12)")


def test_missing_key_points_at_its_parent_line(write_yaml: Callable[[str], Path]) -> None:
    text = "spectrocloud:\n  environments:\n    - name: prod\n      url: https://p.example.com\n"
    found = problems_of(lambda: load_settings(write_yaml(text), {}))
    assert found == {f"{ENV0}.apiToken": "required key is missing (line 3)"}


def test_invalid_yaml_reports_the_line(write_yaml: Callable[[str], Path]) -> None:
    text = "server:\n  port: 1\n  host: [unclosed\nlogging:\n  level: info\n"
    with pytest.raises(ConfigError) as info:
        load_settings(write_yaml(text), {})
    ((path, message),) = info.value.problems
    assert path == "" and message.startswith("invalid YAML at line 4, column 8: ")
    assert message.endswith("(while parsing a flow sequence that starts at line 3)")


def test_yaml_error_does_not_echo_file_content(write_yaml: Callable[[str], Path]) -> None:
    text = f'spectrocloud:\n  environments:\n    - apiToken: "{TOKEN}\n'
    with pytest.raises(ConfigError) as info:
        load_settings(write_yaml(text), {})
    assert TOKEN not in str(info.value) and info.value.__cause__ is None


def test_duplicate_keys_are_reported_with_other_problems(write_yaml: Callable[[str], Path]) -> None:
    text = "server:\n  port: 1\n  port: 2\nscheduler:\n  leaseSeconds: 1\n"
    found = problems_of(lambda: load_settings(write_yaml(text), {}))
    assert found["server.port"] == "duplicate key, repeated at line 3 (line 2)"
    assert "scheduler.leaseSeconds" in found and "spectrocloud.environments" in found


def test_missing_and_unreadable_file(tmp_path: Path) -> None:
    found = problems_of(lambda: load_settings(tmp_path / "absent.yaml", {}))
    assert list(found.values()) == [f"configuration file not found: {tmp_path / 'absent.yaml'}"]
    found = problems_of(lambda: load_settings(tmp_path, {}))
    assert "cannot read configuration file" in next(iter(found.values()))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in next(iter(problems_of(lambda: load_settings(binary, {})).values()))


def test_top_level_must_be_a_mapping(write_yaml: Callable[[str], Path]) -> None:
    found = problems_of(lambda: load_settings(write_yaml("- a\n- b\n"), {}))
    assert "top level must be a mapping" in found[""]


def test_cluster_provider_must_be_a_mapping() -> None:
    found = config_problems(with_environments(environment(clusterProvider="oidc")))
    assert "must be a mapping" in found[f"{ENV0}.clusterProvider"]


def test_message_lists_every_problem_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as info:
        load(minimal(server={"port": -1, "host": ""}))
    text = str(info.value).splitlines()
    assert text[0] == "invalid configuration:"
    assert any(line.startswith("  server.port: ") for line in text)
    assert any(line.startswith("  server.host: ") for line in text)


def test_empty_sections_and_keys_mean_defaults(write_yaml: Callable[[str], Path]) -> None:
    text = (
        "spectrocloud:\n  environments:\n    - url: https://p.example.com\n      apiToken: t0ken-value\n"
        "      catalogProvider:\n        includeProjects:\n        resources:\n"
        "server:\nscheduler:\n  jitterSeconds:\n"
    )
    s = load_settings(write_yaml(text), {})
    assert s.server.port == 7007 and s.scheduler.jitter_seconds == 30
    assert s.spectrocloud.environments[0].catalog_provider.include_projects == ()


def test_null_required_key_is_reported_missing() -> None:
    found = config_problems(with_environments(environment(url=None)))
    assert found == {f"{ENV0}.url": "required key is missing"}


def test_section_of_the_wrong_shape() -> None:
    assert config_problems(minimal(server=[1, 2]))["server"] == "Input should be a mapping of keys"
