"""Palette's OIDC side for the simulator ("sign in with Palette", compat.md 7): discovery, JWKS and the
authorization and token endpoints under ``/v1/oidc/tenant/{tenantUid}``, plus the HS256 session tokens
they hand out, which the API then accepts as a raw ``Authorization``. Imports only ``ingestor.simulator``;
never PyJWT (confined to ``ingestor.auth``): tokens are signed with ``cryptography`` and ``hmac``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ingestor.simulator.dataset import JSON, Dataset
from ingestor.simulator.errors import ApiError
from ingestor.simulator.options import SimulatorOptions, redirect_uri_problem
from ingestor.simulator.routes_common import sim_state

log = structlog.get_logger(__name__)
BASE = "/v1/oidc/tenant/{tenant_uid}"
CODE_TTL = 60.0  # seconds an authorization code can be redeemed
USED_CODE_MEMORY = 600.0  # seconds a redeemed code is remembered as used (RFC 6749 10.5)
SESSION_ISSUER = "palette-sim"
SCOPES = ("openid", "profile", "email")
CLAIMS = (
    "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce",
    "email", "email_verified", "name", "given_name", "family_name", "groups",
)  # fmt: skip
ID_TOKEN_FAULTS = (
    "forged-id-token", "expired-id-token", "wrong-nonce", "wrong-audience",
    "wrong-issuer", "no-email", "unverified-email",
)  # fmt: skip
FAULTS = ("token-error", *ID_TOKEN_FAULTS, "email-mismatch")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url SHA-256, unpadded (RFC 7636 4.2)
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 4.1
SEGMENT = re.compile(r"[A-Za-z0-9_-]+")  # one base64url JWT segment
Clock = Callable[[], float]


class OAuthError(Exception):
    """An RFC 6749 error: ``{"error", "error_description"}`` with ``status``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> Response:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="palette-sim"'
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, self.status, headers=headers)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError(400, "invalid_grant", description)


@dataclass
class OidcSettings:
    """What ``/__sim/oidc`` changes; ``from_options`` gives the defaults ``DELETE`` returns to."""

    client_id: str
    client_secret: str = field(repr=False)  # "" = a public client
    redirect_uris: tuple[str, ...]  # empty = any http(s) URL
    default_login: str
    session_token_in: str  # "refresh_token" or "code"
    id_token_ttl: int = 3600
    session_token_ttl: int = 900
    fault: str | None = None
    fault_sticky: bool = False

    @classmethod
    def from_options(cls, options: SimulatorOptions) -> OidcSettings:
        return cls(
            client_id=options.oidc_client_id,
            client_secret=options.oidc_client_secret,
            redirect_uris=options.oidc_redirect_uris,
            default_login=options.oidc_default_login,
            session_token_in=options.oidc_session_token_in,
        )


@dataclass(frozen=True)
class AuthRequest:
    """What an accepted ``/auth`` call binds its code to."""

    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    challenge: str | None
    user_uid: str


@dataclass(frozen=True)
class Grant:
    request: AuthRequest
    auth_time: int
    expires: float
    code_is_session_token: bool


@dataclass(frozen=True)
class SigningKey:
    """An RS256 key and its ``kid`` (the RFC 7638 thumbprint unless given)."""

    private: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private.public_key().public_numbers()
        members = {"e": _b64int(numbers.e), "kty": "RSA", "n": _b64int(numbers.n)}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
        return cls(private, kid or _b64(hashlib.sha256(canonical).digest()))

    def jwk(self) -> JSON:
        numbers = self.private.public_key().public_numbers()
        n, e = _b64int(numbers.n), _b64int(numbers.e)
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": n, "e": e}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _unb64(text: str) -> bytes:
    if not SEGMENT.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    return _b64(hashlib.sha256(verifier.encode()).digest())


# JWTs are made here with ``cryptography`` and ``hmac``: PyJWT is confined to ``ingestor.auth``
# (tests/test_layers.py), and the tests verify these tokens with PyJWT independently.
def _signing_input(header: JSON, claims: JSON) -> str:
    def part(data: JSON) -> str:
        return _b64(json.dumps(data, separators=(",", ":")).encode())

    return f"{part(header)}.{part(claims)}"


def sign_rs256(claims: JSON, key: SigningKey) -> str:
    """A compact RS256 JWT with ``kid`` in its header."""
    head = _signing_input({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims)
    return f"{head}.{_b64(key.private.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def sign_hs256(claims: JSON, secret: bytes) -> str:
    """A compact HS256 JWT."""
    head = _signing_input({"alg": "HS256", "typ": "JWT"}, claims)
    return f"{head}.{_b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())}"


def verify_hs256(token: str, secret: bytes) -> JSON | None:
    """The claims of an HS256 JWT whose signature ``secret`` made, else None (expiry not checked)."""
    try:
        head, body, signature = token.split(".")
        header = json.loads(_unb64(head))
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        expected = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_unb64(signature), expected):
            return None
        claims = json.loads(_unb64(body))
    except ValueError:  # wrong segment count, bad base64url or JSON (UnicodeDecodeError included)
        return None
    return claims if isinstance(claims, dict) else None


class OidcProvider:
    """One app's OIDC state: settings, RSA keys (made on first use), codes, the HS256 secret.

    ``clock`` (real time by default) drives code expiry and token ``iat``/``exp``.
    """

    def __init__(self, options: SimulatorOptions, clock: Clock = time.time) -> None:
        self.options = options
        self.settings = OidcSettings.from_options(options)
        self.clock = clock
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []  # the current key first, then the previous one
        self._forger: SigningKey | None = None
        self._grants: dict[str, Grant] = {}
        self._used: dict[str, float] = {}

    # -- settings and faults ------------------------------------------------------------------
    def update(self, **changes: Any) -> None:
        with self._lock:
            self.settings = replace(self.settings, **changes)

    def reset(self) -> None:
        with self._lock:
            self.settings = OidcSettings.from_options(self.options)

    def take_fault(self, *names: str) -> str | None:
        """The active fault if it is one of ``names``; a one-shot fault is used up."""
        with self._lock:
            fault = self.settings.fault
            if fault is None or fault not in names:
                return None
            if not self.settings.fault_sticky:
                self.settings = replace(self.settings, fault=None)
        log.info("oidc fault fired", fault=fault)
        return fault

    def redirect_problem(self, uri: str) -> str | None:
        """Why ``uri`` may not receive this client's codes, or None."""
        if not uri:
            return "is required"
        allowed = self.settings.redirect_uris
        if allowed:
            return None if uri in allowed else "is not registered for this client"
        return redirect_uri_problem(uri)

    # -- keys ---------------------------------------------------------------------------------
    def signing_keys(self) -> list[SigningKey]:
        """The published keys, current first (generated at the first call)."""
        with self._lock:
            if not self._keys:
                self._keys.append(SigningKey.generate())
            return list(self._keys)

    def rotate_key(self, keep_previous: bool = True) -> list[SigningKey]:
        """Sign with a new key from now on; the JWKS keeps the previous one if asked."""
        fresh = SigningKey.generate()
        current = self.signing_keys()[0]
        with self._lock:
            self._keys = [fresh, current] if keep_previous else [fresh]
            return list(self._keys)

    def _forged_key(self) -> SigningKey:
        """Another RSA key carrying the current ``kid``: signatures fail against the JWKS."""
        kid = self.signing_keys()[0].kid
        if self._forger is None:
            self._forger = SigningKey.generate()
        return SigningKey(self._forger.private, kid)

    # -- codes --------------------------------------------------------------------------------
    def issue_code(self, ds: Dataset, auth: AuthRequest) -> str:
        """A single-use code for ``auth``; with ``session_token_in="code"`` the code is the session token."""
        now = self.clock()
        in_code = self.settings.session_token_in == "code"
        code = self.session_token(ds, auth.user_uid) if in_code else secrets.token_urlsafe(32)
        grant = Grant(auth, int(now), now + CODE_TTL, in_code)
        with self._lock:
            self._grants = {c: g for c, g in self._grants.items() if g.expires > now}
            self._used = {c: t for c, t in self._used.items() if t > now - USED_CODE_MEMORY}
            self._grants[code] = grant
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str, verifier: str | None) -> Grant:
        """The grant of ``code``, used up; ``invalid_grant`` when it does not fit the request."""
        now = self.clock()
        with self._lock:
            if code in self._used:
                raise invalid_grant("the code was already used")
            grant = self._grants.get(code)
            if grant is None:
                raise invalid_grant("unknown code")
            if now >= grant.expires:
                del self._grants[code]
                raise invalid_grant("the code expired")
            _check_grant(grant.request, client_id, redirect_uri, verifier)
            del self._grants[code]
            self._used[code] = now
        return grant

    # -- tokens -------------------------------------------------------------------------------
    def session_token(self, ds: Dataset, user_uid: str) -> str:
        """A Palette-style HS256 session token for the user (fault ``email-mismatch``: another e-mail)."""
        email = _email(ds, user_uid)
        if self.take_fault("email-mismatch"):
            email = _other_email(ds, user_uid, email)
        now = int(self.clock())
        claims = {
            "iss": SESSION_ISSUER,
            "sub": user_uid,
            "uid": user_uid,
            "email": email,
            "iat": now,
            "exp": now + self.settings.session_token_ttl,
            "jti": secrets.token_hex(8),
        }
        return sign_hs256(claims, self._secret)

    def resolve(self, ds: Dataset, token: str) -> str | None:
        """Token resolver: the user uid of a valid, unexpired HS256 session token of this app."""
        claims = verify_hs256(token, self._secret) if token.count(".") == 2 else None
        if claims is None or claims.get("iss") != SESSION_ISSUER:
            return None
        uid, exp = claims.get("uid"), claims.get("exp")
        if not isinstance(uid, str) or ds.get("users", uid) is None:
            return None
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= self.clock():
            log.debug("session token refused", reason="expired", user_uid=uid)
            return None
        return uid

    def id_token(self, ds: Dataset, issuer: str, grant: Grant, fault: str | None) -> str:
        """The RS256 ID token for ``grant``, bent by ``fault`` (one of ``ID_TOKEN_FAULTS``) if any."""
        auth = grant.request
        now = int(self.clock())
        claims: JSON = {
            "iss": issuer,
            "sub": auth.user_uid,
            "aud": auth.client_id,
            "azp": auth.client_id,
            "iat": now,
            "exp": now + self.settings.id_token_ttl,
            "auth_time": grant.auth_time,
        }
        if auth.nonce is not None:
            claims["nonce"] = auth.nonce
        claims.update(user_claims(ds, auth.user_uid))
        key = self._forged_key() if fault == "forged-id-token" else self.signing_keys()[0]
        return sign_rs256(_bent(claims, fault), key)

    def token_response(self, ds: Dataset, issuer: str, grant: Grant) -> JSON:
        """The ``/token`` answer: opaque access token, ID token and (unless in the code) the session token."""
        fault = self.take_fault(*ID_TOKEN_FAULTS)
        body: JSON = {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": self.settings.id_token_ttl,
            "id_token": self.id_token(ds, issuer, grant, fault),
            "scope": grant.request.scope,
        }
        if not grant.code_is_session_token:
            body["refresh_token"] = self.session_token(ds, grant.request.user_uid)
        return body


def _check_grant(auth: AuthRequest, client_id: str, redirect_uri: str, verifier: str | None) -> None:
    if auth.client_id != client_id:
        raise invalid_grant("the code was issued to another client")
    if auth.redirect_uri != redirect_uri:
        raise invalid_grant("redirect_uri differs from the authorization request")
    if auth.challenge is None:
        if verifier is not None:
            raise invalid_grant("code_verifier sent, but the authorization request had no code_challenge")
        return
    if verifier is None:
        raise invalid_grant("code_verifier is required: the authorization request had a code_challenge")
    if not VERIFIER.fullmatch(verifier) or not hmac.compare_digest(s256(verifier), auth.challenge):
        raise invalid_grant("code_verifier does not match the code_challenge")


def _bent(claims: JSON, fault: str | None) -> JSON:
    """``claims`` as the ID-token fault makes them (unchanged without one)."""
    out = dict(claims)
    if fault == "expired-id-token":
        span = out["exp"] - out["iat"]
        out["exp"] = out["iat"] - 300
        out["iat"] = out["auth_time"] = out["exp"] - span
    elif fault == "wrong-nonce":
        out["nonce"] = "not-" + str(out.get("nonce") or secrets.token_urlsafe(8))
    elif fault == "wrong-audience":
        out["aud"] = out["azp"] = "not-" + str(out["aud"])
    elif fault == "wrong-issuer":
        out["iss"] = str(out["iss"]).rsplit("/", 1)[0] + "/" + "0" * 24
    elif fault == "no-email":
        out.pop("email", None)
        out.pop("email_verified", None)
    elif fault == "unverified-email":
        out["email_verified"] = False
    return out


# -- users --------------------------------------------------------------------------------------
def _email(ds: Dataset, uid: str) -> str:
    return str(((ds.get("users", uid) or {}).get("spec") or {}).get("emailId") or "")


def _other_email(ds: Dataset, uid: str, email: str) -> str:
    others = (_email(ds, u) for u in ds.collection("users") if u != uid)
    return next((e for e in others if e and e != email), "someone-else@acme.example")


def find_user(ds: Dataset, hint: str) -> str | None:
    """The uid of the active user whose login (e-mail local part) or e-mail is ``hint`` (any case)."""
    wanted = hint.strip().lower()
    for uid, user in ds.collection("users").items():
        email = str((user.get("spec") or {}).get("emailId") or "").lower()
        if wanted and wanted in (email, email.partition("@")[0]):
            active = (user.get("status") or {}).get("isActive", True) is not False
            return uid if active else None
    return None


def user_claims(ds: Dataset, uid: str) -> JSON:
    """Profile claims of a user: e-mail, names, and ``groups`` (tenant and project role names)."""
    user = ds.get("users", uid) or {}
    spec = user.get("spec") or {}
    first, last = str(spec.get("firstName") or ""), str(spec.get("lastName") or "")
    email = str(spec.get("emailId") or "")
    name = " ".join(p for p in (first, last) if p) or str((user.get("metadata") or {}).get("name") or email)
    groups = {str(r) for r in spec.get("roles") or []}
    for project in ds.collection("projects").values():
        for member in (project.get("spec") or {}).get("users") or []:
            if member.get("userId") == uid:
                groups.update(str(r) for r in member.get("roles") or [])
    return {
        "email": email,
        "email_verified": True,
        "name": name,
        "given_name": first,
        "family_name": last,
        "groups": sorted(groups),
    }


# -- HTTP ---------------------------------------------------------------------------------------
def provider_of(request: Request) -> OidcProvider:
    provider: OidcProvider = request.app.state.oidc
    return provider


def issuer_url(request: Request, tenant_uid: str) -> str:
    """The issuer as seen from this request's base URL."""
    return str(request.base_url).rstrip("/") + BASE.format(tenant_uid=tenant_uid)


def _tenant(request: Request) -> Dataset:
    ds = sim_state(request).dataset
    uid = request.path_params["tenant_uid"]
    if uid != ds.tenant.uid:
        raise ApiError(404, "ResourceNotFound", f"tenant '{uid}' not found")
    return ds


def _redirect(uri: str, params: Mapping[str, str | None]) -> Response:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    location = urlunsplit(parts._replace(query=urlencode(query)))
    return RedirectResponse(location, status_code=302, headers=NO_STORE)


async def discovery(request: Request) -> Response:
    """GET {issuer}/.well-known/openid-configuration: the OpenID Provider metadata."""
    issuer = issuer_url(request, _tenant(request).tenant.uid)
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": list(SCOPES),
            "claims_supported": list(CLAIMS),
        }
    )


async def jwks(request: Request) -> Response:
    """GET {issuer}/jwks: the RS256 public keys, current first."""
    _tenant(request)
    return JSONResponse({"keys": [k.jwk() for k in provider_of(request).signing_keys()]})


def _auth_request(ds: Dataset, provider: OidcProvider, query: Mapping[str, str]) -> AuthRequest:
    """Check an ``/auth`` query whose client and redirect URI are known; the user signs in at once."""
    if query.get("response_type") != "code":
        raise OAuthError(400, "unsupported_response_type", "response_type must be code")
    scopes = query.get("scope", "").split()
    if "openid" not in scopes:
        raise OAuthError(400, "invalid_scope", "scope must contain openid")
    challenge, method = query.get("code_challenge"), query.get("code_challenge_method")
    if challenge is not None or method is not None:
        if method != "S256":
            raise OAuthError(400, "invalid_request", "code_challenge_method must be S256")
        if challenge is None or not CHALLENGE.fullmatch(challenge):
            raise OAuthError(400, "invalid_request", "code_challenge must be a base64url SHA-256 digest")
    hint = query.get("login_hint") or provider.settings.default_login
    user_uid = find_user(ds, hint)
    if user_uid is None:
        raise OAuthError(400, "access_denied", "no such active user")
    granted = " ".join(s for s in dict.fromkeys(scopes) if s in SCOPES)
    client_id, redirect_uri = query["client_id"], query["redirect_uri"]
    return AuthRequest(client_id, redirect_uri, granted, query.get("nonce"), challenge, user_uid)


async def authorize(request: Request) -> Response:
    """GET {issuer}/auth: the authorization endpoint, without UI (the user signs in at once).

    Unknown ``client_id`` or a redirect URI not allowed: 400 JSON, no redirect. Otherwise a 302 to
    ``redirect_uri`` with ``code`` (or ``error``) and the ``state`` sent.
    """
    ds = _tenant(request)
    provider = provider_of(request)
    query = request.query_params
    if query.get("client_id") != provider.settings.client_id:
        return OAuthError(400, "invalid_client", "unknown client_id").response()
    redirect_uri = query.get("redirect_uri", "")
    if (problem := provider.redirect_problem(redirect_uri)) is not None:
        return OAuthError(400, "invalid_request", f"redirect_uri {problem}").response()
    state = query.get("state")
    try:
        auth = _auth_request(ds, provider, query)
    except OAuthError as exc:
        log.info("oidc authorization refused", error=exc.error)
        return _redirect(
            redirect_uri, {"error": exc.error, "error_description": exc.description, "state": state}
        )
    code = provider.issue_code(ds, auth)
    log.info("oidc code issued", client_id=auth.client_id, user_uid=auth.user_uid, pkce=bool(auth.challenge))
    return _redirect(redirect_uri, {"code": code, "state": state})


@dataclass(frozen=True)
class ClientAuth:
    client_id: str
    secret: str | None = field(repr=False)


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise OAuthError(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise OAuthError(400, "invalid_request", "the body is not UTF-8") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError(400, "invalid_request", f"parameter {key} given more than once")
        form[key] = value
    return form


def _client_auth(request: Request, form: Mapping[str, str]) -> ClientAuth:
    """``client_secret_basic`` (the ``Authorization: Basic`` header) or ``client_secret_post``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ClientAuth(form.get("client_id", ""), form.get("client_secret"))
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise OAuthError(401, "invalid_client", "malformed Basic credentials") from None
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        raise OAuthError(401, "invalid_client", "malformed Basic credentials")
    client_id = unquote_plus(raw_id)  # RFC 6749 2.3.1: form-encoded before Basic
    if "client_secret" in form or form.get("client_id", client_id) != client_id:
        raise OAuthError(400, "invalid_request", "use one client authentication method")
    return ClientAuth(client_id, unquote_plus(raw_secret))


def _check_client(settings: OidcSettings, client: ClientAuth) -> None:
    if client.client_id != settings.client_id:
        raise OAuthError(401, "invalid_client", "unknown client")
    expected = settings.client_secret.encode()
    if expected and not hmac.compare_digest((client.secret or "").encode(), expected):
        raise OAuthError(401, "invalid_client", "client authentication failed")


def _internal_error(secret: str) -> Response:
    """Fault ``token-error``: a 500 that leaks the client secret, as a careless IdP might."""
    text = f"internal error while exchanging the code (client_secret={secret})"
    return JSONResponse({"error": "server_error", "error_description": text}, 500, headers=NO_STORE)


async def token(request: Request) -> Response:
    """POST {issuer}/token: exchange an authorization code (form-encoded) for the tokens."""
    ds = _tenant(request)
    provider = provider_of(request)
    try:
        form = await _form(request)
        client = _client_auth(request, form)
        if provider.take_fault("token-error"):
            return _internal_error(client.secret or provider.settings.client_secret)
        _check_client(provider.settings, client)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != "authorization_code":
            raise OAuthError(400, "unsupported_grant_type", "only authorization_code is supported")
        verifier = form.get("code_verifier") or None
        grant = provider.redeem(
            form.get("code", ""), client.client_id, form.get("redirect_uri", ""), verifier
        )
        body = provider.token_response(ds, issuer_url(request, ds.tenant.uid), grant)
    except OAuthError as exc:
        log.info("oidc token refused", error=exc.error, status=exc.status)
        return exc.response()
    log.info("oidc tokens issued", client_id=client.client_id, user_uid=grant.request.user_uid)
    return JSONResponse(body, headers=NO_STORE)


def routes() -> list[Route]:
    """The OIDC endpoints; the app keeps their ``OidcProvider`` in ``app.state.oidc``."""
    return [
        Route(f"{BASE}/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route(f"{BASE}/jwks", jwks, methods=["GET"]),
        Route(f"{BASE}/auth", authorize, methods=["GET"]),
        Route(f"{BASE}/token", token, methods=["POST"]),
    ]
