"""Builds ``Settings``: read YAML → apply ``INGESTOR__`` overrides → substitute ``${VAR}`` → validate.

Every problem of every stage is collected and raised together as one ``ConfigError``.
Foundation layer: imports only ingestor.errors and ingestor.palette.options (through the models).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ingestor.config.checks import cross_checks
from ingestor.config.introspect import Loc, drop_nulls
from ingestor.config.models import Settings
from ingestor.config.overrides import apply_overrides
from ingestor.config.problems import (
    Problem,
    from_validation_error,
    raise_if_any,
    secret_candidates,
)
from ingestor.config.substitution import substitute_tree
from ingestor.errors import ConfigError


def load_settings(path: Path | None, env: Mapping[str, str] = os.environ) -> Settings:
    """Load and validate the YAML file at ``path`` (or only defaults and overrides when None)."""
    if path is None:
        return _build({}, env, {}, [])
    data, lines, duplicates = parse_yaml(_read(path))
    return _build(data, env, lines, duplicates)


def settings_from_dict(data: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> Settings:
    """Validate an already parsed configuration (same substitution and overrides as a file)."""
    return _build(data, env, {}, [])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([("", f"configuration file not found: {path}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([("", f"configuration file is not UTF-8 text: {path}")]) from None
    except OSError as exc:
        raise ConfigError([("", f"cannot read configuration file {path}: {exc.strerror}")]) from None


def parse_yaml(text: str) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """The parsed document, the line of every key and the duplicate keys; raises on invalid YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}, []
        lines: dict[Loc, int] = {}
        duplicates: list[Problem] = []
        _index(node, (), lines, duplicates, set())
        return loader.construct_document(node), lines, duplicates
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([("", _yaml_message(exc))]) from None
    except yaml.YAMLError:
        raise ConfigError([("", "invalid YAML")]) from None
    finally:
        loader.dispose()


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    # Only the problem and its position: the exception's snippet of the file may hold a secret.
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    message = f"invalid YAML{where}: {exc.problem or exc.context or 'syntax error'}"
    if exc.problem and exc.context and exc.context_mark is not None:
        message += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
    return message


def _index(
    node: yaml.Node, loc: Loc, lines: dict[Loc, int], duplicates: list[Problem], seen: set[int]
) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            child = (*loc, key)
            if key in keys:
                duplicates.append((child, f"duplicate key, repeated at line {line}"))
                continue
            keys.add(key)
            lines[child] = line
            _index(value_node, child, lines, duplicates, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _index(item, (*loc, index), lines, duplicates, seen)


def _ignored(loc: Loc) -> bool:
    """Blocks we accept and ignore are not substituted (their variables may be meant for Backstage)."""
    return len(loc) == 4 and loc[:2] == ("spectrocloud", "environments") and loc[3] == "clusterProvider"


def _build(
    data: Mapping[str, Any], env: Mapping[str, str], lines: Mapping[Loc, int], duplicates: list[Problem]
) -> Settings:
    if not isinstance(data, Mapping):
        raise ConfigError([("", "the top level must be a mapping of sections (spectrocloud:, server: …)")])
    raw: dict[str, Any] = copy.deepcopy(dict(data))
    overridden, problems = apply_overrides(raw, env, Settings)
    problems = duplicates + problems
    raw, substitution_problems = substitute_tree(raw, env, lambda loc: loc in overridden or _ignored(loc))
    problems += substitution_problems
    failed = {loc for loc, _ in substitution_problems}
    # A value whose substitution failed is reported once, not again as a bad URL or a duplicate.
    problems += [p for p in cross_checks(raw) if not _below_any(p, failed)]
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(drop_nulls(raw, Settings), by_alias=True, by_name=False)
    except ValidationError as exc:
        problems += [p for p in from_validation_error(exc, Settings) if not _below_any(p, failed)]
    raise_if_any(problems, lines=lines, overridden=overridden, secrets=secret_candidates(raw))
    if settings is None:  # pragma: no cover - every failed validation left a problem above
        raise ConfigError([("", "invalid configuration")])
    return settings


def _below_any(problem: Problem, roots: set[Loc]) -> bool:
    loc = problem[0]
    return any(loc[: len(root)] == root for root in roots)
