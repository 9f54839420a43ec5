"""The dashboard search language over pre-flattened rows: cluster filter groups, profile and project
filters, sorting on the enum fields; unknown properties or sort fields are a 422.
Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ingestor.simulator.clock import normalise_time
from ingestor.simulator.errors import ApiError
from ingestor.simulator.index import ClusterRow, version_key

Predicate = Callable[[ClusterRow], bool]

CLUSTER_STRINGS: dict[str, Callable[[ClusterRow], Sequence[str]]] = {
    "environment": lambda r: (r.env,),
    "clusterName": lambda r: (r.name,),
    "clusterState": lambda r: (r.state,),
    "healthState": lambda r: (r.health,),
    "tags": lambda r: r.tags,
    "architecture": lambda r: r.arch,
    "cloudAccountUid": lambda r: (r.account_uid,),
    "projectUid": lambda r: (r.project_uid,),
    "clusterGroupUid": lambda r: (r.group_uid,),
}
CLUSTER_BOOLS: dict[str, Callable[[ClusterRow], bool]] = {
    "isDeleted": lambda r: r.deleted,
    "isHostCluster": lambda r: r.is_host,
}
CLUSTER_DATES: dict[str, Callable[[ClusterRow], str]] = {
    "creationTimestamp": lambda r: r.created,
    "lastModifiedTimestamp": lambda r: r.modified,
}
CLUSTER_SORTS: dict[str, Callable[[ClusterRow], str]] = {
    "environment": lambda r: r.env,
    "clusterName": lambda r: r.name,
    "clusterState": lambda r: r.state,
    "healthState": lambda r: r.health,
    "creationTimestamp": lambda r: r.created,
    "lastModifiedTimestamp": lambda r: r.modified,
}
STRING_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b,
    "contains": lambda a, b: b in a,
    "beginsWith": lambda a, b: a.startswith(b),
}
DATE_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


def _bad(path: str, message: str) -> ApiError:
    return ApiError(422, "InvalidFilter", f"{path}: {message}")


def _obj(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(path, "must be an object")
    return value


def _combine(conjunction: Any, results: list[bool]) -> bool:
    return all(results) if conjunction == "and" else any(results)


def _string_condition(
    getter: Callable[[ClusterRow], Sequence[str]], cond: dict[str, Any], path: str
) -> Predicate:
    operator = cond.get("operator") or "eq"
    if operator not in STRING_OPERATORS:
        raise _bad(f"{path}.operator", f"must be one of {sorted(STRING_OPERATORS)}")
    test = STRING_OPERATORS[operator]
    fold = bool(cond.get("ignoreCase"))
    match = _obj(cond.get("match"), f"{path}.match")
    values = [str(v).lower() if fold else str(v) for v in match.get("values") or []]
    conjunction, negation = match.get("conjunction") or "or", bool(cond.get("negation"))

    def predicate(row: ClusterRow) -> bool:
        fields = [f.lower() for f in getter(row)] if fold else list(getter(row))
        hit = not values or _combine(conjunction, [any(test(f, v) for f in fields) for v in values])
        return hit != negation

    return predicate


def _key_value_condition(cond: dict[str, Any], path: str) -> Predicate:
    key = str(cond.get("key") or "")
    rest = {k: v for k, v in cond.items() if k != "key"}
    fold = bool(cond.get("ignoreCase"))

    def values_of(row: ClusterRow) -> list[str]:
        out = []
        for tag in row.tags:
            name, _, value = tag.partition(":")
            if (name.lower() == key.lower()) if fold else (name == key):
                out.append(value)
        return out

    return _string_condition(values_of, rest, path)


def _date_condition(getter: Callable[[ClusterRow], str], cond: dict[str, Any], path: str) -> Predicate:
    operator = cond.get("operator") or "eq"
    match = _obj(cond.get("match"), f"{path}.match")
    try:
        values = [normalise_time(str(v)) for v in match.get("values") or []]
    except ValueError:
        raise _bad(f"{path}.match.values", "must be RFC 3339 timestamps") from None
    negation = bool(cond.get("negation"))
    if operator == "range":
        if len(values) != 2:
            raise _bad(f"{path}.match.values", "a range needs exactly two timestamps")
        low, high = values
        return lambda row: (low <= getter(row) <= high) != negation
    if operator not in DATE_OPERATORS:
        raise _bad(f"{path}.operator", "must be one of eq, gt, gte, lt, lte, range")
    test, conjunction = DATE_OPERATORS[operator], match.get("conjunction") or "or"
    return lambda row: (
        (not values or _combine(conjunction, [test(getter(row), v) for v in values])) != negation
    )


def _item(item: Any, path: str) -> Predicate:
    item = _obj(item, path)
    prop = str(item.get("property") or "")
    condition = _obj(item.get("condition"), f"{path}.condition")
    kind = item.get("type") or next(iter(condition), "string")
    cond = _obj(condition.get(kind), f"{path}.condition.{kind}")
    where = f"{path}.condition.{kind}"
    if kind == "string" and prop in CLUSTER_STRINGS:
        return _string_condition(CLUSTER_STRINGS[prop], cond, where)
    if kind == "keyValue" and prop == "tags":
        return _key_value_condition(cond, where)
    if kind == "bool" and prop in CLUSTER_BOOLS:
        getter, wanted = CLUSTER_BOOLS[prop], bool(cond.get("value"))
        return lambda row: getter(row) == wanted
    if kind == "date" and prop in CLUSTER_DATES:
        return _date_condition(CLUSTER_DATES[prop], cond, where)
    known = sorted({*CLUSTER_STRINGS, *CLUSTER_BOOLS, *CLUSTER_DATES})
    raise _bad(
        f"{path}.property", f"unsupported property/type {prop!r}/{kind!r}; properties: {', '.join(known)}"
    )


def cluster_predicate(body: dict[str, Any]) -> Predicate:
    """Compile ``body.filter`` (``v1SearchFilterSpec``) into one row predicate."""
    spec = _obj(body.get("filter"), "filter")
    groups = []
    for g, group in enumerate(spec.get("filterGroups") or []):
        group = _obj(group, f"filter.filterGroups.{g}")
        items = [
            _item(it, f"filter.filterGroups.{g}.filters.{i}")
            for i, it in enumerate(group.get("filters") or [])
        ]
        groups.append((group.get("conjunction") or "and", items))
    top = spec.get("conjunction") or "and"
    if not groups:
        return lambda row: True

    def predicate(row: ClusterRow) -> bool:
        return _combine(
            top, [_combine(conj, [p(row) for p in items]) if items else True for conj, items in groups]
        )

    return predicate


def sort_specs(body: dict[str, Any], fields: Sequence[str]) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` from ``body.sort``; fields outside the enum are a 422."""
    out = []
    sort = body.get("sort") or []
    if not isinstance(sort, list):
        raise _bad("sort", "must be an array")
    for i, spec in enumerate(sort):
        spec = _obj(spec, f"sort.{i}")
        field, order = spec.get("field"), spec.get("order") or "asc"
        if field is None:
            continue
        if field not in fields:
            raise _bad(f"sort.{i}.field", f"{field!r} is not one of {list(fields)}")
        if order not in ("asc", "desc"):
            raise _bad(f"sort.{i}.order", f"{order!r} is not one of ['asc', 'desc']")
        out.append((str(field), order == "desc"))
    return out


def sort_rows(uids: list[str], rows: dict[str, ClusterRow], specs: list[tuple[str, bool]]) -> list[str]:
    """Stable multi-key sort; ``uids`` arrives in the default order (name, uid)."""
    for field, descending in reversed(specs):
        getter = CLUSTER_SORTS[field]
        uids = sorted(uids, key=lambda u: getter(rows[u]), reverse=descending)
    return uids


def name_filter(spec: Any, path: str) -> Callable[[str], bool]:
    """``v1FilterString`` (eq, ne, contains, beginsWith; ``ignoreCase`` defaults to true)."""
    spec = _obj(spec, path)
    fold = spec.get("ignoreCase", True) is not False
    tests: list[Callable[[str], bool]] = []
    for op, test in (
        ("eq", str.__eq__),
        ("ne", str.__ne__),
        ("contains", str.__contains__),
        ("beginsWith", str.startswith),
    ):
        value = spec.get(op)
        if value is None:
            continue
        wanted = str(value).lower() if fold else str(value)
        tests.append(lambda name, t=test, w=wanted: bool(t(name, w)))  # type: ignore[misc]
    return lambda name: all(t(name.lower() if fold else name) for t in tests)


def version_filter(spec: Any, path: str) -> Callable[[str], bool]:
    """``v1FilterVersionString`` (eq, ne, gt, lt, beginsWith) compared as versions."""
    conditions = [(op, str(value)) for op, value in _obj(spec, path).items() if value is not None]
    for op, _ in conditions:
        if op not in ("eq", "ne", "gt", "lt", "beginsWith"):
            raise _bad(f"{path}.{op}", "unknown operator; use eq, ne, gt, lt or beginsWith")

    def holds(version: str, op: str, wanted: str) -> bool:
        if op == "eq":
            return version == wanted
        if op == "ne":
            return version != wanted
        if op == "gt":
            return version_key(version) > version_key(wanted)
        if op == "lt":
            return version_key(version) < version_key(wanted)
        return version.startswith(wanted)

    return lambda version: all(holds(version, op, wanted) for op, wanted in conditions)
