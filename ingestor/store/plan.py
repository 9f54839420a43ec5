"""The pure change planner: stored entities + a new mapping + part outcomes -> adds, changes, removals, holds.

No SQL and no I/O (the writer applies the plan); imports only ``ingestor.errors``, ``crawl.snapshot`` and the
input protocols. Removal guard: a part losing all its entities, or more than ``max_removal_share`` of them, is
held back until ``confirm_removal_after`` consecutive crawls agree (the same set of refs or a superset).
A project-scoped plan (``scopes``) evaluates only the parts of those scopes; everything else stays as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ingestor.crawl.snapshot import PartKey, PartOutcome
from ingestor.errors import FatalError
from ingestor.store.inputs import EntityLike

TENANT_PROJECTS: PartKey = ("tenant", "projects")


class PlanError(FatalError):
    """The mapping handed to the store is inconsistent (a bug upstream); nothing is written."""


@dataclass(frozen=True)
class RemovalPolicy:
    """``database.removalGuard``: when a removal is big enough to wait for confirmation."""

    max_removal_share: float = 0.5
    confirm_removal_after: int = 3
    min_part_size: int = 4

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_removal_share <= 1.0:
            raise ValueError("max_removal_share must be between 0 and 1")
        if self.confirm_removal_after < 1:
            raise ValueError("confirm_removal_after must be at least 1")
        if self.min_part_size < 1:
            raise ValueError("min_part_size must be at least 1")


@dataclass(frozen=True)
class StoredEntity:
    """What the planner needs to know about an entity the store currently serves."""

    ref: str
    part: PartKey
    content_hash: str
    name: str = ""
    kind: str = ""
    palette_kind: str = ""
    key: str = ""
    project_uid: str | None = None


@dataclass(frozen=True)
class HeldRemoval:
    """A removal waiting for confirmation; ``streak`` counts the consecutive crawls that agreed."""

    ref: str
    part: PartKey
    streak: int
    reason: str


@dataclass(frozen=True)
class Addition:
    entity: EntityLike
    content_hash: str


@dataclass(frozen=True)
class Modification:
    entity: EntityLike
    old: StoredEntity
    content_hash: str


@dataclass(frozen=True)
class Release:
    """A hold that ends: ``reappeared``, ``confirmed`` or ``unguarded`` (both removed now), or ``gone``."""

    ref: str
    reason: str


@dataclass(frozen=True)
class Plan:
    additions: tuple[Addition, ...] = ()
    modifications: tuple[Modification, ...] = ()
    removals: tuple[StoredEntity, ...] = ()
    holds: tuple[HeldRemoval, ...] = ()
    releases: tuple[Release, ...] = ()
    unchanged: tuple[str, ...] = ()
    """Refs confirmed by this crawl without a change."""
    started_holds: frozenset[str] = field(default_factory=frozenset)
    """Refs held back for the first time (their last sighting is the part's previous complete crawl)."""
    frozen_refs: frozenset[str] = field(default_factory=frozenset)
    """Refs whose stored data (entity, edges, profile versions) stays as it was: failed parts and holds."""
    part_ok: Mapping[PartKey, bool] = field(default_factory=dict)
    """The parts this plan evaluated and whether each was applied (their ``crawl_parts`` rows move)."""
    only_refs: frozenset[str] | None = None
    """A scoped plan: the only refs whose edges and profile versions may change (``None``: a full plan)."""

    @property
    def changes_entities(self) -> bool:
        return bool(self.additions or self.modifications or self.removals)


def content_hash(body: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of an entity body (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def part_states(outcomes: Iterable[PartOutcome], parts: Iterable[PartKey]) -> dict[PartKey, bool]:
    """Whether each part counts as complete.

    A part with an outcome takes it (any failed outcome wins). A part without one was not crawled: it counts
    as complete and empty when the tenant's project list was fetched completely (the project or the kind is
    gone, or switched off), and as failed otherwise (we cannot know).
    """
    states: dict[PartKey, bool] = {}
    for outcome in outcomes:
        key = (outcome.scope, outcome.kind)
        states[key] = states.get(key, True) and outcome.ok
    absent_ok = states.get(TENANT_PROJECTS, False)
    for part in parts:
        states.setdefault(part, absent_ok)
    return states


def plan_changes(
    stored: Sequence[StoredEntity],
    entities: Sequence[EntityLike],
    outcomes: Sequence[PartOutcome],
    held: Sequence[HeldRemoval] = (),
    policy: RemovalPolicy | None = None,
    scopes: Collection[str] | None = None,
) -> Plan:
    """Decide what one crawl changes. Entities of failed parts are untouched; removals only in ok parts.

    ``scopes`` (a project-scoped crawl): only parts whose scope is listed are evaluated; every other stored
    entity, hold and part state is left exactly as it is (frozen), and entities mapped outside them are
    context, never written. The caller passes only scopes the crawl found (a vanished project is not one).
    """
    if scopes is None:
        return _plan(stored, entities, outcomes, held, policy or RemovalPolicy())
    inside = frozenset(scopes)
    ins, outs = _split(stored, inside)
    new_in, new_out = _split(entities, inside)
    outside_refs = {s.ref for s in outs} | {e.ref for e in new_out}
    # A ref mapped on both sides of the boundary (an object that changed owner) waits for a full crawl.
    ins = [s for s in ins if s.ref not in outside_refs]
    new_in = [e for e in new_in if e.ref not in outside_refs]
    holds = [h for h in held if h.part[0] in inside]
    plan = _plan(ins, new_in, outcomes, holds, policy or RemovalPolicy())
    written = frozenset(_written(plan))
    every = {s.ref for s in stored} | {e.ref for e in entities}
    return replace(
        plan,
        frozen_refs=frozenset(every - written),
        part_ok={part: ok for part, ok in plan.part_ok.items() if part[0] in inside},
        only_refs=written,
    )


_Parted = TypeVar("_Parted", StoredEntity, EntityLike)


def _split(items: Sequence[_Parted], scopes: frozenset[str]) -> tuple[list[_Parted], list[_Parted]]:
    inside = [item for item in items if item.part[0] in scopes]
    return inside, [item for item in items if item.part[0] not in scopes]


def _written(plan: Plan) -> Iterable[str]:
    yield from (a.entity.ref for a in plan.additions)
    yield from (m.entity.ref for m in plan.modifications)
    yield from plan.unchanged
    yield from (r.ref for r in plan.removals)


def _plan(
    stored: Sequence[StoredEntity],
    entities: Sequence[EntityLike],
    outcomes: Sequence[PartOutcome],
    held: Sequence[HeldRemoval],
    policy: RemovalPolicy,
) -> Plan:
    new_by_ref = _index_new(entities)
    stored_by_ref = {s.ref: s for s in stored}
    held_by_ref = {h.ref: h for h in held}
    parts = {s.part for s in stored} | {e.part for e in entities} | {h.part for h in held}
    ok = part_states(outcomes, parts)

    additions, modifications, unchanged = _compare(new_by_ref, stored_by_ref, ok)
    missing: dict[PartKey, list[StoredEntity]] = {}
    size: dict[PartKey, int] = {}
    for s in stored:
        size[s.part] = size.get(s.part, 0) + 1
        if ok[s.part] and s.ref not in new_by_ref:
            missing.setdefault(s.part, []).append(s)

    removals: list[StoredEntity] = []
    holds: list[HeldRemoval] = []
    confirmed: set[str] = set()
    for part in sorted(missing):
        gone, waiting, guarded = _guard(part, missing[part], size[part], held_by_ref, policy)
        removals.extend(gone)
        holds.extend(waiting)
        if guarded:
            confirmed.update(s.ref for s in gone)

    releases = _releases(held, holds, removals, confirmed, new_by_ref, stored_by_ref, ok)
    written = {a.entity.ref for a in additions} | {m.entity.ref for m in modifications} | set(unchanged)
    written |= {r.ref for r in removals}
    frozen = frozenset((stored_by_ref.keys() | new_by_ref.keys()) - written)
    return Plan(
        additions=tuple(additions),
        modifications=tuple(modifications),
        removals=tuple(removals),
        holds=tuple(holds),
        releases=tuple(releases),
        unchanged=tuple(unchanged),
        started_holds=frozenset(h.ref for h in holds if h.ref not in held_by_ref),
        frozen_refs=frozen,
        part_ok=ok,
    )


def _index_new(entities: Sequence[EntityLike]) -> dict[str, EntityLike]:
    by_ref: dict[str, EntityLike] = {}
    for entity in entities:
        if entity.ref in by_ref:
            raise PlanError(f"the mapping emitted {entity.ref!r} twice")
        if entity.ref != entity.ref.lower():
            raise PlanError(f"entity ref {entity.ref!r} is not lower-case")
        by_ref[entity.ref] = entity
    return by_ref


def _compare(
    new_by_ref: Mapping[str, EntityLike],
    stored_by_ref: Mapping[str, StoredEntity],
    ok: Mapping[PartKey, bool],
) -> tuple[list[Addition], list[Modification], list[str]]:
    additions: list[Addition] = []
    modifications: list[Modification] = []
    unchanged: list[str] = []
    for ref in sorted(new_by_ref):
        entity = new_by_ref[ref]
        if not ok[entity.part]:
            continue  # a failed part's snapshot stays as it was, new objects included
        digest = content_hash(entity.body)
        old = stored_by_ref.get(ref)
        if old is None:
            additions.append(Addition(entity, digest))
        elif _same(old, entity, digest):
            unchanged.append(ref)
        else:
            modifications.append(Modification(entity, old, digest))
    return additions, modifications, unchanged


def _same(old: StoredEntity, new: EntityLike, digest: str) -> bool:
    return (old.content_hash, old.part, old.name, old.kind, old.palette_kind, old.key, old.project_uid) == (
        digest,
        tuple(new.part),
        new.name,
        new.kind,
        new.palette_kind,
        new.key,
        new.project_uid,
    )


def _guard(
    part: PartKey,
    missing: list[StoredEntity],
    size: int,
    held_by_ref: Mapping[str, HeldRemoval],
    policy: RemovalPolicy,
) -> tuple[list[StoredEntity], list[HeldRemoval], bool]:
    """Split one ok part's missing entities into removals now and holds; tell whether the guard applied."""
    count = len(missing)
    if count == size:
        why = f"all {size} entities of part {part[0]}/{part[1]} are missing"
    elif size >= policy.min_part_size and count > policy.max_removal_share * size:
        why = (
            f"{count} of {size} entities of part {part[0]}/{part[1]} are missing "
            f"(more than {policy.max_removal_share:.0%})"
        )
    else:
        return missing, [], False
    previous = {ref for ref, h in held_by_ref.items() if h.part == part}
    refs = {s.ref for s in missing}
    agrees = bool(previous) and previous <= refs  # the same set or a superset: the streak goes on
    gone: list[StoredEntity] = []
    waiting: list[HeldRemoval] = []
    for s in missing:
        streak = held_by_ref[s.ref].streak + 1 if agrees and s.ref in previous else 1
        if streak >= policy.confirm_removal_after:
            gone.append(s)
        else:
            reason = f"{why}; seen in {streak} of {policy.confirm_removal_after} consecutive crawls"
            waiting.append(HeldRemoval(s.ref, part, streak, reason))
    return gone, waiting, True


def _releases(
    held: Sequence[HeldRemoval],
    holds: Sequence[HeldRemoval],
    removals: Sequence[StoredEntity],
    confirmed: set[str],
    new_by_ref: Mapping[str, EntityLike],
    stored_by_ref: Mapping[str, StoredEntity],
    ok: Mapping[PartKey, bool],
) -> list[Release]:
    still = {h.ref for h in holds}
    removed = {r.ref for r in removals}
    out: list[Release] = []
    for h in sorted(held, key=lambda x: x.ref):
        if h.ref in still:
            continue
        if h.ref in removed:
            reason = "confirmed" if h.ref in confirmed else "unguarded"
        elif h.ref in new_by_ref:
            reason = "reappeared"
        elif h.ref in stored_by_ref and not ok.get(stored_by_ref[h.ref].part, False):
            continue  # its part failed this time: the hold waits, unchanged
        else:
            reason = "gone"  # no longer stored (or stored under another part): nothing left to hold
        out.append(Release(h.ref, reason))
    return out
