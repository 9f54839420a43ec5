"""IdentityVerifier: Backstage user tokens (signature, alg, typ, aud, iss, times) and static tokens."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
import structlog
from cryptography.hazmat.primitives import serialization

from ingestor.auth import (
    AuthenticationError,
    IdentityVerifier,
    JwksCache,
    Principal,
    UserTokenPolicy,
)
from tests.auth.conftest import ISSUER, FakeJwks, SigningKey, b64, hand_made, make_key, valid_claims

STATIC = "static-service-token-0123456789"


def verifier(*keys: SigningKey, audience: str = "backstage") -> IdentityVerifier:
    return IdentityVerifier(
        [(STATIC, "mcp-client")],
        policy=UserTokenPolicy(issuer=ISSUER, audience=audience),
        jwks=JwksCache(FakeJwks(list(keys))),
    )


async def rejected(v: IdentityVerifier, token: str) -> AuthenticationError:
    """Verify ``token``, expect a rejection whose message, logs and context never show the token."""
    with structlog.testing.capture_logs() as logs, pytest.raises(AuthenticationError) as caught:
        await v.verify(f"Bearer {token}")
    error = caught.value
    assert token not in str(error) and token not in repr(error)
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert token not in repr(logs)
    return error


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"])
async def test_valid_user_token_for_each_asymmetric_algorithm(alg: str) -> None:
    key = make_key(alg, f"kid-{alg}")
    token = key.mint({"ent": ["user:default/jane", "group:default/team-a", 7], "email": "jane@example.com"})
    principal = await verifier(key).verify(f"Bearer {token}")
    assert principal == Principal(
        kind="user",
        subject="user:default/jane",
        entity_ref="user:default/jane",
        ownership_refs=("user:default/jane", "group:default/team-a"),
        email="jane@example.com",
        has_ownership_claim=True,
        expires_at=principal.expires_at,
    )
    assert principal.expires_at is not None and principal.expires_at > 0


async def test_token_without_ent_or_email_has_no_ownership(es256: SigningKey) -> None:
    principal = await verifier(es256).verify("bearer " + es256.mint({"sub": "user:default/Bob"}))
    assert principal.entity_ref == "user:default/bob"
    assert principal.has_ownership_claim is False
    assert principal.ownership_refs == () and principal.email is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": 1_000_000}, "expired"),
        ({"nbf": 4_000_000_000}, "not valid yet"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "http://evil.test/api/auth"}, "issuer"),
        ({"exp": None}, "required claim"),
        ({"iat": None}, "required claim"),
        ({"sub": "jane"}, "entity reference"),
    ],
    ids=["expired", "nbf-future", "wrong-aud", "wrong-iss", "no-exp", "no-iat", "sub-not-ref"],
)
async def test_claim_violations_are_rejected(
    es256: SigningKey, overrides: dict[str, Any], message: str
) -> None:
    error = await rejected(verifier(es256), es256.mint(overrides))
    assert message in str(error)


async def test_small_clock_skew_is_tolerated(es256: SigningKey) -> None:
    now = valid_claims()["iat"]
    principal = await verifier(es256).verify(f"Bearer {es256.mint({'exp': now - 5, 'nbf': now + 5})}")
    assert principal.kind == "user"


async def test_configured_audience_is_enforced(es256: SigningKey) -> None:
    token = es256.mint({"aud": "my-backstage"})
    assert (await verifier(es256, audience="my-backstage").verify(f"Bearer {token}")).kind == "user"
    await rejected(verifier(es256), token)


@pytest.mark.parametrize("typ", ["JWT", "vnd.backstage.plugin", "vnd.backstage.limited-user"])
async def test_wrong_typ_is_rejected(es256: SigningKey, typ: str) -> None:
    assert "typ" in str(await rejected(verifier(es256), es256.mint(typ=typ)))


async def test_alg_none_is_rejected(es256: SigningKey) -> None:
    token = hand_made({"alg": "none", "typ": "vnd.backstage.user", "kid": es256.kid}, valid_claims())
    assert "algorithm" in str(await rejected(verifier(es256), token))


async def test_hs256_signed_with_the_public_key_is_rejected(rsa_key: SigningKey) -> None:
    pem = rsa_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "vnd.backstage.user", "kid": rsa_key.kid}
    unsigned = hand_made(header, valid_claims()).rsplit(".", 1)[0]
    signature = hmac.new(pem, unsigned.encode(), hashlib.sha256).digest()
    assert "algorithm" in str(await rejected(verifier(rsa_key), f"{unsigned}.{b64(signature)}"))


async def test_algorithm_must_match_the_key(rsa_key: SigningKey) -> None:
    ps = SigningKey(rsa_key.kid, "PS256", rsa_key.private)  # same RSA key, JWK says RS256
    assert "does not match" in str(await rejected(verifier(rsa_key), ps.mint()))


async def test_tampered_payload_is_rejected(es256: SigningKey) -> None:
    head, _, signature = es256.mint().split(".")
    forged = b64(
        b'{"iss":"%s","sub":"user:default/admin","aud":"backstage","iat":1,"exp":4000000000}'
        % (ISSUER.encode())
    )
    assert "signature" in str(await rejected(verifier(es256), f"{head}.{forged}.{signature}"))


async def test_token_signed_by_another_key_with_a_known_kid_is_rejected(es256: SigningKey) -> None:
    impostor = SigningKey(es256.kid, "ES256", make_key("ES256", "x").private)
    assert "signature" in str(await rejected(verifier(es256), impostor.mint()))


async def test_unknown_kid_is_rejected(es256: SigningKey) -> None:
    stranger = make_key("ES256", "nobody-knows")
    assert "unknown key" in str(await rejected(verifier(es256), stranger.mint()))


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Bearer a b", "Token abc"],
)
async def test_malformed_authorization_headers(es256: SigningKey, header: str | None) -> None:
    with pytest.raises(AuthenticationError, match="Authorization|Bearer"):
        await verifier(es256).verify(header)


@pytest.mark.parametrize("token", ["abc.def.ghi", "e30.e30.", "%%%.###.$$$"])
async def test_garbage_jwts_are_rejected(es256: SigningKey, token: str) -> None:
    await rejected(verifier(es256), token)


async def test_oversized_token_is_rejected(es256: SigningKey) -> None:
    with pytest.raises(AuthenticationError, match="too long"):
        await verifier(es256).verify("Bearer " + "a" * 40000)


async def test_static_token_accepted(es256: SigningKey) -> None:
    principal = await verifier(es256).verify(f"Bearer {STATIC}")
    assert principal == Principal(kind="service", subject="mcp-client")


async def test_static_tokens_pick_the_right_subject() -> None:
    v = IdentityVerifier([("first-token-aaaaaaaa", "one"), ("second-token-bbbbbbbb", "two")])
    assert (await v.verify("Bearer second-token-bbbbbbbb")).subject == "two"
    assert (await v.verify("Bearer first-token-aaaaaaaa")).subject == "one"


@pytest.mark.parametrize("token", [STATIC + "x", STATIC[:-1], STATIC.upper()])
async def test_wrong_static_token_rejected(es256: SigningKey, token: str) -> None:
    assert "not accepted" in str(await rejected(verifier(es256), token))


async def test_user_tokens_refused_when_backstage_is_not_configured(es256: SigningKey) -> None:
    v = IdentityVerifier([(STATIC, "svc")])
    assert "not accepted" in str(await rejected(v, es256.mint()))


def test_repr_shows_no_secret(es256: SigningKey) -> None:
    text = repr(verifier(es256))
    assert STATIC not in text and "static_tokens=1" in text and ISSUER in text


async def test_rejections_are_logged_without_the_token(es256: SigningKey) -> None:
    token = es256.mint({"exp": 1_000_000})
    with structlog.testing.capture_logs() as logs, pytest.raises(AuthenticationError):
        await verifier(es256).verify(f"Bearer {token}")
    assert [entry["reason"] for entry in logs if entry["event"] == "auth.user_token_rejected"] == [
        "ExpiredSignatureError"
    ]
    assert token not in repr(logs) and token.split(".")[2] not in repr(logs)
