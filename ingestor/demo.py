"""``ingestor demo``: start the built-in Palette simulator, survey it once and print what was found.

A composition root like ``cli``: it wires the simulator and the Palette client together. Later
issues grow this into the full demo (store, scheduler, server); the survey stays the first step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

from ingestor.palette.client import PaletteClient
from ingestor.palette.credentials import ApiKey
from ingestor.palette.options import ClientOptions
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer


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


async def _run(url: str, api_key: str) -> str:
    async with PaletteClient(url, ApiKey(api_key), options=ClientOptions(), instance="demo") as client:
        rows = await survey(client)
        return render(rows, client.stats.totals(), url)


def run_demo(options: SimulatorOptions, *, keep_running: bool = False) -> int:
    """Start the simulator, survey it, print the report; optionally keep the simulator up."""
    with SimulatorServer(options) as sim:
        print(asyncio.run(_run(sim.url, options.api_key)))
        if keep_running:
            print(f"\nThe simulator keeps running at {sim.url} (API key via --api-key). Ctrl+C stops it.")
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(asyncio.Event().wait())
    return 0
