"""Fixtures for the catalog tests: Backstage's own validator (Node), installed on demand."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"  # gitignored
VALIDATOR = HERE / "tools" / "validate-entities.cjs"
PACKAGES = {"@backstage/catalog-model": "1.10.1", "yaml": "2.9.1"}

Validate = Callable[[Path], subprocess.CompletedProcess[str]]


def _installed() -> bool:
    for package, version in PACKAGES.items():
        manifest = NODE_DIR / "node_modules" / package / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"Backstage's validator is required in CI: {reason}")
    pytest.skip(f"Backstage's validator is not available ({reason}); install node and npm to run it")


@dataclass(frozen=True)
class Node:
    """``node`` with ``@backstage/catalog-model`` and ``yaml`` on its ``NODE_PATH``."""

    executable: str
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.executable, *args], capture_output=True, text=True, env=self.env, timeout=120, check=False
        )


@pytest.fixture(scope="session")
def node() -> Node:
    """Installs the pinned packages into tests/catalog/.node on first use. Skips when node or npm is
    missing, except when the ``CI`` environment variable is set (then it fails)."""
    executable, npm = shutil.which("node"), shutil.which("npm")
    if executable is None or npm is None:
        _unavailable("node or npm not found")
    assert executable is not None and npm is not None
    if not _installed():
        NODE_DIR.mkdir(exist_ok=True)
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        cmd = [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(NODE_DIR), *specs]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not _installed():
            _unavailable(f"npm install failed: {done.stderr.strip()[-400:]}")
    return Node(executable, {**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")})


@pytest.fixture(scope="session")
def backstage_validate(node: Node) -> Validate:
    """Run tools/validate-entities.cjs (Backstage's own checks, catalog-model 1.10.1) on a file."""

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return node.run(str(VALIDATOR), str(path))

    return validate
