"""Sign in with Palette (OIDC): ``/api/auth/spectrocloud/{start, handler/frame, refresh, logout}``.

``start`` saves a single-use flow (nonce, PKCE verifier, return target, the Backstage user if one is
signed in) in SQL, binds it to the browser with an ``HttpOnly`` cookie and an HMAC-signed ``state``, and
redirects to Palette. The callback takes the flow (once), exchanges the code with the verifier, verifies the
ID token (JWKS, ``iss``, ``aud``, ``exp``, ``nonce``, ``azp``), takes the HS256 Palette session token from
that exchange only, and stores it in the shared encrypted session store under the user. Any replica can
serve any step. Nothing secret reaches a log, the browser's error text or a URL we log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from ingestor.api.auth import CallerIdentifier
from ingestor.api.errors import ApiError, BadRequestError, NotFoundError, UnauthorizedError
from ingestor.api.signin_pages import (
    BASE_PATH,
    FLOW_COOKIE,
    FLOW_COOKIE_PATH,
    NO_STORE,
    SESSION_COOKIE,
    SESSION_COOKIE_PATH,
    clear_cookie,
    error_message,
    popup_page,
    session_json,
    set_cookie,
)
from ingestor.api.signin_providers import Endpoints, OidcProviders
from ingestor.auth.oidc import (
    FlowSecrets,
    SignedIn,
    SignInError,
    StateSigner,
    authorize_url,
    merge_scopes,
    palette_session_token,
    pkce_challenge,
    random_token,
    sha256_hex,
    user_ref_from_email,
    verify_id_token,
)
from ingestor.auth.sessions import SessionCipher, SessionVault, utcnow
from ingestor.config import Settings
from ingestor.config.models import EnvironmentSettings
from ingestor.palette.oidc import OidcHttp, OidcHttpError
from ingestor.store import signin_flows
from ingestor.store.db import Database

log = structlog.get_logger(__name__)

MAX_COOKIE_CHARS = 3800
PROMPTS = frozenset({"login", "none", "consent", "select_account"})
PALETTE_UNAVAILABLE = "SpectroCloud Palette is unavailable; try again"


class PaletteUnavailableError(ApiError):
    status = 502


@dataclass(frozen=True)
class Outcome:
    """Where a finished (or failed) callback sends the browser, and the session cookie it sets."""

    message: dict[str, object]
    origin: str | None
    redirect_url: str | None = None
    status: int = 200
    signed: SignedIn | None = None
    taken: bool = False  # the flow was used up: its cookie goes (a forged callback leaves it alone)


class PaletteSignIn:
    """The sign-in flow's state and collaborators (one per app; stateless between requests but for caches)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        vault: SessionVault,
        identifier: CallerIdentifier,
        *,
        http: OidcHttp | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        key = settings.auth.sessions.encryption_key
        secret = key.get_secret_value() if key is not None else random_token(32)
        self.settings = settings
        self.db = db
        self.vault = vault
        self.identifier = identifier
        self.http = http or OidcHttp()
        self.providers = OidcProviders(self.http)
        self.cipher = SessionCipher(secret, ephemeral=key is None)
        self.signer = StateSigner(secret)
        self.clock = clock

    def __repr__(self) -> str:
        return "PaletteSignIn(...)"

    @property
    def environments(self) -> list[EnvironmentSettings]:
        return [env for env in self.settings.spectrocloud.environments if env.oidc is not None]

    def environment(self, name: str | None) -> EnvironmentSettings:
        envs = self.environments
        if not envs:
            raise NotFoundError(
                "sign-in with SpectroCloud Palette is not configured (spectrocloud.environments[].oidc)"
            )
        if name is None or not name.strip():
            if len(envs) == 1:
                return envs[0]
            names = ", ".join(repr(env.name) for env in envs)
            raise BadRequestError(f"several instances offer sign-in; pass instance= one of {names}")
        for env in envs:
            if (env.name or "").lower() == name.strip().lower():
                return env
        raise BadRequestError(f"instance {name.strip()!r} does not offer sign-in with Palette")

    def callback_url(self, env: EnvironmentSettings) -> str:
        assert env.oidc is not None
        if env.oidc.callback_url:
            return env.oidc.callback_url
        base = (self.settings.server.base_url or "").rstrip("/")
        return f"{base}{BASE_PATH}/handler/frame"

    def secure(self, env: EnvironmentSettings | None = None) -> bool:
        url = self.callback_url(env) if env is not None else self.settings.server.base_url or ""
        return url.startswith("https://")

    def allowed_origins(self) -> list[str]:
        origins = list(self.settings.auth.sign_in.allowed_origins)
        if self.settings.server.base_url:
            origins.append(_origin(self.settings.server.base_url) or "")
        return [o for o in dict.fromkeys(origins) if o]

    def return_origin(self, requested: str | None) -> str:
        allowed = self.allowed_origins()
        if requested is None or not requested.strip():
            if len(allowed) == 1:
                return allowed[0]
            raise BadRequestError(
                "origin is required (the Backstage app's origin, listed in auth.signIn.allowedOrigins)"
            )
        origin = requested.strip().rstrip("/")
        if origin not in allowed:
            raise BadRequestError("origin is not allowed (auth.signIn.allowedOrigins)")
        return origin


def signin_router(service: PaletteSignIn) -> APIRouter:
    """The four sign-in routes over ``service``."""
    router = APIRouter(prefix=BASE_PATH, tags=["sign-in"])

    @router.get("/start", include_in_schema=True)
    async def start(
        request: Request,
        instance: str | None = None,
        origin: str | None = None,
        flow: str = "popup",
        redirectUrl: str | None = None,  # noqa: N803 (Backstage's parameter name)
        scope: str | None = None,
        prompt: str | None = None,
        env: str | None = None,  # Backstage's auth environment: accepted, not used
    ) -> Response:
        """Begin sign-in: 302 to Palette's authorization endpoint."""
        del env
        target = service.environment(instance)
        oidc = target.oidc
        assert oidc is not None
        if flow not in ("popup", "redirect"):
            raise BadRequestError("flow must be popup or redirect")
        return_origin = service.return_origin(origin)
        if flow == "redirect" and (not redirectUrl or _origin(redirectUrl) not in service.allowed_origins()):
            raise BadRequestError("redirectUrl must be on an allowed origin (auth.signIn.allowedOrigins)")
        if prompt is not None and prompt not in PROMPTS:
            raise BadRequestError(f"prompt must be one of {', '.join(sorted(PROMPTS))}")
        user_ref = await _signed_in_user(service, request)
        if user_ref is None and service.settings.auth.sign_in.user_ref == "signedInUserOnly":
            raise UnauthorizedError("sign in to Backstage first (auth.signIn.userRef is signedInUserOnly)")
        endpoints = await _endpoints(service, target)
        flow_id, binding = random_token(24), random_token(32)
        secrets_ = FlowSecrets(
            nonce=random_token(32),
            verifier=random_token(48),
            origin=return_origin,
            flow=flow,
            redirect_url=redirectUrl if flow == "redirect" else None,
            scope=merge_scopes(oidc.scope, scope),
            user_ref=user_ref,
        )
        now = service.clock()
        lifetime = service.settings.auth.sign_in.flow_timeout_seconds
        row = signin_flows.FlowRow(
            flow_id=flow_id,
            instance=target.name or "",
            binding_hash=sha256_hex(binding),
            sealed=secrets_.seal(service.cipher, flow_id),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
        await service.db.run(signin_flows.save_flow, row)
        location = authorize_url(
            endpoints.authorization_url,
            client_id=oidc.client_id,
            redirect_uri=service.callback_url(target),
            scope=secrets_.scope,
            state=service.signer.sign(flow_id, binding),
            nonce=secrets_.nonce,
            challenge=pkce_challenge(secrets_.verifier),
            prompt=prompt or oidc.prompt,
        )
        response = RedirectResponse(location, status_code=302, headers=NO_STORE)
        set_cookie(
            response,
            FLOW_COOKIE,
            binding,
            path=FLOW_COOKIE_PATH,
            max_age=lifetime,
            secure=service.secure(target),
        )
        log.info("signin.started", instance=row.instance, flow=flow, bound_user=user_ref)
        return response

    @router.api_route("/handler/frame", methods=["GET", "POST"])
    async def handler(request: Request) -> Response:
        """Palette's redirect back: finish sign-in and answer the popup (or redirect)."""
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        outcome = await _complete(service, request, params)
        response: Response
        if outcome.redirect_url is not None and outcome.signed is not None:
            response = RedirectResponse(outcome.redirect_url, status_code=302, headers=NO_STORE)
        else:
            response = popup_page(outcome.message, outcome.origin, status=outcome.status)
        secure = service.secure(service.environments[0]) if service.environments else False
        if outcome.taken:
            clear_cookie(response, FLOW_COOKIE, path=FLOW_COOKIE_PATH, secure=secure)
        if outcome.signed is not None:
            lifetime = max(int(outcome.signed.expires_at - time.time()), 1)
            value = outcome.signed.seal(service.cipher)
            set_cookie(
                response, SESSION_COOKIE, value, path=SESSION_COOKIE_PATH, max_age=lifetime, secure=secure
            )
        return response

    @router.get("/refresh")
    async def refresh(request: Request) -> Response:
        """The current sign-in, from server-side state only (never from a client-supplied token: A1)."""
        _require_xhr(request)
        signed = _session_cookie(service, request)
        if signed is None or await service.vault.get(signed.user_ref, signed.instance) is None:
            response = JSONResponse(
                {"error": "not signed in with SpectroCloud Palette"}, status_code=401, headers=NO_STORE
            )
            clear_cookie(response, SESSION_COOKIE, path=SESSION_COOKIE_PATH, secure=service.secure())
            return response
        env = service.environment(signed.instance or None) if signed.instance else service.environments[0]
        scope = env.oidc.scope if env.oidc is not None else ""
        return JSONResponse(session_json(signed, scope, time.time()), headers=NO_STORE)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """Forget this browser's Palette session (server-side) and its cookie."""
        _require_xhr(request)
        signed = _session_cookie(service, request)
        if signed is not None:
            await service.vault.drop(signed.user_ref, signed.instance)
            log.info("signin.logged_out", user_ref=signed.user_ref, instance=signed.instance)
        response = JSONResponse({}, headers=NO_STORE)
        clear_cookie(response, SESSION_COOKIE, path=SESSION_COOKIE_PATH, secure=service.secure())
        return response

    return router


async def _complete(service: PaletteSignIn, request: Request, params: dict[str, str]) -> Outcome:
    """Check the callback and store the session; a failure is logged with its reason, shown generically."""
    secrets_: FlowSecrets | None = None
    try:
        flow_id, secrets_, instance = await _take_flow(service, request, params)
        env = service.environment(instance or None) if instance else service.environments[0]
        if params.get("error"):
            raise SignInError(f"Palette answered the authorization with error {params['error'][:64]!r}")
        code = params.get("code")
        if not code:
            raise SignInError("the callback carried no code")
        signed = await _exchange(service, env, code, secrets_)
    except (SignInError, ApiError) as exc:
        log.warning("signin.failed", reason=str(exc))
        popup = secrets_ is not None and secrets_.flow == "popup"
        public = exc.public if isinstance(exc, SignInError) else "Sign-in with SpectroCloud Palette failed"
        status = 502 if public == PALETTE_UNAVAILABLE else 400
        origin = secrets_.origin if popup and secrets_ else None
        return Outcome(error_message(public), origin, status=status, taken=secrets_ is not None)
    message: dict[str, object] = {"response": session_json(signed, secrets_.scope, time.time())}
    log.info("signin.completed", user_ref=signed.user_ref, instance=signed.instance, flow=flow_id[:8])
    popup = secrets_.flow == "popup"
    return Outcome(
        message, secrets_.origin if popup else None, secrets_.redirect_url, signed=signed, taken=True
    )


async def _take_flow(
    service: PaletteSignIn, request: Request, params: dict[str, str]
) -> tuple[str, FlowSecrets, str]:
    binding = request.cookies.get(FLOW_COOKIE)
    if not binding:
        raise SignInError("no sign-in cookie: the flow was not started in this browser or has expired")
    flow_id = service.signer.verify(params.get("state") or "", binding)
    if flow_id is None:
        raise SignInError("the state is missing, forged or from another browser")
    row = await service.db.run(signin_flows.take_flow, flow_id, service.clock())
    if row is None:
        raise SignInError("the sign-in flow is unknown, expired or already used")
    if sha256_hex(binding) != row.binding_hash:
        raise SignInError("the sign-in flow belongs to another browser")
    secrets_ = FlowSecrets.open(service.cipher, row.sealed, flow_id)
    if secrets_ is None:
        raise SignInError("the sign-in flow cannot be read (other encryption key?)")
    return flow_id, secrets_, row.instance


async def _exchange(
    service: PaletteSignIn, env: EnvironmentSettings, code: str, flow: FlowSecrets
) -> SignedIn:
    oidc = env.oidc
    assert oidc is not None
    endpoints = await service.providers.endpoints(env)
    secret = oidc.client_secret.get_secret_value() if oidc.client_secret is not None else None
    try:
        answer = await service.http.exchange_code(
            endpoints.token_url,
            code=code,
            redirect_uri=service.callback_url(env),
            client_id=oidc.client_id,
            client_secret=secret,
            code_verifier=flow.verifier,
        )
    except OidcHttpError as exc:
        reason = f"code exchange failed: {exc} (error {exc.error})"
        if exc.status is None or exc.status >= 500:
            raise SignInError(reason, public=PALETTE_UNAVAILABLE) from None
        raise SignInError(reason) from None
    if not answer.id_token:
        raise SignInError("Palette's token answer carried no id_token")
    identity = await verify_id_token(
        answer.id_token,
        await service.providers.keys(env),
        issuer=endpoints.issuer,
        client_id=oidc.client_id,
        nonce=flow.nonce,
    )
    if identity.email is None:
        raise SignInError("the ID token carries no e-mail")
    if service.settings.auth.sign_in.require_verified_email and not identity.email_verified:
        raise SignInError("the ID token's e-mail is not verified (email_verified)")
    token = palette_session_token(answer.refresh_token, answer.access_token, code, identity)
    user_ref = flow.user_ref or user_ref_from_email(identity.email)
    instance = env.name or ""
    try:
        expires = await service.vault.put(user_ref, instance, token, email=identity.email)
    except ValueError as exc:
        raise SignInError(f"the Palette session token cannot be stored: {exc}") from None
    signed = SignedIn(
        user_ref, instance, identity.email, identity.name, int(expires.timestamp()), answer.id_token
    )
    if len(signed.seal(service.cipher)) > MAX_COOKIE_CHARS:
        signed = SignedIn(user_ref, instance, identity.email, identity.name, signed.expires_at)
    return signed


async def _endpoints(service: PaletteSignIn, env: EnvironmentSettings) -> Endpoints:
    try:
        return await service.providers.endpoints(env)
    except SignInError as exc:
        log.warning("signin.endpoints_unavailable", instance=env.name or "", reason=str(exc))
        raise PaletteUnavailableError(exc.public) from None


async def _signed_in_user(service: PaletteSignIn, request: Request) -> str | None:
    """The Backstage user starting the flow, when the request carries a user token (else ``None``)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    caller = await service.identifier.identify(header)
    principal = caller.principal
    return principal.entity_ref if principal.kind == "user" else None


def _session_cookie(service: PaletteSignIn, request: Request) -> SignedIn | None:
    value = request.cookies.get(SESSION_COOKIE)
    return SignedIn.open(service.cipher, value) if value else None


def _require_xhr(request: Request) -> None:
    if request.headers.get("x-requested-with", "").lower() != "xmlhttprequest":
        raise BadRequestError("the X-Requested-With: XMLHttpRequest header is required")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()
