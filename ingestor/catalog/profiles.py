"""Profile families: every version of a cluster profile is its own object (palette-api.md 4.4); a family
is keyed by (scope, projectUid, name) and becomes ONE entity listing all its versions (I4, I12, I13).

Pure; imports only ``ingestor.palette.models`` and sibling catalog modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ingestor.catalog.naming import Ownership, ownership
from ingestor.palette.models import ClusterProfileSummary, kubernetes_version_from_packs

_SEMVER = re.compile(r"[vV]?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")

VersionKey = tuple[int, tuple[int, ...], tuple[int, tuple[tuple[int, int, str], ...]], str]


def version_key(version: str | None) -> VersionKey:
    """Semver-aware ordering: missing < unparseable < parseable; ``1.10.0 > 1.9.0``; a prerelease
    sorts before its release (``1.0.0-rc.1 < 1.0.0``); the raw text breaks ties."""
    text = (version or "").strip()
    if not text:
        return (0, (), (1, ()), "")
    match = _SEMVER.fullmatch(text)
    if match is None:
        return (1, (), (1, ()), text)
    core = tuple(int(n) for n in match[1].split("."))
    core += (0,) * (3 - len(core))
    pre = match[2]
    if pre is None:
        return (2, core, (1, ()), text)
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (2, core, (0, ids), text)


@dataclass(frozen=True)
class FamilyVersion:
    uid: str
    version: str | None


@dataclass(frozen=True)
class ProfileFamily:
    """One profile family: its items (any versions the searches returned) and all known versions."""

    key: str  # "<scope>:<projectUid or ''>:<name>"
    name: str
    owner: Ownership
    items: tuple[ClusterProfileSummary, ...]  # sorted by uid
    versions: tuple[FamilyVersion, ...]  # oldest first (semver-aware)
    representative: ClusterProfileSummary  # the latest version's item, else the newest item

    @property
    def latest(self) -> FamilyVersion:
        return self.versions[-1]

    @property
    def item_uids(self) -> list[str]:
        return [item.uid for item in self.items]


def family_key(owner: Ownership, name: str) -> str:
    return f"{owner.scope}:{owner.project_uid or ''}:{name}"


def build_families(items: Iterable[ClusterProfileSummary]) -> list[ProfileFamily]:
    """Group items (de-duplicated by uid, with uids) into families, sorted by key."""
    groups: dict[tuple[str, Ownership, str], list[ClusterProfileSummary]] = {}
    for item in items:
        owner = ownership(item.metadata)
        name = item.name
        groups.setdefault((family_key(owner, name), owner, name), []).append(item)
    families = [_family(key, owner, name, members) for (key, owner, name), members in groups.items()]
    return sorted(families, key=lambda f: f.key)


def _family(key: str, owner: Ownership, name: str, members: list[ClusterProfileSummary]) -> ProfileFamily:
    members = sorted(members, key=lambda item: item.uid)
    found: dict[str, str | None] = {item.uid: item.version or None for item in members}
    for item in members:
        for entry in item.spec_summary.versions:
            if entry.uid and found.get(entry.uid) is None:
                found[entry.uid] = entry.version or None
    versions = sorted(
        (FamilyVersion(uid, version) for uid, version in found.items()),
        key=lambda v: (version_key(v.version), v.uid),
    )
    by_uid = {item.uid: item for item in members}
    latest = versions[-1]
    representative = by_uid.get(latest.uid) or max(members, key=lambda i: (version_key(i.version), i.uid))
    return ProfileFamily(key, name, owner, tuple(members), tuple(versions), representative)


@dataclass(frozen=True)
class VersionHit:
    """What a profile version uid resolves to."""

    family: ProfileFamily
    version: FamilyVersion


def index_versions(families: Iterable[ProfileFamily]) -> dict[str, VersionHit]:
    """Version uid -> its family; a uid listed by two families goes to the first by key."""
    index: dict[str, VersionHit] = {}
    for family in sorted(families, key=lambda f: f.key):
        for version in family.versions:
            index.setdefault(version.uid, VersionHit(family, version))
    return index


def kubernetes_by_version(items: Iterable[ClusterProfileSummary]) -> Mapping[str, str]:
    """Version uid -> the Kubernetes version of its k8s pack, for the items the searches returned."""
    out: dict[str, str] = {}
    for item in items:
        template = item.spec_summary.published or item.spec_summary.draft
        version = kubernetes_version_from_packs(template.packs) if template is not None else None
        if version:
            out[item.uid] = version
    return out
