"""Deterministic simulator clock and Palette's timestamp format (RFC 3339, milliseconds, ``Z``).

Time only moves when the simulator says so, so tests can predict every timestamp.
Imports nothing of ours.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

# Go's zero time.Time as Palette serialises it (palette-api.md 1.1).
ZERO_TIME = "0001-01-01T00:00:00.000Z"
DEFAULT_ORIGIN = datetime(2025, 1, 1, tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """``2024-05-02T10:00:00.123Z`` for an aware or naive (taken as UTC) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; raises ``ValueError`` when it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without time zone: {text!r}")
    return moment.astimezone(UTC)


def normalise_time(text: str) -> str:
    """Re-format any RFC 3339 timestamp the way Palette writes it (so strings compare in order)."""
    return format_time(parse_time(text))


class Clock:
    """Fixed origin plus an offset that only moves forward through ``tick`` or ``advance``."""

    def __init__(self, origin: datetime = DEFAULT_ORIGIN, step_seconds: float = 1.0) -> None:
        if origin.tzinfo is None:
            origin = origin.replace(tzinfo=UTC)
        self.origin = origin
        self.step = timedelta(seconds=step_seconds)
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> str:
        """The current simulated time, without moving it."""
        return format_time(self.origin + self._offset)

    def tick(self) -> str:
        """Move time forward by one step and return the new time (each mutation calls this)."""
        with self._lock:
            self._offset += self.step
            return format_time(self.origin + self._offset)

    def advance(self, seconds: float) -> str:
        """Move time forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("the simulator clock never goes backwards")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            return format_time(self.origin + self._offset)

    def at(self, seconds_from_origin: float) -> str:
        """A fixed point relative to the origin (negative = in the past); used by the generator."""
        return format_time(self.origin + timedelta(seconds=seconds_from_origin))

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()
