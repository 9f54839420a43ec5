"""One live call of a plugin route: permission → inputs → instance → credential → Palette client.

The order is the contract's (compat.md 3.2): a denial (403) comes before any input check (400), and
both before anything reaches Palette. ``LiveCall.run`` maps Palette failures onto our statuses and drops
a stored session Palette no longer accepts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse

from ingestor.access.clients import PaletteClients
from ingestor.access.credentials import (
    CallerHeaders,
    ReauthRequiredError,
    ResolvedCredential,
    SessionLookup,
    resolve_credential,
)
from ingestor.access.inputs import UID_RULE, is_uid
from ingestor.access.instances import UnknownInstanceError, select_instance
from ingestor.api.auth import Caller
from ingestor.api.plugin.failures import bad_request, forbidden, palette_failure, reauth_error
from ingestor.auth.gate import PermissionGate
from ingestor.auth.permissions import Permission
from ingestor.config import Settings
from ingestor.config.models import EnvironmentSettings
from ingestor.palette.client import PaletteClient
from ingestor.palette.errors import PaletteError
from ingestor.palette.filters import ACCOUNT_CLOUD_TYPES

log = structlog.get_logger(__name__)

T = TypeVar("T")

CLOUD_TYPES = ACCOUNT_CLOUD_TYPES
REAUTH_STATE = "spectrocloud_reauth"


@dataclass
class PluginServices:
    """What the plugin routes share (``app.state.plugin``)."""

    settings: Settings
    gate: PermissionGate
    clients: PaletteClients
    sessions: SessionLookup | None = None


def services(request: Request) -> PluginServices:
    plugin: PluginServices = request.app.state.plugin
    return plugin


def check_uid(name: str, value: str) -> str:
    """A Palette uid from a path or query parameter; 400 for anything else (S6)."""
    if not is_uid(value):
        raise bad_request(f"{name} must be {UID_RULE}")
    return value


def check_cloud_type(value: str, allowed: tuple[str, ...] = CLOUD_TYPES) -> str:
    """A cloud type from the allow-list (S6); 400 naming the allowed values otherwise."""
    if value not in allowed:
        raise bad_request(f"unsupported cloudType {value[:40]!r}; use one of: {', '.join(allowed)}")
    return value


def single_query(request: Request, name: str) -> str | None:
    """A query parameter given at most once (400 when repeated); ``None`` when absent or empty."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise bad_request(f"{name} was given {len(values)} times; give it once")
    return values[0] if values and values[0] != "" else None


async def authorize(request: Request, caller: Caller, permission: Permission | None) -> None:
    """403 (message starting with ``Forbidden``, F1) unless the caller holds ``permission``."""
    if permission is None:
        return
    decision = await services(request).gate.check(caller.principal, permission, caller.token)
    if not decision.allowed:
        raise forbidden(decision.reason)


@dataclass
class LiveCall:
    """A route's access to one Palette instance with the caller's resolved credential."""

    request: Request
    caller: Caller
    env: EnvironmentSettings
    client: PaletteClient
    resolved: ResolvedCredential
    project_uid: str | None

    @property
    def instance(self) -> str:
        return self.env.name or ""

    async def run(self, what: str, awaitable: Awaitable[T]) -> T:
        """Await one Palette call; its failure becomes our error for ``what`` (e.g. ``"Cluster"``)."""
        try:
            return await awaitable
        except PaletteError as exc:
            raise await self.failure(what, exc) from None

    async def failure(self, what: str, exc: PaletteError) -> Exception:
        user_credential = self.resolved.source != "api-key"
        log.info(
            "plugin.palette_failed",
            what=what,
            instance=self.instance,
            error_class=type(exc).__name__,
            status=exc.status,
            code=exc.code,
            credential=self.resolved.source,
        )
        if exc.status == 401 and self.resolved.session_user is not None:
            plugin = services(self.request)
            if plugin.sessions is not None:
                await plugin.sessions.drop(self.resolved.session_user, self.instance)
        return palette_failure(what, exc, user_credential=user_credential)

    def json(self, payload: Any, status_code: int = 200) -> JSONResponse:
        return JSONResponse(payload, status_code=status_code)


def check_scope(request: Request) -> tuple[EnvironmentSettings, str | None]:
    """The instance and ``projectUid`` of the query (400 when unknown, repeated or malformed)."""
    project_uid = single_query(request, "projectUid")
    if project_uid is not None:
        check_uid("projectUid", project_uid)
    try:
        env = select_instance(services(request).settings, request.query_params.getlist("instance") or None)
    except UnknownInstanceError as exc:
        raise bad_request(str(exc)) from None
    return env, project_uid


async def open_call(
    request: Request,
    caller: Caller,
    permission: Permission | None,
    *,
    params: Mapping[str, str] | None = None,
    sensitive: bool = False,
    own_session_only: bool = False,
) -> LiveCall:
    """Check the permission, then every uid in ``params`` and the scope query, then pick the instance and
    the credential.

    ``sensitive`` (kubeconfigs, creation): the instance API key may stand in for the caller only when
    permissions are enabled, so such calls are always gated per user (S2). ``own_session_only``: never
    the API key (routes that describe the caller, like ``/users/me/projects``).
    """
    await authorize(request, caller, permission)
    for name, value in (params or {}).items():
        check_uid(name, value)
    env, project_uid = check_scope(request)
    plugin = services(request)
    allow_api_key = env.api_token_fallback and not own_session_only
    if sensitive and not plugin.settings.spectrocloud.enable_permissions:
        allow_api_key = False
    grant = plugin.gate.grant_of(caller.principal)
    headers = CallerHeaders(
        token=request.headers.get("x-spectrocloud-token"),
        user_email=request.headers.get("x-spectrocloud-user-email"),
    )
    try:
        resolved = await resolve_credential(
            caller.principal,
            env,
            headers,
            sessions=plugin.sessions,
            trusts_email_header=bool(grant and grant.trust_user_email_header),
            allow_api_key=allow_api_key,
        )
    except ReauthRequiredError as exc:
        raise reauth_error(str(exc)) from None
    if resolved.reauth_hint:
        request.scope.setdefault("state", {})[REAUTH_STATE] = True
    client = plugin.clients.with_credential(env, resolved.credential)
    return LiveCall(request, caller, env, client, resolved, project_uid)
