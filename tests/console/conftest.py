"""Fixtures of the console tests: the simulator and the service on real sockets, crawled once, with a static
token that may crawl (``OPERATOR_TOKEN``) and one that may not (``VIEWER_TOKEN``, permissions on)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestor.api.server import BackgroundServer, build_service
from ingestor.logging import forget_secrets, register_secrets
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.api.conftest import make_settings

SIM_KEY = "console-test-sim-key-77e0a1"
OPERATOR_TOKEN = "console-test-operator-token-2c9d"
VIEWER_TOKEN = "console-test-viewer-token-8f13"
POLICY = "p, role:default/operators, spectrocloud.ingestor.crawl, update, allow\n"


@dataclass
class Console:
    """A running service with a crawled store, and its simulator."""

    server: BackgroundServer
    sim: SimulatorServer

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=30, **kwargs)

    def status(self) -> dict[str, Any]:
        answer = self.get("/status", token=OPERATOR_TOKEN)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def wait_for_runs(self, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (instance,) = self.status()["instances"]
            if len(instance["recentRuns"]) >= count and not instance.get("crawling"):
                return
            time.sleep(0.2)
        raise AssertionError(f"fewer than {count} crawl runs after {timeout} s")


def start_console(tmp_path: Path, sim: SimulatorServer, **sections: Any) -> Console:
    auth = {
        "externalAccess": [
            {"type": "static", "options": {"token": OPERATOR_TOKEN, "subject": "operator"}},
            {
                "type": "static",
                "options": {"token": VIEWER_TOKEN, "subject": "viewer"},
                "accessRestrictions": [
                    {"plugin": "spectrocloud", "permission": ["spectrocloud.cluster.view-info"]}
                ],
            },
        ],
        **sections.pop("auth", {}),
    }
    settings = make_settings(
        f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}",
        [{"name": "main", "url": sim.url, "apiToken": SIM_KEY}],
        scheduler={"enabled": True, "runOnStart": True},
        auth=auth,
        **sections,
    )
    server = BackgroundServer(build_service(settings)).start()
    console = Console(server, sim)
    console.wait_for_runs(1)
    return console


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


@pytest.fixture
def console(sim: SimulatorServer, tmp_path: Path) -> Iterator[Console]:
    """A service whose console is readable without sign-in (the demo's setting); crawled once."""
    register_secrets([SIM_KEY, OPERATOR_TOKEN, VIEWER_TOKEN])
    running = start_console(tmp_path, sim, console={"anonymousRead": True})
    try:
        yield running
    finally:
        running.server.stop()
        forget_secrets()
