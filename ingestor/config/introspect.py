"""Walks the settings models by their YAML keys: for env overrides, key suggestions and doc coverage.

Foundation layer: imports nothing of ours.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Shape:
    """What a key holds: a model, a list (``item``), a mapping (``item``), free data or a leaf value."""

    kind: Literal["model", "sequence", "mapping", "any", "leaf"]
    model: type[BaseModel] | None = None
    item: Any = None
    leaf: Any = None


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``| None`` wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def shape(annotation: Any) -> Shape:
    """Classify a field annotation."""
    tp = _strip(annotation)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return Shape("model", model=tp)
    if origin in (tuple, list):
        return Shape("sequence", item=get_args(tp)[0])
    if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        return Shape("mapping", item=get_args(tp)[1])
    if tp is Any or tp is type(None):
        return Shape("any")
    return Shape("leaf", leaf=tp)


def is_optional(annotation: Any) -> bool:
    """Whether ``None`` is an accepted value."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def is_text(annotation: Any) -> bool:
    """Whether a leaf holds text (so an override value is taken verbatim, not parsed as YAML)."""
    tp = _strip(annotation)
    if get_origin(tp) is Literal:
        return all(isinstance(a, str) for a in get_args(tp))
    return isinstance(tp, type) and tp.__name__ in ("str", "SecretStr", "Path", "PosixPath", "WindowsPath")


def keys_of(model: type[BaseModel]) -> dict[str, Any]:
    """YAML key → annotation for every field of a model."""
    return {info.alias or name: info.annotation for name, info in model.model_fields.items()}


def _loose(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def match_key(model: type[BaseModel], key: str) -> str | None:
    """The real key for ``key`` compared case-insensitively, ignoring '_' and '-'."""
    wanted = _loose(key)
    return next((real for real in keys_of(model) if _loose(real) == wanted), None)


def suggest(model: type[BaseModel], key: str) -> str | None:
    """The closest real key to a misspelt one."""
    real = keys_of(model)
    loose = {_loose(k): k for k in real}
    hits = difflib.get_close_matches(_loose(key), list(loose), n=1, cutoff=0.6)
    return loose[hits[0]] if hits else None


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model that holds the keys at ``loc`` (None if ``loc`` is not inside a model)."""
    current: Shape = Shape("model", model=root)
    for segment in loc:
        if current.kind == "model" and isinstance(segment, str) and current.model is not None:
            annotation = keys_of(current.model).get(segment)
            if annotation is None:
                return None
            current = shape(annotation)
        elif current.kind in ("sequence", "mapping"):
            current = shape(current.item)
        else:
            return None
    return current.model if current.kind == "model" else None


def drop_nulls(data: Any, model: type[BaseModel]) -> Any:
    """Remove ``key: null`` where the key does not accept null, so an empty YAML section means defaults."""
    if not isinstance(data, dict):
        return data
    fields = keys_of(model)
    out: dict[Any, Any] = {}
    for key, value in data.items():
        annotation = fields.get(key) if isinstance(key, str) else None
        if annotation is None:
            out[key] = value  # unknown key: validation reports it
        elif value is None and not is_optional(annotation) and shape(annotation).kind != "any":
            continue
        else:
            out[key] = _drop_below(value, shape(annotation))
    return out


def _drop_below(value: Any, current: Shape) -> Any:
    if current.kind == "model" and current.model is not None:
        return drop_nulls(value, current.model)
    if current.kind in ("sequence", "mapping"):
        item = shape(current.item)
        if item.kind == "model" and item.model is not None:
            if isinstance(value, list):
                return [drop_nulls(v, item.model) for v in value]
            if isinstance(value, dict):
                return {k: drop_nulls(v, item.model) for k, v in value.items()}
    return value


def field_paths(root: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every key path, e.g. ``spectrocloud.environments[].catalogProvider.enabled`` (sections included)."""
    for key, annotation in keys_of(root).items():
        path = f"{prefix}.{key}" if prefix else key
        yield path
        yield from _paths_below(shape(annotation), path)


def _paths_below(current: Shape, path: str) -> Iterator[str]:
    if current.kind == "model" and current.model is not None:
        yield from field_paths(current.model, path)
    elif current.kind == "sequence":
        yield from _paths_below(shape(current.item), path + "[]")
    elif current.kind == "mapping":
        yield from _paths_below(shape(current.item), path + ".<prefix>")
