"""Console page: the profile explorer (``/profiles`` and ``/profiles/<instance>/<profile key>``).

A profile family, its versions and the clusters, virtual clusters and groups running each: the same store
read as the MCP tool ``find_spectrocloud_clusters_for_profile`` (``lookups.clusters_using_profile``), drawn as
a graph (``console.graph``) and listed in a paginated table. Imports console, store, mcp.resolve, logging.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Request, Response

from ingestor.console import graph
from ingestor.console.app import ConsoleDeps, page
from ingestor.console.identity import Operator
from ingestor.logging import redact_text
from ingestor.mcp.resolve import DEFAULT_PREFIX, annotation
from ingestor.store import lookups, queries
from ingestor.store.db import Database
from ingestor.store.rows import (
    EntityRow,
    HeldRow,
    InstanceState,
    PartStateRow,
    ProfileUsage,
    ProfileVersionRow,
)

log = structlog.get_logger(__name__)

PROFILE = "cluster-profile"
UNNAMED = "_"
"""The URL segment of an unnamed instance (names start with a letter or digit, so it never collides)."""
PAGE_SIZE = 100
"""Rows per page of the profile list and of a profile's users."""
MAX_GRAPH_USERS = graph.MAX_USERS
KIND_LABELS = {"cluster": "cluster", "virtual-cluster": "virtual cluster", "cluster-group": "cluster group"}
TENANT = "tenant"


# --- URLs ----------------------------------------------------------------------------------------


def instance_segment(instance: str) -> str:
    return quote(instance, safe="") if instance else UNNAMED


def profile_href(instance: str, key: str) -> str:
    return f"/profiles/{instance_segment(instance)}/{quote(key, safe='')}"


def entity_href(instance: str, palette_kind: str, ref: str) -> str:
    """The catalog page of the entity ``ref`` (``<kind>:<namespace>/<name>``): the catalog browser keys its
    pages by Palette kind (``cluster``, ``virtual-cluster``, ``cluster-group``, ``cluster-profile``)."""
    name = ref.rpartition("/")[2]
    return f"/entities/{instance_segment(instance)}/{quote(palette_kind, safe='')}/{quote(name, safe='')}"


def _query(**params: str | int | None) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == 1)}
    return "?" + urlencode(kept) if kept else "?"


# --- store reads (sync: run with ``db.run``) -----------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """What an instance's pages must say about its data: crawled yet, parts that failed, removals held."""

    instance: str
    state: InstanceState | None
    failed: list[tuple[PartStateRow, str | None]]
    """Parts whose last crawl failed, with the error of that crawl when still among the recent runs."""
    held: dict[str, HeldRow]
    projects: dict[str, str]
    """Project uid → title."""

    @property
    def crawled(self) -> bool:
        return self.state is not None and self.state.has_snapshot


def read_freshness(db: Database, instance: str) -> Freshness:
    parts = [p for p in queries.part_states(db, instance) if not p.ok]
    errors: dict[tuple[int, str, str], str] = {}
    if parts:
        for run in queries.recent_runs(db, instance, limit=20):
            for o in run.outcomes:
                if not o.ok:
                    text = ": ".join(t for t in (o.error_class, o.error) if t)
                    errors[(run.id, o.scope, o.kind)] = redact_text(text) if text else ""
    projects = {}
    for row in queries.current_entities(db, instance, palette_kind="project").entities:
        projects[row.key] = _title(row)
    return Freshness(
        instance=instance,
        state=queries.instance_state(db, instance),
        failed=[(p, errors.get((p.last_run_id, p.scope, p.kind))) for p in parts],
        held={h.ref: h for h in queries.held_removals(db, instance)},
        projects=projects,
    )


def read_families(db: Database, instances: Sequence[str]) -> list[tuple[Freshness, list[EntityRow]]]:
    """Every stored profile family of ``instances`` with each instance's freshness."""
    return [
        (read_freshness(db, name), queries.current_entities(db, name, palette_kind=PROFILE).entities)
        for name in instances
    ]


@dataclass(frozen=True)
class ProfileRead:
    fresh: Freshness
    profile: EntityRow | None
    versions: list[ProfileVersionRow]
    usages: list[ProfileUsage]


def read_profile(db: Database, instance: str, key: str, prefix: str) -> ProfileRead:
    """One family (by its key), its stored versions and the reverse lookup of the MCP tool."""
    fresh = read_freshness(db, instance)
    found = lookups.find_entities(db, [instance], PROFILE, key, limit=50)
    rows = [r for r in found.rows if r.key == key]
    if not rows and found.total > len(found.rows):
        rows = [
            r for r in queries.current_entities(db, instance, palette_kind=PROFILE).entities if r.key == key
        ]
    if not rows:
        return ProfileRead(fresh, None, [], [])
    usages = lookups.clusters_using_profile(db, instance, key, state_annotations=state_annotations(prefix))
    return ProfileRead(fresh, rows[0], queries.profile_versions(db, instance, key), usages)


def state_annotations(prefix: str) -> tuple[str, ...]:
    """As the MCP tool reads a user's state: under the configured prefix, then the default one."""
    return tuple(dict.fromkeys((f"{prefix}/state", f"{DEFAULT_PREFIX}/state")))


# --- shaping -------------------------------------------------------------------------------------


def _title(row: EntityRow) -> str:
    meta = row.body.get("metadata")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) and title else row.name


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def stale_reason(fresh: Freshness, ref: str, stale: bool, seen: datetime | None) -> str | None:
    """Why an entity is served from an older crawl (``None`` when it is not)."""
    if not stale:
        return None
    held = fresh.held.get(ref)
    if held is not None:
        return f"its removal is held back since {when(held.since)}: {redact_text(held.reason)}"
    return f"the last crawl of its part failed; shown as last confirmed at {when(seen)}"


def failed_parts(fresh: Freshness) -> list[dict[str, str]]:
    return [
        {
            "scope": "tenant" if p.scope == TENANT else f"project {fresh.projects.get(p.scope, p.scope)}",
            "kind": p.kind,
            "at": when(p.last_run_at),
            "last_ok": when(p.last_ok_at),
            "error": error or "",
        }
        for p, error in fresh.failed
    ]


@dataclass(frozen=True)
class Family:
    """A row of the profile list."""

    instance: str
    key: str
    title: str
    href: str
    scope: str
    project: str
    cloud_type: str
    profile_type: str
    latest: str
    uid: str
    versions: list[dict[str, str]]
    stale: str | None
    held: bool
    """Stale because its removal is held back (else, when stale, because its part failed)."""

    def matches(self, wanted: str) -> bool:
        folded = wanted.casefold()
        texts = (self.title, self.key, self.uid, *(v.get("uid", "") for v in self.versions))
        return any(folded in text.casefold() for text in texts)


def family_of(row: EntityRow, fresh: Freshness, prefix: str) -> Family:
    def note(name: str) -> str:
        return annotation(row.body, name, prefix) or ""

    try:
        versions = json.loads(note("profile-versions") or "[]")
    except ValueError:
        versions = []
    project = row.project_uid or ""
    return Family(
        instance=row.instance,
        key=row.key,
        title=_title(row),
        href=profile_href(row.instance, row.key),
        scope=note("scope") or ("project" if project else TENANT),
        project=fresh.projects.get(project, project),
        cloud_type=note("cloud-type"),
        profile_type=note("profile-type"),
        latest=note("latest-version") or note("version"),
        uid=note("profile-id") or row.key,
        versions=[v for v in versions if isinstance(v, dict)] if isinstance(versions, list) else [],
        stale=stale_reason(fresh, row.ref, row.stale, row.last_seen),
        held=row.ref in fresh.held,
    )


@dataclass(frozen=True)
class User:
    """One cluster, virtual cluster or group of the family (as the MCP tool lists it)."""

    ref: str
    uid: str
    name: str
    kind: str
    version: str
    version_uid: str
    state: str
    project: str
    crawled_at: str
    stale: str | None
    in_catalog: bool
    href: str


def users_of(usages: Sequence[ProfileUsage], fresh: Freshness) -> list[User]:
    """One item per user, the first version row winning (as ``tools_catalog.profile_users``)."""
    out: dict[str, User] = {}
    for u in usages:
        if u.src_ref in out:
            continue
        out[u.src_ref] = User(
            ref=u.src_ref,
            uid=u.src_uid,
            name=u.title or u.name or u.src_uid,
            kind=u.src_kind,
            version=u.version or "",
            version_uid=u.version_uid,
            state=u.state or "",
            project=fresh.projects.get(u.project_uid or "", u.project_uid or ""),
            crawled_at=when(u.seen_at),
            stale=stale_reason(fresh, u.src_ref, u.stale, u.seen_at),
            in_catalog=u.name is not None,
            href=entity_href(u.instance, u.src_kind, u.src_ref),
        )
    rank = {kind: i for i, kind in enumerate(graph.KIND_ORDER)}
    return sorted(out.values(), key=lambda x: (rank.get(x.kind, len(rank)), x.kind, x.name.casefold(), x.ref))


@dataclass(frozen=True)
class Version:
    uid: str
    version: str
    scope: str
    stored: bool
    users: int
    href: str


def versions_of(rows: Sequence[ProfileVersionRow], users: Sequence[User]) -> list[Version]:
    """The stored versions, plus any version a user runs that the store does not hold, newest last."""
    counts: dict[str, int] = {}
    for user in users:
        counts[user.version_uid] = counts.get(user.version_uid, 0) + 1
    found = {r.version_uid: (r.version or "", r.scope, True) for r in rows}
    for user in users:
        found.setdefault(user.version_uid, (user.version, "", False))
    out = [
        Version(uid, label, scope, stored, n, _query(version=uid) + "#users" if n else "#versions")
        for uid, (label, scope, stored) in found.items()
        for n in (counts.get(uid, 0),)
    ]
    return sorted(out, key=lambda v: (_natural(v.version), v.uid))


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def profile_graph(versions: Sequence[Version], users: Sequence[User]) -> graph.Layout:
    items = [
        graph.VersionItem(v.uid, f"{v.version or 'unknown version'} · {v.users} using", v.href)
        for v in versions
    ]
    people = [  # the project tells apart clusters of one name in several projects
        graph.UserItem(u.ref, _with_project(u), u.kind, u.version_uid, u.href, u.stale is not None)
        for u in users
    ]
    return graph.layout(
        items, people, more_href=lambda kind: _query(kind=kind) + "#users", max_users=MAX_GRAPH_USERS
    )


def _with_project(user: User) -> str:
    return f"{user.name} ({user.project})" if user.project else user.name


def _page_number(request: Request) -> int:
    try:
        return max(int(request.query_params.get("page", "1")), 1)
    except ValueError:
        return 1


def paginate(items: Sequence[Any], number: int) -> tuple[list[Any], int, int]:
    """``(items of page number, that page, page count)``; a page past the end shows the last page."""
    pages = max(math.ceil(len(items) / PAGE_SIZE), 1)
    number = min(number, pages)
    return list(items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]), number, pages


# --- routes --------------------------------------------------------------------------------------


def register(router: APIRouter, deps: ConsoleDeps) -> None:
    """Add this page's routes to the console router."""
    prefix = deps.settings.spectrocloud.annotation_prefix or DEFAULT_PREFIX

    def resolve(segment: str) -> str | None:
        """The configured instance named by a URL segment (case-insensitive), ``None`` when unknown."""
        if segment == UNNAMED:
            return "" if "" in deps.scheduler.instances else None
        return next((n for n in deps.scheduler.instances if n.lower() == segment.lower()), None)

    def fail(request: Request, operator: Operator, status: int, title: str, message: str) -> Response:
        return deps.render(request, operator, "message.html", status=status, title=title, message=message)

    def store_down(request: Request, operator: Operator, exc: Exception) -> Response:
        log.error("console.profiles_store_unavailable", error_class=type(exc).__name__)
        message = (
            f"The snapshot store could not be read ({type(exc).__name__}). Nothing is shown rather than "
            "partial data; /ready reports when the store answers again."
        )
        return fail(request, operator, 500, "Store unavailable", message)

    async def profiles(request: Request, operator: Operator) -> Response:
        params = request.query_params
        wanted, cloud = params.get("q", "").strip(), params.get("cloud", "")
        chosen = params.get("instance", "")
        names = deps.scheduler.instances
        if chosen:
            found = resolve(chosen)
            if found is None:
                return fail(request, operator, 404, "Unknown instance", "No such instance is crawled.")
            names = [found]
        try:
            read = await deps.db.run(read_families, names)
        except Exception as exc:  # any store failure: an error page, never a blank or empty one
            return store_down(request, operator, exc)
        families = [family_of(row, fresh, prefix) for fresh, rows in read for row in rows]
        clouds = sorted({f.cloud_type for f in families if f.cloud_type})
        shown = [
            f for f in families if (not wanted or f.matches(wanted)) and (not cloud or f.cloud_type == cloud)
        ]
        shown.sort(key=lambda f: (f.title.casefold(), f.instance, f.key))
        rows, number, pages = paginate(shown, _page_number(request))
        return deps.render(
            request,
            operator,
            "profiles.html",
            freshness=[(fresh, failed_parts(fresh), len(rows_)) for fresh, rows_ in read],
            families=rows,
            total=len(families),
            matched=len(shown),
            clouds=clouds,
            q=wanted,
            cloud=cloud,
            chosen=chosen,
            page_number=number,
            pages=pages,
            page_href=lambda n: _query(q=wanted, instance=chosen, cloud=cloud, page=n),
            when=when,
        )

    async def profile(request: Request, operator: Operator) -> Response:
        instance = resolve(request.path_params["instance"])
        key = request.path_params["key"]
        if instance is None:
            return fail(request, operator, 404, "Unknown instance", "No such instance is crawled.")
        try:
            read = await deps.db.run(read_profile, instance, key, prefix)
        except Exception as exc:  # any store failure: an error page, never a blank or empty one
            return store_down(request, operator, exc)
        if read.profile is None:
            message = (
                "No cluster profile with that key is in the latest snapshot."
                if read.fresh.crawled
                else "No crawl of this instance has finished yet, so no profile is known."
            )
            return fail(request, operator, 404, "Profile not found", message)
        fresh = read.fresh
        family = family_of(read.profile, fresh, prefix)
        users = users_of(read.usages, fresh)
        versions = versions_of(read.versions, users)
        version_filter, kind_filter = (
            request.query_params.get("version", ""),
            request.query_params.get("kind", ""),
        )
        listed = [
            u
            for u in users
            if (not version_filter or u.version_uid == version_filter)
            and (not kind_filter or u.kind == kind_filter)
        ]
        rows, number, pages = paginate(listed, _page_number(request))
        return deps.render(
            request,
            operator,
            "profile.html",
            family=family,
            entity=entity_href(instance, PROFILE, read.profile.ref),
            status_note=annotation(read.profile.body, "profile-status", prefix) or "",
            fresh=fresh,
            failed=failed_parts(fresh),
            versions=versions,
            users=users,
            rows=rows,
            listed=len(listed),
            kinds=sorted({u.kind for u in users}),
            kind_labels=KIND_LABELS,
            version_filter=version_filter,
            kind_filter=kind_filter,
            stale_users=sum(1 for u in users if u.stale),
            layout=profile_graph(versions, users),
            page_number=number,
            pages=pages,
            page_href=lambda n: _query(version=version_filter, kind=kind_filter, page=n) + "#users",
        )

    router.add_api_route("/profiles", page(deps, profiles), methods=["GET"])
    router.add_api_route("/profiles/{instance}/{key:path}", page(deps, profile), methods=["GET"])
