"""Entities → deterministic bytes: multi-document YAML for a Backstage URL location, and JSON.
Imports nothing of ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

ROOT_ORDER = ("apiVersion", "kind", "metadata", "spec")

# Each YAML document is one line of JSON after ``---``. JSON is YAML 1.2 and every string is double-quoted,
# so "true", "0123", "1.30", "null", "1e3" or "0o17" stay strings in any reader (PyYAML's YAML 1.1
# resolver would leave "1e3" and "0o17" plain, and YAML 1.2 readers would then see numbers). It is also
# ~6x faster than PyYAML's C emitter: 40,000 simulator entities (68 MB) in 1.3 s vs 8.6 s.

# Characters YAML forbids raw in a stream (C1 controls, surrogates, non-characters) or that some readers
# treat as line breaks (NEL, LS, PS), plus DEL and BOM: written as \uXXXX escapes, valid in JSON and YAML.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _ordered(entity: Mapping[str, Any]) -> dict[str, Any]:
    """Root keys as apiVersion, kind, metadata, spec (then any others, sorted); nested order kept."""
    out = {key: entity[key] for key in ROOT_ORDER if key in entity}
    out.update({key: entity[key] for key in sorted(entity) if key not in out})
    return out


def _dump(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _UNSAFE.sub(_escape, text)


def render_yaml(entities: Iterable[Mapping[str, Any]]) -> bytes:
    """Multi-document YAML (``---`` before each document), UTF-8, ``b""`` for no entities."""
    return "".join(f"---\n{_dump(_ordered(entity))}\n" for entity in entities).encode()


def render_json(entities: Iterable[Mapping[str, Any]]) -> bytes:
    """``{"items": [...]}``, UTF-8."""
    return _dump({"items": [_ordered(entity) for entity in entities]}).encode() + b"\n"
