"""Ways to steer the simulator's faults: the ``/__sim`` admin routes and the ``simulate`` command-line flags.

Of ours it imports only ``ingestor.simulator`` modules and ``ingestor.errors``; never httpx.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingestor.errors import ConfigError
from ingestor.simulator.faults import FaultState
from ingestor.simulator.faults_spec import (
    ErrorFault,
    Fault,
    HangFault,
    LatencyFault,
    MalformedFault,
    OutageFault,
    PageFault,
    ResetFault,
    StormFault,
    parse_faults,
)
from ingestor.simulator.ratelimit import RateLimiter, v1_error_body

Authorize = Callable[[Request], bool | Awaitable[bool]]
Endpoint = Callable[[Request], Awaitable[Response]]
Clock = Callable[[], float]
FOREVER = {"", "inf", "forever"}
PAGE_MODES = ("items_null", "repeat_continue", "truncate")


def faults_admin_routes(
    state: FaultState, *, limiter: RateLimiter | None = None, authorize: Authorize | None = None
) -> list[Route]:
    """The admin routes, with full ``/__sim/...`` paths (add them to the app's routes as they are).

    With ``authorize``, a request it refuses gets 401 ``v1Error``; without it, guard them where mounted.
    """

    def guard(endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            if authorize is not None:
                verdict = authorize(request)
                if not (await verdict if inspect.isawaitable(verdict) else verdict):
                    return _error(401, "Unauthorized", "a valid simulator credential is required")
            return await endpoint(request)

        return guarded

    async def list_faults(request: Request) -> Response:
        """The active faults with their firing counts."""
        return JSONResponse({"seed": state.seed, "faults": state.list()})

    async def add_faults(request: Request) -> Response:
        """Add one fault (a JSON object) or several (a JSON list); answers their ids."""
        try:
            data = json.loads(await request.body())
        except ValueError:
            return _error(400, "BadRequest", "the body is not valid JSON")
        try:
            faults = parse_faults(data, "body")
        except ConfigError as exc:
            problems = [{"path": p, "message": m} for p, m in exc.problems]
            return _error(422, "UnprocessableEntity", "invalid fault", {"problems": problems})
        return JSONResponse({"ids": [state.add(f) for f in faults]}, status_code=201)

    async def clear_faults(request: Request) -> Response:
        """Remove every fault."""
        state.clear()
        return Response(status_code=204)

    async def remove_fault(request: Request) -> Response:
        """Remove one fault by id."""
        fault_id = request.path_params["fault_id"]
        if not state.remove(fault_id):
            return _error(404, "ResourceNotFound", f"no fault with id {fault_id}")
        return Response(status_code=204)

    async def ratelimit_stats(request: Request) -> Response:
        """Requests and 429s per rate-limit prefix."""
        if limiter is None:
            return _error(404, "ResourceNotFound", "the rate limiter is not installed")
        return JSONResponse(limiter.stats())

    async def ratelimit_reset(request: Request) -> Response:
        """Refill every bucket and zero the counters."""
        if limiter is None:
            return _error(404, "ResourceNotFound", "the rate limiter is not installed")
        limiter.reset()
        return Response(status_code=204)

    return [
        Route("/__sim/faults", guard(list_faults), methods=["GET"]),
        Route("/__sim/faults", guard(add_faults), methods=["POST"]),
        Route("/__sim/faults", guard(clear_faults), methods=["DELETE"]),
        Route("/__sim/faults/{fault_id}", guard(remove_fault), methods=["DELETE"]),
        Route("/__sim/ratelimit", guard(ratelimit_stats), methods=["GET"]),
        Route("/__sim/ratelimit", guard(ratelimit_reset), methods=["DELETE"]),
    ]


def _error(status: int, code: str, message: str, details: Any = None) -> Response:
    body = v1_error_body(code, message, details=details)
    return Response(body, status_code=status, media_type="application/json")


def add_fault_arguments(parser: argparse.ArgumentParser, include_latency: bool = True) -> None:
    """Add the fault flags (all repeatable but the last two). PATTERN is a glob or ``re:<regex>``."""
    group = parser.add_argument_group("fault injection")
    if include_latency:
        group.add_argument("--latency-ms", type=_milliseconds, metavar="MS", help="latency on every request")
    for flag, parse, metavar, text in _FLAGS:
        group.add_argument(flag, action="append", type=parse, metavar=metavar, help=text)
    group.add_argument("--faults-file", type=Path, metavar="FILE", help="a JSON list of fault objects")
    group.add_argument("--fault-seed", type=int, default=0, metavar="N", help="seed of probability rolls")


def faults_from_args(args: argparse.Namespace) -> list[Fault]:
    """The faults named by the flags, in a fixed order; ``ConfigError`` for a bad ``--faults-file``."""
    faults: list[Fault] = []
    if getattr(args, "latency_ms", None):
        faults.append(LatencyFault(ms=args.latency_ms))
    for name in ("latency", "error", "429_storm", "hang", "outage", "malformed", "page", "reset"):
        faults += getattr(args, f"fault_{name}", None) or []
    if getattr(args, "faults_file", None) is not None:
        faults += load_faults_file(args.faults_file)
    return faults


def fault_state_from_args(args: argparse.Namespace, *, clock: Clock = time.monotonic) -> FaultState:
    """A ``FaultState`` holding the flags' faults, seeded by ``--fault-seed``."""
    return FaultState(faults_from_args(args), seed=getattr(args, "fault_seed", 0), clock=clock)


def load_faults_file(path: Path) -> list[Fault]:
    """Read a JSON list (or one object) of faults; problems name the file and the item."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([(str(path), f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ConfigError([(str(path), f"not valid JSON: {exc}")]) from None
    return parse_faults(data, str(path))


def _build(factory: Callable[..., Fault], **values: Any) -> Fault:
    try:
        return factory(**values)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError("; ".join(f"{p}: {m}" for p, m in exc.problems)) from None


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None


def _split(text: str, count: int, form: str) -> list[str]:
    parts = text.rsplit(":", count)
    if len(parts) != count + 1 or not all(parts[1:]):
        raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}")
    return parts


def _suffix(text: str, options: tuple[str, ...]) -> tuple[str, str | None]:
    head, _, tail = text.rpartition(":")
    return (head, tail) if head and tail in options else (text, None)


def _milliseconds(text: str) -> float:
    value = _number(text, "MS")
    if value < 0:
        raise argparse.ArgumentTypeError(f"MS must not be negative, not {text!r}")
    return value


def _latency(text: str) -> Fault:
    pattern, ms = _split(text, 1, "PATTERN:MS")
    return _build(LatencyFault, path=pattern, ms=_number(ms, "MS"))


def _error_spec(text: str) -> Fault:
    pattern, status, rate = _split(text, 2, "PATTERN:STATUS:RATE")
    if not status.isdigit():
        raise argparse.ArgumentTypeError(f"STATUS must be an integer, not {status!r}")
    return _build(ErrorFault, path=pattern, status=int(status), probability=_number(rate, "RATE"))


def _storm(text: str) -> Fault:
    seconds, _, retry = text.partition(":")
    retry_after = _number(retry, "RETRY_AFTER") if retry else None
    return _build(StormFault, end=_number(seconds, "SECONDS"), retry_after=retry_after)


def _hang(text: str) -> Fault:
    rest, then = _suffix(text, ("drop", "answer"))
    head, _, seconds = rest.rpartition(":")
    if not head:
        raise argparse.ArgumentTypeError(f"expected PATTERN:SECONDS[:drop], got {text!r}")
    hold = None if seconds.lower() in FOREVER else _number(seconds, "SECONDS")
    return _build(HangFault, path=head, seconds=hold, then=then or "answer")


def _outage(text: str) -> Fault:
    parts = text.split(":")
    if len(parts) != 3 or not parts[0]:
        raise argparse.ArgumentTypeError(f"expected PROJECT_UID:START:END, got {text!r}")
    uid, start, end = parts
    until = None if end.lower() in FOREVER else _number(end, "END")
    return _build(OutageFault, project_uid=uid, start=_number(start or "0", "START"), end=until)


def _malformed(text: str) -> Fault:
    pattern, mode = _suffix(text, ("truncate", "garble"))
    return _build(MalformedFault, path=pattern, mode=mode or "truncate")


def _page(text: str) -> Fault:
    pattern, mode = _split(text, 1, "PATTERN:MODE")
    mode = mode.replace("-", "_")
    if mode not in PAGE_MODES:
        raise argparse.ArgumentTypeError(f"MODE must be one of {', '.join(PAGE_MODES)}, not {mode!r}")
    return _build(PageFault, path=pattern, mode=mode)


def _reset(text: str) -> Fault:
    return _build(ResetFault, path=text)


_FLAGS: tuple[tuple[str, Callable[[str], Fault], str, str], ...] = (
    ("--fault-latency", _latency, "PATTERN:MS", "latency on PATTERN"),
    ("--fault-error", _error_spec, "PATTERN:STATUS:RATE", "answer STATUS to a RATE share (0..1) of PATTERN"),
    ("--fault-429-storm", _storm, "SECONDS[:RETRY_AFTER]", "answer 429 to all for SECONDS from start"),
    ("--fault-hang", _hang, "PATTERN:SECONDS[:drop]", "hold SECONDS ('inf': till shutdown), answer or drop"),
    ("--fault-outage", _outage, "PROJECT_UID:START:END", "503 for the project from START to END (empty: on)"),
    ("--fault-malformed", _malformed, "PATTERN[:garble]", "answer 200 with a truncated (or garbled) body"),
    ("--fault-page", _page, "PATTERN:MODE", "rewrite pages: items_null, repeat_continue or truncate"),
    ("--fault-reset", _reset, "PATTERN", "drop the connection without an answer"),
)
