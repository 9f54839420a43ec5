"""Shared pieces of the Palette models: a tolerant base that keeps the original JSON, and common parts.

Imports nothing of ours outside ``ingestor.palette``. Field names are snake_case in Python and
camelCase (Palette's spelling) on the wire; unknown fields are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)
from pydantic.alias_generators import to_camel

T = TypeVar("T")
ZERO_TIME = "0001-01-01T00:00:00.000Z"


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


def _str_map(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}
    return value


# ``null`` (Go's nil slice) reads as an empty list; string maps tolerate ``null`` and non-string values.
NullList = Annotated[list[T], BeforeValidator(_list_or_empty)]
StrMap = Annotated[dict[str, str], BeforeValidator(_str_map)]


class PaletteModel(BaseModel):
    """Base of every Palette model: tolerant; ``raw`` dumps the input keys back (by alias)."""

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, protected_namespaces=()
    )

    @property
    def raw(self) -> dict[str, Any]:
        """Palette's JSON for this object, rebuilt from the fields that were set."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class PaletteDocument(PaletteModel):
    """A model the service may hand back verbatim: ``raw`` is the exact JSON it was parsed from.

    Only documents (objects a call returns, list items) keep the input; nested parts rebuild it,
    which keeps parsing of large lists cheap.
    """

    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, dict):
            model._raw = data
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """Palette's original JSON object (treat as read-only); a by-alias dump if built in code."""
        if self._raw is not None:
            return self._raw
        return self.model_dump(by_alias=True, exclude_unset=True)


class ObjectMeta(PaletteModel):
    """``v1ObjectMeta``; ``uid``/``name`` are empty strings when Palette omitted them."""

    uid: str = ""
    name: str = ""
    labels: StrMap = {}
    annotations: StrMap = {}
    creation_timestamp: str | None = None
    last_modified_timestamp: str | None = None
    deletion_timestamp: str | None = None

    @property
    def project_uid(self) -> str | None:
        """The owning project (annotation ``projectUid``), if any."""
        return self.annotations.get("projectUid") or None

    @property
    def tenant_uid(self) -> str | None:
        return self.annotations.get("tenantUid") or None

    @property
    def overlord_uid(self) -> str | None:
        """The private cloud gateway this object is bound to (annotation ``overlordUid``)."""
        return self.annotations.get("overlordUid") or None

    @property
    def scope(self) -> str:
        """Annotation ``scope``; defaults to ``project`` when a project owns it, else ``tenant``."""
        scope = self.annotations.get("scope")
        if scope:
            return scope
        return "project" if self.project_uid else "tenant"

    @property
    def is_deleted(self) -> bool:
        """True when ``deletionTimestamp`` holds a real (non-zero) time."""
        ts = self.deletion_timestamp
        return bool(ts) and not str(ts).startswith("0001-01-01")


class MetaDocument(PaletteDocument):
    """A document with ``metadata``; ``uid`` and ``name`` read through to it."""

    metadata: ObjectMeta = ObjectMeta()

    @property
    def uid(self) -> str:
        return self.metadata.uid

    @property
    def name(self) -> str:
        return self.metadata.name


class ListMeta(PaletteModel):
    """``v1ListMetaData``: ``continue`` is the next-page token, ``""`` on the last page."""

    continue_token: str | None = Field(default=None, alias="continue")
    count: int | None = None
    limit: int | None = None
    offset: int | None = None


class ObjectRef(PaletteModel):
    """``v1ObjectReference`` / ``v1ObjectResReference`` / ``v1UidSummary``: a pointer to an object."""

    uid: str = ""
    name: str | None = None
    kind: str | None = None
    project_uid: str | None = None
    tenant_uid: str | None = None


class PackRef(PaletteModel):
    """A pack in a profile template (``v1PackRef``, ``v1PackRefSummary``, ``v1PackSummarySpec``)."""

    name: str = ""
    display_name: str | None = None
    layer: str | None = None
    type: str | None = None
    tag: str | None = None
    version: str | None = None
    pack_uid: str | None = None
    registry_uid: str | None = None
    values: str | None = None
    manifests: NullList[ObjectRef] = []


class ProfileTemplate(PaletteModel):
    """A profile version attached to something (``v1ClusterProfileTemplate`` and its ``Meta`` form).

    ``uid`` is the profile-**version** uid (palette-api.md 4.4).
    """

    uid: str = ""
    name: str | None = None
    type: str | None = None
    cloud_type: str | None = None
    scope: str | None = None
    profile_version: str | None = None
    version: int | str | None = None
    packs: NullList[PackRef] = []


def kubernetes_version_from_packs(packs: Iterable[PackRef]) -> str | None:
    """The ``tag`` (else ``version``) of the first pack whose layer is ``k8s``."""
    for pack in packs:
        if pack.layer == "k8s":
            return pack.tag or pack.version or None
    return None


def template_list(many: Iterable[ProfileTemplate], legacy: ProfileTemplate | None) -> list[ProfileTemplate]:
    """``clusterProfileTemplates[]`` plus the legacy single ``clusterProfileTemplate``, unique by uid."""
    out: list[ProfileTemplate] = []
    seen: set[str] = set()
    for template in [*many, *([legacy] if legacy is not None else [])]:
        key = template.uid or f"#{len(out)}"
        if key not in seen:
            seen.add(key)
            out.append(template)
    return out


class Uid(PaletteDocument):
    """``v1Uid``: the body of every 201."""

    uid: str = ""
