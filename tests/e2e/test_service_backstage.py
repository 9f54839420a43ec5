"""End to end: our service (``ingestor serve``) feeding a real Backstage catalog from the simulator.

Proves issue 3's promise: every entity we serve is ingested with no processing errors and with its
relations; a change in Palette reaches Backstage after a crawl; during a Palette outage no entity
disappears from Backstage (the catalog's orphan cleanup would delete anything we stopped serving).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.e2e.backstage_harness import BackstageCatalog, entity_ref, free_port

pytestmark = pytest.mark.slow

SIM_KEY = "e2e-sim-key-" + secrets.token_hex(8)
TRIGGER_TOKEN = "e2e-trigger-" + secrets.token_hex(8)
ORPHAN_CLEANUP_SECONDS = 30


@dataclass
class Service:
    url: str
    instance: str
    sim: SimulatorServer
    proc: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TRIGGER_TOKEN}"}
        return httpx.get(self.url + path, params=params, headers=headers, timeout=30)

    def crawl(self) -> None:
        """Trigger a crawl and wait until its run is recorded."""
        before = self._last_run_id()
        response = httpx.post(
            f"{self.url}/status/crawl",
            params={"instance": self.instance},
            headers={"Authorization": f"Bearer {TRIGGER_TOKEN}"},
            timeout=30,
        )
        assert response.status_code in (200, 202), response.text
        deadline = time.monotonic() + 120
        while self._last_run_id() == before:
            assert time.monotonic() < deadline, "the triggered crawl never finished"
            time.sleep(0.5)

    def last_run(self) -> dict[str, Any]:
        status = self.get("/status").json()
        instance = next(i for i in status["instances"] if i["name"] == self.instance)
        run: dict[str, Any] = instance.get("lastRun") or {}
        return run

    def _last_run_id(self) -> Any:
        return self.last_run().get("id")

    def served(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("/catalog/entities.json", instance=self.instance).json()[
            "items"
        ]
        return items


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    instance = "e2e" + secrets.token_hex(3)
    options = SimulatorOptions(
        api_key=SIM_KEY, seed=23, projects=2, clusters_per_project=3, virtual_clusters=1, tenant_clusters=1
    )
    with SimulatorServer(options) as sim:
        port = free_port()
        config = {
            "spectrocloud": {
                "environments": [
                    {
                        "name": instance,
                        "url": sim.url,
                        "tenant": "e2e",
                        "apiToken": "${E2E_PALETTE_KEY}",
                        "catalogProvider": {"refreshIntervalSeconds": 3600},
                    }
                ]
            },
            "server": {"host": "127.0.0.1", "port": port},
            "database": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
            "scheduler": {"jitterSeconds": 0, "runOnStart": True},
            "auth": {
                "externalAccess": [
                    {"type": "static", "options": {"token": "${E2E_TRIGGER}", "subject": "e2e"}}
                ]
            },
            "palette": {
                "retries": {"maxAttempts": 2, "backoffInitialSeconds": 0.05, "backoffMaxSeconds": 0.2}
            },
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        log = tmp_path / "service.log"
        env = {**os.environ, "E2E_PALETTE_KEY": SIM_KEY, "E2E_TRIGGER": TRIGGER_TOKEN}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ingestor.cli", "serve", "--config", str(path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        svc = Service(f"http://127.0.0.1:{port}", instance, sim, proc, log)
        try:
            _wait_ready(svc)
            yield svc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            text = log.read_text(encoding="utf-8", errors="replace")
            assert SIM_KEY not in text and TRIGGER_TOKEN not in text, "a secret reached the service log"


def _wait_ready(svc: Service) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert svc.proc.poll() is None, svc.log.read_text(encoding="utf-8", errors="replace")[-4000:]
        try:
            if svc.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("service never became ready:\n" + svc.log.read_text(errors="replace")[-4000:])


def _expected_relations(entity: dict[str, Any]) -> set[tuple[str, str]]:
    spec = entity.get("spec", {})
    want = {("ownedBy", _full(spec["owner"], "group"))}
    if spec.get("system"):
        want.add(("partOf", _full(spec["system"], "system")))
    want |= {("dependsOn", _full(ref, "resource")) for ref in spec.get("dependsOn", [])}
    return want


def _full(ref: str, default_kind: str) -> str:
    kind, _, rest = ref.partition(":") if ":" in ref else (default_kind, "", ref)
    namespace, _, name = rest.partition("/") if "/" in rest else ("default", "", rest)
    return f"{kind}:{namespace}/{name}".lower()


def _relations(entity: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"]) for r in entity.get("relations", [])}


def _all_ingested(backstage: BackstageCatalog, served: list[dict[str, Any]]) -> bool:
    for entity in served:
        found = backstage.entity(entity_ref(entity))
        if found is None or not _expected_relations(entity) <= _relations(found):
            return False
    return True


def test_service_feeds_backstage_and_survives_an_outage(
    backstage: BackstageCatalog, service: Service
) -> None:
    served = service.served()
    kinds = {(e["kind"], e["spec"].get("type")) for e in served}
    assert {"System", "Resource"} <= {k for k, _ in kinds}
    assert {t for _, t in kinds} >= {
        "spectrocloud-cluster",
        "spectrocloud-cluster-profile",
        "spectrocloud-project",
    }

    location = backstage.register_location(f"{service.url}/catalog/location.yaml")
    try:
        backstage.wait_for(lambda: _all_ingested(backstage, served), 120, what="every served entity")
        refs = {entity_ref(e) for e in served}
        errors = [e for e in backstage.processing_errors() if e.entity_ref in refs]
        assert errors == []

        # A change in Palette reaches Backstage after a crawl.
        cluster = next(e for e in served if e["spec"]["type"] == "spectrocloud-cluster")
        prefix = next(
            k.rsplit("/", 1)[0] for k in cluster["metadata"]["annotations"] if k.endswith("/cluster-id")
        )
        uid = cluster["metadata"]["annotations"][f"{prefix}/cluster-id"]
        new_state = (
            "Error" if cluster["metadata"]["annotations"].get(f"{prefix}/state") != "Error" else "Running"
        )
        patched = httpx.patch(
            f"{service.sim.url}/__sim/data/clusters/{uid}",
            json={"status": {"state": new_state}},
            headers={"ApiKey": SIM_KEY},
            timeout=10,
        )
        assert patched.status_code in (200, 204), patched.text
        service.crawl()
        assert service.last_run()["status"] == "ok"

        def changed() -> bool:
            found = backstage.entity(entity_ref(cluster))
            return found is not None and found["metadata"]["annotations"].get(f"{prefix}/state") == new_state

        backstage.refresh(location.entity_ref)
        backstage.wait_for(changed, 60, what="the cluster's new state in Backstage")

        # A Palette outage: the crawl fails, nothing is removed from what we serve or from Backstage.
        served_before = service.get("/catalog/entities.yaml", instance=service.instance)
        fault = httpx.post(
            f"{service.sim.url}/__sim/faults",
            json={"kind": "error", "path": "/v1/*", "status": 503},
            headers={"ApiKey": SIM_KEY},
            timeout=10,
        )
        assert fault.status_code in (200, 201), fault.text
        service.crawl()
        assert service.last_run()["status"] == "failed"
        served_after = service.get("/catalog/entities.yaml", instance=service.instance)
        assert served_after.status_code == 200
        assert served_after.content == served_before.content
        assert served_after.headers["etag"] == served_before.headers["etag"]
        backstage.refresh(location.entity_ref)
        time.sleep(ORPHAN_CLEANUP_SECONDS + 8)  # one orphan-cleanup pass at least
        missing = [ref for ref in refs if backstage.entity(ref) is None]
        assert missing == []
    finally:
        backstage.unregister_location(location)
