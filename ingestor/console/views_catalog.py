"""Console pages: the catalog browser (``/entities``: search, filters, paging) and one entity's page
(``/entities/<instance>/<palette kind>/<name>``: annotations, relations, Palette links, the served YAML).

Reads the store through ``store.queries``/``store.lookups`` only; stale entities carry their reason (a failed
part or a held-back removal). Imports ``console``, ``store``, ``catalog.render`` and ``logging`` of ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ingestor.catalog.render import render_yaml
from ingestor.console.app import ConsoleDeps, page
from ingestor.console.identity import Operator
from ingestor.logging import redact_text
from ingestor.store import lookups, queries
from ingestor.store.db import Database
from ingestor.store.rows import EntityRow, HeldRow, InstanceState, PartStateRow, RunRow

log = structlog.get_logger(__name__)

KINDS = ("project", "cluster", "virtual-cluster", "cluster-group", "cluster-profile")
KIND_LABELS = {
    "project": "Project",
    "cluster": "Cluster",
    "virtual-cluster": "Virtual cluster",
    "cluster-group": "Cluster group",
    "cluster-profile": "Cluster profile",
}
ID_ANNOTATION = {
    "project": "project-id",
    "cluster": "cluster-id",
    "virtual-cluster": "cluster-id",
    "cluster-group": "cluster-group-id",
    "cluster-profile": "profile-id",
}
PAGE_SIZE = 50
UNNAMED = "_"
"""The path segment of the unnamed instance (configured names start with a letter or digit)."""
TENANT = "tenant"
"""The project filter's value for tenant- and system-scoped entities (they have no project)."""
LOOKUP_LIMIT = 50
ENTITY_REF = re.compile(r"^([a-z][a-z0-9-]*):([^/\s]+)/(\S+)$")
BAD_STATES = {"error", "failed", "deleting", "unhealthy"}


def segment(instance: str) -> str:
    return instance or UNNAMED


def instance_of(value: str) -> str:
    return "" if value == UNNAMED else value


def entity_path(instance: str, palette_kind: str, name: str) -> str:
    """The console page of one entity (``_`` stands for the unnamed instance)."""
    return (
        f"/entities/{quote(segment(instance), safe='')}/{quote(palette_kind, safe='')}/{quote(name, safe='')}"
    )


def profile_path(instance: str, key: str) -> str:
    """The profile explorer's page of a profile family (its entities row ``key``)."""
    return f"/profiles/{quote(segment(instance), safe='')}/{quote(key, safe=':@')}"


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def tone(value: str) -> str:
    """A badge class for a state or health value."""
    lowered = value.lower()
    if lowered in ("running", "healthy", "published"):
        return "ok"
    return "bad" if lowered in BAD_STATES else ""


# ---- store reads (sync, run with ``db.run``) --------------------------------------------------------------


@dataclass(frozen=True)
class Estate:
    """What both pages need besides the entities: instance states and why stale entities are stale."""

    states: dict[str, InstanceState]
    held: dict[tuple[str, str], str]
    failed: dict[tuple[str, str, str], str]

    def stale_reason(self, row: EntityRow, scope_label: str) -> str:
        held = self.held.get((row.instance, row.ref))
        if held is not None:
            return held
        failed = self.failed.get((row.instance, *row.part))
        if failed is not None:
            return f"The last crawl of {row.part[1]} in {scope_label} failed: {failed}"
        return "Served from an older crawl."


def read_estate(db: Database, instance: str | None = None) -> Estate:
    """Instance states, held removals and failed parts (with their error), for the stale reasons."""
    held = {(h.instance, h.ref): held_reason(h) for h in queries.held_removals(db, instance)}
    parts = [p for p in queries.part_states(db, instance) if not p.ok]
    runs = {r.id: r for r in queries.recent_runs(db, instance, limit=20)} if parts else {}
    failed = {(p.instance, p.scope, p.kind): failure(p, runs.get(p.last_run_id)) for p in parts}
    return Estate({s.instance: s for s in queries.instance_states(db)}, held, failed)


def held_reason(held: HeldRow) -> str:
    return (
        f"Its removal is held back (missing {held.streak}x since run {held.since_run_id}): "
        f"{redact_text(held.reason)}"
    )


def failure(part: PartStateRow, run: RunRow | None) -> str:
    """The failed part's run, error (class: message, scrubbed) and last complete crawl."""
    outcomes = run.outcomes if run else ()
    outcome = next((o for o in outcomes if (o.scope, o.kind) == (part.scope, part.kind)), None)
    texts = (outcome.error_class, outcome.error) if outcome else ()
    error = ": ".join(redact_text(t) for t in texts if t) or "an error"
    return (
        f"run {part.last_run_id} ({when(part.last_run_at)}), {error}. "
        f"Last complete crawl of this part: {when(part.last_ok_at)}."
    )


@dataclass(frozen=True)
class Catalog:
    rows: list[EntityRow]
    estate: Estate


def read_catalog(db: Database) -> Catalog:
    return Catalog(queries.current_entities(db).entities, read_estate(db))


def catalog_key(db: Database) -> tuple[tuple[str, int, int | None], ...]:
    """Changes whenever a run ends (every run moves ``last_run_id``; commits move the version), so a
    cached ``Catalog`` (entities, stale flags, holds, failed parts) is current while this stays equal."""
    return tuple((s.instance, s.snapshot_version, s.last_run_id) for s in queries.instance_states(db))


@dataclass(frozen=True)
class EntityRead:
    row: EntityRow
    names: dict[str, tuple[str, str]]
    """Stored entity name -> (palette kind, key) in the entity's instance."""
    project: EntityRow | None
    estate: Estate


def _find(db: Database, instance: str, palette_kind: str, name: str) -> EntityRow | None:
    found = lookups.find_entities(db, [instance], palette_kind, name, limit=LOOKUP_LIMIT)
    row = next((r for r in found.rows if r.name == name), None)
    if row is None and found.total > len(found.rows):  # many titles equal to this name: scan the kind
        rows = queries.current_entities(db, instance, palette_kind=palette_kind).entities
        row = next((r for r in rows if r.name == name), None)
    return row


def read_entity(db: Database, instance: str, palette_kind: str, name: str) -> EntityRead | None:
    row = _find(db, instance, palette_kind, name)
    if row is None:
        return None
    names = {n: (kind, key) for (kind, key), n in queries.known_names(db, instance).items()}
    project = None
    if row.project_uid:
        found = lookups.find_entities(db, [instance], "project", row.project_uid, limit=LOOKUP_LIMIT)
        project = next((r for r in found.rows if r.key == row.project_uid), None)
    return EntityRead(row, names, project, read_estate(db, instance))


# ---- the list page ----------------------------------------------------------------------------------------


def annotation(row: EntityRow, prefix: str, name: str) -> str:
    meta = row.body.get("metadata")
    values = meta.get("annotations") if isinstance(meta, dict) else None
    value = values.get(f"{prefix}/{name}") if isinstance(values, dict) else None
    return value if isinstance(value, str) else ""


def title_of(row: EntityRow) -> str:
    meta = row.body.get("metadata")
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) and title else row.name


@dataclass(frozen=True)
class Filters:
    """The list page's query: q, instance, project, kind, cloudType, state and page."""

    q: str = ""
    instance: str = ""
    project: str = ""
    kind: str = ""
    cloud_type: str = ""
    state: str = ""
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Filters:
        p = request.query_params
        try:
            number = max(int(p.get("page", "1")), 1)
        except ValueError:
            number = 1
        return cls(
            q=p.get("q", "").strip(),
            instance=p.get("instance", "").strip(),
            project=p.get("project", "").strip(),
            kind=p.get("kind", "").strip(),
            cloud_type=p.get("cloudType", "").strip(),
            state=p.get("state", "").strip(),
            page=number,
        )

    @property
    def active(self) -> bool:
        return any((self.q, self.instance, self.project, self.kind, self.cloud_type, self.state))

    def url(self, page_number: int) -> str:
        pairs = {
            "q": self.q,
            "instance": self.instance,
            "project": self.project,
            "kind": self.kind,
            "cloudType": self.cloud_type,
            "state": self.state,
        }
        query = {key: value for key, value in pairs.items() if value}
        if page_number > 1:
            query["page"] = str(page_number)
        return "/entities" + (f"?{urlencode(query)}" if query else "")


def matches(row: EntityRow, f: Filters, prefix: str, projects: set[str | None] | None) -> bool:
    if f.instance and row.instance != instance_of(f.instance):
        return False
    if f.kind and row.palette_kind != f.kind:
        return False
    if projects is not None and row.project_uid not in projects:
        return False
    if f.cloud_type and annotation(row, prefix, "cloud-type") != f.cloud_type:
        return False
    if f.state and annotation(row, prefix, "state") != f.state:
        return False
    if f.q:
        wanted = f.q.casefold()
        uids = (row.key, annotation(row, prefix, ID_ANNOTATION.get(row.palette_kind, "")))
        versions = (
            annotation(row, prefix, "profile-versions") if row.palette_kind == "cluster-profile" else ""
        )
        return any(wanted in text.casefold() for text in (title_of(row), row.name, *uids, versions))
    return True


def project_scope(value: str, titles: Mapping[tuple[str, str], str]) -> set[str | None] | None:
    """Project uids the ``project`` filter selects: ``tenant`` (no project), a uid or a project's name."""
    if not value:
        return None
    if value == TENANT:
        return {None}
    folded = value.casefold()
    return {uid for (_, uid), title in titles.items() if value == uid or folded == title.casefold()}


def list_context(catalog: Catalog, f: Filters, prefix: str, configured: list[str]) -> dict[str, Any]:
    rows, estate = catalog.rows, catalog.estate
    titles = {(r.instance, r.key): title_of(r) for r in rows if r.palette_kind == "project"}
    chosen = [r for r in rows if matches(r, f, prefix, project_scope(f.project, titles))]
    order = {kind: i for i, kind in enumerate(KINDS)}
    chosen.sort(key=lambda r: (r.instance, order.get(r.palette_kind, 99), title_of(r).casefold(), r.name))
    pages = max((len(chosen) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    f = replace(f, page=min(f.page, pages))
    start = (f.page - 1) * PAGE_SIZE
    instances = sorted(set(configured) | {r.instance for r in rows})
    several = len(instances) > 1

    def scope_label(row: EntityRow) -> str:
        if not row.project_uid:
            return "(tenant)"
        return titles.get((row.instance, row.project_uid), row.project_uid)

    def shown(row: EntityRow) -> dict[str, Any]:
        project = scope_label(row)
        return {
            "title": title_of(row),
            "ref": row.ref,
            "href": entity_path(row.instance, row.palette_kind, row.name),
            "kind": KIND_LABELS.get(row.palette_kind, row.palette_kind),
            "instance": row.instance or "(unnamed)",
            "project": project,
            "cloud_type": annotation(row, prefix, "cloud-type"),
            "state": annotation(row, prefix, "state"),
            "tone": tone(annotation(row, prefix, "state")),
            "last_seen": when(row.last_seen),
            "stale": row.stale,
            "reason": estate.stale_reason(row, project) if row.stale else "",
        }

    waiting = []
    for name in instances:
        state = estate.states.get(name)
        if state is None or not state.has_snapshot:
            status = state.last_run_status if state else None
            waiting.append({"name": name or "(unnamed)", "status": status})
    return {
        "filters": f,
        "results": [shown(r) for r in chosen[start : start + PAGE_SIZE]],
        "matching": len(chosen),
        "total": len(rows),
        "first": start + 1 if chosen else 0,
        "last": min(start + PAGE_SIZE, len(chosen)),
        "pages": pages,
        "prev_url": f.url(f.page - 1) if f.page > 1 else None,
        "next_url": f.url(f.page + 1) if f.page < pages else None,
        "clear_url": "/entities",
        "stale_count": sum(1 for r in rows if r.stale),
        "waiting": waiting,
        "nothing_crawled": not rows and len(waiting) == len(instances),
        "instance_options": [(segment(name), name or "(unnamed)") for name in instances],
        "project_options": [
            (uid, f"{title} ({instance or 'unnamed'})" if several else title)
            for (instance, uid), title in sorted(titles.items(), key=lambda i: (i[1].casefold(), i[0]))
        ],
        "tenant_value": TENANT,
        "kind_options": [(kind, KIND_LABELS[kind]) for kind in KINDS],
        "cloud_options": sorted({v for r in rows if (v := annotation(r, prefix, "cloud-type"))}),
        "state_options": sorted({v for r in rows if (v := annotation(r, prefix, "state"))}),
    }


# ---- the entity page --------------------------------------------------------------------------------------


def relations(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(field, entity ref)`` for every entity ref in ``spec`` and ``relations``, in document order."""
    out: list[tuple[str, str]] = []
    spec = body.get("spec")
    for key, value in spec.items() if isinstance(spec, dict) else ():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and ENTITY_REF.match(item):
                out.append((f"spec.{key}", item))
    for relation in body.get("relations") or ():
        if isinstance(relation, dict) and isinstance(relation.get("targetRef"), str):
            out.append((str(relation.get("type") or "relation"), relation["targetRef"]))
    return out


def relation_row(field: str, ref: str, read: EntityRead) -> dict[str, Any]:
    """One relation: a link to the target's page when it is stored (and its profile page for a profile)."""
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    stored = read.names.get(name) if namespace == "default" and kind in ("resource", "system") else None
    if stored is not None and (kind == "system") != (stored[0] == "project"):
        stored = None
    instance = read.row.instance
    return {
        "field": field,
        "ref": ref,
        "kind": KIND_LABELS.get(stored[0], stored[0]) if stored else "",
        "href": entity_path(instance, stored[0], name) if stored else None,
        "profile_href": profile_path(instance, stored[1])
        if stored and stored[0] == "cluster-profile"
        else None,
    }


def palette_links(body: Mapping[str, Any]) -> list[dict[str, str]]:
    meta = body.get("metadata")
    links = meta.get("links") if isinstance(meta, dict) else None
    out = []
    for link in links if isinstance(links, list) else ():
        url = link.get("url") if isinstance(link, dict) else None
        if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
            out.append({"url": url, "title": str(link.get("title") or url)})
    return out


def entity_context(read: EntityRead, prefix: str) -> dict[str, Any]:
    row, project = read.row, read.project
    meta = row.body.get("metadata")
    values = meta.get("annotations") if isinstance(meta, dict) else None
    scope = title_of(project) if project else (row.project_uid or "(tenant)")
    return {
        "title": title_of(row),
        "name": row.name,
        "ref": row.ref,
        "backstage_kind": str(row.body.get("kind") or ""),
        "kind": KIND_LABELS.get(row.palette_kind, row.palette_kind),
        "palette_kind": row.palette_kind,
        "instance": row.instance or "(unnamed)",
        "instance_filter": f"/entities?{urlencode({'instance': segment(row.instance)})}",
        "project": scope,
        "project_href": entity_path(project.instance, "project", project.name) if project else None,
        "members_href": f"/entities?{urlencode({'instance': segment(row.instance), 'project': row.key})}"
        if row.palette_kind == "project"
        else None,
        "profile_href": profile_path(row.instance, row.key)
        if row.palette_kind == "cluster-profile"
        else None,
        "state": annotation(row, prefix, "state"),
        "health": annotation(row, prefix, "health-state"),
        "tone": tone,
        "last_seen": when(row.last_seen),
        "first_seen": when(row.first_seen),
        "changed_at": when(row.changed_at),
        "run_id": row.run_id,
        "stale": row.stale,
        "reason": read.estate.stale_reason(row, scope) if row.stale else "",
        "annotations": sorted(values.items()) if isinstance(values, dict) else [],
        "relations": [relation_row(field, ref, read) for field, ref in relations(row.body)],
        "links": palette_links(row.body),
        "yaml": render_yaml([row.body]).decode("utf-8"),
    }


# ---- routes -----------------------------------------------------------------------------------------------


def register(router: APIRouter, deps: ConsoleDeps) -> None:
    """Add ``/entities`` and ``/entities/<instance>/<kind>/<name>`` to the console router."""

    def prefix() -> str:
        return deps.settings.spectrocloud.annotation_prefix

    def store_error(request: Request, operator: Operator, exc: Exception) -> Response:
        log.error("console.catalog_read_failed", path=request.url.path, error_class=type(exc).__name__)
        return deps.render(
            request,
            operator,
            "message.html",
            status=500,
            title="The store could not be read",
            message=f"Reading the catalog from the store failed ({type(exc).__name__}); the page shows "
            "nothing rather than partial data. Try again shortly; the service log has details.",
        )

    cache: dict[str, Any] = {}

    async def current_catalog() -> Catalog:
        """The whole catalog, read again only after a run ended (typing a search reads one small row)."""
        key = await deps.db.run(catalog_key)
        if cache.get("key") != key:
            cache.update(key=key, catalog=await deps.db.run(read_catalog))
        catalog: Catalog = cache["catalog"]
        return catalog

    async def entities(request: Request, operator: Operator) -> Response:
        """The catalog browser."""
        f = Filters.of(request)
        try:
            catalog = await current_catalog()
        except Exception as exc:  # any store failure: an error page, never a blank one
            return store_error(request, operator, exc)
        context = list_context(catalog, f, prefix(), deps.scheduler.instances)
        return deps.render(request, operator, "entities.html", **context)

    async def entity(request: Request, operator: Operator) -> Response:
        """One entity: facts, annotations, relations, Palette links and its YAML as served."""
        params = request.path_params
        instance, kind, name = instance_of(params.get("instance", "")), params["kind"], params["name"]
        try:
            read = await deps.db.run(read_entity, instance, kind, name) if kind in KINDS else None
        except Exception as exc:  # any store failure: an error page, never a blank one
            return store_error(request, operator, exc)
        if read is None:
            what, where = KIND_LABELS.get(kind, kind).lower(), instance or "(unnamed)"
            return deps.render(
                request,
                operator,
                "message.html",
                status=404,
                title="Entity not found",
                message=f"No {what} named '{name}' is stored for instance '{where}'. A later crawl may have "
                "removed it, or no crawl has completed yet.",
            )
        return deps.render(request, operator, "entity.html", **entity_context(read, prefix()))

    router.add_api_route("/entities", page(deps, entities), methods=["GET"])
    router.add_api_route("/entities/{instance}/{kind}/{name}", page(deps, entity), methods=["GET"])
    router.add_api_route("/entities//{kind}/{name}", page(deps, entity), methods=["GET"])
