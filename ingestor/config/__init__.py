"""Typed configuration: one immutable ``Settings`` built from YAML, ``${VAR}`` and ``INGESTOR__`` overrides.

Foundation layer: imports only ingestor.errors and ingestor.palette.options. See docs/configuration.md.
"""

from __future__ import annotations

from ingestor.config.loader import load_settings, settings_from_dict
from ingestor.config.models import (
    AuthSettings,
    BackstageAuthSettings,
    CatalogProviderSettings,
    CorsSettings,
    DatabaseSettings,
    EnvironmentSettings,
    ExternalAccessEntry,
    LoggingSettings,
    PaletteSettings,
    PoolSettings,
    RateLimitSettings,
    RateLimitsSettings,
    RbacSettings,
    ResourcesSettings,
    RetentionSettings,
    RetrySettings,
    SchedulerSettings,
    ServerSettings,
    SessionSettings,
    Settings,
    SpectroCloudSettings,
    StaticAccessOptions,
    TimeoutSettings,
)
from ingestor.config.overrides import PREFIX as OVERRIDE_PREFIX

__all__ = [
    "OVERRIDE_PREFIX",
    "AuthSettings",
    "BackstageAuthSettings",
    "CatalogProviderSettings",
    "CorsSettings",
    "DatabaseSettings",
    "EnvironmentSettings",
    "ExternalAccessEntry",
    "LoggingSettings",
    "PaletteSettings",
    "PoolSettings",
    "RateLimitSettings",
    "RateLimitsSettings",
    "RbacSettings",
    "ResourcesSettings",
    "RetentionSettings",
    "RetrySettings",
    "SchedulerSettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "SpectroCloudSettings",
    "StaticAccessOptions",
    "TimeoutSettings",
    "load_settings",
    "settings_from_dict",
]
