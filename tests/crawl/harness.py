"""Test helper (not a test module): a simulator, a store and settings, with shortcuts to crawl and look.

Expected counts come from the simulator's own records (``expected_counts``), not from the crawler.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ingestor.config import EnvironmentSettings, Settings, settings_from_dict
from ingestor.crawl.request import palette_client
from ingestor.crawl.service import run_crawl
from ingestor.palette.client import PaletteClient
from ingestor.simulator import SimulatorServer
from ingestor.simulator.dataset import owner_of
from ingestor.simulator.faults_spec import Fault
from ingestor.simulator.index import cloud_type
from ingestor.store import queries
from ingestor.store.db import Database
from ingestor.store.rows import EntityRow, PartOutcomeRow, RunRow
from ingestor.store.writer import CommitResult

TOKEN = "crawl-test-key-5f2a9c71e0"
INSTANCE = "sim"
GROUP_DETAIL = "GET /v1/clustergroups/{uid}"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``extra`` into ``base`` (in place) and return it."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def base_settings(url: str) -> dict[str, Any]:
    """Fast, small limits: no client-side throttling, short timeouts, tiny back-off."""
    return {
        "spectrocloud": {"environments": [{"name": INSTANCE, "url": url, "apiToken": TOKEN}]},
        "palette": {
            "timeouts": {"connect": 2, "read": 2, "total": 4},
            "retries": {"maxAttempts": 3, "backoffInitialSeconds": 0.01, "backoffMaxSeconds": 0.05},
            "rateLimits": {"enabled": False},
        },
        "crawl": {"maxConcurrentProjects": 4},
    }


def settings_for(url: str, overrides: dict[str, Any] | None = None) -> Settings:
    return settings_from_dict(merge(copy.deepcopy(base_settings(url)), overrides or {}), env={})


@dataclass
class Harness:
    sim: SimulatorServer
    db: Database
    settings: Settings

    @property
    def env(self) -> EnvironmentSettings:
        return self.settings.spectrocloud.environments[0]

    def configure(self, overrides: dict[str, Any] | None = None, **env_overrides: Any) -> None:
        """New settings: ``overrides`` merged over the base; ``env_overrides`` into the environment."""
        data = merge(copy.deepcopy(base_settings(self.sim.url)), overrides or {})
        merge(data["spectrocloud"]["environments"][0], env_overrides)
        self.settings = settings_from_dict(data, env={})

    def client(self) -> PaletteClient:
        return palette_client(self.settings, self.env)

    async def crawl(self, client: PaletteClient | None = None) -> CommitResult:
        return await run_crawl(
            self.settings, self.env, self.db, trigger="manual", replica_id="test", client=client
        )

    def fault(self, fault: Fault) -> str:
        return self.sim.faults.add(fault)

    # --- what the store holds ---------------------------------------------------------------

    def entities(self) -> dict[str, EntityRow]:
        return {e.ref: e for e in queries.current_entities(self.db, INSTANCE).entities}

    def stored(self, scope: str | None = None) -> dict[str, tuple[Any, str, Any]]:
        """What a crawl may change, per ref: body, content hash and when it last changed (of one scope)."""
        return {
            ref: (e.body, e.content_hash, e.changed_at)
            for ref, e in self.entities().items()
            if scope is None or e.part[0] == scope
        }

    def counts(self) -> Counter[str]:
        return Counter(e.palette_kind for e in self.entities().values())

    def last_run(self) -> RunRow:
        run = queries.last_run(self.db, INSTANCE)
        assert run is not None
        return run

    def outcomes(self) -> dict[tuple[str, str], PartOutcomeRow]:
        return {(o.scope, o.kind): o for o in self.last_run().outcomes}

    def version(self) -> int:
        state = queries.instance_state(self.db, INSTANCE)
        return state.snapshot_version if state is not None else 0

    # --- what the simulator holds -----------------------------------------------------------

    def projects(self) -> dict[str, str]:
        """Project name -> uid."""
        return {p["metadata"]["name"]: uid for uid, p in self.sim.dataset.collection("projects").items()}

    def clusters_of(self, project_uid: str, *, virtual: bool = False) -> list[str]:
        """Uids of the live clusters (or virtual clusters) a project owns ("" = the tenant)."""
        out = []
        for uid, record in self.sim.dataset.collection("clusters").items():
            nested = cloud_type(record) == "nested"
            live = (record.get("status") or {}).get("state") != "Deleted"
            if owner_of(record)[1] == project_uid and nested == virtual and live:
                out.append(uid)
        return sorted(out)

    def expected_counts(self) -> Counter[str]:
        """Entities per palette kind the simulator's data should produce (every object valid)."""
        ds = self.sim.dataset
        counts: Counter[str] = Counter()
        counts["project"] = len(ds.collection("projects"))
        for record in ds.collection("clusters").values():
            if (record.get("status") or {}).get("state") != "Deleted":
                counts["virtual-cluster" if cloud_type(record) == "nested" else "cluster"] += 1
        counts["cluster-group"] = len(ds.collection("clusterGroups"))
        families = {(*owner_of(p), p["metadata"]["name"]) for p in ds.collection("clusterProfiles").values()}
        counts["cluster-profile"] = len(families)
        return counts
