"""Run the simulator in-process on an ephemeral 127.0.0.1 port (tests, demo): ``SimulatorServer``.

A uvicorn server in a daemon thread on a socket bound before start, so ``url`` is known at once.
Imports only ``ingestor.simulator`` and the foundation ``ingestor.serving``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import uvicorn

from ingestor.serving import ThreadedServer
from ingestor.simulator.app import create_app
from ingestor.simulator.dataset import Dataset
from ingestor.simulator.faults import FaultState
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.ratelimit import RateLimiter
from ingestor.simulator.routes_common import TokenResolver


class SimulatorServer:
    """``with SimulatorServer(options) as sim: httpx.get(sim.url + "/health")``.

    ``dataset`` is the live dataset (mutate it, or use the ``/__sim`` admin API); ``faults`` and
    ``limiter`` are the fault-injection and rate-limit state.
    """

    def __init__(
        self,
        options: SimulatorOptions | None = None,
        *,
        dataset: Dataset | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token_resolvers: Sequence[TokenResolver] = (),
    ) -> None:
        self.options = options or SimulatorOptions()
        self.app = create_app(self.options, dataset=dataset, token_resolvers=token_resolvers)
        self.dataset: Dataset = self.app.state.sim.dataset
        self.faults: FaultState = self.app.state.faults
        self.limiter: RateLimiter = self.app.state.limiter
        self._server = ThreadedServer(
            uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off"),
            host=host,
            port=port,
            name="simulator",
        )

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        """Bind, serve in a background thread and wait until uvicorn accepts connections."""
        self._server.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Release hanging requests, ask uvicorn to exit and wait for the thread."""
        self.faults.release_hangs()
        self._server.stop(timeout)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
