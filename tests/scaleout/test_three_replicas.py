"""Scale-out on PostgreSQL (issue 9): three ``ingestor serve`` processes on one database and one simulator.

One timeline (about a minute: two crawl intervals of 30 s, the smallest allowed, with a 10 s lease) is run
once by the module fixture, which records what it saw; each test then judges one promise:

* each instance is crawled exactly once per interval, by whichever replica gets the lease;
* when the lease holder is killed (SIGKILL, mid-crawl), another replica takes over within the lease time;
* every replica serves the same snapshot bytes with the same ``ETag``, and converges after a change;
* the Palette session cache is shared: signed in through two replicas, used on a third, logged out there
  for all.

Timeline: start three replicas (one crawls on start, the others skip) → compare the catalog everywhere →
sign in (start on A, callback on B), use the session on C, log out on C → change a cluster in the simulator
and make Palette slow → the next scheduled crawl starts on one replica, which is killed → a survivor takes
the expired lease over and crawls (a fourth replica, serving only, joins meanwhile) → compare the catalog
again.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import psycopg
import pytest
import yaml
from sqlalchemy import select

from ingestor.api.session_repo import SqlSessionRepository
from ingestor.auth.sessions import SessionCipher, SessionVault
from ingestor.logging import forget_secrets, register_secrets
from ingestor.scheduler import lease_name, min_gap_seconds
from ingestor.simulator.faults_spec import LatencyFault
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import models, queries
from ingestor.store.db import Database, utcnow
from ingestor.store.rows import RunRow
from ingestor.store.writer import FULL_TRIGGERS
from tests.plugin.conftest import FakeBackstage, backstage  # noqa: F401 (module-scoped fixture)
from tests.scaleout.replicas import ReplicaProcess, free_port, start_replica, stop_all, wait_ready
from tests.signin.conftest import Browser, popup_message
from tests.store.conftest import PG_DB, PG_HOST, PG_PORT, pg_user_or_skip

pytestmark = pytest.mark.slow

INSTANCE = "main"
INTERVAL = 30  # the smallest catalogProvider.refreshIntervalSeconds allowed
LEASE = 10  # the smallest scheduler.leaseSeconds allowed
RENEW = LEASE / 3  # how often the holder renews, and how often a replica that found it held looks again
LATENCY_MS = 3000  # per Palette call while the killed crawl runs: it lasts several seconds
CONVERGE_SECONDS = 5.0

SIM_KEY = "scaleout-sim-key-" + secrets.token_hex(8)
TRIGGER_TOKEN = "scaleout-trigger-" + secrets.token_hex(8)
SESSION_KEY = "scaleout-session-key-" + secrets.token_hex(16)
CLIENT_ID = "backstage-ingestor"
CLIENT_SECRET = "scaleout-client-secret-" + secrets.token_hex(8)
APP_ORIGIN = "http://backstage.test:3000"
SIGNIN = "/api/auth/spectrocloud"
DEV1 = "user:default/dev1"
YAML_URL = "/catalog/entities.yaml"


@dataclass(frozen=True)
class Served:
    """One answer of ``/catalog/entities.yaml``."""

    status: int
    etag: str | None
    data: bytes

    @property
    def names(self) -> set[str]:
        return {doc["metadata"]["name"] for doc in _docs(self.data)}


@dataclass
class Sessions:
    """What the shared session cache did across replicas A (start), B (callback) and C (use, logout)."""

    before_on_c: httpx.Response | None = None
    callback_on_b: httpx.Response | None = None
    stored: str | None = None
    sealed: bytes = b""
    on_c: httpx.Response | None = None
    palette_projects: set[str] = field(default_factory=set)
    logout_on_c: httpx.Response | None = None
    after_on_a: httpx.Response | None = None
    after_on_b: httpx.Response | None = None
    stored_after: str | None = None


@dataclass
class Takeover:
    """The lease holder killed mid-crawl, and the crawl that replaced its crawl."""

    holder: str = ""
    survivors: set[str] = field(default_factory=set)
    expiry_seen: datetime | None = None
    """The killed holder's lease expiry, read just before the kill (it may have renewed since)."""
    holder_said: dict[str, Any] = field(default_factory=dict)
    """The holder's own ``/status`` of the instance just before the kill."""
    killed_at: datetime | None = None
    run: RunRow | None = None


@dataclass
class Timeline:
    """What the module fixture saw; the tests judge it."""

    replicas: dict[str, str] = field(default_factory=dict)  # replica id -> process name
    first: dict[str, Served] = field(default_factory=dict)  # process name -> answer
    revalidated_elsewhere: int = 0
    sessions: Sessions = field(default_factory=Sessions)
    changed: tuple[str, str, str] = ("", "", "")  # entity name, annotation key, new value
    takeover: Takeover = field(default_factory=Takeover)
    converged_after: float | None = None
    last: dict[str, Served] = field(default_factory=dict)
    runs: list[RunRow] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)


def _docs(data: bytes) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(data.decode()) if doc]


def served(replica: ReplicaProcess) -> Served:
    response = replica.get(YAML_URL, headers={"Accept-Encoding": "identity"})
    return Served(response.status_code, response.headers.get("etag"), response.content)


def my_projects(replica: ReplicaProcess, fake: FakeBackstage, user: str = DEV1) -> httpx.Response:
    return replica.get("/api/spectrocloud/users/me/projects", fake.mint(user))


def project_uids(response: httpx.Response | None) -> set[str]:
    assert response is not None and response.status_code == 200, None if response is None else response.text
    return {project["uid"] for project in response.json()["projects"]}


def write_config(path: Path, sim: SimulatorServer, fake: FakeBackstage, callback: str) -> Path:
    """One file for every replica; secrets and the database URL come from the environment."""
    config = {
        "spectrocloud": {
            "environments": [
                {
                    "name": INSTANCE,
                    "url": sim.url,
                    "apiToken": "${SCALEOUT_PALETTE_KEY}",
                    "apiTokenFallback": False,
                    "catalogProvider": {"refreshIntervalSeconds": INTERVAL},
                    "oidc": {
                        "clientId": CLIENT_ID,
                        "clientSecret": "${SCALEOUT_OIDC_SECRET}",
                        "authorizationUrl": f"{sim.url}/v1/oidc/tenant/{sim.dataset.tenant.uid}/auth",
                        "callbackUrl": callback,
                    },
                }
            ]
        },
        "server": {"host": "127.0.0.1"},
        "database": {"url": "${SCALEOUT_DATABASE_URL}"},
        "scheduler": {"jitterSeconds": 0, "leaseSeconds": LEASE, "runOnStart": True},
        "auth": {
            "externalAccess": [
                {"type": "static", "options": {"token": "${SCALEOUT_TRIGGER}", "subject": "scaleout"}}
            ],
            "backstage": {"baseUrl": fake.url},
            "sessions": {"encryptionKey": "${SCALEOUT_SESSION_KEY}"},
            "signIn": {"allowedOrigins": [APP_ORIGIN]},
        },
        "palette": {
            "retries": {"maxAttempts": 2, "backoffInitialSeconds": 0.05, "backoffMaxSeconds": 0.2},
            "rateLimits": {"enabled": False},
        },
        "logging": {"format": "json"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass
class Cluster:
    """The running pieces of the timeline and the steps that drive it."""

    sim: SimulatorServer
    fake: FakeBackstage
    db: Database
    config: Path
    env: dict[str, str]
    logs: Path
    replicas: list[ReplicaProcess] = field(default_factory=list)
    seen: Timeline = field(default_factory=Timeline)

    def start(self, name: str, port: int | None = None, **env: str) -> ReplicaProcess:
        replica = start_replica(name, self.config, {**self.env, **env}, self.logs, port)
        self.replicas.append(replica)
        return replica

    def ready(self, replicas: list[ReplicaProcess]) -> None:
        wait_ready(replicas, TRIGGER_TOKEN)
        self.seen.replicas.update({r.replica_id: r.name for r in replicas})

    def live(self) -> list[ReplicaProcess]:
        """The replicas running and ready."""
        return [r for r in self.replicas if r.alive and r.replica_id]

    def full_runs(self) -> list[RunRow]:
        """Crawls of the whole instance, oldest first."""
        return list(reversed(queries.recent_runs(self.db, INSTANCE, limit=100, triggers=FULL_TRIGGERS)))

    # --- steps ----------------------------------------------------------------------------------------

    def compare_snapshots(self) -> None:
        self.seen.first = {r.name: served(r) for r in self.replicas}
        etag = self.seen.first[self.replicas[0].name].etag or ""
        again = self.replicas[1].get(YAML_URL, headers={"If-None-Match": etag})
        self.seen.revalidated_elsewhere = again.status_code

    def share_a_session(self) -> None:
        a, b, c = self.replicas[:3]
        seen = self.seen.sessions
        seen.before_on_c = my_projects(c, self.fake)
        browser = Browser()
        try:
            query = urlencode({"origin": APP_ORIGIN, "env": "development"})
            started = browser.get(f"{a.url}{SIGNIN}/start?{query}")
            assert started.status_code == 302, started.text
            answer = browser.get(started.headers["location"])  # the simulator's authorization endpoint
            assert answer.status_code == 302, answer.text
            back = answer.headers["location"]
            assert back.startswith(a.url), back
            seen.callback_on_b = browser.get(back.replace(a.url, b.url, 1))
            seen.stored = self.vault_get()
            seen.sealed = self.sealed()
            seen.on_c = my_projects(c, self.fake)
            if seen.stored is not None:
                seen.palette_projects = palette_projects(self.sim, seen.stored)
            seen.logout_on_c = browser.xhr("POST", f"{c.url}{SIGNIN}/logout")
        finally:
            browser.close()
        seen.after_on_a = my_projects(a, self.fake)
        seen.after_on_b = my_projects(b, self.fake)
        seen.stored_after = self.vault_get()

    def change_a_cluster(self) -> None:
        first = self.seen.first[self.replicas[0].name]
        cluster = next(d for d in _docs(first.data) if d["spec"]["type"] == "spectrocloud-cluster")
        annotations = cluster["metadata"]["annotations"]
        uid = next(v for k, v in annotations.items() if k.endswith("/cluster-id"))
        key = next(k for k in annotations if k.endswith("/state"))
        state = "Error" if annotations[key] != "Error" else "Running"
        patched = httpx.patch(
            f"{self.sim.url}/__sim/data/clusters/{uid}",
            json={"status": {"state": state}},
            headers={"ApiKey": SIM_KEY},
            timeout=30,
        )
        assert patched.status_code in (200, 204), patched.text
        self.seen.changed = (cluster["metadata"]["name"], key, state)

    def kill_the_holder_mid_crawl(self) -> None:
        """Wait for the next scheduled crawl (slow: each Palette call takes ``LATENCY_MS``), SIGKILL its
        replica while it runs."""
        start_run = self.full_runs()[-1]
        slow = self.sim.faults.add(LatencyFault(path="re:/v1/(?!oidc/).*", ms=LATENCY_MS))
        try:
            deadline = start_run.started_at + timedelta(seconds=INTERVAL + LEASE + 10)
            holder = None
            while holder is None:
                assert utcnow() < deadline, "no scheduled crawl took the lease within the interval"
                time.sleep(0.1)
                holder = self.crawling_holder()
            holder_id, expires_at = holder
            victim = next(r for r in self.replicas if r.replica_id == holder_id)
            take = self.seen.takeover
            take.holder, take.expiry_seen = holder_id, expires_at
            take.survivors = {r.replica_id for r in self.live() if r is not victim}
            status = victim.get("/status", TRIGGER_TOKEN, params={"instance": INSTANCE}).json()
            take.holder_said = status["instances"][0]
            victim.kill()
            take.killed_at = utcnow()
        finally:
            self.sim.faults.remove(slow)
        # A fourth replica joins meanwhile (booting while the lease runs out); it crawls nothing on start,
        # so the takeover is left to the survivors.
        self.start("replica-d", INGESTOR__scheduler__runOnStart="false")

    def crawling_holder(self) -> tuple[str, datetime] | None:
        """The lease holder and its expiry, once it has held the lease for half a second (a crawl, not a
        replica that only took it to find the instance crawled recently)."""
        lease = models.leases.c
        with self.db.read() as conn:
            row = conn.execute(
                select(lease.holder, lease.acquired_at, lease.expires_at).where(
                    lease.name == lease_name(INSTANCE)
                )
            ).one_or_none()
        now = utcnow()
        if row is None or row.expires_at <= now or now - row.acquired_at < timedelta(seconds=0.5):
            return None
        return str(row.holder), row.expires_at

    def wait_for_the_takeover(self) -> None:
        take = self.seen.takeover
        assert take.killed_at is not None
        before = max(run.id for run in self.full_runs())
        deadline = time.monotonic() + 3 * LEASE
        while time.monotonic() < deadline:
            newer = [run for run in self.full_runs() if run.id > before]
            if newer:
                take.run = newer[0]
                return
            time.sleep(0.2)

    def watch_convergence(self) -> None:
        """How long after the takeover crawl committed every live replica served the same, new body."""
        run = self.seen.takeover.run
        if run is None:
            return
        old = self.seen.first[self.replicas[0].name].etag
        deadline = time.monotonic() + 3 * CONVERGE_SECONDS
        while time.monotonic() < deadline:
            answers = [served(r) for r in self.live()]
            if {a.etag for a in answers} != {old} and len({(a.etag, a.data) for a in answers}) == 1:
                self.seen.converged_after = (utcnow() - run.finished_at).total_seconds()
                return
            time.sleep(0.1)

    def compare_again(self) -> None:
        """Once the fourth replica is ready: what every replica serves now, and every crawl run."""
        self.ready([self.replicas[-1]])
        run = self.seen.takeover.run
        if run is not None:  # every replica's pending look at the lease has happened before runs are read
            time.sleep(max(0.0, (run.finished_at - utcnow()).total_seconds() + RENEW + 1))
        self.seen.last = {r.name: served(r) for r in self.live()}
        self.seen.runs = self.full_runs()

    # --- shared store ----------------------------------------------------------------------------------

    def vault_get(self) -> str | None:
        vault = SessionVault(SqlSessionRepository(self.db), SessionCipher(SESSION_KEY))
        return asyncio.run(vault.get(DEV1, INSTANCE))

    def sealed(self) -> bytes:
        with self.db.read() as conn:
            rows = conn.execute(select(models.palette_sessions.c.ciphertext)).scalars().all()
        return b"".join(bytes(row) for row in rows)


def palette_projects(sim: SimulatorServer, session: str) -> set[str]:
    me = httpx.get(sim.url + "/v1/users/me", headers={"Authorization": session}, timeout=30).json()
    return set(me["status"]["projectPermissions"])


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for this module (skipped without PostgreSQL, failing when CI is set)."""
    user = pg_user_or_skip()
    schema = f"scaleout_{secrets.token_hex(6)}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=user, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=user, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def timeline(
    pg_url: str,
    backstage: FakeBackstage,  # noqa: F811 (the imported fixture)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Timeline]:
    """Run the whole timeline once, stop every process, then hand over what was seen."""
    register_secrets([SIM_KEY, TRIGGER_TOKEN, SESSION_KEY, CLIENT_SECRET])
    logs = tmp_path_factory.mktemp("scaleout")
    options = SimulatorOptions(
        api_key=SIM_KEY, rate_limits=False, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET
    )
    env = {
        "SCALEOUT_PALETTE_KEY": SIM_KEY,
        "SCALEOUT_TRIGGER": TRIGGER_TOKEN,
        "SCALEOUT_SESSION_KEY": SESSION_KEY,
        "SCALEOUT_OIDC_SECRET": CLIENT_SECRET,
        "SCALEOUT_DATABASE_URL": pg_url,
    }
    db = Database(pg_url, pool_size=2)
    try:
        with SimulatorServer(options) as sim:
            ports = [free_port() for _ in range(3)]
            callback = f"http://127.0.0.1:{ports[0]}{SIGNIN}/handler/frame"
            config = write_config(logs / "config.yaml", sim, backstage, callback)
            cluster = Cluster(sim, backstage, db, config, env, logs)
            try:
                for name, port in zip(("replica-a", "replica-b", "replica-c"), ports, strict=True):
                    cluster.start(name, port)
                cluster.ready(cluster.replicas)
                cluster.compare_snapshots()
                cluster.share_a_session()
                cluster.change_a_cluster()
                cluster.kill_the_holder_mid_crawl()
                cluster.wait_for_the_takeover()
                cluster.watch_convergence()
                cluster.compare_again()
            finally:
                stop_all(cluster.replicas)
                cluster.seen.logs = {r.name: r.log_text() for r in cluster.replicas}
        yield cluster.seen
    finally:
        db.close()
        forget_secrets()


# --- the promises -------------------------------------------------------------------------------------


def test_each_interval_is_crawled_once_by_one_replica(timeline: Timeline) -> None:
    runs = timeline.runs
    # Three replicas started (each tries a crawl on start) and each ticked once more: two crawls in all,
    # one per interval (the killed replica's crawl committed nothing; a survivor's took its place).
    assert [run.trigger for run in runs] == ["start", "schedule"], [(r.trigger, r.replica_id) for r in runs]
    assert {run.replica_id for run in runs} <= set(timeline.replicas)
    assert all(run.status == "ok" for run in runs)
    gap = (runs[1].started_at - runs[0].started_at).total_seconds()
    assert gap >= min_gap_seconds(INTERVAL, 0), "two crawls inside one interval"
    assert gap <= INTERVAL + LEASE + RENEW + 10, "an interval went by without a crawl"
    skips = [
        line
        for name, text in timeline.logs.items()
        for line in text.splitlines()
        if '"scheduler.skipped"' in line and name != timeline.replicas.get(runs[0].replica_id)
    ]
    assert skips, "no other replica's crawl was skipped: the replicas did not contend"


def test_a_replica_takes_over_within_the_lease_time_when_the_holder_is_killed(timeline: Timeline) -> None:
    take = timeline.takeover
    assert take.killed_at is not None and take.expiry_seen is not None
    run = take.run
    assert run is not None, f"no crawl within {3 * LEASE} s after the lease holder was killed"
    assert run.replica_id in take.survivors and run.replica_id != take.holder
    assert run.status == "ok"
    # The holder was killed in the middle of its crawl: its status said so, and it committed nothing.
    assert take.holder_said["crawling"] is True and take.holder_said["leaseHolder"] == take.holder
    assert all(
        r.started_at < take.killed_at - timedelta(seconds=LEASE)
        for r in timeline.runs
        if r.replica_id == take.holder
    )
    # Not before the dead holder's lease expired, and soon after: within the lease (+ one look-again period).
    assert run.started_at >= take.expiry_seen
    waited = (run.started_at - take.killed_at).total_seconds()
    assert waited <= LEASE + RENEW + 3, f"took over {waited:.1f} s after the kill"
    finished = (run.finished_at - take.killed_at).total_seconds()
    assert finished <= LEASE + RENEW + 8, f"the takeover crawl completed {finished:.1f} s after the kill"
    # No entity lost: every replica still serves everything it served before.
    before = next(iter(timeline.first.values())).names
    assert before and all(answer.names == before for answer in timeline.last.values())


def test_every_replica_serves_the_same_snapshot_and_etag(timeline: Timeline) -> None:
    first = list(timeline.first.values())
    assert len(first) == 3 and all(answer.status == 200 for answer in first)
    assert len({answer.etag for answer in first}) == 1 and len({answer.data for answer in first}) == 1
    assert first[0].etag and first[0].data
    assert timeline.revalidated_elsewhere == 304  # one replica's ETag is valid on another

    last = list(timeline.last.values())
    assert len(last) == 3  # two survivors and the replica that joined during the takeover
    assert all(answer.status == 200 for answer in last)
    assert len({answer.etag for answer in last}) == 1 and len({answer.data for answer in last}) == 1
    assert last[0].etag != first[0].etag
    assert timeline.converged_after is not None, "the live replicas never served one new body"
    assert timeline.converged_after <= CONVERGE_SECONDS
    name, key, state = timeline.changed
    changed = next(doc for doc in _docs(last[0].data) if doc["metadata"]["name"] == name)
    assert changed["metadata"]["annotations"][key] == state


def test_the_palette_session_cache_is_shared(timeline: Timeline) -> None:
    seen = timeline.sessions
    assert seen.before_on_c is not None and seen.before_on_c.json().get("requiresReAuth") is True
    assert seen.callback_on_b is not None
    assert seen.callback_on_b.status_code == 200, seen.callback_on_b.text
    assert popup_message(seen.callback_on_b)["response"]["userEntityRef"] == DEV1
    # Stored once, sealed, in the shared database (with the shared key)...
    assert seen.stored is not None and seen.stored.encode() not in seen.sealed and seen.sealed
    # ...used by a third replica as that user...
    assert project_uids(seen.on_c) == seen.palette_projects and seen.palette_projects
    # ...and logged out there for every replica.
    assert seen.logout_on_c is not None and seen.logout_on_c.status_code == 200
    assert seen.stored_after is None
    for after in (seen.after_on_a, seen.after_on_b):
        assert after is not None and after.status_code == 401 and after.json()["requiresReAuth"] is True


def test_no_secret_reaches_a_replica_log(timeline: Timeline) -> None:
    assert len(timeline.logs) == 4 and all(timeline.logs.values())
    secrets_ = [SIM_KEY, TRIGGER_TOKEN, SESSION_KEY, CLIENT_SECRET]
    if timeline.sessions.stored:
        secrets_.append(timeline.sessions.stored)
    for name, text in timeline.logs.items():
        for secret in secrets_:
            assert secret not in text, f"a secret reached {name}'s log"
