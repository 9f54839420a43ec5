"""A problem with a creation request: the field it concerns and what is wrong (never the value)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    """``field``: a path in the request body (``machinePoolConfig[0].count``); ``message``: what is wrong."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidRequestError(Exception):
    """The request cannot become a valid Palette entity; ``problems`` lists every bad field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(set(problems))
        shown = "; ".join(f"{p.field}: {p.message}" for p in self.problems[:5])
        more = f"; and {len(self.problems) - 5} more" if len(self.problems) > 5 else ""
        super().__init__(f"Invalid cluster request ({len(self.problems)} problems): {shown}{more}")


def path(parts: Iterable[str | int], prefix: str = "") -> str:
    """``("a", 0, "b")`` → ``a[0].b`` (after ``prefix``)."""
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(body)"


_TYPE_NAMES = frozenset({"str", "constrained-str", "int", "float", "bool", "VsphereInstance"})


def _type_tag(part: str | int) -> bool:
    """Union members and validators show up in pydantic locations; they are not fields."""
    return isinstance(part, str) and ("[" in part or part.startswith("function-") or part in _TYPE_NAMES)


def from_pydantic(error: ValidationError, prefix: str = "") -> list[Problem]:
    """One problem per pydantic error, with the camelCase field path and a message without the input."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        loc = [part for part in item["loc"] if not _type_tag(part)]
        message = str(item["msg"])
        if item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif item["type"] == "missing":
            message = "is required"
        problems.append(Problem(path(loc, prefix), message))
    return problems
