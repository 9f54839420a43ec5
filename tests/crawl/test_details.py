"""Cluster-group details: reused while unchanged, stale from the cache when a call fails, or a failed part."""

from __future__ import annotations

from ingestor.simulator.faults_spec import ErrorFault

from .harness import Harness

ENDPOINT = "terasky.backstage.io/endpoint-type"


def endpoint_of(h: Harness, uid: str) -> str:
    entity = next(e for e in h.entities().values() if e.key == uid)
    return str(entity.body["metadata"]["annotations"].get(ENDPOINT))


async def test_a_failed_detail_call_falls_back_to_the_cached_detail(harness: Harness) -> None:
    h = harness
    await h.crawl()
    uid = sorted(h.sim.dataset.collection("clusterGroups"))[0]
    old = endpoint_of(h, uid)
    new = "LoadBalancer" if old != "LoadBalancer" else "Ingress"
    h.sim.dataset.patch("clusterGroups", uid, {"spec": {"clustersConfig": {"endpointType": new}}})
    h.fault(ErrorFault(path=f"/v1/clustergroups/{uid}", status=500))

    result = await h.crawl()

    run = h.last_run()
    scope = next(e.part[0] for e in h.entities().values() if e.key == uid)
    outcome = h.outcomes()[(scope, "clusterGroups")]
    assert result.status == "ok" and run.stale_details == 1 and run.detail_calls == 1
    assert outcome.ok and outcome.error_class == "UnavailableError"
    assert outcome.error is not None and "served from the cache" in outcome.error
    assert endpoint_of(h, uid) == old  # the last known detail, not a degraded entity

    h.sim.faults.clear()
    await h.crawl()
    assert endpoint_of(h, uid) == new and h.last_run().stale_details == 0


async def test_a_failed_detail_without_a_cached_one_fails_the_part(harness: Harness) -> None:
    h = harness
    uid = sorted(h.sim.dataset.collection("clusterGroups"))[0]
    h.fault(ErrorFault(path=f"/v1/clustergroups/{uid}", status=500))

    result = await h.crawl()

    failed = {key: o.error_class for key, o in h.outcomes().items() if not o.ok}
    direct = [key for key, error in failed.items() if error == "UnavailableError"]
    assert result.status == "partial" and len(direct) == 1 and direct[0][1] == "clusterGroups"
    assert set(failed.values()) <= {"UnavailableError", "DependencyFailedError"}
    assert not any(e.key == uid for e in h.entities().values())


async def test_a_group_deleted_between_list_and_detail_is_left_out(harness: Harness) -> None:
    h = harness
    uid = sorted(h.sim.dataset.collection("clusterGroups"))[0]
    h.fault(ErrorFault(path=f"/v1/clustergroups/{uid}", status=404))

    result = await h.crawl()

    assert result.status == "ok"
    assert not any(e.key == uid for e in h.entities().values())
