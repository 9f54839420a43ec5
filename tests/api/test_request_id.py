"""Request ids and production logs: ``X-Request-ID`` echoed or made, on every log line of its request
(ours, the stdlib's, uvicorn's), never on a crawl's; JSON lines with timestamp, level, logger, event;
secrets masked."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import yaml

from ingestor.api.server import BackgroundServer, build_service
from ingestor.logging import configure_logging
from ingestor.serving import bind
from ingestor.simulator.server import SimulatorServer
from tests.api.conftest import SIM_KEY, TRIGGER_TOKEN, environment, make_settings, wait_for, wait_ready

ROOT = Path(__file__).resolve().parents[2]
GENERATED = re.compile(r"[0-9a-f]{32}")
AUTH = {"Authorization": f"Bearer {TRIGGER_TOKEN}"}


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    configure_logging("warning", "console")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def server(sim: SimulatorServer, sqlite_url: str) -> Iterator[BackgroundServer]:
    """The service with one extra route that logs through structlog and the stdlib, and echoes a secret."""
    service = build_service(
        make_settings(sqlite_url, [environment("main", sim.url)], scheduler={"runOnStart": False})
    )

    async def noisy() -> dict[str, str]:
        structlog.get_logger("tests.noisy").info("noisy.structlog", api_key=SIM_KEY)
        logging.getLogger("tests.noisy").warning("noisy.stdlib %s", SIM_KEY)
        return {"ok": "yes"}

    async def broken() -> None:
        raise RuntimeError("the handler broke")

    service.app.add_api_route("/test/noisy", noisy)
    service.app.add_api_route("/test/broken", broken)
    with BackgroundServer(service) as running:
        yield running


def test_a_sane_incoming_id_is_echoed(server: BackgroundServer) -> None:
    for rid in ("abc-123", "A.b_C-9", "x" * 64, "0af7651916cd43dd8448eb211c80319c"):
        response = httpx.get(server.url + "/health", headers={"X-Request-ID": rid})
        assert response.status_code == 200 and response.headers["X-Request-ID"] == rid


def test_an_id_is_made_when_none_or_a_bad_one_comes(server: BackgroundServer) -> None:
    seen = set()
    for bad in (None, "", "has space", "x" * 65, "semi;colon", 'quote"d', "slash/ed", "eyJ{}"):
        headers = {} if bad is None else {"X-Request-ID": bad}
        response = httpx.get(server.url + "/health", headers=headers)
        rid = response.headers["X-Request-ID"]
        assert GENERATED.fullmatch(rid), rid
        assert rid != bad
        seen.add(rid)
    assert len(seen) == 8  # a new one each time


def test_error_answers_carry_the_id_too(server: BackgroundServer) -> None:
    unauthorized = httpx.get(server.url + "/status", headers={"X-Request-ID": "req-401"})
    assert unauthorized.status_code == 401 and unauthorized.headers["X-Request-ID"] == "req-401"
    missing = httpx.get(server.url + "/nowhere", headers={"X-Request-ID": "req-404"})
    assert missing.status_code == 404 and missing.headers["X-Request-ID"] == "req-404"


def test_every_line_of_a_request_carries_its_id(server: BackgroundServer, log_stream: io.StringIO) -> None:
    for rid in ("first-request", "second-request"):
        response = httpx.get(server.url + "/test/noisy", headers={"X-Request-ID": rid})
        assert response.status_code == 200
    wait_for(lambda: sum(e["event"] == "http.request" for e in lines(log_stream)) >= 2, 5, "access lines")

    records = lines(log_stream)
    for rid in ("first-request", "second-request"):
        mine = [e for e in records if e.get("request_id") == rid]
        events = [e["event"] for e in mine]
        assert events[0] == "noisy.structlog" and events[-1] == "http.request"
        assert any(e["logger"] == "tests.noisy" and e["level"] == "warning" for e in mine)  # the stdlib line
        access = mine[-1]
        assert access["method"] == "GET" and access["route"] == "/test/noisy" and access["status"] == 200
        assert access["duration_ms"] >= 0 and access["level"] == "info"
    for event in records:
        assert list(event)[:4] == ["timestamp", "level", "logger", "event"]
        assert SIM_KEY not in json.dumps(event)
    noisy = [e for e in records if e["event"] == "noisy.structlog"]
    assert noisy and all(e["api_key"] == "***" for e in noisy)
    stdlib = [e for e in records if e["logger"] == "tests.noisy" and e["level"] == "warning"]
    assert stdlib and all(e["event"] == "noisy.stdlib ***" for e in stdlib)


def test_an_unexpected_error_is_logged_with_the_id(server: BackgroundServer, log_stream: io.StringIO) -> None:
    response = httpx.get(server.url + "/test/broken", headers={"X-Request-ID": "broken-1"})
    assert response.status_code == 500
    wait_for(lambda: any(e["event"] == "api.unexpected" for e in lines(log_stream)), 5, "the error line")
    mine = [e for e in lines(log_stream) if e.get("request_id") == "broken-1"]
    access = next(e for e in mine if e["event"] == "http.request")
    assert access["status"] == 500 and access["error_class"] == "RuntimeError"
    assert access["route"] == "/test/broken" and access["level"] == "info"
    assert any(e["event"] == "api.unexpected" and e["level"] == "error" for e in mine)
    _, samples = scrape_http(server)
    assert samples.get(("GET", "/test/broken", "500")) == 1


def scrape_http(server: BackgroundServer) -> tuple[str, dict[tuple[str, str, str], float]]:
    """``ingestor_http_requests_total`` by (method, route, status)."""
    text = httpx.get(server.url + "/metrics").text
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(
            r'ingestor_http_requests_total\{method="(\w+)",route="([^"]+)",status="(\d+)"\} (\S+)', line
        )
        if match:
            found[match.group(1, 2, 3)] = float(match.group(4))
    return text, found


def test_a_crawl_started_by_a_request_logs_without_its_id(
    server: BackgroundServer, log_stream: io.StringIO
) -> None:
    response = httpx.post(server.url + "/status/crawl", headers={**AUTH, "X-Request-ID": "trigger-1"})
    assert response.status_code == 202
    wait_ready(server)
    wait_for(lambda: any(e["event"] == "crawl.finished" for e in lines(log_stream)), 30, "the crawl")
    records = lines(log_stream)
    crawl = [e for e in records if str(e["event"]).startswith("crawl.")]
    assert crawl and all("request_id" not in e for e in crawl)
    assert any(e["event"] == "http.request" and e.get("request_id") == "trigger-1" for e in records)


def test_probes_and_scrapes_log_at_debug(server: BackgroundServer, log_stream: io.StringIO) -> None:
    configure_logging("info", "json", stream=log_stream)
    for path in ("/health", "/metrics", "/catalog/entities.yaml"):
        httpx.get(server.url + path)
    wait_for(lambda: any(e["event"] == "http.request" for e in lines(log_stream)), 5, "an access line")
    routes = [e["route"] for e in lines(log_stream) if e["event"] == "http.request"]
    assert routes == ["/catalog/entities.yaml"]


def test_console_lines_are_readable_and_carry_the_id(server: BackgroundServer) -> None:
    stream = io.StringIO()
    configure_logging("info", "console", stream=stream)
    try:
        httpx.get(server.url + "/test/noisy", headers={"X-Request-ID": "console-1"})
        wait_for(lambda: "http.request" in stream.getvalue(), 5, "the access line")
    finally:
        configure_logging("warning", "console")
    text = stream.getvalue()
    assert not text.lstrip().startswith("{") and "\x1b[" not in text  # not JSON, no colours off a TTY
    access = next(line for line in text.splitlines() if "http.request" in line)
    assert "request_id=console-1" in access and "route=/test/noisy" in access and "status=200" in access
    assert SIM_KEY not in text


def test_serve_writes_json_lines_with_request_ids(sim: SimulatorServer, tmp_path: Path) -> None:
    """``ingestor serve`` with stderr not a terminal (``logging.format: auto``): every line is JSON."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    config = {
        "spectrocloud": {"environments": [environment("main", sim.url, "${SIM_KEY}")]},
        "database": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "server": {"host": "127.0.0.1", "port": port},
        "scheduler": {"jitterSeconds": 0},
        "auth": {
            "externalAccess": [{"type": "static", "options": {"token": "${TRIGGER}", "subject": "cli"}}]
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log = tmp_path / "serve.log"
    env = {**os.environ, "SIM_KEY": SIM_KEY, "TRIGGER": TRIGGER_TOKEN}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingestor.cli", "serve", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=out,
            env=env,
            cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(url + "/ready").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, 60, "serve to become ready")
        # The key in a query string reaches uvicorn's access line: it must come out masked.
        response = httpx.get(
            url + "/status", params={"k": SIM_KEY}, headers={**AUTH, "X-Request-ID": "serve-1"}
        )
        assert response.status_code == 200 and response.headers["X-Request-ID"] == "serve-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    text = log.read_text()
    assert code == 0, text
    assert SIM_KEY not in text and TRIGGER_TOKEN not in text
    records = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    for record in records:
        assert {"timestamp", "level", "logger", "event"} <= set(record), record
    mine = [r for r in records if r.get("request_id") == "serve-1"]
    # one access line per request (ours; uvicorn's own, which repeats the raw path, is off)
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["event"] == "http.request" and r["route"] == "/status" for r in mine)
    assert any(r["event"] == "crawl.progress" for r in records)
