"""The seven SpectroCloud permissions (names and actions as the anchor's common package defines them).

Pure data: imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["create", "read", "update", "delete", "use"]


@dataclass(frozen=True, slots=True)
class Permission:
    """A basic Backstage permission: a name and its ``attributes.action``."""

    name: str
    action: Action


VIEW_CLUSTER_INFO = Permission("spectrocloud.cluster.view-info", "read")
DOWNLOAD_KUBECONFIG = Permission("spectrocloud.cluster.download-kubeconfig", "read")
VIEW_PACK_VALUES = Permission("spectrocloud.cluster.view-pack-values", "read")
VIEW_PACK_MANIFESTS = Permission("spectrocloud.cluster.view-pack-manifests", "read")
CREATE_CLUSTER = Permission("spectrocloud.cluster.create", "create")
VIEW_PROFILE_INFO = Permission("spectrocloud.profile.view-info", "read")
VIEW_PROFILE_CLUSTERS = Permission("spectrocloud.profile.view-clusters", "read")

# All seven, in the anchor's order (``spectroCloudPermissions``).
ALL_PERMISSIONS: tuple[Permission, ...] = (
    VIEW_CLUSTER_INFO,
    DOWNLOAD_KUBECONFIG,
    VIEW_PACK_VALUES,
    VIEW_PACK_MANIFESTS,
    CREATE_CLUSTER,
    VIEW_PROFILE_INFO,
    VIEW_PROFILE_CLUSTERS,
)
TRIGGER_CRAWL = Permission("spectrocloud.ingestor.crawl", "update")
"""Ours, not the anchor's: start a crawl now (the console's "crawl now" button)."""
PERMISSIONS_BY_NAME: dict[str, Permission] = {p.name: p for p in (*ALL_PERMISSIONS, TRIGGER_CRAWL)}
PERMISSION_PREFIX = "spectrocloud."


def forbidden_message(permission: Permission) -> str:
    """The 403 message (F1): starts with ``Forbidden`` so the stock cluster card recognises it."""
    return f"Forbidden: {permission.name} is not allowed"
