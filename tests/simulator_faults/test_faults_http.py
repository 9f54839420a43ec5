"""Each fault over a real socket: it fires where it should, not elsewhere, and the server stays healthy."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Literal

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from ingestor.simulator.faults import (
    ErrorFault,
    FaultState,
    HangFault,
    LatencyFault,
    MalformedFault,
    OutageFault,
    PageFault,
    ResetFault,
    StormFault,
)
from ingestor.simulator.ratelimit import RateLimiter

from .conftest import Served, Sim, build_stack

FIRST_PAGE = {"items": [{"uid": "item-0"}, {"uid": "item-1"}, {"uid": "item-2"}]}


async def _poll(condition: object, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_latency_global_and_per_pattern(sim: Sim) -> None:
    sim.state.add(LatencyFault(ms=120))
    sim.state.add(LatencyFault(ms=80, path="/v1/items"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        began = time.monotonic()
        assert (await client.get("/v1/items")).status_code == 200
        assert time.monotonic() - began >= 0.19
        began = time.monotonic()
        assert (await client.get("/v1/other")).status_code == 200
        assert time.monotonic() - began >= 0.11
        assert (await client.get("/__sim/faults")).status_code == 200  # admin is never faulted
    assert sim.state.stats() == {"f1": 2, "f2": 1}


async def test_error_fires_on_its_pattern_only(sim: Sim) -> None:
    sim.state.add(ErrorFault(path="/v1/dashboard/*", status=502))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        failed = await client.post("/v1/dashboard/spectroclusters/search")
        fine = await client.get("/v1/spectroclusters/abc")
    assert failed.status_code == 502
    assert failed.json() == {
        "code": "BadGateway",
        "message": "Bad Gateway, [POST] /v1/dashboard/spectroclusters/search",
        "ref": "sim-fault-f1",
    }
    assert fine.status_code == 200
    assert sim.hits == ["/v1/spectroclusters/abc"]  # the failed call never reached the app


async def test_error_with_custom_code_and_filters(sim: Sim) -> None:
    sim.state.add(ErrorFault(status=500, code="Boom", message="custom", method="GET", project_uid="p1"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        by_header = await client.get("/v1/clusterprofiles", headers={"ProjectUID": "p1"})
        by_query = await client.get("/v1/clusterprofiles?ProjectUid=p1")
        by_lower_query = await client.get("/v1/clusterprofiles?projectUid=p1")
        other_project = await client.get("/v1/clusterprofiles", headers={"ProjectUid": "p2"})
        tenant_scope = await client.get("/v1/clusterprofiles")
        other_method = await client.post("/v1/clusterprofiles", headers={"ProjectUid": "p1"})
    for response in (by_header, by_query, by_lower_query):
        assert response.status_code == 500
        assert response.json()["code"] == "Boom" and response.json()["message"] == "custom"
    for response in (other_project, tenant_scope, other_method):
        assert response.status_code == 200


async def test_probability_is_reproducible_over_http(sim: Sim) -> None:
    async def run(seed: int) -> list[int]:
        sim.configure(seed=seed)
        sim.state.add(ErrorFault(status=503, probability=0.4))
        async with httpx.AsyncClient(base_url=sim.url) as client:
            return [(await client.get("/v1/projects")).status_code for _ in range(30)]

    first, again, other = await run(11), await run(11), await run(12)
    assert first == again
    assert first != other
    assert {200, 503} == set(first)


async def test_times_limits_firings(sim: Sim) -> None:
    sim.state.add(ErrorFault(status=504, times=2))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        statuses = [(await client.get("/v1/projects")).status_code for _ in range(4)]
    assert statuses == [504, 504, 200, 200]


async def test_storm_for_a_duration(sim: Sim) -> None:
    sim.state.add(StormFault(end=5))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        stormy = await client.get("/v1/spectroclusters/abc")
        sim.clock.advance(5)
        calm = await client.get("/v1/spectroclusters/abc")
    assert stormy.status_code == 429
    assert stormy.json() == {
        "code": "TooManyRequests",
        "message": "Too Many Requests, [GET] /v1/spectroclusters/abc",
    }
    assert "retry-after" not in stormy.headers
    assert calm.status_code == 200


async def test_storm_for_n_requests_with_retry_after(sim: Sim) -> None:
    sim.state.add(StormFault(times=3, retry_after=2))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        responses = [await client.get("/v1/users") for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    assert {r.headers.get("retry-after") for r in responses[:3]} == {"2"}


async def test_project_outage_window(sim: Sim) -> None:
    sim.state.add(OutageFault(project_uid="p1", start=5, end=10))
    headers = {"ProjectUid": "p1"}
    async with httpx.AsyncClient(base_url=sim.url) as client:
        before = await client.get("/v1/spectroclusters", headers=headers)
        sim.clock.advance(5)
        during = await client.get("/v1/spectroclusters", headers=headers)
        during_query = await client.post("/v1/dashboard/spectroclusters/search?projectUid=p1")
        other = await client.get("/v1/spectroclusters", headers={"ProjectUid": "p2"})
        tenant = await client.get("/v1/spectroclusters")
        sim.clock.advance(5)
        after = await client.get("/v1/spectroclusters", headers=headers)
    assert [r.status_code for r in (before, during, during_query, other, tenant, after)] == [
        200,
        503,
        503,
        200,
        200,
        200,
    ]
    assert during.json()["code"] == "ServiceUnavailable" and "p1" in during.json()["message"]


async def test_outage_until_cleared(sim: Sim) -> None:
    fault_id = sim.state.add(OutageFault(project_uid="p1"))
    async with httpx.AsyncClient(base_url=sim.url, headers={"ProjectUid": "p1"}) as client:
        sim.clock.advance(3600)
        assert (await client.get("/v1/clusterprofiles")).status_code == 503
        sim.state.remove(fault_id)
        assert (await client.get("/v1/clusterprofiles")).status_code == 200


@pytest.mark.parametrize("mode", ["truncate", "garble"])
async def test_malformed_body(sim: Sim, mode: Literal["truncate", "garble"]) -> None:
    sim.state.add(MalformedFault(path="/v1/items", mode=mode))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        bad = await client.get("/v1/items")
        good = await client.get("/v1/other")
    assert bad.status_code == 200
    assert bad.headers["content-type"] == "application/json"
    assert int(bad.headers["content-length"]) == len(bad.content)
    with pytest.raises(ValueError):
        json.loads(bad.content)
    original = b'{"items":[{"uid":"item-0"}'
    assert bad.content[:10] == original[:10]
    assert good.json() == {"path": "/v1/other"}
    assert sim.state.stats() == {"f1": 1}


async def test_malformed_turns_an_error_into_a_broken_200(sim: Sim) -> None:
    sim.state.add(MalformedFault(path="/v1/missing"))
    sim.state.add(ErrorFault(status=404, path="/v1/never"))  # a later answer does not mask the rewrite
    async with httpx.AsyncClient(base_url=sim.url) as client:
        response = await client.get("/v1/missing")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_page_items_null(sim: Sim) -> None:
    sim.state.add(PageFault(path="/v1/items", mode="items_null"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        page = (await client.get("/v1/items")).json()
        plain = (await client.get("/v1/other")).json()
    assert page == {"items": None, "listmeta": {"continue": "3", "count": 7, "limit": 3, "offset": 3}}
    assert plain == {"path": "/v1/other"}
    assert sim.state.stats() == {"f1": 1}  # the non-paged body was left alone and not counted


async def test_page_repeated_continue_token(sim: Sim) -> None:
    sim.state.add(PageFault(path="/v1/items", mode="repeat_continue"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        first = (await client.get("/v1/items")).json()
        second = (await client.get("/v1/items", params={"continue": first["listmeta"]["continue"]})).json()
    assert first["listmeta"]["continue"] == "3"  # no token in the request: untouched
    assert second["listmeta"]["continue"] == "3"  # the loop a client must detect
    assert [i["uid"] for i in second["items"]] == ["item-3", "item-4", "item-5"]
    assert sim.state.stats() == {"f1": 1}


async def test_page_truncated(sim: Sim) -> None:
    sim.state.add(PageFault(path="/v1/items", mode="truncate", times=1))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        cut = (await client.get("/v1/items")).json()
        whole = (await client.get("/v1/items")).json()
    assert cut["items"] == FIRST_PAGE["items"][:1]
    assert cut["listmeta"] == whole["listmeta"] == {"continue": "3", "count": 7, "limit": 3, "offset": 3}
    assert whole["items"] == FIRST_PAGE["items"]


async def test_reset_drops_the_connection_and_the_server_survives(sim: Sim) -> None:
    sim.state.add(ResetFault(path="/v1/cloudaccounts/*"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        with pytest.raises(httpx.ReadError):  # a TCP reset, not a truncated answer
            await client.get("/v1/cloudaccounts/aws")
        assert (await client.get("/v1/cloudaccounts")).status_code == 200
        with pytest.raises(httpx.ReadError):
            await client.get("/v1/cloudaccounts/vsphere")
    assert "/v1/cloudaccounts/aws" not in sim.hits


async def test_hang_does_not_block_other_requests(sim: Sim) -> None:
    sim.state.add(HangFault(path="/v1/slow"))
    async with httpx.AsyncClient(base_url=sim.url, timeout=5) as client:
        held = asyncio.create_task(client.get("/v1/slow"))
        await _poll(lambda: sim.state.hanging == 1)
        began = time.monotonic()
        for _ in range(5):
            assert (await client.get("/v1/other")).status_code == 200
        assert time.monotonic() - began < 1
        assert not held.done()
        sim.state.release_hangs()
        response = await asyncio.wait_for(held, 3)
    assert response.json() == {"path": "/v1/slow"}  # answered normally after the hold


async def test_timed_hang_then_answer_keeps_the_request_body(sim: Sim) -> None:
    sim.state.add(HangFault(path="/v1/echo", seconds=0.1))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        began = time.monotonic()
        response = await client.post("/v1/echo", json={"filter": {"name": "x" * 1000}})
    assert time.monotonic() - began >= 0.1
    assert response.json() == {"received": {"filter": {"name": "x" * 1000}}}


async def test_timed_hang_then_drop(sim: Sim) -> None:
    sim.state.add(HangFault(path="/v1/slow", seconds=0.05, then="drop"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        with pytest.raises(httpx.ReadError):
            await client.get("/v1/slow")
    assert "/v1/slow" not in sim.hits


async def test_hang_ends_when_the_client_gives_up(sim: Sim) -> None:
    sim.state.add(HangFault(path="/v1/slow"))
    async with httpx.AsyncClient(base_url=sim.url, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/v1/slow")
    await _poll(lambda: sim.state.hanging == 0)
    assert "/v1/slow" not in sim.hits


def _serve_with_hang(graceful: float | None = None) -> tuple[Served, FaultState]:
    state = FaultState([HangFault(path="/v1/slow")])
    return Served(build_stack([], state, RateLimiter(enabled=False)), graceful=graceful).start(), state


async def test_shutdown_releases_endless_hangs() -> None:
    served, state = _serve_with_hang()
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as client:
        held = asyncio.create_task(client.get("/v1/slow"))
        await _poll(lambda: state.hanging == 1)

        def stop() -> float:
            state.release_hangs()  # what the simulator's server does when told to exit
            return served.stop()

        took = await asyncio.to_thread(stop)
        response = await asyncio.wait_for(held, 3)
    assert took < 3
    assert response.status_code == 200


async def test_graceful_timeout_cancels_unreleased_hangs() -> None:
    served, state = _serve_with_hang(graceful=0.2)
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as client:
        held = asyncio.create_task(client.get("/v1/slow"))
        await _poll(lambda: state.hanging == 1)
        took = await asyncio.to_thread(served.stop)
        outcome = await asyncio.wait_for(asyncio.gather(held, return_exceptions=True), 3)
    assert took < 3
    assert state.hanging == 0
    result = outcome[0]
    assert isinstance(result, httpx.TransportError) or (
        isinstance(result, httpx.Response) and result.status_code == 500
    )


async def test_reset_falls_back_to_a_truncated_answer_when_the_transport_is_hidden() -> None:
    state = FaultState([ResetFault(path="/v1/r")])
    inner = build_stack([], state, RateLimiter(enabled=False))

    async def hiding(scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped() -> Message:
            return await receive()

        await inner(scope, wrapped, send)

    served = Served(hiding).start()
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/v1/r")
            assert (await client.get("/v1/ok")).status_code == 200
    finally:
        served.stop()
