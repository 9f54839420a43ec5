"""Project-scoped crawls against the real simulator: a new cluster reaches the store without a full crawl,
nothing outside the project moves (bodies, freshness, part states, edges, holds), and a following full crawl
finds nothing to change. Failing or vanished projects change and lose nothing."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from ingestor.crawl.service import run_crawl
from ingestor.simulator.faults_spec import ErrorFault, OutageFault
from ingestor.simulator.index import cloud_type
from ingestor.store import models as m
from ingestor.store import queries
from ingestor.store.rows import EntityRow, PartStateRow
from ingestor.store.writer import CommitResult
from tests.simulator.test_create import eks_body, virtual_body

from .harness import INSTANCE, TOKEN, Harness

KINDS = ("clusters", "virtualClusters", "clusterGroups", "clusterProfiles")
Row = tuple[Any, ...]


async def crawl_project(h: Harness, *uids: str) -> CommitResult:
    return await run_crawl(h.settings, h.env, h.db, trigger="project", replica_id="test", only_projects=uids)


def create(h: Harness, project_uid: str, kind: str, body: dict[str, Any]) -> str:
    """A cluster made through the simulator's creation route, as the plugin makes them."""
    answer = httpx.post(
        f"{h.sim.url}/v1/spectroclusters/{kind}",
        json=body,
        headers={"ApiKey": TOKEN, "ProjectUid": project_uid},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["uid"])


@dataclass(frozen=True)
class Store:
    """Everything a crawl may write for the instance, read at one moment."""

    entities: dict[str, EntityRow]
    parts: dict[tuple[str, str], PartStateRow]
    edges: set[Row]
    versions: set[Row]
    held: set[Row]
    version: int

    def outside(self, scope: str) -> dict[str, EntityRow]:
        return {ref: e for ref, e in self.entities.items() if e.part[0] != scope}


def read(h: Harness) -> Store:
    def rows(table: Any) -> set[Row]:
        with h.db.read() as conn:
            query = select(table).where(table.c.instance == INSTANCE)
            return {tuple(r) for r in conn.execute(query)}

    return Store(
        entities=h.entities(),
        parts={(p.scope, p.kind): p for p in queries.part_states(h.db, INSTANCE)},
        edges=rows(m.edges),
        versions=rows(m.profile_versions),
        held=rows(m.held_removals),
        version=h.version(),
    )


def without(rows: Iterable[Row], refs: set[str], column: int) -> set[Row]:
    return {r for r in rows if r[column] not in refs}


def by_key(h: Harness, uid: str) -> EntityRow:
    return next(e for e in h.entities().values() if e.key == uid)


def assert_only_project_moved(before: Store, after: Store, project: str) -> None:
    """Outside ``project``: the same entities, with the same bodies, freshness and runs; the same part
    states, edges, profile versions and holds."""
    assert after.outside(project) == before.outside(project)
    assert {k: p for k, p in after.parts.items() if k[0] != project} == {
        k: p for k, p in before.parts.items() if k[0] != project
    }
    mine = {ref for ref, e in after.entities.items() if e.part[0] == project}
    mine |= {ref for ref, e in before.entities.items() if e.part[0] == project}
    assert without(after.edges, mine, 1) == without(before.edges, mine, 1)  # (instance, src_ref, ...)
    assert without(after.versions, mine, 3) == without(before.versions, mine, 3)  # profile_ref
    assert without(after.held, mine, 1) == without(before.held, mine, 1)


async def test_a_new_cluster_is_added_and_nothing_else_moves(any_harness: Harness) -> None:
    h = any_harness
    first = await h.crawl()
    project = h.projects()["payments"]
    before = read(h)
    uid = create(h, project, "eks", eks_body(h.sim, name="created-by-a-test"))

    result = await crawl_project(h, project)

    assert (result.status, result.added, result.modified, result.removed, result.held) == ("ok", 1, 0, 0, 0)
    after = read(h)
    assert after.version == before.version + 1 == result.snapshot_version
    new = by_key(h, uid)
    assert (new.part, new.project_uid, new.run_id) == ((project, "clusters"), project, result.run_id)
    annotations = new.body["metadata"]["annotations"]
    assert annotations["terasky.backstage.io/project-name"] == "payments"
    # its profile is the tenant's eks-base family, resolved through the context (not committed)
    family = next(e for e in after.entities.values() if e.name == "sim-tenant-eks-base")
    assert new.body["spec"]["dependsOn"] == [family.ref]
    assert new.body["spec"]["system"] == by_key(h, project).ref
    edges = {r for r in after.edges if r[1] == new.ref}
    assert {(r[2], r[6]) for r in edges} == {("uses-profile-version", family.ref)}  # relation, dst_ref

    assert_only_project_moved(before, after, project)
    # the project's other entities are confirmed by this run: same bodies, fresher sighting
    for ref, old in before.entities.items():
        if old.part[0] == project:
            now = after.entities[ref]
            assert (now.body, now.changed_at, now.run_id) == (old.body, old.changed_at, result.run_id)
    moved = {k for k, p in after.parts.items() if p.last_run_id == result.run_id}
    assert moved == {k for k in after.parts if k[0] == project} and (project, "clusters") in moved
    changes = queries.changes(h.db, INSTANCE, after_run=first.run_id)
    assert [(c.change, c.ref, c.project_uid) for c in changes] == [("added", new.ref, project)]
    run = h.last_run()
    assert (run.trigger, run.status, run.added) == ("project", "ok", 1)
    assert {o.scope for o in run.outcomes} == {"tenant", project}
    assert {(o.scope, o.kind) for o in run.outcomes if o.scope == "tenant"} == {("tenant", "projects")}
    state = queries.instance_state(h.db, INSTANCE)
    assert state is not None and state.last_success_run_id == first.run_id  # a whole-instance figure

    full = await h.crawl()
    assert (full.status, full.added, full.modified, full.removed) == ("ok", 0, 0, 0)
    assert by_key(h, uid).content_hash == new.content_hash and by_key(h, uid).changed_at == new.changed_at
    assert read(h).edges == after.edges and read(h).versions == after.versions


async def test_virtual_clusters_get_hosts_and_groups_from_outside_the_project(harness: Harness) -> None:
    h = harness
    await h.crawl()
    projects = h.projects()
    project, other = projects["data-science"], projects["platform"]
    before = read(h)
    on_tenant = create(h, project, "virtual", virtual_body(h.sim, name="vc-made-now"))
    # A virtual cluster on a host another project owns: found through the meta list, searched there.
    host = next(
        uid
        for uid in h.clusters_of(other)
        if (h.sim.dataset.collection("clusters")[uid].get("status") or {}).get("state") == "Running"
    )
    template = next(
        r
        for uid, r in h.sim.dataset.collection("clusters").items()
        if cloud_type(r) == "nested" and uid in h.clusters_of(project, virtual=True)
    )
    record = copy.deepcopy(template)
    record["metadata"] = {
        "name": "vc-on-a-neighbour",
        "annotations": dict(template["metadata"]["annotations"]),
        "labels": {},
    }
    host_name = h.sim.dataset.collection("clusters")[host]["metadata"]["name"]
    config = record["spec"]["clusterConfig"]["hostClusterConfig"]
    config["hostCluster"] = {"uid": host, "name": host_name, "kind": "spectrocluster"}
    on_neighbour = h.sim.dataset.insert("clusters", record)

    result = await crawl_project(h, project)

    assert (result.status, result.added, result.modified, result.removed) == ("ok", 2, 0, 0)
    after = read(h)
    assert_only_project_moved(before, after, project)
    placed = virtual_body(h.sim)["spec"]["clusterConfig"]["hostClusterConfig"]
    tenant_vc = by_key(h, on_tenant).body
    tenant_host, tenant_group = (
        by_key(h, placed["hostCluster"]["uid"]),
        by_key(h, placed["clusterGroup"]["uid"]),
    )
    assert tenant_host.part == ("tenant", "clusters") and tenant_group.part[0] == "tenant"
    assert {tenant_host.ref, tenant_group.ref} <= set(tenant_vc["spec"]["dependsOn"])
    neighbour = by_key(h, on_neighbour).body
    assert by_key(h, host).ref in neighbour["spec"]["dependsOn"]
    assert neighbour["metadata"]["annotations"]["terasky.backstage.io/host-cluster-id"] == host

    full = await h.crawl()
    assert (full.added, full.modified, full.removed) == (0, 0, 0)  # byte-identical to the full mapping
    assert read(h).edges == after.edges


async def test_a_failing_project_changes_and_loses_nothing(any_harness: Harness) -> None:
    h = any_harness
    await h.crawl()
    project = h.projects()["platform"]
    before = read(h)
    uid = create(h, project, "eks", eks_body(h.sim, name="not-yet"))
    h.sim.dataset.delete("clusters", h.clusters_of(project)[0])
    outage = h.fault(OutageFault(project_uid=project))

    result = await crawl_project(h, project)

    assert (result.status, result.added, result.modified, result.removed) == ("failed", 0, 0, 0)
    after = read(h)
    assert after.version == before.version
    assert {r: (e.body, e.content_hash, e.changed_at) for r, e in after.entities.items()} == {
        r: (e.body, e.content_hash, e.changed_at) for r, e in before.entities.items()
    }
    assert_only_project_moved(before, after, project)
    assert all(not after.parts[(project, kind)].ok for kind in KINDS)
    assert all(e.stale for e in after.entities.values() if e.part[0] == project)
    run = h.last_run()
    assert {o.error_class for o in run.outcomes if o.scope == project} == {"UnavailableError"}
    assert run.error_message is not None and run.error_message.startswith("4 of 4 parts failed")

    h.sim.faults.remove(outage)
    healed = await crawl_project(h, project)
    assert (healed.status, healed.added, healed.removed) == ("ok", 1, 1)
    assert by_key(h, uid).part == (project, "clusters")


async def test_a_failed_context_lookup_holds_the_parts_pointing_there(harness: Harness) -> None:
    h = harness
    await h.crawl()
    project = h.projects()["payments"]
    before = read(h)
    vc = create(h, project, "virtual", virtual_body(h.sim, name="vc-waits"))
    eks = create(h, project, "eks", eks_body(h.sim, name="eks-goes-in"))
    h.fault(ErrorFault(path="/v1/dashboard/spectroclusters/meta", status=503))

    result = await crawl_project(h, project)

    assert (result.status, result.added) == ("partial", 1)
    outcomes = h.outcomes()
    assert outcomes[(project, "virtualClusters")].error_class == "DependencyFailedError"
    assert outcomes[(project, "clusters")].ok
    assert by_key(h, eks).part == (project, "clusters")
    assert all(e.key != vc for e in h.entities().values())
    assert_only_project_moved(before, read(h), project)


async def test_a_vanished_project_removes_nothing(any_harness: Harness) -> None:
    h = any_harness
    await h.crawl()
    project = h.projects()["data-science"]
    before = read(h)
    h.sim.dataset.delete("projects", project)

    result = await crawl_project(h, project, "no-such-project")

    assert (result.status, result.added, result.modified, result.removed, result.held) == (
        "failed",
        0,
        0,
        0,
        0,
    )
    after = read(h)
    assert after == before
    run = h.last_run()
    assert run.error_class == "ProjectNotFoundError" and run.trigger == "project"
    assert [(o.scope, o.kind, o.ok) for o in run.outcomes] == [("tenant", "projects", True)]
    assert queries.changes(h.db, INSTANCE, after_run=run.id - 1) == []


async def test_removals_inside_the_project_go_through_the_guard(harness: Harness) -> None:
    h = harness
    await h.crawl()
    project = h.projects()["payments"]
    clusters = h.clusters_of(project)
    h.sim.dataset.delete("clusters", clusters[0])

    one = await crawl_project(h, project)
    assert (one.removed, one.held) == (1, 0)

    for uid in clusters[1:]:
        h.sim.dataset.delete("clusters", uid)
    before = read(h)
    guarded = await crawl_project(h, project)
    assert (guarded.removed, guarded.held) == (0, len(clusters) - 1)
    held = queries.held_removals(h.db, INSTANCE)
    assert {x.part for x in held} == {(project, "clusters")}
    assert_only_project_moved(before, read(h), project)

    # a full crawl continues the same streak: the project crawl's hold counts as a confirmation
    full = await h.crawl()
    assert full.held == len(clusters) - 1
    assert {x.streak for x in queries.held_removals(h.db, INSTANCE)} == {2}


async def test_a_name_held_in_another_project_is_not_handed_out(harness: Harness) -> None:
    h = harness
    projects = h.projects()
    create(h, projects["data-science"], "eks", eks_body(h.sim, name="x"))  # sim-data-science-x
    await h.crawl()
    project = projects["payments"]
    h.sim.dataset.patch("projects", project, {"metadata": {"name": "data"}})
    before = read(h)
    uid = create(h, project, "eks", eks_body(h.sim, name="science-x"))  # wants sim-data-science-x too

    result = await crawl_project(h, project)

    new = by_key(h, uid)
    assert (
        result.added == 1 and new.name.startswith("sim-data-science-x-") and new.name != "sim-data-science-x"
    )
    held = next(e for e in before.entities.values() if e.name == "sim-data-science-x")
    assert read(h).entities[held.ref] == held
    # the rename reached the project's own entities; its System (a tenant part) waits for a full crawl
    named = [
        e for e in before.entities.values() if e.part[0] == project and e.palette_kind.endswith("cluster")
    ]
    assert result.modified == len(named)  # clusters and virtual clusters show their project's name
    assert by_key(h, project).body["metadata"]["title"] == "payments"

    full = await h.crawl()
    assert (full.added, full.modified, full.removed) == (0, 1, 0)  # only the project's System
    assert by_key(h, project).body["metadata"]["title"] == "data" and by_key(h, uid).name == new.name
