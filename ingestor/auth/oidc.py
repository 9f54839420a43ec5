"""The protocol of "Sign in with Palette": state, nonce, PKCE, ID-token checks, and the session token.

Fixes the anchor's auth module (compat A2-A6, A10, A11, A13): the state is an HMAC-signed handle bound to a
browser cookie and single use; the nonce is random and checked; PKCE S256 always; the ID token's signature
is verified against Palette's JWKS with ``iss``, ``aud``, ``exp``, ``iat``, ``nonce`` and ``azp``; the Palette
session token is taken only from the token endpoint's answer or the exchanged code, never from other inputs.
No HTTP here (``ingestor.palette.oidc``). Imports ``auth`` and ``errors`` of ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jwt
import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ingestor.auth.jwks import AuthenticationError, JwksCache, JwksUnavailableError
from ingestor.auth.palette_tokens import forwardable_to_palette
from ingestor.auth.sessions import SessionCipher

log = structlog.get_logger(__name__)

ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
"""Asymmetric only: an ID token signed with a shared secret (or ``none``) is refused."""
LEEWAY_SECONDS = 60
STATE_INFO = b"spectrocloud-ingestor sign-in state v1"
FLOW_CONTEXT = "signin-flow"
COOKIE_CONTEXT = "signin-cookie"
_LOCAL_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class SignInError(Exception):
    """The sign-in cannot complete. ``public`` is what the browser may see; the message is for logs."""

    def __init__(self, message: str, *, public: str = "Sign-in with SpectroCloud Palette failed") -> None:
        self.public = public
        super().__init__(message)


def random_token(nbytes: int = 32) -> str:
    """URL-safe randomness from the OS (ids, nonces, PKCE verifiers, binding secrets)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class StateSigner:
    """``state`` = ``<flow id>.<HMAC(flow id, browser binding)>``: forged or moved to another browser fails.

    The key is derived (HKDF) from the sessions' encryption key, so every replica checks every state.
    """

    def __init__(self, secret: str) -> None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=STATE_INFO)
        self._key = hkdf.derive(secret.encode())

    def __repr__(self) -> str:
        return "StateSigner(key=***)"

    def sign(self, flow_id: str, binding: str) -> str:
        return f"{flow_id}.{self._mac(flow_id, binding)}"

    def verify(self, state: str, binding: str) -> str | None:
        """The flow id of a ``state`` made for this ``binding``, else ``None``."""
        flow_id, _, mac = state.partition(".")
        if not flow_id or not mac or len(state) > 256:
            return None
        expected = self._mac(flow_id, binding).encode()
        return flow_id if hmac.compare_digest(mac.encode(), expected) else None

    def _mac(self, flow_id: str, binding: str) -> str:
        digest = hmac.new(self._key, f"{flow_id}\n{binding}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class FlowSecrets:
    """What a flow remembers between ``start`` and the callback (stored sealed, server-side)."""

    nonce: str = field(repr=False)
    verifier: str = field(repr=False)
    origin: str
    flow: str  # "popup" or "redirect"
    redirect_url: str | None
    scope: str
    user_ref: str | None  # the Backstage user who started it, when known

    def seal(self, cipher: SessionCipher, flow_id: str) -> bytes:
        return cipher.seal(json.dumps(asdict(self)), FLOW_CONTEXT, flow_id)

    @classmethod
    def open(cls, cipher: SessionCipher, blob: bytes, flow_id: str) -> FlowSecrets | None:
        text = cipher.open(blob, FLOW_CONTEXT, flow_id)
        if text is None:
            return None
        return cls(**json.loads(text))


def authorize_url(
    authorization_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    nonce: str,
    challenge: str,
    prompt: str | None,
) -> str:
    """The authorization endpoint with the code-flow parameters added to any query it already has."""
    parts = urlsplit(authorization_url)
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if prompt:
        params["prompt"] = prompt
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def derived_token_url(authorization_url: str) -> str | None:
    """The authorization URL with its final path segment ``auth`` replaced by ``token`` (compat A11)."""
    parts = urlsplit(authorization_url)
    head, _, last = parts.path.rstrip("/").rpartition("/")
    if last != "auth":
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"{head}/token", "", ""))


def default_discovery_url(authorization_url: str) -> str:
    """``<authorization URL without its final segment>/.well-known/openid-configuration``."""
    parts = urlsplit(authorization_url)
    head = parts.path.rstrip("/").rpartition("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{head}/.well-known/openid-configuration", "", ""))


def merge_scopes(configured: str, requested: str | None) -> str:
    """The configured scopes plus well-formed requested ones (compat A15: requested scopes are honoured)."""
    words = configured.split()
    for word in (requested or "").replace(",", " ").split():
        if re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", word) and word not in words:
            words.append(word)
    if "openid" not in words:
        words.insert(0, "openid")
    return " ".join(words)


@dataclass(frozen=True)
class IdentityClaims:
    """What sign-in reads from a verified ID token (the e-mail never reaches a log)."""

    subject: str
    email: str | None = field(repr=False)
    email_verified: bool
    name: str | None
    expires_at: int


async def verify_id_token(
    token: str, keys: JwksCache, *, issuer: str, client_id: str, nonce: str
) -> IdentityClaims:
    """The claims of a Palette ID token whose signature, issuer, audience, times, nonce and azp check out."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise SignInError("the ID token is not a JWT") from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ID_TOKEN_ALGORITHMS:
        raise SignInError(f"the ID token's algorithm {algorithm!r} is not accepted")
    if not isinstance(kid, str):
        raise SignInError("the ID token names no signing key")
    try:
        key = await keys.key(kid)
    except JwksUnavailableError:
        raise SignInError(
            "Palette's signing keys are unavailable", public="SpectroCloud Palette is unavailable; try again"
        ) from None
    except AuthenticationError:
        raise SignInError("the ID token names no signing key Palette publishes") from None
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as exc:  # TypeError: the key does not fit the algorithm
        raise SignInError(f"the ID token is not accepted ({type(exc).__name__})") from None
    claimed = claims.get("nonce")
    if not isinstance(claimed, str) or not hmac.compare_digest(claimed.encode(), nonce.encode()):
        raise SignInError("the ID token's nonce does not match this sign-in")
    azp = claims.get("azp")
    several = isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1
    if (azp is not None or several) and azp != client_id:
        raise SignInError("the ID token was issued to another client (azp)")
    email = claims.get("email")
    name = claims.get("name")
    return IdentityClaims(
        subject=str(claims["sub"]),
        email=email.strip() if isinstance(email, str) and email.strip() else None,
        email_verified=claims.get("email_verified") is True,
        name=name if isinstance(name, str) and name.strip() else None,
        expires_at=int(claims["exp"]),
    )


def palette_session_token(
    refresh_token: str | None, access_token: str | None, code: str, identity: IdentityClaims
) -> str:
    """The HS256 Palette session token of a completed exchange: ``refresh_token``, else an HS256
    ``access_token``, else the exchanged code itself when it is one (compat 7.5). Never another input.

    A token that names an e-mail must name the ID token's.
    """
    for candidate in (refresh_token, access_token, code):
        if candidate and _is_hs256_jwt(candidate):
            claimed = _unverified_email(candidate)
            if claimed is not None and (identity.email or "").lower() != claimed.lower():
                raise SignInError("the Palette session token belongs to another user than the ID token")
            return candidate
    raise SignInError("Palette's answer carried no session token (HS256 JWT)")


def _is_hs256_jwt(token: str) -> bool:
    if token.count(".") != 2 or not forwardable_to_palette(token):
        return False
    try:
        return jwt.get_unverified_header(token).get("alg") == "HS256"
    except jwt.PyJWTError:
        return False


def _unverified_email(token: str) -> str | None:
    """The ``email`` claim of a token we cannot verify (Palette's secret), only to compare identities."""
    try:
        claims: Mapping[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    email = claims.get("email")
    return email.strip() if isinstance(email, str) and email.strip() else None


def user_ref_from_email(email: str) -> str:
    """Backstage's ``emailLocalPartMatchingUserEntityName``: ``user:default/<local part>``."""
    local = email.partition("@")[0].strip()
    if not _LOCAL_PART.match(local):
        raise SignInError("the e-mail's local part is not a valid Backstage user name")
    return f"user:default/{local.lower()}"


@dataclass(frozen=True)
class SignedIn:
    """The browser's record of a completed sign-in (sealed into its cookie; the ID token is optional)."""

    user_ref: str
    instance: str
    email: str | None = field(repr=False)
    name: str | None
    expires_at: int
    id_token: str | None = field(repr=False, default=None)

    def seal(self, cipher: SessionCipher) -> str:
        blob = cipher.seal(json.dumps(asdict(self)), COOKIE_CONTEXT, "")
        return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")

    @classmethod
    def open(cls, cipher: SessionCipher, value: str) -> SignedIn | None:
        try:
            blob = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            return None
        text = cipher.open(blob, COOKIE_CONTEXT, "")
        if text is None:
            return None
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError):
            return None
