"""Sign in with Palette over sockets: our service, the simulator's OIDC side, a scripted browser."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt
import pytest

from ingestor.api.session_repo import SqlSessionRepository
from ingestor.auth.oidc import pkce_challenge
from ingestor.auth.sessions import SessionCipher, SessionVault
from ingestor.store.db import Database
from tests.plugin.test_no_leaks import LogRecorder, assert_clean, logs  # noqa: F401 (fixture)
from tests.signin.conftest import (
    APP_ORIGIN,
    BASE,
    CLIENT_SECRET,
    SESSION_KEY,
    SIM_KEY,
    Browser,
    Replica,
    SignInWorld,
    popup_message,
    popup_origin,
    query_of,
    with_query,
)

DEV1 = "user:default/dev1"
FAILED = "Sign-in with SpectroCloud Palette failed"


def vault_token(world: SignInWorld, user: str = DEV1) -> str | None:
    """The stored Palette session of ``user`` (read straight from the shared store)."""
    db = Database(f"sqlite:///{world.tmp_path / 'store' / 'ingestor.db'}")
    try:
        vault = SessionVault(SqlSessionRepository(db), SessionCipher(SESSION_KEY))
        return asyncio.run(vault.get(user, "main"))
    finally:
        db.close()


def my_projects(world: SignInWorld, replica: Replica, user: str = DEV1) -> httpx.Response:
    token = world.backstage.mint(user)
    return httpx.get(
        f"{replica.url}/api/spectrocloud/users/me/projects",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def palette_projects(world: SignInWorld, session: str) -> set[str]:
    me = httpx.get(world.sim.url + "/v1/users/me", headers={"Authorization": session}, timeout=30).json()
    return set(me["status"]["projectPermissions"])


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def assert_failed(response: httpx.Response, world: SignInWorld, *, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    message = popup_message(response)
    assert "response" not in message and message["error"]["message"]
    assert vault_token(world) is None, "a failed sign-in stored a session"
    return message


def test_sign_in_fills_the_session_store_and_the_plugin_api_uses_it(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    assert my_projects(world, replica).json()["requiresReAuth"] is True  # no session yet, no fallback

    done = world.sign_in(browser, replica)

    assert done.status_code == 200, done.text
    assert popup_origin(done) == APP_ORIGIN
    response = popup_message(done)["response"]
    assert response["profile"] == {
        "email": "dev1@acme.example",
        "displayName": response["profile"]["displayName"],
    }
    assert response["profile"]["displayName"]
    info = response["providerInfo"]
    assert jwt.get_unverified_header(info["idToken"])["alg"] == "RS256"  # never the Palette token (A7, A15)
    assert info["accessToken"] == info["idToken"] and 0 < info["expiresInSeconds"] <= 15 * 60
    assert response["userEntityRef"] == DEV1 and info["scope"].split()[0] == "openid"
    session = vault_token(world)
    assert session is not None and jwt.get_unverified_header(session)["alg"] == "HS256"
    assert session not in done.text and session not in str(done.headers)
    # the popup page: strict CSP with a script nonce, nothing cached, no referrer
    assert "script-src 'nonce-" in done.headers["content-security-policy"]
    assert done.headers["cache-control"] == "no-store" and done.headers["referrer-policy"] == "no-referrer"
    cookies = set_cookies(done)
    assert {"spectrocloud-session", "spectrocloud-signin"} <= set(cookies)
    kept = cookies["spectrocloud-session"].lower()
    assert "httponly" in kept and "samesite=lax" in kept and f"path={BASE}".lower() in kept
    assert "secure" not in kept  # plain http here; https callbacks make it Secure
    assert (
        "max-age=0" in cookies["spectrocloud-signin"].lower()
        or "expires=" in cookies["spectrocloud-signin"].lower()
    )

    answer = my_projects(world, replica)
    assert answer.status_code == 200, answer.text
    assert {p["uid"] for p in answer.json()["projects"]} == palette_projects(world, session)


def test_refresh_and_logout(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    assert world.sign_in(browser, replica).status_code == 200
    refresh = f"{replica.url}{BASE}/refresh"

    assert browser.get(refresh).status_code == 400  # no X-Requested-With: refused (CSRF)
    again = browser.xhr("GET", refresh)
    assert again.status_code == 200, again.text
    assert again.json()["profile"]["email"] == "dev1@acme.example"
    assert again.json()["providerInfo"]["expiresInSeconds"] > 0

    out = browser.xhr("POST", f"{replica.url}{BASE}/logout")
    assert out.status_code == 200
    assert vault_token(world) is None
    assert my_projects(world, replica).json()["requiresReAuth"] is True
    assert browser.xhr("GET", refresh).status_code == 401


def test_refresh_trusts_no_client_token(world: SignInWorld) -> None:
    """A1: a made-up cookie or an ID token sent by the client never yields a session."""
    (replica,) = world.start()
    browser = world.browser()
    browser.client.cookies.set("spectrocloud-session", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
    answer = browser.xhr("GET", f"{replica.url}{BASE}/refresh")
    assert answer.status_code == 401 and set(answer.json()) == {"error"}


def test_redirect_flow_returns_to_an_allowed_url(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    back = world.begin(browser, replica, flow="redirect", redirectUrl=f"{APP_ORIGIN}/catalog").headers[
        "location"
    ]
    done = browser.get(back)
    assert done.status_code == 302 and done.headers["location"] == f"{APP_ORIGIN}/catalog"
    assert vault_token(world) is not None
    refused = browser.get(
        f"{replica.url}{BASE}/start",
        params={"origin": APP_ORIGIN, "flow": "redirect", "redirectUrl": "https://evil.example/x"},
    )
    assert refused.status_code == 400 and set(refused.json()) == {"error"}


@pytest.mark.parametrize(
    "params",
    [
        {"origin": "https://evil.example"},
        {"origin": APP_ORIGIN, "flow": "implicit"},
        {"origin": APP_ORIGIN, "prompt": "always"},
        {"origin": APP_ORIGIN, "instance": "nowhere"},
    ],
)
def test_start_refuses_bad_input(world: SignInWorld, params: dict[str, str]) -> None:
    (replica,) = world.start()
    answer = world.browser().get(f"{replica.url}{BASE}/start", params=params)
    assert answer.status_code == 400 and set(answer.json()) == {"error"}, answer.text


def test_a_backstage_user_starting_the_flow_owns_the_session(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    someone = "user:default/someone.else"
    bearer = {"Authorization": f"Bearer {world.backstage.mint(someone)}"}
    started = browser.get(f"{replica.url}{BASE}/start", params={"origin": APP_ORIGIN}, headers=bearer)
    assert started.status_code == 302
    back = browser.get(started.headers["location"]).headers["location"]
    assert browser.get(back).status_code == 200
    assert vault_token(world, someone) is not None and vault_token(world, DEV1) is None
    assert my_projects(world, replica, someone).status_code == 200
    forged = {"Authorization": "Bearer not-a-backstage-token"}
    assert (
        browser.get(f"{replica.url}{BASE}/start", params={"origin": APP_ORIGIN}, headers=forged).status_code
        == 401
    )


# --- state -----------------------------------------------------------------------------------------------


def test_a_wrong_state_is_refused(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    back = world.begin(browser, replica).headers["location"]
    state = query_of(back)["state"]
    flow_id, _, mac = state.partition(".")
    for forged in (f"{flow_id}.{mac[::-1]}", f"x{flow_id}.{mac}", "", flow_id):
        message = assert_failed(browser.get(with_query(back, state=forged)), world)
        assert message["error"]["message"] == FAILED
    # the genuine state still works once (the forgeries did not consume it)
    assert browser.get(back).status_code == 200


def test_a_replayed_callback_is_refused(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    back = world.begin(browser, replica).headers["location"]
    binding = browser.client.cookies.get("spectrocloud-signin")
    assert browser.get(back).status_code == 200
    attacker = Browser()
    attacker.client.cookies.set("spectrocloud-signin", binding or "")
    try:
        replay = attacker.get(back)
    finally:
        attacker.close()
    assert replay.status_code == 400 and popup_message(replay)["error"]["message"] == FAILED


def test_a_callback_in_another_browser_is_refused(world: SignInWorld) -> None:
    (replica,) = world.start()
    victim, attacker = world.browser(), world.browser()
    back = world.begin(attacker, replica).headers["location"]  # the attacker's own code and state...
    world.begin(victim, replica)  # ...pushed into a victim who has a flow of her own
    assert_failed(victim.get(back), world)
    fresh = world.browser()
    assert_failed(fresh.get(back), world)


# --- Palette's answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        "wrong-nonce",
        "forged-id-token",
        "expired-id-token",
        "wrong-audience",
        "wrong-issuer",
        "no-email",
        "unverified-email",
        "email-mismatch",
    ],
)
def test_an_unacceptable_id_token_or_session_token_is_refused(world: SignInWorld, fault: str) -> None:
    (replica,) = world.start()
    world.oidc(fault=fault)
    message = assert_failed(world.sign_in(world.browser(), replica), world)
    assert message["error"]["message"] == FAILED


def test_a_wrong_pkce_verifier_fails_at_palette(world: SignInWorld) -> None:
    (replica,) = world.start()
    browser = world.browser()
    started = browser.get(f"{replica.url}{BASE}/start", params={"origin": APP_ORIGIN})
    authorize = started.headers["location"]
    assert query_of(authorize)["code_challenge_method"] == "S256"
    tampered = with_query(authorize, code_challenge=pkce_challenge("another-verifier-" + "x" * 40))
    back = browser.get(tampered).headers["location"]
    assert_failed(browser.get(back), world)


def test_a_token_endpoint_error_is_not_shown(world: SignInWorld) -> None:
    (replica,) = world.start()
    world.oidc(fault="token-error")
    done = world.sign_in(world.browser(), replica)
    message = assert_failed(done, world, status=502)
    assert "unavailable" in message["error"]["message"]
    assert "internal" not in done.text.lower() and CLIENT_SECRET not in done.text


def test_the_code_itself_may_be_the_session_token(world: SignInWorld) -> None:
    (replica,) = world.start()
    world.oidc(sessionTokenIn="code")
    browser = world.browser()
    back = world.begin(browser, replica).headers["location"]
    code = query_of(back)["code"]
    assert browser.get(back).status_code == 200
    assert vault_token(world) == code
    assert my_projects(world, replica).status_code == 200


def test_two_replicas_share_flows_and_sessions(world: SignInWorld) -> None:
    first, second = world.start(replicas=2)
    browser = world.browser()
    done = world.sign_in(browser, first, callback_on=second)
    assert done.status_code == 200, done.text
    assert my_projects(world, first).status_code == 200  # stored by the second, used by the first
    assert browser.xhr("GET", f"{first.url}{BASE}/refresh").status_code == 200
    assert browser.xhr("POST", f"{first.url}{BASE}/logout").status_code == 200
    assert my_projects(world, second).json()["requiresReAuth"] is True


def test_explicit_endpoints_and_a_derived_token_url(world: SignInWorld) -> None:
    """No discovery: issuer and JWKS given, the token URL derived from the authorization URL's final /auth."""
    issuer = world.authorization_url.rsplit("/", 1)[0]
    (replica,) = world.start(oidc={"issuer": issuer, "jwksUrl": f"{issuer}/jwks"})
    assert world.sign_in(world.browser(), replica).status_code == 200
    assert vault_token(world) is not None


def test_no_token_reaches_a_log_line(world: SignInWorld, logs: LogRecorder) -> None:  # noqa: F811
    (replica,) = world.start()
    browser = world.browser()
    back = world.begin(browser, replica).headers["location"]
    code, state = query_of(back)["code"], query_of(back)["state"]
    done = browser.get(back)
    session = vault_token(world)
    assert session is not None
    id_token = popup_message(done)["response"]["providerInfo"]["idToken"]
    assert browser.xhr("GET", f"{replica.url}{BASE}/refresh").status_code == 200
    assert browser.xhr("POST", f"{replica.url}{BASE}/logout").status_code == 200
    world.oidc(fault="token-error")
    world.sign_in(world.browser(), replica)
    secrets = {
        "session token": session,
        "code": code,
        "state": state,
        "ID token": id_token,
        "client secret": CLIENT_SECRET,
        "e-mail": "dev1@acme.example",
    }
    assert "signin.completed" in logs.text() and "signin.failed" in logs.text()
    assert_clean("the logs", logs.text(), secrets)


def test_cookies_are_secure_behind_https(world: SignInWorld) -> None:
    callback = "https://ingestor.example.com/api/auth/spectrocloud/handler/frame"
    (replica,) = world.start(oidc={"callbackUrl": callback})
    started = world.browser().get(f"{replica.url}{BASE}/start", params={"origin": APP_ORIGIN})
    assert started.status_code == 302
    assert query_of(started.headers["location"])["redirect_uri"] == callback
    cookie = set_cookies(started)["spectrocloud-signin"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert f"path={BASE}/handler".lower() in cookie


def test_the_app_origin_may_call_refresh_with_its_cookie(world: SignInWorld) -> None:
    (replica,) = world.start()
    preflight = httpx.options(
        f"{replica.url}{BASE}/refresh",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-requested-with",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    other = httpx.options(
        f"{replica.url}{BASE}/refresh",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in other.headers


async def test_mcp_tools_act_with_the_signed_in_session(world: SignInWorld) -> None:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    (replica,) = world.start()
    token = world.backstage.mint(DEV1)

    async def projects() -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(replica.url + "/mcp", http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            return await session.call_tool("list_spectrocloud_projects", {})

    before = await projects()
    assert before.is_error  # no session and no API-key fallback for users
    await asyncio.to_thread(lambda: world.sign_in(world.browser(), replica))
    after = await projects()
    assert not after.is_error, after.content
    session = await asyncio.to_thread(vault_token, world)
    assert session is not None
    got = {p["uid"] for p in after.structured_content["projects"]}
    seen = await asyncio.to_thread(
        httpx.post,
        world.sim.url + "/v1/dashboard/projects",
        json={"filter": {}, "sort": []},
        headers={"Authorization": session},
        timeout=30,
    )
    assert seen.status_code == 200, seen.text
    assert got == {item["metadata"]["uid"] for item in seen.json()["items"]}
    every = httpx.get(world.sim.url + "/__sim/data/projects", headers={"ApiKey": SIM_KEY}, timeout=30)
    assert got < set(every.json()["uids"])  # dev1's own view, not the API key's
