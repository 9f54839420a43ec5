"""Tools answered live from Palette with the caller's credential (uid- and list-based actions).

Every uid input is checked (``^[A-Za-z0-9-]{1,64}$``) before anything reaches Palette. Lists page to the
end and are de-duplicated by uid; a failing page or project fails the tool (M6), never a shorter list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ingestor.access.inputs import UID_RULE, gather_bounded, is_uid
from ingestor.access.scopes import TENANT_CLUSTER_PERMISSIONS, TENANT_VIRTUAL_PERMISSIONS
from ingestor.access.scopes import visible_scopes as scopes_of
from ingestor.auth.permissions import DOWNLOAD_KUBECONFIG, VIEW_CLUSTER_INFO, VIEW_PROFILE_INFO
from ingestor.mcp.common import READ_ONLY, InstanceName, ProjectUid
from ingestor.mcp.context import LiveTool, McpDeps
from ingestor.palette.filters import (
    ACCOUNT_CLOUD_TYPES,
    PROFILE_CLOUD_TYPES,
    PROFILE_TYPES,
    profile_name_body,
    project_profiles_body,
)
from ingestor.palette.models import ClusterProfileSummary
from ingestor.palette.models.base import MetaDocument

T = TypeVar("T")
D = TypeVar("D", bound=MetaDocument)

MAX_NAMES = 100
MAX_NAME_LENGTH = 256
DEFAULT_PROFILE_TYPES = ("infra", "cluster")
# Tenant permissions that let a credential see tenant-scoped clusters / virtual clusters (C9).
VIRTUAL = "virtual cluster"


class ProjectItem(BaseModel):
    uid: str
    name: str


class ProjectList(BaseModel):
    projects: list[ProjectItem]


class ClusterItem(BaseModel):
    uid: str
    name: str
    state: str | None = None
    cloudType: str | None = None  # noqa: N815 (the contract's field name)
    projectUid: str | None = Field(default=None, description="Owning project; absent for tenant scope")  # noqa: N815


class ClusterList(BaseModel):
    clusters: list[ClusterItem]


class VirtualClusterItem(BaseModel):
    uid: str
    name: str
    state: str | None = None
    projectUid: str | None = Field(default=None, description="Owning project; absent for tenant scope")  # noqa: N815


class VirtualClusterList(BaseModel):
    virtualClusters: list[VirtualClusterItem]  # noqa: N815


class ClusterGroupList(BaseModel):
    clusterGroups: list[dict[str, Any]] = Field(  # noqa: N815
        description="Raw Palette host cluster group summaries"
    )


class ProfileItem(BaseModel):
    uid: str
    name: str
    cloudType: str | None = None  # noqa: N815
    type: str | None = None
    version: str | None = None


class ProfileList(BaseModel):
    profiles: list[ProfileItem]


class VirtualClusterRef(BaseModel):
    name: str
    uid: str
    state: str


class VirtualClusterDetails(BaseModel):
    cluster: VirtualClusterRef


class KubeconfigClusterRef(BaseModel):
    uid: str
    name: str | None = None


class VirtualClusterKubeconfig(BaseModel):
    cluster: KubeconfigClusterRef
    kubeconfig: str
    accessType: str  # noqa: N815


class ClusterGroupDetail(BaseModel):
    clusterGroup: dict[str, Any] = Field(description="Raw Palette v1ClusterGroup")  # noqa: N815


class AccountItem(BaseModel):
    uid: str
    name: str


class AccountList(BaseModel):
    accounts: list[AccountItem]


Names = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=MAX_NAMES,
        description="Profile names, matched case-insensitively (every page of Palette's search)",
    ),
]
VirtualClusterUid = Annotated[str, Field(description="Palette uid of the virtual cluster")]


def check_uid(name: str, value: str) -> str:
    """A Palette uid input; an "Invalid input" tool error for anything else."""
    if not is_uid(value):
        raise ToolError(f"Invalid input: {name} must be {UID_RULE}")
    return value


def check_optional_uid(name: str, value: str | None) -> str | None:
    return None if value is None else check_uid(name, value)


def check_choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ToolError(f"Invalid input: unsupported {name} {value[:40]!r}; use one of: {', '.join(allowed)}")
    return value


def check_names(names: list[str]) -> list[str]:
    """Non-blank names of at most ``MAX_NAME_LENGTH``, each once (case-insensitively, first spelling kept)."""
    if not all(name.strip() and len(name) <= MAX_NAME_LENGTH for name in names):
        raise ToolError(
            f"Invalid input: names must be non-empty strings of at most {MAX_NAME_LENGTH} characters"
        )
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.casefold(), name)
    return list(unique.values())


def profile_types(value: str | None) -> list[str]:
    """``profileType`` (comma-separated) as a list; default infra + cluster."""
    if value is None:
        return list(DEFAULT_PROFILE_TYPES)
    types = list(dict.fromkeys(part.strip() for part in value.split(",")))
    for item in types:
        check_choice("profileType", item, PROFILE_TYPES)
    return types


async def gather_concat(items: Iterable[T], fn: Callable[[T], Awaitable[list[D]]]) -> list[D]:
    """``fn`` over ``items`` through the shared bounded fan-out, results concatenated in order."""
    return [doc for chunk in await gather_bounded(items, fn) for doc in chunk]


def unique_by_uid(documents: Iterable[D]) -> list[D]:
    """Documents in order, each uid once (documents without a uid are kept)."""
    seen: set[str] = set()
    out: list[D] = []
    for doc in documents:
        if doc.uid:
            if doc.uid in seen:
                continue
            seen.add(doc.uid)
        out.append(doc)
    return out


async def visible_scopes(live: LiveTool, tenant_permissions: frozenset[str]) -> list[str | None]:
    """The scopes the credential can list in (``access.scopes``), from ``/v1/users/me``."""
    return scopes_of(await live.run("Palette user", live.client.users_me()), tenant_permissions)


def in_scope(doc: MetaDocument, scope: str | None, *, only_project: bool) -> bool:
    """A tenant-scope answer keeps tenant-owned items (as route 4); with ``only_project`` a project answer
    keeps that project's own items (the anchor's ``projectUid`` filter, without asking every project: M7)."""
    if scope is None:
        return doc.metadata.scope == "tenant"
    return not only_project or doc.metadata.project_uid == scope


def register(server: MCPServer, deps: McpDeps) -> None:
    @server.tool(
        name="list_spectrocloud_projects",
        title="List SpectroCloud Projects",
        description="Every Palette project of the instance (all pages), as {uid, name}.",
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_projects(instanceName: InstanceName = None) -> ProjectList:  # noqa: N803
        caller = await deps.require(VIEW_CLUSTER_INFO)
        live = await deps.live(caller, deps.instance(instanceName))
        projects = await live.run("projects", live.client.list_projects().collect())
        return ProjectList(
            projects=[ProjectItem(uid=p.metadata.uid, name=p.metadata.name or "") for p in projects]
        )

    @server.tool(
        name="list_spectrocloud_clusters",
        title="List SpectroCloud Clusters",
        description=(
            "Clusters the caller's Palette credential can see: of one project when projectUid is given, "
            "else of every visible project plus tenant scope."
        ),
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_clusters(
        instanceName: InstanceName = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
    ) -> ClusterList:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName))
        scopes = [project] if project else await visible_scopes(live, TENANT_CLUSTER_PERMISSIONS)

        async def meta(scope: str | None) -> list[Any]:
            found = await live.run("clusters", live.client.clusters_meta(scope))
            return [doc for doc in found if in_scope(doc, scope, only_project=project is not None)]

        found = unique_by_uid(await gather_concat(scopes, meta))
        return ClusterList(
            clusters=[
                ClusterItem(
                    uid=c.uid,
                    name=c.name,
                    state=c.state,
                    cloudType=c.cloud_type,
                    projectUid=c.metadata.project_uid,
                )
                for c in found
            ]
        )

    @server.tool(
        name="list_spectrocloud_virtual_clusters",
        title="List SpectroCloud Virtual Clusters",
        description="Every non-deleted virtual cluster of the visible projects and tenant scope (all pages).",
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_virtual_clusters(
        instanceName: InstanceName = None,  # noqa: N803
    ) -> VirtualClusterList:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        live = await deps.live(caller, deps.instance(instanceName))
        scopes = await visible_scopes(live, TENANT_VIRTUAL_PERMISSIONS)

        async def search(scope: str | None) -> list[Any]:
            return await live.run("virtual clusters", live.client.list_virtual_clusters(scope).collect())

        found = unique_by_uid(await gather_concat(scopes, search))
        return VirtualClusterList(
            virtualClusters=[
                VirtualClusterItem(uid=c.uid, name=c.name, state=c.state, projectUid=c.metadata.project_uid)
                for c in found
            ]
        )

    @server.tool(
        name="list_spectrocloud_cluster_groups",
        title="List SpectroCloud Cluster Groups",
        description=(
            "Host cluster group summaries of the scope (a project scope includes tenant and system groups)."
        ),
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_cluster_groups(
        instanceName: InstanceName = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
    ) -> ClusterGroupList:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName))
        groups = await live.run("cluster groups", live.client.list_cluster_groups(project))
        return ClusterGroupList(clusterGroups=[g.raw for g in unique_by_uid(groups)])

    @server.tool(
        name="search_spectrocloud_profiles_by_names",
        title="Search SpectroCloud Profiles by Names",
        description=(
            "Cluster profiles whose name equals one of names (case-insensitive), from every page; "
            "with projectUid, the project's own and inherited profiles."
        ),
        annotations=READ_ONLY,
    )
    async def search_spectrocloud_profiles_by_names(
        names: Names,
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> ProfileList:
        caller = await deps.require(VIEW_PROFILE_INFO)
        wanted = check_names(names)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName))

        async def named(name: str) -> list[ClusterProfileSummary]:
            search = live.client.search_profiles(profile_name_body(name), project)
            return await live.run("profiles", search.collect())

        keys = {name.casefold() for name in wanted}
        found = [p for p in await gather_concat(wanted, named) if p.name.casefold() in keys]
        return ProfileList(profiles=[profile_item(p) for p in unique_by_uid(found)])

    @server.tool(
        name="list_spectrocloud_profiles_for_project",
        title="List SpectroCloud Profiles for Project",
        description=(
            "Cluster-deployable profiles a project sees (own and inherited), newest change first, all pages; "
            "profileType is comma-separated (default infra,cluster)."
        ),
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_profiles_for_project(
        projectUid: Annotated[str, Field(description="Palette project uid")],  # noqa: N803
        cloudType: Annotated[  # noqa: N803
            str | None, Field(description=f"One of: {', '.join(PROFILE_CLOUD_TYPES)}")
        ] = None,
        profileType: Annotated[  # noqa: N803
            str | None, Field(description=f"Comma-separated of: {', '.join(PROFILE_TYPES)}")
        ] = None,
        instanceName: InstanceName = None,  # noqa: N803
    ) -> ProfileList:
        caller = await deps.require(VIEW_PROFILE_INFO)
        project = check_uid("projectUid", projectUid)
        cloud = check_choice("cloudType", cloudType, PROFILE_CLOUD_TYPES) if cloudType else None
        types = profile_types(profileType or None)
        live = await deps.live(caller, deps.instance(instanceName))
        search = live.client.search_profiles(project_profiles_body(types, cloud), project)
        found = await live.run("profiles", search.collect())
        return ProfileList(profiles=[profile_item(p) for p in unique_by_uid(found)])

    @server.tool(
        name="get_spectrocloud_virtual_cluster_details",
        title="Get SpectroCloud Virtual Cluster Details",
        description="Name, uid and state of a virtual cluster; any other cluster uid is not found.",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_virtual_cluster_details(
        virtualClusterUid: VirtualClusterUid,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> VirtualClusterDetails:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        uid = check_uid("virtualClusterUid", virtualClusterUid)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName))
        summary = await live.run(VIRTUAL, live.client.get_cluster_summary(uid, project))
        if not summary.is_virtual:
            raise ToolError(f"Not found: {VIRTUAL} {uid}")
        return VirtualClusterDetails(
            cluster=VirtualClusterRef(
                name=summary.name, uid=summary.uid or uid, state=summary.state or "unknown"
            )
        )

    @server.tool(
        name="get_spectrocloud_kubeconfig_for_virtual_cluster",
        title="Download SpectroCloud Virtual Cluster Kubeconfig",
        description=(
            "The user (OIDC) kubeconfig of a virtual cluster; frp (default true) selects the proxied form."
        ),
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_kubeconfig_for_virtual_cluster(
        virtualClusterUid: VirtualClusterUid,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        frp: Annotated[bool, Field(description="Reverse-proxy (FRP) kubeconfig")] = True,
        instanceName: InstanceName = None,  # noqa: N803
    ) -> VirtualClusterKubeconfig:
        caller = await deps.require(DOWNLOAD_KUBECONFIG)
        uid = check_uid("virtualClusterUid", virtualClusterUid)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName), sensitive=True)
        cluster = await live.run(VIRTUAL, live.client.get_cluster(uid, project))
        if not cluster.is_virtual:
            raise ToolError(f"Not found: {VIRTUAL} {uid}")
        text = await live.run("kubeconfig", live.client.get_kubeconfig(uid, project, frp=frp))
        if not text.strip():
            raise ToolError(f"Not found: kubeconfig of {VIRTUAL} {uid}")
        return VirtualClusterKubeconfig(
            cluster=KubeconfigClusterRef(uid=uid, name=cluster.name or None),
            kubeconfig=text,
            accessType="client-oidc",
        )

    @server.tool(
        name="get_spectrocloud_cluster_group",
        title="Get SpectroCloud Cluster Group",
        description="One cluster group as Palette returns it (v1ClusterGroup).",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_cluster_group(
        clusterGroupUid: Annotated[str, Field(description="Palette uid of the cluster group")],  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> ClusterGroupDetail:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        uid = check_uid("clusterGroupUid", clusterGroupUid)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName))
        group = await live.run("cluster group", live.client.get_cluster_group(uid, project))
        return ClusterGroupDetail(clusterGroup=group.raw or {})

    @server.tool(
        name="list_spectrocloud_cloud_accounts",
        title="List SpectroCloud Cloud Accounts",
        description=f"Cloud accounts of one type ({', '.join(ACCOUNT_CLOUD_TYPES)}), all pages.",
        annotations=READ_ONLY,
    )
    async def list_spectrocloud_cloud_accounts(
        cloudType: Annotated[str, Field(description=f"One of: {', '.join(ACCOUNT_CLOUD_TYPES)}")],  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> AccountList:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        cloud = check_choice("cloudType", cloudType, ACCOUNT_CLOUD_TYPES)
        project = check_optional_uid("projectUid", projectUid)
        live = await deps.live(caller, deps.instance(instanceName))
        accounts = await live.run("cloud accounts", live.client.list_cloud_accounts(cloud, project).collect())
        return AccountList(accounts=[AccountItem(uid=a.uid, name=a.name) for a in unique_by_uid(accounts)])


def profile_item(profile: ClusterProfileSummary) -> ProfileItem:
    return ProfileItem(
        uid=profile.uid,
        name=profile.name,
        cloudType=profile.cloud_type,
        type=profile.profile_type,
        version=profile.version,
    )
