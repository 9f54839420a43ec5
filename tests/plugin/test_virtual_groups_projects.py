"""Plugin routes 7, 8, 10 (virtual clusters), 9, 21 (cluster groups) and 15 (projects) against a real
simulator over real sockets. Expectations come from the simulator itself, called directly."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from ingestor.api.plugin.groups import with_clusters_config
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.plugin.conftest import SIM_KEY, PluginClient

ADMIN = {"ApiKey": SIM_KEY}
VIEW = "spectrocloud.cluster.view-info"
KUBECONFIG = "spectrocloud.cluster.download-kubeconfig"
JANE = "user:default/jane"
BAD_UIDS = ["..%2F..%2Fv1%2Fusers", "abc%3Fx", "%2E%2E", "a" * 65, "abc_def"]
VIRTUAL_SEARCH = {
    "filter": {
        "conjunction": "and",
        "filterGroups": [
            {
                "conjunction": "and",
                "filters": [
                    {
                        "property": "environment",
                        "type": "string",
                        "condition": {
                            "string": {
                                "operator": "eq",
                                "negation": False,
                                "match": {"conjunction": "or", "values": ["nested"]},
                                "ignoreCase": False,
                            }
                        },
                    },
                    {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}},
                ],
            }
        ],
    },
    "sort": [],
}


def policy(*permissions: str) -> str:
    """RBAC CSV granting jane exactly ``permissions`` (none: jane is in no role)."""
    lines = ["p, role:default/other, spectrocloud.cluster.view-info, read, allow"]
    if permissions:
        lines.append(f"g, {JANE}, role:default/ops")
        lines += [f"p, role:default/ops, {name}, read, allow" for name in permissions]
    return "\n".join(lines) + "\n"


# -- the simulator, called directly -------------------------------------------------------------
def sim_call(url: str, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    response = httpx.request(method, url + path, headers=headers, timeout=30, **kwargs)
    response.raise_for_status()
    return response


def sim_pages(url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a paged POST list, the continue token in the query."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        params = {"limit": 50, **({"continue": token} if token else {})}
        data = sim_call(url, "POST", path, headers, json=body, params=params).json()
        items += data["items"]
        token = data["listmeta"]["continue"]
        if not token:
            return items


def scoped(headers: dict[str, str], project: str | None) -> dict[str, str]:
    return {**headers, "ProjectUid": project} if project else headers


def session_of(url: str, login: str) -> str:
    for uid in sim_call(url, "GET", "/__sim/data/users", ADMIN).json()["uids"]:
        user = sim_call(url, "GET", f"/__sim/data/users/{uid}", ADMIN).json()
        if user["spec"]["emailId"].startswith(f"{login}@"):
            return str(user["sessionTokens"][0])
    raise AssertionError(f"no simulator user {login}")


def projects_of(url: str, credential: dict[str, str]) -> list[str]:
    me = sim_call(url, "GET", "/v1/users/me", credential).json()
    return list(me["status"]["projectPermissions"])


def virtual_clusters(url: str, credential: dict[str, str], project: str | None) -> list[dict[str, Any]]:
    return sim_pages(url, "/v1/dashboard/spectroclusters/search", VIRTUAL_SEARCH, scoped(credential, project))


@contextmanager
def fault(url: str, **spec: Any) -> Iterator[None]:
    """An injected simulator fault for the duration of the block."""
    ids = sim_call(url, "POST", "/__sim/faults", ADMIN, json=spec).json()["ids"]
    try:
        yield
    finally:
        for fault_id in ids:
            sim_call(url, "DELETE", f"/__sim/faults/{fault_id}", ADMIN)


# -- our service ----------------------------------------------------------------------------
def get(
    p: PluginClient,
    path: str,
    *,
    session: str | None = None,
    params: dict[str, str] | None = None,
    user: str = JANE,
) -> httpx.Response:
    """GET as ``user`` (optionally with ``X-SpectroCloud-Token``); asserts no credential is echoed."""
    token = p.token(user)
    headers = {"Authorization": f"Bearer {token}"}
    if session is not None:
        headers["X-SpectroCloud-Token"] = session
    response = p.get(path, user=None, headers=headers, params=params)
    for secret in (token, SIM_KEY, session):
        if secret:
            assert secret not in response.text
    return response


def by_uid(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    uids = [item["metadata"]["uid"] for item in items]
    assert len(uids) == len(set(uids)), "duplicate uids"
    return dict(zip(uids, items, strict=True))


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert isinstance(message, str)
    return message


@pytest.fixture(scope="module")
def tenant(sim: SimulatorServer) -> dict[str, Any]:
    """Facts about the default simulated tenant, read from the simulator."""
    url = sim.url
    projects = projects_of(url, ADMIN)
    by_project = {project: virtual_clusters(url, ADMIN, project) for project in projects}
    running = [
        (vc["metadata"]["uid"], project)
        for project, vcs in by_project.items()
        for vc in vcs
        if vc["status"]["state"] == "Running"
    ]
    meta = sim_call(url, "GET", "/v1/dashboard/spectroclusters/meta", ADMIN).json()
    plain = [
        (c["metadata"]["uid"], c["metadata"]["annotations"]["projectUid"])
        for c in meta
        if c["spec"]["cloudType"] != "nested"
        and c["status"]["state"] == "Running"
        and c["metadata"]["annotations"].get("projectUid")
    ]
    return {"projects": projects, "vcs": by_project, "running_vc": running[0], "plain": plain[0]}


@pytest.fixture(scope="module")
def big_sim() -> Iterator[SimulatorServer]:
    """A tenant with more than one page of projects and of virtual clusters per project."""
    options = SimulatorOptions(
        api_key=SIM_KEY,
        rate_limits=False,
        projects=52,
        clusters_per_project=1,
        virtual_clusters=51,
        profiles=1,
        profile_versions=1,
    )
    with SimulatorServer(options) as server:
        yield server


# -- route 7: GET /virtualclusters --------------------------------------------------------------
def test_virtual_clusters_admin_sees_every_project_and_tenant_scope(
    plugin: Any, tenant: dict[str, Any]
) -> None:
    p = plugin()
    response = get(p, "/virtualclusters")
    assert response.status_code == 200, response.text
    got = by_uid(response.json()["virtualClusters"])
    expected = {}
    for vcs in tenant["vcs"].values():
        expected.update(by_uid(vcs))
    expected.update(
        {k: v for k, v in by_uid(virtual_clusters(p.sim.url, ADMIN, None)).items() if k not in expected}
    )
    assert got == expected
    assert all(item["specSummary"]["cloudConfig"]["cloudType"] == "nested" for item in got.values())
    searches = [path for path in p.palette_paths() if path == "/v1/dashboard/spectroclusters/search"]
    assert len(searches) == len(tenant["projects"]) + 1  # every project plus the tenant scope


def test_virtual_clusters_use_the_callers_session_and_projects(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()
    session = p.session_token("dev1")
    mine = projects_of(p.sim.url, {"Authorization": session})
    assert 0 < len(mine) < len(tenant["projects"])
    response = get(p, "/virtualclusters", session=session)
    assert response.status_code == 200, response.text
    expected: dict[str, Any] = {}
    for project in mine:
        expected.update(by_uid(virtual_clusters(p.sim.url, {"Authorization": session}, project)))
    assert by_uid(response.json()["virtualClusters"]) == expected
    # no tenant permissions: one search per own project, none in tenant scope
    assert [path for path in p.palette_paths() if path.endswith("/search")] == [
        "/v1/dashboard/spectroclusters/search"
    ] * len(mine)
    assert {kind for _, _, kind in p.palette.requests} == {"session"}


def test_virtual_clusters_a_failing_project_fails_the_call(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()
    with fault(
        p.sim.url,
        kind="error",
        path="/v1/dashboard/spectroclusters/search",
        project_uid=tenant["projects"][1],
        status=500,
    ):
        response = get(p, "/virtualclusters")
    assert "not found" not in error_of(response, 502)
    assert "virtualClusters" not in response.json()


def test_virtual_clusters_repeated_continue_token_is_an_error(plugin: Any, big_sim: SimulatorServer) -> None:
    p = plugin(environments=[{"name": "main", "url": big_sim.url, "apiToken": SIM_KEY}])
    session = session_of(big_sim.url, "dev1")
    with fault(big_sim.url, kind="page", mode="repeat_continue", path="/v1/dashboard/spectroclusters/search"):
        response = get(p, "/virtualclusters", session=session)
    error_of(response, 502)


def test_virtual_clusters_page_to_the_end(plugin: Any, big_sim: SimulatorServer) -> None:
    p = plugin(environments=[{"name": "main", "url": big_sim.url, "apiToken": SIM_KEY}])
    session = session_of(big_sim.url, "dev1")
    credential = {"Authorization": session}
    expected: dict[str, Any] = {}
    for project in projects_of(big_sim.url, credential):
        vcs = virtual_clusters(big_sim.url, credential, project)
        assert len(vcs) > 50  # more than one page per project
        expected.update(by_uid(vcs))
    response = get(p, "/virtualclusters", session=session)
    assert response.status_code == 200, response.text
    assert by_uid(response.json()["virtualClusters"]) == expected


# -- route 8: GET /virtualclusters/{clusterUid} -----------------------------------------------
def test_virtual_cluster_detail_is_the_raw_summary(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()
    uid, project = tenant["running_vc"]
    response = get(p, f"/virtualclusters/{uid}", params={"projectUid": project})
    assert response.status_code == 200, response.text
    direct = sim_call(p.sim.url, "GET", f"/v1/dashboard/spectroclusters/{uid}", scoped(ADMIN, project)).json()
    assert response.json() == direct
    assert response.json()["status"]["metrics"]["cpu"]["limit"] is not None  # what the card reads


def test_virtual_cluster_detail_of_a_plain_cluster_is_not_found(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()
    uid, project = tenant["plain"]
    response = get(p, f"/virtualclusters/{uid}", params={"projectUid": project})
    assert error_of(response, 404) == "Virtual cluster not found"


@pytest.mark.parametrize("missing", ["unknown", "wrong-scope"])
def test_virtual_cluster_detail_palette_404(plugin: Any, tenant: dict[str, Any], missing: str) -> None:
    p = plugin()
    uid, _ = tenant["running_vc"]
    path = "/virtualclusters/0123456789abcdef01234567" if missing == "unknown" else f"/virtualclusters/{uid}"
    assert "not found" in error_of(get(p, path), 404)  # tenant scope cannot fetch a project's cluster


def test_virtual_cluster_detail_palette_failures_map(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()
    uid, project = tenant["running_vc"]
    with fault(p.sim.url, kind="error", path=f"/v1/dashboard/spectroclusters/{uid}", status=500):
        error_of(get(p, f"/virtualclusters/{uid}", params={"projectUid": project}), 502)
    # a project the caller's session has no permissions in: Palette's 403 is ours
    dev1 = p.session_token("dev1")
    foreign = next(
        pr for pr in tenant["projects"] if pr not in projects_of(p.sim.url, {"Authorization": dev1})
    )
    response = get(p, f"/virtualclusters/{uid}", params={"projectUid": foreign}, session=dev1)
    assert error_of(response, 403).startswith("Forbidden")


# -- route 10: GET /virtualclusters/{clusterUid}/kubeconfig -------------------------------------
def test_virtual_cluster_kubeconfig(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin(policy=policy(VIEW, KUBECONFIG))
    uid, project = tenant["running_vc"]
    response = get(p, f"/virtualclusters/{uid}/kubeconfig", params={"projectUid": project, "frp": "false"})
    assert response.status_code == 200, response.text
    direct = sim_call(
        p.sim.url,
        "GET",
        f"/v1/spectroclusters/{uid}/assets/kubeconfig",
        scoped(ADMIN, project),
        params={"frp": "false"},
    ).text
    assert response.text == direct
    assert response.headers["content-type"].startswith("application/x-yaml")
    assert response.headers["content-disposition"] == f'attachment; filename="{uid}-vcluster-kubeconfig.yaml"'
    assert response.headers["cache-control"] == "no-store"
    # anything but the literal "false" means the FRP variant (never a validation error)
    frp = get(p, f"/virtualclusters/{uid}/kubeconfig", params={"projectUid": project, "frp": "yes"})
    assert frp.status_code == 200
    assert (
        frp.text
        == sim_call(
            p.sim.url, "GET", f"/v1/spectroclusters/{uid}/assets/kubeconfig", scoped(ADMIN, project)
        ).text
    )


def test_virtual_cluster_kubeconfig_refuses_plain_clusters(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin(policy=policy(KUBECONFIG))
    uid, project = tenant["plain"]
    response = get(p, f"/virtualclusters/{uid}/kubeconfig", params={"projectUid": project})
    assert error_of(response, 404) == "Virtual cluster not found"
    assert not any("/assets/" in path for path in p.palette_paths())  # C12: checked before the download


def test_virtual_cluster_kubeconfig_with_the_callers_session(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()  # permissions off: a kubeconfig never comes from the instance API key (S2)
    dev1 = p.session_token("dev1")
    mine = projects_of(p.sim.url, {"Authorization": dev1})
    uid, project = _running_vc_in(p, mine)
    response = get(p, f"/virtualclusters/{uid}/kubeconfig", params={"projectUid": project}, session=dev1)
    assert response.status_code == 200, response.text
    assert {kind for _, _, kind in p.palette.requests} == {"session"}


def _running_vc_in(p: PluginClient, projects: list[str]) -> tuple[str, str]:
    for project in projects:
        for vc in virtual_clusters(p.sim.url, ADMIN, project):
            if vc["status"]["state"] == "Running":
                return vc["metadata"]["uid"], project
    raise AssertionError("no running virtual cluster in the caller's projects")


def test_virtual_cluster_kubeconfig_without_a_session_needs_reauth(
    plugin: Any, tenant: dict[str, Any]
) -> None:
    p = plugin()
    uid, project = tenant["running_vc"]
    response = get(p, f"/virtualclusters/{uid}/kubeconfig", params={"projectUid": project})
    error_of(response, 401)
    assert response.json()["requiresReAuth"] is True
    assert response.headers["x-spectrocloud-reauth-required"] == "true"
    assert p.palette.requests == []


# -- route 9: GET /clustergroups/{clusterGroupUid} ----------------------------------------------
def test_cluster_group_detail_is_raw(plugin: Any) -> None:
    p = plugin()
    summaries = sim_call(p.sim.url, "GET", "/v1/clustergroups/hostCluster", ADMIN).json()["summaries"]
    uid = summaries[0]["metadata"]["uid"]
    response = get(p, f"/clustergroups/{uid}")
    assert response.status_code == 200, response.text
    assert response.json() == sim_call(p.sim.url, "GET", f"/v1/clustergroups/{uid}", ADMIN).json()
    assert response.json()["spec"]["clustersConfig"]["limitConfig"]  # what the settings tab reads


def test_cluster_group_detail_failures(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin()
    message = error_of(get(p, "/clustergroups/0123456789abcdef01234567"), 404)  # C6: not a 500
    assert message.startswith("Cluster group not found")
    uid = sim_call(p.sim.url, "GET", "/v1/clustergroups/hostCluster", ADMIN).json()["summaries"][0][
        "metadata"
    ]["uid"]
    with fault(p.sim.url, kind="error", path=f"/v1/clustergroups/{uid}", status=500):
        error_of(get(p, f"/clustergroups/{uid}"), 502)
    dev1 = p.session_token("dev1")
    foreign = next(
        pr for pr in tenant["projects"] if pr not in projects_of(p.sim.url, {"Authorization": dev1})
    )
    response = get(p, f"/clustergroups/{uid}", params={"projectUid": foreign}, session=dev1)
    assert error_of(response, 403).startswith("Forbidden")


# -- route 21: GET /clustergroups -----------------------------------------------------------
def expected_groups(url: str, project: str | None) -> list[dict[str, Any]]:
    """The simulator's summaries, each with the detail's clustersConfig and a status.limitConfig."""
    out = []
    for summary in sim_call(url, "GET", "/v1/clustergroups/hostCluster", scoped(ADMIN, project)).json()[
        "summaries"
    ]:
        detail = sim_call(
            url, "GET", f"/v1/clustergroups/{summary['metadata']['uid']}", scoped(ADMIN, project)
        )
        config = detail.json()["spec"]["clustersConfig"]
        item = copy.deepcopy(summary)
        item["spec"]["clustersConfig"] = config
        item["status"] = {"limitConfig": config["limitConfig"]}
        out.append(item)
    return out


@pytest.mark.parametrize("scope", ["tenant", "project"])
def test_cluster_groups_are_enriched(plugin: Any, tenant: dict[str, Any], scope: str) -> None:
    p = plugin()
    project = tenant["projects"][0] if scope == "project" else None
    response = get(p, "/clustergroups", params={"projectUid": project} if project else None)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    expected = expected_groups(p.sim.url, project)
    assert len(expected) >= 3
    assert by_uid(items) == by_uid(expected)
    for item in items:  # the wizard's fields (F3) next to the summary's own
        assert item["spec"]["clustersConfig"]["endpointType"] in ("Ingress", "LoadBalancer")
        assert set(item["status"]["limitConfig"]) >= {"cpuMilliCore", "memoryMiB", "storageGiB"}
        assert "hostClustersCount" in item["spec"]
    details = [path for path in p.palette_paths() if path.startswith("/v1/clustergroups/")]
    assert sorted(details) == sorted(
        ["/v1/clustergroups/hostCluster"] + [f"/v1/clustergroups/{uid}" for uid in by_uid(items)]
    )


def test_cluster_groups_a_failing_detail_fails_the_list(plugin: Any) -> None:
    p = plugin()
    uid = sim_call(p.sim.url, "GET", "/v1/clustergroups/hostCluster", ADMIN).json()["summaries"][1][
        "metadata"
    ]["uid"]
    with fault(p.sim.url, kind="error", path=f"/v1/clustergroups/{uid}", status=500):
        response = get(p, "/clustergroups")
    error_of(response, 502)
    assert "items" not in response.json()


def test_cluster_groups_skip_a_group_deleted_meanwhile(plugin: Any) -> None:
    p = plugin()
    summaries = sim_call(p.sim.url, "GET", "/v1/clustergroups/hostCluster", ADMIN).json()["summaries"]
    gone = summaries[0]["metadata"]["uid"]
    with fault(
        p.sim.url, kind="error", path=f"/v1/clustergroups/{gone}", status=404, code="ResourceNotFound"
    ):
        response = get(p, "/clustergroups")
    assert response.status_code == 200, response.text
    assert set(by_uid(response.json()["items"])) == {s["metadata"]["uid"] for s in summaries} - {gone}


def test_clusters_config_enrichment_keeps_inputs() -> None:
    summary = {"metadata": {"uid": "g1"}, "spec": {"endpointType": "Ingress", "hostClustersCount": 2}}
    detail = {"spec": {"clustersConfig": {"limitConfig": {"cpuMilliCore": 4000}, "values": "x: 1\n"}}}
    before = copy.deepcopy((summary, detail))
    out = with_clusters_config(summary, detail)
    assert out == {
        "metadata": {"uid": "g1"},
        "spec": {
            "endpointType": "Ingress",
            "hostClustersCount": 2,
            "clustersConfig": {
                "limitConfig": {"cpuMilliCore": 4000},
                "values": "x: 1\n",
                "endpointType": "Ingress",
            },
        },
        "status": {"limitConfig": {"cpuMilliCore": 4000}},
    }
    assert (summary, detail) == before
    bare = with_clusters_config({"metadata": {"uid": "g2"}, "spec": {}}, {"spec": {}})
    assert bare == {"metadata": {"uid": "g2"}, "spec": {"clustersConfig": {}}}


# -- route 15: GET /projects --------------------------------------------------------------------
def test_projects_are_raw_summaries(plugin: Any) -> None:
    p = plugin()
    response = get(p, "/projects")
    assert response.status_code == 200, response.text
    expected = sim_pages(p.sim.url, "/v1/dashboard/projects", {"filter": {}}, ADMIN)
    assert response.json()["projects"] == expected
    dev1 = p.session_token("dev1")
    mine = get(p, "/projects", session=dev1).json()["projects"]
    assert {pr["metadata"]["uid"] for pr in mine} == set(projects_of(p.sim.url, {"Authorization": dev1}))


def test_projects_page_to_the_end(plugin: Any, big_sim: SimulatorServer) -> None:
    p = plugin(environments=[{"name": "main", "url": big_sim.url, "apiToken": SIM_KEY}])
    expected = sim_pages(big_sim.url, "/v1/dashboard/projects", {"filter": {}}, ADMIN)
    assert len(expected) > 50
    response = get(p, "/projects")
    assert response.status_code == 200, response.text
    assert response.json()["projects"] == expected
    assert p.palette_paths().count("/v1/dashboard/projects") == 2


def test_projects_repeated_continue_token_fails_instead_of_looping(
    plugin: Any, big_sim: SimulatorServer
) -> None:
    p = plugin(environments=[{"name": "main", "url": big_sim.url, "apiToken": SIM_KEY}])
    with fault(big_sim.url, kind="page", mode="repeat_continue", path="/v1/dashboard/projects"):
        response = get(p, "/projects")
    error_of(response, 502)  # C1: neither an endless loop nor a shorter list
    assert p.palette_paths().count("/v1/dashboard/projects") == 2


def test_projects_palette_failure(plugin: Any) -> None:
    p = plugin()
    with fault(p.sim.url, kind="error", path="/v1/dashboard/projects", status=500):
        error_of(get(p, "/projects"), 502)


# -- shared: validation, instances, permissions ---------------------------------------------------
DETAIL_PATHS = ["/virtualclusters/{}", "/virtualclusters/{}/kubeconfig", "/clustergroups/{}"]
ALL_PATHS = ["/virtualclusters", "/clustergroups", "/projects", *(p.format("abc-123") for p in DETAIL_PATHS)]


@pytest.mark.parametrize("template", DETAIL_PATHS)
def test_bad_uids_never_reach_palette(plugin: Any, template: str) -> None:
    p = plugin()
    for bad in BAD_UIDS:
        response = get(p, template.format(bad), session="opaque-session")
        assert "must be 1-64 letters" in error_of(response, 400), bad
    for path in ["/clustergroups", template.format("abc-123")]:
        for bad in ["..%2Fv1", "a b", "x" * 65]:
            response = get(p, path, params={"projectUid": bad.replace("%2F", "/")}, session="opaque-session")
            assert "projectUid" in error_of(response, 400)
    assert p.palette.requests == []


@pytest.mark.parametrize("path", ALL_PATHS)
def test_unknown_instance_lists_the_configured_ones(plugin: Any, path: str) -> None:
    p = plugin()
    message = error_of(get(p, path, params={"instance": "nope"}, session="opaque-session"), 400)
    assert "main" in message
    assert p.palette.requests == []


@pytest.mark.parametrize("path", ALL_PATHS)
def test_permission_denied_before_anything_else(plugin: Any, path: str) -> None:
    p = plugin(policy=policy())
    response = get(p, path, params={"instance": "nope", "projectUid": "../x"})
    assert error_of(response, 403).startswith("Forbidden")
    assert p.palette.requests == []


def test_kubeconfig_needs_its_own_permission(plugin: Any, tenant: dict[str, Any]) -> None:
    p = plugin(policy=policy(VIEW))
    uid, project = tenant["running_vc"]
    assert get(p, f"/virtualclusters/{uid}", params={"projectUid": project}).status_code == 200
    sent = len(p.palette.requests)
    response = get(p, f"/virtualclusters/{uid}/kubeconfig", params={"projectUid": project})
    assert error_of(response, 403).startswith(f"Forbidden: {KUBECONFIG} is not allowed")
    assert len(p.palette.requests) == sent


@pytest.mark.parametrize("path", ALL_PATHS)
def test_backstage_credential_required(plugin: Any, path: str) -> None:
    p = plugin()
    assert p.get(path, user=None).status_code == 401
    assert p.palette.requests == []
