"""End to end: the plugin API reached through a real Backstage (auth + proxy) with real user tokens.

A real Backstage backend signs the guest in (an ES256 token from its own key store, published in its
JWKS) and proxies ``/api/proxy/spectrocloud`` to our service with ``credentials: forward``, as a team
would configure it (compat.md 3.1, backstage.md 4.4). Our service (``ingestor serve``) verifies the token
against that JWKS, learns the guest's group from Backstage's userinfo endpoint (the token carries no
``ent`` claim by default) and decides with an RBAC CSV granting that group view-info only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.types import ASGIApp, Receive, Scope, Send

from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.e2e.backstage_harness import BackstageCatalog, ProxyEndpoint, free_port

pytestmark = pytest.mark.slow

SIM_KEY = "e2e-proxy-sim-key-" + secrets.token_hex(8)
GUEST = "user:default/guest"
VIEWERS = "group:default/spectrocloud-viewers"
PLUGIN_HEADERS = ("X-SpectroCloud-Token", "X-SpectroCloud-User-Email", "X-SpectroCloud-ReAuth-Required")
REAUTH = "x-spectrocloud-reauth-required"
# The group gets view-info; nobody gets download-kubeconfig. The guest holds the role only through the
# group, which our service learns from Backstage's /api/auth/v1/userinfo.
POLICY = f"""\
p, role:default/cluster-viewer, spectrocloud.cluster.view-info, read, allow
g, {VIEWERS}, role:default/cluster-viewer
"""


class _RecordPalette:
    """ASGI middleware on the simulator: the path of every Palette API request (not the admin API)."""

    def __init__(self, app: ASGIApp, into: list[str]) -> None:
        self.app = app
        self.into = into

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/__sim"):
            self.into.append(scope["path"])
        await self.app(scope, receive, send)


@dataclass
class Stack:
    """Backstage (auth + proxy) in front of our service, which reads the simulator."""

    backstage: BackstageCatalog
    service_url: str
    sim: SimulatorServer
    log: Path
    palette: list[str]  # paths of the Palette requests the simulator received
    secrets: list[str] = field(default_factory=list)  # must never appear in a response or our log

    @property
    def proxied(self) -> str:
        return self.backstage.proxy_url("/spectrocloud")

    @property
    def bare(self) -> str:
        """The same target behind an endpoint without ``allowedHeaders``."""
        return self.backstage.proxy_url("/spectrocloud-bare")

    @property
    def direct(self) -> str:
        return f"{self.service_url}/api/spectrocloud"

    def get(self, url: str, token: str | None = None, **headers: str) -> httpx.Response:
        """GET ``url`` with ``Authorization: Bearer <token>`` (when given) and headers (``_`` → ``-``)."""
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        response = httpx.get(url, headers=sent, timeout=30)
        exposed = response.text + json.dumps(dict(response.headers))
        leaked = [i for i, secret in enumerate(self.secrets) if secret in exposed]
        assert not leaked, f"secret #{leaked} appeared in the answer of {url}"
        return response

    def sim_get(self, path: str, project: str | None = None) -> Any:
        headers = {"ApiKey": SIM_KEY, **({"ProjectUid": project} if project else {})}
        response = httpx.get(self.sim.url + path, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def session_token(self, login: str) -> str:
        """A simulator user's Palette session token (registered as a secret)."""
        for uid in self.sim_get("/__sim/data/users")["uids"]:
            user = self.sim_get(f"/__sim/data/users/{uid}")
            if user["spec"]["emailId"].startswith(f"{login}@"):
                token = str(user["sessionTokens"][0])
                self.secrets.append(token)
                return token
        raise AssertionError(f"no simulator user {login}")

    def service_log(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def stack(
    start_backstage: Callable[..., BackstageCatalog], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("plugin-via-backstage")
    options = SimulatorOptions(
        api_key=SIM_KEY, seed=11, projects=2, clusters_per_project=3, tenant_clusters=1, rate_limits=False
    )
    palette: list[str] = []
    sim = SimulatorServer(options)
    sim.app.add_middleware(_RecordPalette, into=palette)
    with sim:
        port = free_port()  # the proxy target must be known before Backstage starts
        target = f"http://127.0.0.1:{port}/api/spectrocloud"
        backstage = start_backstage(
            guest_user_ref=GUEST,
            guest_ownership_refs=(GUEST, VIEWERS),
            proxy_endpoints=(
                ProxyEndpoint("/spectrocloud", target, "forward", PLUGIN_HEADERS),
                ProxyEndpoint("/spectrocloud-bare", target, "forward"),
            ),
        )
        policy = tmp / "rbac-policy.csv"
        policy.write_text(POLICY, encoding="utf-8")
        config = {
            "spectrocloud": {
                "enablePermissions": True,
                "environments": [
                    {"name": "main", "url": sim.url, "tenant": "e2e", "apiToken": "${E2E_PALETTE_KEY}"}
                ],
            },
            "server": {"host": "127.0.0.1", "port": port},
            "database": {"url": f"sqlite:///{tmp / 'store.db'}"},
            "scheduler": {"enabled": False, "runOnStart": False},
            "auth": {"backstage": {"baseUrl": backstage.url}, "rbac": {"policyFile": str(policy)}},
        }
        path = tmp / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        log = tmp / "service.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ingestor.cli", "serve", "--config", str(path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "E2E_PALETTE_KEY": SIM_KEY},
            )
        built = Stack(backstage, f"http://127.0.0.1:{port}", sim, log, palette, secrets=[SIM_KEY])
        try:
            _wait_healthy(built, proc)
            yield built
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            text = built.service_log()
            leaked = [i for i, secret in enumerate(built.secrets) if secret in text]
            assert not leaked, f"secret #{leaked} reached the service log"


def _wait_healthy(stack: Stack, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, stack.service_log()[-4000:]
        try:
            if httpx.get(f"{stack.direct}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("service never answered /health:\n" + stack.service_log()[-4000:])


@pytest.fixture(scope="module")
def guest(stack: Stack) -> str:
    """A real Backstage user token for the guest."""
    token = stack.backstage.guest_token()
    stack.secrets.append(token)
    return token


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims = (
        json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in token.split(".")[:2]
    )
    return header, claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tampered(token: str) -> dict[str, str]:
    """Variants of a real user token that must not verify, by what was changed."""
    header, claims = _parts(token)
    head, _, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    return {
        "signed by another key, same kid": jwt.encode(
            claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header
        ),
        "subject swapped": ".".join(
            (head, _b64(json.dumps({**claims, "sub": "user:default/admin"}).encode()), signature)
        ),
        "signature altered": ".".join((head, token.split(".")[1], _b64(bytes(raw)))),
    }


def _expected_cluster_uids(stack: Stack) -> set[str]:
    """What the API key holder (a tenant admin) sees: every project's clusters plus tenant-scope ones."""
    uids: set[str] = set()
    for project in stack.sim_get("/__sim/data/projects")["uids"]:
        uids |= {c["metadata"]["uid"] for c in stack.sim_get("/v1/dashboard/spectroclusters/meta", project)}
    tenant = stack.sim_get("/v1/dashboard/spectroclusters/meta")
    return uids | {
        c["metadata"]["uid"] for c in tenant if c["metadata"]["annotations"].get("scope") == "tenant"
    }


def _backstage_error(response: httpx.Response) -> str:
    """The error name of a Backstage-shaped error body (ours is ``{"error": "<message>"}``)."""
    error = response.json()["error"]
    assert isinstance(error, dict), f"not a Backstage error body: {response.text[:300]}"
    return str(error["name"])


def _our_error(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert isinstance(error, str), f"not our error body: {response.text[:300]}"
    return error


def test_the_guest_token_is_a_backstage_user_token_from_its_jwks(stack: Stack, guest: str) -> None:
    header, claims = _parts(guest)
    assert header["typ"] == "vnd.backstage.user" and header["alg"] == "ES256"
    jwks = httpx.get(f"{stack.backstage.auth_url}/.well-known/jwks.json", timeout=10).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert claims["iss"] == stack.backstage.auth_url and claims["aud"] == "backstage"
    assert claims["sub"] == GUEST
    # Backstage leaves ownership out of the token by default: the group must come from userinfo.
    assert "ent" not in claims
    info = httpx.get(
        f"{stack.backstage.auth_url}/v1/userinfo", headers={"Authorization": f"Bearer {guest}"}, timeout=10
    )
    assert VIEWERS in info.json()["claims"]["ent"]


def test_clusters_through_the_proxy_match_palette_and_the_direct_call(stack: Stack, guest: str) -> None:
    proxied = stack.get(f"{stack.proxied}/clusters", guest)
    assert proxied.status_code == 200, proxied.text
    assert proxied.headers["content-type"].startswith("application/json")
    clusters = proxied.json()["clusters"]
    uids = [c["metadata"]["uid"] for c in clusters]
    assert len(uids) == len(set(uids))
    assert set(uids) == _expected_cluster_uids(stack)

    direct = stack.get(f"{stack.direct}/clusters", guest)
    assert direct.status_code == 200
    by_uid = {c["metadata"]["uid"]: c for c in direct.json()["clusters"]}
    assert {c["metadata"]["uid"]: c for c in clusters} == by_uid


def test_view_info_is_granted_through_the_group_but_kubeconfig_is_forbidden(stack: Stack, guest: str) -> None:
    cluster = next(
        c
        for c in stack.get(f"{stack.proxied}/clusters", guest).json()["clusters"]
        if c["metadata"]["annotations"].get("scope") == "project"
    )
    uid, project = cluster["metadata"]["uid"], cluster["metadata"]["annotations"]["projectUid"]
    detail = stack.get(f"{stack.proxied}/clusters/{uid}?projectUid={project}", guest)
    assert detail.status_code == 200, detail.text
    assert detail.json() == stack.sim_get(f"/v1/dashboard/spectroclusters/{uid}", project)

    before = len(stack.palette)
    for base in (stack.proxied, stack.direct):
        denied = stack.get(f"{base}/clusters/{uid}/kubeconfig?projectUid={project}", guest)
        assert denied.status_code == 403
        message = _our_error(denied)
        assert message.startswith("Forbidden") and "download-kubeconfig" in message
    assert stack.palette[before:] == []  # denied before any Palette call


def test_without_a_valid_token_backstage_answers_401_and_our_service_is_not_reached(
    stack: Stack, guest: str
) -> None:
    # Direct: our own 401 (our body shape). The marker (a path segment: our access line logs the path) proves
    # the log records what reached us.
    seen = "e2e" + secrets.token_hex(4)
    ours = stack.get(f"{stack.direct}/clusters/{seen}")
    assert ours.status_code == 401 and _our_error(ours)
    # Through the proxy: `credentials: forward` still runs Backstage's default auth policy, so the proxy
    # itself rejects a missing or unverifiable token (Backstage's error shape) and never forwards it.
    forged = _tampered(guest)["signed by another key, same kid"]
    stack.secrets.append(forged)
    unseen = "e2e" + secrets.token_hex(4)
    before = len(stack.palette)
    for token, reason in ((None, "Missing credentials"), (forged, "Failed user token verification")):
        blocked = stack.get(f"{stack.proxied}/clusters/{unseen}", token)
        assert blocked.status_code == 401
        assert _backstage_error(blocked) == "AuthenticationError"
        assert blocked.json()["error"]["message"] == reason
    # A Backstage service token passes Backstage's check and is forwarded; we do not accept it: our 401.
    stack.secrets.append(stack.backstage.token)
    service = stack.get(f"{stack.proxied}/clusters", stack.backstage.token)
    assert service.status_code == 401 and _our_error(service)
    deadline = time.monotonic() + 5
    while seen not in stack.service_log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = stack.service_log()
    assert seen in log and unseen not in log
    assert stack.palette[before:] == []


def test_our_service_rejects_tampered_tokens_with_its_own_401(stack: Stack, guest: str) -> None:
    variants = _tampered(guest)
    stack.secrets += variants.values()
    before = len(stack.palette)
    for what, token in variants.items():
        answer = stack.get(f"{stack.direct}/clusters", token)
        assert answer.status_code == 401, what
        assert _our_error(answer)
    assert stack.palette[before:] == []
    assert stack.get(f"{stack.direct}/clusters", guest).status_code == 200


def test_plugin_headers_pass_the_proxy_both_ways_when_allowed(stack: Stack, guest: str) -> None:
    # E-mail header, no stored session, no token: the seed's rule answers with the API key and asks the
    # frontend to sign in to Palette again; the proxy passes the header back because it is allowed.
    hinted = stack.get(f"{stack.proxied}/clusters", guest, X_SpectroCloud_User_Email="guest@example.com")
    assert hinted.status_code == 200 and hinted.json()["clusters"]
    assert hinted.headers.get(REAUTH) == "true"
    assert REAUTH not in stack.get(f"{stack.proxied}/clusters", guest).headers

    # A route that needs the caller's own Palette session: our 401 (body and header) passes through.
    reauth = stack.get(f"{stack.proxied}/users/me/projects", guest)
    assert reauth.status_code == 401 and reauth.json()["requiresReAuth"] is True
    assert _our_error(reauth) and reauth.headers.get(REAUTH) == "true"

    # X-SpectroCloud-Token is forwarded to us: dev1's own session sees dev1's two projects.
    dev1 = stack.session_token("dev1")
    mine = stack.get(f"{stack.proxied}/users/me/projects", guest, X_SpectroCloud_Token=dev1)
    assert mine.status_code == 200, mine.text
    assert len(mine.json()["projects"]) == 2
    assert (
        mine.json() == stack.get(f"{stack.direct}/users/me/projects", guest, X_SpectroCloud_Token=dev1).json()
    )


def test_without_allowed_headers_the_proxy_drops_them_both_ways(stack: Stack, guest: str) -> None:
    # The e-mail header never reaches us, so there is no hint, and the token header is dropped too.
    quiet = stack.get(f"{stack.bare}/clusters", guest, X_SpectroCloud_User_Email="guest@example.com")
    assert quiet.status_code == 200 and REAUTH not in quiet.headers
    dev1 = stack.session_token("dev1")
    lost = stack.get(f"{stack.bare}/users/me/projects", guest, X_SpectroCloud_Token=dev1)
    assert lost.status_code == 401 and lost.json()["requiresReAuth"] is True
    assert REAUTH not in lost.headers  # we set it; Backstage filtered it out on the way back


def test_encoded_traversal_stops_at_the_proxy_or_at_our_uid_check(stack: Stack, guest: str) -> None:
    before = len(stack.palette)
    for bad in ("..%2F..%2Fv1%2Fusers", "%2E%2E"):
        blocked = stack.get(f"{stack.proxied}/clusters/{bad}", guest)
        assert blocked.status_code == 400  # Backstage's proxy refuses any decoded '..' segment
    ours = stack.get(f"{stack.proxied}/clusters/abc%3Fx", guest)
    assert ours.status_code == 400 and "clusterUid" in _our_error(ours)
    assert stack.palette[before:] == []
