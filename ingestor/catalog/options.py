"""``MappingOptions``: one environment's ``catalogProvider`` settings plus the annotation prefix.

Imports nothing of ours. Field names match ``ingestor.config`` (snake_case of the seed's keys), so the
crawler builds it with ``MappingOptions.from_settings(prefix, settings.model_dump())``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_PREFIX = "terasky.backstage.io"
DEFAULT_OWNER = "spectrocloud-auto-ingested"


@dataclass(frozen=True)
class ResourceSwitches:
    """``catalogProvider.resources.*``: which kinds become entities (projects are crawled anyway, I3)."""

    projects: bool = True
    cluster_profiles: bool = True
    clusters: bool = True
    cluster_groups: bool = True
    virtual_clusters: bool = True


@dataclass(frozen=True)
class MappingOptions:
    """How one instance's objects become entities (compat.md 1.2 and 2.6)."""

    annotation_prefix: str = DEFAULT_PREFIX
    default_owner: str = DEFAULT_OWNER
    owner_namespace: str = "group"  # despite its name, the owner *kind*: group or user
    include_projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()
    exclude_tenant_scoped_resources: bool = False
    resources: ResourceSwitches = field(default_factory=ResourceSwitches)

    @property
    def owner_ref(self) -> str:
        """``<ownerNamespace>:default/<defaultOwner>``."""
        return f"{self.owner_namespace}:default/{self.default_owner}"

    @property
    def project_filter_active(self) -> bool:
        """Project lists only drop project-owned objects when an include or exclude list is set."""
        return bool(self.include_projects or self.exclude_projects)

    def annotation(self, name: str) -> str:
        """``<prefix>/<name>``."""
        return f"{self.annotation_prefix}/{name}"

    @classmethod
    def from_settings(cls, annotation_prefix: str, catalog_provider: Mapping[str, Any]) -> MappingOptions:
        """Build from a dumped ``CatalogProviderSettings`` (snake_case keys); unknown keys are ignored."""
        known = {f.name for f in fields(cls)} - {"annotation_prefix", "resources"}
        values = {k: v for k, v in catalog_provider.items() if k in known}
        for key in ("include_projects", "exclude_projects"):
            if key in values:
                values[key] = tuple(values[key])
        switches = catalog_provider.get("resources") or {}
        names = {f.name for f in fields(ResourceSwitches)}
        resources = ResourceSwitches(**{k: bool(v) for k, v in switches.items() if k in names})
        return cls(annotation_prefix=annotation_prefix, resources=resources, **values)
