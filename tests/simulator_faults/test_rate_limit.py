"""The per-prefix limiter: prefix resolution, bucket sizes, a throttled client vs a burst, 429 bodies."""

from __future__ import annotations

import random

import httpx
import pytest

from ingestor.palette.options import DEFAULT_FALLBACK_RATE_LIMIT, DEFAULT_RATE_LIMITS, RateLimit
from ingestor.simulator.ratelimit import PrefixTable, RateLimiter, palette_max_with_burst

from .conftest import FakeClock, Sim

TABLE = PrefixTable(DEFAULT_RATE_LIMITS, DEFAULT_FALLBACK_RATE_LIMIT)


@pytest.mark.parametrize(
    ("path", "prefix"),
    [
        ("/v1/dashboard/spectroclusters/search", "/v1/dashboard"),
        ("/v1/dashboard/projects", "/v1/dashboard"),
        ("/v1/spectroclusters/abc", "/v1/spectroclusters"),
        ("/v1/spectroclusters/abc/assets/kubeconfig", "/v1/spectroclusters/:uid/assets"),
        ("/v1/spectroclusters/abc/assets", "/v1/spectroclusters/:uid/assets"),
        ("/v1/spectroclusters/abc/profiles", "/v1/spectroclusters/:uid/profiles"),
        ("/v1/spectroclusters/assets", "/v1/spectroclusters"),  # no uid segment
        ("/v1/spectroclusters/a/b/assets", "/v1/spectroclusters"),  # :uid is exactly one segment
        ("/v1/clusterprofiles/macros", "/v1/clusterprofiles"),
        ("/v1/dashboardx/items", "/v1/dashboardx"),  # segments, not string prefixes
        ("/v1/unknown/thing/1", "/v1/unknown"),
    ],
)
def test_prefix_resolution(path: str, prefix: str) -> None:
    resolved = TABLE.resolve(path)
    assert resolved is not None
    assert resolved[0] == prefix
    expected = DEFAULT_RATE_LIMITS.get(prefix, DEFAULT_FALLBACK_RATE_LIMIT)
    assert resolved[1] == expected


@pytest.mark.parametrize("path", ["/", "/healthz", "/__sim/faults", "/v2/dashboard"])
def test_paths_outside_v1_are_not_limited(path: str) -> None:
    assert TABLE.resolve(path) is None
    limiter = RateLimiter(clock=FakeClock())
    assert all(limiter.check(path, "c").allowed for _ in range(500))


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with /v1/"):
        PrefixTable({"dashboard": RateLimit(1, 1)}, DEFAULT_FALLBACK_RATE_LIMIT)


def _client_schedule(limit: RateLimit, count: int, rng: random.Random) -> list[float]:
    """Send times of a client that throttles itself with capacity ``burst`` at ``rate`` (plus idle gaps)."""
    tokens, now, times = float(limit.burst), 0.0, []
    for _ in range(count):
        if rng.random() < 0.1:  # sometimes idle, refilling the client's bucket
            gap = rng.uniform(0, 2)
            now += gap
            tokens = min(limit.burst, tokens + gap * limit.rate)
        if tokens < 1:
            wait = (1 - tokens) / limit.rate
            now += wait
            tokens += wait * limit.rate
        tokens -= 1
        times.append(now)
    return times


@pytest.mark.parametrize("prefix", sorted(DEFAULT_RATE_LIMITS))
def test_a_throttled_client_is_never_refused(prefix: str) -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    path = prefix.replace(":uid", "0123456789abcdef01234567") + "/x"
    start = clock.now
    for at in _client_schedule(DEFAULT_RATE_LIMITS[prefix], 400, random.Random(prefix)):
        clock.now = start + at
        assert limiter.check(path, "client").allowed, f"refused at t={at:.3f}"
    assert limiter.stats()["prefixes"][prefix] == {"requests": 400, "limited": 0}


def test_a_client_ignoring_limits_is_refused() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    # Twice the allowed rate for 3 s: the bucket (15) plus the refill (10/s) get through, no more.
    results = []
    for _ in range(60):
        results.append(limiter.check("/v1/dashboard/projects", "c").allowed)
        clock.advance(0.05)
    expected_allowed = 15 + 10 * 59 * 0.05
    assert abs(results.count(True) - expected_allowed) <= 1
    assert results[:15] == [True] * 15


def test_bucket_size_is_configurable() -> None:
    clock = FakeClock()
    palette = RateLimiter(clock=clock, capacity=palette_max_with_burst)
    default = RateLimiter(clock=clock)
    assert sum(palette.check("/v1/projects", "c").allowed for _ in range(80)) == 50
    assert sum(default.check("/v1/projects", "c").allowed for _ in range(80)) == 15


def test_buckets_are_per_client_host() -> None:
    limiter = RateLimiter(clock=FakeClock())
    assert sum(limiter.check("/v1/projects", "a").allowed for _ in range(20)) == 15
    assert sum(limiter.check("/v1/projects", "b").allowed for _ in range(20)) == 15


def test_refill_follows_the_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    while limiter.check("/v1/users", "c").allowed:
        pass
    denied = limiter.check("/v1/users", "c")
    assert not denied.allowed and denied.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    assert limiter.check("/v1/users", "c").allowed
    assert not limiter.check("/v1/users", "c").allowed


async def test_burst_over_http_gets_429_with_v1error(sim: Sim) -> None:
    sim.configure(enabled=True)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        responses = [await client.get("/v1/dashboard/projects") for _ in range(20)]
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 15 + [429] * 5
    refused = responses[-1]
    assert refused.json() == {
        "code": "TooManyRequests",
        "message": "Too Many Requests, [GET] /v1/dashboard/projects",
    }
    assert "retry-after" not in refused.headers  # Palette documents none
    assert sim.hits.count("/v1/dashboard/projects") == 15
    assert sim.limiter.stats()["prefixes"]["/v1/dashboard"] == {"requests": 20, "limited": 5}


async def test_sub_paths_share_a_bucket_and_prefixes_do_not(sim: Sim) -> None:
    sim.configure(enabled=True)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        for i in range(15):
            path = "/v1/dashboard/spectroclusters/search" if i % 2 else "/v1/dashboard/projects"
            assert (await client.post(path)).status_code == 200
        assert (await client.get("/v1/dashboard/clusterprofiles")).status_code == 429
        assert (await client.get("/v1/projects")).status_code == 200
        assert (await client.get("/v1/spectroclusters/abc")).status_code == 200


async def test_kubeconfig_prefix_shares_one_bucket_across_uids(sim: Sim) -> None:
    sim.configure(enabled=True)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        for i in range(15):
            response = await client.get(f"/v1/spectroclusters/uid{i}/assets/kubeconfig")
            assert response.status_code == 200
        assert (await client.get("/v1/spectroclusters/other/assets/adminKubeconfig")).status_code == 429
        # The parent prefix and the profiles prefix have their own (larger) buckets.
        assert (await client.get("/v1/spectroclusters/uid1")).status_code == 200
        assert (await client.get("/v1/spectroclusters/uid1/profiles")).status_code == 200
    prefixes = sim.limiter.stats()["prefixes"]
    assert prefixes["/v1/spectroclusters/:uid/assets"] == {"requests": 16, "limited": 1}
    assert prefixes["/v1/spectroclusters"]["limited"] == 0


async def test_throttled_client_over_http_sees_no_429(sim: Sim) -> None:
    sim.configure(enabled=True)
    limit = DEFAULT_RATE_LIMITS["/v1/dashboard"]
    start = sim.clock.now
    async with httpx.AsyncClient(base_url=sim.url) as client:
        for at in _client_schedule(limit, 60, random.Random(1)):
            sim.clock.now = start + at
            assert (await client.get("/v1/dashboard/projects")).status_code == 200


async def test_retry_after_is_switchable(sim: Sim) -> None:
    sim.configure(enabled=True, retry_after=True)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        responses = [await client.get("/v1/users") for _ in range(16)]
    assert responses[-1].status_code == 429
    assert responses[-1].headers["retry-after"] == "1"
    assert "retry-after" not in responses[0].headers


async def test_disabled_limiter_counts_but_never_refuses(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        statuses = {(await client.get("/v1/projects")).status_code for _ in range(30)}
        assert statuses == {200}
        sim.limiter.enabled = True  # switchable at run time
        statuses = {(await client.get("/v1/projects")).status_code for _ in range(20)}
    assert statuses == {200, 429}
    assert sim.limiter.stats()["prefixes"]["/v1/projects"] == {"requests": 50, "limited": 5}


async def test_admin_routes_are_not_limited(sim: Sim) -> None:
    sim.configure(enabled=True)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        statuses = {(await client.get("/__sim/ratelimit")).status_code for _ in range(40)}
    assert statuses == {200}
