"""Contract harness: an httpx transport that checks every exchange against the Palette spec.

Wrap any inner transport (real sockets to the simulator, or a mock) and assert
``transport.violations == []`` at the end of a test. Messages never contain header values or body strings.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import httpx

from ingestor.palette.operations import BINARY, Operation, OperationTable, default_table
from ingestor.palette.schema import SpecValidator

ERROR_DEFINITION = "v1Error"
# Headers the spec does not declare but Palette needs (palette-api.md 1.2, 1.3); compared lower-case.
EXTRA_HEADERS = frozenset({"projectuid", "apikey", "authorization"})
# Transport-level headers any HTTP client may send.
STANDARD_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "connection",
        "content-length",
        "content-type",
        "host",
        "transfer-encoding",
        "user-agent",
    }
)
# The docs also pass the project scope as a query parameter, in two spellings (palette-api.md 1.3).
EXTRA_QUERY = frozenset({"ProjectUid", "projectUid"})
UNAUTHENTICATED = frozenset({("POST", "/v1/auth/authenticate")})
_INTEGER = re.compile(r"-?\d+")


class Exchange(NamedTuple):
    """One request seen by the transport: the template (or the raw path when unknown) and the status."""

    method: str
    template: str
    status: int | None


class ValidatingTransport(httpx.AsyncBaseTransport):
    """Validates requests and responses of every exchange; records ``violations`` and ``exchanges``.

    ``strict_responses`` validates JSON responses in strict mode (no undeclared fields): use it for the
    simulator, never for a real Palette. ``require_auth`` flags requests without ``ApiKey``/``Authorization``.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        validator: SpecValidator,
        *,
        strict_responses: bool,
        operations: OperationTable | None = None,
        require_auth: bool = True,
    ) -> None:
        self.inner = inner
        self.validator = validator
        self.strict_responses = strict_responses
        self.operations = operations if operations is not None else default_table()
        self.require_auth = require_auth
        self.violations: list[str] = []
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.method.upper()
        # The still-encoded path: a uid holding "%2F" stays one segment.
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        op = self.operations.match(method, path)
        label = f"{method} {op.path if op else path}"
        await request.aread()
        if op is None:
            self._flag(label, "not an operation of the Palette spec")
        else:
            self._check_headers(label, op, request.headers)
            self._check_query(label, op, request.url)
            self._check_request_body(label, op, request)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception:
            self.exchanges.append(Exchange(method, op.path if op else path, None))
            raise
        raw = await _read_raw(response)
        self.exchanges.append(Exchange(method, op.path if op else path, response.status_code))
        if op is not None:
            self._check_response(
                f"{label} {response.status_code}", op, response.status_code, response.headers, raw
            )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    # -- requests ------------------------------------------------------------------------------------

    def _flag(self, label: str, problem: str) -> None:
        self.violations.append(f"{label}: {problem}")

    def _check_headers(self, label: str, op: Operation, headers: httpx.Headers) -> None:
        names = {name.lower() for name in headers}
        for name in sorted(names - STANDARD_HEADERS - EXTRA_HEADERS):
            self._flag(label, f"request header {name!r} is not declared by the spec")
        if {"apikey", "authorization"} <= names:
            self._flag(label, "request sends both ApiKey and Authorization")
        if headers.get("authorization", "").lower().startswith("bearer "):
            self._flag(label, "Authorization must carry the raw token, without 'Bearer '")
        needs_auth = self.require_auth and (op.method, op.path) not in UNAUTHENTICATED
        if needs_auth and not names & {"apikey", "authorization"}:
            self._flag(label, "request carries no ApiKey or Authorization header")

    def _check_query(self, label: str, op: Operation, url: httpx.URL) -> None:
        params = url.params
        for name in sorted(set(params.keys())):
            values = params.get_list(name)
            declared = op.query.get(name)
            if declared is None:
                if name not in EXTRA_QUERY:
                    self._flag(label, f"query parameter {name!r} is not declared by the spec")
                continue
            if len(values) > 1:
                self._flag(label, f"query parameter {name!r} is given {len(values)} times")
            for value in values:
                problem = _query_problem(value, declared.type, declared.maximum)
                if problem:
                    self._flag(label, f"query parameter {name!r} {problem}")
        for name, declared in sorted(op.query.items()):
            if declared.required and name not in params:
                self._flag(label, f"required query parameter {name!r} is missing")

    def _check_request_body(self, label: str, op: Operation, request: httpx.Request) -> None:
        content = request.content
        if not content:
            if op.request is not None and op.request_required:
                self._flag(label, f"request body {op.request} is required but missing")
            return
        if op.request is None:
            self._flag(label, "request has a body but the operation declares none")
            return
        body = self._json(label + " request", request.headers, content)
        if body is not _INVALID:
            for error in self.validator.errors(op.request, body):
                self._flag(label + " request", error)

    # -- responses -----------------------------------------------------------------------------------

    def _check_response(
        self, label: str, op: Operation, status: int, headers: httpx.Headers, raw: bytes
    ) -> None:
        content = _decoded(status, headers, raw)
        if status >= 400:
            self._check_json(label, ERROR_DEFINITION, headers, content, empty="error response has no body")
        elif not 200 <= status < 300:
            self._flag(label, "unexpected status")
        elif not op.declares(status):
            self._flag(label, f"status not declared by the spec (declared: {sorted(op.responses)})")
        else:
            expected = op.response_for(status)
            if expected == BINARY:
                if not headers.get("content-type", "").startswith("application/octet-stream"):
                    self._flag(label, "binary response must be application/octet-stream")
                if not content:
                    self._flag(label, "binary response is empty")
            elif expected is None:
                if content:
                    self._flag(label, "response has a body but the spec declares none")
            else:
                self._check_json(label, expected, headers, content, empty="response has no body")

    def _check_json(
        self, label: str, definition: str, headers: httpx.Headers, content: bytes, *, empty: str
    ) -> None:
        if not content:
            self._flag(label, empty)
            return
        body = self._json(label, headers, content)
        if body is not _INVALID:
            for error in self.validator.errors(definition, body, strict=self.strict_responses):
                self._flag(label, f"{definition} {error}")

    def _json(self, label: str, headers: httpx.Headers, content: bytes) -> Any:
        if not headers.get("content-type", "").startswith("application/json"):
            self._flag(label, "body is not declared as application/json")
        try:
            return json.loads(content)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._flag(label, "body is not valid JSON")
            return _INVALID


_INVALID = object()


def _query_problem(value: str, kind: str | None, maximum: float | None) -> str | None:
    number: float | None = None
    if kind == "integer":
        if not _INTEGER.fullmatch(value):
            return "is not an integer"
        number = int(value)
    elif kind == "number":
        try:
            number = float(value)
        except ValueError:
            return "is not a number"
    elif kind == "boolean" and value not in ("true", "false"):
        return "is not 'true' or 'false'"
    if number is not None and maximum is not None and number > maximum:
        return f"value {number:g} exceeds the maximum {maximum:g}"
    return None


async def _read_raw(response: httpx.Response) -> bytes:
    """The raw (still encoded) body; works for network streams and for already-read mock responses."""
    stream = response.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        raise TypeError("ValidatingTransport needs an async inner transport")
    try:
        return b"".join([chunk async for chunk in stream])
    finally:
        await response.aclose()


def _decoded(status: int, headers: httpx.Headers, raw: bytes) -> bytes:
    """The body after Content-Encoding is undone, as a client would see it."""
    probe = httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw))
    return probe.read()
