"""What a crawl produced besides entities: per-part outcomes and call statistics.

Shared by the crawler and the store; imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass

PartKey = tuple[str, str]
"""A part of a crawl: ``(scope, kind)``; scope is ``"tenant"`` or a project uid."""


@dataclass(frozen=True)
class PartOutcome:
    """Whether one part's lists were fetched completely; errors are sanitized (no token, no Palette body)."""

    scope: str
    kind: str
    ok: bool
    items: int = 0
    error_class: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RunStats:
    """Counters of one crawl run, recorded with the run."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    errors: int = 0
    detail_calls: int = 0
    duration_seconds: float = 0.0
    stale_details: int = 0
    """Objects built from a cached detail because their detail call failed (compat.md I10)."""
