"""Profile variables: place the request's values in the profiles that declare them, and check them.

The anchor's wizard drops the variables it collects (compat F5); Palette takes them as
``profiles[].variables[{name, value}]``. Values per profile (``profileVariables``) go to that profile;
cluster-wide values (``clusterVariables``) go to every selected profile declaring the name. Each value is
checked against the profile's declaration (pattern, options, immutability); a required variable without
value or default is a problem. Values never appear in a message (they may be secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ingestor.creation.problems import Problem

Scalar = str | int | float | bool


@dataclass(frozen=True)
class VariableDef:
    """One variable a profile declares (``v1Variable``)."""

    name: str
    required: bool = False
    default: str | None = None
    regex: str | None = None
    immutable: bool = False
    options: tuple[str, ...] = ()


def text(value: Scalar) -> str:
    """How a value is sent: booleans as ``true``/``false``, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def assign(
    profile_uids: Sequence[str],
    declared: Mapping[str, Sequence[VariableDef]],
    per_profile: Mapping[str, Mapping[str, Scalar]],
    cluster: Mapping[str, Scalar],
) -> tuple[dict[str, list[dict[str, str]]], list[Problem]]:
    """``{profile uid: [{name, value}]}`` for the entity, and every problem found."""
    problems: list[Problem] = []
    chosen: dict[str, dict[str, str]] = {uid: {} for uid in profile_uids}
    for uid, values in per_profile.items():
        known = {v.name: v for v in declared.get(uid, ())}
        for name, value in values.items():
            field = f"profileVariables.{uid}.{name}"
            if name not in known:
                problems.append(Problem(field, "is not a variable of this profile"))
                continue
            problems += _check(field, known[name], text(value))
            chosen[uid][name] = text(value)
    for name, value in cluster.items():
        targets = [uid for uid in profile_uids if any(v.name == name for v in declared.get(uid, ()))]
        if not targets:
            problems.append(Problem(f"clusterVariables.{name}", "no selected profile declares this variable"))
        for uid in targets:
            if name in chosen[uid]:
                continue  # a per-profile value wins
            definition = next(v for v in declared[uid] if v.name == name)
            problems += _check(f"clusterVariables.{name}", definition, text(value))
            chosen[uid][name] = text(value)
    for uid in profile_uids:
        for definition in declared.get(uid, ()):
            if definition.required and not chosen[uid].get(definition.name) and not definition.default:
                problems.append(
                    Problem(
                        f"profileVariables.{uid}.{definition.name}",
                        "is required by the profile and has no default",
                    )
                )
    entity = {
        uid: [{"name": n, "value": v} for n, v in sorted(values.items())] for uid, values in chosen.items()
    }
    return entity, sorted(set(problems))


def _check(field: str, definition: VariableDef, value: str) -> list[Problem]:
    problems = []
    if definition.immutable and definition.default is not None and value != definition.default:
        problems.append(Problem(field, "is immutable in the profile"))
    if definition.options and value not in definition.options:
        problems.append(Problem(field, "is not one of the profile's options"))
    if definition.regex:
        try:
            pattern = re.compile(definition.regex)
        except re.error:
            pattern = None  # a pattern Python cannot read is Palette's to apply
        if pattern is not None and pattern.fullmatch(value) is None:
            problems.append(Problem(field, "does not match the profile's pattern for it"))
    return problems
