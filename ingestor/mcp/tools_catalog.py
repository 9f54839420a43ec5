"""Entity-centric tools: the entity is found in the snapshot store by its Palette name (title), uid or
entity ref (``resolve``); details come live from Palette with the caller's credential.

``find_spectrocloud_clusters_for_profile`` is answered from the store's profile-usage edges alone: every
cluster, virtual cluster and group on ANY version of the family (M3).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ingestor.access.inputs import is_uid
from ingestor.auth.permissions import (
    DOWNLOAD_KUBECONFIG,
    VIEW_CLUSTER_INFO,
    VIEW_PACK_MANIFESTS,
    VIEW_PACK_VALUES,
    VIEW_PROFILE_CLUSTERS,
    VIEW_PROFILE_INFO,
)
from ingestor.config.models import EnvironmentSettings
from ingestor.mcp.common import READ_ONLY, InstanceName, ProjectUid, iso
from ingestor.mcp.context import McpDeps, palette_tool_error
from ingestor.mcp.resolve import DEFAULT_PREFIX, Found, environment_of, find_entity, prefix_of
from ingestor.palette.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PaletteError,
    UnauthorizedError,
)
from ingestor.store import lookups
from ingestor.store.rows import ProfileUsage

log = structlog.get_logger(__name__)

ClusterTitle = Field(description="The cluster's Palette name (its catalog title), uid or entity ref")
ProfileTitle = Field(description="The cluster profile's Palette name (its catalog title), uid or entity ref")
OptionalTitle = Field(default=None, description="Palette name (title), uid or entity ref; wins over the uid")
OptionalUid = Field(default=None, description="Palette uid (used with instanceName when no name is given)")


# --- outputs -------------------------------------------------------------------------------------


class ProfileRef(BaseModel):
    name: str
    uid: str
    entityRef: str  # noqa: N815


class ProfileUser(BaseModel):
    name: str
    uid: str
    entityRef: str  # noqa: N815
    state: str | None = None
    projectId: str | None = None  # noqa: N815
    kind: str = Field(description="cluster, virtual-cluster or cluster-group")
    version: str | None = Field(default=None, description="The profile version it runs")
    versionUid: str | None = None  # noqa: N815
    crawledAt: str | None = Field(default=None, description="When a crawl last confirmed this")  # noqa: N815
    stale: bool = Field(default=False, description="From an older crawl (its part failed since)")


class ProfileClusters(BaseModel):
    profile: ProfileRef
    clusters: list[ProfileUser]


class ProfileInfo(BaseModel):
    name: str
    uid: str
    type: str | None = None
    cloudType: str | None = None  # noqa: N815
    status: str | None = None
    version: str | None = None
    entityRef: str  # noqa: N815


class PackItem(BaseModel):
    name: str
    version: str | None = None
    layer: str | None = None
    type: str | None = None


class ProfilePackDetails(BaseModel):
    profile: ProfileInfo
    packs: list[PackItem]


class ClusterState(BaseModel):
    name: str
    uid: str
    state: str
    entityRef: str  # noqa: N815


class Condition(BaseModel):
    type: str
    status: str
    message: str | None = None
    reason: str | None = None


class Health(BaseModel):
    overallStatus: str  # noqa: N815
    conditions: list[Condition]
    agentVersion: str | None = None  # noqa: N815
    lastHeartBeatTimestamp: str | None = None  # noqa: N815
    nodePools: list[dict[str, Any]] | None = None  # noqa: N815


class ClusterHealth(BaseModel):
    cluster: ClusterState
    health: Health
    checkedAt: str = Field(description="When this was read (live) or crawled (stale)")  # noqa: N815
    stale: bool = Field(default=False, description="Palette was unavailable: the last crawled state")
    source: str = Field(default="palette", description="palette (live) or snapshot")


class ProfileVariables(BaseModel):
    profileUid: str  # noqa: N815
    variables: dict[str, Any] = Field(description="Palette's whole answer: {variables: [...]}")


class PackManifest(BaseModel):
    clusterUid: str  # noqa: N815
    manifestUid: str  # noqa: N815
    manifest: dict[str, Any] = Field(description="Palette's v1Manifest as sent")


class ClusterProfiles(BaseModel):
    clusterUid: str  # noqa: N815
    profiles: dict[str, Any] = Field(description="Palette's whole answer: {profiles: [...]}")


class KubeconfigCluster(BaseModel):
    name: str
    uid: str
    entityRef: str  # noqa: N815
    title: str | None = None


class ClusterKubeconfig(BaseModel):
    cluster: KubeconfigCluster
    kubeconfig: str
    accessType: str = "client-oidc"  # noqa: N815


# --- shaping (pure; also used by the benchmark) --------------------------------------------------


def state_annotations(prefix: str) -> tuple[str, ...]:
    """The state annotation under the configured prefix, then the default one."""
    return tuple(dict.fromkeys((f"{prefix}/state", f"{DEFAULT_PREFIX}/state")))


def profile_users(usages: list[ProfileUsage]) -> list[ProfileUser]:
    """One item per cluster/virtual cluster/group (first version row wins), in the query's order."""
    out: dict[str, ProfileUser] = {}
    for usage in usages:
        if usage.src_ref in out:
            continue
        out[usage.src_ref] = ProfileUser.model_construct(  # typed store values: no validation per item
            name=usage.title or usage.name or usage.src_uid,
            uid=usage.src_uid,
            entityRef=usage.src_ref,
            state=usage.state,
            projectId=usage.project_uid,
            kind=usage.src_kind,
            version=usage.version,
            versionUid=usage.version_uid,
            crawledAt=iso(usage.seen_at),
            stale=usage.stale,
        )
    return list(out.values())


def packs_of(raw: dict[str, Any]) -> list[PackItem]:
    """``spec.published.packs`` (else the draft's) as ``{name, version (tag), layer}``."""
    spec = raw.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    template = spec.get("published") or spec.get("draft")
    packs = template.get("packs") if isinstance(template, dict) else None
    out = []
    for pack in packs if isinstance(packs, list) else []:
        if not isinstance(pack, dict):
            continue
        version = pack.get("tag") or pack.get("version")
        out.append(
            PackItem(
                name=str(pack.get("name") or "unknown"),
                version=str(version) if version else None,
                layer=pack.get("layer") if isinstance(pack.get("layer"), str) else None,
                type=pack.get("type") if isinstance(pack.get("type"), str) else None,
            )
        )
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def health_of(raw: dict[str, Any]) -> Health:
    """overallStatus from ``status.health.state`` else ``status.state``; conditions from both lists."""
    status = raw.get("status")
    status = status if isinstance(status, dict) else {}
    health = status.get("health")
    health = health if isinstance(health, dict) else {}
    conditions: list[Condition] = []
    for source in (health.get("conditions"), status.get("conditions")):
        for item in source if isinstance(source, list) else []:
            if isinstance(item, dict) and _text(item.get("type")):
                conditions.append(
                    Condition(
                        type=str(item["type"]),
                        status=str(item.get("status") or "Unknown"),
                        message=_text(item.get("message")),
                        reason=_text(item.get("reason")),
                    )
                )
    spec = raw.get("spec")
    cloud = spec.get("cloudConfig") if isinstance(spec, dict) else None
    pools = cloud.get("machinePools") if isinstance(cloud, dict) else None
    heartbeat = health.get("lastHeartBeatTimestamp")
    return Health(
        overallStatus=_text(health.get("state")) or _text(status.get("state")) or "unknown",
        conditions=conditions,
        agentVersion=_text(health.get("agentVersion")),
        lastHeartBeatTimestamp=str(heartbeat) if heartbeat else None,
        nodePools=[p for p in pools if isinstance(p, dict)] if isinstance(pools, list) else None,
    )


def _unavailable(exc: PaletteError) -> bool:
    """Palette could not answer (5xx, 429, timeout, network), as opposed to answering no."""
    return not isinstance(exc, NotFoundError | ForbiddenError | UnauthorizedError | InvalidRequestError)


async def _profile(deps: McpDeps, wanted: str, instance_name: str | None, project_uid: str | None) -> Found:
    return await find_entity(
        deps, "cluster-profile", wanted, instance_name=instance_name, project_uid=project_uid
    )


async def _cluster(deps: McpDeps, wanted: str, instance_name: str | None, project_uid: str | None) -> Found:
    return await find_entity(deps, "cluster", wanted, instance_name=instance_name, project_uid=project_uid)


def check_uid(name: str, value: str) -> str:
    """``value`` if it looks like a Palette uid, else an "Invalid input" tool error (never sent on)."""
    if not is_uid(value):
        raise ToolError(f"Invalid input: {name} is not a Palette uid")
    return value


async def _target(
    deps: McpDeps,
    palette_kind: str,
    names: tuple[str, str],
    title: str | None,
    uid: str | None,
    instance_name: str | None,
    project_uid: str | None,
) -> tuple[EnvironmentSettings, str, str | None]:
    """(environment, uid, project scope) from a title (store; wins) or a uid (configured instance).

    The given ``projectUid`` overrides the entity's project as the scope of the Palette call.
    """
    if project_uid is not None:
        check_uid("projectUid", project_uid)
    if title:
        found = await find_entity(deps, palette_kind, title, instance_name=instance_name)
        return environment_of(deps, found), found.uid, project_uid or found.project_uid
    if uid:
        return deps.instance(instance_name), check_uid(names[1], uid), project_uid
    raise ToolError(f"Invalid input: provide either {names[0]} or {names[1]}")


# --- tools ---------------------------------------------------------------------------------------


def register(server: MCPServer, deps: McpDeps) -> None:
    """Register the entity-centric tools."""
    register_by_name_or_uid(server, deps)

    @server.tool(
        name="find_spectrocloud_clusters_for_profile",
        title="Find Clusters Using SpectroCloud Profile",
        description=(
            "Every cluster, virtual cluster and cluster group using any version of a cluster profile, "
            "from the latest crawl (each item says which version and when it was crawled)."
        ),
        annotations=READ_ONLY,
    )
    async def find_spectrocloud_clusters_for_profile(
        profileName: str = ProfileTitle,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
    ) -> ProfileClusters:
        await deps.require(VIEW_PROFILE_CLUSTERS)
        profile = await _profile(deps, profileName, instanceName, projectUid)
        return await clusters_for_profile(deps, profile)

    @server.tool(
        name="get_spectrocloud_pack_details_for_profile",
        title="Get SpectroCloud Cluster Profile Pack Details",
        description="The packs (name, version, layer) of a cluster profile's latest version, read live.",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_pack_details_for_profile(
        profileName: str = ProfileTitle,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
    ) -> ProfilePackDetails:
        caller = await deps.require(VIEW_PACK_VALUES)
        found = await _profile(deps, profileName, instanceName, projectUid)
        live = await deps.live(caller, environment_of(deps, found))
        uid = found.uid
        profile = await live.run(f"cluster profile {uid}", live.client.get_profile(uid, found.project_uid))
        return ProfilePackDetails(
            profile=ProfileInfo(
                name=found.title,
                uid=uid,
                type=found.annotation("profile-type"),
                cloudType=found.annotation("cloud-type"),
                status=found.annotation("profile-status"),
                version=found.annotation("version"),
                entityRef=found.entity_ref,
            ),
            packs=packs_of(profile.raw),
        )

    @server.tool(
        name="get_spectrocloud_health_for_cluster",
        title="Get SpectroCloud Cluster Health Details",
        description=(
            "A cluster's live health: overall status, conditions, agent version and heartbeat. When Palette "
            "is unavailable, the last crawled state marked stale."
        ),
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_health_for_cluster(
        clusterName: str = ClusterTitle,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
    ) -> ClusterHealth:
        caller = await deps.require(VIEW_CLUSTER_INFO)
        found = await _cluster(deps, clusterName, instanceName, projectUid)
        live = await deps.live(caller, environment_of(deps, found))
        uid = found.uid
        try:
            summary = await live.client.get_cluster_summary(uid, found.project_uid)
        except PaletteError as exc:
            if not _unavailable(exc):
                raise palette_tool_error(f"cluster {uid}", exc) from None
            log.warning("mcp.health_from_snapshot", cluster_uid=uid, error_class=type(exc).__name__)
            return stored_health(found)
        raw = summary.raw
        status = raw.get("status")
        state = _text(status.get("state")) if isinstance(status, dict) else None
        meta = raw.get("metadata")
        name = _text(meta.get("name")) if isinstance(meta, dict) else None
        return ClusterHealth(
            cluster=ClusterState(
                name=name or found.title, uid=uid, state=state or "unknown", entityRef=found.entity_ref
            ),
            health=health_of(raw),
            checkedAt=iso(datetime.now(UTC)) or "",
        )

    @server.tool(
        name="get_spectrocloud_kubeconfig_for_cluster",
        title="Download SpectroCloud Cluster Kubeconfig",
        description="A cluster's user kubeconfig (OIDC; frp: via the reverse proxy), with your credential.",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_kubeconfig_for_cluster(
        clusterName: str = ClusterTitle,  # noqa: N803
        frp: bool = True,
        instanceName: InstanceName = None,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
    ) -> ClusterKubeconfig:
        caller = await deps.require(DOWNLOAD_KUBECONFIG)
        found = await _cluster(deps, clusterName, instanceName, projectUid)
        live = await deps.live(caller, environment_of(deps, found), sensitive=True)
        uid = found.uid
        text = await live.run(
            f"kubeconfig of cluster {uid}", live.client.get_kubeconfig(uid, found.project_uid, frp=frp)
        )
        log.info(
            "mcp.kubeconfig_downloaded",
            caller=caller.principal.display,
            instance=live.instance,
            cluster_uid=uid,
            frp=frp,
        )
        return ClusterKubeconfig(
            cluster=KubeconfigCluster(
                name=found.name, uid=uid, entityRef=found.entity_ref, title=found.title
            ),
            kubeconfig=text,
        )


def register_by_name_or_uid(server: MCPServer, deps: McpDeps) -> None:
    """Tools 10, 12 and 13: a title (from the store) or a uid, then one live Palette call."""

    @server.tool(
        name="get_spectrocloud_profile_variables",
        title="Get SpectroCloud Profile Variables",
        description="A cluster profile's variables as Palette sends them; give profileName or profileUid.",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_profile_variables(
        profileName: str | None = OptionalTitle,  # noqa: N803
        profileUid: str | None = OptionalUid,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> ProfileVariables:
        caller = await deps.require(VIEW_PROFILE_INFO)
        names = ("profileName", "profileUid")
        env, uid, project = await _target(
            deps, "cluster-profile", names, profileName, profileUid, instanceName, projectUid
        )
        live = await deps.live(caller, env)
        found = await live.run(f"variables of profile {uid}", live.client.get_profile_variables(uid, project))
        return ProfileVariables(profileUid=uid, variables=found.raw)

    @server.tool(
        name="get_spectrocloud_pack_manifest_for_cluster",
        title="Get SpectroCloud Pack Manifest for Cluster",
        description="One pack manifest of a cluster as Palette sends it; give clusterName or clusterUid.",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_pack_manifest_for_cluster(
        manifestUid: str = Field(description="The manifest's uid (from the cluster's profiles)"),  # noqa: N803
        clusterName: str | None = OptionalTitle,  # noqa: N803
        clusterUid: str | None = OptionalUid,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> PackManifest:
        caller = await deps.require(VIEW_PACK_MANIFESTS)
        check_uid("manifestUid", manifestUid)
        names = ("clusterName", "clusterUid")
        env, uid, project = await _target(
            deps, "cluster", names, clusterName, clusterUid, instanceName, projectUid
        )
        live = await deps.live(caller, env)
        manifest = await live.run(
            f"manifest {manifestUid} of cluster {uid}",
            live.client.get_pack_manifest(uid, manifestUid, project),
        )
        return PackManifest(clusterUid=uid, manifestUid=manifestUid, manifest=manifest.raw)

    @server.tool(
        name="get_spectrocloud_cluster_profiles",
        title="Get SpectroCloud Cluster Profiles",
        description="A cluster's attached profiles (with pack schema and presets), as Palette sends them.",
        annotations=READ_ONLY,
    )
    async def get_spectrocloud_cluster_profiles(
        clusterName: str | None = OptionalTitle,  # noqa: N803
        clusterUid: str | None = OptionalUid,  # noqa: N803
        projectUid: ProjectUid = None,  # noqa: N803
        instanceName: InstanceName = None,  # noqa: N803
    ) -> ClusterProfiles:
        caller = await deps.require(VIEW_PACK_VALUES)
        names = ("clusterName", "clusterUid")
        env, uid, project = await _target(
            deps, "cluster", names, clusterName, clusterUid, instanceName, projectUid
        )
        live = await deps.live(caller, env)
        profiles = await live.run(
            f"profiles of cluster {uid}",
            live.client.get_cluster_profiles(uid, project, include_pack_meta="schema,presets"),
        )
        return ClusterProfiles(clusterUid=uid, profiles=profiles.raw)


async def clusters_for_profile(deps: McpDeps, profile: Found) -> ProfileClusters:
    """The reverse lookup of one resolved profile: one indexed statement over the store's edges."""
    usages = await deps.db.run(
        lookups.clusters_using_profile,
        profile.row.instance,
        profile.row.key,
        state_annotations=state_annotations(prefix_of(deps)),
    )
    return ProfileClusters(
        profile=ProfileRef(name=profile.title, uid=profile.uid, entityRef=profile.entity_ref),
        clusters=profile_users(usages),
    )


def stored_health(found: Found) -> ClusterHealth:
    """The crawled state of ``found``, marked stale with the snapshot time (Palette unavailable)."""
    state = found.annotation("state") or "unknown"
    row = found.row
    return ClusterHealth(
        cluster=ClusterState(name=found.title, uid=found.uid, state=state, entityRef=found.entity_ref),
        health=Health(overallStatus=found.annotation("health-state") or state, conditions=[]),
        checkedAt=iso(row.last_seen) or "",
        stale=True,
        source="snapshot",
    )
