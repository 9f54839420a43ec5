"""Cluster endpoints of ``PaletteClient``: search, meta list, details, kubeconfigs, profiles, creation.

Imports nothing of ours outside ``ingestor.palette``. ``project_uid`` becomes the ``ProjectUid``
header; ``None`` means tenant scope.
"""

from __future__ import annotations

from typing import Any

from ingestor.palette.core import ClientCore, choose, present
from ingestor.palette.filters import CREATE_CLOUD_TYPES, KUBECONFIG_KINDS, cluster_search_body
from ingestor.palette.models import (
    ClusterMeta,
    ClusterProfileList,
    ClusterSummary,
    ClusterUidSummary,
    Manifest,
    SpectroCluster,
    Uid,
)
from ingestor.palette.paging import Paginator
from ingestor.palette.transport import OCTET_STREAM


class ClusterCalls(ClientCore):
    """``/v1/dashboard/spectroclusters*`` and ``/v1/spectroclusters*``."""

    def search_clusters(
        self, filter_spec: dict[str, Any] | None = None, project_uid: str | None = None
    ) -> Paginator[ClusterSummary]:
        """``POST /v1/dashboard/spectroclusters/search``: summaries matching ``filter_spec`` (paged)."""
        body = filter_spec if filter_spec is not None else {"filter": {}, "sort": []}
        return self._paged(
            ClusterSummary,
            "POST",
            "/v1/dashboard/spectroclusters/search",
            body=body,
            project_uid=project_uid,
        )

    def list_clusters(self, project_uid: str | None = None) -> Paginator[ClusterSummary]:
        """Every non-virtual, non-deleted cluster in the scope (palette-api.md 3.1)."""
        return self.search_clusters(cluster_search_body(virtual=False), project_uid)

    def list_virtual_clusters(self, project_uid: str | None = None) -> Paginator[ClusterSummary]:
        """Every non-deleted virtual cluster in the scope, newest change first."""
        return self.search_clusters(
            cluster_search_body(virtual=True, sort_by_last_modified=True), project_uid
        )

    async def clusters_meta(self, project_uid: str | None = None) -> list[ClusterMeta]:
        """``GET /v1/dashboard/spectroclusters/meta``: the cheap unpaged list (a bare array)."""
        call = self._call("GET", "/v1/dashboard/spectroclusters/meta", project_uid=project_uid)
        return await self._list(ClusterMeta, call)

    async def get_cluster_summary(self, uid: str, project_uid: str | None = None) -> ClusterUidSummary:
        """``GET /v1/dashboard/spectroclusters/{uid}``: status, health and ``kubeMeta``."""
        call = self._call(
            "GET", "/v1/dashboard/spectroclusters/{uid}", path={"uid": uid}, project_uid=project_uid
        )
        return await self._one(ClusterUidSummary, call)

    async def get_cluster(
        self,
        uid: str,
        project_uid: str | None = None,
        *,
        include_tags: str | None = None,
        resolve_pack_values: bool | None = None,
        include_pack_meta: str | None = None,
        profile_type: str | None = None,
        include_non_spectro_labels: bool | None = None,
    ) -> SpectroCluster:
        """``GET /v1/spectroclusters/{uid}``: the full object (50/s bucket; no health or kubeMeta)."""
        params = {
            "includeTags": include_tags,
            "resolvePackValues": resolve_pack_values,
            "includePackMeta": include_pack_meta,
            "profileType": profile_type,
            "includeNonSpectroLabels": include_non_spectro_labels,
        }
        call = self._call(
            "GET",
            "/v1/spectroclusters/{uid}",
            path={"uid": uid},
            params=present(params),
            project_uid=project_uid,
        )
        return await self._one(SpectroCluster, call)

    async def get_kubeconfig(
        self, uid: str, project_uid: str | None = None, *, kind: str = "user", frp: bool = True
    ) -> str:
        """A kubeconfig as text: ``user`` (``frp`` applies), ``client``, ``admin`` or ``frp``.

        Palette may send raw YAML or base64; both come back as YAML. Never log the result.
        """
        kind_key = choose(
            kind, tuple(KUBECONFIG_KINDS), "kubeconfig kind", "/v1/spectroclusters/{uid}/assets"
        )
        template = KUBECONFIG_KINDS[kind_key]
        params = {"frp": "true" if frp else "false"} if kind_key == "user" else None
        call = self._call(
            "GET", template, path={"uid": uid}, params=params, project_uid=project_uid, accept=OCTET_STREAM
        )
        return await self._text(call)

    async def get_cluster_profiles(
        self, uid: str, project_uid: str | None = None, *, include_pack_meta: str | None = None
    ) -> ClusterProfileList:
        """``GET /v1/spectroclusters/{uid}/profiles``: ``{profiles}`` attached (version uids)."""
        call = self._call(
            "GET",
            "/v1/spectroclusters/{uid}/profiles",
            path={"uid": uid},
            params=present({"includePackMeta": include_pack_meta}),
            project_uid=project_uid,
        )
        return await self._one(ClusterProfileList, call)

    async def get_pack_manifest(
        self,
        cluster_uid: str,
        manifest_uid: str,
        project_uid: str | None = None,
        *,
        resolve_values: bool | None = None,
    ) -> Manifest:
        """``GET /v1/spectroclusters/{uid}/pack/manifests/{manifestUid}``."""
        call = self._call(
            "GET",
            "/v1/spectroclusters/{uid}/pack/manifests/{manifestUid}",
            path={"uid": cluster_uid, "manifestUid": manifest_uid},
            params=present({"resolveManifestValues": resolve_values}),
            project_uid=project_uid,
        )
        return await self._one(Manifest, call)

    async def create_cluster(
        self, cloud_type: str, body: dict[str, Any], project_uid: str | None = None
    ) -> str:
        """``POST /v1/spectroclusters/<type>``; returns the new uid. Retried only if Palette never saw it."""
        kind = choose(cloud_type, CREATE_CLOUD_TYPES, "cloud type", "/v1/spectroclusters/{cloudType}")
        call = self._call(
            "POST", f"/v1/spectroclusters/{kind}", body=body, project_uid=project_uid, idempotent=False
        )
        created = await self._one(Uid, call)
        if not created.uid:
            raise self._fail(call, "Palette created a cluster but sent no uid")
        return created.uid

    def cluster_group_host_clusters(
        self, group_uid: str, filter_spec: dict[str, Any] | None = None, project_uid: str | None = None
    ) -> Paginator[ClusterSummary]:
        """``POST /v1/dashboard/clustergroups/{uid}/hostClusters``: member host clusters (paged)."""
        return self._paged(
            ClusterSummary,
            "POST",
            "/v1/dashboard/clustergroups/{uid}/hostClusters",
            path={"uid": group_uid},
            body=filter_spec if filter_spec is not None else {"filter": {}, "sort": []},
            project_uid=project_uid,
        )

    def cluster_group_virtual_clusters(
        self, group_uid: str, filter_spec: dict[str, Any] | None = None, project_uid: str | None = None
    ) -> Paginator[ClusterSummary]:
        """``POST /v1/dashboard/clustergroups/{uid}/virtualClusters``: its virtual clusters (paged)."""
        return self._paged(
            ClusterSummary,
            "POST",
            "/v1/dashboard/clustergroups/{uid}/virtualClusters",
            path={"uid": group_uid},
            body=filter_spec if filter_spec is not None else {"filter": {}, "sort": []},
            project_uid=project_uid,
        )
