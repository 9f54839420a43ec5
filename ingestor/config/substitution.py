"""``${VAR}``, ``${VAR:-default}`` and ``$${`` (a literal ``${``) in every string value of the raw tree.

Foundation layer: imports nothing of ours. Problems name the key path and the variable, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ingestor.config.introspect import Loc

Problem = tuple[Loc, str]

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_EXPRESSION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
_SYNTAX_HINT = "use ${NAME} or ${NAME:-default}, and $${ for a literal '${'"


class _Undefined(Exception):
    """A substitution that cannot be resolved; the message is safe to show."""


def substitute_text(text: str, env: Mapping[str, str]) -> str:
    """Resolve every reference in one string; raises ``ValueError`` with a value-free message."""
    try:
        return _TOKEN.sub(lambda m: _replacement(m, env), text)
    except _Undefined as exc:
        raise ValueError(str(exc)) from None


def _replacement(match: re.Match[str], env: Mapping[str, str]) -> str:
    token = match.group(0)
    if token == "$${":
        return "${"
    if not token.endswith("}"):
        raise _Undefined(f"unterminated '${{' ({_SYNTAX_HINT})")
    parsed = _EXPRESSION.match(match.group(1))
    if parsed is None:
        raise _Undefined(f"invalid substitution ({_SYNTAX_HINT})")
    name, default = parsed.group(1), parsed.group(2)
    if default is not None and "${" in default:
        raise _Undefined("nested substitutions are not supported")
    value = env.get(name)
    if default is not None:
        return value if value else default
    if value is None:
        hint = f"write ${{{name}:-default}} to give a default"
        raise _Undefined(f"environment variable '{name}' is not set ({hint})")
    return value


def substitute_tree(
    data: Any, env: Mapping[str, str], skip: Callable[[Loc], bool]
) -> tuple[Any, list[Problem]]:
    """A copy of ``data`` with every string resolved, and the problems found (one per failing value)."""
    problems: list[Problem] = []

    def walk(value: Any, loc: Loc) -> Any:
        if skip(loc):
            return value
        if isinstance(value, str):
            try:
                return substitute_text(value, env)
            except ValueError as exc:
                problems.append((loc, str(exc)))
                return value
        if isinstance(value, dict):
            return {key: walk(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*loc, index)) for index, item in enumerate(value)]
        return value

    return walk(data, ()), problems
