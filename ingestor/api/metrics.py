"""``GET /metrics`` (Prometheus text format): what this process did, and the shared store's truth.

Counters and histograms count this process's crawls, Palette calls, session lookups and HTTP requests; the
gauges (entities per kind, held-back removals, last successful crawl) are read from the store at scrape
time, so every replica reports the same. One ``CollectorRegistry`` per app (several apps may share a test
process). Labels are bounded: instance names, endpoint and route templates, methods, statuses; never a user,
a uid, a raw path or a secret. The only importer of ``prometheus_client``; imports ``api``, ``scheduler``,
``store`` (reads), ``palette.stats`` and ``logging`` of ours. docs/observability.md lists every metric.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import prometheus_client
import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from ingestor.logging import redact_text
from ingestor.palette.stats import CallEvent
from ingestor.scheduler import CrawlReport, CrawlScheduler
from ingestor.store import queries
from ingestor.store.db import Database

log = structlog.get_logger(__name__)
router = APIRouter(tags=["metrics"])

CRAWL_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
NO_RESPONSE = "none"
"""The ``status`` label of a Palette exchange that got no answer (timeout, connection failure)."""


@dataclass
class StoreGauges:
    """What the store says now, per configured instance (read on the store's thread)."""

    entities: dict[tuple[str, str], int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    last_success: dict[str, float] = field(default_factory=dict)


class _RunCounts:
    """Entities per Palette kind of each instance, as its last run counted them (``crawl_runs.counts`` is
    what was served after that run); re-read only when an instance's last run changed."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int | None, dict[str, int]]] = {}

    def read(self, db: Database, instances: Sequence[str]) -> StoreGauges:
        """Store gauges of ``instances`` (sync: run it with ``db.run``)."""
        states = {s.instance: s for s in queries.instance_states(db)}
        held = Tally(h.instance for h in queries.held_removals(db))
        out = StoreGauges()
        for name in instances:
            state = states.get(name)
            last_run_id = state.last_run_id if state is not None else None
            seen = self._seen.get(name)
            if seen is None or seen[0] != last_run_id:
                run = queries.last_run(db, name) if last_run_id is not None else None
                seen = self._seen[name] = (last_run_id, dict(run.counts) if run is not None else {})
            out.entities.update({(name, kind): count for kind, count in seen[1].items()})
            out.held[name] = held.get(name, 0)
            if state is not None and state.last_success_at is not None:
                out.last_success[name] = state.last_success_at.timestamp()
        return out


class _StoreCollector:
    """Yields the gauges of the last store read (set just before each exposition) and the crawls running
    here now."""

    def __init__(self, scheduler: CrawlScheduler) -> None:
        self.scheduler = scheduler
        self.gauges: StoreGauges | None = None

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self.gauges)

    def _families(self, gauges: StoreGauges | None) -> Iterator[Metric]:
        up = GaugeMetricFamily("ingestor_store_up", "1 when the last scrape could read the store, else 0")
        entities = GaugeMetricFamily(
            "ingestor_entities", "Entities served, by instance and Palette kind", labels=["instance", "kind"]
        )
        held = GaugeMetricFamily(
            "ingestor_held_removals", "Removals held back for confirmation", labels=["instance"]
        )
        success = GaugeMetricFamily(
            "ingestor_last_successful_crawl_timestamp_seconds",
            "Unix time of the last crawl of the whole instance that committed data",
            labels=["instance"],
        )
        running = GaugeMetricFamily(
            "ingestor_crawl_in_progress", "1 while this process crawls the instance", labels=["instance"]
        )
        if gauges is not None:
            for (instance, kind), count in sorted(gauges.entities.items()):
                entities.add_metric([instance, kind], count)
            for instance, count in sorted(gauges.held.items()):
                held.add_metric([instance], count)
            for instance, at in sorted(gauges.last_success.items()):
                success.add_metric([instance], at)
        up.add_metric([], 1 if gauges is not None else 0)
        for instance in self.scheduler.instances:
            running.add_metric([instance], 1 if self.scheduler.running_crawl(instance) is not None else 0)
        yield from (up, entities, held, success, running)


class ServiceMetrics:
    """The app's registry and the observers that feed it (scheduler, live clients, sessions, HTTP)."""

    def __init__(self, scheduler: CrawlScheduler, db: Database) -> None:
        # ``*_created`` series double every counter's series for nothing a dashboard uses (process-wide).
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.db = db
        self.instances = tuple(scheduler.instances)
        self.registry = CollectorRegistry()
        r = self.registry
        self.crawl_seconds = Histogram(
            "ingestor_crawl_duration_seconds",
            "Crawl duration, start to commit",
            ["instance", "trigger"],
            buckets=CRAWL_BUCKETS,
            registry=r,
        )
        self.crawls = Counter(
            "ingestor_crawls", "Crawls run here, by outcome", ["instance", "trigger", "outcome"], registry=r
        )
        self.palette_requests = Counter(
            "ingestor_palette_requests",
            "HTTP exchanges with Palette (retries included), by endpoint template and status",
            ["instance", "endpoint", "method", "status"],
            registry=r,
        )
        self.palette_retries = Counter(
            "ingestor_palette_retries", "Palette calls retried", ["instance"], registry=r
        )
        self.palette_rate_limited = Counter(
            "ingestor_palette_rate_limited", "Palette answers 429 Too Many Requests", ["instance"], registry=r
        )
        self.session_lookups = Counter(
            "ingestor_session_lookups", "Stored Palette session lookups", ["result"], registry=r
        )
        self.http_requests = Counter(
            "ingestor_http_requests", "HTTP requests served", ["method", "route", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "ingestor_http_request_duration_seconds",
            "HTTP request duration, to the end of the response",
            ["method", "route"],
            registry=r,
        )
        self._store = _StoreCollector(scheduler)
        self._counts = _RunCounts()
        r.register(self._store)

    # -- observers -----------------------------------------------------------------------------------

    def crawl_progress(self, instance: str, progress: object) -> None:
        """Progress is shown on the status page, not as metrics."""

    def palette_call(self, instance: str, event: CallEvent) -> None:
        if event.kind == "retry":
            self.palette_retries.labels(instance).inc()
            return
        status = NO_RESPONSE if event.status is None else str(event.status)
        self.palette_requests.labels(instance, event.template, event.method, status).inc()
        if event.status == 429:
            self.palette_rate_limited.labels(instance).inc()

    def crawl_finished(self, report: CrawlReport) -> None:
        self.crawls.labels(report.instance, report.trigger, report.outcome).inc()
        self.crawl_seconds.labels(report.instance, report.trigger).observe(report.seconds)

    def session_lookup(self, result: str) -> None:
        self.session_lookups.labels(result).inc()

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        if route == "/metrics":
            return
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_seconds.labels(method, route).observe(seconds)

    # -- exposition ----------------------------------------------------------------------------------

    async def exposition(self) -> bytes:
        """The text format, with the store's gauges read now (``ingestor_store_up 0`` when it cannot be)."""
        try:
            gauges: StoreGauges | None = await self.db.run(self._counts.read, self.instances)
        except Exception as exc:
            log.warning("metrics.store_unavailable", error_class=type(exc).__name__)
            gauges = None
        # No await between setting and rendering: concurrent scrapes each render their own read.
        self._store.gauges = gauges
        text = generate_latest(self.registry).decode()
        return redact_text(text).encode()


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (text format 0.0.4), unauthenticated like ``/health``: crawls, Palette calls,
    session lookups and HTTP requests of this process; entities, held removals and the last successful
    crawl per instance from the store."""
    service: ServiceMetrics = request.app.state.metrics
    return Response(await service.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
