"""``run_crawl`` against the simulator: what a crawl stores, what a re-crawl costs, how changes land."""

from __future__ import annotations

import httpx

from ingestor.crawl.crawler import DETAIL_ENDPOINTS
from ingestor.store import queries

from .harness import GROUP_DETAIL, INSTANCE, TOKEN, Harness

KINDS = ("clusters", "virtualClusters", "clusterGroups", "clusterProfiles")


async def test_first_crawl_stores_every_object_in_its_part(any_harness: Harness) -> None:
    h = any_harness
    result = await h.crawl()

    assert result.status == "ok" and result.added == sum(h.expected_counts().values())
    assert h.counts() == h.expected_counts()
    outcomes = h.outcomes()
    scopes = ["tenant", *h.projects().values()]
    assert set(outcomes) == {("tenant", "projects")} | {(s, k) for s in scopes for k in KINDS}
    assert all(o.ok for o in outcomes.values())
    for name, uid in h.projects().items():
        stored = {e.key for e in h.entities().values() if e.part == (uid, "clusters")}
        assert stored == set(h.clusters_of(uid)), name
        assert outcomes[(uid, "clusters")].items == len(h.clusters_of(uid))
    tenant = {e.key for e in h.entities().values() if e.part == ("tenant", "clusters")}
    assert tenant == set(h.clusters_of("")) and tenant  # the tenant's own clusters, and only those


async def test_unchanged_recrawl_makes_no_detail_calls_and_changes_nothing(harness: Harness) -> None:
    h = harness
    async with h.client() as client:
        await h.crawl(client)
        first = client.stats.snapshot()[GROUP_DETAIL]["calls"]
        version = h.version()
        result = await h.crawl(client)
        second = client.stats.snapshot()[GROUP_DETAIL]["calls"] - first

    groups = len(h.sim.dataset.collection("clusterGroups"))
    assert first == groups and h.last_run().detail_calls == 0 and second == 0
    assert (result.added, result.modified, result.removed) == (0, 0, 0)
    assert h.version() == version
    assert DETAIL_ENDPOINTS == (GROUP_DETAIL,)


async def test_a_changed_group_is_the_only_detail_fetched_again(harness: Harness) -> None:
    h = harness
    await h.crawl()
    uid = sorted(h.sim.dataset.collection("clusterGroups"))[0]
    h.sim.dataset.patch("clusterGroups", uid, {"spec": {"clustersConfig": {"endpointType": "LoadBalancer"}}})

    result = await h.crawl()

    assert h.last_run().detail_calls == 1
    assert result.modified == 1
    body = next(e.body for e in h.entities().values() if e.key == uid)
    assert body["metadata"]["annotations"]["terasky.backstage.io/endpoint-type"] == "LoadBalancer"


async def test_patched_and_deleted_clusters_are_recorded_as_changes(any_harness: Harness) -> None:
    h = any_harness
    await h.crawl()
    project = sorted(h.projects().values())[0]
    patched, deleted = h.clusters_of(project)[:2]
    async with httpx.AsyncClient(base_url=h.sim.url, headers={"ApiKey": TOKEN}) as admin:  # the admin API
        patch = await admin.patch(f"/__sim/data/clusters/{patched}", json={"status": {"state": "Error"}})
        delete = await admin.delete(f"/__sim/data/clusters/{deleted}")
    assert (patch.status_code, delete.status_code) == (200, 204)
    refs = {e.key: e.ref for e in h.entities().values()}
    before = h.last_run().id

    result = await h.crawl()

    assert (result.status, result.modified, result.removed, result.held) == ("ok", 1, 1, 0)
    changes = {(c.ref, c.change) for c in queries.changes(h.db, INSTANCE, after_run=before)}
    assert changes == {(refs[patched], "modified"), (refs[deleted], "removed")}
    stored = h.entities()
    assert stored[refs[patched]].body["metadata"]["annotations"]["terasky.backstage.io/state"] == "Error"
    assert refs[deleted] not in stored


async def test_a_mass_deletion_is_held_back_until_crawls_agree(harness: Harness) -> None:
    h = harness
    h.configure({"crawl": {"removalGuard": {"confirmAfterRuns": 2, "minPartSize": 2}}})
    await h.crawl()
    project = sorted(h.projects().values())[0]
    gone = h.clusters_of(project)
    for uid in gone:
        h.sim.dataset.delete("clusters", uid)

    held = await h.crawl()
    still = {e.key for e in h.entities().values() if e.part == (project, "clusters")}
    waiting = queries.held_removals(h.db, INSTANCE)
    confirmed = await h.crawl()

    assert (held.removed, held.held) == (0, len(gone)) and still == set(gone)
    assert {r.part for r in waiting} == {(project, "clusters")} and all(
        "missing" in r.reason for r in waiting
    )
    assert (confirmed.removed, confirmed.held) == (len(gone), 0)
    assert queries.held_removals(h.db, INSTANCE) == []
    assert not any(e.part == (project, "clusters") for e in h.entities().values())


async def test_a_kind_switched_off_is_not_fetched_and_its_entities_go_guarded(harness: Harness) -> None:
    h = harness
    await h.crawl()
    h.configure(catalogProvider={"resources": {"clusterGroups": False}})
    async with h.client() as client:
        held = await h.crawl(client)
        calls = client.stats.snapshot()

    assert not any(key.endswith("/v1/clustergroups/hostCluster") for key in calls)
    assert not any(kind == "clusterGroups" for _, kind in h.outcomes())
    assert h.last_run().status == "ok"
    groups = h.expected_counts()["cluster-group"]
    assert held.held == groups and h.counts()["cluster-group"] == groups  # a whole part missing: held
    h.configure(
        {"crawl": {"removalGuard": {"confirmAfterRuns": 1}}},
        catalogProvider={"resources": {"clusterGroups": False}},
    )
    removed = await h.crawl()
    assert removed.removed == groups and h.counts()["cluster-group"] == 0


async def test_excluded_projects_are_not_crawled(harness: Harness) -> None:
    h = harness
    name, uid = sorted(h.projects().items())[0]
    h.configure(catalogProvider={"excludeProjects": [name]})

    await h.crawl()

    assert not any(scope == uid for scope, _ in h.outcomes())
    assert not any(e.project_uid == uid for e in h.entities().values())
    assert h.counts()["cluster"] == h.expected_counts()["cluster"] - len(h.clusters_of(uid))


async def test_cluster_searches_cost_one_page_per_list_and_skip_other_projects_in_tenant_scope(
    harness: Harness,
) -> None:
    h = harness
    h.configure({"palette": {"pageSize": 2}})
    tenant_cluster = h.clusters_of("")[0]
    name = h.sim.dataset.collection("clusters")[tenant_cluster]["metadata"]["name"]
    project = sorted(h.projects().values())[0]
    h.sim.dataset.patch("clusters", h.clusters_of(project)[0], {"metadata": {"name": name}})  # same name

    async with h.client() as client:
        await h.crawl(client)
        searches = client.stats.snapshot()["POST /v1/dashboard/spectroclusters/search"]["calls"]

    def pages(n: int) -> int:
        return max(1, -(-n // 2))

    per_project = sum(
        pages(len(h.clusters_of(p))) + pages(len(h.clusters_of(p, virtual=True)))
        for p in h.projects().values()
    )
    # the tenant's name search also matches the project cluster that shares a name (then dropped by uid)
    tenant = pages(len(h.clusters_of("")) + 1)
    tenant += pages(len(h.clusters_of("", virtual=True))) if h.clusters_of("", virtual=True) else 0
    assert searches == per_project + tenant  # the tenant scope never pages through project clusters
    tenant_part = {e.key for e in h.entities().values() if e.part == ("tenant", "clusters")}
    assert tenant_part == set(h.clusters_of(""))
    assert h.counts() == h.expected_counts()


async def test_the_mapping_problems_are_kept_with_the_run(harness: Harness) -> None:
    h = harness
    project = sorted(h.projects().values())[0]
    first, second = h.clusters_of(project)[:2]
    name = h.sim.dataset.collection("clusters")[first]["metadata"]["name"]
    h.sim.dataset.patch(
        "clusters", second, {"metadata": {"name": name.replace("-", "_")}}
    )  # same entity name

    await h.crawl()

    problems = h.last_run().problems
    flagged = [p for p in problems if p["key"] in (first, second)]
    assert flagged and {p["paletteKind"] for p in flagged} == {"cluster"}
    assert all(p["level"] in ("error", "info") and p["reason"] for p in problems)


async def test_tenant_scoped_resources_can_be_left_out(harness: Harness) -> None:
    h = harness
    h.configure(catalogProvider={"excludeTenantScopedResources": True, "defaultOwner": "platform-team"})

    await h.crawl()

    entities = h.entities().values()
    shared = [e for e in entities if e.part[0] == "tenant" and e.palette_kind != "project"]
    # only system-scope objects stay: the rule drops scope "tenant" (compat.md 2.6)
    assert shared and {e.body["metadata"]["annotations"]["terasky.backstage.io/scope"] for e in shared} == {
        "system"
    }
    assert h.counts()["cluster"] == h.expected_counts()["cluster"] - len(h.clusters_of(""))
    assert {e.body["spec"]["owner"] for e in entities} == {"group:default/platform-team"}
