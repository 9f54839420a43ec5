"""Fixtures of the RBAC tests: a policy file writer that always moves the mtime, and a fake clock."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class FakeClock:
    """A monotonic clock the test advances by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PolicyWriter:
    """Writes the policy CSV and bumps its mtime, so same-size edits within one tick are still seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime_ns = 1_700_000_000_000_000_000

    def write(self, text: str) -> Path:
        self.path.write_text(text, encoding="utf-8")
        self._mtime_ns += 1_000_000_000
        os.utime(self.path, ns=(self._mtime_ns, self._mtime_ns))
        return self.path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(tmp_path: Path) -> PolicyWriter:
    return PolicyWriter(tmp_path / "rbac-policy.csv")
