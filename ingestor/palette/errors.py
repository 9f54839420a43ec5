"""Typed Palette errors. Each carries status, Palette's code, message and ref; never a credential.

Imports nothing of ours. httpx exceptions are translated into these in one place (``transport.py``).
"""

from __future__ import annotations

from typing import ClassVar


class PaletteError(Exception):
    """Base of every error the Palette client raises.

    ``retriable`` tells the caller whether trying again later may succeed. ``path`` is the path
    template (``/v1/spectroclusters/{uid}``), never a URL with a query string. ``attempts`` counts
    the HTTP exchanges made before giving up (0 when nothing was sent).
    """

    retriable: ClassVar[bool] = False

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
        self.attempts: int | None = None
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


class InvalidRequestError(PaletteError, ValueError):
    """The client refused to build or send a request (empty path segment, unsupported type, bad URL)."""


class BadRequestError(PaletteError):
    """400 or 422 (or another unlisted 4xx): Palette rejected the request body or parameters."""


class UnauthorizedError(PaletteError):
    """401: the credential is missing, invalid or expired."""


class ForbiddenError(PaletteError):
    """403: the credential may not perform this operation."""


class NotFoundError(PaletteError):
    """404: the object does not exist (or is not visible in this scope)."""


class ConflictError(PaletteError):
    """409: the object already exists."""


class RateLimitedError(PaletteError):
    """429 after all retries were spent. ``retry_after`` is Palette's hint in seconds, if it sent one."""

    retriable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        code: str | None = None,
        ref: str | None = None,
        method: str | None = None,
        path: str | None = None,
        instance: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message, status=status, code=code, ref=ref, method=method, path=path, instance=instance
        )


class UnavailableError(PaletteError):
    """5xx, connection failure or an unreadable response after all retries."""

    retriable = True


class PaletteTimeoutError(UnavailableError):
    """The request did not complete within its timeout or the call's overall deadline."""


class ProtocolError(PaletteError):
    """Palette answered something the client cannot use (malformed JSON, pagination loop, page cap)."""

    retriable = True


_BY_STATUS: dict[int, type[PaletteError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitedError,
}


def error_class_for_status(status: int) -> type[PaletteError]:
    """The error class for an unsuccessful HTTP status (pure table, no I/O)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return UnavailableError
    if status >= 400:
        return BadRequestError
    # 1xx/3xx (redirects are not followed) or an unexpected 2xx: nothing the client can use.
    return ProtocolError
