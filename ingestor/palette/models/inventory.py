"""Cluster groups, cloud accounts, vSphere inventory, private cloud gateways, IP pools and SSH keys.

Imports nothing of ours outside ``ingestor.palette``. Cloud-account ``spec`` may hold secrets, so it
is left out of ``repr``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ingestor.palette.models.base import (
    MetaDocument,
    NullList,
    ObjectRef,
    PaletteDocument,
    PaletteModel,
    ProfileTemplate,
)


class ClusterGroupSummarySpec(PaletteModel):
    """``v1ClusterGroupSummarySpec``."""

    scope: str | None = None
    endpoint_type: str | None = None
    kubernetes_distro_type: str | None = None
    host_clusters: NullList[ObjectRef] = []
    host_clusters_count: int | None = None
    virtual_clusters_count: int | None = None
    cluster_profile_templates: NullList[ProfileTemplate] = []


class ClusterGroupSummary(MetaDocument):
    """An item of ``{summaries}`` from ``GET /v1/clustergroups/hostCluster``."""

    spec: ClusterGroupSummarySpec = ClusterGroupSummarySpec()


class ClusterGroupMetadata(PaletteDocument):
    """An item of ``GET /v1/clustergroups/hostCluster/metadata``."""

    uid: str = ""
    name: str | None = None
    scope: str | None = None


class ClusterRef(PaletteModel):
    cluster_uid: str = ""
    cluster_name: str | None = None


class ClusterGroupSpec(PaletteModel):
    """``v1ClusterGroupSpec``; ``clustersConfig`` stays a dict (endpoint type, limits, Helm values)."""

    type: str | None = None
    cluster_refs: NullList[ClusterRef] = []
    clusters_config: dict[str, Any] | None = None
    cluster_profile_templates: NullList[ProfileTemplate] = []


class ClusterGroupStatus(PaletteModel):
    is_active: bool | None = None


class ClusterGroup(MetaDocument):
    """``GET /v1/clustergroups/{uid}`` (``v1ClusterGroup``)."""

    spec: ClusterGroupSpec = ClusterGroupSpec()
    status: ClusterGroupStatus = ClusterGroupStatus()

    @property
    def host_cluster_uids(self) -> list[str]:
        return [ref.cluster_uid for ref in self.spec.cluster_refs if ref.cluster_uid]


class CloudAccountStatus(PaletteModel):
    state: str | None = None


class CloudAccount(MetaDocument):
    """A cloud account of any type (``v1AwsAccount``, ``v1VsphereAccount``, ...). Treat as sensitive."""

    api_version: str | None = None
    kind: str | None = None
    spec: dict[str, Any] | None = Field(default=None, repr=False)
    status: CloudAccountStatus = CloudAccountStatus()

    def __repr_args__(self) -> Any:
        # Unknown fields are kept as extras; a secret may hide there, so repr shows declared fields only.
        return [(k, v) for k, v in super().__repr_args__() if k in type(self).model_fields and k != "spec"]


class CloudAccountSummary(MetaDocument):
    """An item of ``GET /v1/cloudaccounts/summary``."""

    kind: str | None = None
    spec_summary: dict[str, Any] | None = None
    status: CloudAccountStatus = CloudAccountStatus()


class VsphereDatacenter(PaletteModel):
    datacenter: str | None = None
    computeclusters: NullList[str] = []
    folders: NullList[str] = []


class VsphereDatacenters(PaletteDocument):
    """``v1VsphereDatacenters`` = ``{"items": [{datacenter, computeclusters, folders}]}``."""

    items: NullList[VsphereDatacenter] = []


class VsphereComputeCluster(PaletteModel):
    name: str | None = None
    datastores: NullList[str] = []
    networks: NullList[str] = []
    resource_pools: NullList[str] = []


class VsphereComputeClusterResources(PaletteDocument):
    """``v1VsphereComputeClusterResources``."""

    datacenter: str | None = None
    computecluster: VsphereComputeCluster | None = None


class OverlordSpec(PaletteModel):
    """``v1OverloadSpec`` (the spec's spelling)."""

    cloud_account_uid: str | None = None
    spectro_cluster_uid: str | None = None
    ip_address: str | None = None
    is_self_hosted: bool | None = None
    is_system: bool | None = None
    tenant_uid: str | None = None


class OverlordStatus(PaletteModel):
    state: str | None = None
    is_active: bool | None = None
    is_ready: bool | None = None


class Overlord(MetaDocument):
    """A private cloud gateway (``v1Overlord``)."""

    kind: str | None = None
    spec: OverlordSpec = OverlordSpec()
    status: OverlordStatus = OverlordStatus()


class IpPoolSpec(PaletteModel):
    pool: dict[str, Any] | None = None
    # Palette spells it "priavetGatewayUid" (typo in the spec).
    private_gateway_uid: str | None = Field(default=None, alias="priavetGatewayUid")
    restrict_to_single_cluster: bool | None = None


class IpPool(MetaDocument):
    """An item of ``GET /v1/overlords/vsphere/{uid}/pools`` (``v1IpPoolEntity``)."""

    spec: IpPoolSpec = IpPoolSpec()
    status: dict[str, Any] | None = None


class SshKeySpec(PaletteModel):
    public_key: str | None = None


class SshKey(MetaDocument):
    """``v1UserAssetSsh``: a user's public SSH key."""

    spec: SshKeySpec = SshKeySpec()
