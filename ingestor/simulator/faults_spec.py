"""Fault specs for the simulator: one frozen dataclass per kind, parsed from JSON with clear problems.

Pure data (no ASGI, no I/O). Of ours it imports only ``ingestor.errors``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from ingestor.errors import ConfigError

Problems = list[tuple[str, str]]


@dataclass(frozen=True, kw_only=True)
class Fault:
    """Filters shared by every fault; all must hold for it to fire.

    ``path`` is a glob (``*`` also crosses ``/``) or ``re:<regex>`` (full match). ``probability`` rolls a
    per-fault RNG seeded from the state's seed. ``times`` caps firings. ``start``/``end`` are seconds
    after the fault was added (``end`` None: until removed).
    """

    kind: ClassVar[str] = ""
    path: str = "*"
    method: str | None = None
    project_uid: str | None = None
    probability: float = 1.0
    times: int | None = None
    start: float = 0.0
    end: float | None = None

    def __post_init__(self) -> None:
        if problems := self.problems():
            raise ConfigError(problems)

    def problems(self) -> Problems:
        out: Problems = []
        try:
            path_regex(self.path)
        except re.error as exc:
            out.append(("path", f"invalid regular expression: {exc}"))
        if not 0 <= self.probability <= 1:
            out.append(("probability", "must be between 0 and 1"))
        if self.times is not None and self.times < 1:
            out.append(("times", "must be at least 1"))
        if self.start < 0:
            out.append(("start", "must not be negative"))
        if self.end is not None and self.end <= self.start:
            out.append(("end", "must be after start"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True, kw_only=True)
class LatencyFault(Fault):
    """Delay the request by ``ms`` (plus up to ``jitter_ms``), then carry on."""

    kind: ClassVar[str] = "latency"
    ms: float
    jitter_ms: float = 0.0

    def problems(self) -> Problems:
        out = super().problems()
        if self.ms < 0 or self.jitter_ms < 0:
            out.append(("ms", "ms and jitter_ms must not be negative"))
        return out


@dataclass(frozen=True, kw_only=True)
class ErrorFault(Fault):
    """Answer ``status`` with a ``v1Error`` body (code defaults to the status phrase, e.g. BadGateway)."""

    kind: ClassVar[str] = "error"
    status: int = 500
    code: str | None = None
    message: str | None = None

    def problems(self) -> Problems:
        out = super().problems()
        if not 400 <= self.status <= 599:
            out.append(("status", "must be between 400 and 599"))
        return out


@dataclass(frozen=True, kw_only=True)
class StormFault(Fault):
    """Answer 429 ``TooManyRequests`` (a storm: bound it with ``end`` or ``times``)."""

    kind: ClassVar[str] = "storm"
    retry_after: float | None = None  # seconds for a Retry-After header; None sends none, like Palette

    def problems(self) -> Problems:
        out = super().problems()
        if self.retry_after is not None and self.retry_after <= 0:
            out.append(("retry_after", "must be positive"))
        return out


@dataclass(frozen=True, kw_only=True)
class HangFault(Fault):
    """Hold the request ``seconds`` (None: until released or shutdown), then answer normally or drop it."""

    kind: ClassVar[str] = "hang"
    seconds: float | None = None
    then: Literal["answer", "drop"] = "answer"

    def problems(self) -> Problems:
        out = super().problems()
        if self.seconds is not None and self.seconds < 0:
            out.append(("seconds", "must not be negative"))
        return out


@dataclass(frozen=True, kw_only=True)
class OutageFault(Fault):
    """Answer 503 to requests scoped to ``project_uid`` (header or query) within the time window."""

    kind: ClassVar[str] = "outage"

    def problems(self) -> Problems:
        out = super().problems()
        if not self.project_uid:
            out.append(("project_uid", "required for an outage"))
        return out


@dataclass(frozen=True, kw_only=True)
class MalformedFault(Fault):
    """Answer 200 with the app's body cut in half (``truncate``) or corrupted (``garble``)."""

    kind: ClassVar[str] = "malformed"
    mode: Literal["truncate", "garble"] = "truncate"


@dataclass(frozen=True, kw_only=True)
class PageFault(Fault):
    """Rewrite a paged JSON response: ``items: null``, the request's ``continue`` token sent back, or
    half the items cut while ``listmeta`` is left unchanged. Fires only on bodies it can rewrite."""

    kind: ClassVar[str] = "page"
    mode: Literal["items_null", "repeat_continue", "truncate"]


@dataclass(frozen=True, kw_only=True)
class ResetFault(Fault):
    """Close the connection without answering (TCP reset under uvicorn)."""

    kind: ClassVar[str] = "reset"


KINDS: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (
        LatencyFault,
        ErrorFault,
        StormFault,
        HangFault,
        OutageFault,
        MalformedFault,
        PageFault,
        ResetFault,
    )
}
ANSWERS = (ErrorFault, StormFault, OutageFault, ResetFault)
REWRITES = (MalformedFault, PageFault)


@functools.lru_cache(maxsize=512)
def path_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern[3:] if pattern.startswith("re:") else fnmatch.translate(pattern))


def parse_fault(data: object, where: str = "fault") -> Fault:
    """Build a fault from a JSON object; raise ``ConfigError`` naming every bad field."""
    if not isinstance(data, Mapping):
        raise ConfigError([(where, "must be an object")])
    kind = data.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError([(f"{where}.kind", f"must be one of: {', '.join(KINDS)}")])
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    problems: Problems = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "kind":
            continue
        if key not in fields:
            problems.append((f"{where}.{key}", "unknown field"))
        elif (problem := _type_problem(value, hints[key])) is not None:
            problems.append((f"{where}.{key}", problem))
        else:
            values[key] = float(value) if _wants_float(hints[key]) and isinstance(value, int) else value
    for name, f in fields.items():
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and name not in data:
            problems.append((f"{where}.{name}", "required"))
    if problems:
        raise ConfigError(problems)
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError([(f"{where}.{p}", m) for p, m in exc.problems]) from None


def parse_faults(data: object, where: str = "faults") -> list[Fault]:
    """Parse one fault object or a list of them; problems of all items are reported together."""
    if not isinstance(data, list):
        return [parse_fault(data, where)]
    faults: list[Fault] = []
    problems: Problems = []
    for i, item in enumerate(data):
        try:
            faults.append(parse_fault(item, f"{where}[{i}]"))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return faults


def _options(hint: Any) -> tuple[Any, ...]:
    return get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)


def _wants_float(hint: Any) -> bool:
    return float in _options(hint)


def _type_problem(value: object, hint: Any) -> str | None:
    names = []
    for option in _options(hint):
        if get_origin(option) is Literal:
            if value in get_args(option) and isinstance(value, str):
                return None
            names.append("one of " + ", ".join(repr(a) for a in get_args(option)))
        elif option is type(None):
            if value is None:
                return None
            names.append("null")
        else:
            number_ok = option is float and isinstance(value, int)
            if (isinstance(value, option) or number_ok) and not isinstance(value, bool):
                return None
            names.append({float: "a number", int: "an integer", str: "a string"}.get(option, str(option)))
    return "must be " + " or ".join(names)
