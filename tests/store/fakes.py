"""Builders for the store tests: the catalog's result types (the real ones once ``ingestor.catalog`` exists).

The doubles have exactly the design doc's fields, so they and the real dataclasses are interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestor.crawl.snapshot import PartKey, PartOutcome, RunStats
from ingestor.store.writer import RunRecord

try:  # the real types, when the catalog package has landed
    from ingestor.catalog.entities import (
        Edge,
        MappedEntity,
        MappingResult,
        ProfileVersion,
    )
except ImportError:

    @dataclass(frozen=True)
    class MappedEntity:
        ref: str
        name: str
        kind: str
        palette_kind: str
        key: str
        project_uid: str | None
        part: PartKey
        body: dict[str, Any]

    @dataclass(frozen=True)
    class Edge:
        src_ref: str
        src_kind: str
        src_uid: str
        relation: str
        dst_uid: str
        dst_ref: str | None
        profile_key: str | None = None
        version: str | None = None

    @dataclass(frozen=True)
    class ProfileVersion:
        version_uid: str
        profile_key: str
        profile_ref: str
        name: str
        version: str | None
        scope: str
        project_uid: str | None

    @dataclass(frozen=True)
    class MappingResult:
        entities: list[MappedEntity]
        edges: list[Edge]
        profile_versions: list[ProfileVersion]
        problems: list[Any] = field(default_factory=list)


T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
PALETTE_KIND = {
    "projects": "project",
    "clusters": "cluster",
    "virtualClusters": "virtual-cluster",
    "clusterGroups": "cluster-group",
    "clusterProfiles": "cluster-profile",
}


def entity(
    name: str, part: PartKey = ("p1", "clusters"), version: int = 1, key: str | None = None
) -> MappedEntity:
    """A Resource (or a System for the projects part) whose body changes with ``version``."""
    palette_kind = PALETTE_KIND[part[1]]
    kind = "System" if palette_kind == "project" else "Resource"
    project = None if part[0] == "tenant" else part[0]
    body = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "annotations": {"example.io/version": str(version)}},
        "spec": {"type": f"spectrocloud-{palette_kind}", "owner": "group:default/platform"},
    }
    return MappedEntity(
        ref=f"{kind.lower()}:default/{name}",
        name=name,
        kind=kind,
        palette_kind=palette_kind,
        key=key or f"uid-{name}",
        project_uid=project,
        part=part,
        body=body,
    )


def result(
    entities: list[MappedEntity],
    edges: list[Edge] | None = None,
    versions: list[ProfileVersion] | None = None,
) -> MappingResult:
    return MappingResult(entities=entities, edges=edges or [], profile_versions=versions or [], problems=[])


def ok(scope: str, kind: str, items: int = 0) -> PartOutcome:
    return PartOutcome(scope, kind, True, items)


def failed(scope: str, kind: str) -> PartOutcome:
    return PartOutcome(scope, kind, False, 0, "UnavailableError", "Palette answered 503")


def run(instance: str = "prod", at: int = 0, trigger: str = "schedule", **kw: Any) -> RunRecord:
    """A run that finished ``at`` minutes after T0 (a fake clock)."""
    finished = T0 + timedelta(minutes=at)
    stats = kw.pop(
        "stats", RunStats(calls=10, retries=1, rate_limited=2, errors=1, detail_calls=3, duration_seconds=5)
    )
    return RunRecord(
        instance=instance,
        replica_id="replica-a",
        trigger=trigger,
        started_at=finished - timedelta(seconds=5),
        finished_at=finished,
        stats=stats,
        **kw,
    )
