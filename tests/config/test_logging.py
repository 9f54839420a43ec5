"""configure_logging: JSON/console output, stdlib routing, and secrets masked on every path."""

from __future__ import annotations

import io
import json
import logging
import warnings
from datetime import datetime

import pytest
import structlog

from ingestor.logging import (
    configure_logging,
    is_sensitive_key,
    redact_text,
    register_secret,
    register_secrets,
    resolve_format,
)

from .helpers import load, minimal

SECRET = "s3cr3t-Value-9f8e7d"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqb2UifQ.c2lnbmF0dXJl"
FORMATS = ("json", "console")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_level_logger_and_iso_timestamp(log_sandbox: io.StringIO) -> None:
    configure_logging("info", "json", stream=log_sandbox)
    structlog.get_logger("ingestor.demo").info("crawl finished", instance="prod", clusters=3)
    (line,) = _lines(log_sandbox)
    assert line["event"] == "crawl finished" and line["level"] == "info" and line["logger"] == "ingestor.demo"
    assert line["instance"] == "prod" and line["clusters"] == 3
    stamp = datetime.fromisoformat(str(line["timestamp"]).replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_console_renderer_writes_key_value_text(log_sandbox: io.StringIO) -> None:
    configure_logging("info", "console", stream=log_sandbox)
    structlog.get_logger("ingestor.demo").info("crawl finished", instance="prod")
    out = log_sandbox.getvalue()
    assert "crawl finished" in out and "instance=prod" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_auto_format_follows_the_terminal() -> None:
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("auto", _Tty()) == "console"
    assert resolve_format("json", _Tty()) == "json"
    with pytest.raises(ValueError):
        resolve_format("xml", io.StringIO())


def test_unknown_level_is_rejected(log_sandbox: io.StringIO) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("loud", "json", stream=log_sandbox)


def test_level_filters_structlog_and_stdlib(log_sandbox: io.StringIO) -> None:
    configure_logging("WARNING", "json", stream=log_sandbox)
    structlog.get_logger("a").info("hidden")
    logging.getLogger("b").info("hidden too")
    structlog.get_logger("a").warning("shown")
    logging.getLogger("b").error("shown too")
    assert [line["event"] for line in _lines(log_sandbox)] == ["shown", "shown too"]


def test_stdlib_and_uvicorn_records_use_the_same_renderer(log_sandbox: io.StringIO) -> None:
    stray = logging.StreamHandler(io.StringIO())
    logging.getLogger("uvicorn.error").addHandler(stray)
    logging.getLogger("uvicorn.error").propagate = False
    configure_logging("info", "json", stream=log_sandbox)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("ingestor.std").warning("plain %s", "stdlib", extra={"instance": "prod"})
    first, second = _lines(log_sandbox)
    assert first["event"] == "Started server process [42]" and first["logger"] == "uvicorn.error"
    assert second["event"] == "plain stdlib" and second["instance"] == "prod" and second["level"] == "warning"
    assert stray not in logging.getLogger("uvicorn.error").handlers


def test_httpx_request_lines_are_quiet_at_info(log_sandbox: io.StringIO) -> None:
    configure_logging("debug", "json", stream=log_sandbox)
    logging.getLogger("httpx").info("HTTP Request: GET https://p.example.com/v1/x?token=abc")
    logging.getLogger("httpcore.http11").debug("receive_response_headers.complete")
    logging.getLogger("httpx").warning("kept")
    assert [line["event"] for line in _lines(log_sandbox)] == ["kept"]


def test_reconfiguring_replaces_the_handler(log_sandbox: io.StringIO) -> None:
    configure_logging("info", "json", stream=io.StringIO())
    configure_logging("info", "json", stream=log_sandbox)
    structlog.get_logger("x").info("once")
    assert [line["event"] for line in _lines(log_sandbox)] == ["once"]


SENSITIVE = (
    "apiToken api_key Authorization password client_secret cookie Set-Cookie kubeconfig x-api-key ApiKey"
)


@pytest.mark.parametrize("key", [*SENSITIVE.split(), "session_token", "db_password"])
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["token_count", "tokens", "instance", "event", "uid", "secretary_name"])
def test_ordinary_keys(key: str) -> None:
    assert not is_sensitive_key(key)


@pytest.mark.parametrize("fmt", FORMATS)
def test_secret_keys_are_masked_at_any_depth(log_sandbox: io.StringIO, fmt: str) -> None:
    configure_logging("info", fmt, stream=log_sandbox)
    structlog.get_logger("x").info(
        "call",
        apiToken="plain-key-value-1",
        headers={"Authorization": "Bearer plain-key-value-2", "Accept": "json"},
        items=[{"password": "plain-key-value-3"}],
        kubeconfig="apiVersion: v1\nplain-key-value-4",
    )
    out = log_sandbox.getvalue()
    assert "plain-key-value" not in out
    assert "json" in out and "call" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_registered_secret_never_reaches_the_output(log_sandbox: io.StringIO, fmt: str) -> None:
    configure_logging("debug", fmt, stream=log_sandbox)
    register_secret(SECRET)
    log = structlog.get_logger("ingestor.x")
    log.info(f"message with {SECRET}", detail=f"kv {SECRET}", nested={"list": [SECRET]}, raw=SECRET.encode())
    log.info("positional %s", SECRET)
    log.info("object", obj=RuntimeError(SECRET))
    try:
        raise ValueError(f"failed with {SECRET}")
    except ValueError:
        log.exception("structlog exception")
        logging.getLogger("uvicorn.error").exception("stdlib exception %s", SECRET, extra={"note": SECRET})
    logging.getLogger("ingestor.std").warning("stdlib message %s", SECRET)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)
        warnings.warn(f"warning {SECRET}", UserWarning, stacklevel=1)
    out = log_sandbox.getvalue()
    assert SECRET not in out
    assert out.count("***") >= 10
    assert "structlog exception" in out and "stdlib exception" in out and "ValueError" in out


def test_secret_with_json_special_characters_is_masked(log_sandbox: io.StringIO) -> None:
    tricky = 'pa"ss\\word-ü-1'
    configure_logging("info", "json", stream=log_sandbox)
    register_secret(tricky)
    structlog.get_logger("x").info("x", value=f"<{tricky}>")
    assert _lines(log_sandbox)[0]["value"] == "<***>"


@pytest.mark.parametrize("fmt", FORMATS)
def test_jwt_shaped_strings_are_masked(log_sandbox: io.StringIO, fmt: str) -> None:
    configure_logging("info", fmt, stream=log_sandbox)
    structlog.get_logger("x").info(f"got Bearer {JWT}", note=f"token={JWT}")
    logging.getLogger("y").info("cookie %s", JWT)
    out = log_sandbox.getvalue()
    assert "eyJhbGciOiJIUzI1NiJ9" not in out and "c2lnbmF0dXJl" not in out


def test_configuration_secrets_are_registered_through_secret_values(log_sandbox: io.StringIO) -> None:
    s = load(minimal(database={"url": "postgresql://svc:Db-Pa55word@db/x"}))
    configure_logging("info", "json", stream=log_sandbox)
    register_secrets(s.secret_values())
    token = s.spectrocloud.environments[0].api_token.get_secret_value()
    structlog.get_logger("x").info("connect", url="postgresql://svc:Db-Pa55word@db/x", echo=f"key {token}")
    out = log_sandbox.getvalue()
    assert "Db-Pa55word" not in out and token not in out


def test_short_values_are_not_registered(log_sandbox: io.StringIO) -> None:
    register_secret("ab")
    assert redact_text("tab ab cab") == "tab ab cab"
