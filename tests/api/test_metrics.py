"""``GET /metrics`` over a real socket: crawls, Palette calls (429s included), entities against the store,
session lookups, HTTP requests by route template; no secret, user or uid in the exposition."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from ingestor.api.metrics import ServiceMetrics
from ingestor.api.server import BackgroundServer
from ingestor.api.session_repo import SqlSessionRepository
from ingestor.auth.sessions import SessionCipher, SessionVault, utcnow
from ingestor.scheduler import CrawlScheduler
from ingestor.serving import ThreadedServer
from ingestor.simulator.faults import StormFault
from ingestor.simulator.server import SimulatorServer
from ingestor.store import queries
from ingestor.store.db import Database
from tests.api.conftest import (
    SIM_KEY,
    TRIGGER_TOKEN,
    ServiceFactory,
    environment,
    make_settings,
    wait_for,
    wait_ready,
)
from tests.plugin.conftest import FakeBackstage
from tests.plugin.routes_table import load_samples

AUTH = {"Authorization": f"Bearer {TRIGGER_TOKEN}"}
SESSION_KEY = "metrics-test-session-encryption-key-0c7e1a"
JANE = "user:default/jane"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: BackgroundServer) -> tuple[str, Samples]:
    """The exposition text, and every sample by (name, labels)."""
    response = httpx.get(server.url + "/metrics", timeout=10)  # no Authorization: open like /health
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def select(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """Samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return {key: value for (n, key), value in samples.items() if n == name and wanted <= key}


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(select(samples, name, **labels).values())


def crawled_once(server: BackgroundServer) -> None:
    """Until the start-up crawl has been counted (the listener runs just after the commit)."""
    wait_ready(server)
    wait_for(lambda: total(scrape(server)[1], "ingestor_crawls_total") >= 1, 30, "the crawl's metrics")


def test_a_crawl_shows_in_the_metrics_as_the_store_has_it(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]))
    crawled_once(server)
    text, samples = scrape(server)

    assert select(samples, "ingestor_crawls_total") == {
        frozenset({("instance", "main"), ("trigger", "start"), ("outcome", "ok")}): 1.0
    }
    assert total(samples, "ingestor_crawl_duration_seconds_count", instance="main", trigger="start") == 1
    assert total(samples, "ingestor_crawl_duration_seconds_sum", instance="main") > 0

    db = server.service.db
    stored = Counter(row.palette_kind for row in queries.current_entities(db, "main").entities)
    shown = {dict(key)["kind"]: value for key, value in select(samples, "ingestor_entities").items()}
    assert shown == stored and sum(stored.values()) > 0
    state = queries.instance_state(db, "main")
    assert state is not None and state.last_success_at is not None
    last = samples[("ingestor_last_successful_crawl_timestamp_seconds", frozenset({("instance", "main")}))]
    assert last == pytest.approx(state.last_success_at.timestamp())
    assert select(samples, "ingestor_held_removals") == {frozenset({("instance", "main")}): 0.0}
    assert samples[("ingestor_store_up", frozenset())] == 1.0
    assert samples[("ingestor_crawl_in_progress", frozenset({("instance", "main")}))] == 0.0

    # Palette calls by endpoint template and status, as many as the run recorded.
    run = queries.last_run(db, "main")
    assert run is not None
    requests = select(samples, "ingestor_palette_requests_total", instance="main")
    endpoints = {(dict(k)["method"], dict(k)["endpoint"]) for k in requests}
    assert ("POST", "/v1/dashboard/projects") in endpoints
    assert ("POST", "/v1/dashboard/spectroclusters/search") in endpoints
    assert {dict(k)["status"] for k in requests} == {"200"}
    assert sum(requests.values()) == run.calls  # no retries: one exchange per call
    assert total(samples, "ingestor_palette_rate_limited_total") == 0
    assert SIM_KEY not in text and TRIGGER_TOKEN not in text


def test_a_429_is_counted_with_its_retry(
    fresh_sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    fresh_sim.faults.add(StormFault(path="/v1/dashboard/projects", times=1))
    server = start_service(make_settings(sqlite_url, [environment("main", fresh_sim.url)]))
    crawled_once(server)
    _, samples = scrape(server)

    projects = {"instance": "main", "endpoint": "/v1/dashboard/projects", "method": "POST"}
    assert total(samples, "ingestor_palette_requests_total", **projects, status="429") == 1
    assert total(samples, "ingestor_palette_requests_total", **projects, status="200") == 1
    assert total(samples, "ingestor_palette_rate_limited_total", instance="main") == 1
    assert total(samples, "ingestor_palette_retries_total", instance="main") == 1
    run = queries.last_run(server.service.db, "main")
    assert run is not None and run.status == "ok"
    assert (run.rate_limited, run.retries) == (1, 1)  # the run's own counters agree


def test_http_requests_are_counted_by_route_template(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]))
    crawled_once(server)
    cluster = load_samples(sim.url, SIM_KEY)
    uid, project = cluster["clusterUid"], cluster["clusterProjectUid"]

    live = httpx.get(
        f"{server.url}/api/spectrocloud/clusters/{uid}", params={"projectUid": project}, headers=AUTH
    )
    assert live.status_code == 200, live.text
    assert httpx.get(f"{server.url}/no/such/{uid}").status_code == 404
    assert httpx.get(server.url + "/health").status_code == 200
    httpx.get(server.url + "/metrics")
    text, samples = scrape(server)

    routes = {dict(k)["route"] for k in select(samples, "ingestor_http_requests_total")}
    assert "/api/spectrocloud/clusters/{clusterUid}" in routes
    assert {"/health", "/catalog/entities.yaml", "unmatched"} <= routes
    assert "/metrics" not in routes  # scrapes are not counted
    assert total(samples, "ingestor_http_requests_total", route="unmatched", status="404") == 1
    assert total(samples, "ingestor_http_requests_total", route="/health", method="GET", status="200") == 1
    assert (
        total(
            samples,
            "ingestor_http_request_duration_seconds_count",
            route="/api/spectrocloud/clusters/{clusterUid}",
        )
        == 1
    )
    # The live call went through the instance's shared client, whose calls are counted too.
    assert (
        total(samples, "ingestor_palette_requests_total", endpoint="/v1/dashboard/spectroclusters/{uid}") == 1
    )
    assert uid not in text and project not in text and "/no/such" not in text


def test_every_app_has_its_own_registry(
    sim: SimulatorServer, tmp_path: Any, start_service: ServiceFactory
) -> None:
    first = start_service(make_settings(f"sqlite:///{tmp_path / 'a.db'}", [environment("main", sim.url)]))
    second = start_service(make_settings(f"sqlite:///{tmp_path / 'b.db'}", [environment("main", sim.url)]))
    crawled_once(first)
    crawled_once(second)
    for server in (first, second):
        assert total(scrape(server)[1], "ingestor_crawls_total", instance="main") == 1


@pytest.fixture(scope="module")
def backstage() -> Iterator[FakeBackstage]:
    fake = FakeBackstage()
    server = ThreadedServer(
        uvicorn.Config(fake.app(), log_level="warning", access_log=False, lifespan="off"),
        host="127.0.0.1",
        port=0,
        name="fake backstage",
    )
    server.start(timeout=10.0)
    fake.url = server.url
    try:
        yield fake
    finally:
        server.stop(timeout=5.0)


def session_token(sim: SimulatorServer, login: str) -> str:
    """A simulator user's Palette session token."""
    headers = {"ApiKey": SIM_KEY}
    for uid in httpx.get(sim.url + "/__sim/data/users", headers=headers).json()["uids"]:
        user = httpx.get(f"{sim.url}/__sim/data/users/{uid}", headers=headers).json()
        if user["spec"]["emailId"].startswith(f"{login}@"):
            return str(user["sessionTokens"][0])
    raise AssertionError(f"no simulator user {login}")


def test_session_lookups_count_hits_and_misses(
    sim: SimulatorServer, backstage: FakeBackstage, sqlite_url: str, start_service: ServiceFactory
) -> None:
    settings = make_settings(
        sqlite_url,
        [environment("main", sim.url)],
        scheduler={"enabled": False, "runOnStart": False},
        auth={"backstage": {"baseUrl": backstage.url}, "sessions": {"encryptionKey": SESSION_KEY}},
    )
    server = start_service(settings)
    headers = {"Authorization": f"Bearer {backstage.mint(JANE)}"}
    url = server.url + "/api/spectrocloud/users/me/projects"

    assert httpx.get(url, headers=headers).status_code in (200, 401)  # no session stored: a miss
    _, samples = scrape(server)
    assert total(samples, "ingestor_session_lookups_total", result="miss") >= 1
    assert total(samples, "ingestor_session_lookups_total", result="hit") == 0

    token = session_token(sim, "dev1")
    db = Database(sqlite_url)  # another replica's vault on the same store and key
    try:
        asyncio.run(
            SessionVault(SqlSessionRepository(db), SessionCipher(SESSION_KEY)).put(JANE, "main", token)
        )
    finally:
        db.close()
    answer = httpx.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    text, samples = scrape(server)
    assert total(samples, "ingestor_session_lookups_total", result="hit") == 1
    assert token not in text and "jane" not in text and SESSION_KEY not in text


class _Repo:
    """An in-memory session repository (enough for ``get``, ``put`` and expiry)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Any] = {}

    async def save(self, session: Any) -> None:
        self.rows[(session.user_ref, session.instance)] = session

    async def load(self, user_ref: str, instance: str) -> Any:
        return self.rows.get((user_ref, instance))

    async def find_by_email_hash(self, instance: str, email_hash: str) -> Any:
        return next(
            (r for r in self.rows.values() if r.instance == instance and r.email_hash == email_hash), None
        )

    async def delete(self, user_ref: str, instance: str, *, updated_at: Any = None) -> bool:
        return self.rows.pop((user_ref, instance), None) is not None

    async def count(self) -> int:
        return len(self.rows)


async def test_the_vault_reports_hit_miss_and_expired() -> None:
    now = [utcnow()]
    vault = SessionVault(_Repo(), SessionCipher("k" * 32), clock=lambda: now[0])  # type: ignore[arg-type]
    heard: list[str] = []
    vault.add_observer(heard.append)
    await vault.put(JANE, "main", "opaque-session-token", email="jane@example.com")
    assert await vault.get(JANE, "main") == "opaque-session-token"
    assert await vault.get(JANE, "other") is None
    now[0] += timedelta(hours=2)  # past the default lifetime of a non-JWT token
    assert await vault.get_by_email("jane@example.com", "main") is None
    assert await vault.get(JANE, "main") is None
    assert heard == ["hit", "miss", "expired", "miss"]


class _DownDb:
    async def run(self, fn: Any, *args: Any) -> Any:
        raise OSError("store unreachable")


async def test_a_scrape_without_the_store_says_so(sqlite_url: str, sim: SimulatorServer) -> None:
    settings = make_settings(sqlite_url, [environment("main", sim.url)])
    scheduler = CrawlScheduler(settings, _DownDb())  # type: ignore[arg-type]
    metrics = ServiceMetrics(scheduler, _DownDb())  # type: ignore[arg-type]
    text = (await metrics.exposition()).decode()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("ingestor_store_up", frozenset())] == 0.0
    assert not select(samples, "ingestor_entities") and not select(samples, "ingestor_held_removals")
    assert samples[("ingestor_crawl_in_progress", frozenset({("instance", "main")}))] == 0.0
