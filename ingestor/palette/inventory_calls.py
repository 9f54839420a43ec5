"""Inventory endpoints of ``PaletteClient``: cluster groups, cloud accounts, vSphere, gateways, SSH keys.

Imports nothing of ours outside ``ingestor.palette``. Cloud types come from an allow-list before
they become a path segment (compat.md S6).
"""

from __future__ import annotations

from ingestor.palette.core import ClientCore, choose, present
from ingestor.palette.errors import InvalidRequestError
from ingestor.palette.filters import ACCOUNT_CLOUD_TYPES
from ingestor.palette.models import (
    CloudAccount,
    CloudAccountSummary,
    ClusterGroup,
    ClusterGroupMetadata,
    ClusterGroupSummary,
    IpPool,
    Overlord,
    SshKey,
    Uid,
    VsphereComputeClusterResources,
    VsphereDatacenters,
)
from ingestor.palette.paging import Paginator

SSH_KEYS = "/v1/users/assets/sshkeys"
SSH_KEY = "/v1/users/assets/sshkeys/{uid}"


class InventoryCalls(ClientCore):
    """``/v1/clustergroups``, ``/v1/cloudaccounts``, ``/v1/overlords``, ``/v1/users/assets/sshkeys``."""

    async def list_cluster_groups(self, project_uid: str | None = None) -> list[ClusterGroupSummary]:
        """``GET /v1/clustergroups/hostCluster``: ``{summaries}`` (``items`` or a bare array accepted)."""
        call = self._call("GET", "/v1/clustergroups/hostCluster", project_uid=project_uid)
        return await self._list(ClusterGroupSummary, call, keys=("summaries", "items"))

    async def cluster_groups_metadata(self, project_uid: str | None = None) -> list[ClusterGroupMetadata]:
        """``GET /v1/clustergroups/hostCluster/metadata``: uid, name and scope of each group."""
        call = self._call("GET", "/v1/clustergroups/hostCluster/metadata", project_uid=project_uid)
        return await self._list(ClusterGroupMetadata, call)

    async def get_cluster_group(self, uid: str, project_uid: str | None = None) -> ClusterGroup:
        """``GET /v1/clustergroups/{uid}``: member host clusters and ``clustersConfig``."""
        call = self._call("GET", "/v1/clustergroups/{uid}", path={"uid": uid}, project_uid=project_uid)
        return await self._one(ClusterGroup, call)

    def list_cloud_accounts(self, cloud_type: str, project_uid: str | None = None) -> Paginator[CloudAccount]:
        """``GET /v1/cloudaccounts/<type>`` for an allow-listed type (paged). Accounts are sensitive."""
        kind = choose(cloud_type, ACCOUNT_CLOUD_TYPES, "cloud account type", "/v1/cloudaccounts/{cloudType}")
        return self._paged(CloudAccount, "GET", f"/v1/cloudaccounts/{kind}", project_uid=project_uid)

    async def get_cloud_account(
        self, cloud_type: str, uid: str, project_uid: str | None = None
    ) -> CloudAccount:
        """``GET /v1/cloudaccounts/<type>/{uid}``."""
        kind = choose(
            cloud_type, ACCOUNT_CLOUD_TYPES, "cloud account type", "/v1/cloudaccounts/{cloudType}/{uid}"
        )
        call = self._call(
            "GET", f"/v1/cloudaccounts/{kind}/{{uid}}", path={"uid": uid}, project_uid=project_uid
        )
        return await self._one(CloudAccount, call)

    def cloud_accounts_summary(self, project_uid: str | None = None) -> Paginator[CloudAccountSummary]:
        """``GET /v1/cloudaccounts/summary``: accounts of every cloud (paged)."""
        return self._paged(CloudAccountSummary, "GET", "/v1/cloudaccounts/summary", project_uid=project_uid)

    async def vsphere_datacenters(
        self, account_uid: str, project_uid: str | None = None
    ) -> VsphereDatacenters:
        """``GET /v1/cloudaccounts/vsphere/{uid}/properties/datacenters``."""
        call = self._call(
            "GET",
            "/v1/cloudaccounts/vsphere/{uid}/properties/datacenters",
            path={"uid": account_uid},
            project_uid=project_uid,
        )
        return await self._one(VsphereDatacenters, call)

    async def vsphere_compute_cluster_resources(
        self,
        account_uid: str,
        datacenter: str,
        computecluster: str,
        project_uid: str | None = None,
        *,
        use_qualified_network_name: bool | None = None,
    ) -> VsphereComputeClusterResources:
        """``GET .../vsphere/{uid}/properties/computecluster/resources``: datastores, networks, pools."""
        template = "/v1/cloudaccounts/vsphere/{uid}/properties/computecluster/resources"
        if not datacenter or not computecluster:
            raise InvalidRequestError("datacenter and computecluster are required", path=template)
        params = present(
            {
                "datacenter": datacenter,
                "computecluster": computecluster,
                "useQualifiedNetworkName": use_qualified_network_name,
            }
        )
        call = self._call("GET", template, path={"uid": account_uid}, params=params, project_uid=project_uid)
        return await self._one(VsphereComputeClusterResources, call)

    async def list_overlords(
        self, project_uid: str | None = None, *, name: str | None = None
    ) -> list[Overlord]:
        """``GET /v1/overlords``: private cloud gateways, unpaged."""
        call = self._call("GET", "/v1/overlords", params=present({"name": name}), project_uid=project_uid)
        return await self._list(Overlord, call)

    async def get_overlord(self, uid: str, project_uid: str | None = None) -> Overlord:
        """``GET /v1/overlords/{uid}``."""
        call = self._call("GET", "/v1/overlords/{uid}", path={"uid": uid}, project_uid=project_uid)
        return await self._one(Overlord, call)

    async def overlord_ip_pools(self, uid: str, project_uid: str | None = None) -> list[IpPool]:
        """``GET /v1/overlords/vsphere/{uid}/pools``: the gateway's IP pools."""
        call = self._call(
            "GET", "/v1/overlords/vsphere/{uid}/pools", path={"uid": uid}, project_uid=project_uid
        )
        return await self._list(IpPool, call)

    async def list_ssh_keys(self, project_uid: str | None = None) -> list[SshKey]:
        """``GET /v1/users/assets/sshkeys``: public keys visible in the scope, unpaged."""
        return await self._list(SshKey, self._call("GET", SSH_KEYS, project_uid=project_uid))

    async def get_ssh_key(self, uid: str, project_uid: str | None = None) -> SshKey:
        """``GET /v1/users/assets/sshkeys/{uid}``."""
        return await self._one(SshKey, self._call("GET", SSH_KEY, path={"uid": uid}, project_uid=project_uid))

    async def create_ssh_key(
        self,
        name: str,
        public_key: str,
        project_uid: str | None = None,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> str:
        """``POST /v1/users/assets/sshkeys``; returns the new uid. Retried only if Palette never saw it."""
        metadata: dict[str, object] = {"name": name}
        if labels:
            metadata["labels"] = dict(labels)
        if annotations:
            metadata["annotations"] = dict(annotations)
        body = {"metadata": metadata, "spec": {"publicKey": public_key}}
        call = self._call("POST", SSH_KEYS, body=body, project_uid=project_uid, idempotent=False)
        created = await self._one(Uid, call)
        if not created.uid:
            raise self._fail(call, "Palette created an SSH key but sent no uid")
        return created.uid

    async def update_ssh_key(
        self, uid: str, name: str, public_key: str, project_uid: str | None = None
    ) -> None:
        """``PUT /v1/users/assets/sshkeys/{uid}`` (204). Not retried after Palette may have seen it."""
        body = {"metadata": {"uid": uid, "name": name}, "spec": {"publicKey": public_key}}
        call = self._call(
            "PUT", SSH_KEY, path={"uid": uid}, body=body, project_uid=project_uid, idempotent=False
        )
        await self._json(call)

    async def delete_ssh_key(self, uid: str, project_uid: str | None = None) -> None:
        """``DELETE /v1/users/assets/sshkeys/{uid}`` (204). Not retried after Palette may have seen it."""
        call = self._call("DELETE", SSH_KEY, path={"uid": uid}, project_uid=project_uid, idempotent=False)
        await self._json(call)
