"""Shared declarations of the plugin routes: the caller dependency, documented query parameters, fan-out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ingestor.api.auth import Caller, require_caller

T = TypeVar("T")

CallerDep = Annotated[Caller, Depends(require_caller)]
# Declared for the OpenAPI document; ``open_call`` reads (and checks) the raw query itself.
InstanceQuery = Annotated[
    str | None, Query(description="Configured instance name (environments[].name); default: the first")
]
ProjectQuery = Annotated[
    str | None, Query(alias="projectUid", description="Palette project uid, sent as the ProjectUid header")
]
# A string, not a bool: anything but the literal ``false`` means true, as in the seed (never a 422).
FrpQuery = Annotated[
    str | None, Query(description="Reverse-proxy (FRP) kubeconfig; anything but `false` means true")
]


class ErrorBody(BaseModel):
    """The body of every plugin error (compat.md 3.2)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="What went wrong; never a token or a Palette error body")
    requiresReAuth: bool | None = Field(  # noqa: N815 (the contract's field name)
        default=None,
        description="On 401: sign in to Palette again (also the X-SpectroCloud-ReAuth-Required header)",
    )


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# The status contract (compat.md 3.2) for the OpenAPI document: ``APIRouter(responses=ERROR_RESPONSES)``.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid input: a uid, query value or body; an unknown or repeated instance"),
    401: _error("No valid Backstage credential, or no usable Palette session (requiresReAuth: true)"),
    403: _error("Forbidden: the caller lacks the permission, or Palette refused the credential"),
    404: _error("Not found in Palette"),
    422: _error("The body or a parameter does not validate (problems lists the failing fields)"),
    502: _error("Palette failed (5xx, unreadable answer) or rejected the instance's API key"),
    503: _error("Palette is rate limiting (see Retry-After), or Backstage's signing keys are unavailable"),
    504: _error("Palette did not answer in time"),
}


def dedupe_by_uid(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in order, each ``metadata.uid`` once (items without a uid are kept)."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for item in items:
        uid = (item.get("metadata") or {}).get("uid") if isinstance(item, dict) else None
        if isinstance(uid, str):
            if uid in seen:
                continue
            seen.add(uid)
        out.append(item)
    return out
