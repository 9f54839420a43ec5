"""The one writer: a crawl is committed in one transaction, failed parts and guarded removals keep data."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ingestor.crawl.snapshot import RunStats
from ingestor.store import lookups, queries, writer
from ingestor.store import models as m
from ingestor.store.db import Database
from ingestor.store.plan import RemovalPolicy, content_hash
from ingestor.store.writer import DetailCacheEntry, Retention, commit_run, derive_status
from tests.store.fakes import T0, Edge, ProfileVersion, entity, failed, ok, result, run

A = ("p1", "clusters")
B = ("p2", "clusters")
PROFILES = ("tenant", "clusterProfiles")


def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: to prove that nothing changed."""
    with db.read() as conn:
        return {
            name: sorted((tuple(map(repr, row)) for row in conn.execute(select(table))), key=repr)
            for name, table in m.metadata.tables.items()
        }


def refs(db: Database, instance: str = "prod") -> list[str]:
    return [e.ref for e in queries.current_entities(db, instance).entities]


def test_first_commit_records_everything(db: Database) -> None:
    stats = RunStats(
        calls=42, retries=3, rate_limited=2, errors=1, detail_calls=7, duration_seconds=12.5, stale_details=4
    )
    new = [entity("c1", A), entity("c2", A), entity("prof", PROFILES)]
    out = commit_run(db, run(stats=stats, trigger="start"), result(new), [ok(*A, 2), ok(*PROFILES, 1)])
    assert (out.status, out.snapshot_version, out.added, out.changed) == ("ok", 1, 3, True)

    snap = queries.current_entities(db, "prod")
    assert snap.versions == {"prod": 1}
    assert [e.ref for e in snap.entities] == sorted(e.ref for e in new)
    c1 = snap.entities[0]
    assert c1.body == new[0].body and c1.content_hash == content_hash(new[0].body)
    assert list(c1.body) == ["apiVersion", "kind", "metadata", "spec"]  # key order survives the database
    assert (c1.part, c1.project_uid, c1.first_seen, c1.last_seen, c1.run_id) == (A, "p1", T0, T0, out.run_id)

    (r,) = queries.recent_runs(db, "prod")
    assert (r.id, r.trigger, r.replica_id, r.status, r.snapshot_version) == (
        out.run_id,
        "start",
        "replica-a",
        "ok",
        1,
    )
    assert (r.calls, r.retries, r.rate_limited, r.errors, r.detail_calls, r.stale_details) == (
        42,
        3,
        2,
        1,
        7,
        4,
    )
    assert r.duration_seconds == 12.5 and r.finished_at == T0 and r.started_at == T0 - timedelta(seconds=5)
    assert r.counts == {"cluster": 2, "cluster-profile": 1}
    assert (r.added, r.modified, r.removed, r.held) == (3, 0, 0, 0)
    assert [(o.scope, o.kind, o.ok, o.items) for o in r.outcomes] == [
        ("p1", "clusters", True, 2),
        ("tenant", "clusterProfiles", True, 1),
    ]
    assert [(c.change, c.ref, c.old_hash) for c in queries.changes(db, "prod")] == [
        ("added", e.ref, None) for e in new
    ]
    state = queries.instance_state(db, "prod")
    assert state is not None and state.has_snapshot and state.last_success_run_id == out.run_id
    assert queries.has_snapshot(db, "prod") and not queries.has_snapshot(db, "other")


def test_an_unchanged_crawl_keeps_the_version_and_moves_last_seen(db: Database) -> None:
    new = [entity("c1", A)]
    first = commit_run(db, run(at=0), result(new), [ok(*A)])
    second = commit_run(db, run(at=10), result(new), [ok(*A)])
    assert second.snapshot_version == first.snapshot_version == 1 and not second.changed
    (e,) = queries.current_entities(db, "prod").entities
    assert (e.first_seen, e.last_seen, e.changed_at, e.run_id) == (
        T0,
        T0 + timedelta(minutes=10),
        T0,
        second.run_id,
    )
    assert len(queries.changes(db, "prod")) == 1


def test_a_modification_is_logged_with_both_hashes(db: Database) -> None:
    commit_run(db, run(at=0), result([entity("c1", A)]), [ok(*A)])
    new = entity("c1", A, version=2)
    out = commit_run(db, run(at=5), result([new]), [ok(*A)])
    assert (out.modified, out.snapshot_version) == (1, 2)
    (e,) = queries.current_entities(db, "prod").entities
    assert e.body == new.body and e.first_seen == T0 and e.changed_at == T0 + timedelta(minutes=5)
    change = queries.changes(db, "prod")[-1]
    assert (change.change, change.run_id) == ("modified", out.run_id)
    assert change.old_hash == content_hash(entity("c1", A).body) and change.new_hash == content_hash(new.body)


def test_a_failed_part_keeps_entities_edges_and_profile_versions(db: Database) -> None:
    edge_a = Edge(
        "resource:default/a1", "cluster", "uid-a1", "uses-profile-version", "v1", None, "tenant::web", "1.0"
    )
    edge_b = Edge(
        "resource:default/b1", "cluster", "uid-b1", "uses-profile-version", "v1", None, "tenant::web", "1.0"
    )
    pv = ProfileVersion("v1", "tenant::web", "resource:default/web", "web", "1.0", "tenant", None)
    everything = [entity("a1", A), entity("b1", B), entity("web", PROFILES)]
    commit_run(db, run(at=0), result(everything, [edge_a, edge_b], [pv]), [ok(*A), ok(*B), ok(*PROFILES)])
    before = lookups.clusters_using_profile(db, "prod", "tenant::web")

    # p2 fails and profiles fail: their entities, edges and versions stay; p1's edge is replaced.
    edge_a2 = Edge(
        "resource:default/a1", "cluster", "uid-a1", "uses-profile-version", "v2", None, "tenant::web", "2.0"
    )
    out = commit_run(
        db,
        run(at=5),
        result([entity("a1", A, version=2), entity("b1", B, version=9)], [edge_a2], []),
        [ok(*A), failed(*B), failed(*PROFILES)],
    )
    assert out.status == "partial" and (out.modified, out.removed, out.held) == (1, 0, 0)
    bodies = {e.ref: e.body for e in queries.current_entities(db, "prod").entities}
    assert bodies["resource:default/b1"] == entity("b1", B).body  # not the failed part's partial data
    assert bodies["resource:default/web"] == entity("web", PROFILES).body
    used = {(u.src_ref, u.version_uid) for u in lookups.clusters_using_profile(db, "prod", "tenant::web")}
    assert used == {("resource:default/a1", "v2"), ("resource:default/b1", "v1")}
    assert {u.src_ref for u in before} == {"resource:default/a1", "resource:default/b1"}
    assert [v.version_uid for v in queries.profile_versions(db, "prod", "tenant::web")] == ["v1"]
    (r, _) = queries.recent_runs(db, "prod")
    failures = [(o.scope, o.error_class, o.error) for o in r.outcomes if not o.ok]
    assert failures == [
        ("p2", "UnavailableError", "Palette answered 503"),
        ("tenant", "UnavailableError", "Palette answered 503"),
    ]


def test_vanishing_parts_are_held_then_removed_after_confirmation(db: Database) -> None:
    new = [entity(f"c{i}", A) for i in range(5)]
    commit_run(db, run(at=0), result(new), [ok(*A)])
    policy = RemovalPolicy(confirm_removal_after=3)
    for at in (1, 2):
        out = commit_run(db, run(at=at), result([]), [ok(*A)], policy=policy)
        assert (out.held, out.removed, out.snapshot_version) == (5, 0, 1)
        assert len(refs(db)) == 5
    held = queries.held_removals(db, "prod")
    assert [h.streak for h in held] == [2] * 5 and held[0].since == T0 + timedelta(minutes=1)
    assert "all 5 entities of part p1/clusters are missing" in held[0].reason
    out = commit_run(db, run(at=3), result([]), [ok(*A)], policy=policy)
    assert (out.removed, out.held, out.snapshot_version) == (5, 0, 2)
    assert refs(db) == [] and queries.held_removals(db) == []
    assert [c.change for c in queries.changes(db, "prod", after_run=out.run_id - 1)] == ["removed"] * 5


def test_a_held_entity_that_reappears_stays_and_its_hold_ends(db: Database) -> None:
    new = [entity(f"c{i}", A) for i in range(4)]
    commit_run(db, run(at=0), result(new), [ok(*A)])
    commit_run(db, run(at=1), result(new[:1]), [ok(*A)])
    assert len(queries.held_removals(db, "prod")) == 3
    out = commit_run(db, run(at=2), result(new), [ok(*A)])
    assert (out.released, out.removed) == (3, 0)
    assert queries.held_removals(db, "prod") == [] and len(refs(db)) == 4


def test_a_crash_inside_the_transaction_leaves_the_previous_snapshot(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_run(db, run(at=0), result([entity("c1", A), entity("c2", A)]), [ok(*A)])
    before = dump(db)

    def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer, "apply_edges", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        commit_run(db, run(at=5), result([entity("c1", A, version=2), entity("c3", A)]), [ok(*A)])
    assert dump(db) == before
    assert queries.snapshot_versions(db) == {"prod": 1}


def test_no_result_records_the_failed_run_and_touches_nothing(db: Database) -> None:
    out = commit_run(
        db, run(at=0, error_class="AuthError", error_message="Palette refused the API key"), None, []
    )
    assert out.status == "failed" and not queries.has_snapshot(db, "prod")
    applied = commit_run(db, run(at=1), result([entity("c1", A)]), [ok(*A)])
    before = [e.body for e in queries.current_entities(db).entities]
    out = commit_run(db, run(at=2), None, [ok("tenant", "projects"), failed(*A)])
    assert out.status == "partial" and not out.changed
    state = queries.instance_state(db, "prod")
    assert state is not None and (state.last_run_id, state.last_success_run_id) == (
        out.run_id,
        applied.run_id,
    )
    assert [e.body for e in queries.current_entities(db).entities] == before
    (last, *_) = queries.recent_runs(db, "prod")
    assert last.status == "partial"
    first = queries.recent_runs(db, "prod")[-1]
    assert (first.error_class, first.error_message) == ("AuthError", "Palette refused the API key")


def test_detail_cache_is_written_and_dropped_with_its_entity(db: Database) -> None:
    entries = [
        DetailCacheEntry("cluster", "uid-c1", "2025-01-01T00:00:00Z", {"spec": {"a": 1}}),
        DetailCacheEntry("cluster", "uid-c2", None, {"spec": {"b": 2}}),
    ]
    commit_run(db, run(at=0), result([entity("c1", A), entity("c2", A)]), [ok(*A)], detail_cache=entries)
    cache = queries.cached_details(db, "prod", "cluster")
    assert {uid: (c.last_modified, c.payload) for uid, c in cache.items()} == {
        "uid-c1": ("2025-01-01T00:00:00Z", {"spec": {"a": 1}}),
        "uid-c2": (None, {"spec": {"b": 2}}),
    }
    newer = DetailCacheEntry("cluster", "uid-c1", "2025-02-01T00:00:00Z", {"spec": {"a": 2}})
    commit_run(db, run(at=1), result([entity("c1", A)]), [ok(*A)], detail_cache=[newer])
    cache = queries.cached_details(db, "prod", "cluster", ["uid-c1", "uid-c2", "nope"])
    assert list(cache) == ["uid-c1"] and cache["uid-c1"].payload == {"spec": {"a": 2}}
    assert cache["uid-c1"].fetched_at == T0 + timedelta(minutes=1)


def test_retention_keeps_the_newest_runs_and_recent_changes(db: Database) -> None:
    for at in range(5):
        commit_run(db, run(at=at * 60 * 24), result([entity("c1", A, version=at)]), [ok(*A)])
    out = commit_run(
        db,
        run(at=5 * 60 * 24),
        result([entity("c1", A, version=5)]),
        [ok(*A)],
        retention=Retention(runs=3, change_days=2),
    )
    runs = queries.recent_runs(db, "prod", limit=100)
    assert [r.id for r in runs] == [out.run_id, out.run_id - 1, out.run_id - 2]
    assert all(r.outcomes for r in runs)
    with db.read() as conn:
        kept_outcomes = {row.run_id for row in conn.execute(select(m.crawl_part_outcomes.c.run_id))}
    assert kept_outcomes == {r.id for r in runs}
    days = sorted((c.at - T0).days for c in queries.changes(db, "prod"))
    assert days == [3, 4, 5]


def test_instances_are_isolated(db: Database) -> None:
    commit_run(db, run("", at=0), result([entity("unnamed", A)]), [ok(*A)])
    commit_run(db, run("prod", at=0), result([entity("c1", A)]), [ok(*A)])
    commit_run(db, run("lab", at=0), result([entity("c1", A), entity("c2", A)]), [ok(*A)])
    commit_run(db, run("lab", at=1), result([]), [ok(*A)], policy=RemovalPolicy(confirm_removal_after=1))
    assert refs(db, "prod") == ["resource:default/c1"] and refs(db, "lab") == []
    assert refs(db, "") == ["resource:default/unnamed"]
    assert queries.snapshot_versions(db) == {"": 1, "prod": 1, "lab": 2}


def test_concurrent_commits_of_one_instance_serialise(db: Database) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def crawl(i: int) -> None:
        try:
            barrier.wait(5)
            commit_run(db, run(at=i), result([entity("c1", A, version=i)]), [ok(*A)])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=crawl, args=(i,), daemon=True) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert queries.snapshot_versions(db) == {"prod": 4}
    assert sorted(r.snapshot_version for r in queries.recent_runs(db, "prod")) == [1, 2, 3, 4]


def test_invalid_runs_write_nothing(db: Database) -> None:
    with pytest.raises(ValueError, match="trigger"):
        commit_run(db, run(trigger="cron"), result([entity("c1", A)]), [ok(*A)])
    with pytest.raises(ValueError, match="status"):
        commit_run(db, run(status="great"), result([entity("c1", A)]), [ok(*A)])
    assert queries.recent_runs(db) == [] and refs(db) == []


def test_long_error_messages_are_clipped(db: Database) -> None:
    commit_run(db, run(error_class="X", error_message="e" * 5000), None, [failed(*A)])
    (r,) = queries.recent_runs(db)
    assert r.error_message is not None and len(r.error_message) == writer.MAX_MESSAGE


def test_mapping_problems_are_kept_with_the_run_and_capped(db: Database) -> None:
    problems = tuple(
        {"paletteKind": "cluster", "key": f"u{i}", "name": f"bad {i}", "reason": "invalid", "level": "error"}
        for i in range(writer.MAX_PROBLEMS + 5)
    )
    commit_run(db, run(problems=problems), result([entity("a", part=A)]), [ok(*A)])
    (r,) = queries.recent_runs(db)
    assert len(r.problems) == writer.MAX_PROBLEMS
    assert r.problems[0] == problems[0]


@pytest.mark.parametrize(
    ("oks", "status"),
    [([], "failed"), ([True], "ok"), ([True, True], "ok"), ([True, False], "partial"), ([False], "failed")],
)
def test_derive_status(oks: list[bool], status: str) -> None:
    outcomes = [ok("p", str(i)) if good else failed("p", str(i)) for i, good in enumerate(oks)]
    assert derive_status(outcomes) == status
