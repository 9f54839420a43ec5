"""The image's contents without Docker: the build context (.dockerignore) and the installed layout.

The layout test replays the Dockerfile's builder stage on the local machine: it copies what the builder
copies, installs the package's files exactly as its wheel would hold them (setuptools ``build_py`` with
the project's package data), places the builder's site-packages COPYs (the Alembic migrations) at the same
place below that site-packages, then runs the image's command (``ingestor serve``) from that layout in a
separate process with the production configuration of the ConfigMap, against the Palette simulator, and
talks to it over real sockets.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import migrate
from tests.deploy import files
from tests.deploy.files import example_env

SIM_KEY = "deploy-test-palette-key-3b9d"
START_TIMEOUT = 60.0


# --- .dockerignore ------------------------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go filepath.Match plus ``**``)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in files.DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        rules.append((negate, _pattern(line.lstrip("!").strip("/"))))
    return rules


def _ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negate, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def _context_sources() -> list[str]:
    """Every path the builder stage copies from the build context."""
    builder = files.dockerfile_stages()[1][0]
    return [source for copy in files.copies(builder) if copy.from_stage is None for source in copy.sources]


def test_dockerignore_keeps_what_the_image_copies() -> None:
    rules = _dockerignore()
    sources = _context_sources()
    assert {"pyproject.toml", "README.md", "ingestor", "migrations"} <= set(sources)
    for source in sources:
        path = files.ROOT / source
        assert path.exists(), source
        members = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for member in members:
            relative = member.relative_to(files.ROOT).as_posix()
            if "__pycache__" in relative:
                continue
            assert not _ignored(relative, rules), f"{relative} is copied by the Dockerfile but ignored"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "deploy/compose/.env",
        "data/ingestor.db",
        ".demo/ingestor.db",
        "ingestor/__pycache__/cli.cpython-311.pyc",
        "migrations/__pycache__/env.cpython-311.pyc",
        "tests/e2e/backstage/node_modules/x/index.js",
    ],
)
def test_dockerignore_leaves_out_local_state(path: str) -> None:
    assert _ignored(path, _dockerignore())


# --- the installed layout ----------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _install_like_the_image(tmp: Path) -> Path:
    """Replay the builder stage into ``tmp``; returns the folder standing for the image's site-packages."""
    _, stages = files.dockerfile_stages()
    builder = stages[0]
    version = re.fullmatch(r"python:(\d+\.\d+)-slim", builder.base)
    assert version is not None, builder.base
    site = f"{files.env_instructions(builder)['VIRTUAL_ENV']}/lib/python{version.group(1)}/site-packages/"
    src, lib = tmp / "src", tmp / "site-packages"
    src.mkdir()
    lib.mkdir()
    for copy in files.copies(builder):
        assert copy.from_stage is None
        for source in copy.sources:
            if copy.dest.startswith(site):
                target = lib / copy.dest[len(site) :]
            else:
                assert not copy.dest.startswith("/"), f"unexpected destination {copy.dest}"
                target = src / copy.dest
                if copy.dest.endswith("/") and (files.ROOT / source).is_file():
                    target = target / Path(source).name
            _copy(files.ROOT / source, target)
    # What `pip wheel .` puts in the wheel: the packages and their package data (pyproject.toml).
    subprocess.run(
        [sys.executable, "-c", f"from setuptools import setup; setup(script_args={_build_args(lib)!r})"],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return lib


def _build_args(lib: Path) -> list[str]:
    return ["-q", "build_py", "--build-lib", str(lib)]


def _env(lib: Path, home: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(lib),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """The image's site-packages, replayed under ``tmp_path`` (needs setuptools, as `pip wheel` does)."""
    if importlib.util.find_spec("setuptools") is None:
        if os.environ.get("CI"):
            pytest.fail("setuptools is needed to lay the package out as its wheel would")
        pytest.skip("setuptools is not installed in this environment")
    return _install_like_the_image(tmp_path)


def test_installed_layout_finds_its_migrations(layout: Path, tmp_path: Path) -> None:
    app = tmp_path / "app"  # WORKDIR: not the repository, so nothing is imported from the source tree
    app.mkdir()
    probe = (
        "import json, ingestor; from ingestor.store import migrate; from ingestor.store.db import Database; "
        "db = Database('sqlite:///probe.db', pool_size=1); migrate.upgrade(db); "
        "print(json.dumps({'package': ingestor.__file__, 'migrations': str(migrate.MIGRATIONS), "
        "'current': migrate.current_revision(db)}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=app,
        env=_env(layout, app, {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(layout)
    assert Path(found["migrations"]) == layout / "migrations"
    assert found["current"] == migrate.head_revision()  # every migration of the source tree was applied
    for data in ("console/templates/base.html", "console/static/console.css", "palette/spec/*.json"):
        assert list((layout / "ingestor").glob(data)), f"the wheel would lack ingestor/{data}"


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


def _wait(client: httpx.Client, path: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"ingestor exited: {log.read_text(errors='replace')[-3000:]}"
        try:
            response = client.get(path)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{path} did not answer 200 within {START_TIMEOUT} s")


def test_image_command_serves_the_production_config(
    layout: Path, tmp_path: Path, simulator: SimulatorServer
) -> None:
    runtime = files.dockerfile_stages()[1][-1]
    command = files.exec_form(runtime.last("CMD") or "")
    config_at = command.index("--config") + 1
    command[config_at] = str(files.BASE / "config.yaml")  # what the ConfigMap mounts at that path
    port = _free_port()
    example = example_env()
    secrets = {
        "PALETTE_API_TOKEN": SIM_KEY,
        "AGENT_TOKEN": example["AGENT_TOKEN"],
        "SESSION_ENCRYPTION_KEY": example["SESSION_ENCRYPTION_KEY"],
    }
    env = {
        **example,
        **secrets,
        "PALETTE_URL": simulator.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ingestor.db'}",
        "INGESTOR__server__host": "127.0.0.1",  # the test listens on loopback only
        "INGESTOR__server__port": str(port),
    }
    app = tmp_path / "app"
    app.mkdir()
    log = tmp_path / "ingestor.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from ingestor.cli import main; sys.exit(main())", *command],
            cwd=app,
            env=_env(layout, app, env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
            assert _wait(client, "/health", process, log).json() == {"status": "ok"}
            ready = _wait(client, "/ready", process, log).json()
            assert ready["snapshots"] == {"production": True}
            location = yaml.safe_load(client.get("/catalog/location.yaml").text)
            assert location["kind"] == "Location"
            assert all(t.startswith(example["INGESTOR_BASE_URL"]) for t in location["spec"]["targets"])
            entities = client.get("/catalog/entities.yaml", params={"instance": "production"})
            assert entities.status_code == 200
            kinds = {doc["kind"] for doc in yaml.safe_load_all(entities.text) if doc}
            assert kinds and kinds <= {"System", "Resource"}  # what catalog.rules must allow
            sign_in = client.get("/console/sign-in")
            assert sign_in.status_code == 200 and "<form" in sign_in.text  # templates shipped
            assert client.get("/console/static/console.css").status_code == 200  # static files shipped
            assert client.get("/status").status_code == 401
            status = client.get("/status", headers={"Authorization": f"Bearer {secrets['AGENT_TOKEN']}"})
            assert status.status_code == 200
            if (files.ROOT / "ingestor" / "api" / "metrics.py").exists():
                assert client.get("/metrics").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    text = log.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # logging.format: json, one object per line
    assert any(event.get("event") == "store.migrated" for event in events)
    for secret in secrets.values():
        assert secret not in text
