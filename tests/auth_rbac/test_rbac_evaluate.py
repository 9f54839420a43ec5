"""Evaluating the CSV for the calling user: roles from groups, every permission per role, deny wins."""

from __future__ import annotations

import pytest

from ingestor.auth.decision import AllowAllAuthorizer, Authorizer, RbacAuthorizer
from ingestor.auth.permissions import (
    ALL_PERMISSIONS,
    CREATE_CLUSTER,
    DOWNLOAD_KUBECONFIG,
    VIEW_CLUSTER_INFO,
    VIEW_PACK_MANIFESTS,
    VIEW_PACK_VALUES,
    VIEW_PROFILE_CLUSTERS,
    VIEW_PROFILE_INFO,
    Permission,
    forbidden_message,
)
from ingestor.auth.rbac import PolicyFile, PolicyFileError
from tests.auth_rbac.conftest import PolicyWriter

GRANTS: dict[str, tuple[Permission, ...]] = {
    "role:default/viewer": (VIEW_CLUSTER_INFO, VIEW_PROFILE_INFO, VIEW_PROFILE_CLUSTERS),
    "role:default/operator": (DOWNLOAD_KUBECONFIG, VIEW_PACK_VALUES, VIEW_PACK_MANIFESTS),
    "role:default/platform-team": (CREATE_CLUSTER,),
}
MEMBERS = {
    "group:default/devs": ("role:default/viewer",),
    "group:default/ops": ("role:default/viewer", "role:default/operator"),
    "user:default/alice": ("role:default/platform-team",),
}


def _csv() -> str:
    lines = ["# generated for the tests"]
    for role, granted in GRANTS.items():
        lines += [f"p, {role}, {p.name}, {p.action}, allow" for p in granted]
    for member, roles in MEMBERS.items():
        lines += [f"g, {member}, {role}" for role in roles]
    return "\n".join(lines) + "\n"


@pytest.fixture
def authorizer(policy: PolicyWriter) -> RbacAuthorizer:
    return RbacAuthorizer(PolicyFile(policy.write(_csv()), check_interval=0))


def _expected(refs: list[str]) -> set[str]:
    roles = {role for ref in refs for role in MEMBERS.get(ref, ())}
    return {p.name for role in roles for p in GRANTS[role]}


@pytest.mark.parametrize(
    "refs",
    [
        ["user:default/bob", "group:default/devs"],
        ["user:default/carol", "group:default/ops"],
        ["user:default/alice"],
        ["user:default/alice", "group:default/devs"],
        ["user:default/nobody", "group:default/unknown"],
        [],
    ],
    ids=["devs", "ops", "alice", "alice-in-devs", "stranger", "no-refs"],
)
@pytest.mark.parametrize("permission", ALL_PERMISSIONS, ids=[p.name for p in ALL_PERMISSIONS])
async def test_each_permission_per_role(
    authorizer: RbacAuthorizer, refs: list[str], permission: Permission
) -> None:
    decision = await authorizer.authorize(refs, permission)
    assert decision.allowed is (permission.name in _expected(refs))
    assert permission.name in decision.reason


async def test_denial_reason_is_the_f1_message(authorizer: RbacAuthorizer) -> None:
    decision = await authorizer.authorize(["group:default/devs"], CREATE_CLUSTER)
    assert not decision.allowed
    assert decision.reason.startswith(forbidden_message(CREATE_CLUSTER))


async def test_group_refs_match_case_insensitively(authorizer: RbacAuthorizer) -> None:
    decision = await authorizer.authorize(["User:default/Alice"], CREATE_CLUSTER)
    assert decision.allowed


async def test_role_refs_of_service_principals_apply_directly(authorizer: RbacAuthorizer) -> None:
    assert (await authorizer.authorize(["role:default/operator"], DOWNLOAD_KUBECONFIG)).allowed
    assert not (await authorizer.authorize(["role:default/operator"], CREATE_CLUSTER)).allowed


async def test_deny_wins_over_allow_from_another_role(policy: PolicyWriter) -> None:
    path = policy.write(
        "p, role:default/viewer, spectrocloud.cluster.view-info, read, allow\n"
        "p, role:default/viewer, spectrocloud.cluster.download-kubeconfig, read, allow\n"
        "p, role:default/contractors, spectrocloud.cluster.download-kubeconfig, read, deny\n"
        "g, group:default/devs, role:default/viewer\n"
        "g, user:default/eve, role:default/contractors\n"
    )
    authorizer: Authorizer = RbacAuthorizer(PolicyFile(path, check_interval=0))
    eve = ["user:default/eve", "group:default/devs"]
    denied = await authorizer.authorize(eve, DOWNLOAD_KUBECONFIG)
    assert not denied.allowed
    assert denied.reason.startswith(forbidden_message(DOWNLOAD_KUBECONFIG))
    assert "denied" in denied.reason
    assert (await authorizer.authorize(eve, VIEW_CLUSTER_INFO)).allowed
    assert (await authorizer.authorize(["group:default/devs"], DOWNLOAD_KUBECONFIG)).allowed


async def test_deny_wins_within_one_role(policy: PolicyWriter) -> None:
    path = policy.write(
        "p, role:default/x, spectrocloud.cluster.view-info, read, allow\n"
        "p, role:default/x, spectrocloud.cluster.view-info, read, deny\n"
        "g, group:default/y, role:default/x\n"
    )
    authorizer = RbacAuthorizer(PolicyFile(path, check_interval=0))
    assert not (await authorizer.authorize(["group:default/y"], VIEW_CLUSTER_INFO)).allowed


async def test_other_plugins_policies_grant_nothing(policy: PolicyWriter) -> None:
    path = policy.write(
        "p, role:default/x, catalog-entity, read, allow\n"
        "p, role:default/x, spectrocloud.cluster, read, allow\n"
        "g, group:default/y, role:default/x\n"
    )
    with pytest.raises(PolicyFileError, match="spectrocloud.cluster"):
        PolicyFile(path)
    path = policy.write(
        "p, role:default/x, catalog-entity, read, allow\ng, group:default/y, role:default/x\n"
    )
    authorizer = RbacAuthorizer(PolicyFile(path, check_interval=0))
    for permission in ALL_PERMISSIONS:
        assert not (await authorizer.authorize(["group:default/y"], permission)).allowed


async def test_allow_all_when_permissions_are_disabled() -> None:
    authorizer: Authorizer = AllowAllAuthorizer()
    for permission in ALL_PERMISSIONS:
        decision = await authorizer.authorize([], permission)
        assert decision.allowed
        assert permission.name in decision.reason
