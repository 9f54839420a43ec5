"""Entity names: the anchor's scheme when valid and unique, else a stable hashed name (I2, I5, I7).

One function names every entity and every relation target. Pure; imports only ``ingestor.palette.models``
and sibling catalog modules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ingestor.catalog.inventory import (
    CLUSTER,
    CLUSTER_GROUP,
    CLUSTER_PROFILE,
    PROJECT,
    TENANT,
    VIRTUAL_CLUSTER,
)
from ingestor.catalog.result import Problem
from ingestor.catalog.validation import is_valid_entity_name
from ingestor.palette.models import ObjectMeta

MAX_NAME = 63
HASH_LENGTH = 8
SCOPES = ("project", TENANT, "system")
# Who keeps the plain name when several new objects want it (clusters are what people look up most).
KIND_RANK = {PROJECT: 0, CLUSTER: 1, VIRTUAL_CLUSTER: 2, CLUSTER_GROUP: 3, CLUSTER_PROFILE: 4}

_NOT_NAME = re.compile(r"[^a-z0-9-]")
_NOT_TAG = re.compile(r"[^a-z0-9:+#-]")
_DASHES = re.compile(r"-{2,}")


@dataclass(frozen=True)
class Ownership:
    """Where an object lives. ``project_uid`` is set only for project scope (I5: one rule for all)."""

    scope: str  # "project" | "tenant" | "system"
    project_uid: str | None


def ownership(meta: ObjectMeta, scope_hint: str | None = None) -> Ownership:
    """The ``scope`` annotation (else ``scope_hint``); unknown or missing means ``project`` when a
    ``projectUid`` annotation exists, else ``tenant``. Project scope without a project is tenant."""
    raw = (meta.annotations.get("scope") or scope_hint or "").strip().lower()
    project_uid = meta.project_uid
    if raw in (TENANT, "system"):
        return Ownership(raw, None)
    return Ownership("project", project_uid) if project_uid else Ownership(TENANT, None)


def sanitize(text: str) -> str:
    """The anchor's ``getEntityName`` steps: lower-case, ``[^a-z0-9-]`` → ``-``, collapse, trim ``-``."""
    return _DASHES.sub("-", _NOT_NAME.sub("-", text.lower())).strip("-")


def sanitize_tag(text: str) -> str:
    """A Backstage tag from free text (``Edge_Native`` → ``edge-native``); ``""`` when nothing is left."""
    tag = _DASHES.sub("-", _NOT_TAG.sub("-", text.lower())).strip("-")
    return tag[:MAX_NAME].rstrip("-")


def project_part(project_name: str, project_uid: str) -> str:
    """A project's part of an object's name: its name, else (unknown or unusable name) its uid (I3)."""
    return project_name if sanitize(project_name) else project_uid


def entity_ref(kind: str, name: str) -> str:
    """The lower-cased ref Backstage compares: ``<kind>:default/<name>``."""
    return f"{kind}:default/{name}".lower()


@dataclass(frozen=True)
class NameRequest:
    """One entity to name. ``parts`` are the raw inputs of the anchor scheme, the object name last:
    ``(project name,)`` for projects, ``(project name or "tenant"/"system", object name)`` otherwise."""

    palette_kind: str
    key: str
    kind: str  # Backstage kind: names must be unique per kind
    parts: tuple[str, ...]


@dataclass(frozen=True)
class _Candidate:
    name: str | None  # the anchor scheme's name when valid
    base: str  # what a hashed name starts with
    exact: bool  # the raw input needed no sanitising (wins ties: ``a-b`` over ``a_b``)
    why: str  # why ``name`` is None


def _candidate(instance: str | None, request: NameRequest) -> _Candidate:
    head = [sanitize(instance)] if instance else []
    head += [sanitize(part) for part in request.parts[:-1]]
    own = sanitize(request.parts[-1])
    exact = all(sanitize(part) == part.lower() for part in request.parts)
    if not own:
        base = "-".join(p for p in [*head, request.palette_kind] if p)
        return _Candidate(None, base, exact, f"name {request.parts[-1]!r} has no usable characters")
    name = "-".join(p for p in [*head, own] if p)
    if len(name) > MAX_NAME or not is_valid_entity_name(name):
        return _Candidate(None, name, exact, f"name {name!r} is longer than {MAX_NAME} characters")
    return _Candidate(name, name, exact, "")


def name_hash(instance: str | None, palette_kind: str, key: str, length: int = HASH_LENGTH) -> str:
    """A short stable hash of (instance, palette kind, key)."""
    text = f"{instance or ''}\x1f{palette_kind}\x1f{key}".encode(errors="surrogatepass")
    return hashlib.sha256(text).hexdigest()[:length]


def hashed_name(base: str, digest: str) -> str:
    """``<base truncated>-<digest>``, at most 63 characters."""
    head = base[: MAX_NAME - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}" if head else digest


@dataclass
class NameAssignment:
    names: dict[tuple[str, str], str]  # (palette_kind, key) -> entity name
    problems: list[Problem]
    owner: dict[str, NameRequest] = field(default_factory=dict)  # lower-cased ref -> who holds it

    def take(self, request: NameRequest, name: str) -> None:
        self.owner[entity_ref(request.kind, name)] = request
        self.names[(request.palette_kind, request.key)] = name

    def holder(self, request: NameRequest, name: str) -> NameRequest | None:
        return self.owner.get(entity_ref(request.kind, name))


def assign_names(
    requests: Iterable[NameRequest],
    instance: str | None,
    known_names: Mapping[tuple[str, str], str],
    reserved: Iterable[tuple[NameRequest, str]] = (),
) -> NameAssignment:
    """Names for all ``requests``, independent of their order.

    0. ``reserved`` names (objects outside ``requests`` that hold them, e.g. in a project-scoped crawl
       every stored entity of another part) are taken before anything else and never handed out.
    1. A name the store already holds for the object is kept if it is still valid and free.
    2. The anchor's scheme where valid and free; ties go by kind rank, exact input, then key.
    3. Everything else gets ``<scheme truncated>-<hash>``. Steps 2-3 after a lost stored name, and
       step 3, are reported as ``info`` problems.
    """
    todo = sorted(set(requests), key=lambda r: (KIND_RANK.get(r.palette_kind, 9), r.key, r.kind))
    out = NameAssignment({}, [])
    wanted = {(r.palette_kind, r.key) for r in todo}
    for holder, held in reserved:
        if (holder.palette_kind, holder.key) not in wanted:
            out.owner[entity_ref(holder.kind, held)] = holder
    stale = _keep_known(out, todo, known_names)
    pending = [r for r in todo if (r.palette_kind, r.key) not in out.names]
    candidates = {r: _candidate(instance, r) for r in pending}
    ranked = sorted(pending, key=lambda r: (KIND_RANK.get(r.palette_kind, 9), not candidates[r].exact, r.key))
    for request in ranked:
        name = candidates[request].name
        if name is not None and out.holder(request, name) is None:
            out.take(request, name)
    for request in pending:
        cand = candidates[request]
        name = out.names.get((request.palette_kind, request.key))
        reasons = [stale.get(request, "")]
        if name is None:
            name = _free_hashed_name(instance, request, cand.base, out)
            other = out.holder(request, cand.name) if cand.name is not None else None
            taken = f"name {cand.name!r} is already used by {other.palette_kind} {other.key}" if other else ""
            reasons.append(taken or cand.why)
            out.take(request, name)
        why = "; ".join(r for r in reasons if r)
        if why:
            out.problems.append(
                Problem(request.palette_kind, request.key, name, f"{why}; using {name!r}", "info")
            )
    return out


def _keep_known(
    out: NameAssignment, todo: Iterable[NameRequest], known_names: Mapping[tuple[str, str], str]
) -> dict[NameRequest, str]:
    """Step 1; returns why each stored name that could not be kept was lost."""
    stale: dict[NameRequest, str] = {}
    for request in todo:
        known = known_names.get((request.palette_kind, request.key))
        if known is None:
            continue
        other = out.holder(request, known)
        if other is not None:
            stale[request] = f"stored name {known!r} is held by {other.palette_kind} {other.key}"
        elif not is_valid_entity_name(known):
            stale[request] = f"stored name {known!r} is not a valid name"
        else:
            out.take(request, known)
    return stale


def _free_hashed_name(instance: str | None, request: NameRequest, base: str, out: NameAssignment) -> str:
    for length in range(HASH_LENGTH, 33, 4):
        name = hashed_name(base, name_hash(instance, request.palette_kind, request.key, length))
        if out.holder(request, name) is None:
            return name
    raise AssertionError("sha256 prefixes of distinct keys cannot all collide")  # pragma: no cover
