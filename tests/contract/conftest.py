"""Fixtures for the contract tests: the bundled validator and, when present, the full swagger file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingestor.palette.schema import SpecValidator, load_validator

REPO = Path(__file__).resolve().parents[2]


def swagger_path() -> Path | None:
    """PALETTE_OPENAPI, else ../shared/palette/palette-openapi.json beside the repository; None if absent."""
    env = os.environ.get("PALETTE_OPENAPI")
    path = Path(env) if env else REPO.parent / "shared" / "palette" / "palette-openapi.json"
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def spec_path() -> Path:
    path = swagger_path()
    if path is None:
        pytest.skip("Palette swagger file not found: set PALETTE_OPENAPI or provide ../shared/palette/")
    return path


@pytest.fixture(scope="session")
def validator() -> SpecValidator:
    """The validator over the bundled definitions (what the service uses at runtime)."""
    return load_validator()


@pytest.fixture(scope="session")
def full_validator(spec_path: Path) -> SpecValidator:
    """A validator over all 2102 definitions of the full swagger file."""
    return SpecValidator.from_swagger(spec_path)
