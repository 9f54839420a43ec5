"""Cluster-profile endpoints of ``PaletteClient``: search, metadata, one version, packs, variables.

Imports nothing of ours outside ``ingestor.palette``. A profile version is fetched by its own uid;
``/versions/{uid}`` paths do not exist and are never built (compat.md C4).
"""

from __future__ import annotations

from typing import Any

from ingestor.palette.core import ClientCore, present
from ingestor.palette.models import (
    ClusterProfile,
    ClusterProfileMetadata,
    ClusterProfileSummary,
    ProfilePacks,
    Variables,
)
from ingestor.palette.paging import Paginator


class ProfileCalls(ClientCore):
    """``/v1/dashboard/clusterprofiles*`` and ``/v1/clusterprofiles/{uid}*``."""

    def search_profiles(
        self, filter_spec: dict[str, Any] | None = None, project_uid: str | None = None
    ) -> Paginator[ClusterProfileSummary]:
        """``POST /v1/dashboard/clusterprofiles``: profile summaries (paged, de-duplicated by uid).

        With ``project_uid``, send ``{"filter": {"scope": "project"}}`` to leave out inherited ones.
        """
        return self._paged(
            ClusterProfileSummary,
            "POST",
            "/v1/dashboard/clusterprofiles",
            body=filter_spec if filter_spec is not None else {"filter": {}},
            project_uid=project_uid,
        )

    async def profiles_metadata(self, project_uid: str | None = None) -> list[ClusterProfileMetadata]:
        """``GET /v1/dashboard/clusterprofiles/metadata``: one item per version, unpaged."""
        call = self._call("GET", "/v1/dashboard/clusterprofiles/metadata", project_uid=project_uid)
        return await self._list(ClusterProfileMetadata, call)

    async def get_profile(
        self,
        uid: str,
        project_uid: str | None = None,
        *,
        include_pack_meta: str | None = None,
        resource_type: str | None = None,
    ) -> ClusterProfile:
        """``GET /v1/clusterprofiles/{uid}``: ``uid`` may be any version's own uid."""
        params = present({"includePackMeta": include_pack_meta, "resourceType": resource_type})
        call = self._call(
            "GET", "/v1/clusterprofiles/{uid}", path={"uid": uid}, params=params, project_uid=project_uid
        )
        return await self._one(ClusterProfile, call)

    async def get_profile_packs(
        self, uid: str, project_uid: str | None = None, *, include_pack_meta: str | None = None
    ) -> ProfilePacks:
        """``GET /v1/clusterprofiles/{uid}/packs``: ``{items}`` with values and manifests."""
        call = self._call(
            "GET",
            "/v1/clusterprofiles/{uid}/packs",
            path={"uid": uid},
            params=present({"includePackMeta": include_pack_meta}),
            project_uid=project_uid,
        )
        return await self._one(ProfilePacks, call)

    async def get_profile_variables(self, uid: str, project_uid: str | None = None) -> Variables:
        """``GET /v1/clusterprofiles/{uid}/variables``: ``{variables}``."""
        call = self._call(
            "GET", "/v1/clusterprofiles/{uid}/variables", path={"uid": uid}, project_uid=project_uid
        )
        return await self._one(Variables, call)
