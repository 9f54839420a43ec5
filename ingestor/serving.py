"""Uvicorn on a pre-bound TCP socket, in a background thread: the in-process server of tests and the demo.

Foundation layer: imports nothing of ours. Both the service (``api.server``) and the Palette simulator
use it, so the socket and start/stop details live in one place.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (``port`` 0: any free port)."""
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP. Without it, Nagle and
    # delayed ACKs add 40 ms to every keep-alive request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class ThreadedServer:
    """A ``uvicorn.Server`` serving on a socket bound at ``start``, in a daemon thread."""

    def __init__(self, config_factory: uvicorn.Config, *, host: str, port: int, name: str) -> None:
        self._config = config_factory
        self.host = host
        self._port = port
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError(f"the {self._name} is not running")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float) -> None:
        """Bind, serve in a thread and wait until uvicorn accepts connections."""
        if self._thread is not None:
            return
        self._socket = bind(self.host, self._port)
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=self._name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(timeout)
                raise RuntimeError(f"the {self._name} did not start")
            time.sleep(0.005)

    def stop(self, timeout: float) -> None:
        """Ask uvicorn to exit, wait for the thread and close the socket."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None
        self._socket = None
