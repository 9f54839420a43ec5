"""The seven permissions: exact names, actions and order (compat.md section 6), and the F1 message."""

from __future__ import annotations

from ingestor.auth import permissions as perms


def test_seven_permissions_in_anchor_order_with_their_actions() -> None:
    assert [(p.name, p.action) for p in perms.ALL_PERMISSIONS] == [
        ("spectrocloud.cluster.view-info", "read"),
        ("spectrocloud.cluster.download-kubeconfig", "read"),
        ("spectrocloud.cluster.view-pack-values", "read"),
        ("spectrocloud.cluster.view-pack-manifests", "read"),
        ("spectrocloud.cluster.create", "create"),
        ("spectrocloud.profile.view-info", "read"),
        ("spectrocloud.profile.view-clusters", "read"),
    ]


def test_named_constants_are_the_table_entries() -> None:
    named = [
        perms.VIEW_CLUSTER_INFO,
        perms.DOWNLOAD_KUBECONFIG,
        perms.VIEW_PACK_VALUES,
        perms.VIEW_PACK_MANIFESTS,
        perms.CREATE_CLUSTER,
        perms.VIEW_PROFILE_INFO,
        perms.VIEW_PROFILE_CLUSTERS,
    ]
    assert tuple(named) == perms.ALL_PERMISSIONS
    assert all(perms.PERMISSIONS_BY_NAME[p.name] is p for p in named)
    assert all(p.name.startswith(perms.PERMISSION_PREFIX) for p in named)


def test_forbidden_message_has_the_f1_format() -> None:
    for permission in perms.ALL_PERMISSIONS:
        message = perms.forbidden_message(permission)
        assert message == f"Forbidden: {permission.name} is not allowed"
        assert message.startswith("Forbidden")
