"""Permission decisions for the calling user: the Authorizer protocol and its local implementations.

No I/O beyond the policy file (through auth.rbac); must not import httpx or any surface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from ingestor.auth.permissions import Permission, forbidden_message
from ingestor.auth.rbac import PolicyFile

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one check; ``reason`` is safe to show to the caller (it names the permission)."""

    allowed: bool
    reason: str


class Authorizer(Protocol):
    """Decides whether a caller, known by its entity refs (user, groups, roles), holds a permission."""

    async def authorize(self, principal_refs: Sequence[str], permission: Permission) -> Decision: ...


class PermissionTransport(Protocol):
    """Sends one ``POST /api/permission/authorize`` body to Backstage with the user's token; returns the JSON.

    Wired by the caller (the HTTP client lives outside ``auth``); it must not log the token.
    """

    async def post_authorize(self, user_token: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...


class AllowAllAuthorizer:
    """Used when ``spectrocloud.enablePermissions`` is false: every check passes."""

    async def authorize(self, principal_refs: Sequence[str], permission: Permission) -> Decision:
        return Decision(True, f"{permission.name} allowed: permissions are disabled")


class RbacAuthorizer:
    """Evaluates the RBAC CSV locally with the plugin's semantics: some policy allows and none denies."""

    def __init__(self, policy_file: PolicyFile) -> None:
        self._policy_file = policy_file

    async def authorize(self, principal_refs: Sequence[str], permission: Permission) -> Decision:
        policy = self._policy_file.current()
        roles = policy.roles_of(principal_refs)
        effects = policy.effects(roles, permission)
        if "deny" in effects:
            decision = Decision(False, f"{forbidden_message(permission)} (denied by policy)")
        elif "allow" in effects:
            decision = Decision(True, f"{permission.name} allowed by policy")
        else:
            decision = Decision(False, f"{forbidden_message(permission)} (no policy allows it)")
        log.debug(
            "permission_decision",
            permission=permission.name,
            allowed=decision.allowed,
            roles=sorted(roles),
        )
        return decision


class BackstageAuthorizer:
    """Delegates to Backstage's permission backend with the calling user's own token (S3).

    Built per request, since the token belongs to the caller. Fails closed: a transport error, a malformed
    answer or any result other than ``ALLOW`` is a denial. ``principal_refs`` are not sent: Backstage
    derives them from the token.
    """

    def __init__(self, transport: PermissionTransport, user_token: str) -> None:
        self._transport = transport
        self._token = user_token

    def __repr__(self) -> str:
        return "BackstageAuthorizer(user_token=<redacted>)"

    async def authorize(self, principal_refs: Sequence[str], permission: Permission) -> Decision:
        body = {"items": [{"id": "1", "permission": permission_body(permission)}]}
        try:
            answer = await self._transport.post_authorize(self._token, body)
        except Exception as exc:  # fail closed on any transport failure (S4)
            log.warning("permission_backend_failed", permission=permission.name, error=type(exc).__name__)
            return Decision(False, f"{forbidden_message(permission)} (permission backend unavailable)")
        result = _single_result(answer)
        if result == "ALLOW":
            return Decision(True, f"{permission.name} allowed by the Backstage permission backend")
        if result != "DENY":
            log.warning("permission_backend_unexpected", permission=permission.name, result=str(result)[:40])
        return Decision(
            False, f"{forbidden_message(permission)} (denied by the Backstage permission backend)"
        )


def permission_body(permission: Permission) -> dict[str, Any]:
    """The JSON form of a basic permission in an authorize request."""
    return {"type": "basic", "name": permission.name, "attributes": {"action": permission.action}}


def _single_result(answer: Mapping[str, Any]) -> object:
    items = answer.get("items") if isinstance(answer, Mapping) else None
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], Mapping):
        return None
    return items[0].get("result")
