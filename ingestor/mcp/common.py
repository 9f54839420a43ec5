"""Declarations shared by the tool modules: annotations (M10) and input descriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from mcp.types import ToolAnnotations
from pydantic import Field

# None of the tools changes anything in Palette (M10).
READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=True)

InstanceName = Annotated[
    str | None,
    Field(description="Configured Palette instance (spectrocloud.environments[].name); default: the first"),
]
ProjectUid = Annotated[str | None, Field(description="Palette project uid (the project scope)")]


def iso(value: datetime | None) -> str | None:
    """A time as every tool writes it: UTC, ISO 8601 with ``Z`` (naive values are taken as UTC)."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")
