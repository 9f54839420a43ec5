"""A real Backstage backend (Node) for end-to-end tests, driven over its REST API: the catalog, the auth
plugin with guest sign-in (real user tokens) and the proxy plugin.

Installs tests/e2e/backstage/node_modules with ``npm ci`` on demand, runs ``index.js`` on a free
127.0.0.1 port with a generated config overlay, and stops it by PID. Imports nothing from ``ingestor``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import httpx
import yaml

NODE_DIR = Path(__file__).resolve().parent / "backstage"
REPO_ROOT = NODE_DIR.parents[2]
DEFAULT_ARTIFACTS = REPO_ROOT / "artifacts" / "e2e"
MIN_NODE_MAJOR = 20
KEEP_RUNS = 10  # artifact folders of earlier runs kept for debugging
TOKEN_ENV = "E2E_BACKSTAGE_TOKEN"  # the overlay reads the token from here, so no file holds it
NPM_CI = (
    "npm",
    "ci",
    "--no-audit",
    "--no-fund",
    "--no-update-notifier",
    "--prefer-offline",
    "--loglevel=error",
)

T = TypeVar("T")
ProxyCredentials = Literal["require", "forward", "dangerously-allow-unauthenticated"]


class BackstageError(RuntimeError):
    """The Node backend could not be installed, started or queried as expected."""


def node_problem() -> str | None:
    """Why the harness cannot run here (node or npm missing or too old), or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are needed for the Backstage end-to-end tests"
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout
    match = re.match(r"v(\d+)\.", out.strip())
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        return (
            f"node >= {MIN_NODE_MAJOR} is needed for the Backstage end-to-end tests (found {out.strip()!r})"
        )
    return None


def _install_fingerprint() -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    digest = hashlib.sha256(node.encode())
    for name in ("package.json", "package-lock.json"):
        digest.update((NODE_DIR / name).read_bytes())
    return digest.hexdigest()


def _npm_env() -> dict[str, str]:
    """better-sqlite3 compiles from source offline; point node-gyp at the local Node headers."""
    env = dict(os.environ)
    prefix = Path(shutil.which("node") or "/usr/bin/node").resolve().parents[1]
    if "npm_config_nodedir" not in env and (prefix / "include" / "node" / "node_version.h").is_file():
        env["npm_config_nodedir"] = str(prefix)
    return env


def ensure_node_modules(log_dir: Path, *, timeout: float = 900) -> float:
    """Run ``npm ci`` unless node_modules matches the lockfile and Node version; return seconds spent."""
    stamp = NODE_DIR / "node_modules" / ".e2e-install-stamp"
    log_dir.mkdir(parents=True, exist_ok=True)
    lock_name = f"spectrocloud-ingestor-npm-ci-{hashlib.sha256(bytes(NODE_DIR)).hexdigest()[:12]}.lock"
    with open(Path(tempfile.gettempdir()) / lock_name, "w") as lock:  # concurrent sessions install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        fingerprint = _install_fingerprint()
        if stamp.is_file() and stamp.read_text() == fingerprint:
            return 0.0
        started = time.monotonic()
        with open(log_dir / "npm-ci.log", "w") as out:
            done = subprocess.run(
                NPM_CI, cwd=NODE_DIR, env=_npm_env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )
        if done.returncode != 0:
            raise BackstageError(f"npm ci failed ({done.returncode}); see {log_dir / 'npm-ci.log'}")
        probe = subprocess.run(["node", "-e", "require('better-sqlite3')"], cwd=NODE_DIR, capture_output=True)
        if probe.returncode != 0:  # an optional dependency: npm ci succeeds even when its build failed
            raise BackstageError(f"better-sqlite3 did not build; see {log_dir / 'npm-ci.log'}")
        stamp.write_text(fingerprint)
        return time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def parse_ref(ref: str) -> tuple[str, str, str]:
    """``kind:[namespace/]name`` -> lower-cased (kind, namespace, name), as the catalog compares them."""
    kind, sep, rest = ref.partition(":")
    if not sep or not kind or not rest:
        raise ValueError(f"entity ref needs a kind: {ref!r}")
    namespace, _, name = rest.rpartition("/")
    return kind.lower(), (namespace or "default").lower(), name.lower()


def entity_ref(entity: Mapping[str, Any]) -> str:
    meta = entity["metadata"]
    return f"{entity['kind']}:{meta.get('namespace', 'default')}/{meta['name']}".lower()


@dataclass(frozen=True)
class Location:
    id: str
    target: str
    entity_ref: str


@dataclass(frozen=True)
class ProcessingError:
    """One entity's processing errors: ``pending`` (never ingested) or ``status`` (old version kept)."""

    entity_ref: str
    source: str
    messages: tuple[str, ...]


@dataclass(frozen=True)
class ProxyEndpoint:
    """One ``proxy.endpoints`` entry: ``/api/proxy<route>/...`` is forwarded to ``<target>/...``.

    Backstage forwards only a safe list of headers each way plus ``allowed_headers``; ``credentials``
    ``forward`` also passes the caller's ``Authorization`` on (backstage.md 4.4).
    """

    route: str
    target: str
    credentials: ProxyCredentials = "require"
    allowed_headers: tuple[str, ...] = ()
    allowed_methods: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not self.route.startswith("/") or self.route.endswith("/"):
            raise ValueError(f"a proxy route starts with '/' and does not end with one: {self.route!r}")

    def config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"target": self.target, "credentials": self.credentials}
        if self.allowed_headers:
            entry["allowedHeaders"] = list(self.allowed_headers)
        if self.allowed_methods is not None:
            entry["allowedMethods"] = list(self.allowed_methods)
        return entry


@dataclass(frozen=True)
class CatalogSettings:
    allow_hosts: tuple[str, ...] = ("127.0.0.1:1024-65535",)
    processing_interval_s: int = 3
    orphan_strategy: str = "delete"
    startup_timeout_s: float = 60.0
    artifacts_dir: Path = field(default_factory=lambda: DEFAULT_ARTIFACTS)
    # Guest sign-in: the token's ``sub``; its ownership refs (user + groups, served by /v1/userinfo)
    # default to just the user. Used because the catalog holds no User entity for the guest.
    guest_user_ref: str = "user:default/guest"
    guest_ownership_refs: tuple[str, ...] = ()
    proxy_endpoints: tuple[ProxyEndpoint, ...] = ()


class BackstageCatalog:
    """A running backend (catalog, auth, proxy); use as a context manager (``start`` / ``stop``)."""

    def __init__(self, settings: CatalogSettings | None = None) -> None:
        self.settings = settings or CatalogSettings()
        self.token = secrets.token_urlsafe(24)
        self.port = 0
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(2)}"
        self.run_dir = self.settings.artifacts_dir / "backstage" / run_id
        self.log_path = self.run_dir / "backend.log"
        self.timings: dict[str, float] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:  # never the token
        return f"BackstageCatalog(url={self.url!r}, log={str(self.log_path)!r})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        """The auth plugin's base URL: the ``iss`` of its user tokens; its JWKS is under ``/.well-known``."""
        return f"{self.url}/api/auth"

    def proxy_url(self, route: str) -> str:
        """Where a configured proxy endpoint is served, e.g. ``proxy_url("/spectrocloud")``."""
        return f"{self.url}/api/proxy{route}"

    @property
    def http(self) -> httpx.Client:
        """Client for ``/api/catalog`` carrying the static external-access token."""
        if self._http is None:
            raise BackstageError("the catalog is not running")
        return self._http

    def __enter__(self) -> BackstageCatalog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> BackstageCatalog:
        self.timings["npm_ci_s"] = ensure_node_modules(self.settings.artifacts_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _prune_runs(self.run_dir.parent, keep=KEEP_RUNS)
        for attempt in range(3):  # the free port can be taken between probe and bind
            started = time.monotonic()
            self._spawn(free_port(), attempt)
            if self._wait_ready():
                self.timings["startup_s"] = time.monotonic() - started
                return self
            self._terminate()
            if "EADDRINUSE" not in self.log_tail():
                break
        raise BackstageError(f"backend did not start; see {self.log_path}\n{self.log_tail()}")

    def _spawn(self, port: int, attempt: int) -> None:
        self.port = port
        overlay = self.run_dir / "app-config.overlay.yaml"
        overlay.write_text(yaml.safe_dump(self._overlay(), sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("APP_CONFIG_")}
        env[TOKEN_ENV] = self.token
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in _terminate)
        self._log.write(f"--- attempt {attempt + 1} on port {port}\n".encode())
        self._log.flush()
        command = ["node", "index.js", "--config", "app-config.yaml", "--config", str(overlay)]
        self._proc = subprocess.Popen(
            command,
            cwd=NODE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        headers = {"Authorization": f"Bearer {self.token}"}
        self._http = httpx.Client(base_url=f"{self.url}/api/catalog", headers=headers, timeout=15)

    def _overlay(self) -> dict[str, Any]:
        """The dynamic half of the config; ``app-config.yaml`` holds the static half."""
        s = self.settings
        guest: dict[str, Any] = {"userEntityRef": s.guest_user_ref}
        if s.guest_ownership_refs:
            guest["ownershipEntityRefs"] = list(s.guest_ownership_refs)
        return {
            "backend": {
                "baseUrl": self.url,
                "listen": {"host": "127.0.0.1", "port": self.port},
                "reading": {"allow": [{"host": host} for host in s.allow_hosts]},
                "auth": {
                    "externalAccess": [
                        {
                            "type": "static",
                            "options": {"token": "${" + TOKEN_ENV + "}", "subject": "e2e-tests"},
                        }
                    ]
                },
            },
            "catalog": {
                "processingInterval": {"seconds": s.processing_interval_s},
                "orphanStrategy": s.orphan_strategy,
            },
            "auth": {"providers": {"guest": guest}},
            "proxy": {"endpoints": {e.route: e.config() for e in s.proxy_endpoints}},
        }

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.settings.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            with contextlib.suppress(httpx.TransportError):
                catalog = self.http.get("/entities/by-query", params={"limit": 1})
                jwks = httpx.get(f"{self.auth_url}/.well-known/jwks.json", timeout=5)
                if catalog.status_code == 200 and jwks.status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the backend (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        self._terminate()

    def _terminate(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=5)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- auth API --------------------------------------------------------------------------

    def guest_token(self) -> str:
        """Sign in as the guest: a fresh Backstage user token (``backstageIdentity.token``), never logged."""
        response = self._check(httpx.post(f"{self.auth_url}/guest/refresh", timeout=15))
        token = response.json().get("backstageIdentity", {}).get("token")
        if not isinstance(token, str) or token.count(".") != 2:
            raise BackstageError("the guest sign-in answered without a user token")
        return token

    # -- catalog API -----------------------------------------------------------------------

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_error:
            raise BackstageError(
                f"{response.request.method} {response.request.url.path} -> {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response

    def register_location(self, url: str) -> Location:
        """Register a ``type: url`` location (or return the existing one for that target)."""
        response = self.http.post("/locations", json={"type": "url", "target": url})
        if response.status_code == 409:
            for item in self._check(self.http.get("/locations")).json():
                if item["data"]["target"] == url:
                    return _location(item["data"])
        return _location(self._check(response).json()["location"])

    def unregister_location(self, location: Location) -> None:
        """Delete the location if it still exists; the catalog removes its entities eagerly."""
        response = self.http.delete(f"/locations/{location.id}")
        if response.status_code != 404:
            self._check(response)

    def refresh(self, ref: str) -> None:
        """Reprocess an entity now; refreshing a Location re-reads its URL and updates its children."""
        self._check(self.http.post("/refresh", json={"entityRef": ref}))

    def entities(
        self, filter: Mapping[str, str] | str | None = None, fields: str | None = None, page_size: int = 500
    ) -> list[Any]:
        """All entities matching ``filter`` (a mapping ANDs its keys; a string is passed as is), all pages."""
        params: dict[str, Any] = {"limit": page_size}
        if filter is not None:
            params["filter"] = (
                filter if isinstance(filter, str) else ",".join(f"{k}={v}" for k, v in filter.items())
            )
        if fields is not None:
            params["fields"] = fields
        items: list[Any] = []
        while True:
            page = self._check(self.http.get("/entities/by-query", params=params)).json()
            items.extend(page["items"])
            cursor = page.get("pageInfo", {}).get("nextCursor")
            if not cursor:
                return items
            params = {"cursor": cursor, "limit": page_size, **({"fields": fields} if fields else {})}

    def entity(self, ref: str) -> Any:
        """The entity for ``kind:[namespace/]name``, or None when the catalog does not have it."""
        kind, namespace, name = parse_ref(ref)
        response = self.http.get(f"/entities/by-name/{kind}/{namespace}/{name}")
        return None if response.status_code == 404 else self._check(response).json()

    def processing_errors(self) -> list[ProcessingError]:
        """Errors of entities never ingested (``pending``) and of ingested ones (``status.items``)."""
        found: list[ProcessingError] = []
        pending = self._check(self.http.get("/entities/unprocessed/pending")).json()["entities"]
        for row in pending:
            if row.get("errors"):
                messages = tuple(f"{e.get('name')}: {e.get('message')}" for e in row["errors"])
                found.append(ProcessingError(entity_ref(row["unprocessed_entity"]), "pending", messages))
        for item in self.entities(fields="kind,metadata.namespace,metadata.name,status"):
            errors = [i for i in item.get("status", {}).get("items", []) if i.get("level") == "error"]
            if errors:
                messages = tuple(str(e.get("message")) for e in errors)  # already "<ErrorName>: <text>"
                found.append(ProcessingError(entity_ref(item), "status", messages))
        return found

    def wait_for(
        self, predicate: Callable[[], T], timeout: float, *, interval: float = 0.25, what: str = "condition"
    ) -> T:
        """Poll ``predicate`` until it returns a truthy value (returned); fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {what}; last value {value!r}"
                )
            if self._proc is None or self._proc.poll() is not None:
                raise BackstageError(f"backend exited; see {self.log_path}\n{self.log_tail()}")
            time.sleep(interval)


def _prune_runs(parent: Path, keep: int) -> None:
    """Keep the newest ``keep`` run folders (names start with a timestamp)."""
    for old in sorted(p for p in parent.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _location(data: Mapping[str, Any]) -> Location:
    return Location(id=data["id"], target=data["target"], entity_ref=data["entityRef"])
