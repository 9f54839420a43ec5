"""Cluster models: search summaries, the cheap meta list, the dashboard detail, the full object.

Imports nothing of ours outside ``ingestor.palette``. Helpers answer what the crawler asks of every
shape the same way: cloud type, virtual or not, Kubernetes version, attached profile versions.
"""

from __future__ import annotations

from typing import Any

from ingestor.palette.models.base import (
    MetaDocument,
    NullList,
    ObjectRef,
    PackRef,
    PaletteDocument,
    PaletteModel,
    ProfileTemplate,
    kubernetes_version_from_packs,
    template_list,
)

VIRTUAL_CLOUD_TYPES = frozenset({"nested", "virtual"})


class CloudConfigMeta(PaletteModel):
    """``v1CloudConfigMeta``: where summaries carry the cloud type."""

    uid: str | None = None
    cloud_type: str | None = None
    machine_pools: NullList[dict[str, Any]] = []


class HealthStatus(PaletteModel):
    """``v1SpectroClusterHealthStatus``."""

    state: str | None = None
    agent_version: str | None = None
    last_heart_beat_timestamp: str | None = None
    conditions: NullList[dict[str, Any]] = []


class VirtualStatus(PaletteModel):
    """``v1Virtual``: a virtual cluster fills group and host; a host lists its virtual clusters."""

    state: str | None = None
    cluster_group: ObjectRef | None = None
    host_cluster: ObjectRef | None = None
    virtual_clusters: NullList[ObjectRef] = []


class KubeMeta(PaletteModel):
    """``kubeMeta`` of the dashboard detail: Kubernetes version and which kubeconfigs exist."""

    kubernetes_version: str | None = None
    has_kube_config: bool | None = None
    has_kube_config_client: bool | None = None
    has_manifest: bool | None = None


class _ClusterSpecBase(PaletteModel):
    cloud_config: CloudConfigMeta | None = None
    cloud_type: str | None = None
    cluster_profile_templates: NullList[ProfileTemplate] = []
    cluster_profile_template: ProfileTemplate | None = None


class ClusterStatus(PaletteModel):
    """Cluster status as summaries and details share it (state, health, virtual, kubeMeta)."""

    state: str | None = None
    health: HealthStatus | None = None
    virtual: VirtualStatus | None = None
    kube_meta: KubeMeta | None = None


class _ClusterBase(MetaDocument):
    status: ClusterStatus = ClusterStatus()

    def _spec(self) -> _ClusterSpecBase | None:
        return None

    @property
    def cloud_type(self) -> str | None:
        """``spec.cloudConfig.cloudType``, falling back to ``spec.cloudType``."""
        spec = self._spec()
        if spec is None:
            return None
        if spec.cloud_config is not None and spec.cloud_config.cloud_type:
            return spec.cloud_config.cloud_type
        return spec.cloud_type or None

    @property
    def is_virtual(self) -> bool:
        """A Palette virtual cluster (cloud type ``nested``, or a status naming its host)."""
        if (self.cloud_type or "").lower() in VIRTUAL_CLOUD_TYPES:
            return True
        virtual = self.status.virtual
        return virtual is not None and virtual.host_cluster is not None and bool(virtual.host_cluster.uid)

    @property
    def profile_templates(self) -> list[ProfileTemplate]:
        """Attached profile versions (``clusterProfileTemplates`` plus the legacy single one)."""
        spec = self._spec()
        if spec is None:
            return []
        return template_list(spec.cluster_profile_templates, spec.cluster_profile_template)

    @property
    def profile_version_uids(self) -> list[str]:
        """Uids of the attached profile **versions**."""
        return [t.uid for t in self.profile_templates if t.uid]

    @property
    def kubernetes_version(self) -> str | None:
        """``status.kubeMeta.kubernetesVersion``, else the k8s pack of the attached profiles."""
        kube = self.status.kube_meta
        if kube is not None and kube.kubernetes_version:
            return kube.kubernetes_version
        for template in self.profile_templates:
            version = kubernetes_version_from_packs(template.packs)
            if version:
                return version
        return None

    @property
    def state(self) -> str | None:
        return self.status.state


class ClusterSpecSummary(_ClusterSpecBase):
    """``specSummary`` of a search item."""

    cloud_account_meta: ObjectRef | None = None
    project_meta: ObjectRef | None = None
    arch_types: NullList[str] = []
    cluster_config: dict[str, Any] | None = None


class ClusterSummary(_ClusterBase):
    """An item of ``POST /v1/dashboard/spectroclusters/search`` (``v1SpectroClusterSummary``)."""

    spec_summary: ClusterSpecSummary = ClusterSpecSummary()

    def _spec(self) -> _ClusterSpecBase:
        return self.spec_summary


class ClusterMetaSpec(_ClusterSpecBase):
    """``spec`` of a ``v1SpectroClusterMeta``."""

    cloud_account_uid: str | None = None
    cloud_region: str | None = None
    cluster_type: str | None = None
    arch_type: NullList[str] = []
    tags: NullList[str] = []


class ClusterMeta(_ClusterBase):
    """An item of the bare array from ``GET /v1/dashboard/spectroclusters/meta``."""

    spec: ClusterMetaSpec = ClusterMetaSpec()

    def _spec(self) -> _ClusterSpecBase:
        return self.spec


class ClusterUidSummarySpec(_ClusterSpecBase):
    """``spec`` of the dashboard detail; note Palette's lower-case ``cloudaccount``."""

    cloudaccount: ObjectRef | None = None
    arch_types: NullList[str] = []


class ClusterUidSummary(_ClusterBase):
    """``GET /v1/dashboard/spectroclusters/{uid}`` (``v1SpectroClusterUidSummary``), with ``kubeMeta``."""

    spec: ClusterUidSummarySpec = ClusterUidSummarySpec()

    def _spec(self) -> _ClusterSpecBase:
        return self.spec


class HostClusterConfig(PaletteModel):
    """``hostClusterConfig``: a host cluster's flag, or a virtual cluster's group and host."""

    is_host_cluster: bool | None = None
    cluster_group: ObjectRef | None = None
    host_cluster: ObjectRef | None = None
    cluster_endpoint: dict[str, Any] | None = None


class ClusterConfig(PaletteModel):
    """``v1ClusterConfig`` (only what the crawler reads is typed)."""

    host_cluster_config: HostClusterConfig | None = None
    timezone: str | None = None


class SpectroClusterSpec(_ClusterSpecBase):
    """``v1SpectroClusterSpec``."""

    cloud_config_ref: ObjectRef | None = None
    cluster_type: str | None = None
    cluster_config: ClusterConfig | None = None


class SpectroCluster(_ClusterBase):
    """``GET /v1/spectroclusters/{uid}``: the full object (no health, no kubeMeta)."""

    api_version: str | None = None
    kind: str | None = None
    spec: SpectroClusterSpec = SpectroClusterSpec()

    def _spec(self) -> _ClusterSpecBase:
        return self.spec

    @property
    def host_cluster_config(self) -> HostClusterConfig | None:
        config = self.spec.cluster_config
        return config.host_cluster_config if config is not None else None

    @property
    def is_virtual(self) -> bool:
        if super().is_virtual:
            return True
        host = self.host_cluster_config
        return bool(host and not host.is_host_cluster and host.host_cluster and host.host_cluster.uid)


class PackEntity(MetaDocument):
    """``v1ClusterProfilePacksEntity``: one pack of a profile, with its values and manifests."""

    spec: PackRef = PackRef()
    status: dict[str, Any] | None = None


class AttachedProfileSpec(PaletteModel):
    type: str | None = None
    cloud_type: str | None = None
    version: int | str | None = None
    packs: NullList[PackEntity] = []


class AttachedProfile(MetaDocument):
    """An item of ``{profiles}`` from ``GET /v1/spectroclusters/{uid}/profiles``; uid = version uid."""

    spec: AttachedProfileSpec = AttachedProfileSpec()


class ClusterProfileList(PaletteDocument):
    """``v1SpectroClusterProfileList`` = ``{"profiles": [...]}``."""

    profiles: NullList[AttachedProfile] = []


class PublishedManifest(PaletteModel):
    content: str | None = None
    digest: str | None = None


class ManifestSpec(PaletteModel):
    published: PublishedManifest | None = None


class Manifest(MetaDocument):
    """``v1Manifest`` from ``GET /v1/spectroclusters/{uid}/pack/manifests/{manifestUid}``."""

    spec: ManifestSpec = ManifestSpec()

    @property
    def content(self) -> str | None:
        """The published manifest YAML."""
        return self.spec.published.content if self.spec.published is not None else None
