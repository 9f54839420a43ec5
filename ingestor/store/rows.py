"""Plain, immutable results of store reads (what surfaces get instead of SQLAlchemy rows).

Imports nothing of ours but ``crawl.snapshot``; no SQL here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingestor.crawl.snapshot import PartKey


@dataclass(frozen=True)
class EntityRow:
    instance: str
    ref: str
    name: str
    kind: str
    palette_kind: str
    key: str
    project_uid: str | None
    part: PartKey
    body: dict[str, Any]
    content_hash: str
    first_seen: datetime
    last_seen: datetime
    """When a crawl last confirmed this entity (its part's last complete crawl, unless held back)."""
    changed_at: datetime
    run_id: int
    """The run ``last_seen`` comes from."""
    stale: bool = False
    """Served from an older crawl: its part failed last time, or its removal is held back."""


@dataclass(frozen=True)
class EntitySnapshot:
    """Current entities with the snapshot version of every instance they were read with (one transaction)."""

    versions: dict[str, int]
    entities: list[EntityRow]

    @property
    def version_key(self) -> str:
        """A string that changes whenever any instance's snapshot changes (for caches keyed by version)."""
        return ",".join(f"{name}={version}" for name, version in sorted(self.versions.items()))


@dataclass(frozen=True)
class InstanceState:
    instance: str
    snapshot_version: int
    last_run_id: int | None
    last_run_at: datetime | None
    last_run_status: str | None
    last_success_run_id: int | None
    last_success_at: datetime | None

    @property
    def has_snapshot(self) -> bool:
        return self.last_success_run_id is not None


@dataclass(frozen=True)
class PartStateRow:
    """Whether a part's last crawl was applied, and when one last was."""

    instance: str
    scope: str
    kind: str
    ok: bool
    last_run_id: int
    last_run_at: datetime
    last_ok_run_id: int | None
    last_ok_at: datetime | None


@dataclass(frozen=True)
class PartOutcomeRow:
    scope: str
    kind: str
    ok: bool
    items: int
    error_class: str | None
    error: str | None


@dataclass(frozen=True)
class RunRow:
    id: int
    instance: str
    replica_id: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    calls: int
    retries: int
    rate_limited: int
    errors: int
    detail_calls: int
    stale_details: int
    counts: dict[str, int]
    added: int
    modified: int
    removed: int
    held: int
    snapshot_version: int
    error_class: str | None
    error_message: str | None
    problems: list[dict[str, str]]
    outcomes: tuple[PartOutcomeRow, ...]


@dataclass(frozen=True)
class HeldRow:
    instance: str
    ref: str
    part: PartKey
    streak: int
    reason: str
    since: datetime
    since_run_id: int
    run_id: int


@dataclass(frozen=True)
class ChangeRow:
    id: int
    instance: str
    run_id: int
    at: datetime
    change: str
    ref: str
    kind: str
    palette_kind: str
    project_uid: str | None
    old_hash: str | None
    new_hash: str | None


@dataclass(frozen=True)
class CachedDetail:
    uid: str
    last_modified: str | None
    payload: dict[str, Any]
    fetched_at: datetime


@dataclass(frozen=True)
class ProfileVersionRow:
    version_uid: str
    profile_key: str
    profile_ref: str
    name: str
    version: str | None
    scope: str
    project_uid: str | None


@dataclass(frozen=True)
class ProfileUsage:
    """One cluster, virtual cluster or group running a version of a profile family, and how fresh that is."""

    instance: str
    src_ref: str
    src_kind: str
    src_uid: str
    name: str | None
    project_uid: str | None
    version_uid: str
    version: str | None
    profile_key: str | None
    profile_ref: str | None
    run_id: int | None
    seen_at: datetime | None
    stale: bool = False
    title: str | None = None
    """The user's title (``None`` when its entity is not stored)."""
    state: str | None = None
    """The user's state annotation, when asked for."""
