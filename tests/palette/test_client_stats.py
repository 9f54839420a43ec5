"""Per-endpoint counters: calls, attempts, retries, 429s, errors, latency; thread safety."""

from __future__ import annotations

import threading

import pytest

from ingestor.palette.errors import NotFoundError
from ingestor.palette.stats import ClientStats

from .stub import ClientFactory, PaletteStub, Reply, sequence, v1_error

SUMMARY = {"metadata": {"uid": "c1"}, "spec": {}, "status": {}}


async def test_counters_per_endpoint_template(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = sequence(
        v1_error(429, "TooManyRequests", "x"),
        Reply(200, SUMMARY),
        Reply(200, SUMMARY),
        v1_error(404, "ResourceNotFound", "gone"),
    )
    client = make_client()
    await client.get_cluster_summary("a")
    await client.get_cluster_summary("b")
    with pytest.raises(NotFoundError):
        await client.get_cluster("c")
    snap = client.stats.snapshot()
    assert set(snap) == {"GET /v1/dashboard/spectroclusters/{uid}", "GET /v1/spectroclusters/{uid}"}
    dash = snap["GET /v1/dashboard/spectroclusters/{uid}"]
    assert (dash["calls"], dash["attempts"], dash["retries"], dash["rate_limited"], dash["errors"]) == (
        2,
        3,
        1,
        1,
        0,
    )
    assert dash["total_latency"] > 0 and dash["max_latency"] <= dash["total_latency"]
    assert dash["mean_latency"] == pytest.approx(dash["total_latency"] / 2)
    full = snap["GET /v1/spectroclusters/{uid}"]
    assert (full["calls"], full["errors"]) == (1, 1)
    totals = client.stats.totals()
    assert totals["calls"] == 3 and totals["errors"] == 1 and totals["rate_limited"] == 1
    client.stats.reset()
    assert client.stats.snapshot() == {}


def test_counters_are_thread_safe() -> None:
    stats = ClientStats()

    def work() -> None:
        for _ in range(2000):
            stats.attempt("GET", "/v1/x", status=429)
            stats.retry("GET", "/v1/x")
            stats.call("GET", "/v1/x", duration=0.001, failed=False)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = stats.snapshot()["GET /v1/x"]
    assert snap["attempts"] == snap["retries"] == snap["calls"] == snap["rate_limited"] == 16_000
