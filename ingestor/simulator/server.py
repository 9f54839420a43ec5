"""Run the simulator in-process on an ephemeral 127.0.0.1 port (tests, demo): ``SimulatorServer``.

A uvicorn server in a daemon thread on a socket bound before start, so ``url`` is known at once.
Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType

import uvicorn

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
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not running")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        """Bind, serve in a background thread and wait until uvicorn accepts connections."""
        if self._thread is not None:
            return self
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
        # socket says it is TCP. Without it, Nagle + delayed ACK add 40 ms to every keep-alive call.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Release hanging requests, ask uvicorn to exit and wait for the thread."""
        self.faults.release_hangs()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None
        self._socket = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
