"""Fixtures for the configuration and logging tests: YAML files in tmp_path, a logging sandbox."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog

from ingestor.logging import forget_secrets


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def log_sandbox() -> Iterator[io.StringIO]:
    """A stream for configure_logging; global logging state is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved = {name: (lg.handlers[:], lg.level, lg.propagate) for name, lg in _named_loggers()}
    stream = io.StringIO()
    try:
        yield stream
    finally:
        structlog.reset_defaults()
        forget_secrets()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, (handlers, level, propagate) in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
        logging.captureWarnings(False)


def _named_loggers() -> list[tuple[str, logging.Logger]]:
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "hpack")
    return [(name, logging.getLogger(name)) for name in names]
