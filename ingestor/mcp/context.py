"""What every tool needs: the caller, the permission gate, the store and live Palette access.

The caller comes from a context variable set per HTTP request by ``http.McpEndpoint`` (the same identity
as the plugin API), or is the local operator for stdio. Tool failures are ``ToolError`` with a message
that says which kind of failure it is: invalid input, not found, ambiguous, forbidden, Palette unavailable.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from mcp.server.mcpserver.exceptions import ToolError

from ingestor.access.clients import PaletteClients
from ingestor.access.credentials import CallerHeaders, ReauthRequiredError, SessionLookup, resolve_credential
from ingestor.access.instances import UnknownInstanceError, select_instance
from ingestor.auth.gate import PermissionGate
from ingestor.auth.identity import Principal
from ingestor.auth.permissions import Permission
from ingestor.config import Settings
from ingestor.config.models import EnvironmentSettings
from ingestor.palette.client import PaletteClient
from ingestor.palette.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PaletteError,
    UnauthorizedError,
)
from ingestor.store.db import Database

log = structlog.get_logger(__name__)

T = TypeVar("T")

STDIO_OPERATOR = Principal(kind="service", subject="stdio")


@dataclass(frozen=True)
class McpCaller:
    """Who calls a tool: the verified principal, its Backstage token (users) and its Palette headers."""

    principal: Principal
    token: str | None = None
    headers: CallerHeaders = field(default_factory=CallerHeaders)

    def __repr__(self) -> str:
        return f"McpCaller({self.principal.display!r})"


current_caller: contextvars.ContextVar[McpCaller | None] = contextvars.ContextVar("mcp_caller", default=None)


@dataclass
class McpDeps:
    """Shared by every tool of one server."""

    settings: Settings
    db: Database
    gate: PermissionGate
    clients: PaletteClients
    sessions: SessionLookup | None = None
    default_caller: McpCaller | None = None  # stdio: the local operator

    def caller(self) -> McpCaller:
        caller = current_caller.get() or self.default_caller
        if caller is None:  # the HTTP endpoint always sets one; never act for nobody
            raise ToolError("Forbidden: no authenticated caller")
        return caller

    async def require(self, permission: Permission) -> McpCaller:
        """The caller, if it holds ``permission`` (fails closed); else a ``Forbidden`` tool error."""
        caller = self.caller()
        decision = await self.gate.check(caller.principal, permission, caller.token)
        if not decision.allowed:
            raise ToolError(decision.reason)
        return caller

    def instance(self, name: str | None) -> EnvironmentSettings:
        try:
            return select_instance(self.settings, name, parameter="instanceName")
        except UnknownInstanceError as exc:
            raise ToolError(f"Invalid input: {exc}") from None

    async def live(self, caller: McpCaller, env: EnvironmentSettings, *, sensitive: bool = False) -> LiveTool:
        """Palette access for ``caller`` on ``env``, with the plugin API's credential rules."""
        allow_api_key = env.api_token_fallback
        if (
            sensitive
            and not self.settings.spectrocloud.enable_permissions
            and caller.principal.kind == "user"
        ):
            allow_api_key = False
        grant = self.gate.grant_of(caller.principal)
        try:
            resolved = await resolve_credential(
                caller.principal,
                env,
                caller.headers,
                sessions=self.sessions,
                trusts_email_header=bool(grant and grant.trust_user_email_header),
                allow_api_key=allow_api_key,
            )
        except ReauthRequiredError as exc:
            raise ToolError(f"Forbidden: {exc}") from None
        return LiveTool(env, self.clients.with_credential(env, resolved.credential))


@dataclass
class LiveTool:
    """A tool's client for one instance; ``run`` turns Palette failures into clear tool errors."""

    env: EnvironmentSettings
    client: PaletteClient

    @property
    def instance(self) -> str:
        return self.env.name or ""

    async def run(self, what: str, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except PaletteError as exc:
            raise palette_tool_error(what, exc) from None


def palette_tool_error(what: str, exc: PaletteError) -> ToolError:
    """Not found, forbidden, invalid input, or "Palette unavailable": never the same words for two kinds."""
    detail = ", ".join(
        p for p in (f"status {exc.status}" if exc.status else "", f"code {exc.code}" if exc.code else "") if p
    )
    suffix = f" ({detail})" if detail else ""
    log.info("mcp.palette_failed", what=what, error_class=type(exc).__name__, status=exc.status)
    if isinstance(exc, NotFoundError):
        return ToolError(f"Not found: {what}{suffix}")
    if isinstance(exc, ForbiddenError | UnauthorizedError):
        return ToolError(f"Forbidden: Palette refused access to {what}{suffix}")
    if isinstance(exc, InvalidRequestError):
        return ToolError(f"Invalid input for {what}: {exc.message}")
    return ToolError(f"Palette unavailable while fetching {what}{suffix}; try again later")
