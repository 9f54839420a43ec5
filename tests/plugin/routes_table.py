"""All 28 plugin routes (compat.md 3.3) as data for the cross-cutting tests.

Each ``RouteCase`` names the contract path (FastAPI syntax), a sample request (path and query templates
filled from ``Samples``), the permission we check (the "ours" column and S5) and whether the route calls
Palette live. ``samples_from_fixture`` picks real uids from the simulator's dataset; ``DEFAULT_SAMPLES``
are well-formed uids that exist nowhere (Palette answers 404 to them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ingestor.auth.permissions import (
    CREATE_CLUSTER,
    DOWNLOAD_KUBECONFIG,
    VIEW_CLUSTER_INFO,
    VIEW_PACK_MANIFESTS,
    VIEW_PACK_VALUES,
    VIEW_PROFILE_INFO,
    Permission,
)

PREFIX = "/api/spectrocloud"
Samples = Mapping[str, str]

DEFAULT_SAMPLES: dict[str, str] = {
    "clusterUid": "0123456789abcdef01234567",
    "clusterProjectUid": "0123456789abcdef0123456a",
    "vcUid": "0123456789abcdef01234568",
    "vcProjectUid": "0123456789abcdef0123456a",
    "groupUid": "0123456789abcdef01234569",
    "profileUid": "0123456789abcdef0123456b",
    "versionUid": "0123456789abcdef0123456c",
    "profileProjectUid": "0123456789abcdef0123456a",
    "manifestClusterUid": "0123456789abcdef01234567",
    "manifestProjectUid": "0123456789abcdef0123456a",
    "manifestUid": "0123456789abcdef0123456d",
    "projectUid": "0123456789abcdef0123456a",
    "awsAccountUid": "0123456789abcdef0123456e",
    "vsphereAccountUid": "0123456789abcdef0123456f",
    "datacenter": "Datacenter-1",
    "computecluster": "Cluster-A",
    "overlordUid": "0123456789abcdef01234570",
}

# Create bodies that name a cloud type (or a virtual cluster) but lack what Palette requires: our 422 naming
# the missing fields, nothing sent. A permitted caller must get past the permission check without creating.
INCOMPLETE_CREATE = {"metadata": {"name": "routes-table-probe"}, "spec": {"cloudType": "eks"}}
INCOMPLETE_VIRTUAL = {"clusterConfig": {"metadata": {"name": "routes-table-probe"}, "spec": {}}}


@dataclass(frozen=True)
class RouteCase:
    """One plugin route and a sample request to it."""

    number: int
    method: str
    path: str  # the contract path under /api/spectrocloud, FastAPI syntax
    sample: str  # the path with ``{sample key}`` placeholders
    permission: Permission | None
    live: bool  # calls Palette (with the caller's credential) to answer
    query: Mapping[str, str] = field(default_factory=dict)  # values may hold placeholders
    body: Any = None
    authenticated: bool = True

    @property
    def id(self) -> str:
        return f"r{self.number:02d}-{self.method}-{self.path}"

    def url(self, samples: Samples = DEFAULT_SAMPLES) -> str:
        """The sample path (without the prefix) with real or default values."""
        return self.sample.format_map(dict(samples))

    def params(self, samples: Samples = DEFAULT_SAMPLES) -> dict[str, str]:
        return {name: value.format_map(dict(samples)) for name, value in self.query.items()}

    def request_kwargs(self, samples: Samples = DEFAULT_SAMPLES) -> dict[str, Any]:
        """``params`` and ``json`` for ``PluginClient.call``."""
        kwargs: dict[str, Any] = {"params": self.params(samples)}
        if self.body is not None:
            kwargs["json"] = self.body
        return kwargs


def _r(
    number: int,
    method: str,
    path: str,
    sample: str,
    permission: Permission | None,
    *,
    live: bool = True,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    authenticated: bool = True,
) -> RouteCase:
    return RouteCase(number, method, path, sample, permission, live, dict(query or {}), body, authenticated)


CLUSTER_Q = {"projectUid": "{clusterProjectUid}"}
VC_Q = {"projectUid": "{vcProjectUid}"}
PROFILE_Q = {"projectUid": "{profileProjectUid}"}

ROUTES: tuple[RouteCase, ...] = (
    _r(1, "GET", "/health", "/health", None, live=False, authenticated=False),
    _r(2, "GET", "/auth/debug", "/auth/debug", None, live=False),
    _r(3, "GET", "/users/me/projects", "/users/me/projects", None),
    _r(4, "GET", "/clusters", "/clusters", VIEW_CLUSTER_INFO),
    _r(
        5,
        "GET",
        "/clusters/{clusterUid}/kubeconfig",
        "/clusters/{clusterUid}/kubeconfig",
        DOWNLOAD_KUBECONFIG,
        query={**CLUSTER_Q, "frp": "true"},
    ),
    _r(6, "GET", "/clusters/{clusterUid}", "/clusters/{clusterUid}", VIEW_CLUSTER_INFO, query=CLUSTER_Q),
    _r(7, "GET", "/virtualclusters", "/virtualclusters", VIEW_CLUSTER_INFO),
    _r(8, "GET", "/virtualclusters/{clusterUid}", "/virtualclusters/{vcUid}", VIEW_CLUSTER_INFO, query=VC_Q),
    _r(9, "GET", "/clustergroups/{clusterGroupUid}", "/clustergroups/{groupUid}", VIEW_CLUSTER_INFO),
    _r(
        10,
        "GET",
        "/virtualclusters/{clusterUid}/kubeconfig",
        "/virtualclusters/{vcUid}/kubeconfig",
        DOWNLOAD_KUBECONFIG,
        query={**VC_Q, "frp": "true"},
    ),
    _r(11, "GET", "/profiles/{profileUid}", "/profiles/{profileUid}", VIEW_PROFILE_INFO, query=PROFILE_Q),
    _r(
        12,
        "POST",
        "/profiles/search",
        "/profiles/search",
        VIEW_PROFILE_INFO,
        query=PROFILE_Q,
        body={"names": ["eks-base"]},
    ),
    _r(
        13,
        "GET",
        "/clusters/{clusterUid}/profiles",
        "/clusters/{clusterUid}/profiles",
        VIEW_PACK_VALUES,
        query=CLUSTER_Q,
    ),
    _r(
        14,
        "GET",
        "/clusters/{clusterUid}/pack/manifests/{manifestUid}",
        "/clusters/{manifestClusterUid}/pack/manifests/{manifestUid}",
        VIEW_PACK_MANIFESTS,
        query={"projectUid": "{manifestProjectUid}"},
    ),
    _r(15, "GET", "/projects", "/projects", VIEW_CLUSTER_INFO),
    _r(16, "GET", "/cloudaccounts/{cloudType}", "/cloudaccounts/aws", VIEW_CLUSTER_INFO),
    _r(
        17,
        "GET",
        "/projects/{projectUid}/profiles",
        "/projects/{projectUid}/profiles",
        VIEW_PROFILE_INFO,
        query={"cloudType": "eks"},
    ),
    _r(
        18,
        "GET",
        "/profiles/{profileUid}/packs",
        "/profiles/{profileUid}/packs",
        VIEW_PACK_VALUES,
        query={**PROFILE_Q, "versionUid": "{versionUid}"},
    ),
    _r(19, "POST", "/clusters", "/clusters", CREATE_CLUSTER, query=CLUSTER_Q, body=INCOMPLETE_CREATE),
    _r(
        20,
        "POST",
        "/virtualclusters",
        "/virtualclusters",
        CREATE_CLUSTER,
        query=VC_Q,
        body=INCOMPLETE_VIRTUAL,
    ),
    _r(21, "GET", "/clustergroups", "/clustergroups", VIEW_CLUSTER_INFO),
    _r(
        22,
        "GET",
        "/profiles/{profileUid}/variables",
        "/profiles/{profileUid}/variables",
        VIEW_PROFILE_INFO,
        query=PROFILE_Q,
    ),
    _r(
        23,
        "GET",
        "/cloudaccounts/vsphere/{accountUid}/metadata",
        "/cloudaccounts/vsphere/{vsphereAccountUid}/metadata",
        VIEW_CLUSTER_INFO,
    ),
    _r(
        24,
        "GET",
        "/cloudaccounts/vsphere/{accountUid}/computecluster/resources",
        "/cloudaccounts/vsphere/{vsphereAccountUid}/computecluster/resources",
        VIEW_CLUSTER_INFO,
        query={"datacenter": "{datacenter}", "computecluster": "{computecluster}"},
    ),
    _r(
        25,
        "GET",
        "/cloudaccounts/{cloudType}/{accountUid}",
        "/cloudaccounts/aws/{awsAccountUid}",
        VIEW_CLUSTER_INFO,
    ),
    _r(26, "GET", "/users/sshkeys", "/users/sshkeys", VIEW_CLUSTER_INFO),
    _r(27, "GET", "/overlords", "/overlords", VIEW_CLUSTER_INFO),
    _r(
        28,
        "GET",
        "/overlords/vsphere/{overlordUid}/pools",
        "/overlords/vsphere/{overlordUid}/pools",
        VIEW_CLUSTER_INFO,
    ),
)

assert [case.number for case in ROUTES] == list(range(1, 29)), "the table must list routes 1-28 in order"

PERMISSIONED = tuple(case for case in ROUTES if case.permission is not None)
BY_NUMBER = {case.number: case for case in ROUTES}


def _shape(path: str) -> str:
    """A path with every parameter name erased: ``/clusters/{}`` (names are the implementer's)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_routes() -> set[tuple[str, str]]:
    """(method, shape) of every route the plugin router serves right now, read from its OpenAPI document."""
    from fastapi import FastAPI

    from ingestor.api.plugin import plugin_router

    app = FastAPI()
    app.include_router(plugin_router())
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    return {(method.upper(), _shape(path)) for path, methods in paths.items() for method in methods}


def implemented(case: RouteCase, served: set[tuple[str, str]] | None = None) -> bool:
    """Whether the plugin router serves ``case`` (routes still being written 404/405 until they land)."""
    return (case.method, _shape(PREFIX + case.path)) in (served if served is not None else served_routes())


def _annotations(item: Mapping[str, Any]) -> Mapping[str, Any]:
    return item.get("metadata", {}).get("annotations", {}) or {}


def _cloud_type(item: Mapping[str, Any]) -> str:
    spec = item.get("spec", {})
    return str((spec.get("cloudConfig") or {}).get("cloudType") or spec.get("cloudType") or "")


def samples_from_fixture(fixture: Mapping[str, Any]) -> dict[str, str]:
    """Real uids from ``GET /__sim/fixture``: a running project cluster, a cluster with a pack manifest,
    a running virtual cluster, a cluster group, a project profile family with two versions, cloud accounts,
    a vSphere inventory entry and a vSphere gateway."""
    out = dict(DEFAULT_SAMPLES)
    running = [
        c
        for c in fixture["clusters"]
        if c["status"].get("state") == "Running" and _annotations(c).get("projectUid")
    ]
    hosts = [c for c in running if _cloud_type(c) != "nested"]
    out["clusterUid"] = hosts[0]["metadata"]["uid"]
    out["clusterProjectUid"] = _annotations(hosts[0])["projectUid"]
    with_manifest = [
        (c, m)
        for c in fixture["clusters"]
        if _annotations(c).get("projectUid")
        for t in c["spec"].get("clusterProfileTemplates") or []
        for pack in t.get("packs") or []
        for m in pack.get("manifests") or []
    ]
    if with_manifest:
        cluster, manifest = with_manifest[0]
        out["manifestClusterUid"] = cluster["metadata"]["uid"]
        out["manifestProjectUid"] = _annotations(cluster)["projectUid"]
        out["manifestUid"] = manifest["uid"]
    vc = next(c for c in running if _cloud_type(c) == "nested")
    out["vcUid"], out["vcProjectUid"] = vc["metadata"]["uid"], _annotations(vc)["projectUid"]
    out["groupUid"] = fixture["clusterGroups"][0]["metadata"]["uid"]
    project_profiles = [p for p in fixture["clusterProfiles"] if _annotations(p).get("projectUid")]
    first = project_profiles[0]
    project = _annotations(first)["projectUid"]
    family = [
        p
        for p in project_profiles
        if p["metadata"]["name"] == first["metadata"]["name"] and _annotations(p)["projectUid"] == project
    ]
    out["profileUid"], out["profileProjectUid"] = first["metadata"]["uid"], project
    out["versionUid"] = family[-1]["metadata"]["uid"]
    out["projectUid"] = fixture["projects"][0]["metadata"]["uid"]
    accounts = fixture["cloudAccounts"]
    out["awsAccountUid"] = accounts["aws"][0]["metadata"]["uid"]
    vsphere = accounts["vsphere"][0]["metadata"]["uid"]
    out["vsphereAccountUid"] = vsphere
    inventory = (fixture.get("vsphereInventory") or {}).get(vsphere) or []
    if inventory:
        out["datacenter"] = inventory[0]["datacenter"]
        out["computecluster"] = inventory[0]["computeclusters"][0]["name"]
    gateways = [o for o in fixture["overlords"] if o.get("kind") == "vsphere"]
    out["overlordUid"] = gateways[-1]["metadata"]["uid"]
    return out


def load_samples(sim_url: str, api_key: str) -> dict[str, str]:
    """``samples_from_fixture`` of a running simulator (its admin API, with the tenant admin's key)."""
    import httpx

    response = httpx.get(sim_url + "/__sim/fixture", headers={"ApiKey": api_key}, timeout=30)
    response.raise_for_status()
    return samples_from_fixture(response.json())


def route_params(cases: tuple[RouteCase, ...]) -> list[Any]:
    """``pytest.param`` per case, skipped while its route is not served yet (it becomes real once it is)."""
    import pytest

    served = served_routes()
    return [
        pytest.param(
            case,
            id=case.id,
            marks=pytest.mark.skipif(
                not implemented(case, served), reason=f"route {case.number} is not served yet"
            ),
        )
        for case in cases
    ]
