"""One crawl of one Palette instance: projects first, then every part concurrently, each with its outcome.

Parts are ``(scope, kind)`` (docs/design/ingestion.md). A part's objects enter the inventory only when
the part completed; a failure of one part never stops the others; the overall deadline fails the parts
still running and keeps those that finished; a part pointing into a failed one is held too
(``dependency``). A project-scoped crawl (``only_projects``) fetches those projects' parts plus the
context their mapping reads (``scope``) and reports outcomes for those parts only. Progress (scopes done
of all planned, projects being crawled) goes to an optional callback and to ``crawl.progress`` log lines.
Palette I/O only: no store, no mapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from ingestor.catalog.inventory import (
    CLUSTER,
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PART_KINDS,
    PROJECT,
    TENANT,
    VIRTUAL_CLUSTER,
    GroupRecord,
    InstanceInventory,
    PartKey,
)
from ingestor.catalog.options import ResourceSwitches
from ingestor.crawl import lists
from ingestor.crawl.dependency import DEPENDENCY_FAILED, hold_dependents
from ingestor.crawl.details import CachedPayload, FreshDetail, GroupDetails, resolve_groups
from ingestor.crawl.failure import CrawlDeadlineError, Failure, describe
from ingestor.crawl.scope import context_clusters, context_kinds, referenced_clusters
from ingestor.crawl.snapshot import PartOutcome, RunStats
from ingestor.palette.client import PaletteClient
from ingestor.palette.models import ClusterProfileSummary, ClusterSummary, ProjectSummary

log = structlog.get_logger(__name__)
T = TypeVar("T")

PROJECTS = PART_KINDS[PROJECT]
CLUSTERS = PART_KINDS[CLUSTER]
VIRTUAL_CLUSTERS = PART_KINDS[VIRTUAL_CLUSTER]
CLUSTER_GROUPS = PART_KINDS[CLUSTER_GROUP]
CLUSTER_PROFILES = PART_KINDS[CLUSTER_PROFILE]
DETAIL_ENDPOINTS = ("GET /v1/clustergroups/{uid}",)
"""Per-object calls (``ClientStats`` keys); a re-crawl of an unchanged tenant makes none."""
PROGRESS_LOG_SECONDS = 5.0
PROGRESS_LOG_STEPS = 10
PROGRESS_LOG_MAX_STEP = 25
"""A ``crawl.progress`` line when a scope finishes and 5 s passed, or another tenth of the scopes (at most
25) finished since the last line, and at the last scope."""


@dataclass(frozen=True)
class CrawlProgress:
    """How far a crawl is: scopes (the tenant and each project) finished of those planned, and the
    projects being crawled now (at most ``max_concurrent_projects``)."""

    scopes_done: int
    scopes_total: int
    current: tuple[str, ...] = ()
    elapsed_seconds: float = 0.0


ProgressCallback = Callable[[CrawlProgress], None]


@dataclass(frozen=True)
class CrawlRequest:
    """What to crawl and within which limits (built from one environment's settings)."""

    instance: str | None
    palette_url: str
    console_url: str = ""
    resources: ResourceSwitches = field(default_factory=ResourceSwitches)
    include_projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()
    max_concurrent_projects: int = 8
    deadline_seconds: float = 1800.0
    group_cache: Mapping[str, CachedPayload] = field(default_factory=dict)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Values masked in every error message (the instance's API token)."""
    only_projects: frozenset[str] | None = None
    """A project-scoped crawl: only these projects' parts, plus the context their mapping reads (the
    project list, the tenant's groups and profiles, the clusters they point to). ``None``: everything."""

    def kinds(self) -> tuple[str, ...]:
        """The part kinds fetched per scope: those switched on in ``resources.*``."""
        switches = (
            (CLUSTERS, self.resources.clusters),
            (VIRTUAL_CLUSTERS, self.resources.virtual_clusters),
            (CLUSTER_GROUPS, self.resources.cluster_groups),
            (CLUSTER_PROFILES, self.resources.cluster_profiles),
        )
        return tuple(kind for kind, on in switches if on)

    def keeps(self, project: ProjectSummary) -> bool:
        """``includeProjects`` then ``excludeProjects`` by exact name (compat.md 2.6)."""
        if self.include_projects and project.name not in self.include_projects:
            return False
        return project.name not in self.exclude_projects


@dataclass
class CrawlOutput:
    """What one crawl produced. ``inventory`` is ``None`` when the project list failed (``failure``)."""

    inventory: InstanceInventory | None
    outcomes: list[PartOutcome]
    stats: RunStats
    fresh_details: list[FreshDetail] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    """``(palette_kind, uid)`` of objects built from a cached detail after their detail call failed."""
    failure: Failure | None = None
    scopes: frozenset[str] | None = None
    """A project-scoped crawl: the requested projects it found (listed and kept by the filters), whose
    parts the outcomes cover; a project missing here is not evaluated at all. ``None``: a full crawl."""


@dataclass
class _Harvest:
    """Objects of completed parts, and every part's outcome."""

    clusters: list[ClusterSummary] = field(default_factory=list)
    virtual: list[ClusterSummary] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)
    profiles: list[ClusterProfileSummary] = field(default_factory=list)
    part_of: dict[tuple[str, str], PartKey] = field(default_factory=dict)
    outcomes: dict[PartKey, PartOutcome] = field(default_factory=dict)
    fresh: list[FreshDetail] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)

    def done(
        self, scope: str, kind: str, palette_kind: str, uids: Sequence[str], note: Failure | None
    ) -> None:
        for uid in uids:
            self.part_of[(palette_kind, uid)] = (scope, kind)
        error_class, error = (note.error_class, note.message) if note is not None else (None, None)
        self.outcomes[(scope, kind)] = PartOutcome(scope, kind, True, len(uids), error_class, error)

    def fail(self, scope: str, kind: str, failure: Failure) -> None:
        self.outcomes[(scope, kind)] = PartOutcome(
            scope, kind, False, 0, failure.error_class, failure.message
        )

    def only(self, scopes: frozenset[str]) -> None:
        """Keep the outcomes, fresh details and stale marks of ``scopes`` (and the project list) only."""
        self.outcomes = {k: o for k, o in self.outcomes.items() if k[0] in scopes or k[1] == PROJECTS}
        in_scope = {uid for (kind, uid), part in self.part_of.items() if part[0] in scopes}
        self.fresh = [d for d in self.fresh if d.uid in in_scope]
        self.stale = [(kind, uid) for kind, uid in self.stale if uid in in_scope]


def run_stats(
    before: Mapping[str, Mapping[str, float]], after: Mapping[str, Mapping[str, float]], duration: float
) -> RunStats:
    """The client's counters over one crawl (snapshots taken before and after); details by endpoint."""

    def delta(name: str, endpoints: Sequence[str] | None = None) -> int:
        keys = after.keys() if endpoints is None else endpoints
        return int(sum(after.get(k, {}).get(name, 0) - before.get(k, {}).get(name, 0) for k in keys))

    return RunStats(
        calls=delta("calls"),
        retries=delta("retries"),
        rate_limited=delta("rate_limited"),
        errors=delta("errors"),
        detail_calls=delta("calls", DETAIL_ENDPOINTS),
        duration_seconds=round(duration, 3),
    )


class _Progress:
    """Counts finished scopes, tells the callback of every change, logs ``crawl.progress`` now and then."""

    def __init__(self, instance: str | None, callback: ProgressCallback | None) -> None:
        self.instance, self.callback = instance, callback
        self.started = self._logged_at = time.monotonic()
        self.total = self.done = self._logged_done = 0
        self.current: dict[str, None] = {}  # the projects being crawled, in start order

    def plan(self, total: int) -> None:
        self.total += total
        self._tell()

    @contextlib.contextmanager
    def running(self, scope: str) -> Iterator[None]:
        self.current[scope] = None
        self._tell()
        try:
            yield
        finally:
            self.current.pop(scope, None)

    def end(self, scope: str) -> None:
        self.done += 1
        self._tell()
        now = time.monotonic()
        step = min(PROGRESS_LOG_MAX_STEP, max(1, self.total // PROGRESS_LOG_STEPS))
        due = self.done - self._logged_done >= step or now - self._logged_at >= PROGRESS_LOG_SECONDS
        if due or self.done >= self.total:
            self._logged_at, self._logged_done = now, self.done
            log.info(
                "crawl.progress",
                instance=self.instance,
                scopes_done=self.done,
                scopes_total=self.total,
                scope=scope,
                running=len(self.current),
                elapsed=round(now - self.started, 3),
            )

    def _tell(self) -> None:
        if self.callback is None:
            return
        elapsed = round(time.monotonic() - self.started, 3)
        try:
            self.callback(CrawlProgress(self.done, self.total, tuple(self.current), elapsed))
        except Exception as exc:  # an observer must never fail the crawl
            log.warning("crawl.progress_callback_failed", error_class=type(exc).__name__)


class Crawler:
    """``await Crawler(client, request).crawl()``: one crawl, never raising for Palette failures.

    ``progress`` is called (on the crawl's event loop) whenever a scope starts or finishes.
    """

    def __init__(
        self, client: PaletteClient, request: CrawlRequest, *, progress: ProgressCallback | None = None
    ) -> None:
        self.client = client
        self.request = request
        self._harvest = _Harvest()
        self._gate = asyncio.Semaphore(max(1, request.max_concurrent_projects))
        self._meta_lock = asyncio.Lock()
        self._meta: lists.TenantClusters | BaseException | None = None
        self._progress = _Progress(request.instance, progress)

    def _describe(self, exc: BaseException) -> Failure:
        return describe(exc, self.request.secrets)

    async def crawl(self) -> CrawlOutput:
        """Projects, then every part; the deadline covers both."""
        started = time.monotonic()
        before = self.client.stats.snapshot()
        deadline = started + self.request.deadline_seconds
        try:
            async with asyncio.timeout(self.request.deadline_seconds):
                projects = await self.client.list_projects().collect()
        except Exception as exc:
            failure = self._describe(self._deadline_error() if isinstance(exc, TimeoutError) else exc)
            outcome = PartOutcome(TENANT, PROJECTS, False, 0, failure.error_class, failure.message)
            log.warning("crawl.projects_failed", instance=self.request.instance, error=failure.error_class)
            return CrawlOutput(None, [outcome], self._stats(before, started), failure=failure)
        self._harvest.done(TENANT, PROJECTS, PROJECT, [p.uid for p in projects if p.uid], None)
        kept = sorted({p.uid for p in projects if p.uid and self.request.keeps(p)})
        kinds = self.request.kinds()
        only = self.request.only_projects
        if only is None:
            await self._parts({scope: kinds for scope in [TENANT, *kept]}, deadline)
            return self._output(projects, before, started)
        targets = [uid for uid in kept if uid in only]
        if missing := sorted(only.difference(targets)):  # deleted, or left out by the project filters
            log.info("crawl.projects_not_found", instance=self.request.instance, projects=missing)
        if targets:
            plan = {TENANT: context_kinds(kinds), **{uid: kinds for uid in targets}}
            await self._parts(plan, deadline)
            await self._cluster_context(frozenset(targets), frozenset(kept) - set(targets), deadline)
        return self._output(projects, before, started, frozenset(targets))

    def _deadline_error(self) -> CrawlDeadlineError:
        return CrawlDeadlineError(f"the crawl deadline of {self.request.deadline_seconds:g}s passed")

    async def _parts(self, plan: Mapping[str, Sequence[str]], deadline: float) -> None:
        """Fetch ``plan``'s kinds per scope; every planned part ends with an outcome."""
        self._progress.plan(len(plan))
        tasks = [asyncio.create_task(self._scope(scope, kinds)) for scope, kinds in plan.items()]
        try:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
        finally:
            for task in tasks:
                task.cancel()  # no-op for finished ones; cancels everything if we were cancelled
            await asyncio.gather(*tasks, return_exceptions=True)
        if pending:
            log.warning("crawl.deadline", instance=self.request.instance, unfinished_scopes=len(pending))
        failure = self._describe(
            self._deadline_error() if pending else CrawlDeadlineError("the part did not finish")
        )
        for scope, kinds in plan.items():
            for kind in kinds:
                if (scope, kind) not in self._harvest.outcomes:
                    self._harvest.fail(scope, kind, failure)

    async def _scope(self, scope: str, kinds: Sequence[str]) -> None:
        """``kinds`` of one scope, concurrently; projects wait for a slot of the gate."""
        jobs = {
            CLUSTERS: lambda: self._clusters(scope, virtual=False),
            VIRTUAL_CLUSTERS: lambda: self._clusters(scope, virtual=True),
            CLUSTER_GROUPS: lambda: self._groups(scope),
            CLUSTER_PROFILES: lambda: self._profiles(scope),
        }
        if scope == TENANT:
            await asyncio.gather(*(jobs[kind]() for kind in kinds))
        else:
            async with self._gate:
                with self._progress.running(scope):
                    await asyncio.gather(*(jobs[kind]() for kind in kinds))
        self._progress.end(scope)

    async def _cluster_context(
        self, targets: frozenset[str], others: frozenset[str], deadline: float
    ) -> None:
        """A scoped crawl: fetch the clusters the targets' objects point to outside their own lists (the
        tenant's or another crawled project's). If that fails, the parts pointing there fail too."""
        h = self._harvest
        if CLUSTERS not in self.request.kinds():
            return  # a full crawl lists no clusters either: such relations are not drawn
        have = {c.uid for c in h.clusters}
        wanted = referenced_clusters(h.virtual, h.groups, h.part_of, targets, have)
        if not wanted:
            return
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                found = await context_clusters(self.client, set(wanted), others)
        except Exception as exc:
            cause = self._describe(self._deadline_error() if isinstance(exc, TimeoutError) else exc)
            message = f"the clusters it points to could not be fetched: {cause.message}; kept as it was"
            for part in sorted(set().union(*wanted.values())):
                outcome = h.outcomes.get(part)
                if outcome is not None and outcome.ok:
                    h.fail(*part, Failure(DEPENDENCY_FAILED, message))
            log.warning("crawl.context_failed", instance=self.request.instance, error=cause.error_class)
            return
        for scope, cluster in found:
            h.clusters.append(cluster)
            h.part_of[(CLUSTER, cluster.uid)] = (scope, CLUSTERS)

    async def _guard(self, scope: str, kind: str, work: Awaitable[T]) -> T | None:
        """``work``'s result, or ``None`` after recording the part as failed (never raises but cancels)."""
        try:
            return await work
        except Exception as exc:
            failure = self._describe(exc)
            self._harvest.fail(scope, kind, failure)
            log.warning(
                "crawl.part_failed",
                instance=self.request.instance,
                scope=scope,
                kind=kind,
                error=failure.error_class,
                message=failure.message,
            )
            return None

    async def _tenant_names(self) -> lists.TenantClusters:
        """The meta list, fetched once for both tenant cluster parts (a failure fails both)."""
        async with self._meta_lock:
            if self._meta is None:
                try:
                    self._meta = await lists.tenant_cluster_names(self.client)
                except Exception as exc:
                    self._meta = exc
        if isinstance(self._meta, BaseException):
            raise self._meta
        return self._meta

    async def _fetch_clusters(self, scope: str, virtual: bool) -> list[ClusterSummary]:
        if scope != TENANT:
            return await lists.project_clusters(self.client, scope, virtual=virtual)
        return await lists.tenant_clusters(self.client, await self._tenant_names(), virtual=virtual)

    async def _clusters(self, scope: str, *, virtual: bool) -> None:
        kind = VIRTUAL_CLUSTERS if virtual else CLUSTERS
        found = await self._guard(scope, kind, self._fetch_clusters(scope, virtual))
        if found is not None:
            (self._harvest.virtual if virtual else self._harvest.clusters).extend(found)
            palette_kind = VIRTUAL_CLUSTER if virtual else CLUSTER
            self._harvest.done(scope, kind, palette_kind, [c.uid for c in found], None)

    async def _fetch_groups(self, scope: str) -> GroupDetails:
        summaries = await lists.cluster_groups(self.client, scope)
        return await resolve_groups(self.client, scope, summaries, self.request.group_cache)

    async def _groups(self, scope: str) -> None:
        details = await self._guard(scope, CLUSTER_GROUPS, self._fetch_groups(scope))
        if details is None:
            return
        self._harvest.groups.extend(details.records)
        self._harvest.fresh.extend(details.fresh)
        self._harvest.stale.extend((CLUSTER_GROUP, uid) for uid in details.stale)
        note = None
        if details.stale_error is not None:
            cause = self._describe(details.stale_error)
            count = len(details.stale)
            message = f"{count} cluster group detail(s) served from the cache after: {cause.message}"
            note = Failure(cause.error_class, message)
        self._harvest.done(scope, CLUSTER_GROUPS, CLUSTER_GROUP, [r.uid for r in details.records], note)

    async def _profiles(self, scope: str) -> None:
        found = await self._guard(scope, CLUSTER_PROFILES, lists.cluster_profiles(self.client, scope))
        if found is not None:
            self._harvest.profiles.extend(found)
            self._harvest.done(scope, CLUSTER_PROFILES, CLUSTER_PROFILE, [p.uid for p in found], None)

    def _stats(self, before: Mapping[str, Mapping[str, float]], started: float) -> RunStats:
        return run_stats(before, self.client.stats.snapshot(), time.monotonic() - started)

    def _output(
        self,
        projects: list[ProjectSummary],
        before: Mapping[str, Mapping[str, float]],
        started: float,
        scopes: frozenset[str] | None = None,
    ) -> CrawlOutput:
        h = self._harvest
        inventory = InstanceInventory(
            instance=self.request.instance,
            palette_url=self.request.palette_url,
            console_url=self.request.console_url,
            projects=projects,
            clusters=h.clusters,
            virtual_clusters=h.virtual,
            cluster_groups=h.groups,
            profiles=h.profiles,
            part_of=h.part_of,
        )
        held = hold_dependents(inventory, h.outcomes)
        waiting = sorted(key for key, o in held.items() if o.ok != h.outcomes[key].ok)
        if waiting:
            log.warning(
                "crawl.parts_held", instance=self.request.instance, parts=[f"{s}/{k}" for s, k in waiting]
            )
        h.outcomes = held
        if scopes is not None:
            h.only(scopes)  # the context's own outcomes are not this run's to report
        outcomes = [h.outcomes[key] for key in sorted(h.outcomes)]
        stats = self._stats(before, started)
        return CrawlOutput(inventory, outcomes, stats, h.fresh, h.stale, scopes=scopes)
