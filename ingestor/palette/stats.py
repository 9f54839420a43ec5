"""Counters per Palette endpoint (method + path template): calls, retries, 429s, errors, latency.

Imports nothing of ours. Thread- and task-safe; ``snapshot()`` feeds the status page and benchmarks.
Observers (``add_observer``) hear of every exchange and retry as it happens (the service's metrics).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import structlog


@dataclass(frozen=True)
class CallEvent:
    """One HTTP exchange (``attempt``, with Palette's status; ``None`` when no answer came) or one
    scheduled ``retry``. Names the endpoint by its path template only: no URL, no uid, no credential."""

    kind: Literal["attempt", "retry"]
    method: str
    template: str
    status: int | None = None


StatsObserver = Callable[[CallEvent], None]


@dataclass
class EndpointStats:
    """Counters of one endpoint. ``calls`` are logical calls; ``attempts`` include retries."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    rate_limited: int = 0
    errors: int = 0
    total_latency: float = 0.0
    max_latency: float = 0.0
    throttled_seconds: float = 0.0

    @property
    def mean_latency(self) -> float:
        return self.total_latency / self.calls if self.calls else 0.0


class ClientStats:
    """All endpoint counters of one client (shared with its ``with_credential`` siblings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: dict[str, EndpointStats] = {}
        self._observers: tuple[StatsObserver, ...] = ()

    def add_observer(self, observer: StatsObserver) -> None:
        """Call ``observer(event)`` after every exchange and retry (it must be quick and never block)."""
        with self._lock:
            self._observers = (*self._observers, observer)

    def remove_observer(self, observer: StatsObserver) -> None:
        """Stop calling ``observer`` (unknown observers are ignored)."""
        with self._lock:
            self._observers = tuple(o for o in self._observers if o != observer)

    def _notify(self, event: CallEvent) -> None:
        for observer in self._observers:
            try:
                observer(event)
            except Exception as exc:  # counting must never fail a Palette call
                structlog.get_logger(__name__).warning("palette.observer_failed", error=type(exc).__name__)

    def _get(self, method: str, template: str) -> EndpointStats:
        key = f"{method} {template}"
        stats = self._by_endpoint.get(key)
        if stats is None:
            stats = self._by_endpoint[key] = EndpointStats()
        return stats

    def attempt(self, method: str, template: str, *, status: int | None, throttled: float = 0.0) -> None:
        """One HTTP exchange was made (or failed at the transport); counts 429 answers."""
        with self._lock:
            stats = self._get(method, template)
            stats.attempts += 1
            stats.throttled_seconds += throttled
            if status == 429:
                stats.rate_limited += 1
        self._notify(CallEvent("attempt", method, template, status))

    def retry(self, method: str, template: str) -> None:
        """A retry was scheduled."""
        with self._lock:
            self._get(method, template).retries += 1
        self._notify(CallEvent("retry", method, template))

    def call(self, method: str, template: str, *, duration: float, failed: bool) -> None:
        """A logical call finished (after its retries)."""
        with self._lock:
            stats = self._get(method, template)
            stats.calls += 1
            stats.total_latency += duration
            stats.max_latency = max(stats.max_latency, duration)
            if failed:
                stats.errors += 1

    def snapshot(self) -> dict[str, dict[str, float]]:
        """A copy of every counter, keyed ``"METHOD /template"``, plus ``mean_latency``."""
        with self._lock:
            return {
                key: {**asdict(stats), "mean_latency": stats.mean_latency}
                for key, stats in sorted(self._by_endpoint.items())
            }

    def totals(self) -> dict[str, float]:
        """Counters summed over every endpoint."""
        out: dict[str, float] = {}
        for counters in self.snapshot().values():
            for name, value in counters.items():
                if name not in ("mean_latency", "max_latency"):
                    out[name] = out.get(name, 0) + value
        return out

    def reset(self) -> None:
        """Forget every counter (benchmarks call this between runs)."""
        with self._lock:
            self._by_endpoint.clear()
