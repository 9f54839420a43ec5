"""Fault specs and state without sockets: parsing, validation, matching, probability, times, windows."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.errors import ConfigError
from ingestor.simulator.faults import (
    KINDS,
    ErrorFault,
    Fault,
    FaultState,
    HangFault,
    LatencyFault,
    OutageFault,
    PageFault,
    RequestInfo,
    parse_fault,
    parse_faults,
)

from .conftest import FakeClock

EXAMPLES: list[dict[str, Any]] = [
    {"kind": "latency", "ms": 25, "jitter_ms": 5, "path": "/v1/dashboard/*"},
    {"kind": "error", "status": 503, "path": "re:/v1/spectroclusters/[0-9a-f]+", "probability": 0.5},
    {"kind": "storm", "end": 2.5, "retry_after": 1},
    {"kind": "hang", "seconds": None, "then": "drop", "method": "POST"},
    {"kind": "outage", "project_uid": "p1", "start": 1, "end": 5},
    {"kind": "malformed", "mode": "garble", "times": 3},
    {"kind": "page", "mode": "repeat_continue", "path": "/v1/items"},
    {"kind": "reset", "path": "/v1/cloudaccounts/*"},
]


def _problems(data: object) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_faults(data)
    return dict(info.value.problems)


def test_every_kind_has_an_example() -> None:
    assert {e["kind"] for e in EXAMPLES} == set(KINDS)


@pytest.mark.parametrize("data", EXAMPLES, ids=[e["kind"] for e in EXAMPLES])
def test_parse_round_trips(data: dict[str, Any]) -> None:
    fault = parse_fault(data)
    assert isinstance(fault, KINDS[data["kind"]])
    dumped = fault.to_dict()
    assert {k: dumped[k] for k in data} == data
    assert parse_fault(dumped) == fault


def test_numbers_are_normalised_to_floats() -> None:
    fault = parse_fault({"kind": "latency", "ms": 25})
    assert isinstance(fault, LatencyFault) and isinstance(fault.ms, float)


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        ({"kind": "nope"}, "faults.kind", "must be one of: latency, error"),
        ({"ms": 1}, "faults.kind", "must be one of"),
        ({"kind": "error", "colour": "red"}, "faults.colour", "unknown field"),
        ({"kind": "error", "status": "500"}, "faults.status", "must be an integer"),
        ({"kind": "error", "status": True}, "faults.status", "must be an integer"),
        ({"kind": "error", "status": 200}, "faults.status", "between 400 and 599"),
        ({"kind": "latency"}, "faults.ms", "required"),
        ({"kind": "latency", "ms": -1}, "faults.ms", "must not be negative"),
        ({"kind": "page"}, "faults.mode", "required"),
        ({"kind": "page", "mode": "sideways"}, "faults.mode", "one of 'items_null'"),
        ({"kind": "hang", "seconds": "long"}, "faults.seconds", "a number or null"),
        ({"kind": "reset", "probability": 1.5}, "faults.probability", "between 0 and 1"),
        ({"kind": "reset", "times": 0}, "faults.times", "at least 1"),
        ({"kind": "reset", "start": 5, "end": 5}, "faults.end", "after start"),
        ({"kind": "reset", "path": "re:([a-"}, "faults.path", "invalid regular expression"),
        ({"kind": "outage"}, "faults.project_uid", "required for an outage"),
        ({"kind": "storm", "retry_after": 0}, "faults.retry_after", "must be positive"),
        ("error", "faults", "must be an object"),
    ],
)
def test_invalid_specs_name_the_field(data: object, where: str, message: str) -> None:
    problems = _problems(data)
    assert where in problems, problems
    assert message in problems[where]


def test_a_list_reports_every_bad_item() -> None:
    problems = _problems([{"kind": "reset"}, {"kind": "error", "status": 1}, {"kind": "x"}])
    assert set(problems) == {"faults[1].status", "faults[2].kind"}


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ConfigError, match="probability"):
        ErrorFault(probability=2)


def _request(path: str = "/v1/items", **kw: Any) -> RequestInfo:
    return RequestInfo(kw.pop("method", "GET"), path, **kw)


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("/v1/dashboard/spectroclusters/*", "/v1/dashboard/spectroclusters/search", True),
        ("/v1/dashboard/spectroclusters/*", "/v1/dashboard/spectroclusters/a/b", True),
        ("/v1/dashboard/spectroclusters/*", "/v1/dashboard/projects", False),
        ("/v1/items", "/v1/items/extra", False),
        ("re:/v1/spectroclusters/[0-9a-f]{3}", "/v1/spectroclusters/abc", True),
        ("re:/v1/spectroclusters/[0-9a-f]{3}", "/v1/spectroclusters/abcd", False),  # full match
        ("*", "/anything/at/all", True),
    ],
)
def test_path_patterns(pattern: str, path: str, hit: bool) -> None:
    state = FaultState([ErrorFault(path=pattern)])
    assert (state.plan(_request(path)).answer is not None) is hit


def test_method_and_project_filters() -> None:
    state = FaultState([ErrorFault(method="post", project_uid="p1")])
    assert state.plan(_request(method="POST", project_uid="p1")).answer is not None
    assert state.plan(_request(method="GET", project_uid="p1")).answer is None
    assert state.plan(_request(method="POST", project_uid="p2")).answer is None
    assert state.plan(_request(method="POST")).answer is None


def _pattern(seed: int, n: int = 200) -> list[bool]:
    state = FaultState([ErrorFault(probability=0.3)], seed=seed)
    return [state.plan(_request()).answer is not None for _ in range(n)]


def test_probability_is_deterministic_per_seed() -> None:
    first = _pattern(7)
    assert first == _pattern(7)
    assert first != _pattern(8)
    assert 30 <= first.count(True) <= 90  # about 60 of 200


def test_one_faults_rolls_do_not_shift_anothers() -> None:
    def build() -> FaultState:
        return FaultState(
            [ErrorFault(probability=0.5, path="/v1/a"), ErrorFault(probability=0.5, path="/v1/b")]
        )

    quiet, busy = build(), build()
    only_b = [quiet.plan(_request("/v1/b")).answer is not None for _ in range(60)]
    mixed = []
    for i in range(180):
        plan = busy.plan(_request("/v1/a" if i % 3 else "/v1/b"))
        if i % 3 == 0:
            mixed.append(plan.answer is not None)
    assert mixed == only_b
    assert busy.stats()["f1"] > 0


def test_times_caps_firings() -> None:
    state = FaultState([ErrorFault(times=2)])
    fired = [state.plan(_request()).answer is not None for _ in range(5)]
    assert fired == [True, True, False, False, False]
    assert state.stats() == {"f1": 2}
    assert state.list()[0]["exhausted"] is True


def test_time_window_is_relative_to_addition() -> None:
    clock = FakeClock()
    state = FaultState(clock=clock)
    clock.advance(100)
    state.add(OutageFault(project_uid="p1", start=10, end=20))
    seen = []
    for offset in (0, 9.9, 10, 19.9, 20, 50):
        clock.now = 1100 + offset
        seen.append(state.plan(_request(project_uid="p1")).answer is not None)
    assert seen == [False, False, True, True, False, False]


def test_latencies_add_up_and_first_answer_wins() -> None:
    faults: list[Fault] = [
        LatencyFault(ms=10),
        ErrorFault(status=502),
        LatencyFault(ms=5, path="/v1/*"),
        ErrorFault(status=504),
        HangFault(seconds=1),
    ]
    state = FaultState(faults)
    plan = state.plan(_request())
    assert plan.delay == pytest.approx(0.015)
    assert plan.answer is not None and plan.answer[0] == "f2"
    assert plan.hang == faults[4]
    assert state.stats() == {"f1": 1, "f2": 1, "f3": 1, "f4": 0, "f5": 1}


def test_repeat_continue_needs_a_token_and_rewrites_count_when_applied() -> None:
    state = FaultState([PageFault(mode="repeat_continue", times=1)])
    assert state.plan(_request()).rewrite is None
    plan = state.plan(_request(continue_token="3"))
    assert plan.rewrite is not None
    assert state.stats() == {"f1": 0}
    assert state.consume("f1") is True
    assert state.consume("f1") is False
    assert state.stats() == {"f1": 1}


def test_add_remove_clear_and_list() -> None:
    state = FaultState([LatencyFault(ms=1)])
    second = state.add(ErrorFault(status=500))
    assert [f["id"] for f in state.list()] == ["f1", second]
    assert state.list()[1] == {**ErrorFault(status=500).to_dict(), "id": "f2", "fired": 0, "exhausted": False}
    assert state.remove("f1") is True
    assert state.remove("f1") is False
    state.clear()
    assert state.list() == [] and state.stats() == {}
    assert state.add(LatencyFault(ms=1)) == "f3"  # ids are never reused
