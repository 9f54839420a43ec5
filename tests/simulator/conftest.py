"""Fixtures for the simulator tests: a running simulator per module, an admin client, schema checks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ingestor.palette.schema import SpecValidator, load_validator
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import API_KEY


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """The default demo tenant, rate limits off; tests that change data use ``fresh_sim``."""
    with SimulatorServer(SimulatorOptions(rate_limits=False)) as server:
        yield server


@pytest.fixture
def fresh_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorOptions(rate_limits=False)) as server:
        yield server


@pytest.fixture(scope="module")
def client(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers={"ApiKey": API_KEY}, timeout=10) as c:
        yield c


@pytest.fixture
def fresh_client(fresh_sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fresh_sim.url, headers={"ApiKey": API_KEY}, timeout=10) as c:
        yield c


@pytest.fixture(scope="session")
def validator() -> SpecValidator:
    return load_validator()
