"""Error mapping: every status, malformed bodies, every httpx exception, and no secret anywhere."""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from ingestor.palette import errors as E
from ingestor.palette.credentials import ApiKey, SessionToken
from ingestor.palette.options import RetryPolicy, Timeouts
from ingestor.palette.transport import Context, map_exception

from .stub import (
    TOKEN,
    USER_TOKEN,
    ClientFactory,
    Handler,
    PaletteStub,
    Reply,
    fast_options,
    free_port,
    v1_error,
)

ONE_TRY = {"retry": RetryPolicy(max_attempts=1)}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, E.BadRequestError),
        (401, E.UnauthorizedError),
        (403, E.ForbiddenError),
        (404, E.NotFoundError),
        (409, E.ConflictError),
        (418, E.BadRequestError),
        (422, E.BadRequestError),
        (429, E.RateLimitedError),
        (500, E.UnavailableError),
        (502, E.UnavailableError),
        (503, E.UnavailableError),
        (504, E.UnavailableError),
        (302, E.ProtocolError),
    ],
)
async def test_status_maps_to_typed_error(
    stub: PaletteStub, make_client: ClientFactory, status: int, cls: type[E.PaletteError]
) -> None:
    stub.handler = lambda s: v1_error(status, "SomeCode", "palette says no", ref="ref-42")
    client = make_client(instance="prod", option_overrides=ONE_TRY)
    with pytest.raises(E.PaletteError) as info:
        await client.get_cluster("abc", project_uid="p1", include_tags="system")
    err = info.value
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.ref) == (status, "SomeCode", "palette says no", "ref-42")
    assert (err.method, err.path, err.instance) == ("GET", "/v1/spectroclusters/{uid}", "prod")
    text = str(err)
    assert "abc" not in text and "includeTags" not in text  # the template, never the URL
    assert f"status={status}" in text and "code=SomeCode" in text and "ref=ref-42" in text


def test_retriable_flags() -> None:
    assert E.RateLimitedError("x").retriable and E.UnavailableError("x").retriable
    assert E.PaletteTimeoutError("x").retriable and issubclass(E.PaletteTimeoutError, E.UnavailableError)
    for cls in (E.BadRequestError, E.UnauthorizedError, E.ForbiddenError, E.NotFoundError, E.ConflictError):
        assert not cls("x").retriable
    assert isinstance(E.InvalidRequestError("x"), ValueError)


async def test_non_json_429_body(stub: PaletteStub, make_client: ClientFactory) -> None:
    body = b"<html>Too Many Requests for you, here is an internal detail</html>"
    stub.handler = lambda s: Reply(429, body=body, media_type="text/html")
    with pytest.raises(E.RateLimitedError) as info:
        await make_client(option_overrides=ONE_TRY).get_cluster_summary("c1")
    err = info.value
    assert err.code is None and err.ref is None and err.retry_after is None
    assert "internal detail" not in str(err) and "429" in str(err)


async def test_error_body_beyond_code_message_ref_is_dropped(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    data = {"code": "Bad", "message": "m", "ref": "r", "details": {"secretThing": "hidden-value"}}
    stub.handler = lambda s: Reply(400, data)
    with pytest.raises(E.BadRequestError) as info:
        await make_client().get_cluster_summary("c1")
    assert "hidden-value" not in str(info.value) and "secretThing" not in repr(info.value)


async def test_huge_or_odd_error_fields_are_trimmed(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(404, {"code": 12, "message": "x" * 5000 + "\n\x1b[31m", "ref": None})
    with pytest.raises(E.NotFoundError) as info:
        await make_client().get_cluster_summary("c1")
    assert info.value.code is None and info.value.ref is None
    assert len(info.value.message) <= 300 and "\n" not in info.value.message


@pytest.mark.parametrize("body", [b"{not json", b"<html></html>", b"\xff\xfe"])
async def test_malformed_json_is_a_protocol_error(
    stub: PaletteStub, make_client: ClientFactory, body: bytes
) -> None:
    stub.handler = lambda s: Reply(200, body=body)
    with pytest.raises(E.ProtocolError) as info:
        await make_client().get_cluster_summary("c1")
    assert info.value.status == 200 or "JSON object" in str(info.value)


@pytest.mark.parametrize(
    "data", [[1, 2], "text", {"metadata": "not an object"}, {"status": {"state": {"x": 1}}}]
)
async def test_unexpected_shapes_are_protocol_errors(
    stub: PaletteStub, make_client: ClientFactory, data: Any
) -> None:
    stub.handler = lambda s: Reply(200, data)
    with pytest.raises(E.ProtocolError) as info:
        await make_client().get_cluster_summary("c1")
    assert "not an object" not in str(info.value)  # field paths only, never values


def _httpx_exception_classes() -> list[type[BaseException]]:
    return sorted(
        (obj for _, obj in inspect.getmembers(httpx, inspect.isclass) if issubclass(obj, Exception)),
        key=lambda c: c.__name__,
    )


def _instantiate(cls: type[BaseException]) -> BaseException:
    request = httpx.Request("GET", "http://127.0.0.1/v1/x?continue=tok")
    if cls is httpx.HTTPStatusError:
        return cls("bad", request=request, response=httpx.Response(503, request=request))
    for args in (("boom",), ()):
        try:
            return cls(*args)
        except TypeError:
            continue
    raise AssertionError(f"cannot build {cls}")


def test_httpx_exception_classes_are_enumerated() -> None:
    names = {c.__name__ for c in _httpx_exception_classes()}
    assert {
        "HTTPError",
        "ConnectError",
        "ReadTimeout",
        "StreamConsumed",
        "InvalidURL",
        "CookieConflict",
    } <= names
    assert len(names) >= 25


@pytest.mark.parametrize("cls", _httpx_exception_classes(), ids=lambda c: c.__name__)
def test_every_httpx_exception_maps_to_ours(cls: type[BaseException]) -> None:
    ctx = Context("GET", "/v1/x/{uid}", "inst", TOKEN)
    mapped = map_exception(_instantiate(cls), ctx)
    assert isinstance(mapped, E.PaletteError)
    assert type(mapped) is not E.PaletteError  # a specific class, not the catch-all
    assert mapped.path == "/v1/x/{uid}" and mapped.instance == "inst"
    assert "continue=tok" not in str(mapped)


class RaisingTransport(httpx.AsyncBaseTransport):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.exc


@pytest.mark.parametrize("cls", _httpx_exception_classes(), ids=lambda c: c.__name__)
async def test_nothing_foreign_escapes_the_client(
    make_client: ClientFactory, cls: type[BaseException]
) -> None:
    client = make_client(transport=RaisingTransport(_instantiate(cls)), option_overrides=ONE_TRY)
    with pytest.raises(E.PaletteError):
        await client.get_cluster_summary("c1")


def _echo_scenarios(secret: str) -> list[Handler]:
    """Palette answers that echo ``secret`` back in every place an answer can carry text."""
    echo = f"token {secret} rejected"
    return [
        lambda s: Reply(401, {"code": "Unauthorized", "message": echo, "ref": secret}),
        lambda s: Reply(403, {"code": echo, "message": "no"}),
        lambda s: Reply(500, body=echo.encode(), media_type="text/plain"),
        lambda s: Reply(429, body=echo.encode(), media_type="text/plain"),
        lambda s: Reply(200, body=b"{broken " + echo.encode()),
    ]


async def _failures(stub: PaletteStub, make_client: ClientFactory) -> list[BaseException]:
    """Provoke one failure of each kind with both credential types; Palette echoes the secret back."""
    out: list[BaseException] = []
    slow = fast_options(retry=RetryPolicy(max_attempts=2), timeouts=Timeouts(read=0.05, total=5))
    for credential, secret in ((ApiKey(TOKEN), TOKEN), (SessionToken(USER_TOKEN), USER_TOKEN)):
        scenarios = _echo_scenarios(secret)
        for handler in scenarios:
            stub.handler = handler
            client = make_client(credential, option_overrides={"retry": RetryPolicy(max_attempts=2)})
            for call in (client.get_cluster_summary("c1", project_uid="p1"), client.get_kubeconfig("c1")):
                try:
                    await call
                except E.PaletteError as exc:
                    out.append(exc)
        stub.handler = lambda s: Reply(200, {"metadata": {"uid": "c1"}}, delay=0.3)
        with pytest.raises(E.PaletteTimeoutError) as info:
            await make_client(credential, options=slow).get_cluster_summary("c1")
        out.append(info.value)
        refused = make_client(credential, base_url=f"http://127.0.0.1:{free_port()}")
        with pytest.raises(E.UnavailableError) as info2:
            await refused.get_cluster_summary("c1")
        out.append(info2.value)
    return out


async def test_no_secret_in_errors_reprs_or_logs(stub: PaletteStub, make_client: ClientFactory) -> None:
    with capture_logs(processors=[]) as logs:
        failures = await _failures(stub, make_client)
    assert len(failures) >= 20
    texts = [str(e) for e in failures] + [repr(e) for e in failures]
    texts += [repr(vars(e)) for e in failures]
    texts += [repr(entry) for entry in logs]
    client = make_client(SessionToken(USER_TOKEN))
    texts += [repr(client), str(client), repr(client._requester.credential)]
    assert logs, "expected failure logs"
    for text in texts:
        assert TOKEN not in text and USER_TOKEN not in text, text
    assert any("***" in t for t in texts)  # the echoed token was masked, not just absent
