"""Status, crawl trigger (auth), probes and the error shape, over a real socket."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import yaml
from fastapi import FastAPI

from ingestor.api.errors import NotReadyError, install_error_handlers
from ingestor.errors import RetriableError
from ingestor.logging import configure_logging
from ingestor.simulator.server import SimulatorServer
from ingestor.store import queries
from tests.api.conftest import (
    OTHER_SIM_KEY,
    SIM_KEY,
    TRIGGER_TOKEN,
    GatedCrawl,
    ServiceFactory,
    environment,
    make_settings,
    serve_app,
    wait_for,
    wait_ready,
)

AUTH = {"Authorization": f"Bearer {TRIGGER_TOKEN}"}


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    configure_logging("warning", "console")


def _instance(url: str, name: str) -> dict[str, object]:
    response = httpx.get(url + "/status", params={"instance": name}, headers=AUTH)
    assert response.status_code == 200
    data: dict[str, object] = response.json()["instances"][0]
    return data


def test_status_after_a_crawl(sim: SimulatorServer, database_url: str, start_service: ServiceFactory) -> None:
    server = start_service(make_settings(database_url, [environment("main", sim.url)]))
    wait_ready(server)
    status = httpx.get(server.url + "/status", headers=AUTH).json()
    assert status["service"]["replica"] == server.service.scheduler.replica_id
    (main,) = status["instances"]
    assert main["name"] == "main" and main["snapshot"]["present"] is True
    run = main["lastRun"]
    assert run["status"] == "ok" and run["trigger"] == "start" and run["error"] is None
    assert run["startedAt"] <= run["finishedAt"] and run["durationSeconds"] > 0
    assert run["apiCalls"] > 0 and run["retries"] == 0 and run["rateLimited"] == 0
    assert run["replica"] == status["service"]["replica"]
    served = yaml.safe_load_all(httpx.get(server.url + "/catalog/entities.yaml").text)
    kinds = Counter(d["spec"]["type"].removeprefix("spectrocloud-") for d in served if d)
    assert run["counts"] == dict(kinds)
    assert main["nextRunAt"] is not None and main["crawling"] is False and main["leaseHolder"] is None
    scopes = main["projects"]
    assert scopes[0]["name"] == "(tenant)" and all(s["ok"] for s in scopes)
    project_names = {
        d["metadata"]["title"]
        for d in yaml.safe_load_all(
            httpx.get(server.url + "/catalog/entities.yaml", params={"kind": "System"}).text
        )
        if d
    }
    assert {s["name"] for s in scopes[1:]} == project_names
    assert {p["kind"] for p in scopes[1]["parts"]} >= {"clusters", "clusterProfiles"}
    assert main["heldRemovals"] == [] and main["recentRuns"][0]["id"] == run["id"]


def test_status_of_a_failing_instance_is_sanitized(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory, log_stream: io.StringIO
) -> None:
    settings = make_settings(sqlite_url, [environment("bad", sim.url, OTHER_SIM_KEY)])
    server = start_service(settings)
    wait_for(lambda: _instance(server.url, "bad")["lastRun"] is not None, what="the failed run")
    bad = _instance(server.url, "bad")
    run = bad["lastRun"]
    assert isinstance(run, dict) and run["status"] == "failed" and run["error"]["class"]
    assert bad["snapshot"] == {
        "present": False,
        "version": 0,
        "lastSuccessAt": None,
        "lastSuccessRunId": None,
    }
    text = httpx.get(server.url + "/status", headers=AUTH).text
    for secret in (OTHER_SIM_KEY, SIM_KEY, TRIGGER_TOKEN):
        assert secret not in text
    httpx.post(server.url + "/status/crawl", headers={"Authorization": "Bearer wrong-token-value-123"})
    httpx.post(server.url + "/status/crawl", params={"instance": "bad"}, headers=AUTH)
    wait_for(lambda: not server.service.scheduler.running("bad"), what="the triggered crawl")
    logs = log_stream.getvalue()
    assert "crawl" in logs
    for secret in (OTHER_SIM_KEY, TRIGGER_TOKEN, "wrong-token-value-123"):
        assert secret not in logs


def test_status_while_crawling_names_the_lease_holder(
    sim: SimulatorServer, database_url: str, start_service: ServiceFactory
) -> None:
    crawl = GatedCrawl()
    server = start_service(make_settings(database_url, [environment("main", sim.url)]), crawl=crawl)
    wait_for(lambda: bool(crawl.calls), what="the start-up crawl")
    main = _instance(server.url, "main")
    assert main["crawling"] is True and main["leaseHolder"] == server.service.scheduler.replica_id
    crawl.open()
    wait_ready(server)
    assert _instance(server.url, "main")["leaseHolder"] is None


def test_crawl_trigger_needs_a_token(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    crawl = GatedCrawl(opened=True)
    settings = make_settings(sqlite_url, [environment("main", sim.url)], scheduler={"runOnStart": False})
    server = start_service(settings, crawl=crawl)
    url = server.url + "/status/crawl"
    missing = httpx.post(url, params={"instance": "main"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "error" in missing.json()
    for header in ("Bearer not-the-token-xyz", f"Basic {TRIGGER_TOKEN}", "Bearer"):
        assert (
            httpx.post(url, params={"instance": "main"}, headers={"Authorization": header}).status_code == 401
        )
    assert crawl.calls == []
    assert httpx.post(url, params={"instance": "nope"}, headers=AUTH).status_code == 404
    reading = httpx.get(server.url + "/status")
    assert reading.status_code == 401 and set(reading.json()) == {"error"}
    assert httpx.get(server.url + "/status", headers=AUTH).status_code == 200

    crawl.gate.clear()
    started = httpx.post(url, params={"instance": "main"}, headers=AUTH)
    assert started.status_code == 202
    assert started.json()["crawls"] == [
        {"instance": "main", "state": "started", "holder": server.service.scheduler.replica_id}
    ]
    again = httpx.post(url, params={"instance": "main"}, headers=AUTH)
    assert again.status_code == 202 and again.json()["crawls"][0]["state"] == "running"
    crawl.open()
    wait_ready(server)
    assert crawl.calls == ["main"]


def test_allow_unauthenticated_lets_callers_through_loudly(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory, log_stream: io.StringIO
) -> None:
    settings = make_settings(
        sqlite_url,
        [environment("main", sim.url)],
        scheduler={"runOnStart": False},
        auth={"allowUnauthenticated": True, "externalAccess": []},
    )
    server = start_service(settings, crawl=GatedCrawl(opened=True))
    assert "auth.unauthenticated_access_enabled" in log_stream.getvalue()
    response = httpx.post(server.url + "/status/crawl")
    assert response.status_code == 202 and response.json()["triggeredBy"] == "anonymous"
    wait_ready(server)


def test_health_and_ready(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawl = GatedCrawl()
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]), crawl=crawl)
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    not_yet = httpx.get(server.url + "/ready")
    assert not_yet.status_code == 503 and not_yet.json()["snapshots"] == {"main": False}
    crawl.open()
    wait_ready(server)
    ready = httpx.get(server.url + "/ready")
    assert ready.status_code == 200 and ready.json()["snapshots"] == {"main": True}

    def down(db: object) -> bool:
        raise OSError("connection refused")

    monkeypatch.setattr(queries, "ping", down)
    unreachable = httpx.get(server.url + "/ready")
    assert unreachable.status_code == 503 and unreachable.json()["database"] == "down"
    assert httpx.get(server.url + "/health").status_code == 200


def test_framework_errors_share_the_json_shape(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    server = start_service(
        make_settings(sqlite_url, [environment("main", sim.url)], scheduler={"enabled": False})
    )
    missing = httpx.get(server.url + "/no/such/route")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    wrong_method = httpx.delete(server.url + "/catalog/entities.yaml")
    assert wrong_method.status_code == 405 and set(wrong_method.json()) == {"error"}
    unknown = httpx.get(server.url + "/status", params={"instance": "nope"}, headers=AUTH)
    assert unknown.status_code == 404 and unknown.json() == {"error": "unknown instance 'nope'"}


def test_error_handler_maps_every_kind() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/number/{value}")
    async def number(value: int) -> dict[str, int]:
        return {"value": value}

    @app.get("/not-ready")
    async def not_ready() -> None:
        raise NotReadyError("later", retry_after=7)

    @app.get("/retriable")
    async def retriable() -> None:
        raise RetriableError("palette is down")

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError(f"secret {TRIGGER_TOKEN}")

    with serve_app(app) as url, httpx.Client(base_url=url) as client:
        invalid = client.get("/number/abc")
        assert invalid.status_code == 422 and invalid.json()["error"] == "invalid request"
        assert invalid.json()["problems"][0]["location"] == "path.value"
        later = client.get("/not-ready")
        assert later.status_code == 503 and later.headers["retry-after"] == "7"
        assert later.json() == {"error": "later"}
        assert client.get("/retriable").status_code == 503
        crash = client.get("/boom")
        assert crash.status_code == 500 and TRIGGER_TOKEN not in crash.text
        assert crash.json() == {"error": "internal error (see the service log)"}


def test_status_reports_what_the_mapping_flagged(
    fresh_sim: SimulatorServer, database_url: str, start_service: ServiceFactory
) -> None:
    """Two clusters whose names sanitize alike: both are served, and /status names the collision."""
    sim = fresh_sim
    admin = {"ApiKey": SIM_KEY}
    uids = httpx.get(sim.url + "/__sim/data/clusters", headers=admin).json()["uids"]
    records = [httpx.get(f"{sim.url}/__sim/data/clusters/{u}", headers=admin).json() for u in uids]
    by_project: dict[str, list[dict[str, object]]] = {}
    for record in records:
        meta = record.get("metadata", {})
        project = meta.get("annotations", {}).get("projectUid")
        cloud = record.get("spec", {}).get("cloudType")
        if project and cloud != "nested" and record.get("status", {}).get("state") == "Running":
            by_project.setdefault(project, []).append(record)
    first, second = next(group for group in by_project.values() if len(group) >= 2)[:2]
    twin_name = str(first["metadata"]["name"]).replace("-", "_") + "_"  # type: ignore[index]
    patched = httpx.patch(
        f"{sim.url}/__sim/data/clusters/{second['metadata']['uid']}",  # type: ignore[index]
        json={"metadata": {"name": twin_name}},
        headers=admin,
    )
    assert patched.status_code in (200, 204), patched.text
    server = start_service(make_settings(database_url, [environment("main", sim.url)]))
    wait_ready(server)
    (main,) = httpx.get(server.url + "/status", headers=AUTH).json()["instances"]
    flagged = [p for p in main["problems"] if p.get("key") == second["metadata"]["uid"]]  # type: ignore[index]
    assert flagged, main["problems"]
    assert flagged[0]["level"] == "info"
    served = httpx.get(server.url + "/catalog/entities.json", params={"instance": "main"}).json()["items"]
    names = {e["metadata"].get("title"): e["metadata"]["name"] for e in served}
    assert twin_name in names and first["metadata"]["name"] in names  # type: ignore[index]
    assert names[twin_name] == flagged[0]["name"] != names[first["metadata"]["name"]]  # type: ignore[index]
