"""The shapes the store accepts from the mapping (``ingestor.catalog`` dataclasses satisfy them).

Read-only protocols with the design doc's field names, so the store depends on the contract and not on the
catalog's module layout (mypy checks below that the catalog's types conform). No SQL here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ingestor.crawl.snapshot import PartKey


class EntityLike(Protocol):
    """``catalog.MappedEntity``: one Backstage entity and where it came from."""

    @property
    def ref(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def palette_kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def project_uid(self) -> str | None: ...
    @property
    def part(self) -> PartKey: ...
    @property
    def body(self) -> Mapping[str, Any]: ...


class EdgeLike(Protocol):
    """``catalog.Edge``: a reverse-lookup edge from an emitted entity to a Palette object."""

    @property
    def src_ref(self) -> str: ...
    @property
    def src_kind(self) -> str: ...
    @property
    def src_uid(self) -> str: ...
    @property
    def relation(self) -> str: ...
    @property
    def dst_uid(self) -> str: ...
    @property
    def dst_ref(self) -> str | None: ...
    @property
    def profile_key(self) -> str | None: ...
    @property
    def version(self) -> str | None: ...


class ProfileVersionLike(Protocol):
    """``catalog.ProfileVersion``: one version of a cluster profile family."""

    @property
    def version_uid(self) -> str: ...
    @property
    def profile_key(self) -> str: ...
    @property
    def profile_ref(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def scope(self) -> str: ...
    @property
    def project_uid(self) -> str | None: ...


class MappingResultLike(Protocol):
    """``catalog.MappingResult``: what one crawl mapped to (problems are not stored here)."""

    @property
    def entities(self) -> Sequence[EntityLike]: ...
    @property
    def edges(self) -> Sequence[EdgeLike]: ...
    @property
    def profile_versions(self) -> Sequence[ProfileVersionLike]: ...


if TYPE_CHECKING:
    from ingestor.catalog import MappingResult

    def _catalog_conforms(result: MappingResult) -> MappingResultLike:
        return result  # mypy fails here if the catalog's types drift from the contract
