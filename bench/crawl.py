"""Crawl benchmark: a generated tenant behind the simulator (its own process, Palette's rate limits, added
latency), crawled into a fresh SQLite store twice (a first crawl, then an unchanged re-crawl).

Prints, per crawl: API calls made and the minimum the data needs, detail calls, wall time, the time
Palette's rate limits allow for those calls, 429s and retries, and the peak RSS of this process (the
simulator runs in a child process, so its memory is not counted). Targets: calls within 5% of the
minimum, wall time within 1.2x the rate-limit time, peak RSS under 300 MB, no detail call on the
re-crawl. ``--check`` exits 1 when a target is missed.

    .venv/bin/python bench/crawl.py [--projects 200 --clusters-per-project 50 --latency-ms 50] [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

PAGE = 50
TARGET_CALLS = 1.05
TARGET_WALL = 1.2
TARGET_RSS_MB = 300


def _minimum(dataset: Any) -> dict[str, int]:
    """Calls the data needs: pages per list (``ceil(items / 50)``, at least 1) per scope and kind, plus one
    detail per cluster group. Counted from the simulator's own data, not from what the crawler saw."""
    from ingestor.simulator.dataset import owner_of
    from ingestor.simulator.index import Index

    index = Index(dataset)
    projects = list(dataset.collection("projects"))
    clusters: Counter[str] = Counter()
    virtual: Counter[str] = Counter()
    for row in index.rows.values():
        if not row.deleted:
            (virtual if row.env == "nested" else clusters)[row.project_uid] += 1
    groups = Counter(owner_of(g)[1] for g in dataset.collection("clusterGroups").values())
    families = Counter(key[1] for key in index.families)

    def pages(n: int) -> int:
        return max(1, math.ceil(n / PAGE))

    scopes = ["", *projects]  # "" is the tenant scope (tenant- and system-owned objects)
    lists = pages(len(projects)) + sum(
        pages(clusters[s]) + pages(virtual[s]) + 1 + pages(families[s]) for s in scopes
    )
    return {
        "lists": lists,
        "details": sum(groups.values()),
        "projects": len(projects),
        "clusters": sum(clusters.values()),
        "virtual_clusters": sum(virtual.values()),
        "cluster_groups": sum(groups.values()),
        "profile_versions": len(dataset.collection("clusterProfiles")),
    }


def _serve(conn: Connection, shape: dict[str, Any]) -> None:
    """Child process: run the simulator, report its URL and the minimum calls, wait for the word to stop."""
    from ingestor.logging import configure_logging
    from ingestor.simulator.options import SimulatorOptions
    from ingestor.simulator.server import SimulatorServer

    configure_logging("warning")
    server = SimulatorServer(SimulatorOptions(**shape)).start()
    conn.send({"url": server.url, "minimum": _minimum(server.dataset)})
    conn.recv()
    server.stop()


@dataclass
class Figures:
    label: str
    calls: int
    minimum: int
    details: int
    wall: float
    crawl: float
    rate_time: float
    limited: int
    retries: int
    status: str
    rss_mb: float


def _rate_time(snapshot: Mapping[str, Mapping[str, float]], options: Any) -> float:
    """Seconds Palette's buckets need for these attempts: max over buckets of (attempts - burst) / rate."""
    from ingestor.palette.ratelimit import RateLimiter

    limiter = RateLimiter.from_options(options)
    per_bucket: Counter[str] = Counter()
    for key, counters in snapshot.items():
        per_bucket[limiter.bucket_key(key.split(" ", 1)[1])] += int(counters["attempts"])
    seconds = 0.0
    for bucket, attempts in per_bucket.items():
        limit = options.rate_limits.get(bucket, options.fallback_rate_limit)
        seconds = max(seconds, max(0, attempts - limit.burst) / limit.rate)
    return seconds


def _delta(
    after: Mapping[str, Mapping[str, float]], before: Mapping[str, Mapping[str, float]]
) -> dict[str, Any]:
    out: dict[str, dict[str, float]] = {}
    for key, counters in after.items():
        old = before.get(key, {})
        out[key] = {name: value - old.get(name, 0) for name, value in counters.items()}
    return out


async def _crawls(url: str, minimum: Mapping[str, int], database: str) -> list[Figures]:
    from ingestor.config import settings_from_dict
    from ingestor.crawl.request import palette_client
    from ingestor.crawl.service import run_crawl
    from ingestor.store import migrate, queries
    from ingestor.store.db import Database

    migrate.upgrade(database)
    db = Database(database)
    env_block = {"name": "bench", "url": url, "apiToken": "demo-api-key"}
    settings = settings_from_dict(
        {"spectrocloud": {"environments": [env_block]}, "database": {"url": database}}
    )
    env = settings.spectrocloud.environments[0]
    options = settings.palette.client_options()
    figures: list[Figures] = []
    try:
        async with palette_client(settings, env) as client:
            for label, wanted in (
                ("first crawl", minimum["lists"] + minimum["details"]),
                ("re-crawl", minimum["lists"]),
            ):
                before = client.stats.snapshot()
                started = time.monotonic()
                result = await run_crawl(
                    settings, env, db, trigger="manual", replica_id="bench", client=client
                )
                wall = time.monotonic() - started
                calls = _delta(client.stats.snapshot(), before)
                run = queries.last_run(db, "bench")
                assert run is not None
                figures.append(
                    Figures(
                        label=label,
                        calls=int(sum(c["calls"] for c in calls.values())),
                        minimum=wanted,
                        details=run.detail_calls,
                        wall=wall,
                        crawl=run.duration_seconds,
                        rate_time=_rate_time(calls, options),
                        limited=int(sum(c["rate_limited"] for c in calls.values())),
                        retries=int(sum(c["retries"] for c in calls.values())),
                        status=result.status,
                        rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    )
                )
    finally:
        db.close()
    return figures


def _report(shape: Mapping[str, Any], minimum: Mapping[str, int], figures: list[Figures]) -> bool:
    print(
        f"tenant: {minimum['projects']} projects, {minimum['clusters']} live clusters, "
        f"{minimum['virtual_clusters']} virtual clusters, {minimum['cluster_groups']} cluster groups, "
        f"{minimum['profile_versions']} profile versions; latency {shape['latency_ms']:g} ms, "
        f"rate limits {'on' if shape['rate_limits'] else 'off'}"
    )
    ok = True
    for f in figures:
        calls_ok = f.calls <= f.minimum * TARGET_CALLS
        wall_ok = f.wall <= max(f.rate_time, 1.0) * TARGET_WALL
        rss_ok = f.rss_mb < TARGET_RSS_MB
        details_ok = f.label == "first crawl" or f.details == 0
        ok = ok and calls_ok and wall_ok and rss_ok and details_ok and f.status == "ok"
        mark = {True: "ok", False: "MISSED"}
        print(f"\n{f.label} (status {f.status})")
        print(
            f"  API calls        {f.calls:>8}   minimum {f.minimum} "
            f"({f.calls / f.minimum:.3f}x)  {mark[calls_ok]}"
        )
        print(f"  detail calls     {f.details:>8}   {mark[details_ok]}")
        print(f"  429s / retries   {f.limited:>8} / {f.retries}")
        print(
            f"  wall time        {f.wall:>8.1f}s  "
            f"(crawl {f.crawl:.1f}s, map and commit {f.wall - f.crawl:.1f}s)"
        )
        print(
            f"  rate-limit time  {f.rate_time:>8.1f}s  wall/limit {f.wall / max(f.rate_time, 1e-9):.2f}x  "
            f"{mark[wall_ok]}"
        )
        print(f"  peak RSS         {f.rss_mb:>8.0f} MB (process peak so far)  {mark[rss_ok]}")
    print("\nall targets met" if ok else "\nsome targets MISSED")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--clusters-per-project", type=int, default=50)
    parser.add_argument("--virtual-clusters", type=int, default=2, help="per project")
    parser.add_argument("--cluster-groups", type=int, default=2, help="tenant-scope groups")
    parser.add_argument("--profiles", type=int, default=3, help="add-on families per project")
    parser.add_argument("--profile-versions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rate-limits", choices=("on", "off"), default="on")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    shape = {
        "projects": args.projects,
        "clusters_per_project": args.clusters_per_project,
        "virtual_clusters": args.virtual_clusters,
        "cluster_groups": args.cluster_groups,
        "profiles": args.profiles,
        "profile_versions": args.profile_versions,
        "latency_ms": args.latency_ms,
        "rate_limits": args.rate_limits == "on",
    }
    from ingestor.logging import configure_logging

    configure_logging("warning")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, shape), daemon=True)
    server.start()
    try:
        hello = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            database = f"sqlite:///{Path(tmp) / 'bench.db'}"
            figures = asyncio.run(_crawls(hello["url"], hello["minimum"], database))
    finally:
        parent.send("stop")
        server.join(15)
    met = _report(shape, hello["minimum"], figures)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
