"""Fixtures of the deployment tests: the example overlay's environment and the routes of the real app.

No Docker or Kubernetes is needed; ``kubectl kustomize`` checks run only where kubectl exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Match

from ingestor.api.server import build_service
from tests.deploy.files import Routes, base_settings, example_env


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Routes]:
    """``routes(path, method="GET")``: whether the app built from the base configuration has a route for it.

    The app is built on SQLite and never started (no scheduler, no call to Palette).
    """
    folder: Path = tmp_path_factory.mktemp("routes")
    env = {**example_env(), "DATABASE_URL": f"sqlite:///{folder / 'ingestor.db'}"}
    service = build_service(base_settings(env))

    def served(path: str, method: str = "GET") -> bool:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        return any(route.matches(scope)[0] == Match.FULL for route in service.app.routes)

    try:
        yield served
    finally:
        service.db.close()
