"""The permission gate: users (RBAC CSV with token or userinfo groups, or Backstage delegation),
static-token services (access restrictions), anonymous callers; failing closed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ingestor.auth.gate import PermissionGate, ServiceGrant, gate_from_settings, service_grant
from ingestor.auth.identity import ANONYMOUS, Principal
from ingestor.auth.permissions import (
    CREATE_CLUSTER,
    DOWNLOAD_KUBECONFIG,
    VIEW_CLUSTER_INFO,
    VIEW_PROFILE_INFO,
)
from ingestor.auth.rbac import PolicyFile
from ingestor.config import settings_from_dict

POLICY = """
p, role:default/viewer, spectrocloud.cluster.view-info, read, allow
p, role:default/ops, spectrocloud.cluster.download-kubeconfig, read, allow
p, role:default/ops, spectrocloud.cluster.view-info, read, allow
p, role:default/blocked, spectrocloud.cluster.view-info, read, deny
g, group:default/devs, role:default/viewer
g, group:default/sre, role:default/ops
g, user:default/mallory, role:default/blocked
"""


def user(ref: str, *groups: str, claim: bool = True) -> Principal:
    return Principal(
        kind="user",
        subject=ref,
        entity_ref=ref,
        ownership_refs=(ref, *groups),
        has_ownership_claim=claim,
        expires_at=None,
    )


class UserInfo:
    def __init__(self, groups: dict[str, tuple[str, ...]]) -> None:
        self.groups = groups
        self.calls = 0

    async def userinfo_refs(self, user_token: str) -> tuple[str, ...]:
        self.calls += 1
        return self.groups[user_token]


class Backstage:
    def __init__(self, allowed: set[str], *, fail: bool = False) -> None:
        self.allowed = allowed
        self.fail = fail
        self.tokens: list[str] = []

    async def post_authorize(self, user_token: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        if self.fail:
            raise OSError("backstage down")
        self.tokens.append(user_token)
        name = body["items"][0]["permission"]["name"]
        return {"items": [{"id": "1", "result": "ALLOW" if name in self.allowed else "DENY"}]}


@pytest.fixture
def policy(tmp_path: Path) -> PolicyFile:
    path = tmp_path / "rbac.csv"
    path.write_text(POLICY, encoding="utf-8")
    return PolicyFile(path)


async def test_disabled_gate_allows_everyone() -> None:
    gate = PermissionGate(enabled=False, services={})
    for principal in (ANONYMOUS, user("user:default/x")):
        assert (await gate.check(principal, CREATE_CLUSTER, None)).allowed


async def test_users_are_judged_by_their_groups_and_deny_wins(policy: PolicyFile) -> None:
    gate = PermissionGate(enabled=True, services={}, policy_file=policy)
    dev = user("user:default/dev", "group:default/devs")
    sre = user("user:default/sre", "group:default/SRE")
    mallory = user("user:default/mallory", "group:default/sre")
    assert (await gate.check(dev, VIEW_CLUSTER_INFO, "t")).allowed
    denied = await gate.check(dev, DOWNLOAD_KUBECONFIG, "t")
    assert not denied.allowed and denied.reason.startswith(
        "Forbidden: spectrocloud.cluster.download-kubeconfig"
    )
    assert (await gate.check(sre, DOWNLOAD_KUBECONFIG, "t")).allowed
    assert not (await gate.check(mallory, VIEW_CLUSTER_INFO, "t")).allowed  # ops allows, blocked denies
    assert (await gate.check(mallory, DOWNLOAD_KUBECONFIG, "t")).allowed


async def test_groups_come_from_userinfo_when_the_token_has_no_ent_claim(policy: PolicyFile) -> None:
    info = UserInfo({"tok-dev": ("group:default/devs",)})
    gate = PermissionGate(enabled=True, services={}, policy_file=policy, userinfo=info)
    dev = user("user:default/dev", claim=False)
    assert (await gate.check(dev, VIEW_CLUSTER_INFO, "tok-dev")).allowed
    assert (await gate.check(dev, VIEW_CLUSTER_INFO, "tok-dev")).allowed
    assert info.calls == 1  # cached per token
    with_claim = user("user:default/dev", claim=True)
    assert not (await gate.check(with_claim, VIEW_CLUSTER_INFO, "tok-other")).allowed
    assert info.calls == 1


async def test_a_failing_userinfo_fails_closed(policy: PolicyFile) -> None:
    info = UserInfo({})
    gate = PermissionGate(enabled=True, services={}, policy_file=policy, userinfo=info)
    decision = await gate.check(user("user:default/dev", claim=False), VIEW_CLUSTER_INFO, "unknown-token")
    assert not decision.allowed and decision.reason.startswith("Forbidden")


async def test_delegation_sends_the_users_own_token_and_fails_closed() -> None:
    backstage = Backstage({VIEW_CLUSTER_INFO.name})
    gate = PermissionGate(enabled=True, services={}, transport=backstage)
    dev = user("user:default/dev")
    assert (await gate.check(dev, VIEW_CLUSTER_INFO, "dev-token")).allowed
    assert not (await gate.check(dev, CREATE_CLUSTER, "dev-token")).allowed
    assert backstage.tokens == ["dev-token", "dev-token"]
    down = PermissionGate(enabled=True, services={}, transport=Backstage(set(), fail=True))
    assert not (await down.check(dev, VIEW_CLUSTER_INFO, "dev-token")).allowed


async def test_services_follow_their_access_restrictions_and_anonymous_gets_nothing(
    policy: PolicyFile,
) -> None:
    data = {
        "spectrocloud": {"environments": [{"url": "https://p.example.com", "apiToken": "k" * 12}]},
        "auth": {
            "externalAccess": [
                {"type": "static", "options": {"token": "a" * 12, "subject": "all"}},
                {
                    "type": "static",
                    "options": {"token": "b" * 12, "subject": "reader"},
                    "accessRestrictions": [
                        {"plugin": "spectrocloud", "permissionAttribute": {"action": "read"}},
                    ],
                },
                {
                    "type": "static",
                    "options": {"token": "c" * 12, "subject": "catalog-only"},
                    "accessRestrictions": [{"plugin": "catalog", "permission": "catalog.entity.read"}],
                },
                {
                    "type": "static",
                    "options": {"token": "d" * 12, "subject": "profiles"},
                    "accessRestrictions": [{"plugin": "spectrocloud", "permission": VIEW_PROFILE_INFO.name}],
                },
            ]
        },
    }
    settings = settings_from_dict(data, env={})
    grants = {e.options.subject: service_grant(e) for e in settings.auth.external_access}
    gate = PermissionGate(enabled=True, services=grants, policy_file=policy)

    async def allowed(subject: str, permission: Any) -> bool:
        return (await gate.check(Principal(kind="service", subject=subject), permission, None)).allowed

    assert await allowed("all", CREATE_CLUSTER)
    assert await allowed("reader", VIEW_CLUSTER_INFO) and not await allowed("reader", CREATE_CLUSTER)
    assert not await allowed("catalog-only", VIEW_CLUSTER_INFO)
    assert await allowed("profiles", VIEW_PROFILE_INFO) and not await allowed("profiles", VIEW_CLUSTER_INFO)
    assert not await allowed("unknown", VIEW_CLUSTER_INFO)
    assert not (await gate.check(ANONYMOUS, VIEW_CLUSTER_INFO, None)).allowed


def test_gate_from_settings_picks_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(POLICY, encoding="utf-8")
    base = {"spectrocloud": {"environments": [{"url": "https://p.example.com", "apiToken": "k" * 12}]}}
    off = gate_from_settings(settings_from_dict(base, env={}))
    assert off.enabled is False
    on = {**base, "spectrocloud": {**base["spectrocloud"], "enablePermissions": True}}
    local = gate_from_settings(
        settings_from_dict({**on, "auth": {"rbac": {"policyFile": str(path)}}}, env={})
    )
    assert local.enabled is True
    remote = settings_from_dict(
        {**on, "auth": {"rbac": {"mode": "backstage"}, "backstage": {"baseUrl": "https://bs.example.com"}}},
        env={},
    )
    assert gate_from_settings(remote, transport=Backstage(set())).enabled is True


def test_service_grant_without_restrictions_allows_all() -> None:
    assert ServiceGrant(None).allows(CREATE_CLUSTER)
    assert not ServiceGrant(()).allows(CREATE_CLUSTER)
