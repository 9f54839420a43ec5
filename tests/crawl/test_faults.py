"""Faults injected into the real simulator: no entity lost, no loop, an accurate run status."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from ingestor.crawl.crawler import Crawler
from ingestor.crawl.request import crawl_request
from ingestor.simulator.faults_spec import (
    Fault,
    HangFault,
    MalformedFault,
    OutageFault,
    PageFault,
    StormFault,
)
from ingestor.store import queries

from .harness import INSTANCE, Harness

DEPENDENCY = "DependencyFailedError"
KINDS = ("clusters", "virtualClusters", "clusterGroups", "clusterProfiles")
SEARCH = "/v1/dashboard/spectroclusters/search"


def state_of(h: Harness, uid: str) -> str:
    entity = next(e for e in h.entities().values() if e.key == uid)
    return str(entity.body["metadata"]["annotations"]["terasky.backstage.io/state"])


async def test_a_failing_project_keeps_its_entities_while_others_update(any_harness: Harness) -> None:
    h = any_harness
    await h.crawl()
    a, b = sorted(h.projects().values())[:2]
    before = h.stored(a)
    h.sim.dataset.patch("clusters", h.clusters_of(a)[0], {"status": {"state": "Error"}})
    h.sim.dataset.delete("clusters", h.clusters_of(a)[1])
    changed_in_b = h.clusters_of(b)[0]
    h.sim.dataset.patch("clusters", changed_in_b, {"status": {"state": "Error"}})
    outage = h.fault(OutageFault(project_uid=a))

    result = await h.crawl()

    outcomes = h.outcomes()
    assert result.status == "partial"
    assert {key for key, o in outcomes.items() if not o.ok} == {(a, kind) for kind in KINDS}
    assert {outcomes[(a, kind)].error_class for kind in KINDS} == {"UnavailableError"}
    assert h.stored(a) == before  # neither modified nor removed
    assert all(e.stale for e in h.entities().values() if e.part[0] == a)
    assert state_of(h, changed_in_b) == "Error"
    run = h.last_run()
    assert run.error_class == "UnavailableError" and run.error_message is not None
    assert run.error_message.startswith(f"4 of {len(outcomes)} parts failed")

    h.sim.faults.remove(outage)
    healed = await h.crawl()
    assert (healed.status, healed.removed) == ("ok", 1) and healed.modified >= 1
    assert state_of(h, h.clusters_of(a)[0]) == "Error"


async def test_a_bounded_429_storm_is_ridden_out(harness: Harness) -> None:
    h = harness
    h.configure({"palette": {"retries": {"maxAttempts": 6}}})
    h.fault(StormFault(path="/v1/dashboard/*", times=5))

    result = await h.crawl()

    run = h.last_run()
    assert result.status == "ok" and h.counts() == h.expected_counts()
    assert run.rate_limited == 5 and run.retries >= 5


async def test_an_endless_429_storm_on_one_project_fails_only_its_parts(harness: Harness) -> None:
    h = harness
    await h.crawl()
    a = sorted(h.projects().values())[0]
    before = h.stored(a)
    h.fault(StormFault(project_uid=a))

    started = time.monotonic()
    result = await h.crawl()

    outcomes = h.outcomes()
    assert result.status == "partial" and time.monotonic() - started < 10
    assert {key for key, o in outcomes.items() if not o.ok} == {(a, kind) for kind in KINDS}
    assert {outcomes[(a, kind)].error_class for kind in KINDS} == {"RateLimitedError"}
    assert h.stored(a) == before


async def test_hanging_group_calls_time_out_and_keep_their_entities(harness: Harness) -> None:
    h = harness
    await h.crawl()
    groups_before = {r: e.body for r, e in h.entities().items() if e.palette_kind == "cluster-group"}
    h.sim.dataset.patch("clusters", h.clusters_of("")[0], {"status": {"state": "Error"}})
    h.configure({"palette": {"timeouts": {"read": 0.2, "total": 0.5}}})
    h.fault(HangFault(path="/v1/clustergroups/*"))

    result = await h.crawl()

    failed = {key: o.error_class for key, o in h.outcomes().items() if not o.ok}
    assert result.status == "partial"
    assert {kind for (_, kind), error in failed.items() if error == "PaletteTimeoutError"} == {
        "clusterGroups"
    }
    # virtual clusters name their group: held with it rather than stored without that relation
    assert {kind for (_, kind), error in failed.items() if error == DEPENDENCY} <= {"virtualClusters"}
    assert {r: e.body for r, e in h.entities().items() if e.palette_kind == "cluster-group"} == groups_before
    assert state_of(h, h.clusters_of("")[0]) == "Error"


async def test_a_hanging_project_list_fails_the_run_and_keeps_the_snapshot(harness: Harness) -> None:
    h = harness
    await h.crawl()
    before, version = h.stored(), h.version()
    h.configure({"palette": {"timeouts": {"read": 0.2, "total": 0.5}}})
    h.fault(HangFault(path="/v1/dashboard/projects"))

    result = await h.crawl()

    run = h.last_run()
    assert result.status == "failed" and run.error_class == "PaletteTimeoutError"
    assert [(o.scope, o.kind, o.ok) for o in run.outcomes] == [("tenant", "projects", False)]
    assert h.stored() == before and h.version() == version


async def test_the_crawl_deadline_fails_unfinished_parts_and_keeps_finished_ones(harness: Harness) -> None:
    h = harness
    a = sorted(h.projects().values())[0]
    h.fault(HangFault(project_uid=a))
    request = crawl_request(h.settings, h.env, {})
    # Long enough for the healthy projects to finish on a loaded 2-core CI machine (tests run in parallel).
    request = dataclasses.replace(request, deadline_seconds=2.0)

    started = time.monotonic()
    async with h.client() as client:
        output = await Crawler(client, request).crawl()

    failed = {(o.scope, o.kind): o for o in output.outcomes if not o.ok}
    assert time.monotonic() - started < 6
    assert set(failed) == {(a, kind) for kind in KINDS}
    assert {o.error_class for o in failed.values()} == {"CrawlDeadlineError"}
    assert output.inventory is not None
    assert not any(output.inventory.part_of[key][0] == a for key in output.inventory.part_of)
    assert sum(1 for o in output.outcomes if o.ok) == len(output.outcomes) - len(KINDS)


PAGE_FAULTS = [
    pytest.param(PageFault(path=SEARCH, mode="repeat_continue"), "ProtocolError", id="repeated-continue"),
    pytest.param(PageFault(path=SEARCH, mode="items_null"), "ProtocolError", id="items-null"),
    pytest.param(PageFault(path=SEARCH, mode="truncate"), "ProtocolError", id="half-a-page"),
    pytest.param(MalformedFault(path=SEARCH, mode="truncate"), "ProtocolError", id="cut-body"),
    pytest.param(MalformedFault(path=SEARCH, mode="garble"), "ProtocolError", id="garbled-body"),
]


@pytest.mark.parametrize(("fault", "error_class"), PAGE_FAULTS)
async def test_malformed_cluster_pages_fail_the_part_without_loss(
    harness: Harness, fault: Fault, error_class: str
) -> None:
    h = harness
    h.configure({"palette": {"pageSize": 2}})  # several pages per project
    await h.crawl()
    a = sorted(h.projects().values())[0]
    before = h.stored(a)
    h.sim.dataset.delete("clusters", h.clusters_of(a)[0])  # must not be removed by a broken list
    h.fault(dataclasses.replace(fault, project_uid=a))

    started = time.monotonic()
    result = await h.crawl()

    failed = {key: o for key, o in h.outcomes().items() if not o.ok}
    broken = {key for key, o in failed.items() if o.error_class != DEPENDENCY}
    assert result.status == "partial" and time.monotonic() - started < 10
    assert (a, "clusters") in broken <= {(a, "clusters"), (a, "virtualClusters")}
    assert {failed[key].error_class for key in broken} == {error_class}
    assert {scope for scope, _ in failed} == {a}
    assert h.stored(a) == before


async def test_null_items_mid_list_fail_a_profile_part(harness: Harness) -> None:
    h = harness
    h.configure({"palette": {"pageSize": 2}})
    await h.crawl()
    a = sorted(h.projects().values())[0]
    before = h.stored(a)
    h.fault(PageFault(path="/v1/dashboard/clusterprofiles", mode="items_null", project_uid=a))

    await h.crawl()

    failed = {key: o.error_class for key, o in h.outcomes().items() if not o.ok}
    assert failed.pop((a, "clusterProfiles")) == "ProtocolError"
    # a's clusters name a's profile versions: building them now would drop those relations
    assert (a, "clusters") in failed and set(failed.values()) == {DEPENDENCY}
    assert {scope for scope, _ in failed} == {a}
    assert h.stored(a) == before


async def test_a_cancelled_crawl_leaves_the_snapshot_and_records_the_cancel(harness: Harness) -> None:
    h = harness
    await h.crawl()
    before, version = h.stored(), h.version()
    a, b = sorted(h.projects().values())[:2]
    h.sim.dataset.delete("clusters", h.clusters_of(b)[0])
    h.fault(HangFault(project_uid=a))

    task = asyncio.create_task(h.crawl())
    while h.sim.faults.hanging == 0:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    run = h.last_run()
    assert h.stored() == before and h.version() == version
    assert (run.status, run.error_class) == ("failed", "CrawlCancelledError")


async def test_a_failure_inside_the_commit_rolls_everything_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await h.crawl()
    before, version = h.stored(), h.version()
    first = h.last_run().id
    project = sorted(h.projects().values())[0]
    h.sim.dataset.delete("clusters", h.clusters_of(project)[0])
    h.sim.dataset.patch("clusters", h.clusters_of(project)[0], {"status": {"state": "Error"}})
    from ingestor.store import writer

    calls: list[int] = []

    def explode(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        raise RuntimeError(f"disk full while writing {h.env.api_token.get_secret_value()}")

    with monkeypatch.context() as patch:
        patch.setattr(writer, "apply_edges", explode)  # runs inside the transaction, after the entities
        result = await h.crawl()

    run = h.last_run()
    assert calls and result.status == "failed"
    assert (run.status, run.error_class) == ("failed", "RuntimeError")
    assert h.env.api_token.get_secret_value() not in (run.error_message or "")
    assert h.stored() == before and h.version() == version
    assert queries.changes(h.db, INSTANCE, after_run=first) == []
    healed = await h.crawl()
    assert (healed.status, healed.removed) == ("ok", 1) and healed.modified >= 1
    assert state_of(h, h.clusters_of(project)[0]) == "Error"
