"""Look-ups for agents: an entity by title/uid/name/ref, and a profile's users with title and state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import event, text

from ingestor.store import lookups, queries
from ingestor.store.db import Database
from ingestor.store.plan import RemovalPolicy
from ingestor.store.writer import commit_run
from tests.store.fakes import MappedEntity, entity, failed, ok, result, run
from tests.store.test_queries import (
    GROUPS,
    PROFILES,
    PROJECTS,
    VC,
    A,
    B,
    seed_data,
    web_versions,
)

ALL = ["prod", "lab"]


def titled(e: MappedEntity, title: str | None = None, **annotations: str) -> MappedEntity:
    body: dict[str, Any] = {**e.body, "metadata": {**e.body["metadata"]}}
    if title is not None:
        body["metadata"]["title"] = title
    body["metadata"]["annotations"] = {**body["metadata"]["annotations"], **annotations}
    return replace(e, body=body)


def seed_titles(db: Database) -> None:
    """prod: clusters titled "Web Prod" in two projects, a profile keyed by family; lab: one "web prod"."""
    entities, edges, _ = seed_data()
    entities = [
        titled(e, "Web Prod") if e.name in ("c1", "c3") else e
        for e in entities
        if e.name not in ("web", "api")
    ]
    entities.append(titled(entity("web", PROFILES, key="tenant::web"), "Web Profile"))
    outcomes = [ok(*p) for p in (PROJECTS, A, B, VC, GROUPS, PROFILES)]
    commit_run(db, run(at=0), result(entities, edges, web_versions()), outcomes)
    lab = [titled(entity("c9", A), "web prod")]
    commit_run(db, run(at=0, instance="lab"), result(lab), [ok(*A)])


def names(found: lookups.Matches) -> list[tuple[str, str]]:
    return [(r.instance, r.name) for r in found.rows]


def test_find_by_title_is_case_insensitive_and_narrows(db: Database) -> None:
    seed_titles(db)
    every = lookups.find_entities(db, ALL, "cluster", "  WEB prod ")
    assert every.total == 3
    assert names(every) == [("lab", "c9"), ("prod", "c1"), ("prod", "c3")]
    assert names(lookups.find_entities(db, ["prod"], "cluster", "web prod")) == [
        ("prod", "c1"),
        ("prod", "c3"),
    ]
    one = lookups.find_entities(db, ["prod"], "cluster", "Web Prod", project_uid="p2")
    assert (one.total, names(one)) == (1, [("prod", "c3")])
    assert lookups.find_entities(db, ["prod"], "virtual-cluster", "Web Prod").total == 0
    assert lookups.find_entities(db, [], "cluster", "Web Prod") == lookups.Matches(0, [])
    capped = lookups.find_entities(db, ALL, "cluster", "web prod", limit=2)
    assert capped.total == 3 and len(capped.rows) == 2


def test_find_by_uid_name_ref_and_any_profile_version(db: Database) -> None:
    seed_titles(db)
    assert names(lookups.find_entities(db, ALL, "cluster", "uid-c2")) == [("prod", "c2")]
    assert names(lookups.find_entities(db, ALL, "cluster", "C2")) == [("prod", "c2")]
    assert names(lookups.find_entities(db, ALL, "cluster", "Resource:default/c2")) == [("prod", "c2")]
    for wanted in ("web profile", "tenant::web", "v1", "v3", "resource:default/web"):
        assert names(lookups.find_entities(db, ALL, "cluster-profile", wanted)) == [("prod", "web")], wanted
    assert lookups.find_entities(db, ALL, "cluster", "v1").total == 0  # a version uid is not a cluster
    assert lookups.find_entities(db, ALL, "cluster", "uid-c").total == 0  # no prefix matches


def test_found_rows_equal_the_snapshot_rows_with_freshness(db: Database) -> None:
    seed_titles(db)
    entities, edges, _ = seed_data()
    kept = [e for e in entities if e.part not in (A, B) and e.name not in ("web", "api")]
    outcomes = [ok(*PROJECTS), ok(*A), failed(*B), ok(*VC), ok(*GROUPS), ok(*PROFILES)]
    commit_run(
        db,
        run(at=10),
        result(kept, edges, web_versions()),
        outcomes,
        policy=RemovalPolicy(confirm_removal_after=3),
    )
    stored = {(e.instance, e.ref): e for e in queries.current_entities(db).entities}
    for wanted in ("c1", "c3", "vc1", "uid-g1"):
        (row,) = (
            lookups.find_entities(db, ALL, "cluster", wanted).rows
            or lookups.find_entities(db, ALL, "virtual-cluster", wanted).rows
            or lookups.find_entities(db, ALL, "cluster-group", wanted).rows
        )
        assert row == stored[(row.instance, row.ref)]
    (held,) = lookups.find_entities(db, ["prod"], "cluster", "c1").rows
    (failed_part,) = lookups.find_entities(db, ["prod"], "cluster", "c3").rows
    (fine,) = lookups.find_entities(db, ["prod"], "virtual-cluster", "vc1").rows
    assert held.stale and failed_part.stale and not fine.stale
    assert fine.last_seen > held.last_seen


def test_profile_users_carry_title_and_state(db: Database) -> None:
    entities, edges, versions = seed_data()
    entities = [
        titled(e, "Cluster One", **{"ours.io/state": "Running", "terasky.backstage.io/state": "Old"})
        if e.name == "c1"
        else titled(e, **{"terasky.backstage.io/state": "Pending"})
        if e.name == "c2"
        else e
        for e in entities
    ]
    outcomes = [ok(*p) for p in (PROJECTS, A, B, VC, GROUPS, PROFILES)]
    commit_run(db, run(at=0), result(entities, edges, versions), outcomes)
    wanted = ("ours.io/state", "terasky.backstage.io/state")
    users = {u.name: u for u in lookups.clusters_using_profile(db, "prod", "v1", state_annotations=wanted)}
    assert (users["c1"].title, users["c1"].state) == ("Cluster One", "Running")
    assert (users["c2"].title, users["c2"].state) == ("c2", "Pending")
    assert users["c3"].state is None
    plain = {u.name: u for u in lookups.clusters_using_profile(db, "prod", "v1")}
    assert plain["c1"].state is None and plain["c1"].title == "Cluster One"
    only = lookups.clusters_using_profile(db, "prod", "v1", state_annotations=wanted[1:])
    assert {u.name: u.state for u in only}["c1"] == "Old"
    # the edge's source need not be stored: its item still comes back, without title or state
    commit_run(db, run(at=5), result([e for e in entities if e.name != "c2"], edges, versions), outcomes)
    gone = {u.src_ref: u for u in lookups.clusters_using_profile(db, "prod", "v1", state_annotations=wanted)}
    orphan = gone["resource:default/c2"]
    assert (orphan.name, orphan.title, orphan.state, orphan.version_uid) == (None, None, None, "v3")


def _plan(db: Database, run_lookup: Any) -> str:
    seen: list[tuple[str, Any]] = []

    def capture(_c: object, _cur: object, statement: str, parameters: Any, *_: object) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        run_lookup()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    sql, params = next((s, p) for s, p in reversed(seen) if "title_key" in s and "count" not in s.lower())
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            return " | ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
        conn.execute(text("SET enable_seqscan = off"))
        return " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))


def test_find_entities_seeks_indexes_and_never_scans_entities(db: Database) -> None:
    seed_titles(db)
    plan = _plan(
        db, lambda: lookups.find_entities(db, ALL, "cluster-profile", "Web Profile", project_uid=None)
    )
    assert "ix_entities_instance_palette_kind_title_key" in plan
    assert "ix_entities_instance_palette_kind_key" in plan
    assert "SCAN entities" not in plan and "Seq Scan on entities" not in plan
