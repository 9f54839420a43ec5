"""Keys, token minting and a JWKS source for the identity tests (injected fetch or a real socket)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingestor.auth import USER_TOKEN_TYPE
from ingestor.serving import ThreadedServer

ISSUER = "http://backstage.test/api/auth"


@dataclass
class SigningKey:
    """A private key, its kid and algorithm, and its public JWK."""

    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        algo: Any = {"ES": ECAlgorithm, "RS": RSAAlgorithm, "PS": RSAAlgorithm, "Ed": OKPAlgorithm}[
            self.alg[:2]
        ]
        data: dict[str, Any] = algo.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def mint(
        self, overrides: Mapping[str, Any] | None = None, *, typ: str = USER_TOKEN_TYPE, **header: Any
    ) -> str:
        """A signed token with valid Backstage claims, changed by ``overrides`` (None drops a claim)."""
        claims = valid_claims()
        for name, value in (overrides or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        headers = {"typ": typ, "kid": self.kid, **header}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def valid_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "user:default/jane", "aud": "backstage", "iat": now, "exp": now + 3600}


def make_key(alg: str, kid: str) -> SigningKey:
    if alg.startswith("ES"):
        curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
        return SigningKey(kid, alg, ec.generate_private_key(curve))
    if alg == "EdDSA":
        return SigningKey(kid, alg, ed25519.Ed25519PrivateKey.generate())
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes = b"") -> str:
    """A token assembled by hand (for algorithms PyJWT refuses to produce)."""
    head = b64(json.dumps(dict(header)).encode())
    body = b64(json.dumps(dict(claims)).encode())
    return f"{head}.{body}.{b64(signature)}"


@dataclass
class FakeJwks:
    """An injected fetcher: serves ``keys`` (mutable, to rotate), counts calls, can fail or stall."""

    keys: list[SigningKey]
    calls: int = 0
    fail: bool = False
    delay: float = 0.0
    extra: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            from ingestor.auth import JwksUnavailableError

            raise JwksUnavailableError("simulated JWKS outage")
        return {"keys": [key.jwk() for key in self.keys] + self.extra}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def es256() -> SigningKey:
    return make_key("ES256", "es-1")


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return make_key("RS256", "rs-1")


@dataclass
class JwksSite:
    """A tiny Starlette app serving a JWKS (and broken variants) on 127.0.0.1."""

    document: dict[str, Any]
    url: str = ""
    hits: int = 0


@pytest.fixture
def jwks_site(es256: SigningKey) -> Iterator[JwksSite]:
    site = JwksSite({"keys": [es256.jwk()]})

    async def jwks(_: Request) -> Response:
        site.hits += 1
        return JSONResponse(site.document)

    async def garbage(_: Request) -> Response:
        return Response("not json", media_type="text/plain")

    app = Starlette(
        routes=[
            Route("/api/auth/.well-known/jwks.json", jwks),
            Route("/garbage", garbage),
        ]
    )
    server = ThreadedServer(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"),
        host="127.0.0.1",
        port=0,
        name="jwks test server",
    )
    server.start(timeout=10.0)
    site.url = server.url
    try:
        yield site
    finally:
        server.stop(timeout=5.0)
