"""Find one stored entity by its Palette name (title), uid or entity ref, for the title-based tools (M1, M2).

Titles match case-insensitively (an index seek on the stored, case-folded title), as do uids (for a profile,
any version's), names and entity refs; ``instanceName``/``projectUid`` narrow the search to configured
instances. No match is a
"Not found" tool error, several are "Ambiguous" with the candidates and how to pick one.
Annotations are read with the configured prefix, falling back to the default one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from ingestor.config.models import EnvironmentSettings
from ingestor.mcp.context import McpDeps
from ingestor.store import lookups
from ingestor.store.rows import EntityRow

DEFAULT_PREFIX = "terasky.backstage.io"
ID_ANNOTATION = {
    "cluster": "cluster-id",
    "virtual-cluster": "cluster-id",
    "cluster-group": "cluster-group-id",
    "cluster-profile": "profile-id",
}
WHAT = {
    "cluster": "cluster",
    "virtual-cluster": "virtual cluster",
    "cluster-group": "cluster group",
    "cluster-profile": "cluster profile",
}
MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Found:
    """A resolved entity: its stored row and what the tools read from it."""

    row: EntityRow
    prefix: str

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.row.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def title(self) -> str:
        title = self.metadata.get("title")
        return title if isinstance(title, str) and title else self.row.name

    @property
    def name(self) -> str:
        """The entity's ``metadata.name``."""
        return str(self.metadata.get("name") or self.row.name)

    @property
    def entity_ref(self) -> str:
        return entity_ref_of(self.row.body, self.row.name)

    def annotation(self, name: str) -> str | None:
        return annotation(self.row.body, name, self.prefix)

    @property
    def uid(self) -> str:
        """The Palette uid (for a profile: the latest version's uid)."""
        return self.annotation(ID_ANNOTATION.get(self.row.palette_kind, "")) or self.row.key

    @property
    def project_uid(self) -> str | None:
        """The project scope of Palette calls (``None`` for tenant-scoped objects)."""
        return self.annotation("project-id") or self.row.project_uid or None


def annotation(body: Mapping[str, Any], name: str, prefix: str) -> str | None:
    """``<prefix>/<name>`` of an entity body, else ``terasky.backstage.io/<name>``; empty counts as absent."""
    meta = body.get("metadata")
    values = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(values, dict):
        return None
    for key in (f"{prefix}/{name}", f"{DEFAULT_PREFIX}/{name}"):
        value = values.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def entity_ref_of(body: Mapping[str, Any], fallback_name: str) -> str:
    """``resource:<namespace or default>/<name>`` (the contract's entityRef format)."""
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    kind = str(body.get("kind") or "Resource").lower()
    return f"{kind}:{meta.get('namespace') or 'default'}/{meta.get('name') or fallback_name}"


def prefix_of(deps: McpDeps) -> str:
    return deps.settings.spectrocloud.annotation_prefix or DEFAULT_PREFIX


def _candidate(row: EntityRow, prefix: str) -> str:
    found = Found(row, prefix)
    project = found.project_uid or "tenant"
    return f"{found.title} (instance {row.instance or '(unnamed)'}, project {project}, uid {found.uid})"


async def find_entity(
    deps: McpDeps,
    palette_kind: str,
    wanted: str,
    *,
    instance_name: str | None = None,
    project_uid: str | None = None,
) -> Found:
    """The one stored ``palette_kind`` entity titled ``wanted`` (or with that uid, name or entity ref)."""
    what = WHAT.get(palette_kind, palette_kind)
    wanted = wanted.strip()
    if not wanted:
        raise ToolError(f"Invalid input: give the {what}'s name")
    if instance_name is None:
        instances = [env.name or "" for env in deps.settings.spectrocloud.environments]
    else:
        instances = [deps.instance(instance_name).name or ""]
    found = await deps.db.run(
        lookups.find_entities,
        instances,
        palette_kind,
        wanted,
        project_uid=project_uid,
        limit=MAX_CANDIDATES,
    )
    prefix = prefix_of(deps)
    hits = found.rows
    if not hits:
        scope = "".join(
            (
                f" in instance {instance_name!r}" if instance_name is not None else "",
                f" in project {project_uid!r}" if project_uid is not None else "",
            )
        )
        raise ToolError(f"Not found: no {what} titled {wanted!r}{scope} in the latest snapshot")
    if found.total > 1:
        shown = "; ".join(_candidate(row, prefix) for row in hits)
        more = f"; and {found.total - len(hits)} more" if found.total > len(hits) else ""
        raise ToolError(
            f"Ambiguous: {found.total} {what}s match {wanted!r}; candidates: {shown}{more}; "
            "pass instanceName and/or projectUid"
        )
    return Found(hits[0], prefix)


def environment_of(deps: McpDeps, found: Found) -> EnvironmentSettings:
    """The configured environment the entity was crawled from ("Invalid input" if no longer configured)."""
    for env in deps.settings.spectrocloud.environments:
        if (env.name or "") == found.row.instance:
            return env
    raise ToolError(f"Invalid input: instance {found.row.instance!r} of this entity is no longer configured")
