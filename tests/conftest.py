"""Suite-wide: structlog, where a test has not configured it, prints plain tracebacks.

Without this, structlog's default console renderer uses ``rich`` when installed (schemathesis brings it),
which renders every logged exception with its local variables: slow, and it may print secrets.
"""

from __future__ import annotations

import pytest
import structlog


def pytest_configure(config: pytest.Config) -> None:
    processors = [
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        if isinstance(step, structlog.dev.ConsoleRenderer)
        else step
        for step in structlog.get_config()["processors"]
    ]
    structlog.configure(processors=processors)
