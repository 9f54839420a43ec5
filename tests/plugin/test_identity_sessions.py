"""Who calls and with which Palette credential: Backstage token checks, static service tokens, open probes,
stored Palette sessions (encrypted, in the shared database), impersonation through the e-mail header (S1),
the ReAuth signal (4.3, F2), RS256 tokens never forwarded (A15) and API-key fall-back rules (S2).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from ingestor.api.session_repo import SqlSessionRepository
from ingestor.auth.sessions import SessionCipher, SessionVault
from ingestor.simulator.server import SimulatorServer
from ingestor.store.db import Database
from tests.auth.conftest import make_key
from tests.plugin.conftest import BACKSTAGE_AUDIENCE, SERVICE_TOKEN, SIM_KEY, PluginClient
from tests.plugin.routes_table import BY_NUMBER, load_samples

SESSION_KEY = "plugin-test-session-encryption-key-6f0b2d9e41"
REAUTH = "x-spectrocloud-reauth-required"
JANE = "user:default/jane"
BOB = "user:default/bob"
BOB_EMAIL = "bob@acme.example"
TRUSTED_TOKEN = "plugin-test-trusted-service-token-1e8a"


@pytest.fixture(scope="module")
def samples(sim: SimulatorServer) -> dict[str, str]:
    return load_samples(sim.url, SIM_KEY)


@dataclass
class Vault:
    """A second ``SessionVault`` on the service's database file with the configured key (another replica)."""

    vault: SessionVault
    instance: str = "main"

    def put(self, user: str, token: str, email: str | None = None, instance: str | None = None) -> None:
        asyncio.run(self.vault.put(user, instance or self.instance, token, email=email))

    def get(self, user: str, instance: str | None = None) -> str | None:
        return asyncio.run(self.vault.get(user, instance or self.instance))


@pytest.fixture
def vault_of() -> Iterator[Any]:
    opened: list[Database] = []

    def open_vault(p: PluginClient) -> Vault:
        db = Database(p.server.service.settings.database.url.get_secret_value())
        opened.append(db)
        return Vault(SessionVault(SqlSessionRepository(db), SessionCipher(SESSION_KEY)))

    yield open_vault
    for db in opened:
        db.close()


def sessions_auth(**extra: Any) -> dict[str, Any]:
    return {"sessions": {"encryptionKey": SESSION_KEY}, **extra}


def env(sim: SimulatorServer, *, fallback: bool = True, name: str = "main") -> dict[str, Any]:
    return {"name": name, "url": sim.url, "apiToken": SIM_KEY, "apiTokenFallback": fallback}


def kinds(p: PluginClient) -> set[str]:
    return {kind for _, _, kind in p.palette.requests}


def palette_projects(sim: SimulatorServer, session: str) -> set[str]:
    """The project uids a Palette session holds permissions in, asked from the simulator directly."""
    me = httpx.get(sim.url + "/v1/users/me", headers={"Authorization": session}, timeout=30).json()
    return set(me["status"]["projectPermissions"])


def my_projects(p: PluginClient, **kwargs: Any) -> set[str]:
    response = p.get("/users/me/projects", **kwargs)
    assert response.status_code == 200, response.text
    return {project["uid"] for project in response.json()["projects"]}


def cluster(p: PluginClient, samples: dict[str, str], **kwargs: Any) -> httpx.Response:
    params = {"projectUid": samples["clusterProjectUid"]}
    return p.get(BY_NUMBER[6].url(samples), params=params, **kwargs)


def assert_reauth(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["requiresReAuth"] is True
    assert response.headers.get(REAUTH) == "true"


# --- 1. identity -----------------------------------------------------------------------------------


def test_no_token_is_401_with_a_json_error_and_www_authenticate(plugin: Any, samples: dict[str, str]) -> None:
    p: PluginClient = plugin()
    response = cluster(p, samples, user=None)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert p.palette.requests == []


def _forged(p: PluginClient, kind: str) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": p.backstage.issuer,
        "sub": JANE,
        "aud": BACKSTAGE_AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    header = {"typ": "vnd.backstage.user", "kid": p.backstage.key.kid}
    key = p.backstage.key.private
    if kind == "expired":
        claims.update(iat=now - 7200, exp=now - 3600)
    elif kind == "wrong-issuer":
        claims["iss"] = "http://backstage.elsewhere.example/api/auth"
    elif kind == "wrong-audience":
        claims["aud"] = "another-service"
    elif kind == "wrong-typ":
        header["typ"] = "JWT"
    elif kind == "bad-signature":
        key = make_key("ES256", p.backstage.key.kid).private  # same kid, another key
    elif kind == "no-subject":
        claims.pop("sub")
    elif kind == "hs256":
        return jwt.encode(claims, "a-shared-secret-nobody-configured-32b", algorithm="HS256", headers=header)
    return jwt.encode(claims, key, algorithm="ES256", headers=header)


@pytest.mark.parametrize(
    "kind", ["expired", "wrong-issuer", "wrong-audience", "wrong-typ", "bad-signature", "no-subject", "hs256"]
)
def test_invalid_backstage_tokens_are_401(plugin: Any, samples: dict[str, str], kind: str) -> None:
    p: PluginClient = plugin()
    response = cluster(p, samples, user=None, headers={"Authorization": f"Bearer {_forged(p, kind)}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"] and "www-authenticate" in response.headers
    assert p.palette.requests == []


@pytest.mark.parametrize("authorization", ["Basic amFuZTpzZWNyZXQ=", "Bearer", "Bearer not-a-known-token"])
def test_malformed_or_unknown_authorization_is_401(
    plugin: Any, samples: dict[str, str], authorization: str
) -> None:
    p: PluginClient = plugin()
    response = cluster(p, samples, user=None, headers={"Authorization": authorization})
    assert response.status_code == 401, response.text
    assert p.palette.requests == []


def test_a_valid_user_token_and_the_static_service_token_are_accepted(
    plugin: Any, samples: dict[str, str]
) -> None:
    p: PluginClient = plugin()
    assert cluster(p, samples).status_code == 200
    service = cluster(p, samples, user=None, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert service.status_code == 200, service.text
    debug = p.get("/auth/debug", user=None, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert debug.status_code == 200 and debug.json()["caller"] == "service"


def test_health_and_readiness_probes_need_no_token(plugin: Any) -> None:
    p: PluginClient = plugin()
    assert p.get("/health", user=None).json() == {"status": "ok"}
    assert httpx.get(p.server.url + "/health", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(p.server.url + "/ready", timeout=10)
    # No crawl has run (the scheduler is off): not ready, but never a credential problem.
    assert ready.status_code == 503 and ready.json()["database"] == "ok"
    assert p.get("/auth/debug", user=None).status_code == 401


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_jwks_is_503_not_401(plugin: Any, samples: dict[str, str]) -> None:
    p: PluginClient = plugin(auth={"backstage": {"baseUrl": f"http://127.0.0.1:{closed_port()}"}})
    response = cluster(p, samples)
    assert response.status_code == 503, response.text
    assert response.json()["error"] and response.headers.get("retry-after")
    assert p.palette.requests == []
    # Static tokens do not depend on Backstage.
    service = cluster(p, samples, user=None, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert service.status_code == 200


# --- 2. stored sessions ----------------------------------------------------------------------------


def test_a_stored_session_is_used_and_wins_over_the_token_header(
    plugin: Any, sim: SimulatorServer, vault_of: Any
) -> None:
    p: PluginClient = plugin(auth=sessions_auth())
    dev1, dev2 = p.session_token("dev1"), p.session_token("dev2")
    assert palette_projects(sim, dev1) != palette_projects(sim, dev2)
    vault_of(p).put(JANE, dev1)

    assert my_projects(p) == palette_projects(sim, dev1)
    assert kinds(p) == {"session"}
    p.palette.requests.clear()
    assert my_projects(p, headers={"X-SpectroCloud-Token": dev2}) == palette_projects(sim, dev1)
    assert kinds(p) == {"session"}
    # Another user has no session: the header is theirs to use.
    assert my_projects(p, user="user:default/carol", headers={"X-SpectroCloud-Token": dev2}) == (
        palette_projects(sim, dev2)
    )


def test_sessions_are_per_instance(plugin: Any, sim: SimulatorServer, vault_of: Any) -> None:
    p: PluginClient = plugin(
        auth=sessions_auth(), environments=[env(sim, fallback=False), env(sim, fallback=False, name="second")]
    )
    vault_of(p).put(JANE, p.session_token("dev1"), instance="second")
    assert_reauth(p.get("/users/me/projects"))
    assert p.palette.requests == []
    assert my_projects(p, params={"instance": "second"}) == palette_projects(sim, p.session_token("dev1"))


def test_a_session_palette_rejects_is_dropped_and_reauth_is_asked(
    plugin: Any, samples: dict[str, str], vault_of: Any
) -> None:
    p: PluginClient = plugin(auth=sessions_auth())
    vault = vault_of(p)
    vault.put(JANE, "sim-session-revoked-4d1c0e")
    assert vault.get(JANE) is not None

    response = cluster(p, samples)
    assert_reauth(response)
    assert kinds(p) == {"session"}
    assert vault.get(JANE) is None, "the rejected session is still stored"

    p.palette.requests.clear()  # gone: the next call falls back to the instance key
    assert cluster(p, samples).status_code == 200
    assert kinds(p) == {"api-key"}


# --- 3. impersonation (S1) -------------------------------------------------------------------------


@pytest.mark.parametrize("fallback", [True, False])
def test_the_email_header_never_selects_another_users_session(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str], vault_of: Any, fallback: bool
) -> None:
    p: PluginClient = plugin(auth=sessions_auth(), environments=[env(sim, fallback=fallback)])
    vault_of(p).put(BOB, p.session_token("dev1"), email=BOB_EMAIL)
    jane = f"Bearer {p.token(JANE, email='jane@acme.example')}"
    response = cluster(
        p, samples, user=None, headers={"Authorization": jane, "X-SpectroCloud-User-Email": BOB_EMAIL}
    )
    assert "session" not in kinds(p)
    if fallback:
        assert response.status_code == 200 and kinds(p) == {"api-key"}
        assert response.headers.get(REAUTH) == "true"
    else:
        assert_reauth(response)
        assert p.palette.requests == []


@pytest.mark.parametrize("fallback", [True, False])
def test_an_untrusted_service_cannot_borrow_a_session_by_email(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str], vault_of: Any, fallback: bool
) -> None:
    p: PluginClient = plugin(auth=sessions_auth(), environments=[env(sim, fallback=fallback)])
    vault_of(p).put(BOB, p.session_token("dev1"), email=BOB_EMAIL)
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-SpectroCloud-User-Email": BOB_EMAIL}
    response = cluster(p, samples, user=None, headers=headers)
    assert "session" not in kinds(p)
    if fallback:
        assert response.status_code == 200 and kinds(p) == {"api-key"}
    else:
        assert_reauth(response)


def test_a_trusted_service_may_act_with_the_named_users_session(
    plugin: Any, sim: SimulatorServer, vault_of: Any
) -> None:
    trusted = {
        "type": "static",
        "options": {"token": TRUSTED_TOKEN, "subject": "portal"},
        "trustUserEmailHeader": True,
    }
    untrusted = {"type": "static", "options": {"token": SERVICE_TOKEN, "subject": "automation"}}
    p: PluginClient = plugin(
        auth=sessions_auth(externalAccess=[untrusted, trusted]), environments=[env(sim, fallback=False)]
    )
    dev1 = p.session_token("dev1")
    vault_of(p).put(BOB, dev1, email=BOB_EMAIL)
    headers = {"Authorization": f"Bearer {TRUSTED_TOKEN}", "X-SpectroCloud-User-Email": BOB_EMAIL.upper()}
    assert my_projects(p, user=None, headers=headers) == palette_projects(sim, dev1)
    assert kinds(p) == {"session"}
    # An e-mail nobody stored a session for: sign-in needed, nothing reaches Palette.
    p.palette.requests.clear()
    headers["X-SpectroCloud-User-Email"] = "nobody@acme.example"
    assert_reauth(p.get("/users/me/projects", user=None, headers=headers))
    assert p.palette.requests == []


# --- 4. ReAuth and fall-back rules -----------------------------------------------------------------


def test_a_named_user_without_session_or_token_gets_the_reauth_header(
    plugin: Any, samples: dict[str, str]
) -> None:
    p: PluginClient = plugin(auth=sessions_auth())
    named = cluster(p, samples, headers={"X-SpectroCloud-User-Email": "jane@acme.example"})
    assert named.status_code == 200 and named.headers.get(REAUTH) == "true"
    anonymous_user = cluster(p, samples)
    assert anonymous_user.status_code == 200 and REAUTH not in anonymous_user.headers
    with_token = cluster(
        p,
        samples,
        headers={
            "X-SpectroCloud-User-Email": "jane@acme.example",
            "X-SpectroCloud-Token": p.session_token("admin"),
        },
    )
    assert with_token.status_code == 200 and REAUTH not in with_token.headers


def rs256_id_token() -> str:
    key = make_key("RS256", "palette-oidc-1")
    now = int(time.time())
    claims = {
        "iss": "https://palette.example/oidc",
        "sub": "jane",
        "aud": "backstage",
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})


@pytest.mark.parametrize("fallback", [True, False])
def test_an_rs256_token_header_is_never_forwarded(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str], fallback: bool
) -> None:
    p: PluginClient = plugin(environments=[env(sim, fallback=fallback)])
    response = cluster(p, samples, headers={"X-SpectroCloud-Token": rs256_id_token()})
    assert "session" not in kinds(p)
    if fallback:
        assert response.status_code == 200 and kinds(p) == {"api-key"}
        assert response.headers.get(REAUTH) == "true"
    else:
        assert_reauth(response)
        assert p.palette.requests == []


def test_an_hs256_token_header_is_forwarded(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str]
) -> None:
    """The control for the RS256 case: Palette session tokens are HS256 JWTs and do reach Palette."""
    p: PluginClient = plugin(environments=[env(sim, fallback=False)])
    token = jwt.encode(
        {"sub": "jane", "exp": int(time.time()) + 600}, "palette-signing-key-unknown-32b!", algorithm="HS256"
    )
    assert_reauth(
        cluster(p, samples, headers={"X-SpectroCloud-Token": token})
    )  # the simulator does not know it
    assert kinds(p) == {"session"}


def test_without_fallback_and_without_a_session_the_caller_must_sign_in(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str]
) -> None:
    p: PluginClient = plugin(environments=[env(sim, fallback=False)])
    response = cluster(p, samples)
    assert_reauth(response)
    assert response.json()["error"]
    assert p.palette.requests == []
    p.palette.requests.clear()
    assert cluster(p, samples, headers={"X-SpectroCloud-Token": p.session_token("admin")}).status_code == 200
    assert kinds(p) == {"session"}


@pytest.mark.parametrize("number", [5, 10])
def test_kubeconfigs_never_fall_back_to_the_api_key_when_permissions_are_off(
    plugin: Any, samples: dict[str, str], number: int
) -> None:
    p: PluginClient = plugin()
    case = BY_NUMBER[number]
    assert_reauth(p.get(case.url(samples), params=case.params(samples)))
    assert p.palette.requests == []
    # With the caller's own Palette session the download works.
    own = p.get(
        case.url(samples),
        params=case.params(samples),
        headers={"X-SpectroCloud-Token": p.session_token("admin")},
    )
    assert own.status_code == 200, own.text
    assert own.headers["content-type"].startswith("application/x-yaml")
    assert kinds(p) == {"session"}
