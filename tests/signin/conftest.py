"""Fixtures of the Palette sign-in tests: the simulator's OIDC side, our service (one or two replicas on one
store), and a scripted browser (a cookie jar that follows redirects by hand) over real sockets."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from ingestor.api.server import BackgroundServer, build_service
from ingestor.logging import forget_secrets, register_secrets
from ingestor.simulator.server import SimulatorServer
from tests.api.conftest import make_settings
from tests.plugin.conftest import (  # noqa: F401 (fixtures re-exported for this package)
    SERVICE_TOKEN,
    SIM_KEY,
    FakeBackstage,
    backstage,
    sim,
)

APP_ORIGIN = "http://backstage.test:3000"
CLIENT_ID = "backstage-ingestor"
CLIENT_SECRET = "sign-in-test-client-secret-5f1e"
SESSION_KEY = "sign-in-test-session-encryption-key-91ac"
BASE = "/api/auth/spectrocloud"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sim_admin(server: SimulatorServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    response = httpx.request(method, server.url + path, headers={"ApiKey": SIM_KEY}, timeout=10, **kwargs)
    response.raise_for_status()
    return response


@dataclass
class Replica:
    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Browser:
    """A browser's cookie jar; ``follow`` walks redirects across hosts by hand."""

    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30, follow_redirects=False))
    visited: list[str] = field(default_factory=list)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        self.visited.append(url)
        return self.client.get(url, **kwargs)

    def xhr(self, method: str, url: str) -> httpx.Response:
        return self.client.request(method, url, headers={"X-Requested-With": "XMLHttpRequest"})

    def close(self) -> None:
        self.client.close()


def popup_message(response: httpx.Response) -> dict[str, Any]:
    """The ``authorization_response`` message the popup page posts to its opener."""
    import json

    found = re.search(r'<script type="application/json" id="message">(.*?)</script>', response.text, re.S)
    assert found, response.text[:500]
    message: dict[str, Any] = json.loads(unescape(found.group(1)))
    assert message["type"] == "authorization_response"
    return message


def popup_origin(response: httpx.Response) -> str | None:
    import json

    found = re.search(r'<script type="application/json" id="origin">(.*?)</script>', response.text, re.S)
    assert found
    origin: str | None = json.loads(found.group(1))
    return origin


def with_query(url: str, **changes: str) -> str:
    """``url`` with query parameters replaced."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class SignInWorld:
    """The simulator (with OIDC on), the replicas started so far, and helpers to drive a sign-in."""

    sim: SimulatorServer
    backstage: FakeBackstage
    tmp_path: Path
    tenant: str
    replicas: list[Replica] = field(default_factory=list)
    browsers: list[Browser] = field(default_factory=list)

    @property
    def authorization_url(self) -> str:
        return f"{self.sim.url}/v1/oidc/tenant/{self.tenant}/auth"

    def oidc(self, **changes: Any) -> None:
        """Set the simulator's OIDC knobs (``PATCH /__sim/oidc``)."""
        sim_admin(self.sim, "PATCH", "/__sim/oidc", json=changes)

    def start(
        self, *, replicas: int = 1, oidc: dict[str, Any] | None = None, **sections: Any
    ) -> list[Replica]:
        """``replicas`` service processes on one store, each on its own port; the callback is the first's."""
        ports = [free_port() for _ in range(replicas)]
        callback = f"http://127.0.0.1:{ports[0]}{BASE}/handler/frame"
        auth = {
            "backstage": {"baseUrl": self.backstage.url},
            "externalAccess": [
                {"type": "static", "options": {"token": SERVICE_TOKEN, "subject": "automation"}}
            ],
            "sessions": {"encryptionKey": SESSION_KEY},
            "signIn": {"allowedOrigins": [APP_ORIGIN]},
        }
        auth.update(sections.pop("auth", {}))
        env = {
            "name": "main",
            "url": self.sim.url,
            "apiToken": SIM_KEY,
            "apiTokenFallback": False,
            "oidc": {
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "authorizationUrl": self.authorization_url,
                "callbackUrl": callback,
                **(oidc or {}),
            },
        }
        started = []
        for port in ports:
            settings = make_settings(
                f"sqlite:///{self.tmp_path / 'store' / 'ingestor.db'}",
                [env],
                scheduler={"enabled": False, "runOnStart": False},
                auth=auth,
                server={"baseUrl": f"http://127.0.0.1:{port}"},
                **sections,
            )
            server = BackgroundServer(build_service(settings), port=port).start()
            replica = Replica(server)
            self.replicas.append(replica)
            started.append(replica)
        return started

    def browser(self) -> Browser:
        browser = Browser()
        self.browsers.append(browser)
        return browser

    def begin(self, browser: Browser, replica: Replica, **params: str) -> httpx.Response:
        """``start`` then Palette's authorization endpoint: the answer redirecting back to our callback."""
        query = {"origin": APP_ORIGIN, "env": "development", **params}
        started = browser.get(f"{replica.url}{BASE}/start?{urlencode(query)}")
        assert started.status_code == 302, started.text
        authorize = started.headers["location"]
        assert authorize.startswith(self.authorization_url)
        answer = browser.get(authorize)
        assert answer.status_code == 302, answer.text
        return answer

    def sign_in(
        self, browser: Browser, replica: Replica, callback_on: Replica | None = None
    ) -> httpx.Response:
        """A whole sign-in; the callback may land on another replica."""
        back = self.begin(browser, replica).headers["location"]
        target = callback_on or replica
        return browser.get(back.replace(self.replicas[0].url, target.url, 1))


@pytest.fixture
def world(
    sim: SimulatorServer,  # noqa: F811 (the re-exported fixture)
    backstage: FakeBackstage,  # noqa: F811
    tmp_path: Path,
) -> Iterator[SignInWorld]:
    register_secrets([SIM_KEY, SERVICE_TOKEN, CLIENT_SECRET, SESSION_KEY])
    tenant = sim_admin(sim, "GET", "/__sim/dataset").json()["tenantUid"]
    sim_admin(sim, "DELETE", "/__sim/oidc")
    world = SignInWorld(sim, backstage, tmp_path, tenant)
    world.oidc(clientId=CLIENT_ID, clientSecret=CLIENT_SECRET, redirectUris=[])
    try:
        yield world
    finally:
        for browser in world.browsers:
            browser.close()
        for replica in reversed(world.replicas):
            replica.server.stop()
        sim_admin(sim, "DELETE", "/__sim/oidc")
        forget_secrets()
