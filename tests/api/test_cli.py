"""The commands: ``db upgrade``, ``crawl --once``, ``entities``, ``serve`` (a process), ``demo --once``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ingestor.cli import main
from ingestor.logging import configure_logging
from ingestor.serving import bind
from ingestor.simulator.server import SimulatorServer
from ingestor.store import migrate
from ingestor.store.db import Database
from tests.api.conftest import OTHER_SIM_KEY, SIM_KEY, TRIGGER_TOKEN, environment, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, environments: list[dict[str, Any]], **extra: Any) -> Path:
    data: dict[str, Any] = {
        "spectrocloud": {"environments": environments},
        "database": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "palette": {"retries": {"maxAttempts": 2, "backoffInitialSeconds": 0.01, "backoffMaxSeconds": 0.05}},
        "auth": {
            "externalAccess": [{"type": "static", "options": {"token": "${TRIGGER}", "subject": "cli"}}]
        },
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRIGGER", TRIGGER_TOKEN)
    yield
    # ``main`` pointed logging at the test's captured stderr, which is closed by now.
    configure_logging("info", "console")


def test_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'x.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    head = migrate.head_revision()
    assert head in capsys.readouterr().out
    db = Database(url)
    try:
        assert migrate.current_revision(db) == head
    finally:
        db.close()
    config = _config(tmp_path, [environment("main", "http://127.0.0.1:9")])
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert (tmp_path / "store.db").exists()


def test_crawl_once_then_entities(
    sim: SimulatorServer, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    config = _config(tmp_path, [environment("main", sim.url)])
    assert main(["entities", "--config", str(config)]) == 1
    assert "run a crawl first" in capsysbinary.readouterr().err.decode()

    assert main(["crawl", "--config", str(config), "--once"]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert out.startswith("main: ok (run 1;") and "added" in out

    assert main(["entities", "--config", str(config)]) == 0
    docs = [d for d in yaml.safe_load_all(capsysbinary.readouterr().out) if d]
    assert docs and {d["kind"] for d in docs} == {"System", "Resource"}
    assert main(["entities", "--config", str(config), "--format", "json", "--instance", "MAIN"]) == 0
    assert json.loads(capsysbinary.readouterr().out)["items"] == docs
    assert main(["entities", "--config", str(config), "--instance", "nope"]) == 2


def test_crawl_once_reports_a_failure(
    sim: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, [environment("main", sim.url, OTHER_SIM_KEY)])
    assert main(["crawl", "--config", str(config), "--once"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("main: failed")
    assert OTHER_SIM_KEY not in captured.out + captured.err


def test_a_bad_config_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, [environment("main", "not a url")])
    assert main(["serve", "--config", str(config)]) == 2
    assert "spectrocloud.environments[0].url" in capsys.readouterr().err


def test_serve_runs_until_sigterm(sim: SimulatorServer, tmp_path: Path) -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    config = _config(
        tmp_path,
        [environment("main", sim.url, "${SIM_KEY}")],
        server={"host": "127.0.0.1", "port": port},
        scheduler={"jitterSeconds": 0},
    )
    log = tmp_path / "serve.log"
    env = {**os.environ, "SIM_KEY": SIM_KEY, "TRIGGER": TRIGGER_TOKEN}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingestor.cli", "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(url + "/ready").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, 60, "serve to become ready")
        response = httpx.post(url + "/status/crawl", headers={"Authorization": f"Bearer {TRIGGER_TOKEN}"})
        assert response.status_code == 202
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    text = log.read_text()
    assert code == 0, text
    assert "scheduler.started" in text and "api.stopped" in text
    assert SIM_KEY not in text and TRIGGER_TOKEN not in text


def test_demo_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "demo"
    code = main(["demo", "--once", "--port", "0", "--folder", str(folder), "--projects", "2", "--seed", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Palette simulator at" in out and "(tenant)" in out  # the survey comes first
    assert "First crawl: ok" in out
    assert "/catalog/location.yaml" in out and "/catalog/entities.yaml?instance=demo" in out
    snippet = out[out.index("Backstage app-config.yaml:") :].split("\n", 1)[1]
    parsed = yaml.safe_load(snippet)
    assert parsed["catalog"]["locations"][0]["target"].endswith("/catalog/location.yaml")
    assert "System" in parsed["catalog"]["rules"][0]["allow"]
    assert (folder / "ingestor.db").exists()
