"""Turns validation findings into ``ConfigError`` problems: key paths, plain messages, no secret values.

Foundation layer: imports only ingestor.errors. Pydantic is asked for errors without inputs, and every
message is scrubbed of secret values found in the raw configuration as a second line of defence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ingestor.config.introspect import Loc, model_at, suggest
from ingestor.config.values import MASK, password_variants, url_password
from ingestor.errors import ConfigError

Problem = tuple[Loc, str]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SECRET_KEY_SUFFIXES = ("token", "secret", "password", "passwd", "apikey", "encryptionkey")
_MIN_SCRUB_LENGTH = 4
_WORDS = (("a valid tuple", "a list"), ("a valid dictionary", "a mapping"), ("a valid list", "a list"))


def format_loc(loc: Loc) -> str:
    """``('spectrocloud', 'environments', 1, 'url')`` → ``spectrocloud.environments[1].url``."""
    out = ""
    for segment in loc:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif _IDENT.match(segment):
            out += f".{segment}" if out else segment
        else:
            out += f"[{json.dumps(segment)}]"
    return out


def from_validation_error(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One problem per pydantic error, with our wording for unknown and missing keys."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = _unknown_key(root, loc)
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "model_type":
            message = "Input should be a mapping of keys"
        else:
            message = _plain(error["msg"])
        if loc and loc[-1] == "[key]":  # pydantic's marker for a bad mapping key
            loc, message = loc[:-1], f"invalid key: {message}"
        problems.append((loc, message))
    return problems


def _plain(message: str) -> str:
    """Pydantic's wording in YAML terms."""
    message = message.removeprefix("Value error, ")
    for python, yaml_word in _WORDS:
        message = message.replace(python, yaml_word)
    return message


def _unknown_key(root: type[BaseModel], loc: Loc) -> str:
    model = model_at(root, loc[:-1])
    key = loc[-1]
    hint = suggest(model, str(key)) if model is not None else None
    return f"unknown key; did you mean '{hint}'?" if hint else "unknown key"


def raise_if_any(
    problems: list[Problem],
    *,
    lines: Mapping[Loc, int],
    overridden: Mapping[Loc, str],
    secrets: Iterable[str],
) -> None:
    """Raise one ``ConfigError`` listing every problem (deduplicated, with line or variable of origin)."""
    if not problems:
        return
    scrub = _scrubber(secrets)
    rendered: list[tuple[str, str]] = []
    for loc, message in problems:
        item = (format_loc(loc), scrub(message + _origin(loc, lines, overridden)))
        if item not in rendered:
            rendered.append(item)
    raise ConfigError(rendered)


def _origin(loc: Loc, lines: Mapping[Loc, int], overridden: Mapping[Loc, str]) -> str:
    for size in range(len(loc), 0, -1):
        if loc[:size] in overridden:
            return f" (set by {overridden[loc[:size]]})"
    for size in range(len(loc), 0, -1):
        if loc[:size] in lines:
            return f" (line {lines[loc[:size]]})"
    return ""


def _scrubber(secrets: Iterable[str]) -> Any:
    values = sorted({s for s in secrets if len(s) >= _MIN_SCRUB_LENGTH}, key=len, reverse=True)
    if not values:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return lambda text: pattern.sub(MASK, text)


def secret_candidates(data: Any) -> list[str]:
    """Strings in the raw tree that may be secrets: values of secret-like keys and URL passwords."""
    found: list[str] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str):
            if key.replace("_", "").lower().endswith(_SECRET_KEY_SUFFIXES):
                found.append(value)
            if "://" in value and (password := url_password(value)):
                found.extend(password_variants(password))
        elif value is not None and key.replace("_", "").lower().endswith(_SECRET_KEY_SUFFIXES):
            found.append(str(value))

    walk(data, "")
    return found
