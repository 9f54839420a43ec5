"""The mapping output types (docs/design/ingestion.md "Mapping output"); re-exported by ``entities``.

Imports nothing of ours except ``inventory.PartKey``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ingestor.catalog.inventory import PartKey

USES_PROFILE_VERSION = "uses-profile-version"
RUNS_ON_HOST = "runs-on-host"
IN_GROUP = "in-group"
GROUP_MEMBER = "group-member"


@dataclass(frozen=True)
class MappedEntity:
    """One Backstage entity and where it came from."""

    ref: str  # lower-cased "resource:default/<name>" / "system:default/<name>"
    name: str  # metadata.name
    kind: str  # "System" | "Resource"
    palette_kind: str
    key: str  # the Palette uid; for a profile family "<scope>:<projectUid or ''>:<profile name>"
    project_uid: str | None
    part: PartKey
    body: dict[str, Any]  # the entity, JSON-able, keys in apiVersion/kind/metadata/spec order


@dataclass(frozen=True)
class Edge:
    """A relation stored for reverse lookups (MCP, console)."""

    src_ref: str
    src_kind: str  # palette_kind of the source
    src_uid: str
    relation: str  # "uses-profile-version" | "runs-on-host" | "in-group" | "group-member"
    dst_uid: str  # Palette uid of the target (the profile VERSION uid for uses-profile-version)
    dst_ref: str | None  # entity ref of the target if we emit it
    profile_key: str | None = None  # family key for uses-profile-version
    version: str | None = None  # semver of that version when known


@dataclass(frozen=True)
class ProfileVersion:
    """One version of an emitted profile family."""

    version_uid: str
    profile_key: str
    profile_ref: str
    name: str
    version: str | None
    scope: str
    project_uid: str | None


@dataclass(frozen=True)
class Problem:
    """Something worth reporting about one object.

    ``level="error"``: the object was left out (``reason`` says why). ``level="info"``: it was emitted,
    but not as the plain scheme would have it (e.g. a hashed name after a collision).
    """

    palette_kind: str
    key: str
    name: str  # the entity name (or the Palette name when no entity name was given)
    reason: str
    level: Literal["error", "info"] = "error"


@dataclass(frozen=True)
class MappingResult:
    entities: list[MappedEntity]
    edges: list[Edge]
    profile_versions: list[ProfileVersion]
    problems: list[Problem]
