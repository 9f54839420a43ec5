"""The ``/__sim`` admin routes over a real socket, and the command-line flags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import httpx
import pytest
import structlog.testing
from starlette.requests import Request

from ingestor.errors import ConfigError
from ingestor.simulator.faults import (
    ErrorFault,
    HangFault,
    LatencyFault,
    MalformedFault,
    OutageFault,
    PageFault,
    ResetFault,
    StormFault,
)
from ingestor.simulator.faults_admin import add_fault_arguments, fault_state_from_args, faults_from_args

from .conftest import FakeClock, Sim


async def test_add_list_remove_clear(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        one = await client.post("/__sim/faults", json={"kind": "error", "status": 503, "path": "/v1/a"})
        many = await client.post(
            "/__sim/faults", json=[{"kind": "latency", "ms": 1}, {"kind": "reset", "path": "/x"}]
        )
        assert (one.status_code, one.json()) == (201, {"ids": ["f1"]})
        assert (many.status_code, many.json()) == (201, {"ids": ["f2", "f3"]})
        assert (await client.get("/v1/a")).status_code == 503
        listed = (await client.get("/__sim/faults")).json()
        assert listed["seed"] == 0
        assert [(f["id"], f["kind"], f["fired"]) for f in listed["faults"]] == [
            ("f1", "error", 1),
            ("f2", "latency", 1),
            ("f3", "reset", 0),
        ]
        assert listed["faults"][0]["status"] == 503
        assert (await client.delete("/__sim/faults/f1")).status_code == 204
        assert (await client.get("/v1/a")).status_code == 200
        missing = await client.delete("/__sim/faults/f1")
        assert missing.status_code == 404 and missing.json()["code"] == "ResourceNotFound"
        assert (await client.delete("/__sim/faults")).status_code == 204
        assert (await client.get("/__sim/faults")).json()["faults"] == []


async def test_invalid_faults_are_refused_with_problems(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        bad_json = await client.post("/__sim/faults", content=b"{nope")
        invalid = await client.post(
            "/__sim/faults", json=[{"kind": "error"}, {"kind": "error", "status": 42}]
        )
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "BadRequest"
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["code"] == "UnprocessableEntity"
    assert body["details"]["problems"] == [
        {"path": "body[1].status", "message": "must be between 400 and 599"}
    ]
    assert sim.state.list() == []  # nothing of a bad batch is added


async def test_admin_is_immune_to_its_own_faults(sim: Sim) -> None:
    sim.state.add(ErrorFault(status=500))
    sim.state.add(ResetFault(path="/__sim/*"))
    async with httpx.AsyncClient(base_url=sim.url) as client:
        assert (await client.get("/v1/x")).status_code == 500
        assert (await client.delete("/__sim/faults")).status_code == 204
        assert (await client.get("/v1/x")).status_code == 200


async def test_authorize_guards_every_admin_route(sim: Sim) -> None:
    def authorize(request: Request) -> bool:
        return request.headers.get("ApiKey") == "admin-key"

    sim.configure(authorize=authorize)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        calls = [
            client.get("/__sim/faults"),
            client.post("/__sim/faults", json={"kind": "reset"}),
            client.delete("/__sim/faults"),
            client.delete("/__sim/faults/f1"),
            client.get("/__sim/ratelimit"),
        ]
        for call in calls:
            refused = await call
            assert refused.status_code == 401 and refused.json()["code"] == "Unauthorized"
            assert "admin-key" not in refused.text
        allowed = await client.get("/__sim/faults", headers={"ApiKey": "admin-key"})
    assert allowed.status_code == 200
    assert sim.state.list() == []


async def test_async_authorize_is_awaited(sim: Sim) -> None:
    async def authorize(request: Request) -> bool:
        return request.headers.get("ApiKey") == "k"

    sim.configure(authorize=authorize)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        assert (await client.get("/__sim/faults")).status_code == 401
        assert (await client.get("/__sim/faults", headers={"ApiKey": "k"})).status_code == 200


async def test_ratelimit_stats_and_reset(sim: Sim) -> None:
    sim.configure(enabled=True)
    async with httpx.AsyncClient(base_url=sim.url) as client:
        for _ in range(17):
            await client.get("/v1/overlords")
        stats = (await client.get("/__sim/ratelimit")).json()
        assert stats == {
            "enabled": True,
            "retryAfter": False,
            "prefixes": {"/v1/overlords": {"requests": 17, "limited": 2}},
        }
        assert (await client.delete("/__sim/ratelimit")).status_code == 204
        assert (await client.get("/__sim/ratelimit")).json()["prefixes"] == {}
        assert (await client.get("/v1/overlords")).status_code == 200  # the bucket is full again


async def test_secrets_stay_out_of_fault_answers_and_logs(sim: Sim) -> None:
    secret = "s3cr3t-api-key-value"
    sim.configure(enabled=True)
    sim.state.add(ErrorFault(path="/v1/e", status=500))
    sim.state.add(StormFault(path="/v1/s"))
    sim.state.add(OutageFault(project_uid="p1"))
    sim.state.add(MalformedFault(path="/v1/m"))
    headers = {"ApiKey": secret, "Authorization": secret}
    with structlog.testing.capture_logs() as logs:
        async with httpx.AsyncClient(base_url=sim.url, headers=headers) as client:
            answers = [await client.get(p) for p in ("/v1/e", "/v1/s", "/v1/m")]
            answers.append(await client.get("/v1/x", headers={"ProjectUid": "p1"}))
            answers += [await client.get("/v1/users") for _ in range(16)]
    assert [a.status_code for a in answers[:4]] == [500, 429, 200, 503]
    assert answers[-1].status_code == 429
    for answer in answers:
        assert secret not in answer.text and secret not in str(answer.headers.get("retry-after"))
    assert logs and secret not in json.dumps(logs, default=str)


def _parse(argv: list[str], include_latency: bool = True) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="simulate")
    add_fault_arguments(parser, include_latency=include_latency)
    return parser.parse_args(argv)


def test_every_flag_builds_its_fault(tmp_path: Path) -> None:
    file = tmp_path / "faults.json"
    file.write_text(json.dumps([{"kind": "reset", "path": "/v1/z", "times": 1}]))
    args = _parse(
        [
            "--latency-ms", "15",
            "--fault-latency", "/v1/dashboard/*:40",
            "--fault-error", "/v1/spectroclusters/*:503:0.25",
            "--fault-error", "re:/v1/a:b/c:500:1",
            "--fault-429-storm", "30",
            "--fault-429-storm", "5:2",
            "--fault-hang", "/v1/slow:2.5",
            "--fault-hang", "/v1/slower:inf:drop",
            "--fault-outage", "p1:10:60",
            "--fault-outage", "p2:0:",
            "--fault-malformed", "/v1/m",
            "--fault-malformed", "/v1/g:garble",
            "--fault-page", "/v1/dashboard/projects:repeat-continue",
            "--fault-reset", "/v1/r",
            "--faults-file", str(file),
            "--fault-seed", "42",
        ]
    )  # fmt: skip
    assert faults_from_args(args) == [
        LatencyFault(ms=15),
        LatencyFault(path="/v1/dashboard/*", ms=40),
        ErrorFault(path="/v1/spectroclusters/*", status=503, probability=0.25),
        ErrorFault(path="re:/v1/a:b/c", status=500, probability=1),
        StormFault(end=30),
        StormFault(end=5, retry_after=2),
        HangFault(path="/v1/slow", seconds=2.5),
        HangFault(path="/v1/slower", seconds=None, then="drop"),
        OutageFault(project_uid="p1", start=10, end=60),
        OutageFault(project_uid="p2"),
        MalformedFault(path="/v1/m"),
        MalformedFault(path="/v1/g", mode="garble"),
        PageFault(path="/v1/dashboard/projects", mode="repeat_continue"),
        ResetFault(path="/v1/r"),
        ResetFault(path="/v1/z", times=1),
    ]
    state = fault_state_from_args(args, clock=FakeClock())
    assert state.seed == 42 and len(state.list()) == 15


def test_no_flags_no_faults() -> None:
    args = _parse([])
    assert faults_from_args(args) == []
    assert fault_state_from_args(args).seed == 0


def test_latency_flag_can_be_left_to_the_caller() -> None:
    with pytest.raises(SystemExit):
        _parse(["--latency-ms", "5"], include_latency=False)
    assert faults_from_args(_parse(["--fault-reset", "/x"], include_latency=False)) == [ResetFault(path="/x")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault-error", "/v1/x:500"], "expected PATTERN:STATUS:RATE"),
        (["--fault-error", "/v1/x:abc:1"], "STATUS must be an integer"),
        (["--fault-error", "/v1/x:200:1"], "status: must be between 400 and 599"),
        (["--fault-error", "/v1/x:500:2"], "probability: must be between 0 and 1"),
        (["--fault-hang", "/v1/x"], "expected PATTERN:SECONDS"),
        (["--fault-hang", "/v1/x:soon"], "SECONDS must be a number"),
        (["--fault-outage", "p1:10"], "expected PROJECT_UID:START:END"),
        (["--fault-outage", "p1:10:5"], "end: must be after start"),
        (["--fault-page", "/v1/x:sideways"], "MODE must be one of"),
        (["--fault-429-storm", "-1"], "end: must be after start"),
        (["--latency-ms", "-3"], "MS must not be negative"),
    ],
)
def test_bad_flags_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parse(argv)
    err = capsys.readouterr().err
    assert argv[0] in err and message in err


def test_bad_faults_file_names_file_and_item(tmp_path: Path) -> None:
    file = tmp_path / "faults.json"
    file.write_text(json.dumps([{"kind": "latency", "ms": 1}, {"kind": "latency"}]))
    with pytest.raises(ConfigError) as info:
        faults_from_args(_parse(["--faults-file", str(file)]))
    assert info.value.problems == [(f"{file}[1].ms", "required")]
    file.write_text("[")
    with pytest.raises(ConfigError, match="not valid JSON"):
        faults_from_args(_parse(["--faults-file", str(file)]))
    with pytest.raises(ConfigError, match="cannot read"):
        faults_from_args(_parse(["--faults-file", str(tmp_path / "absent.json")]))
