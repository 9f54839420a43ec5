"""From settings to what one crawl needs: the crawl request, mapping options, removal policy, retention
and the Palette client with the instance's API token (the one place that token is read for crawls).

Imports ``config``, ``palette``, ``catalog`` and ``store`` data types; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from ingestor.catalog.options import MappingOptions
from ingestor.config import EnvironmentSettings, Settings
from ingestor.crawl.crawler import CrawlRequest
from ingestor.crawl.details import CachedPayload
from ingestor.palette.client import PaletteClient
from ingestor.palette.credentials import ApiKey
from ingestor.store.plan import RemovalPolicy
from ingestor.store.writer import Retention


def console_url(env: EnvironmentSettings) -> str:
    """``consoleUrl``, else derived from ``url``: ``api.<domain>`` becomes ``console.<domain>``, other hosts
    stay as they are (docs/configuration.md)."""
    if env.console_url:
        return env.console_url.rstrip("/")
    parts = urlsplit(env.url)
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("api."):
        host = "console." + host[len("api.") :]
    return urlunsplit((parts.scheme, host, "", "", ""))


def mapping_options(settings: Settings, env: EnvironmentSettings) -> MappingOptions:
    return MappingOptions.from_settings(
        settings.spectrocloud.annotation_prefix, env.catalog_provider.model_dump()
    )


def crawl_request(
    settings: Settings, env: EnvironmentSettings, group_cache: Mapping[str, CachedPayload]
) -> CrawlRequest:
    """The crawl of ``env`` as configured (``catalogProvider``, ``crawl.*``)."""
    provider = env.catalog_provider
    options = mapping_options(settings, env)
    return CrawlRequest(
        instance=env.name,
        palette_url=env.url.rstrip("/"),
        console_url=console_url(env),
        resources=options.resources,
        include_projects=tuple(provider.include_projects),
        exclude_projects=tuple(provider.exclude_projects),
        max_concurrent_projects=settings.crawl.max_concurrent_projects,
        deadline_seconds=float(settings.crawl.timeout_seconds),
        group_cache=group_cache,
        secrets=(env.api_token.get_secret_value(),),
    )


def removal_policy(settings: Settings) -> RemovalPolicy:
    guard = settings.crawl.removal_guard
    return RemovalPolicy(
        max_removal_share=guard.max_removal_share,
        confirm_removal_after=guard.confirm_after_runs,
        min_part_size=guard.min_part_size,
    )


def retention(settings: Settings) -> Retention:
    kept = settings.database.retention
    return Retention(runs=kept.runs, change_days=kept.change_days)


def palette_client(settings: Settings, env: EnvironmentSettings) -> PaletteClient:
    """A client for ``env`` authenticated with its ``apiToken`` (close it when done)."""
    return PaletteClient(
        env.url,
        ApiKey(env.api_token.get_secret_value()),
        options=settings.palette.client_options(),
        instance=env.name,
    )
