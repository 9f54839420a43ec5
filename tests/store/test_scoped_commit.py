"""Project-scoped plans and commits: only the named scopes' parts are evaluated and written; every other
entity, edge, profile version, hold and part state stays exactly as it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ingestor.crawl.snapshot import PartKey
from ingestor.store import models as m
from ingestor.store import queries
from ingestor.store.db import Database
from ingestor.store.plan import HeldRemoval, StoredEntity, content_hash, plan_changes
from ingestor.store.writer import Retention, commit_run
from tests.store.fakes import Edge, MappedEntity, ProfileVersion, entity, failed, ok, result, run

A: PartKey = ("p1", "clusters")
B: PartKey = ("p2", "clusters")
PROFILES: PartKey = ("tenant", "clusterProfiles")
PROJECTS: PartKey = ("tenant", "projects")


def stored(e: MappedEntity) -> StoredEntity:
    return StoredEntity(
        e.ref, e.part, content_hash(e.body), e.name, e.kind, e.palette_kind, e.key, e.project_uid
    )


def rows(db: Database, table: Any, **where: Any) -> list[dict[str, Any]]:
    """The table's rows as dicts, sorted; ``where`` keeps rows whose column equals (or, with a set, is in)."""
    with db.read() as conn:
        found = [dict(r._mapping) for r in conn.execute(select(table))]
    for column, wanted in where.items():
        found = [
            r for r in found if (r[column] in wanted if isinstance(wanted, set) else r[column] == wanted)
        ]
    return sorted(found, key=repr)


def others(db: Database, table: Any, column: str, mine: str) -> list[dict[str, Any]]:
    return [r for r in rows(db, table) if r[column] != mine]


def test_a_scoped_plan_leaves_everything_outside_its_scopes() -> None:
    a1, a2, a3, b1, b2 = (entity(n, p) for n, p in (("a1", A), ("a2", A), ("a3", A), ("b1", B), ("b2", B)))
    web = entity("web", PROFILES)
    held = [HeldRemoval(b2.ref, B, 1, "waiting")]
    new = [entity("a1", A, version=2), a3, entity("b1", B, version=7), entity("web", PROFILES, 2)]
    outcomes = [ok(*PROJECTS), ok(*A), ok(*PROFILES)]

    plan = plan_changes([stored(e) for e in (a1, a2, b1, b2, web)], new, outcomes, held, scopes={"p1"})

    assert [a.entity.ref for a in plan.additions] == [a3.ref]
    assert [c.entity.ref for c in plan.modifications] == [a1.ref]
    assert [r.ref for r in plan.removals] == [a2.ref]  # 1 of 2: below the guard's part size
    assert plan.holds == () and plan.releases == ()  # p2's hold is not this plan's to end
    assert dict(plan.part_ok) == {A: True}  # neither the project list nor the tenant's profiles
    assert plan.only_refs == frozenset({a1.ref, a2.ref, a3.ref})
    assert plan.frozen_refs == frozenset({b1.ref, b2.ref, web.ref})


def test_a_scoped_plan_removes_and_guards_inside_its_scope_only() -> None:
    inside = [entity(f"a{i}", A) for i in range(4)]
    outside = [entity(f"b{i}", B) for i in range(4)]
    current = [stored(e) for e in inside + outside]
    held = [HeldRemoval(outside[0].ref, B, 2, "all missing")]

    one_gone = plan_changes(current, inside[1:], [ok(*PROJECTS), ok(*A)], held, scopes={"p1"})
    assert [r.ref for r in one_gone.removals] == [inside[0].ref]
    assert one_gone.releases == ()  # the hold of p2 is not this plan's to end

    all_gone = plan_changes(current, [], [ok(*PROJECTS), ok(*A)], held, scopes={"p1"})
    assert all_gone.removals == () and {h.ref for h in all_gone.holds} == {e.ref for e in inside}
    assert all_gone.frozen_refs >= {e.ref for e in outside}

    failing = plan_changes(current, [entity("new", A)], [ok(*PROJECTS), failed(*A)], scopes={"p1"})
    assert not failing.changes_entities and dict(failing.part_ok) == {A: False}


def test_a_ref_on_both_sides_of_the_boundary_waits_for_a_full_crawl() -> None:
    theirs = entity("same", B)
    mine = entity("same", A, version=2)  # the same ref, now mapped into p1
    plan = plan_changes([stored(theirs)], [mine], [ok(*PROJECTS), ok(*A)], scopes={"p1"})
    assert not plan.changes_entities and theirs.ref in plan.frozen_refs

    moved_out = plan_changes([stored(mine)], [theirs], [ok(*PROJECTS), ok(*A)], scopes={"p1"})
    assert moved_out.removals == () and moved_out.holds == ()


def test_no_scopes_evaluates_nothing() -> None:
    current = [stored(entity("a1", A))]
    plan = plan_changes(current, [], [ok(*PROJECTS)], scopes=set())
    assert not plan.changes_entities and plan.part_ok == {} and plan.frozen_refs == {entity("a1", A).ref}


def test_a_scoped_commit_writes_only_its_parts(db: Database) -> None:
    web_v1 = ProfileVersion("v1", "tenant::web", "resource:default/web", "web", "1.0", "tenant", None)

    def edges_of(*names: str) -> list[Edge]:
        return [
            Edge(
                f"resource:default/{n}",
                "cluster",
                f"uid-{n}",
                "uses-profile-version",
                "v1",
                web_v1.profile_ref,
            )
            for n in names
        ]

    everything = [entity("a1", A), entity("b1", B), entity("b2", B), entity("web", PROFILES)]
    outcomes = [ok(*PROJECTS), ok(*A), ok(*B), ok(*PROFILES)]
    first = commit_run(db, run(at=0), result(everything, edges_of("a1", "b1", "b2"), [web_v1]), outcomes)
    entities_before = others(db, m.entities, "part_scope", "p1")
    parts_before = others(db, m.crawl_parts, "scope", "p1")
    edges_before = rows(db, m.edges, src_ref={"resource:default/b1", "resource:default/b2"})
    versions_before = rows(db, m.profile_versions)

    # The scoped mapping also carries context (p2, tenant) that differs from what is stored: ignored.
    web_v2 = ProfileVersion("v2", "tenant::web", "resource:default/web", "web", "2.0", "tenant", None)
    mapped = [
        entity("a1", A, version=2),
        entity("a2", A),
        entity("b1", B, version=5),
        entity("web", PROFILES, 3),
    ]
    out = commit_run(
        db,
        run(at=5, trigger="project"),
        result(mapped, edges_of("a2", "b1"), [web_v1, web_v2]),
        [ok(*PROJECTS), ok(*A)],
        scopes={"p1"},
        retention=Retention(),
    )

    assert (out.status, out.added, out.modified, out.removed, out.snapshot_version) == ("ok", 1, 1, 0, 2)
    assert {e.ref for e in queries.current_entities(db, "prod").entities} == {e.ref for e in everything} | {
        entity("a2", A).ref
    }
    assert others(db, m.entities, "part_scope", "p1") == entities_before  # not even last_seen moved
    assert others(db, m.crawl_parts, "scope", "p1") == parts_before
    assert {r["scope"] for r in rows(db, m.crawl_parts, last_run_id=out.run_id)} == {"p1"}
    assert rows(db, m.edges, src_ref={"resource:default/b1", "resource:default/b2"}) == edges_before
    assert [r["src_ref"] for r in rows(db, m.edges)] == [
        "resource:default/a2",
        "resource:default/b1",
        "resource:default/b2",
    ]  # a1's edge went with its new mapping; b2's stays though the scoped mapping lacks it
    assert rows(db, m.profile_versions) == versions_before  # web is outside the scope: v2 not written
    changes = queries.changes(db, "prod", after_run=first.run_id)
    assert {(c.change, c.project_uid) for c in changes} == {("added", "p1"), ("modified", "p1")}
    state = queries.instance_state(db, "prod")
    assert state is not None and (state.last_run_id, state.last_success_run_id) == (out.run_id, first.run_id)
    full = queries.last_run(db, "prod", triggers=("schedule", "manual", "start"))
    assert full is not None and full.id == first.run_id
    (latest,) = queries.recent_runs(db, "prod", limit=1)
    assert (latest.trigger, [(o.scope, o.kind) for o in latest.outcomes]) == ("project", [A, PROJECTS])


def test_a_failed_scoped_run_marks_only_its_parts(db: Database) -> None:
    everything = [entity("a1", A), entity("b1", B)]
    commit_run(db, run(at=0), result(everything), [ok(*PROJECTS), ok(*A), ok(*B)])
    theirs = others(db, m.crawl_parts, "scope", "p1")

    partial = commit_run(
        db, run(at=1, trigger="project"), result([]), [ok(*PROJECTS), failed(*A)], scopes={"p1"}
    )
    assert (partial.status, partial.removed) == ("failed", 0)  # judged by p1's parts alone
    nothing = commit_run(db, run(at=2, trigger="project"), None, [failed(*PROJECTS)], scopes=set())
    assert nothing.status == "failed"

    assert others(db, m.crawl_parts, "scope", "p1") == theirs  # the project list's state did not move
    (mine,) = [p for p in queries.part_states(db, "prod") if p.scope == "p1"]
    assert (mine.ok, mine.last_run_id) == (False, partial.run_id)
    assert [e.ref for e in queries.current_entities(db, "prod").entities] == [e.ref for e in everything]
