"""Which scopes a Palette credential can list in: its projects, plus the tenant scope when allowed (C9)."""

from __future__ import annotations

from ingestor.palette.models import UserMe

TENANT_CLUSTER_PERMISSIONS = frozenset({"cluster.list", "cluster.get"})
TENANT_VIRTUAL_PERMISSIONS = TENANT_CLUSTER_PERMISSIONS | {"virtualCluster.list", "virtualCluster.get"}


def visible_scopes(me: UserMe, tenant_permissions: frozenset[str]) -> list[str | None]:
    """Project uids ``me`` holds permissions in, plus ``None`` (tenant scope) when its tenant permissions
    (keyed ``tenant`` or by the tenant uid) include any of ``tenant_permissions``."""
    scopes: list[str | None] = list(me.project_uids)
    if tenant_permissions & set(me.tenant_permission_list()):
        scopes.append(None)
    return scopes
