"""The HTTP surface's errors and its one exception handler: every failure answers JSON ``{"error": ...}``.

FastAPI's own 404/405/422 and unexpected exceptions take the same shape; messages never carry a secret.
Imports only ``ingestor.errors`` and ``ingestor.logging`` of ours.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ingestor.errors import ConfigError, IngestorError, RetriableError, SkippableError
from ingestor.logging import redact_text

log = structlog.get_logger(__name__)


class ApiError(IngestorError):
    """An error with an HTTP status; the message is shown to the caller as is (keep it free of secrets)."""

    status = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}
        self.extra: dict[str, object] = {}


class BadRequestError(ApiError):
    status = 400


class UnauthorizedError(ApiError):
    status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="spectrocloud-ingestor"'})


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class NotReadyError(ApiError):
    """Nothing to serve yet (no snapshot, database down): 503 with ``Retry-After``."""

    status = 503

    def __init__(self, message: str, *, retry_after: int = 30) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The one error body of this service."""
    return JSONResponse({"error": redact_text(message), **extra}, status_code=status, headers=headers)


def _status_of(exc: IngestorError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, RetriableError):
        return 503
    if isinstance(exc, SkippableError | ConfigError):
        return 400
    return 500


async def _ingestor_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IngestorError)
    status = _status_of(exc)
    headers = exc.headers if isinstance(exc, ApiError) else None
    extra = exc.extra if isinstance(exc, ApiError) else {}
    if status >= 500 and not isinstance(exc, ApiError):
        log.error("api.error", path=request.url.path, error_class=type(exc).__name__, error=str(exc))
    return error_response(status, str(exc), headers, **extra)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return error_response(exc.status_code, message, dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": ".".join(str(p) for p in err.get("loc", ())), "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    return error_response(422, "invalid request", problems=problems)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Named by class only: a foreign exception's text may quote inputs or credentials.
    log.error("api.unexpected", path=request.url.path, error_class=type(exc).__name__, exc_info=exc)
    request_id = getattr(request.state, "request_id", None)
    headers = {"X-Request-ID": request_id} if isinstance(request_id, str) else None
    return error_response(500, "internal error (see the service log)", headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error of ``app`` through the handlers above."""
    app.add_exception_handler(IngestorError, _ingestor_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
