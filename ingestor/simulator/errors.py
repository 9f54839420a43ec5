"""The simulator's API errors and their ``v1Error`` bodies (palette-api.md 1.4).

``details`` is omitted or an object, never ``null``. Messages never quote credentials.
Imports nothing of ours.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.responses import JSONResponse

_refs = itertools.count(1)


class ApiError(Exception):
    """Raised by a route; the app turns it into a ``v1Error`` response."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str, uid: str) -> ApiError:
    return ApiError(404, "ResourceNotFound", f"{what} '{uid}' not found")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "ref": f"sim-{next(_refs):012d}"}
    if details is not None:
        body["details"] = details
    return body


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(error.code, error.message, error.details), error.status, headers=headers)
