"""End-to-end fixtures: ``backstage``, one real Backstage backend for the whole session, and
``start_backstage`` for a module that needs its own (e.g. proxy endpoints only known at test time).

Skipped only when node/npm are missing (or too old) and CI is not set; with CI set that is a failure.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.backstage_harness import BackstageCatalog, CatalogSettings, node_problem

_TIMINGS = pytest.StashKey[dict[str, float]]()


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def catalog_settings() -> CatalogSettings:
    """Harness settings; skips (or fails, with CI set) when node/npm cannot run the backend."""
    problem = node_problem()
    if problem is not None:
        if _in_ci():
            pytest.fail(f"{problem} (CI is set, so this is not skipped)")
        pytest.skip(problem)
    artifacts = os.environ.get("E2E_ARTIFACTS_DIR")
    return (
        CatalogSettings() if artifacts is None else CatalogSettings(artifacts_dir=Path(artifacts).resolve())
    )


@pytest.fixture(scope="session")
def backstage(
    request: pytest.FixtureRequest, catalog_settings: CatalogSettings
) -> Iterator[BackstageCatalog]:
    """A running catalog: every 127.0.0.1 port >= 1024 readable, processing every 3-4.5 s, orphans deleted."""
    with BackstageCatalog(catalog_settings) as catalog:
        request.config.stash[_TIMINGS] = catalog.timings
        (catalog.run_dir / "timings.json").write_text(json.dumps(catalog.timings, indent=2))
        yield catalog


@pytest.fixture(scope="module")
def start_backstage(catalog_settings: CatalogSettings) -> Iterator[Callable[..., BackstageCatalog]]:
    """``start_backstage(**changes)``: a running backend with ``catalog_settings`` fields replaced;
    every backend started this way is stopped after the module."""
    started: list[BackstageCatalog] = []

    def start(**changes: Any) -> BackstageCatalog:
        catalog = BackstageCatalog(dataclasses.replace(catalog_settings, **changes))
        started.append(catalog)
        catalog.start()
        (catalog.run_dir / "timings.json").write_text(json.dumps(catalog.timings, indent=2))
        return catalog

    yield start
    for catalog in reversed(started):
        catalog.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    timings = config.stash.get(_TIMINGS, None)
    if timings:
        shown = ", ".join(f"{key} {value:.1f}" for key, value in timings.items())
        terminalreporter.write_line(f"backstage e2e harness: {shown}")
