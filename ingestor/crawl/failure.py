"""Failures of a crawl as the run record shows them: an error class and a sanitized, short message.

Messages come from our own error types only (Palette's cleaned ``v1Error`` message, path template, status);
any other exception is named by its class alone, and known secrets are masked. Imports ``palette.errors``
and ``errors`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ingestor.errors import IngestorError, RetriableError
from ingestor.palette.errors import PaletteError

MAX_MESSAGE = 500
MASK = "***"


class CrawlDeadlineError(RetriableError):
    """The crawl's overall deadline (``crawl.timeoutSeconds``) passed before a part finished."""


class CrawlCancelledError(RetriableError):
    """The crawl was cancelled (shutdown, lost lease) before it committed."""


@dataclass(frozen=True)
class Failure:
    """What went wrong with one part or one run; safe to store, log and show."""

    error_class: str
    message: str


def describe(exc: BaseException, secrets: Iterable[str] = ()) -> Failure:
    """The class name and a message fit for the run record: never a token, a URL query or a body."""
    if isinstance(exc, PaletteError | IngestorError):
        text = str(exc)
    else:
        # Foreign exceptions (a bug, a driver error) may quote inputs or credentials: name them only.
        text = f"unexpected {type(exc).__name__} (see the service log)"
    return Failure(type(exc).__name__, scrub(text, secrets))


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret masked, control characters blanked and the length capped."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
