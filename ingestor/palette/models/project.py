"""Project and user models: project summaries and objects, the current user and their projects.

Imports nothing of ours outside ``ingestor.palette``.
"""

from __future__ import annotations

from typing import Any

from ingestor.palette.models.base import MetaDocument, NullList, ObjectRef, PaletteDocument, PaletteModel


class ProjectSummary(MetaDocument):
    """An item of ``POST /v1/dashboard/projects`` (``v1ProjectSummary``)."""

    spec_summary: dict[str, Any] | None = None
    status: dict[str, Any] | None = None


class Project(MetaDocument):
    """``GET /v1/projects/{uid}`` (``v1Project``)."""

    spec: dict[str, Any] | None = None
    status: dict[str, Any] | None = None


class ProjectMetadata(MetaDocument):
    """An item of ``GET /v1/dashboard/projects/metadata``: uid and name only."""


class UserInfo(PaletteDocument):
    """``GET /v1/users/info`` (``v1UserInfo``): the documented "who am I"."""

    user_uid: str | None = None
    tenant_uid: str | None = None
    org_name: str | None = None


class UserSpec(PaletteModel):
    email_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    roles: NullList[Any] = []


class User(MetaDocument):
    """``GET /v1/users/{uid}`` (``v1User``)."""

    spec: UserSpec = UserSpec()
    status: dict[str, Any] | None = None


class UserMeTenant(PaletteModel):
    tenant_uid: str | None = None
    org_name: str | None = None


class UserMeStatus(PaletteModel):
    is_active: bool | None = None
    is_contract_accepted: bool | None = None
    login_mode: str | None = None
    tenant: UserMeTenant | None = None
    project_permissions: dict[str, NullList[str]] | None = None
    tenant_permissions: dict[str, NullList[str]] | None = None


class UserMe(MetaDocument):
    """``GET /v1/users/me`` (the unreferenced ``v1UserMe``): permissions per project and tenant."""

    spec: UserSpec = UserSpec()
    status: UserMeStatus = UserMeStatus()

    @property
    def project_uids(self) -> list[str]:
        """Projects the user holds any permission in (keys of ``projectPermissions``)."""
        return list((self.status.project_permissions or {}).keys())

    def project_permission_list(self, project_uid: str) -> list[str]:
        return list((self.status.project_permissions or {}).get(project_uid, []))

    def tenant_permission_list(self) -> list[str]:
        """Tenant permissions, keyed ``tenant`` (what TeraSky reads) or by the tenant uid (C9)."""
        perms = self.status.tenant_permissions or {}
        tenant_uid = self.status.tenant.tenant_uid if self.status.tenant is not None else None
        out: list[str] = list(perms.get("tenant", []))
        if tenant_uid:
            out += [p for p in perms.get(tenant_uid, []) if p not in out]
        return out


class ProjectRoles(PaletteModel):
    """An item of ``v1ProjectRolesEntity.projects``."""

    uid: str = ""
    name: str | None = None
    roles: NullList[ObjectRef] = []
    inherited_roles: NullList[ObjectRef] = []


class UserProjects(PaletteDocument):
    """``GET /v1/users/{uid}/projects`` (``v1ProjectRolesEntity``)."""

    projects: NullList[ProjectRoles] = []
