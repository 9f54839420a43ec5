"""Palette's swagger definitions as JSON Schema draft 4, and a cached validator over them.

Converts per palette-api.md 7.1/7.2; loads the bundled ``spec/palette-definitions.json`` by default.
Imports nothing of ours outside ``ingestor.palette`` (and no httpx).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from rfc3339_validator import validate_rfc3339

DRAFT4 = "http://json-schema.org/draft-04/schema#"
REF_PREFIX = "#/definitions/"
BUNDLE_NAME = "spec/palette-definitions.json"
ROOT = "(root)"

# Keywords whose values are schemas, or lists of schemas.
_SCHEMA_KEYS = ("items", "additionalProperties", "not")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")
# Instance strings are never echoed in messages: they may be secrets (passwords, keys, kubeconfigs).
# Schema values (enums, patterns) are shown, shortened.
_MAX_SHOWN = 80


CREATE_DEFINITIONS = {
    "eks": "v1SpectroEksClusterEntity",
    "aws": "v1SpectroAwsClusterEntity",
    "aks": "v1SpectroAzureClusterEntity",
    "azure": "v1SpectroAzureClusterEntity",
    "vsphere": "v1SpectroVsphereClusterEntity",
    "virtual": "v1SpectroVirtualClusterEntity",
}
"""The body definition of ``POST /v1/spectroclusters/<kind>`` (aks takes the azure entity)."""


class SchemaValidationError(ValueError):
    """An instance does not match its definition. ``errors`` holds sorted ``path: message`` lines."""

    def __init__(self, definition: str, errors: Sequence[str]) -> None:
        self.definition = definition
        self.errors = list(errors)
        shown = "; ".join(self.errors[:5])
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{definition}: {len(self.errors)} schema violation(s): {shown}{more}")


# ---------------------------------------------------------------------------------------------------
# Conversion (palette-api.md 7.1)


def convert_schema(node: Any, *, strict: bool = False) -> Any:
    """One swagger schema node -> a draft-4 node (a new object; the input is not modified)."""
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    nullable = node.get("x-nullable") is True
    if "$ref" in node:
        out: dict[str, Any] = {"$ref": node["$ref"]}
        if "description" in node:
            out["description"] = node["description"]
    else:
        out = {key: _convert_keyword(key, value, strict) for key, value in node.items()}
        out = {key: value for key, value in out.items() if not key.startswith("x-")}
        _fix_type(out)
        _prune_required(out)
        if strict and isinstance(out.get("properties"), dict):
            out.setdefault("type", "object")
            out.setdefault("additionalProperties", False)
    return _nullable(out) if nullable else out


def _convert_keyword(key: str, value: Any, strict: bool) -> Any:
    if key == "properties" and isinstance(value, dict):
        # Property names are data, not keywords: "required", "type" or "x-foo" may all be fields.
        return {name: convert_schema(sub, strict=strict) for name, sub in value.items()}
    if key in _SCHEMA_KEYS and isinstance(value, dict):
        return convert_schema(value, strict=strict)
    if key in _SCHEMA_LIST_KEYS and isinstance(value, list):
        return [convert_schema(sub, strict=strict) for sub in value]
    return copy.deepcopy(value)


def _fix_type(node: dict[str, Any]) -> None:
    kind = node.get("type")
    if kind == "file":
        node["type"] = "string"
    elif isinstance(kind, list):
        node["type"] = ["string" if k == "file" else k for k in kind]


def _prune_required(node: dict[str, Any]) -> None:
    """Drop required names the node does not declare (Go ignores them; palette-api.md 5 quirk)."""
    if "required" not in node or not isinstance(node["required"], list):
        return
    properties = node.get("properties")
    declared: Mapping[str, Any] = properties if isinstance(properties, dict) else {}
    kept = [name for name in node["required"] if name in declared]
    if kept:
        node["required"] = kept
    else:
        del node["required"]


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``x-nullable: true``: also accept null (typed node, enum, or a ``$ref`` wrapped in anyOf)."""
    if "$ref" in node:
        wrapped: dict[str, Any] = {"anyOf": [{"$ref": node["$ref"]}, {"type": "null"}]}
        if "description" in node:
            wrapped["description"] = node["description"]
        return wrapped
    kind = node.get("type")
    if isinstance(kind, str) and kind != "null":
        node["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        node["type"] = [*kind, "null"]
    if isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    return node


def convert_definitions(definitions: Mapping[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """Every swagger definition converted; names kept exactly (case-sensitive, dots allowed)."""
    return {name: convert_schema(node, strict=strict) for name, node in definitions.items()}


def schema_for(definitions: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A root schema embedding the converted ``definitions`` and pointing at ``name``."""
    return {"$schema": DRAFT4, "definitions": definitions, "$ref": REF_PREFIX + name}


# ---------------------------------------------------------------------------------------------------
# Validation


def _format_checker() -> FormatChecker:
    """Only ``date-time`` is checked, with an RFC 3339 backend (palette-api.md 7.1 "Formats")."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(instance: object) -> bool:
        return not isinstance(instance, str) or bool(validate_rfc3339(instance))

    return checker


def _path(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or ROOT


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _shown(value: object, limit: int = _MAX_SHOWN) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message(error: ValidationError) -> str:
    """A message that names fields and schema values but never echoes an instance string."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        return f"expected {_shown(expected)}, got {_json_type(instance)}"
    if keyword == "enum":
        return f"{_json_type(instance)} value not one of {_shown(expected, 400)}"
    if keyword == "format":
        return f"not a valid {expected}"
    if keyword in ("maximum", "minimum") and isinstance(instance, int | float):
        return f"{instance} violates {keyword} {expected}"
    if keyword in ("maxItems", "minItems", "maxLength", "minLength") and isinstance(instance, list | str):
        return f"length {len(instance)} violates {keyword} {expected}"
    if keyword == "uniqueItems":
        return "has non-unique elements"
    if keyword in ("required", "additionalProperties"):
        return str(error.message)  # names the property, never its value
    return f"fails {keyword} {_shown(expected)}"


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """Unwrap our ``anyOf [<ref>, null]`` so the real reason inside the ref is reported."""
    branches = error.validator_value if error.validator == "anyOf" else None
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches and error.context:
        keep = 1 - branches.index({"type": "null"})
        inner = [sub for sub in error.context if sub.schema_path and sub.schema_path[0] == keep]
        if inner:
            for sub in inner:
                yield from _leaves(sub)
            return
    yield error


def format_errors(errors: Iterable[ValidationError]) -> list[str]:
    """Sorted, de-duplicated ``path.to.field: message`` lines."""
    return sorted({f"{_path(leaf)}: {_message(leaf)}" for error in errors for leaf in _leaves(error)})


class SpecValidator:
    """Validates instances against Palette definitions by name; one cached validator per (name, strict).

    ``strict`` adds ``additionalProperties: false`` everywhere: for simulator output only, never for
    responses from a real Palette (its version drift would break it).
    """

    def __init__(
        self,
        definitions: Mapping[str, Any],
        *,
        operations: Sequence[Mapping[str, Any]] = (),
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.raw_definitions = definitions
        self.operations = list(operations)
        self.info = dict(info or {})
        self._converted: dict[bool, dict[str, Any]] = {}
        self._validators: dict[tuple[str, bool], Draft4Validator] = {}
        self._format_checker = _format_checker()
        self._lock = threading.Lock()

    @classmethod
    def from_bundle(cls, path: Path | None = None) -> SpecValidator:
        """From the bundled definitions file (default) or another file of the same layout."""
        bundle = load_bundle(path)
        return cls(bundle["definitions"], operations=bundle.get("operations", ()), info=bundle.get("info"))

    @classmethod
    def from_swagger(cls, path: Path) -> SpecValidator:
        """From a full swagger 2.0 file: all definitions, no operation table (for tests)."""
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(spec["definitions"], info=spec.get("info"))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.raw_definitions)

    def __contains__(self, name: object) -> bool:
        return name in self.raw_definitions

    def definitions(self, strict: bool = False) -> dict[str, Any]:
        """The converted definitions map (built once per mode)."""
        with self._lock:
            if strict not in self._converted:
                self._converted[strict] = convert_definitions(self.raw_definitions, strict=strict)
            return self._converted[strict]

    def validator(self, name: str, strict: bool = False) -> Draft4Validator:
        """The cached draft-4 validator for one definition. Unknown names raise ``KeyError``."""
        key = (name, strict)
        found = self._validators.get(key)
        if found is None:
            if name not in self.raw_definitions:
                raise KeyError(f"unknown Palette definition {name!r}")
            schema = schema_for(self.definitions(strict), name)
            found = Draft4Validator(schema, format_checker=self._format_checker)
            self._validators[key] = found
        return found

    def errors(self, name: str, instance: Any, strict: bool = False) -> list[str]:
        """Every violation as ``path.to.field: message``, sorted; empty when valid."""
        return format_errors(self.validator(name, strict).iter_errors(instance))

    def validate(self, name: str, instance: Any, strict: bool = False) -> None:
        """Raise ``SchemaValidationError`` when ``instance`` does not match ``name``."""
        problems = self.errors(name, instance, strict)
        if problems:
            raise SchemaValidationError(name, problems)


@lru_cache(maxsize=8)
def load_bundle(path: Path | None = None) -> dict[str, Any]:
    """The parsed bundle (cached; treat as read-only). Default: the file shipped with the package."""
    if path is None:
        text = resources.files(__package__ or "ingestor.palette").joinpath(BUNDLE_NAME).read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    bundle: dict[str, Any] = json.loads(text)
    return bundle


@lru_cache(maxsize=8)
def load_validator(path: Path | None = None) -> SpecValidator:
    """The shared validator over the bundled definitions (or the bundle at ``path``); cached."""
    return SpecValidator.from_bundle(path)
