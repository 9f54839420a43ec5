"""Reads: snapshots with versions, filters, change log, runs, holds, caches, freshness, reverse lookups."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from ingestor.store import lookups, queries
from ingestor.store.db import Database
from ingestor.store.plan import RemovalPolicy
from ingestor.store.writer import DetailCacheEntry, commit_run
from tests.store.fakes import T0, Edge, MappedEntity, ProfileVersion, entity, failed, ok, result, run

A = ("p1", "clusters")
B = ("p2", "clusters")
VC = ("p1", "virtualClusters")
GROUPS = ("tenant", "clusterGroups")
PROFILES = ("tenant", "clusterProfiles")
PROJECTS = ("tenant", "projects")
USES = "uses-profile-version"


def uses(
    src: str, kind: str, version_uid: str, key: str | None = "tenant::web", version: str | None = None
) -> Edge:
    return Edge(
        f"resource:default/{src}", kind, f"uid-{src}", USES, version_uid, "resource:default/web", key, version
    )


def web_versions() -> list[ProfileVersion]:
    return [
        ProfileVersion(f"v{i}", "tenant::web", "resource:default/web", "web", f"1.{i}", "tenant", None)
        for i in (1, 2, 3)
    ]


def seed(db: Database) -> None:
    entities, edges, versions = seed_data()
    outcomes = [ok(*p) for p in (PROJECTS, A, B, VC, GROUPS, PROFILES)]
    commit_run(db, run(at=0), result(entities, edges, versions), outcomes)


def seed_data() -> tuple[list[MappedEntity], list[Edge], list[ProfileVersion]]:
    entities = [
        entity("proj-one", PROJECTS, key="p1"),
        entity("c1", A),
        entity("c2", A),
        entity("c3", B),
        entity("vc1", VC),
        entity("g1", GROUPS),
        entity("web", PROFILES),
        entity("api", PROFILES),
    ]
    edges = [
        uses("c1", "cluster", "v1", version="1.1"),
        uses("c2", "cluster", "v3", version="1.3"),
        uses("c3", "cluster", "v2"),
        uses("vc1", "virtual-cluster", "v3"),
        uses("g1", "cluster-group", "v1"),
        uses("c1", "cluster", "a1", key="tenant::api"),
        Edge(
            "resource:default/vc1",
            "virtual-cluster",
            "uid-vc1",
            "runs-on-host",
            "uid-c1",
            "resource:default/c1",
        ),
    ]
    versions = [
        *web_versions(),
        ProfileVersion("a1", "tenant::api", "resource:default/api", "api", "2.0", "tenant", None),
    ]
    return entities, edges, versions


def test_current_entities_are_ordered_and_filtered(db: Database) -> None:
    seed(db)
    commit_run(db, run("lab", at=0), result([entity("z", A)]), [ok(*A)])
    everything = queries.current_entities(db)
    assert [(e.instance, e.ref) for e in everything.entities] == sorted(
        (e.instance, e.ref) for e in everything.entities
    )
    assert everything.versions == {"prod": 1, "lab": 1} and everything.version_key == "lab=1,prod=1"
    prod = queries.current_entities(db, "prod")
    assert len(prod.entities) == 8 and prod.versions == {"prod": 1}
    assert [e.name for e in queries.current_entities(db, "prod", project_uid="p2").entities] == ["c3"]
    assert [e.name for e in queries.current_entities(db, "prod", kind="System").entities] == ["proj-one"]
    groups = queries.current_entities(db, "prod", palette_kind="cluster-group").entities
    assert [e.name for e in groups] == ["g1"]
    assert queries.current_entities(db, "nowhere").entities == []


def test_version_key_changes_with_any_instance(db: Database) -> None:
    seed(db)
    before = queries.current_entities(db).version_key
    commit_run(db, run("lab", at=1), result([entity("z", A)]), [ok(*A)])
    assert queries.current_entities(db).version_key != before
    assert queries.snapshot_versions(db) == {"prod": 1, "lab": 1}


def test_known_names(db: Database) -> None:
    seed(db)
    names = queries.known_names(db, "prod")
    assert names[("cluster", "uid-c1")] == "c1"
    assert names[("project", "p1")] == "proj-one"
    assert len(names) == 8 and queries.known_names(db, "lab") == {}


def test_clusters_using_a_profile_family(db: Database) -> None:
    seed(db)
    by_key = lookups.clusters_using_profile(db, "prod", "tenant::web")
    assert [(u.src_kind, u.name, u.version_uid, u.version) for u in by_key] == [
        ("cluster", "c1", "v1", "1.1"),
        ("cluster", "c2", "v3", "1.3"),
        ("cluster", "c3", "v2", "1.2"),  # version from the profile version row
        ("cluster-group", "g1", "v1", "1.1"),
        ("virtual-cluster", "vc1", "v3", "1.3"),
    ]
    assert all(u.profile_key == "tenant::web" and u.profile_ref == "resource:default/web" for u in by_key)
    assert all(u.seen_at == T0 and u.run_id is not None and not u.stale for u in by_key)
    # any version uid of the family finds the same users
    assert lookups.clusters_using_profile(db, "prod", "v2") == by_key
    api = lookups.clusters_using_profile(db, "prod", "a1")
    assert [(u.name, u.profile_key) for u in api] == [("c1", "tenant::api")]
    assert lookups.clusters_using_profile(db, "prod", "nothing") == []
    assert lookups.clusters_using_profile(db, "lab", "tenant::web") == []


def test_reverse_lookup_without_stored_versions_uses_the_edge(db: Database) -> None:
    """The profiles part failed on the first crawl: edges still name the family and the version uid."""
    edges = [uses("c1", "cluster", "v9", version="9.0")]
    commit_run(db, run(at=0), result([entity("c1", A)], edges, []), [ok(*A), failed(*PROFILES)])
    (by_key,) = lookups.clusters_using_profile(db, "prod", "tenant::web")
    assert (by_key.version_uid, by_key.version, by_key.profile_ref) == ("v9", "9.0", None)
    assert lookups.clusters_using_profile(db, "prod", "v9") == [by_key]


def test_freshness_of_failed_and_held_parts(db: Database) -> None:
    seed(db)
    outcomes = [ok(*PROJECTS), ok(*A), failed(*B), ok(*VC), ok(*GROUPS), ok(*PROFILES)]
    entities, edges, versions = seed_data()
    # c1 and c2 vanish from p1 (all of it): held; p2 failed (c3 missing from its partial data): stale
    kept = result([e for e in entities if e.part not in (A, B)], edges, versions)
    commit_run(db, run(at=10), kept, outcomes, policy=RemovalPolicy(confirm_removal_after=3))
    fresh = {e.name: e for e in queries.current_entities(db, "prod").entities}
    later = T0 + timedelta(minutes=10)
    assert (fresh["vc1"].last_seen, fresh["vc1"].stale) == (later, False)
    assert (fresh["c3"].last_seen, fresh["c3"].stale) == (T0, True)
    assert (fresh["c1"].last_seen, fresh["c1"].stale) == (T0, True)  # held: last seen before the hold
    assert fresh["c1"].run_id == fresh["c3"].run_id < fresh["vc1"].run_id
    users = {u.name: u for u in lookups.clusters_using_profile(db, "prod", "tenant::web")}
    assert users["c3"].stale and users["c3"].seen_at == T0
    assert not users["vc1"].stale and users["vc1"].seen_at == later
    states = {(p.scope, p.kind): p for p in queries.part_states(db, "prod")}
    assert states[B].ok is False and states[B].last_ok_at == T0 and states[B].last_run_at == later
    assert states[A].ok is True and states[A].last_ok_at == later
    # a second crawl with the hold still on does not move the held entity's sighting
    commit_run(db, run(at=20), kept, outcomes)
    again = {e.name: e for e in queries.current_entities(db, "prod").entities}
    assert again["c1"].last_seen == T0 and again["vc1"].last_seen == T0 + timedelta(minutes=20)
    held = queries.held_removals(db, "prod")
    assert [(h.ref, h.streak, h.since) for h in held] == [
        ("resource:default/c1", 2, later),
        ("resource:default/c2", 2, later),
    ]
    assert held[0].part == A and "all 2 entities of part p1/clusters" in held[0].reason


def test_change_log_filters(db: Database) -> None:
    seed(db)
    second = commit_run(db, run(at=60), result([entity("c1", A, version=2), entity("c2", A)]), [ok(*A)])
    commit_run(db, run("lab", at=60), result([entity("x", B)]), [ok(*B)])
    everything = queries.changes(db)
    assert [c.id for c in everything] == sorted(c.id for c in everything) and len(everything) == 10
    assert [c.ref for c in queries.changes(db, "prod", after_run=second.run_id - 1)] == [
        "resource:default/c1"
    ]
    assert [c.change for c in queries.changes(db, "prod", since=T0 + timedelta(minutes=30))] == ["modified"]
    assert [c.ref for c in queries.changes(db, project_uid="p2")] == [
        "resource:default/c3",
        "resource:default/x",
    ]
    first_two = queries.changes(db, limit=2)
    assert queries.changes(db, after_id=first_two[-1].id)[0].id > first_two[-1].id
    assert len(queries.changes(db, "lab")) == 1


def test_runs_and_outcomes(db: Database) -> None:
    seed(db)
    commit_run(db, run(at=5, trigger="manual"), result([]), [failed(*A)])
    commit_run(db, run("lab", at=6), None, [])
    latest = queries.last_run(db, "prod")
    assert latest is not None and (latest.trigger, latest.status) == ("manual", "failed")
    assert [(o.scope, o.kind, o.ok, o.error_class) for o in latest.outcomes] == [
        ("p1", "clusters", False, "UnavailableError")
    ]
    assert [r.instance for r in queries.recent_runs(db)] == ["lab", "prod", "prod"]
    assert len(queries.recent_runs(db, "prod", limit=1)) == 1
    assert queries.last_run(db, "nowhere") is None
    states = {s.instance: s for s in queries.instance_states(db)}
    assert states["prod"].last_run_status == "failed" and states["prod"].has_snapshot
    assert states["lab"].last_run_status == "failed" and not states["lab"].has_snapshot


def test_detail_cache_lookups(db: Database) -> None:
    entries = [DetailCacheEntry("cluster", f"u{i}", f"t{i}", {"i": i}) for i in range(3)]
    entries.append(DetailCacheEntry("cluster-group", "u0", "g", {"group": True}))
    commit_run(db, run(at=0), result([]), [ok(*A)], detail_cache=entries)
    assert sorted(queries.cached_details(db, "prod", "cluster")) == ["u0", "u1", "u2"]
    assert queries.cached_details(db, "prod", "cluster", []) == {}
    got = queries.cached_details(db, "prod", "cluster-group", ["u0", "u1"])
    assert list(got) == ["u0"] and got["u0"].payload == {"group": True} and got["u0"].last_modified == "g"
    assert queries.cached_details(db, "lab", "cluster") == {}
    many = [f"x{i}" for i in range(1200)]  # more than one chunk of bound values
    assert queries.cached_details(db, "prod", "cluster", [*many, "u2"]).keys() == {"u2"}


def test_profile_versions_of_a_family(db: Database) -> None:
    seed(db)
    rows = queries.profile_versions(db, "prod", "tenant::web")
    assert [(r.version_uid, r.version) for r in rows] == [("v1", "1.1"), ("v2", "1.2"), ("v3", "1.3")]
    assert queries.profile_versions(db, "prod", "tenant::none") == []


def test_readiness(db: Database) -> None:
    assert queries.ping(db)


def test_reverse_lookup_uses_the_edge_indexes(db: Database) -> None:
    """The lookup's edge access goes through (instance, profile_key) and (instance, dst_uid), never a scan."""
    seed(db)
    sql, params = _compiled_lookup(db)
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            plan = " | ".join(
                str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params))
    assert "ix_edges_instance_profile_key" in plan and "ix_edges_instance_dst_uid" in plan
    assert "SCAN edges" not in plan and "Seq Scan on edges" not in plan


def _compiled_lookup(db: Database) -> tuple[str, dict[str, object] | tuple[object, ...]]:
    """The SQL ``clusters_using_profile`` runs, captured from the engine."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def capture(_c: object, _cur: object, statement: str, parameters: object, *_: object) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        lookups.clusters_using_profile(db, "prod", "tenant::web")
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in reversed(seen) if "edges" in s)
    return statement, parameters  # type: ignore[return-value]
