"""The Palette operations the service calls: path template, body and response definitions, query params.

Derived from the bundled spec's ``operations`` section, plus explicit entries for calls the spec lacks
(``GET /v1/users/me``). Imports nothing of ours outside ``ingestor.palette``; no httpx.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ingestor.palette.schema import REF_PREFIX, load_bundle

BINARY = "binary"  # response marker: an octet-stream body (kubeconfig downloads), not JSON


@dataclass(frozen=True)
class QueryParam:
    """A query parameter the spec declares for one operation."""

    name: str
    type: str | None = None
    required: bool = False
    maximum: float | None = None
    default: Any = None


@dataclass(frozen=True, eq=False)
class Operation:
    """One Palette operation. ``responses`` maps each success status to a definition name,
    ``BINARY``, or ``None`` (no body, e.g. 204)."""

    method: str
    path: str
    operation_id: str | None = None
    request: str | None = None
    responses: Mapping[int, str | None] = field(default_factory=dict)
    query: Mapping[str, QueryParam] = field(default_factory=dict)
    in_spec: bool = True
    request_required: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(seg[1:-1] for seg in self.segments if _is_param(seg))

    @property
    def binary(self) -> bool:
        return BINARY in self.responses.values()

    def declares(self, status: int) -> bool:
        return status in self.responses

    def response_for(self, status: int) -> str | None:
        """The definition (or ``BINARY``/``None``) for a declared success status; ``KeyError`` otherwise."""
        return self.responses[status]


# Calls outside the public spec (palette-api.md 2.3): validated by definition name.
EXTRA_OPERATIONS: tuple[Operation, ...] = (
    Operation("GET", "/v1/users/me", None, None, {200: "v1UserMe"}, {}, in_spec=False),
)


def _is_param(segment: str) -> bool:
    return len(segment) > 2 and segment.startswith("{") and segment.endswith("}")


def _schema_name(schema: Mapping[str, Any] | None, where: str) -> str | None:
    if schema is None:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        return ref[len(REF_PREFIX) :]
    if schema.get("type") == "string" and schema.get("format") == "binary":
        return BINARY
    raise ValueError(f"{where}: unsupported schema {schema!r}")


def operation_from_spec(entry: Mapping[str, Any]) -> Operation:
    """An ``Operation`` from one item of the bundle's ``operations`` section."""
    method, path = str(entry["method"]).upper(), str(entry["path"])
    where = f"{method} {path}"
    request: str | None = None
    request_required = False
    query: dict[str, QueryParam] = {}
    for param in entry.get("parameters", ()):
        if param["in"] == "body":
            request = _schema_name(param.get("schema"), where)
            request_required = bool(param.get("required", False))
        elif param["in"] == "query":
            query[param["name"]] = QueryParam(
                name=param["name"],
                type=param.get("type"),
                required=bool(param.get("required", False)),
                maximum=param.get("maximum"),
                default=param.get("default"),
            )
    responses = {int(status): _schema_name(schema, where) for status, schema in entry["responses"].items()}
    return Operation(
        method, path, entry.get("operationId"), request, responses, query, request_required=request_required
    )


class OperationTable:
    """Operations by method and template; ``match`` maps concrete paths to templates."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._ops: dict[tuple[str, str], Operation] = {}
        for op in operations:
            key = (op.method, op.path)
            if key in self._ops:
                raise ValueError(f"duplicate operation {key[0]} {key[1]}")
            self._ops[key] = op

    @classmethod
    def from_spec(
        cls, entries: Sequence[Mapping[str, Any]], *, extra: Iterable[Operation] = EXTRA_OPERATIONS
    ) -> OperationTable:
        return cls([*(operation_from_spec(entry) for entry in entries), *extra])

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._ops.values())

    def __len__(self) -> int:
        return len(self._ops)

    def get(self, method: str, template: str) -> Operation | None:
        """The operation with exactly this template (``/v1/spectroclusters/{uid}``)."""
        return self._ops.get((method.upper(), template))

    def match(self, method: str, path: str) -> Operation | None:
        """The operation serving a concrete path; literal segments win over parameters."""
        # No stripping: "/v1/projects/" must not match "/v1/projects" (empty segments never match).
        parts = tuple(path[1:].split("/")) if path.startswith("/") else ()
        best: tuple[tuple[bool, ...], Operation] | None = None
        for (op_method, _), op in self._ops.items():
            if op_method != method.upper():
                continue
            rank = _rank(op.segments, parts)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, op)
        return best[1] if best else None


def _rank(template: tuple[str, ...], parts: tuple[str, ...]) -> tuple[bool, ...] | None:
    """None when ``parts`` does not fit ``template``; else one flag per segment (True = parameter)."""
    if len(template) != len(parts):
        return None
    flags = []
    for want, got in zip(template, parts, strict=True):
        if _is_param(want):
            if not got:
                return None
            flags.append(True)
        elif want != got:
            return None
        else:
            flags.append(False)
    return tuple(flags)


@lru_cache(maxsize=1)
def default_table() -> OperationTable:
    """The table built from the bundled spec (cached)."""
    return OperationTable.from_spec(load_bundle()["operations"])


def match(method: str, path: str) -> Operation | None:
    """``match("GET", "/v1/spectroclusters/abc/profiles")`` -> that operation of the default table."""
    return default_table().match(method, path)
