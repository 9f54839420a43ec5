"""Table tests of the pure change planner (no database)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest

from ingestor.crawl.snapshot import PartKey, PartOutcome
from ingestor.store.plan import (
    HeldRemoval,
    PlanError,
    RemovalPolicy,
    StoredEntity,
    content_hash,
    part_states,
    plan_changes,
)
from tests.store.fakes import MappedEntity, entity, failed, ok

A: PartKey = ("p1", "clusters")
B: PartKey = ("p2", "clusters")
PROJECTS: PartKey = ("tenant", "projects")


def stored(e: MappedEntity) -> StoredEntity:
    return StoredEntity(
        e.ref, e.part, content_hash(e.body), e.name, e.kind, e.palette_kind, e.key, e.project_uid
    )


def many(prefix: str, n: int, part: PartKey = A) -> list[MappedEntity]:
    return [entity(f"{prefix}{i}", part) for i in range(n)]


def ref(name: str) -> str:
    return f"resource:default/{name}"


def held(names: list[str], streak: int, part: PartKey = A) -> list[HeldRemoval]:
    return [HeldRemoval(ref(n), part, streak, "earlier") for n in names]


@dataclass
class Case:
    stored: list[MappedEntity]
    new: list[MappedEntity]
    outcomes: list[PartOutcome]
    held: list[HeldRemoval] = field(default_factory=list)
    policy: RemovalPolicy = field(default_factory=RemovalPolicy)
    added: set[str] = field(default_factory=set)
    modified: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    holds: dict[str, int] = field(default_factory=dict)  # name -> streak
    releases: dict[str, str] = field(default_factory=dict)  # name -> reason
    frozen: set[str] = field(default_factory=set)
    unchanged: set[str] | None = None


C4 = many("c", 4)
C10 = many("c", 10)
CASES: dict[str, Case] = {
    "first crawl adds everything": Case([], C4, [ok(*A)], added={"c0", "c1", "c2", "c3"}),
    "nothing changed": Case(C4, C4, [ok(*A)], unchanged={"c0", "c1", "c2", "c3"}),
    "a body change is a modification": Case(
        C4, [entity("c0", A, version=2), *C4[1:]], [ok(*A)], modified={"c0"}, unchanged={"c1", "c2", "c3"}
    ),
    "a part move is a modification": Case(C4, [*C4[:3], entity("c3", B)], [ok(*A), ok(*B)], modified={"c3"}),
    "a new entity of a failed part is not added": Case(
        [], [entity("x", B)], [failed(*B)], frozen={"x"}, unchanged=set()
    ),
    "a failed part keeps its missing entities": Case(C4, [], [failed(*A)], frozen={"c0", "c1", "c2", "c3"}),
    "a failed part keeps its old bodies": Case(
        C4, [entity("c0", A, version=9)], [failed(*A)], frozen={"c0", "c1", "c2", "c3"}
    ),
    "one of four removed at once": Case(C4, C4[1:], [ok(*A)], removed={"c0"}),
    "exactly the share is removed at once": Case(C4, C4[2:], [ok(*A)], removed={"c0", "c1"}),
    "more than the share is held": Case(
        C4, C4[3:], [ok(*A)], holds={"c0": 1, "c1": 1, "c2": 1}, frozen={"c0", "c1", "c2"}
    ),
    "small parts ignore the share rule": Case(many("s", 3), many("s", 3)[2:], [ok(*A)], removed={"s0", "s1"}),
    "a part losing its only entity is held": Case(many("s", 1), [], [ok(*A)], holds={"s0": 1}, frozen={"s0"}),
    "a part losing everything is held": Case(
        C10, [], [ok(*A)], holds={f"c{i}": 1 for i in range(10)}, frozen={f"c{i}" for i in range(10)}
    ),
    "the same set again extends the streak": Case(
        C4,
        C4[3:],
        [ok(*A)],
        held=held(["c0", "c1", "c2"], 1),
        holds={"c0": 2, "c1": 2, "c2": 2},
        frozen={"c0", "c1", "c2"},
    ),
    "the Nth agreeing crawl removes": Case(
        C4,
        C4[3:],
        [ok(*A)],
        held=held(["c0", "c1", "c2"], 2),
        removed={"c0", "c1", "c2"},
        releases={"c0": "confirmed", "c1": "confirmed", "c2": "confirmed"},
    ),
    "a superset continues the streak of the old refs only": Case(
        C10,
        C10[7:],
        [ok(*A)],
        held=held(["c0", "c1", "c2", "c3", "c4", "c5"], 1),
        holds={"c0": 2, "c1": 2, "c2": 2, "c3": 2, "c4": 2, "c5": 2, "c6": 1},
        frozen={f"c{i}" for i in range(7)},
    ),
    "a superset releases the confirmed refs and keeps the newcomer": Case(
        C10,
        C10[8:],
        [ok(*A)],
        held=held([f"c{i}" for i in range(7)], 2),
        removed={f"c{i}" for i in range(7)},
        holds={"c7": 1},
        frozen={"c7"},
        releases={f"c{i}": "confirmed" for i in range(7)},
    ),
    "a smaller set restarts the streak": Case(
        C10,
        [*C10[:1], *C10[8:]],
        [ok(*A)],
        held=held([f"c{i}" for i in range(8)], 2),
        holds={f"c{i}": 1 for i in range(1, 8)},
        releases={"c0": "reappeared"},
        frozen={f"c{i}" for i in range(1, 8)},
    ),
    "a held entity that reappears is released": Case(
        C4,
        C4,
        [ok(*A)],
        held=held(["c0", "c1", "c2"], 2),
        releases={"c0": "reappeared", "c1": "reappeared", "c2": "reappeared"},
        unchanged={"c0", "c1", "c2", "c3"},
    ),
    "a hold waits while its part fails": Case(
        C4,
        C4[3:],
        [failed(*A)],
        held=held(["c0", "c1", "c2"], 2),
        frozen={"c0", "c1", "c2", "c3"},
    ),
    "a hold ends when the guard no longer applies": Case(
        C4, C4[1:], [ok(*A)], held=held(["c0"], 1), removed={"c0"}, releases={"c0": "unguarded"}
    ),
    "confirm after 1 disables the guard": Case(
        C4, [], [ok(*A)], policy=RemovalPolicy(confirm_removal_after=1), removed={"c0", "c1", "c2", "c3"}
    ),
    "share 0 holds any removal in a big part": Case(
        C4, C4[1:], [ok(*A)], policy=RemovalPolicy(max_removal_share=0.0), holds={"c0": 1}, frozen={"c0"}
    ),
    "a part without outcome is empty when the project list is complete": Case(
        many("b", 2, B), [], [ok(*PROJECTS), ok(*A)], holds={"b0": 1, "b1": 1}, frozen={"b0", "b1"}
    ),
    "a part without outcome is untouched when projects failed": Case(
        many("b", 2, B), [], [failed(*PROJECTS)], frozen={"b0", "b1"}
    ),
    "a part without outcome is untouched when projects were not reported": Case(
        many("b", 2, B), [], [ok(*A)], frozen={"b0", "b1"}
    ),
    "parts of one kind in two scopes are independent": Case(
        [*C4, *many("b", 4, B)],
        [*C4, *many("b", 4, B)[1:], entity("new", A)],
        [ok(*A), failed(*B)],
        added={"new"},
        frozen={"b0", "b1", "b2", "b3"},
        unchanged={"c0", "c1", "c2", "c3"},
    ),
    "any failed outcome of a part wins": Case(C4, [], [ok(*A), failed(*A)], frozen={"c0", "c1", "c2", "c3"}),
    "a hold on an entity no longer stored is dropped": Case(
        [], [], [ok(*A)], held=held(["ghost"], 1), releases={"ghost": "gone"}
    ),
    "an entity moving into a failed part is neither removed nor changed": Case(
        C4,
        [*C4[:3], entity("c3", B, version=5)],
        [ok(*A), failed(*B)],
        frozen={"c3"},
        unchanged={"c0", "c1", "c2"},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plan_table(case: Case) -> None:
    plan = plan_changes([stored(e) for e in case.stored], case.new, case.outcomes, case.held, case.policy)
    assert {a.entity.ref for a in plan.additions} == {ref(n) for n in case.added}
    assert {c.entity.ref for c in plan.modifications} == {ref(n) for n in case.modified}
    assert {r.ref for r in plan.removals} == {ref(n) for n in case.removed}
    assert {h.ref: h.streak for h in plan.holds} == {ref(n): s for n, s in case.holds.items()}
    assert {r.ref: r.reason for r in plan.releases} == {ref(n): why for n, why in case.releases.items()}
    assert plan.frozen_refs == {ref(n) for n in case.frozen}
    if case.unchanged is not None:
        assert set(plan.unchanged) == {ref(n) for n in case.unchanged}
    assert plan.changes_entities == bool(case.added or case.modified or case.removed)
    touched = [
        *plan.unchanged,
        *(a.entity.ref for a in plan.additions),
        *(c.entity.ref for c in plan.modifications),
    ]
    assert len(touched) == len(set(touched)), "a ref is in two buckets"
    assert not set(touched) & plan.frozen_refs


def test_hold_reasons_name_the_part_the_rule_and_the_progress() -> None:
    plan = plan_changes([stored(e) for e in C4], C4[3:], [ok(*A)])
    assert plan.holds[0].reason == (
        "3 of 4 entities of part p1/clusters are missing (more than 50%); seen in 1 of 3 consecutive crawls"
    )
    plan = plan_changes([stored(e) for e in C4], [], [ok(*A)], held(["c0", "c1", "c2", "c3"], 1))
    assert (
        plan.holds[0].reason
        == "all 4 entities of part p1/clusters are missing; seen in 2 of 3 consecutive crawls"
    )


def test_modification_carries_old_row_and_new_hash() -> None:
    new = entity("c0", A, version=2)
    plan = plan_changes([stored(C4[0])], [new], [ok(*A)])
    (change,) = plan.modifications
    assert change.old.content_hash == content_hash(C4[0].body)
    assert change.content_hash == content_hash(new.body) != change.old.content_hash


def test_duplicate_refs_are_refused() -> None:
    with pytest.raises(PlanError, match="twice"):
        plan_changes([], [entity("a"), entity("a", B)], [ok(*A), ok(*B)])


def test_refs_must_be_lower_case() -> None:
    bad = MappedEntity("resource:default/Abc", "Abc", "Resource", "cluster", "u", "p1", A, {})
    with pytest.raises(PlanError, match="lower-case"):
        plan_changes([], [bad], [ok(*A)])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_removal_share": 1.5},
        {"max_removal_share": -0.1},
        {"confirm_removal_after": 0},
        {"min_part_size": 0},
    ],
)
def test_policy_is_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RemovalPolicy(**kwargs)  # type: ignore[arg-type]


def test_part_states() -> None:
    outcomes = [ok(*PROJECTS), ok(*A), failed(*B)]
    assert part_states(outcomes, [("p3", "clusters")]) == {
        PROJECTS: True,
        A: True,
        B: False,
        ("p3", "clusters"): True,
    }
    assert part_states([failed(*PROJECTS)], [A]) == {PROJECTS: False, A: False}
    assert part_states([], [A]) == {A: False}


def test_content_hash_is_canonical() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": "1"})
    assert content_hash({"a": [1, 2]}) != content_hash({"a": [2, 1]})
    canonical = '{"a":1,"t":"é"}'.encode()
    assert content_hash({"t": "é", "a": 1}) == hashlib.sha256(canonical).hexdigest()
