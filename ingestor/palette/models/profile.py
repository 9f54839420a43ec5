"""Cluster profile models: search summaries, the full object, packs and variables.

Imports nothing of ours outside ``ingestor.palette``. Every profile version has its own uid
(palette-api.md 4.4); ``version_uids`` lists all of a family's versions.
"""

from __future__ import annotations

from ingestor.palette.models.base import (
    MetaDocument,
    NullList,
    ObjectRef,
    PackRef,
    PaletteDocument,
    PaletteModel,
    ProfileTemplate,
    kubernetes_version_from_packs,
)
from ingestor.palette.models.cluster import PackEntity


class ProfileVersion(PaletteModel):
    """``v1ClusterProfileVersion``: one version of a profile family and its own uid."""

    uid: str = ""
    version: str | None = None


class TemplateSummary(PaletteModel):
    """``v1ClusterProfileTemplateSummary``."""

    cloud_type: str | None = None
    type: str | None = None
    packs: NullList[PackRef] = []


class ProfileSpecSummary(PaletteModel):
    published: TemplateSummary | None = None
    draft: TemplateSummary | None = None
    version: str | None = None
    versions: NullList[ProfileVersion] = []


class ProfileStatus(PaletteModel):
    """Status shared by summaries and the full object."""

    is_published: bool | None = None
    has_user_macros: bool | None = None
    in_use_clusters: NullList[ObjectRef] = []
    in_use_cluster_uids: NullList[str] = []


class _ProfileBase(MetaDocument):
    status: ProfileStatus = ProfileStatus()

    def _versions(self) -> list[ProfileVersion]:
        return []

    @property
    def version_uids(self) -> list[str]:
        """Uids of every version of this profile's family (always including this one)."""
        uids = [v.uid for v in self._versions() if v.uid]
        if self.uid and self.uid not in uids:
            uids.append(self.uid)
        return uids

    @property
    def in_use_cluster_uids(self) -> list[str]:
        """Clusters using this version, from ``inUseClusters`` and the deprecated uid list."""
        uids = [c.uid for c in self.status.in_use_clusters if c.uid]
        return uids + [u for u in self.status.in_use_cluster_uids if u and u not in uids]


class ClusterProfileSummary(_ProfileBase):
    """An item of ``POST /v1/dashboard/clusterprofiles`` (``v1ClusterProfileSummary``)."""

    spec_summary: ProfileSpecSummary = ProfileSpecSummary()

    def _versions(self) -> list[ProfileVersion]:
        return self.spec_summary.versions

    @property
    def version(self) -> str | None:
        """This item's semver."""
        return self.spec_summary.version

    @property
    def cloud_type(self) -> str | None:
        template = self.spec_summary.published or self.spec_summary.draft
        return template.cloud_type if template is not None else None

    @property
    def profile_type(self) -> str | None:
        template = self.spec_summary.published or self.spec_summary.draft
        return template.type if template is not None else None


class ClusterProfileSpec(PaletteModel):
    """``v1ClusterProfileSpec``."""

    version: str | None = None
    versions: NullList[ProfileVersion] = []
    published: ProfileTemplate | None = None
    draft: ProfileTemplate | None = None


class ClusterProfile(_ProfileBase):
    """``GET /v1/clusterprofiles/{uid}`` (any version's uid) -> ``v1ClusterProfile``."""

    api_version: str | None = None
    kind: str | None = None
    spec: ClusterProfileSpec = ClusterProfileSpec()

    def _versions(self) -> list[ProfileVersion]:
        return self.spec.versions

    @property
    def version(self) -> str | None:
        template = self.spec.published
        return self.spec.version or (template.profile_version if template is not None else None)

    @property
    def template(self) -> ProfileTemplate | None:
        """The published template, else the draft."""
        return self.spec.published or self.spec.draft

    @property
    def cloud_type(self) -> str | None:
        return self.template.cloud_type if self.template is not None else None

    @property
    def profile_type(self) -> str | None:
        return self.template.type if self.template is not None else None

    @property
    def kubernetes_version(self) -> str | None:
        return kubernetes_version_from_packs(self.template.packs) if self.template is not None else None


class ProfileMetadataSpec(PaletteModel):
    cloud_type: str | None = None
    version: str | None = None


class ClusterProfileMetadata(MetaDocument):
    """An item of ``GET /v1/dashboard/clusterprofiles/metadata``: one per version."""

    spec: ProfileMetadataSpec = ProfileMetadataSpec()


class ProfilePacks(PaletteDocument):
    """``v1ClusterProfilePacksEntities`` = ``{"items": [...]}``."""

    items: NullList[PackEntity] = []


class VariableOption(PaletteModel):
    value: str | None = None
    label: str | None = None
    description: str | None = None
    default: bool | None = None


class Variable(PaletteModel):
    """``v1Variable``."""

    name: str = ""
    display_name: str | None = None
    description: str | None = None
    format: str | None = None
    default_value: str | None = None
    regex: str | None = None
    required: bool | None = None
    immutable: bool | None = None
    hidden: bool | None = None
    is_sensitive: bool | None = None
    input_type: str | None = None
    options: NullList[VariableOption] = []


class Variables(PaletteDocument):
    """``v1Variables`` = ``{"variables": [...]}``."""

    variables: NullList[Variable] = []

    def by_name(self) -> dict[str, Variable]:
        return {v.name: v for v in self.variables}
