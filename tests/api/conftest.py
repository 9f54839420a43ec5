"""Fixtures of the serving tests: a simulator, settings on a fresh store, the service on a real socket.

Services run with uvicorn on 127.0.0.1, port 0, in a thread (``BackgroundServer``). Crawls are real
(``run_crawl`` against the simulator) unless a test passes its own; ``GatedCrawl`` holds them at a gate.
PostgreSQL cases reuse the store tests' fresh-schema fixture (skipped when unreachable, failing under CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from ingestor.api.server import BackgroundServer, bind, build_service
from ingestor.config import EnvironmentSettings, Settings, settings_from_dict
from ingestor.crawl.service import run_crawl
from ingestor.logging import forget_secrets, register_secrets
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store.db import Database
from ingestor.store.writer import CommitResult
from tests.store.conftest import pg_schema_url  # noqa: F401 (fixture re-exported for the database_url param)

SIM_KEY = "api-test-sim-key-5f1c9a"
TRIGGER_TOKEN = "api-test-trigger-token-8d2e4b"
OTHER_SIM_KEY = "api-test-other-sim-key-77c1"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """A simulator whose data tests only read."""
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


@pytest.fixture
def fresh_sim() -> Iterator[SimulatorServer]:
    """A simulator a test may change (data, faults)."""
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    register_secrets([SIM_KEY, TRIGGER_TOKEN, OTHER_SIM_KEY])
    yield
    forget_secrets()


def environment(name: str | None, url: str, key: str = SIM_KEY, **provider: Any) -> dict[str, Any]:
    env: dict[str, Any] = {"url": url, "apiToken": key, "catalogProvider": {"refreshIntervalSeconds": 600}}
    if name is not None:
        env["name"] = name
    env["catalogProvider"].update(provider)
    return env


def make_settings(
    database_url: str, environments: list[dict[str, Any]], **sections: dict[str, Any]
) -> Settings:
    """Settings for tests: fast retries, no client rate limits, a static trigger token, no jitter."""
    data: dict[str, Any] = {
        "spectrocloud": {"environments": environments},
        "database": {"url": database_url},
        "scheduler": {"jitterSeconds": 0, "runOnStart": True},
        "auth": {
            "externalAccess": [{"type": "static", "options": {"token": TRIGGER_TOKEN, "subject": "tests"}}]
        },
        "palette": {
            "retries": {"maxAttempts": 2, "backoffInitialSeconds": 0.01, "backoffMaxSeconds": 0.05},
            "rateLimits": {"enabled": False},
        },
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return settings_from_dict(data, env={})


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}"


class GatedCrawl:
    """A real crawl that first waits for ``open()``; counts calls per instance."""

    def __init__(self, *, opened: bool = False) -> None:
        self.gate = threading.Event()
        if opened:
            self.gate.set()
        self.calls: list[str] = []
        self.active = 0
        self.max_active = 0

    def open(self) -> None:
        self.gate.set()

    async def __call__(
        self, settings: Settings, env: EnvironmentSettings, db: Database, *, trigger: str, replica_id: str
    ) -> CommitResult:
        self.calls.append(env.name or "")
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
            return await run_crawl(settings, env, db, trigger=trigger, replica_id=replica_id)
        finally:
            self.active -= 1


ServiceFactory = Callable[..., BackgroundServer]


@pytest.fixture
def start_service() -> Iterator[ServiceFactory]:
    """``start_service(settings, crawl=None, replica_id=None)``: a running service, stopped after the test."""
    started: list[BackgroundServer] = []

    def start(settings: Settings, **kwargs: Any) -> BackgroundServer:
        server = BackgroundServer(build_service(settings, **kwargs)).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Any ASGI app on 127.0.0.1 (ephemeral port) in a thread; yields its base URL."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10, "the app server")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def wait_ready(server: BackgroundServer, instance: str | None = None, timeout: float = 30.0) -> None:
    """Until the catalog of ``instance`` (or all) answers 200."""
    params = {"instance": instance} if instance is not None else {}

    def ready() -> bool:
        return httpx.get(server.url + "/catalog/entities.yaml", params=params, timeout=10).status_code == 200

    wait_for(ready, timeout, "the first snapshot")


def last_run_id(server: BackgroundServer, instance: str) -> int | None:
    status = httpx.get(
        server.url + "/status",
        params={"instance": instance},
        headers={"Authorization": f"Bearer {TRIGGER_TOKEN}"},
        timeout=10,
    ).json()
    run = status["instances"][0]["lastRun"]
    return None if run is None else int(run["id"])
