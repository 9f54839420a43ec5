"""After a creation, a crawl of that project brings the new cluster into the catalog within seconds: the
service, the scheduler and the simulator over sockets, with the scheduler's interval far away."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.plugin.conftest import SERVICE_TOKEN, PluginClient
from tests.plugin.test_create import CREATORS, account, base_profile

JANE = "user:default/jane"


def catalog_names(p: PluginClient) -> set[str]:
    answer = httpx.get(p.server.url + "/catalog/entities.json", timeout=30)
    assert answer.status_code == 200, answer.text
    return {item["metadata"]["name"] for item in answer.json()["items"]}


def runs(p: PluginClient) -> list[dict[str, Any]]:
    status = httpx.get(
        p.server.url + "/status", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}, timeout=30
    )
    assert status.status_code == 200, status.text
    (instance,) = status.json()["instances"]
    return list(instance["recentRuns"])


def test_a_created_cluster_reaches_the_catalog_within_seconds(plugin: Any) -> None:
    p: PluginClient = plugin(policy=CREATORS, scheduler={"enabled": True, "runOnStart": True})
    deadline = time.monotonic() + 30
    while not runs(p) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs(p), "the first full crawl did not run"
    before = catalog_names(p)
    sim = p.sim
    project = sorted(sim.dataset.collection("projects"))[0]
    body = {
        "cloudType": "aws",
        "name": "made-then-crawled",
        "cloudAccountUid": account(sim, "aws"),
        "profileUids": [base_profile(sim, "aws")],
        "region": "eu-west-1",
        "machinePoolConfig": [
            {"name": "cp", "instanceType": "m6i.large", "count": 1, "controlPlane": True},
            {"name": "workers", "instanceType": "m6i.large", "count": 2},
        ],
    }
    created = p.post("/clusters", params={"projectUid": project}, json=body, user=JANE)
    assert created.status_code == 201, created.text
    started = time.monotonic()
    while time.monotonic() - started < 10:
        added = {name for name in catalog_names(p) - before if name.endswith("made-then-crawled")}
        if added:
            break
        time.sleep(0.1)
    assert added, "the new cluster did not reach the catalog within 10 s"
    latest = runs(p)[0]
    assert latest["trigger"] == "project" and latest["added"] >= 1 and latest["removed"] == 0
    assert catalog_names(p) >= before  # nothing else went away
