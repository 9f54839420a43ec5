"""Retries, back-off, Retry-After, timeouts and the per-call deadline, against a real socket."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from structlog.testing import capture_logs

from ingestor.palette.errors import (
    PaletteTimeoutError,
    RateLimitedError,
    UnavailableError,
)
from ingestor.palette.options import RetryPolicy, Timeouts
from ingestor.palette.transport import parse_retry_after

from .stub import ClientFactory, PaletteStub, Reply, fast_options, free_port, sequence, v1_error

SUMMARY = {"metadata": {"uid": "c1", "name": "one"}, "spec": {}, "status": {"state": "Running"}}
CREATE_BODY = {"metadata": {"name": "x"}, "spec": {"cloudAccountUid": "a", "cloudConfig": {"region": "r"}}}
TEMPLATE = "GET /v1/dashboard/spectroclusters/{uid}"


class FlakyTransport(httpx.AsyncBaseTransport):
    """Raises the queued exceptions first, then passes requests to a real transport."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def gaps(stub: PaletteStub) -> list[float]:
    return [b.at - a.at for a, b in zip(stub.seen, stub.seen[1:], strict=False)]


async def test_429s_then_success(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = sequence(
        v1_error(429, "TooManyRequests", "slow down"),
        v1_error(429, "TooManyRequests", "again"),
        Reply(200, SUMMARY),
    )
    client = make_client()
    cluster = await client.get_cluster_summary("c1")
    assert cluster.uid == "c1"
    assert len(stub.seen) == 3
    counters = client.stats.snapshot()[TEMPLATE]
    assert counters["attempts"] == 3 and counters["retries"] == 2 and counters["rate_limited"] == 2
    assert counters["calls"] == 1 and counters["errors"] == 0


async def test_503_then_success_for_reads(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = sequence(
        Reply(503, {"code": "Unavailable"}), Reply(502, None), Reply(504, None), Reply(200, SUMMARY)
    )
    assert (await make_client().get_cluster_summary("c1")).uid == "c1"
    assert len(stub.seen) == 4


async def test_retries_stop_at_max_attempts(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: v1_error(503, "ServiceUnavailable", "down")
    client = make_client(option_overrides={"retry": RetryPolicy(max_attempts=3, backoff_initial=0.001)})
    with pytest.raises(UnavailableError) as info:
        await client.get_cluster_summary("c1")
    assert info.value.status == 503 and info.value.code == "ServiceUnavailable"
    assert info.value.attempts == 3
    assert len(stub.seen) == 3
    assert client.stats.snapshot()[TEMPLATE]["errors"] == 1


async def test_500_is_not_retried(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: v1_error(500, "InternalError", "boom")
    with pytest.raises(UnavailableError) as info:
        await make_client().get_cluster_summary("c1")
    assert info.value.status == 500 and info.value.attempts == 1
    assert len(stub.seen) == 1


async def test_create_is_not_retried_after_503(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = sequence(v1_error(503, "ServiceUnavailable", "down"), Reply(201, {"uid": "new"}))
    with pytest.raises(UnavailableError):
        await make_client().create_cluster("eks", CREATE_BODY, project_uid="p1")
    assert len(stub.seen) == 1


async def test_create_is_retried_after_429(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = sequence(v1_error(429, "TooManyRequests", "slow"), Reply(201, {"uid": "new-uid"}))
    assert await make_client().create_cluster("EKS", CREATE_BODY, project_uid="p1") == "new-uid"
    assert [s.raw_path for s in stub.seen] == ["/v1/spectroclusters/eks"] * 2
    assert stub.seen[0].json() == stub.seen[1].json() == CREATE_BODY


async def test_ssh_key_writes_are_not_retried_after_503(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: v1_error(503, "ServiceUnavailable", "down")
    client = make_client()
    for op in (
        client.create_ssh_key("k", "ssh-ed25519 AAAA"),
        client.update_ssh_key("u1", "k", "ssh-ed25519 AAAA"),
        client.delete_ssh_key("u1"),
    ):
        with pytest.raises(UnavailableError):
            await op
    assert [s.method for s in stub.seen] == ["POST", "PUT", "DELETE"]


async def test_create_is_retried_after_connect_error_but_not_after_read_timeout(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: Reply(201, {"uid": "made"})
    flaky = FlakyTransport(httpx.ConnectError("refused"))
    assert await make_client(transport=flaky).create_cluster("aws", CREATE_BODY) == "made"
    assert flaky.calls == 2 and len(stub.seen) == 1

    flaky = FlakyTransport(httpx.ReadTimeout("slow"))
    with pytest.raises(PaletteTimeoutError):
        await make_client(transport=flaky).create_cluster("aws", CREATE_BODY)
    assert flaky.calls == 1


async def test_read_errors_are_retried_for_reads(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    flaky = FlakyTransport(httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"))
    assert (await make_client(transport=flaky).get_cluster_summary("c1")).uid == "c1"
    assert flaky.calls == 3


async def test_connection_refused_is_retried_then_unavailable(make_client: ClientFactory) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(UnavailableError) as info:
        await client.get_cluster_summary("c1")
    assert "ConnectError" in str(info.value)
    counters = client.stats.snapshot()[TEMPLATE]
    assert counters["attempts"] == 4 and counters["retries"] == 3 and counters["errors"] == 1


async def test_backoff_is_exponential_with_jitter_and_capped(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: Reply(503, None)
    policy = RetryPolicy(max_attempts=6, backoff_initial=0.004, backoff_multiplier=2, backoff_max=0.02)
    client = make_client(option_overrides={"retry": policy})
    ceilings: list[tuple[float, float]] = []

    def take_ceiling(low: float, high: float) -> float:
        ceilings.append((low, high))
        return high

    client._requester._rng = take_ceiling
    with capture_logs() as logs, pytest.raises(UnavailableError):
        await client.get_cluster_summary("c1")
    assert ceilings == [(0.0, 0.004), (0.0, 0.008), (0.0, 0.016), (0.0, 0.02), (0.0, 0.02)]
    retries = [e for e in logs if e["event"] == "palette.retry"]
    assert [e["attempt"] for e in retries] == [1, 2, 3, 4, 5]
    assert all(e["path"] == "/v1/dashboard/spectroclusters/{uid}" and e["status"] == 503 for e in retries)
    assert [e["delay"] for e in retries] == [0.004, 0.008, 0.016, 0.02, 0.02]


async def test_retry_after_seconds_is_honoured_and_capped(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = sequence(
        v1_error(429, "TooManyRequests", "slow", headers={"Retry-After": "0.3"}),
        v1_error(429, "TooManyRequests", "slow", headers={"Retry-After": "120"}),
        Reply(200, SUMMARY),
    )
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.001, backoff_max=0.5)
    await make_client(option_overrides={"retry": policy}).get_cluster_summary("c1")
    first, second = gaps(stub)
    assert 0.28 <= first < 0.45  # Retry-After: 0.3 waited, not the 1 ms back-off
    assert 0.48 <= second < 0.8  # Retry-After: 120 capped by backoff_max


async def test_retry_after_http_date(stub: PaletteStub, make_client: ClientFactory) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    stub.handler = sequence(
        v1_error(429, "TooManyRequests", "slow", headers={"Retry-After": when}), Reply(200, SUMMARY)
    )
    policy = RetryPolicy(max_attempts=2, backoff_initial=0.001, backoff_max=0.3)
    await make_client(option_overrides={"retry": policy}).get_cluster_summary("c1")
    assert 0.28 <= gaps(stub)[0] < 0.6


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("0", now=now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 42, usegmt=True), now=now) == pytest.approx(
        42, abs=1
    )
    assert parse_retry_after(email.utils.formatdate(now - 42, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None


async def test_retry_after_beyond_deadline_gives_up_at_once(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: v1_error(429, "TooManyRequests", "slow", headers={"Retry-After": "20"})
    options = fast_options(
        retry=RetryPolicy(max_attempts=5, backoff_max=60), timeouts=Timeouts(read=2, total=1.0)
    )
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        await make_client(options=options).get_cluster_summary("c1")
    assert time.monotonic() - started < 0.5
    assert info.value.retry_after == 20 and info.value.status == 429 and info.value.retriable
    assert len(stub.seen) == 1


async def test_slow_response_times_out(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY, delay=0.6)
    options = fast_options(
        retry=RetryPolicy(max_attempts=2, backoff_initial=0.001), timeouts=Timeouts(read=0.1)
    )
    with pytest.raises(PaletteTimeoutError) as info:
        await make_client(options=options).get_cluster_summary("c1")
    assert info.value.retriable and "ReadTimeout" in str(info.value)
    assert len(stub.seen) == 2  # a read timeout on a GET is retried


async def test_overall_deadline_cuts_a_slow_call(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY, delay=1.0)
    options = fast_options(timeouts=Timeouts(read=5, total=0.25))
    started = time.monotonic()
    with pytest.raises(PaletteTimeoutError) as info:
        await make_client(options=options).get_cluster_summary("c1")
    assert time.monotonic() - started < 0.7
    assert "deadline" in str(info.value)


async def test_deadline_covers_retries(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(503, None, delay=0.05)
    options = fast_options(
        retry=RetryPolicy(max_attempts=100, backoff_initial=0.05, backoff_multiplier=1, backoff_max=0.05),
        timeouts=Timeouts(total=0.4),
    )
    started = time.monotonic()
    with pytest.raises(UnavailableError):
        await make_client(options=options).get_cluster_summary("c1")
    assert time.monotonic() - started < 0.8
    assert 2 <= len(stub.seen) < 20
