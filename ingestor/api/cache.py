"""Catalog bodies built once per snapshot: YAML/JSON bytes, their gzip and strong ETags, keyed by versions.

A request costs a dict lookup while no instance's ``snapshot_version`` changed: versions are re-read at most
every ``version_ttl`` seconds (other replicas' commits) and at once after a crawl here (``invalidate``).
Imports ``store`` (reads only), ``catalog.render`` and ``api.errors``; no SQL here.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from ingestor.api.errors import NotFoundError, NotReadyError
from ingestor.catalog.render import render_json, render_yaml
from ingestor.store import queries
from ingestor.store.db import Database
from ingestor.store.rows import EntityRow

log = structlog.get_logger(__name__)

Format = Literal["yaml", "json"]
MEDIA_TYPES: dict[Format, str] = {"yaml": "application/yaml", "json": "application/json"}
GZIP_LEVEL = 6
RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class Filters:
    """What a catalog URL selects: instance keys (never empty), and optional project and kind filters."""

    instances: tuple[str, ...]
    projects: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Body:
    """One rendered catalog body and its gzip, each with its strong ETag (quoted sha256 of the bytes)."""

    media_type: str
    data: bytes
    etag: str
    gzipped: bytes
    gzip_etag: str
    entities: int


@dataclass(frozen=True)
class InstanceView:
    """An instance's snapshot as the cache last saw it."""

    version: int
    has_snapshot: bool


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest() + '"'


def build_body(rows: Sequence[EntityRow], filters: Filters, fmt: Format) -> Body:
    """Render the selected entities (stable order: instance, then entity ref) and compress them once."""
    selected = select_rows(rows, filters)
    bodies = [row.body for row in selected]
    data = render_yaml(bodies) if fmt == "yaml" else render_json(bodies)
    # mtime=0: the same bytes give the same gzip, so its ETag is as stable as the body's.
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return Body(MEDIA_TYPES[fmt], data, etag_of(data), packed, etag_of(packed), len(selected))


def select_rows(rows: Iterable[EntityRow], filters: Filters) -> list[EntityRow]:
    """Rows of the filter's instances, projects (uid, entity name or Palette name) and kinds, in order."""
    wanted = set(filters.instances)
    rows = sorted((r for r in rows if r.instance in wanted), key=lambda r: (r.instance, r.ref))
    if filters.projects:
        uids = project_uids(rows, filters.projects)
        rows = [r for r in rows if r.project_uid is not None and (r.instance, r.project_uid) in uids]
    if filters.kinds:
        kinds = {k.lower() for k in filters.kinds}
        rows = [r for r in rows if kinds & _kind_names(r)]
    return rows


def project_uids(rows: Iterable[EntityRow], projects: Iterable[str]) -> set[tuple[str, str]]:
    """``(instance, project uid)`` pairs named by uid, System entity name or Palette project name."""
    names = {p.lower() for p in projects}
    found: set[tuple[str, str]] = set()
    for row in rows:
        if row.project_uid is None:
            continue
        if row.project_uid.lower() in names:
            found.add((row.instance, row.project_uid))
        elif row.palette_kind == "project":
            meta = row.body.get("metadata", {})
            if {str(meta.get("name", "")).lower(), str(meta.get("title", "")).lower()} & names:
                found.add((row.instance, row.project_uid))
    return found


def _kind_names(row: EntityRow) -> set[str]:
    """A row matches ``kind=`` by Backstage kind, Palette kind or ``spec.type`` (case-insensitive)."""
    spec = row.body.get("spec")
    kind_type = spec.get("type") if isinstance(spec, Mapping) else None
    names = {row.kind.lower(), row.palette_kind.lower()}
    if isinstance(kind_type, str):
        names.add(kind_type.lower())
    return names


class CatalogCache:
    """Per-snapshot catalog bodies for the enabled instances, shared by every request of one process."""

    def __init__(
        self,
        db: Database,
        instances: Sequence[str],
        *,
        version_ttl: float = 1.0,
        max_entries: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.instances = tuple(instances)
        self._folded = {name.lower(): name for name in self.instances}
        self.version_ttl = version_ttl
        self.max_entries = max_entries
        self._clock = clock
        self._views: dict[str, InstanceView] | None = None
        self._views_at = 0.0
        self._views_task: asyncio.Task[dict[str, InstanceView]] | None = None
        self._last_views: dict[str, InstanceView] | None = None
        self._generation = 0
        self._bodies: OrderedDict[tuple[Any, ...], Body] = OrderedDict()
        self._pending: dict[tuple[Any, ...], asyncio.Task[tuple[tuple[Any, ...], Body]]] = {}
        self.builds = 0

    def resolve(self, names: Iterable[str]) -> tuple[str, ...]:
        """Instance keys for the names of a request (case-insensitive); ``NotFoundError`` for unknown ones."""
        keys: list[str] = []
        for name in names:
            key = self._folded.get(name.strip().lower())
            if key is None:
                raise NotFoundError(f"unknown instance '{name.strip()}'")
            keys.append(key)
        return tuple(sorted(set(keys))) if keys else tuple(sorted(self.instances))

    def invalidate(self) -> None:
        """Forget the versions seen (a crawl committed): the next request re-reads them."""
        self._views = None
        self._generation += 1

    async def views(self) -> dict[str, InstanceView]:
        """``snapshot_version`` and snapshot presence per instance, re-read at most every ``version_ttl``.

        While the database is unreachable the last versions seen keep serving the cached bodies.
        """
        views = self._views
        if views is not None and self._clock() - self._views_at < self.version_ttl:
            return views
        if self._views_task is None or self._views_task.done():
            self._views_task = asyncio.ensure_future(self._read_views())
        task = self._views_task
        try:
            return await asyncio.shield(task)
        except Exception as exc:
            if self._last_views is None:
                raise _unreachable(exc) from None
            log.warning("catalog.versions_unavailable", error_class=type(exc).__name__)
            return self._last_views
        finally:
            if task.done() and self._views_task is task:
                self._views_task = None

    async def _read_views(self) -> dict[str, InstanceView]:
        started, generation = self._clock(), self._generation
        states = await self.db.run(queries.instance_states)
        views = {s.instance: InstanceView(s.snapshot_version, s.has_snapshot) for s in states}
        self._last_views = views
        if generation == self._generation:  # an invalidation during the read makes this read stale
            self._views, self._views_at = views, started
        return views

    async def body(self, filters: Filters, fmt: Format) -> Body:
        """The body for ``filters``; ``NotReadyError`` (503) while any selected instance has no snapshot."""
        if not filters.instances:
            raise NotReadyError(
                "no Palette instance is enabled for the catalog", retry_after=RETRY_AFTER_SECONDS
            )
        views = await self.views()
        missing = [i for i in filters.instances if not (i in views and views[i].has_snapshot)]
        if missing:
            names = ", ".join(f"'{m}'" for m in missing)
            raise NotReadyError(
                f"no snapshot yet for instance {names}; the first crawl has not completed",
                retry_after=RETRY_AFTER_SECONDS,
            )
        key = (fmt, filters, tuple(views[i].version for i in filters.instances))
        found = self._bodies.get(key)
        if found is not None:
            self._bodies.move_to_end(key)
            return found
        return await self._build(key, filters, fmt)

    async def _build(self, key: tuple[Any, ...], filters: Filters, fmt: Format) -> Body:
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._read_and_render(filters, fmt))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        try:
            built_key, body = await asyncio.shield(task)
        except Exception as exc:
            raise _unreachable(exc) from None
        if built_key != key:
            self.invalidate()  # a crawl committed while we read: refresh versions on the next request
        return body

    async def _read_and_render(self, filters: Filters, fmt: Format) -> tuple[tuple[Any, ...], Body]:
        only = filters.instances[0] if len(filters.instances) == 1 else None
        started = time.perf_counter()
        snapshot = await self.db.run(queries.current_entities, only)
        body = await asyncio.to_thread(build_body, snapshot.entities, filters, fmt)
        key = (fmt, filters, tuple(snapshot.versions.get(i, 0) for i in filters.instances))
        self._remember(key, body)
        self.builds += 1
        log.info(
            "catalog.body_built",
            format=fmt,
            instances=list(filters.instances),
            entities=body.entities,
            bytes=len(body.data),
            gzip_bytes=len(body.gzipped),
            seconds=round(time.perf_counter() - started, 3),
        )
        return key, body

    def _remember(self, key: tuple[Any, ...], body: Body) -> None:
        self._bodies[key] = body
        self._bodies.move_to_end(key)
        # Bodies of older versions of the same selection are dead: drop them first, then the least used.
        for old in [k for k in self._bodies if k[:2] == key[:2] and k != key]:
            del self._bodies[old]
        while len(self._bodies) > self.max_entries:
            self._bodies.popitem(last=False)


def _unreachable(exc: BaseException, message: str = "the snapshot store is not reachable") -> NotReadyError:
    log.error("catalog.store_unavailable", error_class=type(exc).__name__, exc_info=exc)
    return NotReadyError(message, retry_after=RETRY_AFTER_SECONDS)
