"""Palette paging (continue token in the query only, limit caps, listmeta) and the search language."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestor.simulator.dataset import owner_of
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import API_KEY, assert_error

SEARCH = "/v1/dashboard/spectroclusters/search"


def string_filter(
    prop: str, values: list[str], *, negation: bool = False, operator: str = "eq", ignore_case: bool = False
) -> dict[str, Any]:
    condition = {
        "operator": operator,
        "negation": negation,
        "ignoreCase": ignore_case,
        "match": {"conjunction": "or", "values": values},
    }
    return {"property": prop, "type": "string", "condition": {"string": condition}}


def body(*filters: dict[str, Any], sort: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "filter": {"conjunction": "and", "filterGroups": [{"conjunction": "and", "filters": list(filters)}]},
        "sort": sort or [],
    }


NOT_DELETED = {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}}


@pytest.fixture(scope="module")
def big() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorOptions(projects=3, clusters_per_project=60, rate_limits=False)) as server:
        yield server


@pytest.fixture(scope="module")
def big_client(big: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=big.url, headers={"ApiKey": API_KEY}, timeout=10) as c:
        yield c


def walk(client: httpx.Client, path: str, payload: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = ""
    for _ in range(100):
        query = {**params, **({"continue": token} if token else {})}
        page = client.post(path, params=query, json=payload).json()
        items += page["items"]
        token = page["listmeta"]["continue"]
        if not token:
            return items
    raise AssertionError("paging never ended")


def test_pages_follow_the_continue_token_to_the_end(big_client: httpx.Client, big: SimulatorServer) -> None:
    first = big_client.post(SEARCH, json={}).json()
    total = len(big.dataset.collection("clusters"))
    assert first["listmeta"] == {**first["listmeta"], "count": total, "limit": 50, "offset": 50}
    assert len(first["items"]) == 50 and first["listmeta"]["continue"]
    decoded = json.loads(base64.b64decode(first["listmeta"]["continue"]))
    assert decoded == {"offset": 50, "count": total, "token": ""}
    items = walk(big_client, SEARCH, {})
    uids = [i["metadata"]["uid"] for i in items]
    assert len(uids) == total == len(set(uids))
    assert set(uids) == set(big.dataset.collection("clusters"))


def test_last_page_has_empty_continue(big_client: httpx.Client, big: SimulatorServer) -> None:
    total = len(big.dataset.collection("clusters"))
    last = big_client.post(SEARCH, params={"offset": total - 3}, json={}).json()
    assert len(last["items"]) == 3
    assert last["listmeta"] == {"continue": "", "count": total, "limit": 50, "offset": total}


def test_token_in_the_body_is_ignored(big_client: httpx.Client) -> None:
    """TeraSky's bug: a continue token in the POST body returns page 1 again (palette-api.md 1.6)."""
    first = big_client.post(SEARCH, json={}).json()
    again = big_client.post(SEARCH, json={"continue": first["listmeta"]["continue"]}).json()
    assert [i["metadata"]["uid"] for i in again["items"]] == [i["metadata"]["uid"] for i in first["items"]]
    second = big_client.post(SEARCH, params={"continue": first["listmeta"]["continue"]}, json={}).json()
    assert second["items"][0]["metadata"]["uid"] not in {i["metadata"]["uid"] for i in first["items"]}


@pytest.mark.parametrize("path", [SEARCH, "/v1/dashboard/clusterprofiles"])
def test_limit_above_50_is_422_where_the_spec_says_maximum(big_client: httpx.Client, path: str) -> None:
    assert_error(big_client.post(path, params={"limit": 51}, json={}), 422)
    small = big_client.post(path, params={"limit": 7}, json={}).json()
    assert len(small["items"]) == 7 and small["listmeta"]["limit"] == 7


def test_limit_above_50_is_capped_where_the_spec_says_default(big_client: httpx.Client) -> None:
    page = big_client.post("/v1/dashboard/projects", params={"limit": 500}, json={}).json()
    assert page["listmeta"]["limit"] == 50


def test_bad_continue_token_is_400(big_client: httpx.Client) -> None:
    assert_error(big_client.post(SEARCH, params={"continue": "!!nope"}, json={}), 400)


def test_limit_zero_returns_everything_on_get_lists(client: httpx.Client, sim: SimulatorServer) -> None:
    accounts = client.get("/v1/cloudaccounts/aws", params={"limit": 0}).json()
    assert accounts["listmeta"]["continue"] == ""
    tenant_aws = [u for u, t in sim.dataset.cloud_account_types.items() if t == "aws"]
    assert 0 < len(accounts["items"]) <= len(tenant_aws)


def test_environment_nested_with_negation(big_client: httpx.Client, big: SimulatorServer) -> None:
    nested = lambda negation: string_filter("environment", ["nested"], negation=negation)  # noqa: E731
    virtual = walk(big_client, SEARCH, body(nested(False), NOT_DELETED))
    others = walk(big_client, SEARCH, body(nested(True), NOT_DELETED))
    records = big.dataset.collection("clusters")
    assert virtual and all(records[i["metadata"]["uid"]]["spec"]["cloudType"] == "nested" for i in virtual)
    assert others and all(i["specSummary"]["cloudConfig"]["cloudType"] != "nested" for i in others)
    live = [r for r in records.values() if r["status"]["state"] != "Deleted"]
    assert len(virtual) + len(others) == len(live)
    assert all(i["status"]["state"] != "Deleted" for i in virtual + others)
    assert any(r["status"]["state"] == "Deleted" for r in records.values()), (
        "the generator makes a few Deleted"
    )


def test_name_state_and_case_filters(big_client: httpx.Client, big: SimulatorServer) -> None:
    record = next(iter(big.dataset.collection("clusters").values()))
    name = record["metadata"]["name"]
    found = walk(big_client, SEARCH, body(string_filter("clusterName", [name])))
    assert {i["metadata"]["name"] for i in found} == {name}
    upper = walk(big_client, SEARCH, body(string_filter("clusterName", [name.upper()], ignore_case=True)))
    assert {i["metadata"]["uid"] for i in upper} == {i["metadata"]["uid"] for i in found}
    assert walk(big_client, SEARCH, body(string_filter("clusterName", [name.upper()]))) == []
    prefix = walk(big_client, SEARCH, body(string_filter("clusterName", ["prod-"], operator="beginsWith")))
    assert prefix and all(i["metadata"]["name"].startswith("prod-") for i in prefix)
    running = walk(big_client, SEARCH, body(string_filter("clusterState", ["Running"])))
    expected = sum(r["status"]["state"] == "Running" for r in big.dataset.collection("clusters").values())
    assert len(running) == expected and all(i["status"]["state"] == "Running" for i in running)


def test_or_conjunction_between_groups(big_client: httpx.Client) -> None:
    payload = {
        "filter": {
            "conjunction": "or",
            "filterGroups": [
                {"conjunction": "and", "filters": [string_filter("environment", ["eks"])]},
                {"conjunction": "and", "filters": [string_filter("environment", ["aks"])]},
            ],
        }
    }
    items = walk(big_client, SEARCH, payload)
    assert items and {i["specSummary"]["cloudConfig"]["cloudType"] for i in items} == {"eks", "aks"}


@pytest.mark.parametrize(
    "field", ["lastModifiedTimestamp", "clusterName", "creationTimestamp", "clusterState"]
)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sort_on_enum_fields(big_client: httpx.Client, field: str, order: str) -> None:
    items = walk(big_client, SEARCH, body(sort=[{"field": field, "order": order}]))
    key = {
        "lastModifiedTimestamp": lambda i: i["metadata"]["lastModifiedTimestamp"],
        "creationTimestamp": lambda i: i["metadata"]["creationTimestamp"],
        "clusterName": lambda i: i["metadata"]["name"],
        "clusterState": lambda i: i["status"]["state"],
    }[field]
    values = [key(i) for i in items]
    assert values == sorted(values, reverse=order == "desc")
    assert len(set(values)) > 1


@pytest.mark.parametrize(
    "payload",
    [
        {"sort": [{"field": "memoryUsage", "order": "asc"}]},
        {"sort": [{"field": "clusterName", "order": "sideways"}]},
        body(string_filter("noSuchProperty", ["x"])),
        body({"property": "clusterName", "type": "string", "condition": {"string": {"operator": "like"}}}),
    ],
    ids=["memoryUsage", "bad-order", "unknown-property", "bad-operator"],
)
def test_invalid_search_bodies_are_422(big_client: httpx.Client, payload: dict[str, Any]) -> None:
    body_ = assert_error(big_client.post(SEARCH, json=payload), 422)
    assert "sort" in body_["message"] or "filter" in body_["message"]


def test_date_filter(big_client: httpx.Client, big: SimulatorServer) -> None:
    stamps = sorted(
        r["metadata"]["lastModifiedTimestamp"] for r in big.dataset.collection("clusters").values()
    )
    middle = stamps[len(stamps) // 2]
    condition = {"operator": "gte", "match": {"conjunction": "or", "values": [middle]}}
    item = {"property": "lastModifiedTimestamp", "type": "date", "condition": {"date": condition}}
    found = walk(big_client, SEARCH, body(item))
    assert len(found) == sum(s >= middle for s in stamps)


def test_profile_filters(client: httpx.Client, sim: SimulatorServer) -> None:
    path = "/v1/dashboard/clusterprofiles"
    exact = client.post(path, json={"filter": {"profileName": {"eq": "EKS-BASE"}}}).json()["items"]
    assert [p["metadata"]["name"] for p in exact] == ["eks-base"]
    strict = client.post(
        path, json={"filter": {"profileName": {"eq": "EKS-BASE", "ignoreCase": False}}}
    ).json()
    assert strict["items"] == []
    contains = client.post(path, json={"filter": {"profileName": {"contains": "base"}}}).json()["items"]
    assert len(contains) == 6 and all("base" in p["metadata"]["name"] for p in contains)
    begins = client.post(path, json={"filter": {"profileName": {"beginsWith": "a"}}}).json()["items"]
    assert {p["metadata"]["name"] for p in begins} == {"aws-base", "aks-base", "azure-base"}
    not_eks = client.post(path, json={"filter": {"profileName": {"ne": "eks-base"}}}).json()["items"]
    assert "eks-base" not in {p["metadata"]["name"] for p in not_eks} and not_eks
    by_env = client.post(path, json={"filter": {"environment": ["vsphere"]}}).json()["items"]
    assert [p["specSummary"]["published"]["cloudType"] for p in by_env] == ["vsphere"]
    project = next(iter(sim.dataset.collection("projects")))
    addons = client.post(
        path,
        headers={"ProjectUid": project},
        json={"filter": {"profileType": ["add-on"], "scope": "project"}},
    ).json()["items"]
    assert addons and {p["specSummary"]["published"]["type"] for p in addons} == {"add-on"}
    typed = client.post(
        path, json={"filter": {"profileType": ["cluster"], "resourceType": "spectrocluster"}}
    ).json()
    assert len(typed["items"]) == 6
    sort = client.post(path, json={"sort": [{"field": "profileName", "order": "desc"}]}).json()["items"]
    names = [p["metadata"]["name"] for p in sort]
    assert names == sorted(names, reverse=True)
    assert_error(client.post(path, json={"sort": [{"field": "cloudType"}]}), 422)


def test_profile_summaries_list_every_version_with_its_own_uid(client: httpx.Client) -> None:
    items = client.post(
        "/v1/dashboard/clusterprofiles", json={"filter": {"profileName": {"eq": "aws-base"}}}
    ).json()["items"]
    assert len(items) == 1
    versions = items[0]["specSummary"]["versions"]
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0", "1.2.0"]
    assert len({v["uid"] for v in versions}) == 3
    assert (
        items[0]["metadata"]["uid"] == versions[-1]["uid"] and items[0]["specSummary"]["version"] == "1.2.0"
    )
    older = client.post(
        "/v1/dashboard/clusterprofiles",
        json={"filter": {"profileName": {"eq": "aws-base"}, "version": {"lt": "1.2.0"}}},
    ).json()
    assert older["items"][0]["metadata"]["uid"] == versions[1]["uid"]
    metadata = client.get("/v1/dashboard/clusterprofiles/metadata").json()["items"]
    assert {m["metadata"]["uid"] for m in metadata if m["metadata"]["name"] == "aws-base"} == {
        v["uid"] for v in versions
    }


def test_project_name_filter_and_sort(client: httpx.Client) -> None:
    all_names = [
        p["metadata"]["name"]
        for p in client.post("/v1/dashboard/projects", json={"filter": {}}).json()["items"]
    ]
    assert all_names == sorted(all_names)
    found = client.post("/v1/dashboard/projects", json={"filter": {"name": {"contains": "PAY"}}}).json()[
        "items"
    ]
    assert [p["metadata"]["name"] for p in found] == ["payments"]
    desc = client.post("/v1/dashboard/projects", json={"sort": [{"field": "name", "order": "desc"}]}).json()[
        "items"
    ]
    assert [p["metadata"]["name"] for p in desc] == sorted(all_names, reverse=True)
    assert_error(client.post("/v1/dashboard/projects", json={"sort": [{"field": "memoryUsage"}]}), 422)
    assert (
        client.get("/v1/dashboard/projects/metadata", params={"name": "payments"}).json()["items"][0][
            "metadata"
        ]["name"]
        == "payments"
    )


def test_group_member_lists(client: httpx.Client, sim: SimulatorServer) -> None:
    index = sim.dataset.index()
    groups = sim.dataset.collection("clusterGroups")
    group = next(g for g, vcs in index.vcs_by_group.items() if vcs and owner_of(groups[g])[0] == "tenant")
    hosts = client.post(f"/v1/dashboard/clustergroups/{group}/hostClusters", json={}).json()["items"]
    assert {h["metadata"]["uid"] for h in hosts} == set(index.hosts_by_group[group])
    vcs = client.post(f"/v1/dashboard/clustergroups/{group}/virtualClusters", json={}).json()["items"]
    assert {v["metadata"]["uid"] for v in vcs} == set(index.vcs_by_group[group])
    assert all(v["status"]["virtual"]["clusterGroup"]["uid"] == group for v in vcs)
    project = owner_of(sim.dataset.collection("clusters")[vcs[0]["metadata"]["uid"]])[1]
    scoped = client.post(
        f"/v1/dashboard/clustergroups/{group}/virtualClusters", headers={"ProjectUid": project}, json={}
    ).json()["items"]
    assert scoped and {v["metadata"]["annotations"]["projectUid"] for v in scoped} == {project}
    own = next(g for g in groups.values() if owner_of(g)[0] == "project")
    assert_error(
        client.post(f"/v1/dashboard/clustergroups/{own['metadata']['uid']}/hostClusters", json={}), 404
    )


def test_metadata_search_and_quick_filters(client: httpx.Client, sim: SimulatorServer) -> None:
    everything = client.post("/v1/dashboard/spectroclusters/metadata/search", json={}).json()
    assert (
        len(everything["items"]) == len(sim.dataset.collection("clusters")) == everything["listmeta"]["count"]
    )
    strict = client.get(
        "/v1/dashboard/spectroclusters/metadata", params={"quickFilter": "strictHostclusters"}
    ).json()
    hosts = {u for u, r in sim.dataset.index().rows.items() if r.is_host}
    assert {m["uid"] for m in strict["items"]} == hosts
    assert_error(client.get("/v1/dashboard/spectroclusters/metadata", params={"quickFilter": "bogus"}), 422)
