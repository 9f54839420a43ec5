"""Catalog serving benchmark: full YAML, gzip and 304 times of ``/catalog/entities.yaml`` vs static servers.

Crawls a generated simulator tenant into a temporary SQLite store, serves it with the real service on
127.0.0.1 and times sequential keep-alive requests. The same bytes are then served as a file by Starlette's
StaticFiles on uvicorn (same HTTP stack) and by Python's http.server. Targets: a 304 in under 2 ms; the full
YAML within 1.5x the faster static server. ``--check`` exits 1 when a target is missed.

    .venv/bin/python bench/catalog.py [--projects 20 --clusters-per-project 40] [--requests 200] [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from ingestor.api.server import BackgroundServer, bind, build_service
from ingestor.config import settings_from_dict
from ingestor.logging import configure_logging
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer

TARGET_304_MS = 2.0
TARGET_RATIO = 1.5
API_KEY = "bench-api-key-0123456789"


def _timings(call: Callable[[], object], requests: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    out = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _row(label: str, ms: list[float], size: int | None = None) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 20 else max(ms)
    extra = f"  {size / 1e6:8.2f} MB" if size is not None else ""
    return f"{label:<36} median {statistics.median(ms):8.3f} ms   p95 {p95:8.3f} ms{extra}"


def _get(client: httpx.Client, url: str, headers: dict[str, str], status: int = 200) -> Callable[[], int]:
    def call() -> int:
        with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == status, response.status_code
            return sum(len(chunk) for chunk in response.iter_raw())

    return call


@contextlib.contextmanager
def _static_uvicorn(folder: Path) -> Iterator[str]:
    app = Starlette(routes=[Mount("/", StaticFiles(directory=folder))])
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the others

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _static_stdlib(folder: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _service(sim_url: str, folder: Path) -> BackgroundServer:
    settings = settings_from_dict(
        {
            "spectrocloud": {"environments": [{"name": "bench", "url": sim_url, "apiToken": API_KEY}]},
            "database": {"url": f"sqlite:///{folder / 'bench.db'}"},
            "scheduler": {"jitterSeconds": 0, "runOnStart": True},
            "palette": {"rateLimits": {"enabled": False}},
        },
        env={},
    )
    return BackgroundServer(build_service(settings))


def run(args: argparse.Namespace) -> int:
    options = SimulatorOptions(
        api_key=API_KEY,
        rate_limits=False,
        projects=args.projects,
        clusters_per_project=args.clusters_per_project,
        virtual_clusters=args.virtual_clusters,
        profiles=args.profiles,
    )
    with SimulatorServer(options) as sim, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        with _service(sim.url, folder) as server, httpx.Client(timeout=120) as client:
            url = server.url + "/catalog/entities.yaml"
            while client.get(url, headers={"Accept-Encoding": "identity"}).status_code != 200:
                time.sleep(0.05)
            first = (time.perf_counter() - started) * 1000
            body = client.get(url, headers={"Accept-Encoding": "identity"})
            etag, data = body.headers["etag"], body.content
            entities = data.count(b"---\n")
            full = _timings(_get(client, url, {"Accept-Encoding": "identity"}), args.requests)
            gz = _timings(_get(client, url, {"Accept-Encoding": "gzip"}), args.requests)
            not_modified = _timings(_get(client, url, {"If-None-Match": etag}, 304), args.requests * 5)
            lines = [
                f"{entities} entities, YAML {len(data) / 1e6:.2f} MB; crawl + first body {first / 1e3:.1f} s",
                "",
                _row("service: full YAML", full, len(data)),
                _row("service: full YAML, gzip", gz),
                _row("service: 304 Not Modified", not_modified),
            ]

        (folder / "entities.yaml").write_bytes(data)
        static: dict[str, float] = {}
        for label, server_cm in (
            ("uvicorn StaticFiles", _static_uvicorn),
            ("python http.server", _static_stdlib),
        ):
            with server_cm(folder) as base, httpx.Client(timeout=120) as client:
                static_get = _get(client, base + "/entities.yaml", {"Accept-Encoding": "identity"})
                times = _timings(static_get, args.requests)
                static[label] = statistics.median(times)
                lines.append(_row(f"static: {label}", times, len(data)))

    best = min(static.values())
    ratio = statistics.median(full) / best
    median_304 = statistics.median(not_modified)
    ok_304, ok_ratio = median_304 < TARGET_304_MS, ratio <= TARGET_RATIO
    lines += [
        "",
        f"304 median {median_304:.3f} ms (target < {TARGET_304_MS} ms): {'met' if ok_304 else 'MISSED'}",
        f"full YAML / fastest static server = {ratio:.2f}x (target <= {TARGET_RATIO}x): "
        f"{'met' if ok_ratio else 'MISSED'}",
    ]
    print("\n".join(lines))
    return 0 if (ok_304 and ok_ratio) or not args.check else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--clusters-per-project", type=int, default=40)
    parser.add_argument("--virtual-clusters", type=int, default=5)
    parser.add_argument("--profiles", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per case (304: 5x)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    configure_logging("warning", "console")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
