"""The client-side limiter: token buckets on a fake clock, prefix matching, and spreading on the wire."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import Any

import pytest

from ingestor.palette.options import DEFAULT_RATE_LIMITS, ClientOptions, RateLimit
from ingestor.palette.ratelimit import RateLimiter, TokenBucket

from .stub import ClientFactory, PaletteStub, Reply, Seen, fast_options

SUMMARY = {"metadata": {"uid": "c1"}, "spec": {}, "status": {"state": "Running"}}


class FakeClock:
    """Time moves only through ``advance``; sleepers wake in time order."""

    def __init__(self) -> None:
        self.now = 0.0
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await _settle()
        while self._sleepers and self._sleepers[0][0] <= target + 1e-12:
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():
                future.set_result(None)
            await _settle()
        self.now = target


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_bucket_burst_then_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert [bucket.reserve() for _ in range(5)] == [0.0] * 5
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)


async def test_bucket_refills_up_to_capacity_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    for _ in range(5):
        bucket.reserve()
    clock.now += 0.3
    assert bucket.available == pytest.approx(3)
    clock.now += 100
    assert bucket.available == pytest.approx(5)


async def test_bucket_is_fifo_and_spaced_by_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=1, clock=clock)
    done: list[tuple[int, float]] = []

    async def worker(i: int) -> None:
        await bucket.acquire()
        done.append((i, clock.now))

    tasks = [asyncio.create_task(worker(i)) for i in range(6)]
    await _settle()
    assert done == [(0, 0.0)]
    await clock.advance(3.0)
    await asyncio.gather(*tasks)
    assert [i for i, _ in done] == list(range(6))
    assert [t for _, t in done] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


async def test_cancelled_waiter_returns_its_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    await bucket.acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await _settle()
    assert bucket.available == pytest.approx(-1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.available == pytest.approx(0)
    assert bucket.reserve() == pytest.approx(1.0)


def test_bucket_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0)


@pytest.mark.parametrize(
    ("path", "prefix"),
    [
        ("/v1/dashboard/spectroclusters/search", "/v1/dashboard"),
        ("/v1/dashboard/spectroclusters/{uid}", "/v1/dashboard"),
        ("/v1/dashboard/clusterprofiles", "/v1/dashboard"),
        ("/v1/spectroclusters/{uid}", "/v1/spectroclusters"),
        ("/v1/spectroclusters/abc123/assets/kubeconfig", "/v1/spectroclusters/:uid/assets"),
        ("/v1/spectroclusters/{uid}/assets/adminKubeconfig", "/v1/spectroclusters/:uid/assets"),
        ("/v1/spectroclusters/{uid}/profiles", "/v1/spectroclusters/:uid/profiles"),
        ("/v1/spectroclusters/{uid}/pack/manifests/{manifestUid}", "/v1/spectroclusters"),
        ("/v1/spectroclusters/eks", "/v1/spectroclusters"),
        ("/v1/clusterprofiles/macros", "/v1/clusterprofiles"),
        ("/v1/clusterprofiles/{uid}/packs", "/v1/clusterprofiles"),
        ("/v1/users/assets/sshkeys", "/v1/users"),
        ("/v1/clustergroups/hostCluster", "/v1/clustergroups"),
        ("/v1/tags/filters", "/v1/tags (fallback)"),
    ],
)
def test_longest_prefix_wins(path: str, prefix: str) -> None:
    limiter = RateLimiter(DEFAULT_RATE_LIMITS)
    assert limiter.bucket_key(path) == prefix


def test_literal_beats_uid_segment_of_equal_length() -> None:
    limits = {"/v1/x/:uid/y": RateLimit(1, 1), "/v1/x/special/y": RateLimit(2, 2)}
    limiter = RateLimiter(limits)
    assert limiter.bucket_key("/v1/x/special/y/z") == "/v1/x/special/y"
    assert limiter.bucket_key("/v1/x/other/y") == "/v1/x/:uid/y"


def test_sub_paths_share_one_bucket() -> None:
    limiter = RateLimiter(DEFAULT_RATE_LIMITS)
    assert limiter.bucket("/v1/dashboard/projects") is limiter.bucket("/v1/dashboard/spectroclusters/meta")
    a = limiter.bucket("/v1/spectroclusters/a/assets/kubeconfig")
    assert a is limiter.bucket("/v1/spectroclusters/b/assets/frpKubeconfig")
    assert a is not limiter.bucket("/v1/spectroclusters/a")
    assert (a.rate, a.burst) == (10, 5)
    assert (limiter.bucket("/v1/spectroclusters/a").rate, limiter.bucket("/v1/tags").rate) == (50, 10)


async def test_disabled_limiter_never_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"/v1/x": RateLimit(1, 1)}, enabled=False, clock=clock)
    for _ in range(20):
        async with limiter.slot("/v1/x/y") as waited:
            assert waited == 0.0


async def test_concurrency_cap() -> None:
    limiter = RateLimiter(enabled=False, max_concurrency=2)
    active = peak = 0

    async def work() -> None:
        nonlocal active, peak
        async with limiter.slot("/v1/x"):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    await asyncio.gather(*(work() for _ in range(8)))
    assert peak == 2


async def test_burst_is_spread_out_on_the_wire(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    options = fast_options(rate_limits_enabled=True, rate_limits={"/v1/dashboard": RateLimit(20, 2)})
    client = make_client(options=options)
    await asyncio.gather(*(client.get_cluster_summary(f"c{i}") for i in range(12)))
    times = sorted(s.at for s in stub.seen)
    assert times[-1] - times[0] >= (12 - 2) / 20 * 0.9
    # At most burst + rate * window requests in any window.
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start < 0.25)
        assert in_window <= 2 + 20 * 0.25 + 1
    throttled = client.stats.snapshot()["GET /v1/dashboard/spectroclusters/{uid}"]["throttled_seconds"]
    assert throttled > 0


class EnforcingServer:
    """Server-side buckets as Palette documents them (capacity rate + burst, refill at rate)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.buckets: dict[str, TokenBucket] = {}
        self.refused = 0

    def __call__(self, seen: Seen) -> Reply:
        key = self.limiter.bucket_key(seen.raw_path)
        limit = self.limiter._limits.get(key, self.limiter._fallback)
        bucket = self.buckets.setdefault(key, TokenBucket(limit.rate, int(limit.rate + limit.burst)))
        if bucket.available < 1:
            self.refused += 1
            return Reply(429, {"code": "TooManyRequests", "message": "Too Many Requests"})
        bucket.reserve()
        return Reply(200, SUMMARY if "dashboard" in seen.raw_path else {"metadata": {"uid": "x"}})


async def test_throttled_crawl_never_provokes_429(stub: PaletteStub, make_client: ClientFactory) -> None:
    limits = {"/v1/dashboard": RateLimit(40, 5), "/v1/spectroclusters": RateLimit(80, 5)}
    options = ClientOptions(rate_limits=limits, max_concurrency=32)
    server = EnforcingServer(RateLimiter(limits))
    stub.handler = server
    client = make_client(options=options)
    calls: list[Awaitable[Any]] = [client.get_cluster_summary(f"c{i}") for i in range(40)]
    calls += [client.get_cluster(f"c{i}") for i in range(60)]
    await asyncio.gather(*calls)
    assert server.refused == 0
    assert len(stub.seen) == 100
    assert sum(v["rate_limited"] for v in client.stats.snapshot().values()) == 0


async def test_unthrottled_client_does_provoke_429(stub: PaletteStub, make_client: ClientFactory) -> None:
    # The same server does refuse a client that ignores the limits, so the test above can fail.
    limits = {"/v1/dashboard": RateLimit(40, 5)}
    server = EnforcingServer(RateLimiter(limits))
    stub.handler = server
    client = make_client(option_overrides={"rate_limits": limits, "max_concurrency": 64})
    results = await asyncio.gather(
        *(client.get_cluster_summary(f"c{i}") for i in range(80)), return_exceptions=True
    )
    assert server.refused > 0 and len(results) == 80


def test_limiter_from_options() -> None:
    options = ClientOptions(rate_limits_enabled=False, max_concurrency=3)
    limiter = RateLimiter.from_options(options)
    assert limiter.enabled is False
    assert limiter.bucket_key("/v1/overlords/x") == "/v1/overlords"
