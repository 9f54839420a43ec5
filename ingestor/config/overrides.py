"""Environment overrides: ``INGESTOR__server__port=8080``, ``INGESTOR__spectrocloud__environments__0__url=…``.

Segments match the real camelCase keys case-insensitively ('_' ignored); list indices are numbers (the next
free index appends). Text keys take the value verbatim, others parse it as a YAML scalar.
Foundation layer: imports nothing of ours. Problems name the variable, never its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from ingestor.config.introspect import Loc, Shape, is_optional, is_text, match_key, shape, suggest
from ingestor.config.problems import format_loc

PREFIX = "INGESTOR__"
_NULLS = ("", "~", "null", "Null", "NULL")
Problem = tuple[Loc, str]


class _OverrideError(Exception):
    """An override that cannot be applied; the message is safe to show."""


def apply_overrides(
    raw: dict[str, Any], env: Mapping[str, str], root: type[BaseModel]
) -> tuple[dict[Loc, str], list[Problem]]:
    """Apply every ``INGESTOR__…`` variable to ``raw`` in place; returns {key path: variable} and problems."""
    applied: dict[Loc, str] = {}
    problems: list[Problem] = []
    names = sorted((name for name in env if name.startswith(PREFIX)), key=_order)
    for name in names:
        try:
            loc = _apply(raw, name, env[name], root)
        except _OverrideError as exc:
            problems.append(((name,), str(exc)))
        else:
            applied[loc] = name
    return applied, problems


def _order(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort so that list index 0 is created before index 1."""
    return tuple((0, int(s)) if s.isdigit() else (1, s.lower()) for s in name[len(PREFIX) :].split("__"))


def _apply(raw: dict[str, Any], name: str, value: str, root: type[BaseModel]) -> Loc:
    segments = name[len(PREFIX) :].split("__")
    if any(not segment for segment in segments):
        raise _OverrideError("empty key segment (separate keys with exactly '__')")
    container: Any = raw
    current = Shape("model", model=root)
    loc: Loc = ()
    for position, segment in enumerate(segments):
        key, child = _step(container, current, segment, loc)
        loc = (*loc, key)
        if position == len(segments) - 1:
            _put(container, key, _parse(value, child))
            return loc
        nested = shape(child)
        existing = _get(container, key)
        wanted = list if nested.kind == "sequence" else dict
        if not isinstance(existing, wanted):
            existing = wanted()
            _put(container, key, existing)
        container, current = existing, nested
    raise _OverrideError("no key given")  # unreachable: split() yields at least one segment


def _step(container: Any, current: Shape, segment: str, loc: Loc) -> tuple[str | int, Any]:
    """Resolve one segment to (real key, annotation of its value)."""
    where = f"under '{format_loc(loc)}'" if loc else "at the top level"
    if current.kind == "model" and current.model is not None:
        real = match_key(current.model, segment)
        if real is None:
            hint = suggest(current.model, segment)
            tip = f"; did you mean '{hint}'?" if hint else ""
            raise _OverrideError(f"unknown key '{segment}' {where}{tip}")
        return real, current.model.model_fields[_field_name(current.model, real)].annotation
    if current.kind == "sequence":
        if not segment.isdigit():
            raise _OverrideError(f"'{segment}' {where} must be a list index (0, 1, …)")
        index, size = int(segment), len(container)
        if index > size:
            raise _OverrideError(f"index {index} {where} is out of range: the list has {size} item(s)")
        return index, current.item
    if current.kind in ("mapping", "any"):
        folded = segment.lower()
        existing = next((k for k in container if isinstance(k, str) and k.lower() == folded), segment)
        return existing, current.item if current.kind == "mapping" else Any
    raise _OverrideError(f"'{format_loc(loc)}' holds a single value and has no key '{segment}'")


def _field_name(model: type[BaseModel], key: str) -> str:
    return next(name for name, info in model.model_fields.items() if (info.alias or name) == key)


def _get(container: Any, key: str | int) -> Any:
    if isinstance(container, list):
        return container[key] if isinstance(key, int) and key < len(container) else None
    return container.get(key)


def _put(container: Any, key: str | int, value: Any) -> None:
    if isinstance(container, list) and isinstance(key, int):
        if key == len(container):
            container.append(value)
        else:
            container[key] = value
    else:
        container[key] = value


def _parse(value: str, annotation: Any) -> Any:
    """Text keys keep the value verbatim (a token '0123' stays a string); others read it as YAML."""
    if is_text(annotation):
        return None if is_optional(annotation) and value.strip() in _NULLS else value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(parsed, dict | list) and not value.lstrip().startswith(("[", "{")):
        return value
    return parsed
