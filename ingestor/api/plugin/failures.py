"""Palette failures → our status contract (compat.md 3.2). Bodies carry our message plus Palette's
status, ``code`` and ``ref``; never Palette's body, never a token.
"""

from __future__ import annotations

import math

from ingestor.api.errors import ApiError
from ingestor.palette.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PaletteError,
    PaletteTimeoutError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)

REAUTH_HEADER = "X-SpectroCloud-ReAuth-Required"


class PluginError(ApiError):
    """An error of the plugin API with its status chosen at raise time."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, headers=headers)
        self.status = status
        self.extra = extra or {}


def reauth_error(message: str) -> PluginError:
    """401 with ``requiresReAuth`` and the ReAuth header: the stock frontend signs the user out (F2)."""
    return PluginError(401, message, headers={REAUTH_HEADER: "true"}, extra={"requiresReAuth": True})


def forbidden(message: str) -> PluginError:
    return PluginError(403, message)


def bad_request(message: str) -> PluginError:
    return PluginError(400, message)


def not_found(what: str) -> PluginError:
    return PluginError(404, f"{what} not found")


def _detail(exc: PaletteError) -> str:
    parts = [f"status {exc.status}" if exc.status is not None else None]
    parts += [f"code {exc.code}" if exc.code else None, f"ref {exc.ref}" if exc.ref else None]
    shown = [p for p in parts if p]
    return f" ({', '.join(shown)})" if shown else ""


def palette_failure(what: str, exc: PaletteError, *, user_credential: bool) -> PluginError:
    """The answer for a Palette failure while fetching ``what`` (e.g. ``"Cluster"``)."""
    detail = _detail(exc)
    if isinstance(exc, UnauthorizedError):
        if user_credential:
            return reauth_error(
                f"Palette rejected your session{detail}: sign in to SpectroCloud Palette again"
            )
        return PluginError(502, f"Palette rejected the instance's API key{detail}; tell the operators")
    if isinstance(exc, ForbiddenError):
        return forbidden(f"Forbidden: Palette does not allow this for your credential{detail}")
    if isinstance(exc, NotFoundError):
        return PluginError(404, f"{what} not found{detail}")
    if isinstance(exc, InvalidRequestError):
        return bad_request(f"invalid request for {what}: {exc.message}")
    if isinstance(exc, ConflictError):
        return PluginError(409, f"{what} conflicts with an existing object{detail}")
    if isinstance(exc, BadRequestError):
        return bad_request(f"Palette rejected the request for {what}{detail}")
    if isinstance(exc, RateLimitedError):
        wait = max(1, math.ceil(exc.retry_after)) if exc.retry_after else 30
        return PluginError(
            503, f"Palette is rate limiting; retry in {wait} s{detail}", headers={"Retry-After": str(wait)}
        )
    if isinstance(exc, PaletteTimeoutError):
        return PluginError(504, f"Palette did not answer in time while fetching {what}")
    if isinstance(exc, UnavailableError) and exc.status is None:
        return PluginError(504, f"Palette is unreachable (fetching {what})", headers={"Retry-After": "30"})
    return PluginError(502, f"Palette failed while fetching {what}{detail}", headers={"Retry-After": "30"})
