"""``ingestor demo``: the simulator, a survey of it, then store + scheduler + server in one process.

A composition root like ``cli``: it wires the simulator, the Palette client and the service together,
waits for the first crawl and prints the URLs and a Backstage app-config snippet.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestor.api.server import BackgroundServer, Service, build_service
from ingestor.config import Settings, settings_from_dict
from ingestor.logging import register_secrets
from ingestor.palette.client import PaletteClient
from ingestor.palette.credentials import ApiKey
from ingestor.palette.options import ClientOptions
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import queries
from ingestor.store.rows import RunRow

INSTANCE = "demo"
REFRESH_SECONDS = 60
FIRST_CRAWL_TIMEOUT = 300.0
STORE_FILE = "ingestor.db"


@dataclass(frozen=True)
class DemoOptions:
    """Where the demo's ingestor listens and keeps its store; ``once`` exits after the first crawl."""

    host: str = "127.0.0.1"
    port: int = 7007
    folder: Path = Path(".demo")
    once: bool = False


@dataclass
class ProjectSurvey:
    """What one scope (a project, or the tenant) holds."""

    name: str
    uid: str | None
    clusters: int = 0
    virtual_clusters: int = 0
    cluster_groups: int = 0
    profiles: int = 0
    profile_versions: int = 0
    cloud_types: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)


async def _survey_scope(client: PaletteClient, survey: ProjectSurvey) -> ProjectSurvey:
    """Fill ``survey`` from the list endpoints of one scope; tenant scope keeps only tenant-owned objects."""
    uid = survey.uid
    clusters, virtual, groups, profiles = await asyncio.gather(
        client.list_clusters(uid).collect(),
        client.list_virtual_clusters(uid).collect(),
        client.list_cluster_groups(uid),
        client.search_profiles({"filter": {"scope": "project" if uid else "tenant"}}, uid).collect(),
    )
    if uid is None:
        clusters = [c for c in clusters if c.metadata.scope == "tenant"]
        virtual = [c for c in virtual if c.metadata.scope == "tenant"]
        groups = [g for g in groups if g.metadata.scope in ("tenant", "system")]
    else:
        groups = [g for g in groups if g.metadata.project_uid == uid]
    survey.clusters = len(clusters)
    survey.virtual_clusters = len(virtual)
    survey.cluster_groups = len(groups)
    survey.profiles = len({(p.name, p.metadata.scope) for p in profiles})
    survey.profile_versions = len(
        {v.uid for p in profiles for v in p.spec_summary.versions} | {p.uid for p in profiles}
    )
    survey.cloud_types.update(c.cloud_type or "unknown" for c in clusters)
    survey.states.update(c.state or "unknown" for c in [*clusters, *virtual])
    return survey


async def survey(client: PaletteClient) -> list[ProjectSurvey]:
    """Survey the tenant scope and every project, concurrently within the client's limits."""
    projects = await client.list_projects().collect()
    scopes = [ProjectSurvey(name="(tenant)", uid=None)]
    scopes += [ProjectSurvey(name=p.name, uid=p.uid) for p in sorted(projects, key=lambda p: p.name)]
    return list(await asyncio.gather(*(_survey_scope(client, s) for s in scopes)))


def render(rows: list[ProjectSurvey], calls: dict[str, float], url: str) -> str:
    """A plain-text report of the survey."""
    header = f"{'scope':<28} {'clusters':>8} {'virtual':>8} {'groups':>7} {'profiles':>9} {'versions':>9}"
    lines = [f"Palette simulator at {url}", "", header, "-" * len(header)]
    lines += [render_row(r) for r in rows]
    total = ProjectSurvey(name="total", uid=None)
    for r in rows:
        total.clusters += r.clusters
        total.virtual_clusters += r.virtual_clusters
        total.cluster_groups += r.cluster_groups
        total.profiles += r.profiles
        total.profile_versions += r.profile_versions
        total.cloud_types.update(r.cloud_types)
        total.states.update(r.states)
    lines += ["-" * len(header), render_row(total), ""]
    lines.append("cloud types: " + ", ".join(f"{k} {v}" for k, v in sorted(total.cloud_types.items())))
    lines.append("states:      " + ", ".join(f"{k} {v}" for k, v in sorted(total.states.items())))
    lines.append(
        f"Palette calls: {int(calls.get('calls', 0))}, retries: {int(calls.get('retries', 0))},"
        f" 429s: {int(calls.get('rate_limited', 0))}"
    )
    return "\n".join(lines)


def render_row(r: ProjectSurvey) -> str:
    """One table row."""
    return (
        f"{r.name[:28]:<28} {r.clusters:>8} {r.virtual_clusters:>8} {r.cluster_groups:>7}"
        f" {r.profiles:>9} {r.profile_versions:>9}"
    )


async def _survey(url: str, api_key: str) -> str:
    async with PaletteClient(url, ApiKey(api_key), options=ClientOptions(), instance="demo") as client:
        rows = await survey(client)
        return render(rows, client.stats.totals(), url)


def demo_settings(palette_url: str, api_key: str, demo: DemoOptions, token: str) -> Settings:
    """The demo's configuration: one instance on the simulator, SQLite under ``demo.folder``."""
    store = (demo.folder / STORE_FILE).resolve()
    data: dict[str, Any] = {
        "spectrocloud": {
            "environments": [
                {
                    "name": INSTANCE,
                    "url": palette_url,
                    "tenant": "demo",
                    "apiToken": api_key,
                    "catalogProvider": {"refreshIntervalSeconds": REFRESH_SECONDS},
                }
            ]
        },
        "server": {"host": demo.host, "port": demo.port},
        "database": {"url": f"sqlite:///{store}"},
        "scheduler": {"jitterSeconds": 5, "runOnStart": True},
        "console": {"anonymousRead": True},  # the console reads without sign-in; "crawl now" needs the token
        "auth": {
            "externalAccess": [{"type": "static", "options": {"token": token, "subject": "demo"}}],
            # The store is wiped at each start, so a per-run key loses nothing (and keeps the log quiet).
            "sessions": {"encryptionKey": secrets.token_urlsafe(32)},
        },
    }
    return settings_from_dict(data, env={})


def reset_store(folder: Path) -> None:
    """A fresh store per demo run (the simulator's data changes with its flags)."""
    for suffix in ("", "-wal", "-shm"):
        (folder / f"{STORE_FILE}{suffix}").unlink(missing_ok=True)


def wait_first_run(service: Service, timeout: float = FIRST_CRAWL_TIMEOUT) -> RunRow | None:
    """The first recorded run of the demo instance (``None`` if none finished within ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = queries.last_run(service.db, INSTANCE)
        if run is not None:
            return run
        time.sleep(0.1)
    return None


def render_ready(url: str, run: RunRow, token: str, next_run: str | None) -> str:
    """URLs, the first crawl's outcome and a Backstage app-config snippet."""
    host = url.split("://", 1)[1]
    entities = sum(run.counts.values())
    lines = [
        "",
        f"The ingestor serves at {url}",
        f"  catalog (YAML):      {url}/catalog/entities.yaml",
        f"  one instance:        {url}/catalog/entities.yaml?instance={INSTANCE}",
        f"  catalog (JSON):      {url}/catalog/entities.json",
        f"  Backstage location:  {url}/catalog/location.yaml",
        f'  status:              curl -H "Authorization: Bearer {token}" {url}/status',
        f"  plugin API:          {url}/api/spectrocloud/health (the rest needs the token too)",
        f"  MCP (streamable):    {url}/mcp (Authorization: Bearer <the token>)",
        f"  probes:              {url}/health  {url}/ready",
        f"  console:             {url}/ (no sign-in needed to read; sign in with the token to crawl now)",
        "",
        f"First crawl: {run.status}, {entities} entities in {run.duration_seconds:.1f} s"
        f" ({run.calls} Palette calls, {run.retries} retries, {run.rate_limited} 429s).",
    ]
    if run.error_message:
        lines.append(f"  error: {run.error_class}: {run.error_message}")
    if next_run:
        lines.append(f"Next crawl at {next_run} (every {REFRESH_SECONDS} s).")
    lines += [
        "Crawl now:",
        f'  curl -X POST -H "Authorization: Bearer {token}" "{url}/status/crawl?instance={INSTANCE}"',
        "",
        "Backstage app-config.yaml:",
        "  catalog:",
        "    rules:",
        "      - allow: [Component, API, Location, System, Resource]",
        "    locations:",
        "      - type: url",
        f"        target: {url}/catalog/location.yaml",
        "  backend:",
        "    reading:",
        "      allow:",
        f"        - host: {host}",
    ]
    return "\n".join(lines)


def run_demo(options: SimulatorOptions, demo: DemoOptions | None = None) -> int:
    """Simulator, survey, then the service; serve until Ctrl+C (or exit after the first crawl: ``once``)."""
    demo = demo or DemoOptions()
    with SimulatorServer(options) as sim:
        print(asyncio.run(_survey(sim.url, options.api_key)), flush=True)
        token = secrets.token_urlsafe(24)
        settings = demo_settings(sim.url, options.api_key, demo, token)
        register_secrets(settings.secret_values())
        reset_store(demo.folder)
        service = build_service(settings)
        server = BackgroundServer(service, host=demo.host, port=demo.port)
        try:
            server.start()
        except OSError as exc:
            service.db.close()
            print(
                f"ingestor: cannot listen on {demo.host}:{demo.port} ({exc.strerror}); try --port",
                file=sys.stderr,
            )
            return 1
        try:
            return _serve(server, token, once=demo.once)
        finally:
            server.stop()


def _serve(server: BackgroundServer, token: str, *, once: bool) -> int:
    run = wait_first_run(server.service)
    if run is None:
        print("ingestor: the first crawl did not finish in time", file=sys.stderr)
        return 1
    next_run = server.service.scheduler.next_run_at(INSTANCE)
    print(render_ready(server.url, run, token, next_run.isoformat() if next_run else None), flush=True)
    if once:
        return 0 if run.status != "failed" else 1
    print("\nServing until Ctrl+C.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    return 0
