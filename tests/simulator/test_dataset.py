"""Generator determinism and scale, the fixture round trip, the admin API, the clock, the options."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx
import pytest

from ingestor.errors import ConfigError
from ingestor.palette.schema import SpecValidator
from ingestor.simulator.app import build_dataset
from ingestor.simulator.dataset import owner_of
from ingestor.simulator.fixture import dump_fixture, load_fixture
from ingestor.simulator.generator import generate
from ingestor.simulator.options import SimulatorOptions, add_arguments, options_from_args
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import API_KEY, assert_error, assert_valid


def _dump(options: SimulatorOptions) -> str:
    return json.dumps(dump_fixture(generate(options)), sort_keys=True)


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    options = SimulatorOptions(seed=7)
    assert _dump(options) == _dump(SimulatorOptions(seed=7))
    assert _dump(options) != _dump(SimulatorOptions(seed=8))


def test_generated_tenant_has_the_promised_variety() -> None:
    ds = generate(SimulatorOptions(projects=4, clusters_per_project=12))
    clusters = list(ds.collection("clusters").values())
    states = {c["status"]["state"] for c in clusters}
    clouds = {c["spec"]["cloudType"] for c in clusters}
    assert {"Running", "Provisioning", "Deleted"} <= states
    assert {"eks", "aks", "vsphere", "nested"} <= clouds
    assert {owner_of(c)[0] for c in clusters} == {"tenant", "project"}
    assert {owner_of(p)[0] for p in ds.collection("clusterProfiles").values()} == {
        "tenant",
        "project",
        "system",
    }
    assert {owner_of(g)[0] for g in ds.collection("clusterGroups").values()} == {
        "tenant",
        "project",
        "system",
    }
    versions = {
        c["status"]["kubeMeta"]["kubernetesVersion"] for c in clusters if c["spec"]["cloudType"] != "nested"
    }
    assert len(versions) >= 3
    index = ds.index()
    for members in index.families.values():
        assert len({ds.collection("clusterProfiles")[m]["spec"]["version"] for m in members}) == len(members)
    pinned = [sum(bool(index.profile_users.get(m)) for m in members) for members in index.families.values()]
    assert max(pinned) >= 2, "some family has clusters on two different versions"
    vc = next(c for c in clusters if c["spec"]["cloudType"] == "nested")
    host = vc["spec"]["clusterConfig"]["hostClusterConfig"]["hostCluster"]["uid"]
    group = vc["spec"]["clusterConfig"]["hostClusterConfig"]["clusterGroup"]["uid"]
    assert host in index.hosts_by_group[group]
    assert len(ds.collection("clusters")) == 4 * 12 + 2 + 4 * 2


def test_scale_generation_and_page_latency() -> None:
    started = time.perf_counter()
    ds = generate(SimulatorOptions(projects=200, clusters_per_project=50))
    generated = time.perf_counter() - started
    assert len(ds.collection("clusters")) >= 10_000
    with (
        SimulatorServer(SimulatorOptions(rate_limits=False), dataset=ds) as sim,
        httpx.Client(base_url=sim.url, headers={"ApiKey": API_KEY}) as client,
    ):
        body = {
            "filter": {
                "filterGroups": [
                    {
                        "filters": [
                            {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}}
                        ]
                    }
                ]
            },
            "sort": [{"field": "lastModifiedTimestamp", "order": "desc"}],
        }
        started = time.perf_counter()
        first = client.post("/v1/dashboard/spectroclusters/search", json=body).json()
        cold = time.perf_counter() - started
        token = first["listmeta"]["continue"]
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            page = client.post(
                "/v1/dashboard/spectroclusters/search", params={"continue": token}, json=body
            ).json()
            timings.append(time.perf_counter() - started)
            token = page["listmeta"]["continue"]
        assert len(page["items"]) == 50
    warm = sorted(timings)[len(timings) // 2]
    print(
        f"\n10k tenant: generated in {generated:.2f}s; first search page {cold * 1000:.1f} ms; "
        f"later pages median {warm * 1000:.1f} ms"
    )


def test_fixture_round_trip_keeps_every_view(tmp_path: Path) -> None:
    options = SimulatorOptions()
    original = generate(options)
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(dump_fixture(original)))
    replay = build_dataset(SimulatorOptions(fixture=path))
    assert json.dumps(dump_fixture(replay), sort_keys=True) == json.dumps(
        dump_fixture(original), sort_keys=True
    )
    with (
        SimulatorServer(SimulatorOptions(rate_limits=False), dataset=original) as a,
        SimulatorServer(SimulatorOptions(rate_limits=False), dataset=replay) as b,
    ):
        for path_, method in [
            ("/v1/dashboard/spectroclusters/meta", "GET"),
            ("/v1/dashboard/spectroclusters/search", "POST"),
            ("/v1/dashboard/clusterprofiles", "POST"),
            ("/v1/clustergroups/hostCluster", "GET"),
            ("/v1/dashboard/projects", "POST"),
        ]:
            left = httpx.request(
                method, a.url + path_, headers={"ApiKey": API_KEY}, json={} if method == "POST" else None
            )
            right = httpx.request(
                method, b.url + path_, headers={"ApiKey": API_KEY}, json={} if method == "POST" else None
            )
            assert left.json() == right.json(), path_


def test_minimal_fixture_is_tolerated() -> None:
    fixture = {
        "projects": [{"metadata": {"uid": "p" * 24, "name": "only"}}],
        "clusters": [
            {
                "metadata": {
                    "uid": "c" * 24,
                    "name": "bare",
                    "annotations": {"scope": "project", "projectUid": "p" * 24},
                },
                "spec": {"cloudType": "aws"},
                "status": {"state": "Running", "kubeMeta": {"hasKubeConfig": True}},
            },
            {
                "metadata": {"uid": "d" * 24, "name": "virt"},
                "spec": {"cloudConfig": {"cloudType": "nested"}},
                "status": {"state": "Running"},
            },
        ],
        "cloudAccounts": {"aws": [{"metadata": {"name": "acct"}, "spec": {"secretKey": "s3cr3t"}}]},
    }
    ds = load_fixture(fixture, SimulatorOptions())
    assert ds.counts()["users"] == 1, "an admin user is made up when the fixture has none"
    with (
        SimulatorServer(SimulatorOptions(rate_limits=False), dataset=ds) as sim,
        httpx.Client(base_url=sim.url, headers={"ApiKey": API_KEY}) as client,
    ):
        meta = client.get("/v1/dashboard/spectroclusters/meta").json()
        assert {m["spec"]["cloudType"] for m in meta} == {"aws", "nested"}
        detail = client.get(
            f"/v1/dashboard/spectroclusters/{'c' * 24}", headers={"ProjectUid": "p" * 24}
        ).json()
        assert detail["status"]["kubeMeta"]["hasKubeConfig"] is True
        assert detail["metadata"]["deletionTimestamp"] == "0001-01-01T00:00:00.000Z"
        assert "s3cr3t" not in client.get("/v1/cloudaccounts/aws").text


@pytest.mark.parametrize(
    "fixture",
    [[], {"clusters": {}}, {"clusters": [1]}, {"cloudAccounts": {"nimbus": []}}],
    ids=["not-object", "not-list", "not-object-item", "unknown-cloud"],
)
def test_broken_fixtures_raise_config_errors(fixture: object) -> None:
    with pytest.raises(ConfigError):
        load_fixture(fixture, SimulatorOptions())


def test_admin_api(fresh_sim: SimulatorServer, fresh_client: httpx.Client) -> None:
    counts = fresh_client.get("/__sim/dataset").json()["counts"]
    assert counts == fresh_sim.dataset.counts()
    record = next(r for r in fresh_sim.dataset.collection("clusters").values() if owner_of(r)[0] == "tenant")
    uid = record["metadata"]["uid"]
    before = fresh_client.get(f"/v1/spectroclusters/{uid}").json()
    patched = fresh_client.patch(
        f"/__sim/data/clusters/{uid}", json={"status": {"state": "Error"}, "metadata": {"labels": {"x": "y"}}}
    )
    assert patched.status_code == 200
    after = fresh_client.get(f"/v1/spectroclusters/{uid}").json()
    assert after["status"]["state"] == "Error" and after["metadata"]["labels"]["x"] == "y"
    assert after["metadata"]["lastModifiedTimestamp"] > before["metadata"]["lastModifiedTimestamp"]
    clock = fresh_client.post("/__sim/clock", json={"advanceSeconds": 3600}).json()["now"]
    fresh_client.patch(f"/__sim/data/clusters/{uid}", json={"status": {"state": "Running"}})
    assert fresh_client.get(f"/v1/spectroclusters/{uid}").json()["metadata"]["lastModifiedTimestamp"] > clock
    key = fresh_client.post(
        "/__sim/data/sshKeys",
        json={
            "metadata": {"name": "added", "annotations": {"scope": "tenant"}},
            "spec": {"publicKey": "ssh-ed25519 X"},
        },
    )
    assert key.status_code == 201
    assert "added" in {
        k["metadata"]["name"] for k in fresh_client.get("/v1/users/assets/sshkeys").json()["items"]
    }
    assert fresh_client.delete(f"/__sim/data/clusters/{uid}").status_code == 204
    assert_error(fresh_client.get(f"/v1/spectroclusters/{uid}"), 404)
    assert_error(fresh_client.delete(f"/__sim/data/clusters/{uid}"), 404)
    assert_error(fresh_client.get("/__sim/data/widgets"), 404)
    assert fresh_client.post("/__sim/reset").status_code == 204
    assert (
        fresh_client.get(f"/v1/spectroclusters/{uid}").json()["status"]["state"] == record["status"]["state"]
    )
    assert fresh_client.get("/__sim/dataset").json()["counts"] == counts


def test_admin_api_needs_the_configured_key(fresh_sim: SimulatorServer) -> None:
    dev = next(u for u in fresh_sim.dataset.collection("users").values() if u["apiKeys"])
    assert_error(httpx.get(f"{fresh_sim.url}/__sim/dataset"), 401)
    assert_error(httpx.get(f"{fresh_sim.url}/__sim/dataset", headers={"ApiKey": dev["apiKeys"][0]}), 403)
    assert (
        httpx.get(f"{fresh_sim.url}/__sim/faults", headers={"ApiKey": dev["apiKeys"][0]}).status_code == 401
    )


def test_fixture_endpoint_replays(fresh_client: httpx.Client, fresh_sim: SimulatorServer) -> None:
    dumped = fresh_client.get("/__sim/fixture").json()
    assert json.dumps(dumped, sort_keys=True) == json.dumps(dump_fixture(fresh_sim.dataset), sort_keys=True)


def test_options_from_the_command_line(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--projects",
            "5",
            "--rate-limits",
            "off",
            "--seed",
            "3",
            "--latency-ms",
            "20",
            "--fixture",
            str(tmp_path / "f.json"),
            "--time-origin",
            "2024-02-03T04:05:06Z",
        ]
    )
    options = options_from_args(args)
    assert (options.projects, options.rate_limits, options.seed, options.latency_ms) == (5, False, 3, 20.0)
    assert options.fixture == tmp_path / "f.json" and options.time_origin.year == 2024
    assert options.faults == (), "latency travels on latency_ms, not as a second fault"
    assert "demo-api-key" not in repr(options)
    defaults = options_from_args(parser.parse_args([]))
    assert defaults == SimulatorOptions()
    with pytest.raises(ConfigError):
        SimulatorOptions(projects=-1)


def test_latency_option_delays_calls() -> None:
    with SimulatorServer(SimulatorOptions(latency_ms=60, rate_limits=False)) as sim:
        started = time.perf_counter()
        httpx.get(f"{sim.url}/v1/users/info", headers={"ApiKey": API_KEY})
        assert time.perf_counter() - started >= 0.06


def test_documented_fixture_example_loads_and_serves(validator: SpecValidator) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    ds = load_fixture(example, SimulatorOptions())
    with (
        SimulatorServer(SimulatorOptions(rate_limits=False), dataset=ds) as sim,
        httpx.Client(base_url=sim.url, headers={"ApiKey": API_KEY}) as client,
    ):
        meta = client.get("/v1/dashboard/spectroclusters/meta").json()
        assert [m["metadata"]["name"] for m in meta] == ["prod-api-01"]
        assert_valid(validator, "v1SpectroClustersMeta", meta)
        project = {"ProjectUid": example["projects"][0]["metadata"]["uid"]}
        summary = client.post("/v1/dashboard/spectroclusters/search", headers=project, json={}).json()
        assert_valid(validator, "v1SpectroClustersSummary", summary)
        assert summary["items"][0]["specSummary"]["cloudAccountMeta"]["name"] == "aws-shared"
        profile = client.get("/v1/clusterprofiles/65f0a1b2c3d4e5f60718293d").json()
        assert [c["name"] for c in profile["status"]["inUseClusters"]] == ["prod-api-01"]
        assert "secretKey" in client.get("/v1/cloudaccounts/aws").json()["items"][0]["spec"]
