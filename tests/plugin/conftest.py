"""Fixtures of the plugin API tests: a simulator, a stand-in Backstage (JWKS, userinfo, permission
backend) and our service, each on a real socket; Palette traffic counted by a recording transport.

``plugin(...)`` starts a service with the given settings overrides and RBAC CSV and returns a
``PluginClient`` that mints Backstage user tokens for any user.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingestor.api.server import BackgroundServer, build_service
from ingestor.logging import forget_secrets, register_secrets
from ingestor.serving import ThreadedServer
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.api.conftest import make_settings
from tests.auth.conftest import SigningKey, make_key

SIM_KEY = "plugin-test-sim-key-3b9d0c"
SERVICE_TOKEN = "plugin-test-service-token-6a41e2"
BACKSTAGE_AUDIENCE = "backstage"


@dataclass
class FakeBackstage:
    """JWKS, ``/api/auth/v1/userinfo`` and ``/api/permission/authorize`` of a Backstage backend."""

    key: SigningKey = field(default_factory=lambda: make_key("ES256", "bs-key-1"))
    groups: dict[str, list[str]] = field(default_factory=dict)  # user ref -> ownership refs
    allowed: dict[str, set[str]] = field(default_factory=dict)  # user ref -> permission names
    calls: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def issuer(self) -> str:
        return f"{self.url}/api/auth"

    def mint(self, user: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "sub": user, "aud": BACKSTAGE_AUDIENCE, "iat": now, "exp": now + 3600}
        body.update(claims)
        return jwt.encode(
            body,
            self.key.private,
            algorithm="ES256",
            headers={"typ": "vnd.backstage.user", "kid": self.key.kid},
        )

    def _user(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(
                auth.removeprefix("Bearer "),
                self.key.private.public_key(),
                algorithms=["ES256"],
                audience=BACKSTAGE_AUDIENCE,
            )
        except jwt.PyJWTError:
            return None
        sub = claims.get("sub")
        return sub if isinstance(sub, str) else None

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.calls.append("jwks")
            return JSONResponse({"keys": [self.key.jwk()]})

        async def userinfo(request: Request) -> Response:
            self.calls.append("userinfo")
            user = self._user(request)
            if user is None:
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return JSONResponse({"claims": {"sub": user, "ent": [user, *self.groups.get(user, [])]}})

        async def authorize(request: Request) -> Response:
            self.calls.append("authorize")
            user = self._user(request)
            if user is None:
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            body = json.loads(await request.body())
            items = [
                {
                    "id": item["id"],
                    "result": "ALLOW"
                    if item["permission"]["name"] in self.allowed.get(user, set())
                    else "DENY",
                }
                for item in body["items"]
            ]
            return JSONResponse({"items": items})

        return Starlette(
            routes=[
                Route("/api/auth/.well-known/jwks.json", jwks),
                Route("/api/auth/v1/userinfo", userinfo),
                Route("/api/permission/authorize", authorize, methods=["POST"]),
            ]
        )


class CountingTransport(httpx.AsyncBaseTransport):
    """A real socket transport that records (method, path, credential kind) of every Palette request."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str, str]] = []
        self.queries: list[tuple[str, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind = (
            "api-key"
            if "apikey" in request.headers
            else "session"
            if "authorization" in request.headers
            else "none"
        )
        self.requests.append((request.method, request.url.path, kind))
        self.queries.append((request.url.path, request.url.query.decode() or None))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class PluginClient:
    """Our running service plus what a test needs to call it and to inspect what reached Palette."""

    server: BackgroundServer
    backstage: FakeBackstage
    palette: CountingTransport
    sim: SimulatorServer

    @property
    def base(self) -> str:
        return self.server.url + "/api/spectrocloud"

    def token(self, user: str = "user:default/jane", **claims: Any) -> str:
        return self.backstage.mint(user, **claims)

    def get(
        self,
        path: str,
        *,
        user: str | None = "user:default/jane",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.call("GET", path, user=user, headers=headers, **kwargs)

    def post(
        self,
        path: str,
        *,
        user: str | None = "user:default/jane",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.call("POST", path, user=user, headers=headers, **kwargs)

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if user is not None and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        return httpx.request(method, self.base + path, headers=sent, timeout=30, **kwargs)

    def sim_get(self, path: str) -> Any:
        response = httpx.get(self.sim.url + path, headers={"ApiKey": SIM_KEY}, timeout=30)
        response.raise_for_status()
        return response.json()

    def session_token(self, login: str) -> str:
        """A simulator user's Palette session token (``admin``, ``dev1``, ``dev2``, ``viewer``)."""
        for uid in self.sim_get("/__sim/data/users")["uids"]:
            user = self.sim_get(f"/__sim/data/users/{uid}")
            if user["spec"]["emailId"].startswith(f"{login}@"):
                return str(user["sessionTokens"][0])
        raise AssertionError(f"no simulator user {login}")

    def palette_paths(self) -> list[str]:
        return [path for _, path, _ in self.palette.requests]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


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


@pytest.fixture(autouse=True)
def _secrets() -> Iterator[None]:
    register_secrets([SIM_KEY, SERVICE_TOKEN])
    yield
    forget_secrets()


@pytest.fixture
def plugin(sim: SimulatorServer, backstage: FakeBackstage, tmp_path: Path) -> Iterator[Any]:
    """``plugin(policy=None, environments=None, **sections)`` → a running ``PluginClient``."""
    started: list[BackgroundServer] = []

    def start(
        policy: str | None = None,
        environments: list[dict[str, Any]] | None = None,
        enable_permissions: bool | None = None,
        **sections: dict[str, Any],
    ) -> PluginClient:
        envs = environments or [{"name": "main", "url": sim.url, "apiToken": SIM_KEY}]
        auth: dict[str, Any] = {
            "externalAccess": [
                {"type": "static", "options": {"token": SERVICE_TOKEN, "subject": "automation"}}
            ],
            "backstage": {"baseUrl": backstage.url},
        }
        if policy is not None:
            path = tmp_path / "rbac-policy.csv"
            path.write_text(policy, encoding="utf-8")
            auth["rbac"] = {"policyFile": str(path)}
        auth.update(sections.pop("auth", {}))
        if enable_permissions is None:
            enable_permissions = policy is not None
        settings = make_settings(
            f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}",
            envs,
            spectrocloud={"enablePermissions": enable_permissions},
            scheduler={"enabled": False, "runOnStart": False, **sections.pop("scheduler", {})},
            auth=auth,
            **sections,
        )
        transport = CountingTransport()
        server = BackgroundServer(build_service(settings, palette_transport=transport)).start()
        started.append(server)
        return PluginClient(server, backstage, transport, sim)

    yield start
    for server in reversed(started):
        server.stop()
