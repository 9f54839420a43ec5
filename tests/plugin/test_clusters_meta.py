"""Routes 1-6, 13 and 14 (health, auth debug, the caller's projects, clusters, kubeconfig, profiles,
manifests) against the simulator over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.plugin.conftest import SERVICE_TOKEN, SIM_KEY, PluginClient

TRAVERSALS = ["..%2F..%2Fv1%2Fusers", "abc%3Fx%3D1", "%2E%2E", "a b", "x" * 65, "uid%00"]


@pytest.fixture
def p(plugin: Any) -> PluginClient:
    client: PluginClient = plugin()
    return client


@pytest.fixture
def faults(sim: Any) -> Iterator[Any]:
    """Add simulator faults for one test; all are cleared afterwards."""

    def add(*specs: dict[str, Any]) -> None:
        response = httpx.post(sim.url + "/__sim/faults", json=list(specs), headers={"ApiKey": SIM_KEY})
        assert response.status_code < 300, response.text

    yield add
    httpx.delete(sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY})


def sim_clusters(p: PluginClient) -> list[dict[str, Any]]:
    return [p.sim_get(f"/__sim/data/clusters/{uid}") for uid in p.sim_get("/__sim/data/clusters")["uids"]]


def direct(p: PluginClient, path: str, project: str | None, **params: str) -> Any:
    """What the simulator answers the API key holder directly."""
    headers = {"ApiKey": SIM_KEY, **({"ProjectUid": project} if project else {})}
    response = httpx.get(p.sim.url + path, headers=headers, params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def a_cluster(p: PluginClient, *, virtual: bool = False) -> dict[str, Any]:
    for cluster in sim_clusters(p):
        cloud = (cluster.get("spec") or {}).get("cloudType")
        if (cloud == "nested") == virtual and (cluster["metadata"].get("annotations") or {}).get(
            "scope"
        ) == "project":
            return cluster
    raise AssertionError("no such cluster in the simulator")


def test_health_is_open_and_the_rest_needs_a_token(p: PluginClient) -> None:
    assert p.get("/health", user=None).json() == {"status": "ok"}
    denied = p.get("/clusters", user=None)
    assert denied.status_code == 401 and set(denied.json()) == {"error"}
    assert p.palette.requests == []


def test_auth_debug_reveals_no_token_bytes(p: PluginClient) -> None:
    palette_token = p.session_token("dev1")
    answer = p.get("/auth/debug", headers={"X-SpectroCloud-Token": palette_token})
    assert answer.status_code == 200
    body = answer.json()
    assert body["hasOidcToken"] is True and body["tokenForwardable"] is True
    assert body["instance"] == "main" and body["hasPaletteSession"] is False
    text = answer.text
    for secret in (palette_token, palette_token[:20], SIM_KEY):
        assert secret not in text
    assert "headers" not in body and "tokenPrefix" not in body


def test_clusters_lists_every_visible_cluster_once(p: PluginClient) -> None:
    answer = p.get("/clusters")
    assert answer.status_code == 200
    uids = [c["metadata"]["uid"] for c in answer.json()["clusters"]]
    assert len(uids) == len(set(uids))
    expected: set[str] = set()
    for project in p.sim_get("/__sim/data/projects")["uids"]:
        expected |= {c["metadata"]["uid"] for c in direct(p, "/v1/dashboard/spectroclusters/meta", project)}
    tenant = direct(p, "/v1/dashboard/spectroclusters/meta", None)
    expected |= {
        c["metadata"]["uid"] for c in tenant if c["metadata"]["annotations"].get("scope") == "tenant"
    }
    assert set(uids) == expected
    # every project was asked, and the tenant scope too (the API key holder is a tenant admin)
    metas = [r for r in p.palette.requests if r[1] == "/v1/dashboard/spectroclusters/meta"]
    assert len(metas) == len(p.sim_get("/__sim/data/projects")["uids"]) + 1


def test_clusters_with_a_users_own_token_sees_only_their_projects(p: PluginClient) -> None:
    dev2 = p.session_token("dev2")
    mine = p.get("/clusters", headers={"X-SpectroCloud-Token": dev2}).json()["clusters"]
    everything = p.get("/clusters").json()["clusters"]
    assert 0 < len(mine) < len(everything)
    assert {c["metadata"]["annotations"].get("projectUid") for c in mine} == {
        p.get("/users/me/projects", headers={"X-SpectroCloud-Token": dev2}).json()["projects"][0]["uid"]
    }
    metas = [kind for _, path, kind in p.palette.requests if path.endswith("/spectroclusters/meta")]
    assert metas and "session" in metas


def test_a_failing_project_fails_the_list_instead_of_shortening_it(p: PluginClient, faults: Any) -> None:
    project = p.sim_get("/__sim/data/projects")["uids"][0]
    faults(
        {"kind": "error", "path": "/v1/dashboard/spectroclusters/meta", "status": 500, "project_uid": project}
    )
    answer = p.get("/clusters")
    assert answer.status_code == 502 and "clusters" not in answer.json()
    assert "Retry-After" in answer.headers


def test_cluster_detail_is_the_live_summary(p: PluginClient) -> None:
    cluster = a_cluster(p)
    uid = cluster["metadata"]["uid"]
    project = cluster["metadata"]["annotations"]["projectUid"]
    answer = p.get(f"/clusters/{uid}", params={"projectUid": project})
    assert answer.status_code == 200
    direct = httpx.get(
        f"{p.sim.url}/v1/dashboard/spectroclusters/{uid}", headers={"ApiKey": SIM_KEY, "ProjectUid": project}
    ).json()
    assert answer.json() == direct


def test_unknown_cluster_is_404_not_found(p: PluginClient) -> None:
    answer = p.get("/clusters/000000000000000000000000")
    assert answer.status_code == 404 and "not found" in answer.json()["error"]


@pytest.mark.parametrize("bad", TRAVERSALS)
@pytest.mark.parametrize(
    "template",
    [
        "/clusters/{}",
        "/clusters/{}/kubeconfig",
        "/clusters/{}/profiles",
        "/clusters/{}/pack/manifests/abc",
        "/clusters/abc/pack/manifests/{}",
    ],
)
def test_bad_path_parameters_never_reach_palette(p: PluginClient, template: str, bad: str) -> None:
    url = p.base + template.format(bad)
    answer = httpx.get(url, headers={"Authorization": f"Bearer {p.token()}"}, timeout=30)
    assert answer.status_code == 400 and set(answer.json()) == {"error"}
    assert p.palette.requests == []


@pytest.mark.parametrize("bad", ["..%2F..", "x" * 65, "a;b"])
def test_bad_project_uid_is_400(p: PluginClient, bad: str) -> None:
    answer = httpx.get(
        p.base + f"/clusters/abc?projectUid={bad}",
        headers={"Authorization": f"Bearer {p.token()}"},
        timeout=30,
    )
    assert answer.status_code == 400 and "projectUid" in answer.json()["error"]
    assert p.palette.requests == []


def test_unknown_or_repeated_instance_is_400_listing_names(p: PluginClient) -> None:
    unknown = p.get("/clusters", params={"instance": "staging"})
    assert unknown.status_code == 400 and "'main'" in unknown.json()["error"]
    repeated = p.get("/clusters", params=[("instance", "main"), ("instance", "main")])
    assert repeated.status_code == 400 and "once" in repeated.json()["error"]
    assert p.palette.requests == []


def test_kubeconfig_is_an_attachment_with_the_users_token(p: PluginClient) -> None:
    cluster = a_cluster(p)
    uid = cluster["metadata"]["uid"]
    project = cluster["metadata"]["annotations"]["projectUid"]
    admin = p.session_token("admin")
    answer = p.get(
        f"/clusters/{uid}/kubeconfig",
        params={"projectUid": project, "frp": "true"},
        headers={"X-SpectroCloud-Token": admin},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-yaml")
    assert answer.headers["content-disposition"] == f'attachment; filename="{uid}-kubeconfig.yaml"'
    assert "apiVersion" in answer.text and "clusters" in answer.text
    assert [kind for _, path, kind in p.palette.requests if "kubeconfig" in path] == ["session"]


def test_frp_is_true_unless_the_literal_false(p: PluginClient) -> None:
    cluster = a_cluster(p)
    uid = cluster["metadata"]["uid"]
    project = cluster["metadata"]["annotations"]["projectUid"]
    admin = {"X-SpectroCloud-Token": p.session_token("admin")}
    for value in ("yes", "TRUE", "0", "", "false"):
        params = {"frp": value, "projectUid": project}
        assert p.get(f"/clusters/{uid}/kubeconfig", params=params, headers=admin).status_code == 200
    queries = [q for _, q in p.palette.queries if q is not None]
    assert queries.count("frp=false") == 1 and queries.count("frp=true") == 4


def test_kubeconfig_never_falls_back_to_the_api_key_when_permissions_are_off(p: PluginClient) -> None:
    uid = a_cluster(p)["metadata"]["uid"]
    answer = p.get(f"/clusters/{uid}/kubeconfig")
    assert answer.status_code == 401 and answer.json()["requiresReAuth"] is True
    assert answer.headers["x-spectrocloud-reauth-required"] == "true"
    assert p.palette.requests == []


def test_cluster_profiles_and_a_manifest(p: PluginClient) -> None:
    found = None
    for cluster in sim_clusters(p):
        uid = cluster["metadata"]["uid"]
        project = (cluster["metadata"].get("annotations") or {}).get("projectUid")
        params = {"projectUid": project} if project else {}
        profiles = p.get(f"/clusters/{uid}/profiles", params=params)
        assert profiles.status_code == 200, profiles.text
        body = profiles.json()
        path = f"/v1/spectroclusters/{uid}/profiles"
        assert body == direct(p, path, project, includePackMeta="schema,presets")
        manifests = [
            m["uid"]
            for profile in body["profiles"]
            for pack in profile["spec"].get("packs") or []
            for m in pack["spec"].get("manifests") or []
        ]
        if manifests:
            found = (uid, params, manifests[0])
            break
    assert found is not None, "no simulated cluster has a manifest pack"
    uid, params, manifest_uid = found
    manifest = p.get(f"/clusters/{uid}/pack/manifests/{manifest_uid}", params=params)
    assert manifest.status_code == 200 and manifest.json()["metadata"]["uid"] == manifest_uid
    assert manifest.json() == direct(
        p, f"/v1/spectroclusters/{uid}/pack/manifests/{manifest_uid}", params.get("projectUid")
    )
    missing = p.get(f"/clusters/{uid}/pack/manifests/000000000000000000000000", params=params)
    assert missing.status_code == 404 and "not found" in missing.json()["error"]


def test_users_me_projects_needs_the_callers_own_palette_session(p: PluginClient) -> None:
    without = p.get("/users/me/projects")
    assert without.status_code == 401 and without.json()["requiresReAuth"] is True
    dev1 = p.get("/users/me/projects", headers={"X-SpectroCloud-Token": p.session_token("dev1")})
    dev2 = p.get("/users/me/projects", headers={"X-SpectroCloud-Token": p.session_token("dev2")})
    assert dev1.status_code == dev2.status_code == 200
    assert len(dev1.json()["projects"]) == 2 and len(dev2.json()["projects"]) == 1
    assert all(set(item) == {"uid", "name"} for item in dev1.json()["projects"])


def test_static_service_token_uses_the_api_key(p: PluginClient) -> None:
    answer = p.get("/clusters", user=None, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert answer.status_code == 200 and answer.json()["clusters"]
    assert {kind for *_, kind in p.palette.requests} == {"api-key"}
