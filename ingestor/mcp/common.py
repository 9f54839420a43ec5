"""Declarations shared by the tool modules: annotations (M10) and input descriptions."""

from __future__ import annotations

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
