"""The permission gate every surface calls: one decision per (caller, permission), for the calling user.

- permissions off (``spectrocloud.enablePermissions: false``): everything is allowed;
- users: the RBAC CSV evaluated locally with the user's ref and groups (``ent`` claim, else Backstage's
  userinfo, cached per token), or Backstage's permission backend asked with the user's own token;
- static-token services: their ``accessRestrictions`` (none: every permission);
- anonymous callers (``auth.allowUnauthenticated``): nothing.

Fails closed: any error while deciding is a denial. Imports only ``config`` and ``auth`` of ours.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import structlog

from ingestor.auth.decision import BackstageAuthorizer, Decision, PermissionTransport, RbacAuthorizer
from ingestor.auth.identity import Principal
from ingestor.auth.permissions import Permission, forbidden_message
from ingestor.auth.rbac import PolicyFile
from ingestor.config import Settings
from ingestor.config.models import ExternalAccessEntry

log = structlog.get_logger(__name__)

PLUGIN_ID = "spectrocloud"
USERINFO_CACHE_SIZE = 2048


class UserInfoSource(Protocol):
    """Backstage's userinfo endpoint: ownership refs of the user a token belongs to."""

    async def userinfo_refs(self, user_token: str) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class ServiceGrant:
    """What one static-token service may do: ``None`` restrictions means every permission."""

    restrictions: tuple[tuple[frozenset[str] | None, frozenset[str] | None], ...] | None
    trust_user_email_header: bool = False

    def allows(self, permission: Permission) -> bool:
        if self.restrictions is None:
            return True
        for names, actions in self.restrictions:
            if (names is None or permission.name in names) and (
                actions is None or permission.action in actions
            ):
                return True
        return False


def service_grant(entry: ExternalAccessEntry) -> ServiceGrant:
    """The grant of one ``auth.externalAccess[]`` entry (restrictions for other plugins grant nothing)."""
    if entry.access_restrictions is None:
        return ServiceGrant(None, entry.trust_user_email_header)
    rules = []
    for restriction in entry.access_restrictions:
        if restriction.plugin != PLUGIN_ID:
            continue
        names = frozenset(restriction.permission) if restriction.permission is not None else None
        attribute = restriction.permission_attribute
        actions = frozenset(attribute.action) if attribute and attribute.action is not None else None
        rules.append((names, actions))
    return ServiceGrant(tuple(rules), entry.trust_user_email_header)


class PermissionGate:
    """Decides whether a caller holds a permission; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        enabled: bool,
        services: Mapping[str, ServiceGrant],
        policy_file: PolicyFile | None = None,
        transport: PermissionTransport | None = None,
        userinfo: UserInfoSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if enabled and policy_file is None and transport is None:
            raise ValueError("permissions are enabled but neither a policy file nor Backstage is configured")
        self.enabled = enabled
        self._services = dict(services)
        self._rbac = RbacAuthorizer(policy_file) if policy_file is not None else None
        self._transport = transport
        self._userinfo = userinfo
        self._clock = clock
        self._groups: OrderedDict[bytes, tuple[float, tuple[str, ...]]] = OrderedDict()

    def grant_of(self, principal: Principal) -> ServiceGrant | None:
        """The grant of a service principal (``None`` for users and anonymous callers)."""
        return self._services.get(principal.subject) if principal.kind == "service" else None

    async def check(self, principal: Principal, permission: Permission, user_token: str | None) -> Decision:
        """The decision for ``principal``; ``user_token`` is the caller's Backstage token (users only)."""
        if not self.enabled:
            return Decision(True, f"{permission.name} allowed: permissions are disabled")
        try:
            decision = await self._decide(principal, permission, user_token)
        except Exception as exc:  # fail closed (S4)
            log.warning("permission.check_failed", permission=permission.name, error=type(exc).__name__)
            decision = Decision(False, f"{forbidden_message(permission)} (the decision could not be made)")
        log.info(
            "permission.decision",
            caller=principal.display,
            permission=permission.name,
            allowed=decision.allowed,
        )
        return decision

    async def _decide(self, principal: Principal, permission: Permission, user_token: str | None) -> Decision:
        if principal.kind == "service":
            grant = self._services.get(principal.subject)
            if grant is not None and grant.allows(permission):
                return Decision(True, f"{permission.name} allowed by the token's access restrictions")
            return Decision(
                False, f"{forbidden_message(permission)} (outside the token's access restrictions)"
            )
        if principal.kind != "user" or user_token is None:
            return Decision(False, f"{forbidden_message(permission)} (anonymous callers hold no permissions)")
        if self._transport is not None:
            return await BackstageAuthorizer(self._transport, user_token).authorize((), permission)
        assert self._rbac is not None
        refs = await self._refs(principal, user_token)
        return await self._rbac.authorize(refs, permission)

    async def _refs(self, principal: Principal, user_token: str) -> tuple[str, ...]:
        own = (principal.entity_ref or principal.subject.lower(),)
        if principal.has_ownership_claim or self._userinfo is None:
            return own + tuple(ref.lower() for ref in principal.ownership_refs)
        key = hashlib.sha256(user_token.encode()).digest()
        now = self._clock()
        cached = self._groups.get(key)
        if cached is not None and cached[0] > now:
            self._groups.move_to_end(key)
            return own + cached[1]
        refs = await self._userinfo.userinfo_refs(user_token)
        expires = float(principal.expires_at) if principal.expires_at else now + 300.0
        self._groups[key] = (min(expires, now + 3600.0), refs)
        while len(self._groups) > USERINFO_CACHE_SIZE:
            self._groups.popitem(last=False)
        return own + refs


def gate_from_settings(
    settings: Settings,
    *,
    transport: PermissionTransport | None = None,
    userinfo: UserInfoSource | None = None,
) -> PermissionGate:
    """The gate for a configuration. Backstage calls go through ``transport``/``userinfo`` when given
    (tests), else through ``BackstageHttp`` on ``auth.backstage.baseUrl``."""
    from ingestor.auth.backstage_http import BackstageHttp

    auth = settings.auth
    services = {entry.options.subject: service_grant(entry) for entry in auth.external_access}
    enabled = settings.spectrocloud.enable_permissions
    base = str(auth.backstage.base_url) if auth.backstage.base_url else None
    http = BackstageHttp(base) if base else None
    userinfo = userinfo or http
    if not enabled:
        return PermissionGate(enabled=False, services=services)
    if auth.rbac.mode == "backstage":
        return PermissionGate(enabled=True, services=services, transport=transport or http, userinfo=userinfo)
    policy = PolicyFile(auth.rbac.policy_file) if auth.rbac.policy_file else None
    return PermissionGate(enabled=True, services=services, policy_file=policy, userinfo=userinfo)
