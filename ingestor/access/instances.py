"""Instance selection: an exact, case-sensitive match on ``environments[].name``; absent → the first (C8)."""

from __future__ import annotations

from collections.abc import Sequence

from ingestor.config import Settings
from ingestor.config.models import EnvironmentSettings
from ingestor.errors import FatalError


class UnknownInstanceError(FatalError):
    """The requested instance is not configured (or was given twice); the message lists the names."""


def instance_names(settings: Settings) -> list[str]:
    """The configured instance names, in configuration order (an unnamed environment shows as ``""``)."""
    return [env.name or "" for env in settings.spectrocloud.environments]


def select_instance(
    settings: Settings, requested: str | Sequence[str] | None, *, parameter: str = "instance"
) -> EnvironmentSettings:
    """The environment named ``requested``; the first one when nothing is requested.

    A repeated value, an empty value or a name nobody configured is an ``UnknownInstanceError`` that
    lists the configured names: never a silent fall-back to another (possibly foreign) tenant.
    """
    envs = settings.spectrocloud.environments
    if not envs:
        raise UnknownInstanceError("no SpectroCloud environment is configured (spectrocloud.environments)")
    names = ", ".join(repr(name) for name in instance_names(settings))
    if requested is not None and not isinstance(requested, str):
        values = list(requested)
        if len(values) > 1:
            raise UnknownInstanceError(f"{parameter} was given {len(values)} times; give it once ({names})")
        requested = values[0] if values else None
    if requested is None:
        return envs[0]
    for env in envs:
        if env.name is not None and env.name == requested:
            return env
    shown = requested if len(requested) <= 64 else requested[:64] + "…"
    raise UnknownInstanceError(f"unknown {parameter} {shown!r}; configured instances: {names}")
