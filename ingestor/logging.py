"""Logging: structlog for our code and the stdlib (uvicorn, httpx) through one chain, secrets masked.

Every record is redacted before and after rendering: values of secret-like keys, registered secret
values (``register_secret``) and JWT-shaped strings become ``***``. JSON lines (production) open with
``timestamp``, ``level``, ``logger``, ``event`` and, inside an HTTP request, ``request_id`` (bound by the
API's middleware with ``structlog.contextvars``). Foundation layer: imports nothing of ours.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

MASK = "***"
MIN_SECRET_LENGTH = 4
_MAX_DEPTH = 6
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SENSITIVE_SUFFIXES = (
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "authorization",
    "cookie",
    "kubeconfig",
    "credentials",
    "privatekey",
)
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_FORMATS = ("auto", "json", "console")
LEADING_KEYS = ("timestamp", "level", "logger", "event", "request_id")
"""Keys every JSON line starts with, in this order (when present)."""
# Loggers that install their own handlers or log request URLs and headers at INFO/DEBUG.
_ROUTED = ("uvicorn", "uvicorn.error", "uvicorn.access")
_QUIET = ("httpx", "httpcore", "hpack")


class _SecretRegistry:
    """Known secret values, matched as substrings (longest first)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) < MIN_SECRET_LENGTH or value in self._values:
            return
        with self._lock:
            self._values.add(value)
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _JWT.sub(MASK, text)


_registry = _SecretRegistry()


def register_secret(value: str) -> None:
    """Mask ``value`` wherever it appears in a log line from now on (under 4 characters: ignored)."""
    _registry.add(value)


def register_secrets(values: Iterable[str]) -> None:
    """``register_secret`` for each value, e.g. ``register_secrets(settings.secret_values())``."""
    for value in values:
        _registry.add(value)


def forget_secrets() -> None:
    """Drop every registered secret (tests use it to isolate cases)."""
    _registry.clear()


def redact_text(text: str) -> str:
    """``text`` with registered secrets and JWT-shaped strings replaced by ``***``."""
    return _registry.scrub(text)


def is_sensitive_key(key: str) -> bool:
    """Whether a key names a credential (``apiToken``, ``Authorization``, ``db_password``, ``x-api-key``)."""
    folded = re.sub(r"[^a-z0-9]", "", key.lower())
    return folded.endswith(_SENSITIVE_SUFFIXES)


def redact_value(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` safe to log: nested secret-like keys masked, strings scrubbed."""
    if isinstance(value, str):
        return _registry.scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= _MAX_DEPTH:
        return _registry.scrub(repr(value))
    if isinstance(value, Mapping):
        return {
            key: MASK if _masked(key, item) else redact_value(item, depth + 1) for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return _registry.scrub(bytes(value).decode("utf-8", "replace"))
    return _registry.scrub(repr(value))


def _masked(key: object, value: Any) -> bool:
    return value is not None and isinstance(key, str) and is_sensitive_key(key)


def redact_event(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret-like keys and scrub every value (message and exception included)."""
    for key, value in list(event_dict.items()):
        event_dict[key] = MASK if _masked(key, value) else redact_value(value)
    return event_dict


def leading_keys_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ``LEADING_KEYS`` first, the rest in the order they were bound."""
    ordered = {key: event_dict.pop(key) for key in LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _scrubbed(renderer: Processor) -> Processor:
    """Wrap the renderer so the final line is scrubbed once more (covers anything a renderer adds)."""

    def render(logger: WrappedLogger, method: str, event_dict: EventDict) -> Any:
        out = renderer(logger, method, event_dict)
        return _registry.scrub(out) if isinstance(out, str) else out

    return render


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    try:
        return _LEVELS[level.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}") from None


def resolve_format(format: str, stream: TextIO) -> str:
    """``auto`` → ``console`` on a TTY, ``json`` otherwise."""
    if format not in _FORMATS:
        raise ValueError(f"unknown log format {format!r}; use one of {', '.join(_FORMATS)}")
    if format != "auto":
        return format
    return "console" if _isatty(stream) else "json"


class _IngestorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the root handler we own so a second ``configure_logging`` replaces it."""


def configure_logging(
    level: str | int = "info", format: str = "auto", *, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) as JSON or console lines, redacted."""
    numeric = _level(level)
    out = stream if stream is not None else sys.stderr
    rendering = resolve_format(format, out)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a later configure_logging (tests, CLI flags) must reach loggers made earlier.
        cache_logger_on_first_use=False,
    )
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if rendering == "json"
        else structlog.dev.ConsoleRenderer(
            colors=rendering == "console" and _isatty(out),
            # never rich's tracebacks with local variables, whatever is installed
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            leading_keys_first,
            _scrubbed(renderer),
        ],
    )
    _install(formatter, out, numeric)


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())


def _install(formatter: logging.Formatter, out: TextIO, level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _IngestorHandler):
            root.removeHandler(handler)
    handler = _IngestorHandler(out)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _ROUTED:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        routed.setLevel(logging.NOTSET)
    # httpx logs every request URL (query strings included) at INFO and httpcore logs headers at DEBUG.
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
