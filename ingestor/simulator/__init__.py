"""A Palette REST API simulator: deterministic data, Palette's shapes, paging, errors and limits.

The same client code works against it and a real Palette. See docs/simulator.md.
Never imports httpx; of ours only ``ingestor.palette`` options/schema and ``ingestor.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingestor.simulator.app import build_dataset, create_app
    from ingestor.simulator.dataset import Dataset
    from ingestor.simulator.fixture import dump_fixture, load_fixture
    from ingestor.simulator.options import SimulatorOptions
    from ingestor.simulator.server import SimulatorServer

_EXPORTS = {
    "SimulatorOptions": "ingestor.simulator.options",
    "SimulatorServer": "ingestor.simulator.server",
    "create_app": "ingestor.simulator.app",
    "build_dataset": "ingestor.simulator.app",
    "Dataset": "ingestor.simulator.dataset",
    "dump_fixture": "ingestor.simulator.fixture",
    "load_fixture": "ingestor.simulator.fixture",
}
__all__ = [
    "Dataset",
    "SimulatorOptions",
    "SimulatorServer",
    "build_dataset",
    "create_app",
    "dump_fixture",
    "load_fixture",
]


def __getattr__(name: str) -> Any:
    """Import lazily so ``ingestor --help`` does not load Starlette and uvicorn."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)
