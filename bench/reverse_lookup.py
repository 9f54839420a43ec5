"""Reverse-lookup benchmark: latency of ``find_spectrocloud_clusters_for_profile``'s own work.

Crawls a generated simulator tenant (default 200 projects x 50 clusters: about 10,000 clusters) into a
temporary SQLite store, then times, for the profile families with the most users and for a typical one,
the tool's work without the MCP transport: the store's edge query, the users' fields and the output
shaping (``clusters_for_profile``), and the same with the title resolution in front (``find_entity``).
Target: under 5 ms median for a typical family's lookup (``--check`` exits 1 when it is missed); the largest
families (thousands of users) are printed with their cost per user, since their answer grows with them.

    .venv/bin/python bench/reverse_lookup.py [--projects 200 --clusters-per-project 50] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ingestor.access.clients import PaletteClients
from ingestor.auth.gate import PermissionGate
from ingestor.config import Settings, settings_from_dict
from ingestor.crawl.service import run_crawl
from ingestor.logging import configure_logging
from ingestor.mcp.context import McpDeps
from ingestor.mcp.resolve import Found, find_entity, prefix_of
from ingestor.mcp.tools_catalog import clusters_for_profile
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import lookups, migrate, queries
from ingestor.store.db import Database

TARGET_MEDIAN_MS = 5.0
API_KEY = "bench-api-key-0123456789"


def _figures(label: str, ms: list[float]) -> tuple[str, float]:
    median = statistics.median(ms)
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 20 else max(ms)
    return f"{label:<58} median {median:7.3f} ms   p95 {p95:7.3f} ms", median


async def _timings(work: Callable[[], Awaitable[object]], repeat: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await work()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def _bench(settings: Settings, db: Database, repeat: int, families: int) -> bool:
    env = settings.spectrocloud.environments[0]
    started = time.monotonic()
    result = await run_crawl(settings, env, db, trigger="manual", replica_id="bench")
    print(f"crawl: {result.status} in {time.monotonic() - started:.1f} s")
    clusters = queries.current_entities(db, "bench", palette_kind="cluster").entities
    profiles = queries.current_entities(db, "bench", palette_kind="cluster-profile").entities
    print(f"store: {len(clusters)} clusters, {len(profiles)} profile families")
    deps = McpDeps(settings, db, PermissionGate(enabled=False, services={}), PaletteClients(settings))
    prefix = prefix_of(deps)
    ranked = sorted(
        ((len(lookups.clusters_using_profile(db, "bench", row.key)), row) for row in profiles),
        key=lambda item: -item[0],
    )
    typical = ranked[len(ranked) // 2]
    used = [(False, *item) for item in ranked[:families]] + [(True, *typical)]
    ok = True
    try:
        for is_typical, users, row in used:
            found = Found(row, prefix)

            async def lookup_only(f: Found = found) -> object:
                return await clusters_for_profile(deps, f)

            lookup = await _timings(lookup_only, repeat)
            label = "typical" if is_typical else "largest"
            line, median = _figures(f"lookup  {label} {found.title!r} ({users} users)", lookup)
            per_user = f"   {median * 1000 / max(users, 1):6.1f} us/user" if not is_typical else ""
            print(line + per_user)
            if is_typical:
                ok = median < TARGET_MEDIAN_MS
            title, project = found.title, row.project_uid

            async def resolved(t: str = title, p: str | None = project) -> object:
                hit = await find_entity(deps, "cluster-profile", t, project_uid=p)
                return await clusters_for_profile(deps, hit)

            print(_figures(f"resolve+lookup  {title!r}", await _timings(resolved, repeat))[0])
    finally:
        await deps.clients.aclose()
    print(f"target: typical lookup median < {TARGET_MEDIAN_MS} ms: {'met' if ok else 'MISSED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--clusters-per-project", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--families", type=int, default=2, help="largest profile families timed")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    options = SimulatorOptions(
        api_key=API_KEY,
        projects=args.projects,
        clusters_per_project=args.clusters_per_project,
        rate_limits=False,
    )
    with tempfile.TemporaryDirectory() as tmp, SimulatorServer(options) as sim:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = settings_from_dict(
            {
                "spectrocloud": {"environments": [{"name": "bench", "url": sim.url, "apiToken": API_KEY}]},
                "database": {"url": url},
            }
        )
        migrate.upgrade(url)
        db = Database(url)
        try:
            ok = asyncio.run(_bench(settings, db, args.repeat, args.families))
        finally:
            db.close()
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
