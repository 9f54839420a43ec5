"""The instance's API token never reaches run records, part outcomes, logs, exceptions or reprs."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

import pytest
import structlog

from ingestor.crawl.failure import describe, scrub
from ingestor.crawl.request import crawl_request
from ingestor.simulator.faults_spec import ErrorFault
from ingestor.store import queries

from .harness import INSTANCE, TOKEN, Harness


def everything_recorded(h: Harness, logs: Sequence[MutableMapping[str, Any]]) -> str:
    runs = queries.recent_runs(h.db, INSTANCE, limit=50)
    return repr(runs) + repr(logs) + repr(h.entities())


async def test_palette_messages_quoting_the_token_are_masked(harness: Harness) -> None:
    h = harness
    h.fault(ErrorFault(path="/v1/clustergroups/hostCluster", status=500, message=f"ApiKey {TOKEN} rejected"))
    h.fault(ErrorFault(path="/v1/dashboard/clusterprofiles", status=400, message=f"bad key={TOKEN}"))

    with structlog.testing.capture_logs() as logs:
        result = await h.crawl()

    errors = [o.error or "" for o in h.last_run().outcomes if not o.ok]
    assert result.status == "partial" and errors
    assert any("***" in e for e in errors)  # Palette's message is kept, the token in it is not
    assert TOKEN not in everything_recorded(h, logs)


async def test_a_rejected_token_fails_the_run_without_showing_it(harness: Harness) -> None:
    h = harness
    wrong = "wrong-secret-api-key-4242"
    h.configure(apiToken=wrong)

    with structlog.testing.capture_logs() as logs:
        result = await h.crawl()

    run = h.last_run()
    assert result.status == "failed" and run.error_class == "UnauthorizedError"
    assert wrong not in everything_recorded(h, logs)


async def test_a_foreign_exception_is_named_not_quoted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    from ingestor.crawl import service

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"cannot map: {TOKEN}")

    monkeypatch.setattr(service, "map_inventory", broken)
    with structlog.testing.capture_logs() as logs:
        result = await h.crawl()

    run = h.last_run()
    assert result.status == "failed" and run.error_class == "ValueError"
    assert TOKEN not in everything_recorded(h, logs)


def test_requests_and_failures_never_show_the_token(harness: Harness) -> None:
    request = crawl_request(harness.settings, harness.env, {})
    assert request.secrets == (TOKEN,) and TOKEN not in repr(request)
    assert TOKEN not in describe(RuntimeError(TOKEN)).message
    assert scrub(f"a {TOKEN} b\nc", [TOKEN]) == "a *** b c"
