"""config.example.yaml and docs/configuration.md cover every key and state the real defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic.fields import FieldInfo

from ingestor.config import CatalogProviderSettings, EnvironmentSettings, Settings, load_settings
from ingestor.config.introspect import field_paths, keys_of, shape

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
DOCS = ROOT / "docs" / "configuration.md"
EXAMPLE_ENV = {"PALETTE_URL": "https://palette.example.com", "PALETTE_API_TOKEN": "example-token-123"}
PATHS = list(field_paths(Settings))


def test_example_loads_and_equals_the_defaults_it_claims() -> None:
    s = load_settings(EXAMPLE, EXAMPLE_ENV)
    defaults = Settings()
    for section in ("server", "database", "scheduler", "auth", "logging", "palette"):
        assert getattr(s, section) == getattr(defaults, section), section
    sc = s.spectrocloud
    assert (sc.enabled, sc.annotation_prefix, sc.enable_permissions) == (
        defaults.spectrocloud.enabled,
        defaults.spectrocloud.annotation_prefix,
        defaults.spectrocloud.enable_permissions,
    )
    (env,) = sc.environments
    # The lines marked "example value" come from the environment.
    assert env.url == EXAMPLE_ENV["PALETTE_URL"] and env.name == "production"
    assert env.api_token.get_secret_value() == EXAMPLE_ENV["PALETTE_API_TOKEN"]
    assert env.catalog_provider == CatalogProviderSettings()
    assert env.api_token_fallback is EnvironmentSettings.model_fields["api_token_fallback"].default


def test_example_needs_its_variables() -> None:
    from ingestor.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_settings(EXAMPLE, {})
    assert {p for p, _ in info.value.problems} == {
        "spectrocloud.environments[0].url",
        "spectrocloud.environments[0].apiToken",
    }


@pytest.mark.parametrize("path", PATHS)
def test_every_key_appears_in_the_example(path: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for segment in path.replace("[]", "").split("."):
        if segment.startswith("<"):
            continue
        pattern = rf"^\s*(?:#\s*)?(?:-\s+)?{re.escape(segment)}:"
        assert re.search(pattern, text, re.MULTILINE), f"{segment!r} of {path} missing from the example"


def _doc_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\|\s*`([^`]+)`\s*\|[^|]*\|\s*([^|]*?)\s*\|", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def test_docs_table_lists_exactly_the_model_keys() -> None:
    documented = set(_doc_rows())
    assert set(PATHS) - documented == set(), "keys missing from docs/configuration.md"
    assert documented - set(PATHS) == set(), "docs/configuration.md documents keys that do not exist"


def _field(path: str) -> FieldInfo:
    model: type[BaseModel] = Settings
    segments = [s for s in path.replace("[]", "").split(".") if not s.startswith("<")]
    for segment in segments[:-1]:
        current = shape(keys_of(model)[segment])
        while current.kind in ("sequence", "mapping"):
            current = shape(current.item)
        assert current.model is not None
        model = current.model
    return next(info for name, info in model.model_fields.items() if (info.alias or name) == segments[-1])


def _documented_default(cell: str) -> tuple[str, Any]:
    if cell.startswith("(required)"):
        return "required", None
    if cell.startswith("none"):
        return "value", None
    code = re.match(r"^`([^`]*)`", cell)
    assert code, f"default cell {cell!r} must be `value`, none, (required) or empty"
    return "value", yaml.safe_load(code.group(1))


@pytest.mark.parametrize("path", PATHS)
def test_docs_state_the_real_default(path: str) -> None:
    cell = _doc_rows()[path]
    info = _field(path)
    if shape(info.annotation).kind == "model":
        expected = "(required)" if info.is_required() else ""
        assert cell == expected, f"{path}: a section's default cell is empty, or (required)"
        return
    kind, documented = _documented_default(cell)
    if kind == "required":
        assert info.is_required(), f"{path} is documented as required"
        return
    assert not info.is_required(), f"{path} is required but the docs give a default"
    default = info.get_default(call_default_factory=True)
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    elif isinstance(default, Mapping):
        default = dict(default)
    else:
        default = TypeAdapter(Any).dump_python(default, mode="json")
    assert documented == (list(default) if isinstance(default, tuple) else default), path
