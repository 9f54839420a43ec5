"""``ingestor serve`` as real OS processes sharing one config file: start, wait for ``/ready``, SIGKILL, stop.

Each replica gets its port from ``INGESTOR__server__port`` (so one file serves all) and writes its log to a
file of its own. Secrets reach the processes through environment variables the config file references.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ingestor_command() -> list[str]:
    """The installed ``ingestor`` console script next to this interpreter (``-m ingestor.cli`` otherwise)."""
    script = Path(sys.executable).with_name("ingestor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ingestor.cli"]


@dataclass
class ReplicaProcess:
    """One ``ingestor serve --config FILE`` process on ``127.0.0.1:port``."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    replica_id: str = ""
    """The scheduler's replica id (``/status`` ``service.replica``), known once it is ready."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.get(self.url + path, headers=headers, timeout=30, **kwargs)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no lease release, no commit of a running crawl."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """SIGTERM and wait (the service stops its scheduler and store); SIGKILL if it hangs."""
        if not self.alive:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)


def start_replica(
    name: str, config: Path, env: Mapping[str, str], log_dir: Path, port: int | None = None
) -> ReplicaProcess:
    """Launch one replica (returns at once; see ``wait_ready``)."""
    port = port or free_port()
    log = log_dir / f"{name}.log"
    environment = {**os.environ, **env, "INGESTOR__server__port": str(port), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*ingestor_command(), "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
        )
    return ReplicaProcess(name, port, proc, log)


def wait_ready(
    replicas: Iterable[ReplicaProcess], token: str, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Until every replica answers ``/ready`` with 200; then read its replica id from ``/status``."""
    deadline = time.monotonic() + timeout
    for replica in replicas:
        while True:
            if not replica.alive:
                raise AssertionError(f"{replica.name} exited:\n{replica.log_text()[-4000:]}")
            try:
                if replica.get("/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{replica.name} never became ready:\n{replica.log_text()[-4000:]}")
            time.sleep(0.2)
        status = replica.get("/status", token)
        status.raise_for_status()
        replica.replica_id = str(status.json()["service"]["replica"])


def stop_all(replicas: Iterable[ReplicaProcess]) -> None:
    """SIGTERM to every replica at once, then wait for each (SIGKILL for one that hangs)."""
    replicas = list(replicas)
    for replica in replicas:
        if replica.alive:
            replica.proc.terminate()
    for replica in replicas:
        replica.stop()
