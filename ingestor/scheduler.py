"""Periodic, manual and project crawls: one APScheduler job and one SQL lease per instance, bounded
concurrency.

Never two crawls of one instance at once (a per-instance lock here, a lease row across replicas); replicas on
one database crawl each instance once per interval (the lease holder skips when a run started recently).
Project crawls (``crawl_project``, after a creation) queue behind whatever crawl of the instance is running
and coalesce. Observers (``add_observer``: the metrics) hear every crawl's progress, Palette calls and end;
``running_crawl`` tells how far a crawl here is. Imports ``config``, ``crawl.service`` (lazily) and
``store``; only ``api`` and ``cli`` import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import structlog

# APScheduler 3 ships no type information; its use is confined to this module.
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from ingestor.config import EnvironmentSettings, Settings
from ingestor.store import lease, queries
from ingestor.store.db import Database, instance_key, utcnow
from ingestor.store.writer import FULL_TRIGGERS, PROJECT_TRIGGER, CommitResult

if TYPE_CHECKING:
    from ingestor.crawl.service import CallEvent, CrawlObserver, CrawlProgress

log = structlog.get_logger(__name__)
T = TypeVar("T")

Trigger = Literal["schedule", "manual", "start"]
TriggerState = Literal["started", "running", "busy"]
STOP_GRACE_SECONDS = 10.0
PROJECT_RETRY_SECONDS = 2.0
"""How long a project crawl waits before asking again for a lease another replica holds."""
PROJECT_WAIT_SECONDS = 600.0
"""How long a project crawl keeps asking for a lease held elsewhere before it gives up (the other replica's
crawl, or the next scheduled one, then covers the project)."""


class CrawlFn(Protocol):
    """``crawl.service.run_crawl``'s shape: crawl one instance and commit; never raises for a failed crawl."""

    def __call__(
        self, settings: Settings, env: EnvironmentSettings, db: Database, *, trigger: str, replica_id: str
    ) -> Awaitable[CommitResult]: ...


class ProjectCrawlFn(Protocol):
    """``run_crawl(..., trigger="project", only_projects=...)``'s shape: a project-scoped crawl and commit."""

    def __call__(
        self,
        settings: Settings,
        env: EnvironmentSettings,
        db: Database,
        *,
        project_uids: frozenset[str],
        replica_id: str,
    ) -> Awaitable[CommitResult]: ...


@dataclass(frozen=True)
class CrawlReport:
    """How a crawl here ended: ``ok``, ``partial`` or ``failed`` (its run's status), ``cancelled`` (stopped,
    or the lease was lost) or ``error`` (the crawl function raised)."""

    instance: str
    trigger: str
    outcome: str
    seconds: float


@dataclass(frozen=True)
class RunningCrawl:
    """A crawl running here: since when, and how far (``scopes_total`` is ``None`` until the crawl has
    listed the projects, and stays so for crawl functions that report no progress)."""

    started_at: datetime
    trigger: str
    scopes_done: int = 0
    scopes_total: int | None = None
    current_projects: tuple[str, ...] = ()


class SchedulerObserver(Protocol):
    """What ``add_observer`` takes: a ``CrawlObserver`` that also hears how each crawl ended."""

    def crawl_progress(self, instance: str, progress: CrawlProgress) -> None: ...

    def palette_call(self, instance: str, event: CallEvent) -> None: ...

    def crawl_finished(self, report: CrawlReport) -> None: ...


ProjectCrawl = asyncio.Future[CommitResult | None]
"""Resolves when a project crawl requested by ``crawl_project`` has run (never with an exception)."""


class UnknownInstanceError(LookupError):
    """No enabled instance has that name."""


def catalog_environments(settings: Settings) -> list[EnvironmentSettings]:
    """The environments crawled into the catalog (``spectrocloud.enabled``, ``catalogProvider.enabled``)."""
    if not settings.spectrocloud.enabled:
        return []
    return [env for env in settings.spectrocloud.environments if env.catalog_provider.enabled]


def lease_name(instance: str) -> str:
    return f"crawl:{instance}"


def default_replica_id() -> str:
    """``<host>-<pid>-<random>``: unique per process, readable on the status page."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def min_gap_seconds(interval: float, jitter: float) -> float:
    """How long after a run's start a scheduled crawl is redundant: a replica's own runs come ``interval -
    jitter`` apart at the least, and another replica's tick inside that window finds the run and skips."""
    return max(interval / 2, interval - jitter - 1)


@dataclass(frozen=True)
class TriggerResult:
    """What a trigger did: ``started``, ``running`` (here, already) or ``busy`` (another replica crawls)."""

    instance: str
    state: TriggerState
    holder: str | None


@dataclass
class _Instance:
    """One instance's runtime state in this process."""

    env: EnvironmentSettings
    key: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[CommitResult | None] | None = None
    last_result: CommitResult | None = None
    last_skip: str | None = None
    waiting: dict[str, list[ProjectCrawl]] = field(default_factory=dict)
    """Project uid -> the requests waiting for a project crawl that starts after them."""
    drainer: asyncio.Task[None] | None = None
    """Runs the waiting project crawls, one batch at a time."""
    running: RunningCrawl | None = None

    @property
    def crawling(self) -> bool:
        """A crawl of the whole instance is running (or waiting for the lock) here."""
        return self.task is not None and not self.task.done()

    @property
    def busy(self) -> bool:
        """Any crawl of the instance runs here (a project crawl holds the lock while it runs)."""
        return self.lock.locked() or self.crawling


async def _default_crawl(
    settings: Settings,
    env: EnvironmentSettings,
    db: Database,
    *,
    trigger: str,
    replica_id: str,
    observer: CrawlObserver | None = None,
) -> CommitResult:
    from ingestor.crawl.service import run_crawl

    return await run_crawl(settings, env, db, trigger=trigger, replica_id=replica_id, observer=observer)


async def _default_project_crawl(
    settings: Settings,
    env: EnvironmentSettings,
    db: Database,
    *,
    project_uids: frozenset[str],
    replica_id: str,
    observer: CrawlObserver | None = None,
) -> CommitResult:
    from ingestor.crawl.service import run_crawl

    return await run_crawl(
        settings,
        env,
        db,
        trigger=PROJECT_TRIGGER,
        replica_id=replica_id,
        only_projects=project_uids,
        observer=observer,
    )


class _Observers:
    """The observers of this scheduler, one ``CrawlObserver`` for the crawls; progress is kept for
    ``running_crawl`` too. A failing observer is logged and skipped, never fails a crawl."""

    def __init__(self, instances: dict[str, _Instance]) -> None:
        self._instances = instances
        self.observers: list[SchedulerObserver] = []

    def crawl_progress(self, instance: str, progress: CrawlProgress) -> None:
        inst = self._instances.get(instance)
        if inst is not None and inst.running is not None:
            inst.running = replace(
                inst.running,
                scopes_done=progress.scopes_done,
                scopes_total=progress.scopes_total,
                current_projects=progress.current,
            )
        self._each("crawl_progress", instance, progress)

    def palette_call(self, instance: str, event: CallEvent) -> None:
        self._each("palette_call", instance, event)

    def crawl_finished(self, report: CrawlReport) -> None:
        self._each("crawl_finished", report)

    def _each(self, method: str, *args: Any) -> None:
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception as exc:
                log.warning("scheduler.observer_failed", method=method, error_class=type(exc).__name__)


def _detached(coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """A task for background work started from a request: without the request's log context
    (``request_id``), so a crawl's lines are not taken for the request's."""
    context = contextvars.copy_context()
    context.run(structlog.contextvars.clear_contextvars)
    return asyncio.create_task(coro, name=name, context=context)


class CrawlScheduler:
    """Owns every crawl of this process. ``await start()`` inside the event loop, ``await stop()`` to end."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        replica_id: str | None = None,
        crawl: CrawlFn | None = None,
        renew_every: float | None = None,
        project_crawl: ProjectCrawlFn | None = None,
        project_retry_seconds: float = PROJECT_RETRY_SECONDS,
        project_wait_seconds: float = PROJECT_WAIT_SECONDS,
    ) -> None:
        self.settings = settings
        self.db = db
        self.replica_id = replica_id or default_replica_id()
        self._instances = {
            instance_key(env.name): _Instance(env, instance_key(env.name))
            for env in catalog_environments(settings)
        }
        self._observers = _Observers(self._instances)
        # Crawl functions given by tests report no progress and no Palette calls; their ends are reported.
        self._crawl: CrawlFn = crawl or partial(_default_crawl, observer=self._observers)
        self._project_crawl: ProjectCrawlFn = project_crawl or partial(
            _default_project_crawl, observer=self._observers
        )
        self.project_retry_seconds = project_retry_seconds
        self.project_wait_seconds = project_wait_seconds
        self._stopping = False
        self.lease_seconds = float(settings.scheduler.lease_seconds)
        self.renew_every = renew_every if renew_every is not None else self.lease_seconds / 3
        self._slots = asyncio.Semaphore(settings.scheduler.max_concurrent_crawls)
        self._apscheduler: Any = None
        self._listeners: list[Callable[[str, CommitResult], None]] = []
        self.started_at: datetime | None = None

    def __repr__(self) -> str:
        return f"CrawlScheduler(replica={self.replica_id!r}, instances={list(self._instances)})"

    @property
    def instances(self) -> list[str]:
        return list(self._instances)

    def environment(self, instance: str) -> EnvironmentSettings:
        return self._get(instance).env

    def add_listener(self, listener: Callable[[str, CommitResult], None]) -> None:
        """Call ``listener(instance, result)`` after every crawl run here (e.g. cache invalidation)."""
        self._listeners.append(listener)

    def add_observer(self, observer: SchedulerObserver) -> None:
        """Tell ``observer`` of every crawl's progress and Palette calls, and how it ended (the metrics)."""
        self._observers.observers.append(observer)

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Schedule one job per instance (``scheduler.enabled``) and the start-up crawls (``runOnStart``)."""
        options = self.settings.scheduler
        self.started_at = utcnow()
        self._stopping = False
        if not options.enabled:
            log.info("scheduler.disabled", instances=self.instances)
            return
        # APScheduler logs every job submission at INFO; our own lines say what each crawl did.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._apscheduler = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        now = datetime.now(UTC)
        for key, inst in self._instances.items():
            interval = inst.env.catalog_provider.refresh_interval_seconds
            self._apscheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=interval, jitter=options.jitter_seconds or None, timezone=UTC),
                args=[key],
                id=lease_name(key),
                name=f"crawl {key or '(unnamed)'}",
                next_run_time=now + timedelta(seconds=interval),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=interval,
            )
        self._apscheduler.start()
        log.info("scheduler.started", replica=self.replica_id, instances=self.instances)
        if options.run_on_start:
            for inst in self._instances.values():
                self._spawn(inst, "start", check_interval=True)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop scheduling, let running crawls finish for ``grace`` seconds, then cancel them.

        A cancelled crawl commits nothing (its commit is one transaction) and records a failed run; project
        crawls still waiting resolve with ``None``.
        """
        self._stopping = True  # no new project crawls; waiting ones resolve with None
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=False)
            self._apscheduler = None
        tasks = [
            task
            for inst in self._instances.values()
            for task in (inst.task, inst.drainer)
            if task is not None and not task.done()
        ]
        if not tasks:
            return
        log.info("scheduler.stopping", running=len(tasks), grace=grace)
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.warning("scheduler.crawls_cancelled", count=len(pending))

    # --- triggers ---------------------------------------------------------------------------------

    async def trigger(self, instance: str, trigger: Trigger = "manual") -> TriggerResult:
        """Start a crawl now (no interval check) unless one runs here or another replica holds the lease."""
        inst = self._get(instance)
        if inst.crawling:
            return TriggerResult(inst.key, "running", self.replica_id)
        holder = await self.db.run(lease.holder_of, lease_name(inst.key))
        if holder is not None and holder != self.replica_id:
            return TriggerResult(inst.key, "busy", holder)
        if inst.crawling:  # another trigger won the race while we read the lease
            return TriggerResult(inst.key, "running", self.replica_id)
        self._spawn(inst, trigger, check_interval=False)
        return TriggerResult(inst.key, "started", self.replica_id)

    async def crawl_now(
        self, instance: str, trigger: Trigger = "manual", *, check_interval: bool = False
    ) -> CommitResult | None:
        """Crawl and wait; ``None`` when skipped (running here, lease elsewhere, crawled too recently).

        A project crawl running here is waited for, not a reason to skip."""
        inst = self._get(instance)
        if inst.crawling:
            return None
        return await self._spawn(inst, trigger, check_interval=check_interval)

    async def _tick(self, instance: str) -> None:
        """The APScheduler job: start a scheduled crawl in its own task and return at once."""
        inst = self._instances.get(instance)
        if inst is None:
            return
        if inst.crawling:  # only a crawl of the whole instance skips a tick; a project crawl is waited for
            inst.last_skip = "a crawl of this instance was still running"
            log.info("scheduler.skipped", instance=instance, reason=inst.last_skip)
            return
        self._spawn(inst, "schedule", check_interval=True)

    async def crawl_project(self, instance: str, project_uid: str) -> ProjectCrawl:
        """Crawl one project of ``instance`` soon (after a creation there); returns at once.

        The project crawl fetches that project's parts (and the context their mapping reads) and commits
        only them (``run_crawl(only_projects=...)``, trigger ``project``); listeners fire after it commits,
        as for any crawl. It starts now if no crawl of the instance runs; otherwise right after the running
        one (which may have started before the creation), also when another replica holds the lease (asked
        again every ``project_retry_seconds`` for up to ``project_wait_seconds``). Requests waiting together
        run as one crawl; a request made while its project is being crawled gets a crawl of its own after.

        Returns a future (awaiting it is optional) that resolves with that run's ``CommitResult``, or with
        ``None`` if it could not run (lease never free, scheduler stopping, unexpected error); it never
        raises. Raises ``UnknownInstanceError`` for an instance that is not crawled, ``ValueError`` for an
        empty project uid.
        """
        inst = self._get(instance)
        if not project_uid:
            raise ValueError("a project uid is required")
        done: ProjectCrawl = asyncio.get_running_loop().create_future()
        if self._stopping:
            done.set_result(None)
            return done
        inst.waiting.setdefault(project_uid, []).append(done)
        if inst.drainer is None or inst.drainer.done():
            inst.drainer = _detached(self._drain(inst), name=f"project-crawl:{inst.key}")
        log.info("scheduler.project_crawl_requested", instance=inst.key, project=project_uid)
        return done

    async def _drain(self, inst: _Instance) -> None:
        """Run waiting project crawls one batch at a time until none waits; never raises but cancels."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.project_wait_seconds
        batch: dict[str, list[ProjectCrawl]] = {}
        try:
            while inst.waiting:
                async with inst.lock, self._slots:
                    batch, inst.waiting = inst.waiting, {}
                    ran, result = await self._project_once(inst, frozenset(batch))
                if ran or loop.time() >= give_up:
                    if not ran:
                        log.warning(
                            "scheduler.project_crawl_abandoned", instance=inst.key, projects=sorted(batch)
                        )
                    _resolve(batch, result)
                    batch = {}
                    give_up = loop.time() + self.project_wait_seconds
                    continue
                for uid, futures in inst.waiting.items():  # requests made meanwhile join the batch
                    batch.setdefault(uid, []).extend(futures)
                inst.waiting, batch = batch, {}
                await asyncio.sleep(self.project_retry_seconds)
        except asyncio.CancelledError:  # stopped: nobody waits forever
            waiting, inst.waiting = inst.waiting, {}
            _resolve(batch, None)
            _resolve(waiting, None)
            raise

    async def _project_once(self, inst: _Instance, uids: frozenset[str]) -> tuple[bool, CommitResult | None]:
        """One project crawl holding the lease: ``(ran, result)``; ``ran`` is false when the lease is
        elsewhere (or could not be read), so the caller asks again later."""
        name = lease_name(inst.key)
        try:
            taken = await self.db.run(lease.try_acquire, name, self.replica_id, self.lease_seconds)
        except Exception as exc:
            log.warning("scheduler.project_lease_failed", instance=inst.key, error_class=type(exc).__name__)
            return False, None
        if not taken:
            log.info(
                "scheduler.project_crawl_waits", instance=inst.key, reason="another replica holds the lease"
            )
            return False, None
        try:

            def start() -> Awaitable[CommitResult]:
                return self._project_crawl(
                    self.settings, inst.env, self.db, project_uids=uids, replica_id=self.replica_id
                )

            return True, await self._crawl_holding(inst, name, start, PROJECT_TRIGGER, scoped=True)
        except Exception as exc:  # like a full crawl: never an unobserved exception
            log.error(
                "scheduler.crawl_error", instance=inst.key, error_class=type(exc).__name__, exc_info=exc
            )
            return True, None
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.db.run(lease.release, name, self.replica_id))

    def _spawn(
        self, inst: _Instance, trigger: Trigger, *, check_interval: bool
    ) -> asyncio.Task[CommitResult | None]:
        task = _detached(self._run(inst, trigger, check_interval), name=f"crawl:{inst.key}")
        inst.task = task
        return task

    # --- one crawl ----------------------------------------------------------------------------------

    async def _run(self, inst: _Instance, trigger: Trigger, check_interval: bool) -> CommitResult | None:
        async with inst.lock, self._slots:
            name = lease_name(inst.key)
            try:
                taken = await self.db.run(lease.try_acquire, name, self.replica_id, self.lease_seconds)
            except Exception as exc:
                self._skip(inst, f"the lease could not be taken ({type(exc).__name__})")
                return None
            if not taken:
                self._skip(inst, "another replica holds the crawl lease")
                if check_interval:
                    self._look_again(inst)
                return None
            try:
                if check_interval and await self._recently_crawled(inst):
                    self._skip(
                        inst, "a crawl started within the interval (another replica's, or before a restart)"
                    )
                    return None

                def start() -> Awaitable[CommitResult]:
                    return self._crawl(
                        self.settings, inst.env, self.db, trigger=trigger, replica_id=self.replica_id
                    )

                return await self._crawl_holding(inst, name, start, trigger)
            except Exception as exc:  # a crawl task never dies with an unobserved exception
                log.error(
                    "scheduler.crawl_error", instance=inst.key, error_class=type(exc).__name__, exc_info=exc
                )
                self._skip(inst, f"the crawl could not run ({type(exc).__name__})")
                return None
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.db.run(lease.release, name, self.replica_id))

    def _skip(self, inst: _Instance, reason: str) -> None:
        inst.last_skip = reason
        log.info("scheduler.skipped", instance=inst.key, reason=reason)

    def _look_again(self, inst: _Instance) -> None:
        """A scheduled crawl found the lease held elsewhere: tick again in ``renew_every`` seconds (unless the
        regular tick comes first). The holder's recorded run makes that tick skip; a holder that died
        mid-crawl recorded none, so a live replica takes over once the dead one's lease has expired."""
        if self._apscheduler is None:
            return
        when = datetime.now(UTC) + timedelta(seconds=self.renew_every)
        regular = self.next_run_at(inst.key)
        if regular is not None and regular <= when:
            return
        self._apscheduler.add_job(
            self._tick,
            "date",
            run_date=when,
            args=[inst.key],
            id=f"{lease_name(inst.key)}:again",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _recently_crawled(self, inst: _Instance) -> bool:
        last = await self.db.run(partial(queries.last_run, triggers=FULL_TRIGGERS), inst.key)
        if last is None:
            return False
        interval = inst.env.catalog_provider.refresh_interval_seconds
        gap = min_gap_seconds(interval, self.settings.scheduler.jitter_seconds)
        return (utcnow() - last.started_at).total_seconds() < gap

    async def _crawl_holding(
        self,
        inst: _Instance,
        name: str,
        start: Callable[[], Awaitable[CommitResult]],
        trigger: str,
        *,
        scoped: bool = False,
    ) -> CommitResult | None:
        """Run a crawl while renewing the lease ``name``, then tell the listeners and observers. A project
        crawl (``scoped``) leaves ``last_skip``/``last_result`` to the crawls of the whole instance."""
        began = time.monotonic()
        inst.running = RunningCrawl(utcnow(), trigger)
        crawl = asyncio.ensure_future(start())
        renewer = asyncio.create_task(self._keep_lease(inst, name, crawl))
        if not scoped:
            inst.last_skip = None
        outcome = "error"  # the crawl function raised (``run_crawl`` never does)
        try:
            result = await crawl
            outcome = result.status
        except asyncio.CancelledError:
            outcome = "cancelled"
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # we are being stopped
            reason = "the crawl lease was lost to another replica; the crawl was cancelled"
            if scoped:
                log.warning("scheduler.project_crawl_lost_lease", instance=inst.key)
            else:
                self._skip(inst, reason)
            return None
        finally:
            renewer.cancel()
            inst.running = None
            if not crawl.done():
                crawl.cancel()
                with contextlib.suppress(BaseException):
                    await crawl
            seconds = time.monotonic() - began
            self._observers.crawl_finished(CrawlReport(inst.key, trigger, outcome, seconds))
        if not scoped:
            inst.last_result = result
        for listener in self._listeners:
            try:
                listener(inst.key, result)
            except Exception as exc:
                log.error("scheduler.listener_failed", instance=inst.key, error_class=type(exc).__name__)
        return result

    async def _keep_lease(self, inst: _Instance, name: str, crawl: asyncio.Future[Any]) -> None:
        """Renew the lease during a long crawl; if another replica took it over, cancel the crawl."""
        while not crawl.done():
            await asyncio.sleep(self.renew_every)
            try:
                kept = await self.db.run(lease.renew, name, self.replica_id, self.lease_seconds)
            except Exception as exc:  # the database may come back before the lease expires
                log.warning(
                    "scheduler.lease_renewal_failed", instance=inst.key, error_class=type(exc).__name__
                )
                continue
            if not kept:
                log.error("scheduler.lease_lost", instance=inst.key)
                crawl.cancel()
                return

    # --- status -----------------------------------------------------------------------------------

    def next_run_at(self, instance: str) -> datetime | None:
        """When the next scheduled crawl of ``instance`` fires (``None`` when the scheduler is off)."""
        if self._apscheduler is None:
            return None
        job = self._apscheduler.get_job(lease_name(self._get(instance).key))
        when = None if job is None else job.next_run_time
        return when if isinstance(when, datetime) else None

    def running(self, instance: str) -> bool:
        return self._get(instance).busy

    def last_skip(self, instance: str) -> str | None:
        return self._get(instance).last_skip

    def running_crawl(self, instance: str) -> RunningCrawl | None:
        """The crawl of ``instance`` running here now, with its progress (``None`` when none runs)."""
        return self._get(instance).running

    async def project_crawls_idle(self, instance: str) -> None:
        """Wait until no project crawl of ``instance`` is waiting or running here (tests, shutdown)."""
        inst = self._get(instance)
        while inst.drainer is not None and not inst.drainer.done():
            await asyncio.wait({inst.drainer})

    def _get(self, instance: str) -> _Instance:
        inst = self._instances.get(instance)
        if inst is None:
            folded = {key.lower(): value for key, value in self._instances.items()}
            inst = folded.get(instance.lower())
        if inst is None:
            raise UnknownInstanceError(instance)
        return inst


def _resolve(requests: dict[str, list[ProjectCrawl]], result: CommitResult | None) -> None:
    """Answer every request of a batch (those already answered or cancelled are skipped)."""
    for futures in requests.values():
        for future in futures:
            if not future.done():
                future.set_result(result)
