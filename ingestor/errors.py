"""The service's error hierarchy, grouped by what the caller should do.

Foundation layer: imports nothing of ours. Messages never carry secrets.
"""

from __future__ import annotations


class IngestorError(Exception):
    """Base of every error this service raises on purpose."""


class RetriableError(IngestorError):
    """A transient failure (timeout, 429, 5xx): trying again later may succeed."""


class FatalError(IngestorError):
    """A failure that retrying will not fix (bad configuration, other 4xx)."""


class SkippableError(IngestorError):
    """One object could not be handled; count it, report it, carry on."""


class ConfigError(FatalError):
    """Invalid configuration. Each problem names its key path; values of secrets are never shown."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"  {path}: {message}" if path else f"  {message}" for path, message in problems]
        super().__init__("invalid configuration:\n" + "\n".join(lines))
