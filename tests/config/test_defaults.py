"""Defaults, normalisation, immutability and the ClientOptions mapping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestor.config import Settings, load_settings
from ingestor.palette.options import DEFAULT_RATE_LIMITS, ClientOptions, RateLimit

from .helpers import TOKEN, environment, load, minimal, with_environments


def test_minimal_configuration_gets_every_documented_default() -> None:
    s = load(minimal())
    env = s.spectrocloud.environments[0]
    assert (s.spectrocloud.enabled, s.spectrocloud.annotation_prefix, s.spectrocloud.enable_permissions) == (
        True,
        "terasky.backstage.io",
        False,
    )
    assert env.name == "prod" and env.tenant is None and env.api_token_fallback is True
    cp = env.catalog_provider
    assert (cp.enabled, cp.refresh_interval_seconds, cp.default_owner, cp.owner_namespace) == (
        True,
        600,
        "spectrocloud-auto-ingested",
        "group",
    )
    assert (cp.include_projects, cp.exclude_projects, cp.exclude_tenant_scoped_resources) == ((), (), False)
    assert all(dict(cp.resources).values()) and len(dict(cp.resources)) == 5
    assert (s.server.host, s.server.port, s.server.base_url) == ("127.0.0.1", 7007, None)
    assert s.server.body_limit_bytes == 1024 * 1024 and s.server.cors.allowed_origins == ()
    assert s.database.url.get_secret_value() == "sqlite:///./data/ingestor.db"
    assert (s.database.retention.runs, s.database.retention.change_days, s.database.pool.size) == (500, 90, 5)
    sch = s.scheduler
    assert (sch.enabled, sch.jitter_seconds, sch.lease_seconds) == (True, 30, 120)
    assert (sch.run_on_start, sch.max_concurrent_crawls) == (True, 2)
    assert s.auth.allow_unauthenticated is False and s.auth.external_access == ()
    assert s.auth.backstage.jwks_url is None and s.auth.rbac.policy_file is None
    assert (s.logging.level, s.logging.format) == ("info", "auto")
    assert s.palette.page_size == 50 and s.palette.rate_limits.enabled is True
    assert dict(s.palette.rate_limits.prefixes) == {}


def test_default_palette_section_yields_the_client_defaults() -> None:
    assert load(minimal()).palette.client_options() == ClientOptions()


def test_client_options_maps_every_key_and_merges_rate_limits() -> None:
    palette = {
        "timeouts": {"connect": 1, "read": 2, "write": 3, "pool": 4, "total": 50},
        "retries": {"maxAttempts": 7, "backoffInitialSeconds": 0.25, "backoffMaxSeconds": 9},
        "maxConnections": 11,
        "maxConcurrency": 12,
        "pageSize": 20,
        "maxPages": 99,
        "rateLimits": {
            "enabled": False,
            "prefixes": {"/v1/dashboard": {"rate": 2, "burst": 1}, "/v1/custom/": {"rate": 3.5, "burst": 4}},
        },
    }
    options = load(minimal(palette=palette)).palette.client_options()
    t = options.timeouts
    assert (t.connect, t.read, t.write, t.pool, t.total) == (1, 2, 3, 4, 50)
    retry = options.retry
    assert (retry.max_attempts, retry.backoff_initial, retry.backoff_max) == (7, 0.25, 9)
    assert (options.max_connections, options.max_concurrency, options.page_size, options.max_pages) == (
        11,
        12,
        20,
        99,
    )
    assert options.rate_limits_enabled is False
    assert options.rate_limits["/v1/dashboard"] == RateLimit(2, 1)
    assert options.rate_limits["/v1/custom"] == RateLimit(3.5, 4)  # trailing '/' normalised
    untouched = {k: v for k, v in DEFAULT_RATE_LIMITS.items() if k != "/v1/dashboard"}
    assert all(options.rate_limits[k] == v for k, v in untouched.items())
    assert DEFAULT_RATE_LIMITS["/v1/dashboard"] == RateLimit(10, 5), "defaults must not be mutated"


def test_url_loses_trailing_slashes_and_empty_name_means_unnamed() -> None:
    s = load(with_environments(environment(url="https://palette.example.com/api//", name="")))
    assert s.spectrocloud.environments[0].url == "https://palette.example.com/api"
    assert s.spectrocloud.environments[0].name is None


def test_settings_are_immutable() -> None:
    s = load(minimal(palette={"rateLimits": {"prefixes": {"/v1/x": {"rate": 1, "burst": 1}}}}))
    with pytest.raises(ValidationError):
        s.server.port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.spectrocloud.environments[0].url = "https://other.example.com"  # type: ignore[misc]
    assert isinstance(s.spectrocloud.environments, tuple)
    with pytest.raises(TypeError):
        s.palette.rate_limits.prefixes["/v1/y"] = s.palette.rate_limits.prefixes["/v1/x"]  # type: ignore[index]


def test_disabled_block_needs_no_environment() -> None:
    s = load({"spectrocloud": {"enabled": False}})
    assert s.spectrocloud.enabled is False and s.spectrocloud.environments == ()


def test_load_settings_reads_a_file(write_yaml: Callable[[str], Path]) -> None:
    path = write_yaml(
        "spectrocloud:\n  environments:\n    - url: https://p.example.com\n      apiToken: ${TOK}\n"
        "server:\n  port: 9000\nlogging:\n  level: WARN\n"
    )
    s = load_settings(path, {"TOK": TOKEN})
    assert s.server.port == 9000 and s.logging.level == "warning"
    assert s.spectrocloud.environments[0].api_token.get_secret_value() == TOKEN


def test_load_settings_without_a_file_uses_overrides_only() -> None:
    env = {
        "INGESTOR__spectrocloud__environments__0__url": "https://p.example.com",
        "INGESTOR__spectrocloud__environments__0__apiToken": TOKEN,
    }
    s = load_settings(None, env)
    assert s.spectrocloud.environments[0].url == "https://p.example.com"
    assert s.server == Settings().server


def test_empty_file_is_a_configuration_without_environments(write_yaml: Callable[[str], Path]) -> None:
    from ingestor.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_settings(write_yaml("# nothing yet\n"), {})
    assert [path for path, _ in info.value.problems] == ["spectrocloud.environments"]


def test_blank_optional_values_mean_unset() -> None:
    data = with_environments(environment(tenant="${TENANT:-}"))
    data["server"] = {"baseUrl": "${PUBLIC_URL:-}"}
    data["auth"] = {"backstage": {"issuer": "", "jwksUrl": " "}, "rbac": {"policyFile": ""}}
    s = load(data)
    assert s.spectrocloud.environments[0].tenant is None and s.server.base_url is None
    assert s.auth.backstage.issuer is None and s.auth.backstage.jwks_url is None
    assert s.auth.rbac.policy_file is None
