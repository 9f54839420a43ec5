"""The protocol side of "Sign in with Palette": PKCE, the signed state, sealed flow and cookie records,
the authorization URL, endpoint derivation, scopes, ID-token checks, the session token and the user ref."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ingestor.auth.jwks import JwksCache, JwksUnavailableError
from ingestor.auth.oidc import (
    COOKIE_CONTEXT,
    FLOW_CONTEXT,
    LEEWAY_SECONDS,
    FlowSecrets,
    IdentityClaims,
    SignedIn,
    SignInError,
    StateSigner,
    authorize_url,
    default_discovery_url,
    derived_token_url,
    merge_scopes,
    palette_session_token,
    pkce_challenge,
    random_token,
    user_ref_from_email,
    verify_id_token,
)
from ingestor.auth.sessions import SessionCipher

ISSUER = "https://palette.test/v1/oidc/tenant/abc"
CLIENT_ID = "ingestor-client"
KID = "palette-rs-1"
EC_KID = "palette-ec-1"
NONCE = "nonce-5f2c9a7e1b"
EMAIL = "Jane.Doe@x.io"
PALETTE_SECRET = "palette-hmac-secret-0123456789abcdef"  # 36 bytes: no short-key warning from PyJWT
CIPHER_KEY = "cipher-key-for-the-tests-7d41"


# --- keys, tokens and a JWKS fetcher --------------------------------------------------------------


@pytest.fixture(scope="module")
def palette_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str = KID) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "alg": "RS256", "use": "sig"}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str = EC_KID) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "alg": "ES256", "use": "sig"}


@dataclass
class FakeFetcher:
    """Serves a fixed JWK set (or fails as an outage) and counts its calls."""

    keys: list[dict[str, Any]]
    fail: bool = False
    calls: int = field(default=0)

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        if self.fail:
            raise JwksUnavailableError("simulated JWKS outage")
        return {"keys": self.keys}


@pytest.fixture
def fetcher(palette_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> FakeFetcher:
    return FakeFetcher([rsa_jwk(palette_key), ec_jwk(ec_key)])


@pytest.fixture
def keys(fetcher: FakeFetcher) -> JwksCache:
    return JwksCache(fetcher)


def id_claims(**overrides: Any) -> dict[str, Any]:
    """Valid ID-token claims changed by ``overrides`` (a value of ``None`` drops the claim)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "palette-user-42",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "nonce": NONCE,
        "email": EMAIL,
        "email_verified": True,
        "name": "Jane Doe",
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def mint(key: Any, claims: Mapping[str, Any], *, alg: str = "RS256", kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(dict(claims), key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_made(header: Mapping[str, Any], claims: Mapping[str, Any], key: bytes | None = None) -> str:
    """A token PyJWT would not produce: unsigned (``key`` None) or HMAC-SHA256 with ``key``."""
    signing_input = f"{b64(json.dumps(dict(header)).encode())}.{b64(json.dumps(dict(claims)).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def palette_token(**claims: Any) -> str:
    """An HS256 Palette session token (signed with a secret only Palette would know)."""
    return jwt.encode({"exp": int(time.time()) + 3600, **claims}, PALETTE_SECRET, algorithm="HS256")


def identity(email: str | None = EMAIL) -> IdentityClaims:
    return IdentityClaims(
        subject="palette-user-42", email=email, email_verified=True, name="Jane Doe", expires_at=0
    )


async def verify(token: str, keys: JwksCache, *, nonce: str = NONCE) -> IdentityClaims:
    return await verify_id_token(token, keys, issuer=ISSUER, client_id=CLIENT_ID, nonce=nonce)


# --- PKCE -----------------------------------------------------------------------------------------


def test_pkce_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_random_verifiers_are_valid_pkce_verifiers_with_unpadded_url_safe_challenges() -> None:
    verifiers = {random_token() for _ in range(20)}
    assert len(verifiers) == 20
    for verifier in verifiers:
        assert 43 <= len(verifier) <= 128  # RFC 7636 §4.1
        challenge = pkce_challenge(verifier)
        assert len(challenge) == 43
        assert "=" not in challenge and "+" not in challenge and "/" not in challenge
        assert challenge == b64(hashlib.sha256(verifier.encode()).digest())


# --- the signed state -----------------------------------------------------------------------------


def test_state_round_trips_and_is_checked_by_every_replica() -> None:
    flow_id, binding = random_token(16), random_token()
    state = StateSigner("shared-secret").sign(flow_id, binding)
    assert state.startswith(f"{flow_id}.")
    assert StateSigner("shared-secret").verify(state, binding) == flow_id
    assert "shared-secret" not in repr(StateSigner("shared-secret"))


def test_state_for_another_binding_or_from_another_secret_is_refused() -> None:
    flow_id, binding = random_token(16), random_token()
    signer = StateSigner("secret-one")
    state = signer.sign(flow_id, binding)
    assert signer.verify(state, random_token()) is None
    assert signer.verify(state, "") is None
    assert StateSigner("secret-two").verify(state, binding) is None
    assert signer.verify(StateSigner("secret-two").sign(flow_id, binding), binding) is None


def test_state_with_a_changed_flow_id_or_mac_is_refused() -> None:
    flow_id, binding = random_token(16), random_token()
    signer = StateSigner("secret")
    state = signer.sign(flow_id, binding)
    _, _, mac = state.partition(".")
    assert signer.verify(f"{random_token(16)}.{mac}", binding) is None
    changed = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    assert signer.verify(f"{flow_id}.{changed}", binding) is None
    assert signer.verify(f"{flow_id}.{mac[:-1]}", binding) is None
    assert signer.verify(f"{state}.extra", binding) is None


@pytest.mark.parametrize(
    "state",
    ["", "no-dot-at-all", ".only-a-mac", "only-a-flow.", ".", "a" * 10_000 + "." + "b" * 43],
    ids=["empty", "dotless", "no-flow", "no-mac", "dot", "huge"],
)
def test_malformed_state_is_refused(state: str) -> None:
    assert StateSigner("secret").verify(state, "binding") is None


def test_state_longer_than_the_limit_is_refused_even_when_its_mac_is_right() -> None:
    signer = StateSigner("secret")
    state = signer.sign("f" * 300, "binding")
    assert signer.verify(state, "binding") is None


@pytest.mark.parametrize("mac", ["é", "ü" * 43, "macé"], ids=["one-char", "mac-length", "suffix"])
def test_state_with_a_non_ascii_mac_is_refused_not_raised(mac: str) -> None:
    assert StateSigner("secret").verify(f"flow.{mac}", "binding") is None


# --- sealed flow secrets and the sign-in cookie ---------------------------------------------------


def flow_secrets() -> FlowSecrets:
    return FlowSecrets(
        nonce="nonce-secret-81d2",
        verifier="verifier-secret-4b7e",
        origin="https://backstage.test",
        flow="popup",
        redirect_url=None,
        scope="openid email",
        user_ref="user:default/jane.doe",
    )


def signed_in() -> SignedIn:
    return SignedIn(
        user_ref="user:default/jane.doe",
        instance="prod",
        email="jane.doe@x.io",
        name="Jane Doe",
        expires_at=1_900_000_000,
        id_token="id-token-secret-eyJhbGci",
    )


def test_flow_secrets_round_trip() -> None:
    cipher, flow_id = SessionCipher(CIPHER_KEY), random_token(16)
    secrets_ = flow_secrets()
    blob = secrets_.seal(cipher, flow_id)
    assert b"nonce-secret-81d2" not in blob and b"verifier-secret-4b7e" not in blob
    assert FlowSecrets.open(cipher, blob, flow_id) == secrets_
    assert FlowSecrets.open(SessionCipher(CIPHER_KEY), blob, flow_id) == secrets_


def test_flow_secrets_open_only_with_the_same_key_and_flow_id() -> None:
    cipher, flow_id = SessionCipher(CIPHER_KEY), random_token(16)
    blob = flow_secrets().seal(cipher, flow_id)
    assert FlowSecrets.open(SessionCipher("another-key"), blob, flow_id) is None
    assert FlowSecrets.open(cipher, blob, random_token(16)) is None
    assert FlowSecrets.open(cipher, blob[:-1] + bytes([blob[-1] ^ 1]), flow_id) is None
    assert FlowSecrets.open(cipher, blob[:20], flow_id) is None
    assert FlowSecrets.open(cipher, b"", flow_id) is None


def test_signed_in_round_trip_is_a_cookie_safe_string() -> None:
    cipher = SessionCipher(CIPHER_KEY)
    value = signed_in().seal(cipher)
    assert value.isascii() and all(c.isalnum() or c in "-_" for c in value)
    assert "jane.doe@x.io" not in value and "id-token-secret" not in value
    assert SignedIn.open(cipher, value) == signed_in()
    without_token = SignedIn("user:default/jane.doe", "", None, None, 1_900_000_000)
    assert SignedIn.open(cipher, without_token.seal(cipher)) == without_token


def _flip(value: str, index: int) -> str:
    blob = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    blob[index] ^= 0x01
    return b64(bytes(blob))


def test_signed_in_cookie_opens_only_with_the_same_key_and_untampered() -> None:
    cipher = SessionCipher(CIPHER_KEY)
    value = signed_in().seal(cipher)
    assert SignedIn.open(SessionCipher("another-key"), value) is None
    for index in (0, 5, 20, -1):  # version byte, nonce, ciphertext, tag
        assert SignedIn.open(cipher, _flip(value, index)) is None
    assert SignedIn.open(cipher, value[: len(value) // 2]) is None


def test_a_flow_blob_is_not_a_cookie_and_a_cookie_is_not_a_flow_blob() -> None:
    cipher, flow_id = SessionCipher(CIPHER_KEY), random_token(16)
    flow_blob = flow_secrets().seal(cipher, flow_id)
    assert SignedIn.open(cipher, b64(flow_blob)) is None
    cookie = signed_in().seal(cipher)
    cookie_blob = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    assert FlowSecrets.open(cipher, cookie_blob, "") is None


@pytest.mark.parametrize(
    "value",
    ["", "!!!", "é-not-ascii", "a", "AAAA", "%00%ff", "x" * 5000, b64(b"\x01" + b"\x00" * 40)],
    ids=["empty", "punctuation", "non-ascii", "one-char", "short", "percent", "long", "zero-blob"],
)
def test_garbage_cookie_values_open_to_none(value: str) -> None:
    assert SignedIn.open(SessionCipher(CIPHER_KEY), value) is None


@pytest.mark.parametrize(
    "plaintext",
    ["not json", "[1, 2]", "{}", '{"user_ref": "user:default/x"}', '{"unexpected": 1}', "null"],
)
def test_cookie_sealed_with_our_key_but_of_the_wrong_shape_opens_to_none(plaintext: str) -> None:
    cipher = SessionCipher(CIPHER_KEY)
    value = b64(cipher.seal(plaintext, COOKIE_CONTEXT, ""))
    assert SignedIn.open(cipher, value) is None


def test_reprs_never_show_secrets_or_the_email() -> None:
    flow = repr(flow_secrets())
    assert "nonce-secret-81d2" not in flow and "verifier-secret-4b7e" not in flow
    assert "https://backstage.test" in flow  # the non-secret fields are still there to debug with
    cookie = repr(signed_in())
    assert "jane.doe@x.io" not in cookie and "id-token-secret" not in cookie
    assert "user:default/jane.doe" in cookie
    assert EMAIL not in repr(identity())
    assert CIPHER_KEY not in repr(SessionCipher(CIPHER_KEY))
    assert FLOW_CONTEXT != COOKIE_CONTEXT


# --- the authorization URL ------------------------------------------------------------------------


def _authorize(base: str, prompt: str | None = None) -> str:
    return authorize_url(
        base,
        client_id="ingestor client",
        redirect_uri="https://ingestor.test/api/signin/callback?instance=prod&x=1",
        scope="openid email profile",
        state="flow-id.mac_-+/=",
        nonce="nonce&value=1",
        challenge=pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        prompt=prompt,
    )


def test_authorize_url_keeps_the_existing_query_and_adds_every_parameter() -> None:
    url = _authorize("https://palette.test/v1/oidc/tenant/abc/auth?tenant=abc&lang=en#frag")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "palette.test", "/v1/oidc/tenant/abc/auth")
    assert parts.fragment == ""
    pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    assert pairs[:2] == [("tenant", "abc"), ("lang", "en")]
    assert dict(pairs) == {
        "tenant": "abc",
        "lang": "en",
        "client_id": "ingestor client",
        "redirect_uri": "https://ingestor.test/api/signin/callback?instance=prod&x=1",
        "response_type": "code",
        "scope": "openid email profile",
        "state": "flow-id.mac_-+/=",
        "nonce": "nonce&value=1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    assert len(pairs) == len(dict(pairs))  # each parameter once


def test_authorize_url_encodes_values() -> None:
    query = urlsplit(_authorize("https://palette.test/auth")).query
    assert (
        "redirect_uri=https%3A%2F%2Fingestor.test%2Fapi%2Fsignin%2Fcallback%3Finstance%3Dprod%26x%3D1"
        in query
    )
    assert "nonce=nonce%26value%3D1" in query
    assert "state=flow-id.mac_-%2B%2F%3D" in query
    assert " " not in query


def test_authorize_url_without_a_query_starts_cleanly() -> None:
    url = _authorize("https://palette.test/v1/oidc/tenant/abc/auth")
    assert url.startswith("https://palette.test/v1/oidc/tenant/abc/auth?client_id=")
    assert "?&" not in url and "&&" not in url


@pytest.mark.parametrize("prompt", [None, ""])
def test_authorize_url_has_no_prompt_unless_given(prompt: str | None) -> None:
    query = parse_qs(urlsplit(_authorize("https://palette.test/auth", prompt)).query)
    assert "prompt" not in query


def test_authorize_url_passes_a_given_prompt() -> None:
    query = parse_qs(urlsplit(_authorize("https://palette.test/auth", "login")).query)
    assert query["prompt"] == ["login"]


# --- endpoint derivation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "token"),
    [
        ("https://palette.test/v1/oidc/tenant/abc/auth", "https://palette.test/v1/oidc/tenant/abc/token"),
        ("https://palette.test/v1/oidc/tenant/abc/auth/", "https://palette.test/v1/oidc/tenant/abc/token"),
        ("https://palette.test/v1/oidc/tenant/abc/auth?x=1", "https://palette.test/v1/oidc/tenant/abc/token"),
        ("https://auth.palette.test/v1/auth", "https://auth.palette.test/v1/token"),
        ("https://auth.example.com/auth", "https://auth.example.com/token"),
        ("http://127.0.0.1:8080/auth", "http://127.0.0.1:8080/token"),
    ],
)
def test_derived_token_url_replaces_a_final_auth_segment(authorization: str, token: str) -> None:
    assert derived_token_url(authorization) == token


@pytest.mark.parametrize(
    "authorization",
    [
        "https://palette.test/v1/oidc/authorize",
        "https://auth.example.com/x",
        "https://auth.example.com",
        "https://auth.example.com/",
        "https://palette.test/auth/x",
        "https://palette.test/v1/oauth",
        "https://palette.test/v1/AUTH",
    ],
)
def test_derived_token_url_is_none_unless_the_final_segment_is_auth(authorization: str) -> None:
    assert derived_token_url(authorization) is None


@pytest.mark.parametrize(
    ("authorization", "discovery"),
    [
        (
            "https://palette.test/v1/oidc/tenant/abc/auth",
            "https://palette.test/v1/oidc/tenant/abc/.well-known/openid-configuration",
        ),
        (
            "https://palette.test/v1/oidc/tenant/abc/auth/?x=1#f",
            "https://palette.test/v1/oidc/tenant/abc/.well-known/openid-configuration",
        ),
        ("https://auth.example.com/authorize", "https://auth.example.com/.well-known/openid-configuration"),
    ],
)
def test_default_discovery_url_is_next_to_the_authorization_endpoint(
    authorization: str, discovery: str
) -> None:
    assert default_discovery_url(authorization) == discovery


# --- scopes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "requested", "merged"),
    [
        ("openid email", None, "openid email"),
        ("openid email", "", "openid email"),
        ("openid email", "profile email", "openid email profile"),
        ("openid", "profile,groups profile , groups", "openid profile groups"),
        ("email", None, "openid email"),
        ("", None, "openid"),
        ("email", "openid", "email openid"),
        ("openid", "ok bad<tag> a/b $x ok", "openid ok"),
        ("openid", "x" * 64 + " " + "y" * 65, "openid " + "x" * 64),
        ("openid", "urn:palette:scope tenant.read a_b-c", "openid urn:palette:scope tenant.read a_b-c"),
    ],
)
def test_merge_scopes(configured: str, requested: str | None, merged: str) -> None:
    result = merge_scopes(configured, requested)
    assert result == merged
    assert result.split().count("openid") == 1


# --- the ID token ---------------------------------------------------------------------------------


async def test_valid_id_token_gives_its_identity(palette_key: rsa.RSAPrivateKey, keys: JwksCache) -> None:
    claims = id_claims(email=f"  {EMAIL} ")
    found = await verify(mint(palette_key, claims), keys)
    assert found == IdentityClaims(
        subject="palette-user-42",
        email=EMAIL,
        email_verified=True,
        name="Jane Doe",
        expires_at=claims["exp"],
    )


async def test_es256_id_token_is_accepted(ec_key: ec.EllipticCurvePrivateKey, keys: JwksCache) -> None:
    found = await verify(mint(ec_key, id_claims(), alg="ES256", kid=EC_KID), keys)
    assert found.email == EMAIL


@pytest.mark.parametrize(
    ("value", "verified"),
    [(True, True), (False, False), (None, False), ("true", False), (1, False)],
    ids=["true", "false", "missing", "string-true", "one"],
)
async def test_email_verified_is_true_only_for_a_boolean_true(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache, value: Any, verified: bool
) -> None:
    found = await verify(mint(palette_key, id_claims(email_verified=value)), keys)
    assert found.email_verified is verified


@pytest.mark.parametrize(
    "overrides",
    [{"email": None, "name": None}, {"email": "   ", "name": "  "}, {"email": 42, "name": ["x"]}],
    ids=["missing", "blank", "not-text"],
)
async def test_missing_or_unusable_email_and_name_are_none(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache, overrides: dict[str, Any]
) -> None:
    found = await verify(mint(palette_key, id_claims(**overrides)), keys)
    assert (found.email, found.name) == (None, None)
    assert found.subject == "palette-user-42"


async def test_expiry_within_the_leeway_is_accepted(palette_key: rsa.RSAPrivateKey, keys: JwksCache) -> None:
    now = int(time.time())
    claims = id_claims(iat=now - 600, exp=now - LEEWAY_SECONDS // 2)
    assert (await verify(mint(palette_key, claims), keys)).expires_at == claims["exp"]


async def test_azp_of_this_client_is_accepted(palette_key: rsa.RSAPrivateKey, keys: JwksCache) -> None:
    found = await verify(mint(palette_key, id_claims(azp=CLIENT_ID, aud=[CLIENT_ID, "other"])), keys)
    assert found.subject == "palette-user-42"


def _refused_claims() -> list[Any]:
    now = int(time.time())
    return [
        pytest.param({"iat": now - 3600, "exp": now - LEEWAY_SECONDS - 30}, id="expired"),
        pytest.param({"iat": now + 3600, "exp": now + 7200}, id="issued-in-the-future"),
        pytest.param({"aud": "another-client"}, id="wrong-aud"),
        pytest.param({"aud": ["another-client", "third"]}, id="wrong-aud-list"),
        pytest.param({"iss": "https://evil.test/v1/oidc/tenant/abc"}, id="wrong-iss"),
        pytest.param({"iss": ISSUER + "/"}, id="iss-trailing-slash"),
        pytest.param({"nonce": None}, id="missing-nonce"),
        pytest.param({"nonce": "another-nonce"}, id="different-nonce"),
        pytest.param({"nonce": 12345}, id="nonce-not-text"),
        pytest.param({"azp": "another-client"}, id="azp-of-another-client"),
        pytest.param({"iat": None}, id="missing-iat"),
        pytest.param({"sub": None}, id="missing-sub"),
        pytest.param({"exp": None}, id="missing-exp"),
        pytest.param({"iss": None}, id="missing-iss"),
        pytest.param({"aud": None}, id="missing-aud"),
    ]


@pytest.mark.parametrize("overrides", _refused_claims())
async def test_id_token_with_bad_claims_is_refused(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache, overrides: dict[str, Any]
) -> None:
    token = mint(palette_key, id_claims(**overrides))
    with pytest.raises(SignInError) as caught:
        await verify(token, keys)
    assert caught.value.public == "Sign-in with SpectroCloud Palette failed"
    assert token not in str(caught.value)


async def test_id_token_signed_by_another_key_with_the_same_kid_is_refused(
    other_key: rsa.RSAPrivateKey, keys: JwksCache
) -> None:
    with pytest.raises(SignInError, match="not accepted"):
        await verify(mint(other_key, id_claims()), keys)


async def test_id_token_naming_an_unknown_kid_is_refused(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache, fetcher: FakeFetcher
) -> None:
    with pytest.raises(SignInError, match="no signing key Palette publishes"):
        await verify(mint(palette_key, id_claims(), kid="rotated-away"), keys)
    assert fetcher.calls == 1  # the early refresh is rate-limited, so the JWKS is not refetched at once


async def test_id_token_without_a_kid_is_refused(palette_key: rsa.RSAPrivateKey, keys: JwksCache) -> None:
    with pytest.raises(SignInError, match="names no signing key"):
        await verify(mint(palette_key, id_claims(), kid=None), keys)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "....."])
async def test_text_that_is_not_a_jwt_is_refused(keys: JwksCache, token: str) -> None:
    with pytest.raises(SignInError):
        await verify(token, keys)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS256", "HS512", "EdDSA"])
async def test_id_token_with_a_symmetric_or_no_algorithm_is_refused(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache, fetcher: FakeFetcher, alg: str
) -> None:
    public_pem = palette_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # An HMAC keyed with the published public key: the classic algorithm-confusion forgery.
    token = hand_made(
        {"alg": alg, "kid": KID, "typ": "JWT"}, id_claims(), public_pem if "HS" in alg else None
    )
    with pytest.raises(SignInError, match="algorithm"):
        await verify(token, keys)
    assert fetcher.calls == 0  # refused before any key is looked up


async def test_hs256_id_token_signed_with_a_shared_secret_is_refused(keys: JwksCache) -> None:
    with pytest.raises(SignInError, match="algorithm"):
        await verify(mint(PALETTE_SECRET, id_claims(), alg="HS256"), keys)


async def test_id_token_whose_alg_does_not_fit_its_key_is_refused(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache
) -> None:
    with pytest.raises(SignInError):
        await verify(mint(palette_key, id_claims(), alg="RS256", kid=EC_KID), keys)


async def test_id_token_with_a_non_ascii_nonce_is_refused(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache
) -> None:
    with pytest.raises(SignInError, match="nonce"):
        await verify(mint(palette_key, id_claims(nonce="nonce-é")), keys)


async def test_jwks_outage_is_a_sign_in_error_saying_palette_is_unavailable(
    palette_key: rsa.RSAPrivateKey,
) -> None:
    fetcher = FakeFetcher([], fail=True)
    with pytest.raises(SignInError) as caught:
        await verify(mint(palette_key, id_claims()), JwksCache(fetcher))
    assert "Palette is unavailable" in caught.value.public
    assert fetcher.calls == 1


# --- the Palette session token --------------------------------------------------------------------


def test_hs256_refresh_token_wins() -> None:
    refresh, access, code = palette_token(email=EMAIL), palette_token(email=EMAIL, n=2), palette_token(n=3)
    assert palette_session_token(refresh, access, code, identity()) == refresh


@pytest.mark.parametrize("refresh", [None, "", "opaque-refresh-token", "rs256"])
def test_hs256_access_token_when_the_refresh_token_is_not_one(
    palette_key: rsa.RSAPrivateKey, refresh: str | None
) -> None:
    if refresh == "rs256":
        refresh = mint(palette_key, id_claims())
    access = palette_token(email=EMAIL)
    assert palette_session_token(refresh, access, palette_token(n=3), identity()) == access


def test_the_code_when_it_is_the_only_hs256_jwt(palette_key: rsa.RSAPrivateKey) -> None:
    code = palette_token(email=EMAIL)
    rs256 = mint(palette_key, id_claims())
    assert palette_session_token(rs256, "opaque-access-token", code, identity()) == code
    assert palette_session_token(None, None, code, identity()) == code


@pytest.mark.parametrize(
    ("refresh", "access", "code"),
    [
        (None, None, "opaque-code"),
        ("opaque-refresh", "opaque-access", "opaque-code"),
        ("rs256", "rs256", "rs256"),
        ("", "", ""),
        ("a.b.c", "not.a.jwt", "x.y.z"),
    ],
    ids=["none", "opaque", "rs256", "empty", "dotted-garbage"],
)
def test_nothing_hs256_is_a_sign_in_error(
    palette_key: rsa.RSAPrivateKey, refresh: str | None, access: str | None, code: str
) -> None:
    rs256 = mint(palette_key, id_claims())
    inputs = [rs256 if value == "rs256" else value for value in (refresh, access, code)]
    with pytest.raises(SignInError, match="no session token") as caught:
        palette_session_token(inputs[0], inputs[1], inputs[2] or "", identity())
    assert rs256 not in str(caught.value)


def test_an_hs256_token_with_a_non_printable_byte_is_never_taken() -> None:
    token = palette_token(email=EMAIL) + "\n"
    with pytest.raises(SignInError):
        palette_session_token(token, None, "opaque-code", identity())


@pytest.mark.parametrize("claimed", ["jane.doe@x.io", "JANE.DOE@X.IO", f"  {EMAIL}  "])
def test_an_hs256_token_naming_the_same_email_in_any_case_is_taken(claimed: str) -> None:
    token = palette_token(email=claimed)
    assert palette_session_token(token, None, "code", identity()) == token


def test_an_hs256_token_without_an_email_claim_is_taken() -> None:
    token = palette_token(sub="palette-user-42")
    assert palette_session_token(token, None, "code", identity()) == token
    assert palette_session_token(token, None, "code", identity(email=None)) == token


@pytest.mark.parametrize("slot", ["refresh", "access", "code"])
def test_an_hs256_token_of_another_user_is_a_sign_in_error(slot: str) -> None:
    other = palette_token(email="mallory@x.io")
    args: dict[str, str | None] = {"refresh": None, "access": None, "code": "opaque-code"}
    args[slot] = other
    with pytest.raises(SignInError, match="another user") as caught:
        palette_session_token(args["refresh"], args["access"], args["code"] or "", identity())
    assert other not in str(caught.value) and "mallory" not in str(caught.value)


def test_a_mismatched_refresh_token_is_not_passed_over_for_a_matching_access_token() -> None:
    with pytest.raises(SignInError, match="another user"):
        palette_session_token(
            palette_token(email="mallory@x.io"), palette_token(email=EMAIL), "opaque-code", identity()
        )


def test_an_hs256_token_naming_an_email_when_the_identity_has_none_is_refused() -> None:
    with pytest.raises(SignInError, match="another user"):
        palette_session_token(palette_token(email=EMAIL), None, "code", identity(email=None))


# --- the Backstage user ref -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "ref"),
    [
        ("Jane.Doe@x.io", "user:default/jane.doe"),
        ("jane@x.io", "user:default/jane"),
        ("  a_b-c.d@x.io", "user:default/a_b-c.d"),
        ("0day@x.io", "user:default/0day"),
        ("a" * 63 + "@x.io", "user:default/" + "a" * 63),
    ],
)
def test_user_ref_is_the_lower_cased_local_part(email: str, ref: str) -> None:
    assert user_ref_from_email(email) == ref


@pytest.mark.parametrize(
    "email",
    [
        "",
        "@x.io",
        " @x.io",
        "jane doe@x.io",
        ".jane@x.io",
        "a/b@x.io",
        "-jane@x.io",
        "jané@x.io",
        "a" * 64 + "@x.io",
    ],
    ids=[
        "empty",
        "no-local",
        "blank",
        "space",
        "leading-dot",
        "slash",
        "leading-dash",
        "non-ascii",
        "too-long",
    ],
)
def test_invalid_local_part_is_a_sign_in_error(email: str) -> None:
    with pytest.raises(SignInError, match="local part"):
        user_ref_from_email(email)


async def test_an_id_token_for_several_audiences_needs_our_azp(
    palette_key: rsa.RSAPrivateKey, keys: JwksCache
) -> None:
    claims = id_claims()
    claims["aud"] = [claims["aud"], "another-client"]
    with pytest.raises(SignInError, match="azp"):
        await verify(mint(palette_key, claims), keys)
    claims["azp"] = id_claims()["aud"]
    assert (await verify(mint(palette_key, claims), keys)).email
