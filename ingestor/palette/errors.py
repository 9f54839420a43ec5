"""Typed Palette errors. Each carries status, Palette's code, message and ref; never a credential.

Imports nothing of ours.
"""

from __future__ import annotations


class PaletteError(Exception):
    """Base of every error the Palette client raises.

    ``retriable`` tells the caller whether trying again later may succeed.
    """

    retriable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        ref: str | None = None,
        method: str | None = None,
        path: str | None = None,
        instance: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.ref = ref
        self.method = method
        self.path = path
        self.instance = instance
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        where = " ".join(p for p in (self.method, self.path) if p)
        if where:
            parts.append(f"[{where}]")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.ref:
            parts.append(f"ref={self.ref}")
        if self.instance:
            parts.append(f"instance={self.instance}")
        return " ".join(parts)


class BadRequestError(PaletteError):
    """400 or 422: Palette rejected the request body or parameters."""


class UnauthorizedError(PaletteError):
    """401: the credential is missing, invalid or expired."""


class ForbiddenError(PaletteError):
    """403: the credential may not perform this operation."""


class NotFoundError(PaletteError):
    """404: the object does not exist (or is not visible in this scope)."""


class ConflictError(PaletteError):
    """409: the object already exists."""


class RateLimitedError(PaletteError):
    """429 after all retries were spent."""

    retriable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class UnavailableError(PaletteError):
    """5xx, connection failure or an unreadable response after all retries."""

    retriable = True


class PaletteTimeoutError(UnavailableError):
    """The request did not complete within its deadline."""


class ProtocolError(PaletteError):
    """Palette answered something the client cannot use (malformed JSON, pagination loop, page cap)."""

    retriable = True
