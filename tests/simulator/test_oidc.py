"""The simulator's OIDC side over real sockets: discovery, JWKS, /auth, /token, session tokens, knobs."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from structlog.testing import capture_logs

from ingestor.errors import ConfigError
from ingestor.simulator.options import SimulatorOptions, add_arguments, options_from_args
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import API_KEY, assert_error

CLIENT = "backstage"
SECRET = "sim-oidc-secret"
REDIRECT = "http://127.0.0.1:7007/api/palette/auth/callback"
SCOPE = "openid profile email"


@pytest.fixture(autouse=True)
def reset_knobs(sim: SimulatorServer) -> Iterator[None]:
    yield
    httpx.delete(f"{sim.url}/__sim/oidc", headers={"ApiKey": API_KEY}).raise_for_status()


def issuer(sim: SimulatorServer) -> str:
    return f"{sim.url}/v1/oidc/tenant/{sim.dataset.tenant.uid}"


def knobs(sim: SimulatorServer, **body: Any) -> dict[str, Any]:
    response = httpx.patch(f"{sim.url}/__sim/oidc", json=body, headers={"ApiKey": API_KEY})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def user(sim: SimulatorServer, login: str) -> dict[str, Any]:
    return next(
        u for u in sim.dataset.collection("users").values() if u["spec"]["emailId"] == f"{login}@acme.example"
    )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(sim: SimulatorServer, **params: str | None) -> httpx.Response:
    query: dict[str, str | None] = {
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPE,
        "state": "st-1",
        "nonce": "n-1",
        **params,
    }
    sent = {k: v for k, v in query.items() if v is not None}
    return httpx.get(f"{issuer(sim)}/auth", params=sent, follow_redirects=False)


def redirected(response: httpx.Response, target: str = REDIRECT) -> dict[str, str]:
    """The query of a 302 to ``target``."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(target + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(
    sim: SimulatorServer, code: str, *, auth: tuple[str, str] | None = None, **fields: str | None
) -> httpx.Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT,
        "client_secret": None if auth else SECRET,
        **fields,
    }
    data = {k: v for k, v in form.items() if v is not None}
    return httpx.post(f"{issuer(sim)}/token", data=data, auth=auth)


def sign_in(sim: SimulatorServer, **params: str | None) -> dict[str, Any]:
    """The whole flow with PKCE; the token response."""
    verifier, challenge = pkce()
    code = redirected(authorize(sim, code_challenge=challenge, code_challenge_method="S256", **params))[
        "code"
    ]
    response = exchange(sim, code, code_verifier=verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def verify(sim: SimulatorServer, id_token: str, audience: str = CLIENT) -> dict[str, Any]:
    """Verify an ID token against the published JWKS, as a relying party does."""
    keys = jwt.PyJWKSet.from_dict(httpx.get(f"{issuer(sim)}/jwks").json())
    key = keys[jwt.get_unverified_header(id_token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        id_token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer(sim)
    )
    return claims


def api(sim: SimulatorServer, token: str, path: str = "/v1/users/me") -> httpx.Response:
    return httpx.get(sim.url + path, headers={"Authorization": token})


# -- discovery and keys -------------------------------------------------------------------------
def test_discovery_document_describes_the_endpoints(sim: SimulatorServer) -> None:
    doc = httpx.get(f"{issuer(sim)}/.well-known/openid-configuration").json()
    assert doc["issuer"] == issuer(sim)
    assert doc["authorization_endpoint"] == issuer(sim) + "/auth"
    assert doc["token_endpoint"] == issuer(sim) + "/token"
    assert doc["jwks_uri"] == issuer(sim) + "/jwks"
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic"}
    assert {"openid", "profile", "email"} <= set(doc["scopes_supported"])
    assert {"email", "email_verified", "nonce", "groups"} <= set(doc["claims_supported"])


def test_unknown_tenant_is_404(sim: SimulatorServer) -> None:
    other = f"{sim.url}/v1/oidc/tenant/000000000000000000000000"
    assert_error(httpx.get(f"{other}/.well-known/openid-configuration"), 404, "ResourceNotFound")
    assert_error(httpx.get(f"{other}/jwks"), 404, "ResourceNotFound")
    assert_error(httpx.post(f"{other}/token", data={}), 404, "ResourceNotFound")


def test_jwks_publishes_one_rs256_signing_key(sim: SimulatorServer) -> None:
    keys = httpx.get(f"{issuer(sim)}/jwks").json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and key["kid"]
    assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256  # 2048 bits
    assert httpx.get(f"{issuer(sim)}/jwks").json()["keys"] == keys, "one key per app"


# -- the full flow --------------------------------------------------------------------------------
def test_full_flow_with_pkce_gives_a_verifiable_id_token_and_a_working_session_token(
    sim: SimulatorServer,
) -> None:
    dev = user(sim, "dev1")
    body = sign_in(sim)
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, SCOPE)
    claims = verify(sim, body["id_token"])
    assert claims["sub"] == dev["metadata"]["uid"] and claims["azp"] == CLIENT
    assert claims["nonce"] == "n-1" and claims["exp"] - claims["iat"] == 3600
    assert claims["email"] == "dev1@acme.example" and claims["email_verified"] is True
    assert (claims["name"], claims["given_name"], claims["family_name"]) == ("Dev One", "Dev", "One")
    assert claims["groups"] == ["Project Admin"] and claims["auth_time"] <= claims["iat"]

    session = body["refresh_token"]
    assert jwt.get_unverified_header(session)["alg"] == "HS256"
    session_claims = jwt.decode(session, options={"verify_signature": False})
    assert session_claims["exp"] - session_claims["iat"] == 15 * 60
    assert session_claims["email"] == claims["email"]
    me = api(sim, session)
    assert me.status_code == 200 and me.json()["metadata"]["uid"] == dev["metadata"]["uid"]
    projects = httpx.post(f"{sim.url}/v1/dashboard/projects", json={}, headers={"Authorization": session})
    seen = {p["metadata"]["uid"] for p in projects.json()["items"]}
    assert seen == set(dev["status"]["projectPermissions"]) and len(seen) < len(
        sim.dataset.collection("projects")
    )


def test_token_response_is_not_cacheable_and_access_token_is_not_an_api_credential(
    sim: SimulatorServer,
) -> None:
    code = redirected(authorize(sim))["code"]
    response = exchange(sim, code)
    assert response.headers["cache-control"] == "no-store"
    assert_error(api(sim, response.json()["access_token"]), 401, "Unauthorized")


def test_state_is_echoed_and_omitted_when_not_sent(sim: SimulatorServer) -> None:
    assert redirected(authorize(sim, state="a b&c=d"))["state"] == "a b&c=d"
    assert "state" not in redirected(authorize(sim, state=None))


def test_redirect_uri_keeps_its_own_query(sim: SimulatorServer) -> None:
    target = REDIRECT + "?env=development"
    query = redirected(authorize(sim, redirect_uri=target), target=REDIRECT)
    assert query["env"] == "development" and query["code"]


def test_nonce_is_omitted_when_not_sent(sim: SimulatorServer) -> None:
    assert "nonce" not in verify(sim, sign_in(sim, nonce=None)["id_token"])


@pytest.mark.parametrize("hint", ["viewer", "viewer@acme.example", "VIEWER@ACME.EXAMPLE"])
def test_login_hint_picks_the_user(sim: SimulatorServer, hint: str) -> None:
    claims = verify(sim, sign_in(sim, login_hint=hint)["id_token"])
    assert claims["sub"] == user(sim, "viewer")["metadata"]["uid"]


def test_default_login_knob_picks_the_user(sim: SimulatorServer) -> None:
    knobs(sim, defaultLogin="admin")
    claims = verify(sim, sign_in(sim)["id_token"])
    assert claims["email"] == "admin@acme.example" and "Tenant Admin" in claims["groups"]


# -- /auth errors ---------------------------------------------------------------------------------
def test_unknown_client_is_400_without_redirect(sim: SimulatorServer) -> None:
    response = authorize(sim, client_id="someone-else")
    assert response.status_code == 400 and "location" not in response.headers
    assert response.json()["error"] == "invalid_client"


def test_redirect_uri_not_registered_is_400_without_redirect(sim: SimulatorServer) -> None:
    knobs(sim, redirectUris=[REDIRECT])
    response = authorize(sim, redirect_uri="http://evil.example/cb")
    assert response.status_code == 400 and "location" not in response.headers
    assert response.json()["error"] == "invalid_request"
    assert redirected(authorize(sim))["code"]


@pytest.mark.parametrize("uri", ["ftp://x.example/cb", "/relative/cb", "http://x.example/cb#frag", None])
def test_bad_redirect_uri_is_400_even_when_any_is_allowed(sim: SimulatorServer, uri: str | None) -> None:
    response = authorize(sim, redirect_uri=uri)
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile email"}, "invalid_scope"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "x" * 43}, "invalid_request"),  # no method means plain (RFC 7636 4.3)
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"login_hint": "nobody"}, "access_denied"),
    ],
)
def test_other_auth_errors_redirect_with_error_and_state(
    sim: SimulatorServer, params: dict[str, str], error: str
) -> None:
    query = redirected(authorize(sim, **params))
    assert query["error"] == error and query["state"] == "st-1" and "code" not in query


def test_inactive_user_is_denied(fresh_sim: SimulatorServer) -> None:
    fresh_sim.dataset.patch(
        "users", user(fresh_sim, "dev2")["metadata"]["uid"], {"status": {"isActive": False}}
    )
    assert redirected(authorize(fresh_sim, login_hint="dev2"))["error"] == "access_denied"


# -- /token errors --------------------------------------------------------------------------------
def test_code_replay_fails(sim: SimulatorServer) -> None:
    code = redirected(authorize(sim))["code"]
    assert exchange(sim, code).status_code == 200
    second = exchange(sim, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"


def test_unknown_code_fails(sim: SimulatorServer) -> None:
    assert exchange(sim, "no-such-code").json()["error"] == "invalid_grant"


def test_code_expires_after_a_minute(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    code = redirected(authorize(sim))["code"]
    monkeypatch.setattr(sim.app.state.oidc, "clock", lambda: time.time() + 61)
    assert exchange(sim, code).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "verifier", [None, "wrong-" + "v" * 50, "short"], ids=["missing", "mismatch", "malformed"]
)
def test_pkce_mismatch_fails(sim: SimulatorServer, verifier: str | None) -> None:
    _, challenge = pkce()
    code = redirected(authorize(sim, code_challenge=challenge, code_challenge_method="S256"))["code"]
    response = exchange(sim, code, code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_verifier_without_challenge_fails(sim: SimulatorServer) -> None:
    code = redirected(authorize(sim))["code"]
    assert exchange(sim, code, code_verifier=pkce()[0]).json()["error"] == "invalid_grant"


def test_flow_without_pkce_works(sim: SimulatorServer) -> None:
    response = exchange(sim, redirected(authorize(sim))["code"])
    assert response.status_code == 200 and verify(sim, response.json()["id_token"])["nonce"] == "n-1"


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["wrong", "missing"])
def test_bad_client_secret_is_401_invalid_client(sim: SimulatorServer, secret: str | None) -> None:
    code = redirected(authorize(sim))["code"]
    form = {"client_secret": secret} if secret else {}
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": CLIENT}
    response = httpx.post(f"{issuer(sim)}/token", data={**data, **form})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "www-authenticate" in response.headers and SECRET not in response.text
    assert exchange(sim, code).status_code == 200, "a refused client does not use up the code"


def test_client_secret_basic_works(sim: SimulatorServer) -> None:
    code = redirected(authorize(sim))["code"]
    response = exchange(sim, code, auth=(CLIENT, SECRET), client_id=None)
    assert response.status_code == 200 and verify(sim, response.json()["id_token"])
    code = redirected(authorize(sim))["code"]
    assert exchange(sim, code, auth=(CLIENT, "wrong")).status_code == 401


def test_two_client_authentication_methods_are_refused(sim: SimulatorServer) -> None:
    code = redirected(authorize(sim))["code"]
    response = exchange(sim, code, auth=(CLIENT, SECRET), client_secret=SECRET)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_code_of_another_redirect_uri_fails(sim: SimulatorServer) -> None:
    code = redirected(authorize(sim))["code"]
    response = exchange(sim, code, redirect_uri="http://127.0.0.1:7007/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_unsupported_grant_type_and_bad_body(sim: SimulatorServer) -> None:
    code = redirected(authorize(sim))["code"]
    assert exchange(sim, code, grant_type="refresh_token").json()["error"] == "unsupported_grant_type"
    as_json = httpx.post(f"{issuer(sim)}/token", json={"grant_type": "authorization_code", "code": code})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


def test_public_client_needs_no_secret(sim: SimulatorServer) -> None:
    knobs(sim, clientSecret="")
    response = exchange(sim, redirected(authorize(sim))["code"], client_secret=None)
    assert response.status_code == 200


# -- session_token_in = code ----------------------------------------------------------------------
def test_session_token_in_code(sim: SimulatorServer) -> None:
    knobs(sim, sessionTokenIn="code")
    code = redirected(authorize(sim, login_hint="dev2"))["code"]
    assert jwt.get_unverified_header(code)["alg"] == "HS256"
    assert api(sim, code).json()["metadata"]["uid"] == user(sim, "dev2")["metadata"]["uid"]
    body = exchange(sim, code).json()
    assert "refresh_token" not in body and verify(sim, body["id_token"])["email"] == "dev2@acme.example"
    assert exchange(sim, code).json()["error"] == "invalid_grant"
    assert api(sim, code).status_code == 200, "the session token outlives its use as a code"


# -- HS256 session tokens on the API ------------------------------------------------------------
def test_session_token_expires_after_15_minutes(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = sign_in(sim)["refresh_token"]
    provider = sim.app.state.oidc
    monkeypatch.setattr(provider, "clock", lambda: time.time() + 14 * 60)
    assert api(sim, session).status_code == 200
    monkeypatch.setattr(provider, "clock", lambda: time.time() + 15 * 60 + 1)
    assert_error(api(sim, session), 401, "Unauthorized")


def test_session_token_ttl_knob(sim: SimulatorServer) -> None:
    knobs(sim, sessionTokenTtlSeconds=0)
    assert_error(api(sim, sign_in(sim)["refresh_token"]), 401, "Unauthorized")


def test_forged_or_tampered_session_tokens_are_401(sim: SimulatorServer) -> None:
    session = sign_in(sim)["refresh_token"]
    claims = jwt.decode(session, options={"verify_signature": False})
    admin_uid = user(sim, "admin")["metadata"]["uid"]
    forged = jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")
    unsigned = jwt.encode({**claims, "uid": admin_uid}, "", algorithm="none")
    head, _, sig = session.split(".")
    payload = json.dumps({**claims, "uid": admin_uid}, separators=(",", ":")).encode()
    tampered = f"{head}.{base64.urlsafe_b64encode(payload).rstrip(b'=').decode()}.{sig}"
    for token in (forged, unsigned, tampered, f"Bearer {session}"):
        assert_error(api(sim, token), 401, "Unauthorized")
    assert api(sim, session).status_code == 200


def test_session_tokens_of_another_simulator_are_401(
    sim: SimulatorServer, fresh_sim: SimulatorServer
) -> None:
    assert_error(api(fresh_sim, sign_in(sim)["refresh_token"]), 401, "Unauthorized")


# -- faults ---------------------------------------------------------------------------------------
def _id_claims(body: dict[str, Any]) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(body["id_token"], options={"verify_signature": False})
    return claims


FAULT_CHECKS: dict[str, Any] = {
    "forged-id-token": lambda sim, body: pytest.raises(
        jwt.InvalidSignatureError, verify, sim, body["id_token"]
    ),
    "expired-id-token": lambda sim, body: pytest.raises(
        jwt.ExpiredSignatureError, verify, sim, body["id_token"]
    ),
    "wrong-audience": lambda sim, body: pytest.raises(
        jwt.InvalidAudienceError, verify, sim, body["id_token"]
    ),
    "wrong-issuer": lambda sim, body: pytest.raises(jwt.InvalidIssuerError, verify, sim, body["id_token"]),
    "wrong-nonce": lambda sim, body: _id_claims(body)["nonce"] != "n-1" or pytest.fail("same nonce"),
    "no-email": lambda sim, body: "email" not in _id_claims(body) or pytest.fail("email present"),
    "unverified-email": lambda sim, body: (
        _id_claims(body)["email_verified"] is False or pytest.fail("verified")
    ),
    "email-mismatch": lambda sim, body: (
        jwt.decode(body["refresh_token"], options={"verify_signature": False})["email"]
        != _id_claims(body)["email"]
        or pytest.fail("same email")
    ),
}


@pytest.mark.parametrize("fault", list(FAULT_CHECKS))
def test_each_fault_changes_what_it_says_once(sim: SimulatorServer, fault: str) -> None:
    assert knobs(sim, fault=fault)["fault"] == fault
    body = sign_in(sim)
    FAULT_CHECKS[fault](sim, body)
    if fault == "forged-id-token":
        kid = httpx.get(f"{issuer(sim)}/jwks").json()["keys"][0]["kid"]
        assert jwt.get_unverified_header(body["id_token"])["kid"] == kid
    if fault == "email-mismatch":
        assert api(sim, body["refresh_token"]).json()["metadata"]["uid"] == _id_claims(body)["sub"]
    assert httpx.get(f"{sim.url}/__sim/oidc", headers={"ApiKey": API_KEY}).json()["fault"] is None
    clean = sign_in(sim)
    claims = verify(sim, clean["id_token"])
    assert claims["nonce"] == "n-1" and claims["email_verified"] is True
    assert jwt.decode(clean["refresh_token"], options={"verify_signature": False})["email"] == claims["email"]


def test_sticky_fault_stays(sim: SimulatorServer) -> None:
    knobs(sim, fault="wrong-audience", faultSticky=True)
    for _ in range(2):
        with pytest.raises(jwt.InvalidAudienceError):
            verify(sim, sign_in(sim)["id_token"])
    knobs(sim, fault=None)
    assert verify(sim, sign_in(sim)["id_token"])


def test_email_mismatch_in_code_mode_bends_the_code(sim: SimulatorServer) -> None:
    knobs(sim, sessionTokenIn="code", fault="email-mismatch")
    code = redirected(authorize(sim))["code"]
    assert jwt.decode(code, options={"verify_signature": False})["email"] != "dev1@acme.example"
    assert verify(sim, exchange(sim, code).json()["id_token"])["email"] == "dev1@acme.example"


def test_token_error_fault_answers_500_echoing_the_secret(sim: SimulatorServer) -> None:
    knobs(sim, fault="token-error")
    code = redirected(authorize(sim))["code"]
    response = exchange(sim, code)
    assert response.status_code == 500 and "internal" in response.text and SECRET in response.text
    assert exchange(sim, code).status_code == 200, "the failed exchange did not use up the code"


# -- knobs and options ----------------------------------------------------------------------------
def test_knobs_need_the_api_key(sim: SimulatorServer) -> None:
    assert_error(httpx.get(f"{sim.url}/__sim/oidc"), 401)
    dev_key = {"ApiKey": f"{API_KEY}-dev1"}
    assert_error(httpx.patch(f"{sim.url}/__sim/oidc", json={"fault": "no-email"}, headers=dev_key), 403)


def test_knobs_show_settings_never_the_secret(sim: SimulatorServer) -> None:
    view = knobs(sim, clientSecret="s3cr3t-value", idTokenTtlSeconds=60)
    assert view["clientSecretSet"] is True and view["idTokenTtlSeconds"] == 60
    got = httpx.get(f"{sim.url}/__sim/oidc", headers={"ApiKey": API_KEY})
    assert "s3cr3t-value" not in got.text and SECRET not in got.text
    assert got.json()["issuer"] == issuer(sim) and got.json()["clientId"] == CLIENT


def test_bad_knobs_are_422_and_change_nothing(sim: SimulatorServer) -> None:
    bad = {"fault": "meteor", "idTokenTtlSeconds": -1, "redirectUris": ["ftp://x"], "colour": "red"}
    response = httpx.patch(
        f"{sim.url}/__sim/oidc", json={**bad, "defaultLogin": "admin"}, headers={"ApiKey": API_KEY}
    )
    body = assert_error(response, 422)
    assert len(body["details"]["errors"]) == 4
    assert httpx.get(f"{sim.url}/__sim/oidc", headers={"ApiKey": API_KEY}).json()["defaultLogin"] == "dev1"


def test_delete_resets_to_the_options() -> None:
    options = SimulatorOptions(
        rate_limits=False, oidc_client_id="portal", oidc_session_token_in="code", oidc_default_login="viewer"
    )
    with SimulatorServer(options) as server:
        admin = {"ApiKey": API_KEY}
        httpx.put(f"{server.url}/__sim/oidc", json={"clientId": "x", "fault": "no-email"}, headers=admin)
        assert httpx.delete(f"{server.url}/__sim/oidc", headers=admin).status_code == 204
        view = httpx.get(f"{server.url}/__sim/oidc", headers=admin).json()
        assert (view["clientId"], view["sessionTokenIn"], view["defaultLogin"]) == (
            "portal",
            "code",
            "viewer",
        )
        assert view["fault"] is None and view["idTokenTtlSeconds"] == 3600


def test_key_rotation(sim: SimulatorServer) -> None:
    old = httpx.get(f"{issuer(sim)}/jwks").json()["keys"][0]["kid"]
    rotated = httpx.post(f"{sim.url}/__sim/oidc/rotate-key", json={}, headers={"ApiKey": API_KEY}).json()
    assert rotated["kids"] == [rotated["kid"], old] and rotated["kid"] != old
    token = sign_in(sim)["id_token"]
    assert jwt.get_unverified_header(token)["kid"] == rotated["kid"] and verify(sim, token)
    dropped = httpx.post(
        f"{sim.url}/__sim/oidc/rotate-key", json={"keepPrevious": False}, headers={"ApiKey": API_KEY}
    ).json()
    assert [k["kid"] for k in httpx.get(f"{issuer(sim)}/jwks").json()["keys"]] == [dropped["kid"]]


def test_secrets_and_tokens_stay_out_of_logs(sim: SimulatorServer) -> None:
    with capture_logs() as logs:
        code = redirected(authorize(sim))["code"]
        body = exchange(sim, code).json()
        exchange(sim, code, client_secret="wrong-secret")
    text = repr(logs)
    assert any(e["event"] == "oidc tokens issued" for e in logs)
    for value in (
        SECRET,
        "wrong-secret",
        code,
        body["id_token"],
        body["refresh_token"],
        body["access_token"],
    ):
        assert value not in text


def test_oidc_options_from_the_command_line() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--oidc-client-id", "portal",
            "--oidc-client-secret", "top-secret",
            "--oidc-redirect-uri", "http://a.example/cb",
            "--oidc-redirect-uri", "https://b.example/cb",
            "--oidc-default-login", "viewer",
            "--oidc-session-token-in", "code",
        ]
    )  # fmt: skip
    options = options_from_args(args)
    assert options.oidc_redirect_uris == ("http://a.example/cb", "https://b.example/cb")
    assert (options.oidc_client_id, options.oidc_default_login, options.oidc_session_token_in) == (
        "portal",
        "viewer",
        "code",
    )
    assert "top-secret" not in repr(options)
    assert options_from_args(parser.parse_args([])) == SimulatorOptions()
    with pytest.raises(ConfigError):
        SimulatorOptions(oidc_session_token_in="header")
    with pytest.raises(ConfigError):
        SimulatorOptions(oidc_redirect_uris=("not a url",))
