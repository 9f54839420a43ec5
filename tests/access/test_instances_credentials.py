"""Instance selection (C8) and the credential order (compat.md 4.3) without any server."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ingestor.access.credentials import CallerHeaders, ReauthRequiredError, resolve_credential
from ingestor.access.instances import UnknownInstanceError, select_instance
from ingestor.auth.identity import ANONYMOUS, Principal
from ingestor.config import Settings, settings_from_dict
from ingestor.palette.credentials import ApiKey, SessionToken

KEY = "access-test-api-key-1"
JANE = Principal(kind="user", subject="user:default/Jane", entity_ref="user:default/jane", email="jane@x.io")
SERVICE = Principal(kind="service", subject="portal")


def settings(*names: str | None, fallback: bool = True) -> Settings:
    envs = []
    for name in names:
        env = {"url": "https://palette.example.com", "apiToken": KEY, "apiTokenFallback": fallback}
        if name is not None:
            env["name"] = name
        envs.append(env)
    return settings_from_dict({"spectrocloud": {"environments": envs}}, env={})


class Sessions:
    def __init__(self, by_user: dict[tuple[str, str], str], by_email: dict[tuple[str, str], str]) -> None:
        self.by_user = by_user
        self.by_email = by_email
        self.dropped: list[tuple[str, str]] = []

    async def get(self, user_ref: str, instance: str) -> str | None:
        return self.by_user.get((user_ref, instance))

    async def get_by_email(self, email: str, instance: str) -> tuple[str, str] | None:
        for (ref, inst), token in self.by_user.items():
            if inst == instance and self.by_email.get((ref, inst)) == email.lower():
                return ref, token
        return None

    async def drop(self, user_ref: str, instance: str) -> None:
        self.dropped.append((user_ref, instance))


def test_absent_instance_is_the_first_and_names_match_exactly() -> None:
    s = settings("prod", "staging")
    assert select_instance(s, None).name == "prod"
    assert select_instance(s, ["staging"]).name == "staging"
    for bad in ("Staging", "", "prod "):
        with pytest.raises(UnknownInstanceError) as caught:
            select_instance(s, bad)
        assert "'prod', 'staging'" in str(caught.value)
    with pytest.raises(UnknownInstanceError, match="2 times"):
        select_instance(s, ["prod", "prod"])


def test_an_unnamed_environment_is_only_the_default() -> None:
    s = settings(None)
    assert select_instance(s, None).name is None
    with pytest.raises(UnknownInstanceError):
        select_instance(s, "x")


async def test_stored_session_comes_first() -> None:
    env = settings("prod").spectrocloud.environments[0]
    store = Sessions({("user:default/jane", "prod"): "stored-session"}, {})
    resolved = await resolve_credential(
        JANE,
        env,
        CallerHeaders(token="header-token"),
        sessions=store,
        trusts_email_header=False,
        allow_api_key=True,
    )
    assert resolved.source == "session" and resolved.credential == SessionToken("stored-session")
    assert resolved.session_user == "user:default/jane" and not resolved.reauth_hint


async def test_header_token_then_api_key_then_reauth() -> None:
    env = settings("prod").spectrocloud.environments[0]
    store = Sessions({}, {})
    header = await resolve_credential(
        JANE,
        env,
        CallerHeaders(token="opaque"),
        sessions=store,
        trusts_email_header=False,
        allow_api_key=True,
    )
    assert header.source == "header" and header.credential == SessionToken("opaque")
    fallback = await resolve_credential(
        JANE, env, CallerHeaders(), sessions=store, trusts_email_header=False, allow_api_key=True
    )
    assert fallback.source == "api-key" and fallback.credential == ApiKey(KEY) and not fallback.reauth_hint
    with pytest.raises(ReauthRequiredError) as caught:
        await resolve_credential(
            JANE, env, CallerHeaders(), sessions=store, trusts_email_header=False, allow_api_key=False
        )
    assert KEY not in str(caught.value)


async def test_named_user_without_a_session_gets_the_reauth_hint() -> None:
    env = settings("prod").spectrocloud.environments[0]
    resolved = await resolve_credential(
        JANE,
        env,
        CallerHeaders(user_email="jane@x.io"),
        sessions=Sessions({}, {}),
        trusts_email_header=False,
        allow_api_key=True,
    )
    assert resolved.source == "api-key" and resolved.reauth_hint


async def test_an_rs256_id_token_is_never_forwarded() -> None:
    env = settings("prod").spectrocloud.environments[0]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    id_token = jwt.encode({"sub": "x"}, key, algorithm="RS256")
    resolved = await resolve_credential(
        JANE, env, CallerHeaders(token=id_token), sessions=None, trusts_email_header=False, allow_api_key=True
    )
    assert resolved.source == "api-key" and resolved.reauth_hint
    hs256 = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
    forwarded = await resolve_credential(
        JANE, env, CallerHeaders(token=hs256), sessions=None, trusts_email_header=False, allow_api_key=False
    )
    assert forwarded.source == "header"


async def test_the_email_header_never_selects_someone_elses_session() -> None:
    env = settings("prod").spectrocloud.environments[0]
    store = Sessions(
        {("user:default/bob", "prod"): "bobs-session"}, {("user:default/bob", "prod"): "bob@x.io"}
    )
    for principal in (JANE, SERVICE, ANONYMOUS):
        resolved = await resolve_credential(
            principal,
            env,
            CallerHeaders(user_email="bob@x.io"),
            sessions=store,
            trusts_email_header=False,
            allow_api_key=True,
        )
        assert resolved.source == "api-key"


async def test_a_trusted_service_may_act_for_a_named_user() -> None:
    env = settings("prod").spectrocloud.environments[0]
    store = Sessions(
        {("user:default/bob", "prod"): "bobs-session"}, {("user:default/bob", "prod"): "bob@x.io"}
    )
    resolved = await resolve_credential(
        SERVICE,
        env,
        CallerHeaders(user_email="Bob@X.io"),
        sessions=store,
        trusts_email_header=True,
        allow_api_key=False,
    )
    assert resolved.source == "session" and resolved.session_user == "user:default/bob"


def test_caller_headers_repr_hides_values() -> None:
    assert "secret" not in repr(CallerHeaders(token="secret-token", user_email="secret@x.io"))
