"""Routes 11, 12, 17, 18 and 22 (profiles) against a simulator holding more than one page of profiles per
project (60 add-on families each), over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.plugin.conftest import SIM_KEY, PluginClient

TRAVERSALS = ["..%2F..%2Fv1%2Fusers", "abc%3Fx%3D1", "%2E%2E", "a b", "x" * 65, "uid%00"]
SEARCH = "/v1/dashboard/clusterprofiles"
ROLE_LINE = "g, user:default/jane, role:default/team\n"
CLUSTER_ONLY = "p, role:default/team, spectrocloud.cluster.view-info, read, allow\n" + ROLE_LINE
PROFILE_ONLY = "p, role:default/team, spectrocloud.profile.view-info, read, allow\n" + ROLE_LINE
PACK_VALUES_ONLY = "p, role:default/team, spectrocloud.cluster.view-pack-values, read, allow\n" + ROLE_LINE


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """Overrides the shared simulator: 60 add-on families per project, so project lists span pages."""
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False, profiles=60)) as server:
        yield server


@pytest.fixture
def p(plugin: Any) -> PluginClient:
    client: PluginClient = plugin()
    return client


@pytest.fixture
def faults(sim: SimulatorServer) -> Iterator[Any]:
    """Add simulator faults for one test; all are cleared afterwards."""

    def add(*specs: dict[str, Any]) -> None:
        response = httpx.post(sim.url + "/__sim/faults", json=list(specs), headers={"ApiKey": SIM_KEY})
        assert response.status_code < 300, response.text

    yield add
    httpx.delete(sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY})


def direct(p: PluginClient, method: str, path: str, project: str | None = None, **kwargs: Any) -> Any:
    """What the simulator answers the tenant admin's API key."""
    headers = {"ApiKey": SIM_KEY, **({"ProjectUid": project} if project else {})}
    response = httpx.request(method, p.sim.url + path, headers=headers, timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def direct_search(p: PluginClient, body: dict[str, Any], project: str | None = None) -> list[dict[str, Any]]:
    """Every page of the profile search, straight from the simulator."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        page = direct(p, "POST", SEARCH, project, json=body, params={"continue": token} if token else {})
        items += page["items"]
        token = page["listmeta"]["continue"]
        if not token:
            return items


def projects(p: PluginClient) -> list[str]:
    return [str(uid) for uid in p.sim_get("/__sim/data/projects")["uids"]]


def family(p: PluginClient, name: str, project: str | None = None) -> dict[str, Any]:
    """The search summary of the family ``name`` (its newest version, with ``versions[]``)."""
    body = {"filter": {"profileName": {"eq": name}}}
    (item,) = [i for i in direct_search(p, body, project) if i["metadata"]["name"] == name]
    return item


def uids(items: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["uid"] for item in items]


def bearer(p: PluginClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.token()}"}


# -- route 11 ---------------------------------------------------------------------------------------


def test_profile_detail_is_palettes_object(p: PluginClient) -> None:
    project = projects(p)[0]
    uid = family(p, "ingress", project)["specSummary"]["versions"][0]["uid"]
    answer = p.get(f"/profiles/{uid}", params={"projectUid": project})
    assert answer.status_code == 200, answer.text
    assert answer.json() == direct(p, "GET", f"/v1/clusterprofiles/{uid}", project)
    assert p.palette.requests == [("GET", f"/v1/clusterprofiles/{uid}", "api-key")]


def test_unknown_profile_is_404_not_found(p: PluginClient) -> None:
    for path in ("/profiles/{}", "/profiles/{}/packs", "/profiles/{}/variables"):
        answer = p.get(path.format("000000000000000000000000"))
        assert answer.status_code == 404 and "not found" in answer.json()["error"], path
    # a project profile asked for without its project is not found either (Palette's scoping)
    project = projects(p)[0]
    uid = family(p, "ingress", project)["metadata"]["uid"]
    assert p.get(f"/profiles/{uid}").status_code == 404


# -- route 12 ---------------------------------------------------------------------------------------


def test_search_by_a_few_names_is_case_insensitive(p: PluginClient) -> None:
    answer = p.post("/profiles/search", json={"names": ["EKS-Base", "palette-MONITORING", "no-such-profile"]})
    assert answer.status_code == 200, answer.text
    found = answer.json()["profiles"]
    expected = [family(p, "eks-base"), family(p, "palette-monitoring")]
    assert found == expected
    # one filtered search per name, each with profileName eq + ignoreCase
    assert [r[:2] for r in p.palette.requests] == [("POST", SEARCH)] * 3


def test_search_names_are_deduplicated_case_insensitively(p: PluginClient) -> None:
    answer = p.post("/profiles/search", json={"names": ["vsphere-base", "VSPHERE-BASE", "vSphere-Base"]})
    assert answer.status_code == 200
    assert uids(answer.json()["profiles"]) == [family(p, "vsphere-base")["metadata"]["uid"]]
    assert len(p.palette.requests) == 1


def test_search_by_many_names_reads_every_page(p: PluginClient) -> None:
    project = projects(p)[1]
    everything = direct_search(p, {"filter": {}}, project)
    assert len(everything) > 50  # more than one page
    by_name = sorted(everything, key=lambda i: i["metadata"]["name"])
    # names from both ends of the list, so some live only on the last page, in mixed case
    wanted = [i["metadata"]["name"] for i in by_name[:6] + by_name[-6:]]
    names = [n.upper() if k % 2 else n for k, n in enumerate(wanted)] + ["missing-one"]
    answer = p.post("/profiles/search", params={"projectUid": project}, json={"names": names})
    assert answer.status_code == 200, answer.text
    got = answer.json()["profiles"]
    expected = [i for i in everything if i["metadata"]["name"] in set(wanted)]
    assert sorted(uids(got)) == sorted(uids(expected)) and len(got) == len(set(wanted))
    assert {g["metadata"]["uid"]: g for g in got} == {e["metadata"]["uid"]: e for e in expected}
    assert [r[:2] for r in p.palette.requests] == [("POST", SEARCH)] * 2  # two pages, no more


def test_search_in_a_project_includes_its_own_profiles(p: PluginClient) -> None:
    project = projects(p)[2]
    answer = p.post("/profiles/search", params={"projectUid": project}, json={"names": ["Ingress-7"]})
    assert answer.status_code == 200
    assert answer.json()["profiles"] == [family(p, "ingress-7", project)]
    # tenant scope does not see project profiles
    tenant = p.post("/profiles/search", json={"names": ["ingress-7"]})
    assert tenant.status_code == 200 and tenant.json() == {"profiles": []}


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"not json",
        b"",
        b"[]",
        b'"names"',
        b"{}",
        b'{"names": []}',
        b'{"names": "eks-base"}',
        b'{"names": [1]}',
        b'{"names": [""]}',
        b'{"names": ["   "]}',
        b'{"names": [null]}',
        b'{"names": ["' + b"a" * 257 + b'"]}',
        b'{"names": [' + b",".join([b'"n"'] * 101) + b"]}",
        b"[" * 100_000,
    ],
)
def test_search_body_must_hold_names(p: PluginClient, body: bytes) -> None:
    answer = p.post(
        "/profiles/search", content=body, headers={**bearer(p), "Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"error"}
    message = answer.json()["error"]
    assert "names array is required" in message or "not valid JSON" in message
    assert p.palette.requests == []


def test_search_accepts_one_hundred_names(p: PluginClient) -> None:
    names = [f"name-{k}" for k in range(99)] + ["aks-base"]
    answer = p.post("/profiles/search", json={"names": names})
    assert answer.status_code == 200
    assert uids(answer.json()["profiles"]) == [family(p, "aks-base")["metadata"]["uid"]]


# -- route 17 ---------------------------------------------------------------------------------------


def test_project_profiles_default_to_infra_and_cluster(p: PluginClient) -> None:
    project = projects(p)[0]
    answer = p.get(f"/projects/{project}/profiles")
    assert answer.status_code == 200, answer.text
    got = answer.json()["profiles"]
    body = {
        "filter": {"profileType": ["infra", "cluster"], "resourceType": "spectrocluster"},
        "sort": [{"field": "lastModifiedTimestamp", "order": "desc"}],
    }
    assert got == direct_search(p, body, project)
    assert got and {g["specSummary"]["published"]["type"] for g in got} <= {"infra", "cluster"}


def test_project_profiles_page_to_the_end_without_duplicates(p: PluginClient) -> None:
    project = projects(p)[1]
    answer = p.get(f"/projects/{project}/profiles", params={"profileType": "add-on"})
    assert answer.status_code == 200
    got = answer.json()["profiles"]
    body = {
        "filter": {"profileType": ["add-on"], "resourceType": "spectrocluster"},
        "sort": [{"field": "lastModifiedTimestamp", "order": "desc"}],
    }
    expected = direct_search(p, body, project)
    assert len(expected) > 50 and got == expected
    assert len(set(uids(got))) == len(got)
    searches = [r for r in p.palette.requests if r[1] == SEARCH]
    assert len(searches) == 2


def test_project_profiles_filter_by_cloud_type(p: PluginClient) -> None:
    project = projects(p)[0]
    answer = p.get(f"/projects/{project}/profiles", params={"cloudType": "eks"})
    assert answer.status_code == 200
    got = answer.json()["profiles"]
    assert [g["metadata"]["name"] for g in got] == ["eks-base"]
    both = p.get(f"/projects/{project}/profiles", params={"cloudType": "all", "profileType": "add-on,system"})
    assert both.status_code == 200
    assert {g["specSummary"]["published"]["cloudType"] for g in both.json()["profiles"]} == {"all"}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"cloudType": "ec2"}, "cloudType"),
        ({"cloudType": "../x"}, "cloudType"),
        ({"profileType": "addon"}, "profileType"),
        ({"profileType": "infra,"}, "profileType"),
        ([("cloudType", "aws"), ("cloudType", "eks")], "once"),
        ([("profileType", "infra"), ("profileType", "cluster")], "once"),
    ],
)
def test_project_profiles_reject_bad_filters(p: PluginClient, params: Any, needle: str) -> None:
    answer = p.get(f"/projects/{projects(p)[0]}/profiles", params=params)
    assert answer.status_code == 400 and needle in answer.json()["error"]
    assert p.palette.requests == []


def test_project_profiles_use_the_callers_own_palette_rights(p: PluginClient) -> None:
    dev2 = p.session_token("dev2")
    first, *_, last = projects(p)  # dev2 works only in the last project
    mine = p.get(f"/projects/{last}/profiles", headers={"X-SpectroCloud-Token": dev2})
    assert mine.status_code == 200 and mine.json()["profiles"]
    theirs = p.get(f"/projects/{first}/profiles", headers={"X-SpectroCloud-Token": dev2})
    assert theirs.status_code == 403 and theirs.json()["error"].startswith("Forbidden")
    assert {kind for *_, kind in p.palette.requests} == {"session"}
    for response in (mine, theirs):
        assert dev2 not in response.text and SIM_KEY not in response.text


# -- route 18 ---------------------------------------------------------------------------------------


def test_packs_without_version_read_the_profile(p: PluginClient) -> None:
    latest = family(p, "vsphere-base")["metadata"]["uid"]
    answer = p.get(f"/profiles/{latest}/packs")
    assert answer.status_code == 200
    assert answer.json() == direct(p, "GET", f"/v1/clusterprofiles/{latest}")
    assert answer.json()["spec"]["published"]["packs"]
    same = p.get(f"/profiles/{latest}/packs", params={"versionUid": latest})
    assert same.json() == answer.json()


def test_packs_of_an_older_version_use_its_own_uid(p: PluginClient) -> None:
    project = projects(p)[0]
    summary = family(p, "observability", project)
    latest = summary["metadata"]["uid"]
    oldest = summary["specSummary"]["versions"][0]
    assert oldest["uid"] != latest
    answer = p.get(f"/profiles/{latest}/packs", params={"versionUid": oldest["uid"], "projectUid": project})
    assert answer.status_code == 200, answer.text
    assert answer.json() == direct(p, "GET", f"/v1/clusterprofiles/{oldest['uid']}", project)
    assert answer.json()["spec"]["version"] == oldest["version"]
    assert p.palette_paths() == [f"/v1/clusterprofiles/{oldest['uid']}"]
    assert not any("/versions/" in path for path in p.palette_paths())


def test_packs_of_a_version_of_another_family_are_not_found(p: PluginClient) -> None:
    vsphere = family(p, "vsphere-base")["metadata"]["uid"]
    eks_old = family(p, "eks-base")["specSummary"]["versions"][0]["uid"]
    answer = p.get(f"/profiles/{vsphere}/packs", params={"versionUid": eks_old})
    assert answer.status_code == 404 and "not found" in answer.json()["error"]
    missing = p.get(f"/profiles/{vsphere}/packs", params={"versionUid": "000000000000000000000000"})
    assert missing.status_code == 404 and "not found" in missing.json()["error"]


def test_packs_same_name_in_another_scope_is_another_family(p: PluginClient) -> None:
    """A version whose ``versions[]`` does not name the profile is compared by family (name, scope,
    project): a project profile that shares a tenant profile's name is not one of its versions."""
    sim, project = p.sim, projects(p)[0]
    latest = family(p, "aws-base")["metadata"]["uid"]
    record = p.sim_get(f"/__sim/data/clusterProfiles/{latest}")
    twin = {
        "metadata": {"name": "aws-base", "annotations": {"scope": "project", "projectUid": project}},
        "spec": {**record["spec"], "version": "9.9.9"},
        "status": record["status"],
    }
    created = httpx.post(
        sim.url + "/__sim/data/clusterProfiles", json=twin, headers={"ApiKey": SIM_KEY}, timeout=30
    )
    assert created.status_code == 201, created.text
    twin_uid = created.json()["uid"]
    try:
        answer = p.get(f"/profiles/{latest}/packs", params={"versionUid": twin_uid, "projectUid": project})
        assert answer.status_code == 404 and "not found" in answer.json()["error"]
        # both objects were read: the version by its own uid, then the profile to compare families
        assert p.palette_paths() == [f"/v1/clusterprofiles/{twin_uid}", f"/v1/clusterprofiles/{latest}"]
        own = p.get(f"/profiles/{twin_uid}/packs", params={"versionUid": twin_uid, "projectUid": project})
        assert own.status_code == 200 and own.json()["spec"]["version"] == "9.9.9"
    finally:
        httpx.delete(f"{sim.url}/__sim/data/clusterProfiles/{twin_uid}", headers={"ApiKey": SIM_KEY})


@pytest.mark.parametrize("bad", ["..%2F..", "x" * 65, "a;b", "%3F"])
def test_packs_reject_a_bad_version_uid(p: PluginClient, bad: str) -> None:
    uid = "0123456789abcdef01234567"
    answer = httpx.get(f"{p.base}/profiles/{uid}/packs?versionUid={bad}", headers=bearer(p), timeout=30)
    assert answer.status_code == 400 and "versionUid" in answer.json()["error"]
    assert p.palette.requests == []


# -- route 22 ---------------------------------------------------------------------------------------


def test_variables_are_palettes_list(p: PluginClient) -> None:
    project = projects(p)[0]
    uid = family(p, "ingress", project)["metadata"]["uid"]
    answer = p.get(f"/profiles/{uid}/variables", params={"projectUid": project})
    assert answer.status_code == 200
    body = answer.json()
    assert body == direct(p, "GET", f"/v1/clusterprofiles/{uid}/variables", project)
    assert set(body) == {"variables"} and isinstance(body["variables"], list)
    stack = family(p, "eks-base")["metadata"]["uid"]
    names = [v["name"] for v in p.get(f"/profiles/{stack}/variables").json()["variables"]]
    assert names and all(isinstance(n, str) for n in names)


# -- shared behaviour -------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/profiles/{}"),
    ("GET", "/profiles/{}/packs"),
    ("GET", "/profiles/{}/variables"),
    ("GET", "/projects/{}/profiles"),
]


@pytest.mark.parametrize("bad", TRAVERSALS)
@pytest.mark.parametrize(("method", "template"), ROUTES)
def test_bad_path_uids_never_reach_palette(p: PluginClient, method: str, template: str, bad: str) -> None:
    answer = httpx.request(method, p.base + template.format(bad), headers=bearer(p), timeout=30)
    assert set(answer.json()) == {"error"}
    assert answer.status_code == 400 and "Uid must be" in answer.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize("bad", ["..%2F..", "x" * 65, "a;b"])
def test_bad_project_uid_query_is_400(p: PluginClient, bad: str) -> None:
    for method, path, body in (
        ("GET", "/profiles/abc", None),
        ("POST", "/profiles/search", {"names": ["x"]}),
    ):
        answer = httpx.request(
            method, f"{p.base}{path}?projectUid={bad}", headers=bearer(p), json=body, timeout=30
        )
        assert answer.status_code == 400 and "projectUid" in answer.json()["error"]
    assert p.palette.requests == []


def _call(p: PluginClient, route: str, **kwargs: Any) -> httpx.Response:
    uid = "0123456789abcdef01234567"
    if route == "search":
        return p.post("/profiles/search", json={"names": ["eks-base"]}, **kwargs)
    return p.get(route.format(uid), **kwargs)


ALL_ROUTES = [
    "search",
    "/profiles/{}",
    "/profiles/{}/packs",
    "/profiles/{}/variables",
    "/projects/{}/profiles",
]


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_unknown_instance_is_400_listing_names(p: PluginClient, route: str) -> None:
    answer = _call(p, route, params={"instance": "staging"})
    assert answer.status_code == 400 and "'main'" in answer.json()["error"]
    assert p.palette.requests == []


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_denied_without_the_profile_permission(plugin: Any, route: str) -> None:
    p: PluginClient = plugin(policy=CLUSTER_ONLY)
    answer = _call(p, route)
    assert answer.status_code == 403 and answer.json()["error"].startswith("Forbidden")
    assert p.palette.requests == []


def test_permission_check_comes_before_input_checks(plugin: Any) -> None:
    p: PluginClient = plugin(policy=CLUSTER_ONLY)
    bad_body = p.post("/profiles/search", content=b"{", headers={"Content-Type": "application/json"})
    bad_filter = p.get("/projects/0123456789abcdef01234567/profiles", params={"cloudType": "ec2"})
    bad_uid = p.get("/profiles/x%3F/variables")
    for answer in (bad_body, bad_filter, bad_uid):
        assert answer.status_code == 403 and answer.json()["error"].startswith("Forbidden")
    assert p.palette.requests == []


def test_packs_need_pack_values_not_profile_info(plugin: Any) -> None:
    uid = "0123456789abcdef01234567"
    profile_only: PluginClient = plugin(policy=PROFILE_ONLY)
    denied = profile_only.get(f"/profiles/{uid}/packs")
    assert denied.status_code == 403 and "view-pack-values" in denied.json()["error"]
    assert profile_only.get(f"/profiles/{uid}").status_code == 404  # allowed, then Palette's 404
    packs_only: PluginClient = plugin(policy=PACK_VALUES_ONLY)
    assert packs_only.get(f"/profiles/{uid}/packs").status_code == 404
    assert packs_only.get(f"/profiles/{uid}/variables").status_code == 403


def test_palette_failures_map_to_our_statuses(p: PluginClient, faults: Any) -> None:
    uid = family(p, "eks-base")["metadata"]["uid"]
    faults({"kind": "error", "path": f"/v1/clusterprofiles/{uid}", "status": 500})
    failed = p.get(f"/profiles/{uid}")
    assert failed.status_code == 502 and "Retry-After" in failed.headers
    faults({"kind": "storm", "path": f"/v1/clusterprofiles/{uid}/variables", "retry_after": 1})
    limited = p.get(f"/profiles/{uid}/variables")
    assert limited.status_code == 503 and limited.headers["Retry-After"]
    faults({"kind": "error", "path": SEARCH, "status": 403, "code": "OperationForbidden"})
    forbidden = p.post("/profiles/search", json={"names": ["eks-base"]})
    assert forbidden.status_code == 403 and forbidden.json()["error"].startswith("Forbidden")
    for answer in (failed, limited, forbidden):
        assert SIM_KEY not in answer.text


def test_a_failing_page_fails_the_list_instead_of_shortening_it(p: PluginClient, faults: Any) -> None:
    project = projects(p)[0]
    faults({"kind": "page", "path": SEARCH, "mode": "repeat_continue"})
    listed = p.get(f"/projects/{project}/profiles", params={"profileType": "add-on"})
    assert listed.status_code == 502 and "profiles" not in listed.json()
    names = [f"n{k}" for k in range(20)]
    searched = p.post("/profiles/search", params={"projectUid": project}, json={"names": names})
    assert searched.status_code == 502 and "profiles" not in searched.json()


def test_a_failing_name_fails_the_search(p: PluginClient, faults: Any) -> None:
    faults({"kind": "error", "path": SEARCH, "status": 500, "times": 1})
    answer = p.post("/profiles/search", json={"names": ["eks-base", "aks-base"]})
    assert answer.status_code == 502 and "profiles" not in answer.json()


def test_no_token_appears_in_any_answer(p: PluginClient) -> None:
    project = projects(p)[0]
    palette_token = p.session_token("admin")
    summary = family(p, "ingress", project)
    uid = summary["metadata"]["uid"]
    backstage_token = p.token()
    headers = {"Authorization": f"Bearer {backstage_token}", "X-SpectroCloud-Token": palette_token}
    answers = [
        p.get(f"/profiles/{uid}", user=None, headers=headers, params={"projectUid": project}),
        p.get(f"/profiles/{uid}/packs", user=None, headers=headers, params={"projectUid": project}),
        p.get(f"/profiles/{uid}/variables", user=None, headers=headers, params={"projectUid": project}),
        p.get(f"/projects/{project}/profiles", user=None, headers=headers),
        p.post("/profiles/search", user=None, headers=headers, json={"names": ["ingress"]}),
        p.get("/profiles/000000000000000000000000", user=None, headers=headers),
        p.post("/profiles/search", user=None, headers=headers, content=b"{"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 404, 400]
    for answer in answers:
        for secret in (palette_token, backstage_token, SIM_KEY):
            assert secret not in answer.text
    assert {kind for *_, kind in p.palette.requests} == {"session"}
