"""``run_crawl``: crawl one instance, map it, commit it in one transaction; never raises into a scheduler.

Every outcome is recorded as a run: a crawl that could not list projects, a mapping or commit that
failed, or a cancelled crawl becomes a ``failed`` run and the previous snapshot stays as it was.
With ``only_projects`` it is a project-scoped crawl: only those projects' parts are evaluated and written.
An optional ``CrawlObserver`` hears the crawl's progress and each of its Palette calls as they happen.
Imports ``crawl``, ``catalog``, ``store`` and ``config``; the scheduler and the CLI call it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Protocol

import structlog

from ingestor.catalog import MappingResult, PartKey, Problem, map_inventory
from ingestor.catalog.inventory import CLUSTER_PROFILE
from ingestor.config import EnvironmentSettings, Settings
from ingestor.crawl.crawler import Crawler, CrawlOutput, CrawlRequest
from ingestor.crawl.crawler import CrawlProgress as CrawlProgress
from ingestor.crawl.details import GROUP, CachedPayload
from ingestor.crawl.failure import CrawlCancelledError, Failure, describe
from ingestor.crawl.request import crawl_request, mapping_options, palette_client, removal_policy, retention
from ingestor.crawl.snapshot import PartOutcome, RunStats
from ingestor.palette.client import PaletteClient
from ingestor.palette.stats import CallEvent as CallEvent
from ingestor.store import queries
from ingestor.store.db import Database, instance_key, utcnow
from ingestor.store.writer import CommitResult, DetailCacheEntry, RunRecord, commit_run

log = structlog.get_logger(__name__)

PROBLEM_SAMPLES = 5
PROJECT_NOT_FOUND = "ProjectNotFoundError"
CANCEL_RECORD_SECONDS = 5.0
"""How long a cancelled crawl may spend recording its failed run before giving up."""


class CrawlObserver(Protocol):
    """Hears a running crawl (the scheduler fans it out to the status page and the metrics). Called on the
    crawl's event loop; must be quick and should not raise (a failure is logged, never fails the crawl)."""

    def crawl_progress(self, instance: str, progress: CrawlProgress) -> None: ...

    def palette_call(self, instance: str, event: CallEvent) -> None: ...


@dataclass
class _Run:
    """One run: its inputs, and what is known so far (recorded if a later step fails)."""

    settings: Settings
    env: EnvironmentSettings
    db: Database
    trigger: str
    replica_id: str
    only: frozenset[str] | None = None
    """The projects a project-scoped crawl was asked for; ``None`` for a crawl of the whole instance."""
    observer: CrawlObserver | None = None
    started: datetime = field(default_factory=utcnow)
    outcomes: list[PartOutcome] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)
    committed: CommitResult | None = None
    scopes: frozenset[str] | None = None
    """What the store may evaluate: ``None`` (everything) for a full crawl; for a scoped one, nothing until
    the crawl found its projects."""

    def __post_init__(self) -> None:
        if self.only is not None:
            self.scopes = frozenset()

    @property
    def instance(self) -> str:
        return instance_key(self.env.name)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.env.api_token.get_secret_value(),)

    def record(
        self, status: str | None = None, failure: Failure | None = None, result: MappingResult | None = None
    ) -> RunRecord:
        return RunRecord(
            instance=self.instance,
            replica_id=self.replica_id,
            trigger=self.trigger,
            started_at=self.started,
            finished_at=max(utcnow(), self.started),
            stats=self.stats,
            status=status,
            error_class=failure.error_class if failure is not None else None,
            error_message=failure.message if failure is not None else None,
            problems=problem_records(result.problems) if result is not None else (),
        )


async def run_crawl(
    settings: Settings,
    env: EnvironmentSettings,
    db: Database,
    *,
    trigger: str,
    replica_id: str,
    client: PaletteClient | None = None,
    only_projects: Iterable[str] | None = None,
    observer: CrawlObserver | None = None,
) -> CommitResult:
    """Crawl ``env``, map and commit; failures come back as a recorded ``failed`` run, not an exception.

    ``client`` (tests, shared limiters) is used as given and not closed; otherwise one is built with the
    instance's ``apiToken``. Cancellation is re-raised after a best-effort failed run is recorded.

    ``only_projects`` (project uids) makes it a project-scoped crawl (trigger ``"project"``): those
    projects' parts are fetched with the context their mapping reads, mapped as a full crawl would map
    them, and only their parts are evaluated and written; every other entity, edge, profile version, hold
    and part state stays as it is. A project Palette no longer lists (or the project filters leave out)
    is not evaluated: nothing of it is removed, and the run is ``failed`` when none of them was found.

    ``observer`` hears the crawl's progress and every Palette exchange and retry while it runs.
    """
    only = None if only_projects is None else frozenset(only_projects)
    run = _Run(settings, env, db, trigger, replica_id, only, observer=observer)
    try:
        return await _crawl_and_commit(run, client)
    except asyncio.CancelledError:
        if run.committed is None:
            failure = describe(CrawlCancelledError("the crawl was cancelled before it committed"))
            log.warning("crawl.cancelled", instance=run.instance)
            with contextlib.suppress(BaseException):  # best effort: the cancellation wins
                await asyncio.wait_for(asyncio.shield(_record_failure(run, failure)), CANCEL_RECORD_SECONDS)
        raise
    except Exception as exc:
        failure = describe(exc, run.secrets)
        log.error("crawl.failed", instance=run.instance, error=failure.error_class, message=failure.message)
        return await _record_failure(run, failure)


async def _crawl_and_commit(run: _Run, client: PaletteClient | None) -> CommitResult:
    cached = await run.db.run(queries.cached_details, run.instance, GROUP)
    group_cache = {uid: CachedPayload(c.last_modified, c.payload) for uid, c in cached.items()}
    del cached
    request = replace(crawl_request(run.settings, run.env, group_cache), only_projects=run.only)
    output = await _crawl(run, client, request)
    if run.only is not None:
        run.scopes = output.scopes or frozenset()
    run.outcomes = list(output.outcomes)
    run.stats = replace(output.stats, stale_details=len(output.stale))
    if output.inventory is None:
        return await _commit(run, run.record("failed", output.failure), None, output)
    known = await run.db.run(queries.known_names, run.instance)
    options = mapping_options(run.settings, run.env)
    inventory, output.inventory = output.inventory, None  # let the summaries go once mapped
    partial = run.scopes is not None
    result = await asyncio.to_thread(map_inventory, inventory, options, known, partial=partial)
    if run.scopes is not None:
        result = replace(result, problems=_problems_in(result, inventory.part_of, run.scopes))
    del inventory, known
    _log_problems(run, result)
    return await _commit(run, run.record(None, _run_failure(run), result), result, output)


async def _crawl(run: _Run, client: PaletteClient | None, request: CrawlRequest) -> CrawlOutput:
    if client is not None:
        return await _observed(run, client, request)
    async with palette_client(run.settings, run.env) as own:
        return await _observed(run, own, request)


async def _observed(run: _Run, client: PaletteClient, request: CrawlRequest) -> CrawlOutput:
    """The crawl with ``run.observer`` told of its progress and of the client's calls meanwhile."""
    observer = run.observer
    if observer is None:
        return await Crawler(client, request).crawl()
    calls = partial(observer.palette_call, run.instance)
    client.stats.add_observer(calls)
    try:
        return await Crawler(client, request, progress=partial(observer.crawl_progress, run.instance)).crawl()
    finally:
        client.stats.remove_observer(calls)


async def _commit(
    run: _Run, record: RunRecord, result: MappingResult | None, output: CrawlOutput
) -> CommitResult:
    """One transaction on the store's thread. Once it started it is awaited to its end even when the
    crawl is cancelled meanwhile, so the run record never contradicts what was committed."""
    entries = [
        DetailCacheEntry(d.palette_kind, d.uid, d.last_modified, d.payload) for d in output.fresh_details
    ]
    commit = asyncio.ensure_future(
        run.db.run(
            commit_run,
            record,
            result,
            output.outcomes,
            policy=removal_policy(run.settings),
            detail_cache=entries,
            retention=retention(run.settings),
            scopes=run.scopes,
        )
    )
    try:
        run.committed = await asyncio.shield(commit)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            run.committed = await commit
        raise
    _log_finished(run, record, run.committed)
    return run.committed


def _log_finished(run: _Run, record: RunRecord, committed: CommitResult) -> None:
    log.info(
        "crawl.finished",
        instance=run.instance,
        status=committed.status,
        run_id=committed.run_id,
        added=committed.added,
        modified=committed.modified,
        removed=committed.removed,
        held=committed.held,
        calls=record.stats.calls,
        detail_calls=record.stats.detail_calls,
        stale_details=record.stats.stale_details,
        failed_parts=sum(1 for o in run.outcomes if not o.ok),
        duration=record.stats.duration_seconds,
        trigger=run.trigger,
        projects=None if run.only is None else sorted(run.only),
    )


async def _record_failure(run: _Run, failure: Failure) -> CommitResult:
    """A ``failed`` run with nothing applied; if even that cannot be written, a result with run id 0."""
    try:
        record = run.record("failed", failure)
        return await run.db.run(commit_run, record, None, list(run.outcomes), scopes=run.scopes)
    except Exception as exc:
        log.error("crawl.record_failed", instance=run.instance, error=describe(exc).error_class)
        return CommitResult(0, "failed", 0, 0, 0, 0, 0, 0)


def problem_records(problems: Sequence[Problem]) -> tuple[dict[str, str], ...]:
    """The mapping's problems as the run keeps them: left-out objects (``error``) before flagged ones."""
    ordered = sorted(problems, key=lambda p: (p.level != "error", p.palette_kind, p.key))
    return tuple(
        {"paletteKind": p.palette_kind, "key": p.key, "name": p.name, "reason": p.reason, "level": p.level}
        for p in ordered
    )


def _run_failure(run: _Run) -> Failure | None:
    """The run's error summary: its failed parts (a scoped run: of its projects), or no project found."""
    if run.scopes is None:
        return _failed_parts(run.outcomes)
    if not run.scopes:
        asked = ", ".join(sorted(run.only or ()))
        message = (
            f"project {asked} is not listed by Palette (deleted?) or is left out by the project filters; "
            "nothing was evaluated"
        )
        return Failure(PROJECT_NOT_FOUND, message)
    return _failed_parts([o for o in run.outcomes if o.scope in run.scopes])


def _problems_in(
    result: MappingResult, part_of: Mapping[tuple[str, str], PartKey], scopes: frozenset[str]
) -> list[Problem]:
    """A scoped run keeps the problems of its own projects' objects (not those of the context)."""
    parts: dict[tuple[str, str], PartKey] = dict(part_of)
    parts.update({(e.palette_kind, e.key): e.part for e in result.entities})

    def inside(problem: Problem) -> bool:
        part = parts.get((problem.palette_kind, problem.key))
        if part is None and problem.palette_kind == CLUSTER_PROFILE:  # "<scope>:<project uid>:<name>"
            project_uid = problem.key.partition(":")[2].partition(":")[0]
            return project_uid in scopes
        return part is not None and part[0] in scopes

    return [p for p in result.problems if inside(p)]


def _failed_parts(outcomes: Sequence[PartOutcome]) -> Failure | None:
    """The run's error summary when some parts failed: how many, and the first failure."""
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return None
    first = failed[0]
    where = f"{first.scope}/{first.kind}"
    message = f"{len(failed)} of {len(outcomes)} parts failed; first {where}: {first.error or ''}".strip()
    return Failure(first.error_class or "PartFailed", message)


def _log_problems(run: _Run, result: MappingResult) -> None:
    errors = [p for p in result.problems if p.level == "error"]
    if not errors:
        return
    log.warning(
        "crawl.objects_left_out",
        instance=run.instance,
        count=len(errors),
        samples=[f"{p.palette_kind} {p.key}: {p.reason}" for p in errors[:PROBLEM_SAMPLES]],
    )
