"""Shared builders for the configuration tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from ingestor.config import Settings, settings_from_dict
from ingestor.errors import ConfigError

TOKEN = "pal-api-key-3f9a1c77e0b24d6a"
ENV: dict[str, str] = {"PALETTE_URL": "https://palette.example.com", "PALETTE_API_TOKEN": TOKEN}

MINIMAL: dict[str, Any] = {
    "spectrocloud": {
        "environments": [{"name": "prod", "url": "https://palette.example.com/", "apiToken": TOKEN}],
    }
}


def minimal(**sections: Any) -> dict[str, Any]:
    """The minimal valid configuration plus extra top-level sections."""
    data = copy.deepcopy(MINIMAL)
    data.update(sections)
    return data


def environment(**keys: Any) -> dict[str, Any]:
    """One environment entry with a url and token, plus ``keys``."""
    return {"url": "https://palette.example.com", "apiToken": TOKEN, **keys}


def with_environments(*envs: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"spectrocloud": {"environments": list(envs)}, **sections}


def load(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    return settings_from_dict(data, env if env is not None else {})


def problems_of(action: Callable[[], object]) -> dict[str, str]:
    """Run ``action``, expect a ConfigError, return {key path: message}."""
    with pytest.raises(ConfigError) as info:
        action()
    return dict(info.value.problems)


def config_problems(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, str]:
    return problems_of(lambda: load(data, env))
