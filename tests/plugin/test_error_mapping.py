"""Palette failures → our status contract (compat.md 3.2, C5, C7, C8, F1, S8), driven by simulator faults.

Bodies are ``{"error": ...}`` (plus ``requiresReAuth`` on re-auth 401s) and never carry Palette's own
error message. Faults are removed after every test (the simulator is shared by the module).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestor.simulator.server import SimulatorServer
from tests.plugin.conftest import SIM_KEY, PluginClient
from tests.plugin.routes_table import (
    BY_NUMBER,
    DEFAULT_SAMPLES,
    ROUTES,
    RouteCase,
    load_samples,
    route_params,
)

PALETTE_DETAIL = "palette-internal-detail-7731-do-not-echo"
REAUTH = "x-spectrocloud-reauth-required"
DETAIL_PATH = "/v1/dashboard/spectroclusters/*"


@pytest.fixture(scope="module")
def samples(sim: SimulatorServer) -> dict[str, str]:
    return load_samples(sim.url, SIM_KEY)


@pytest.fixture
def faults(sim: SimulatorServer) -> Iterator[Any]:
    """``faults(spec, ...)`` installs simulator faults; all are removed when the test ends."""
    admin = httpx.Client(base_url=sim.url, headers={"ApiKey": SIM_KEY}, timeout=30)

    def add(*specs: dict[str, Any]) -> list[str]:
        response = admin.post("/__sim/faults", json=list(specs))
        assert response.status_code == 201, response.text
        ids: list[str] = response.json()["ids"]
        return ids

    try:
        yield add
    finally:
        admin.delete("/__sim/faults").raise_for_status()
        admin.close()


def detail(p: PluginClient, samples: dict[str, str], **kwargs: Any) -> httpx.Response:
    params = {"projectUid": samples["clusterProjectUid"], **kwargs.pop("params", {})}
    return p.get(BY_NUMBER[6].url(samples), params=params, **kwargs)


def assert_error_body(response: httpx.Response, *keys: str) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", *keys}, body
    assert isinstance(body["error"], str) and body["error"]
    assert PALETTE_DETAIL not in response.text
    return body


def test_palette_401_to_the_api_key_is_a_502_for_the_operators(
    plugin: Any, samples: dict[str, str], faults: Any
) -> None:
    p: PluginClient = plugin()
    faults(
        {
            "kind": "error",
            "path": DETAIL_PATH,
            "status": 401,
            "code": "Unauthorized",
            "message": PALETTE_DETAIL,
        }
    )
    response = detail(p, samples)
    assert response.status_code == 502, response.text
    assert "API key" in assert_error_body(response)["error"]
    assert REAUTH not in response.headers
    assert {kind for _, _, kind in p.palette.requests} == {"api-key"}


def test_palette_401_to_a_user_token_asks_for_reauth(
    plugin: Any, samples: dict[str, str], faults: Any
) -> None:
    p: PluginClient = plugin()
    faults(
        {
            "kind": "error",
            "path": DETAIL_PATH,
            "status": 401,
            "code": "Unauthorized",
            "message": PALETTE_DETAIL,
        }
    )
    response = detail(p, samples, headers={"X-SpectroCloud-Token": p.session_token("admin")})
    assert response.status_code == 401, response.text
    assert assert_error_body(response, "requiresReAuth")["requiresReAuth"] is True
    assert response.headers[REAUTH] == "true"


@pytest.mark.parametrize(
    ("status", "expected", "phrase"),
    [
        (403, 403, "Forbidden"),
        (404, 404, "not found"),
        (500, 502, None),
        (503, 502, None),
    ],
)
def test_palette_statuses_map_onto_ours(
    plugin: Any,
    samples: dict[str, str],
    faults: Any,
    status: int,
    expected: int,
    phrase: str | None,
) -> None:
    p: PluginClient = plugin()
    faults({"kind": "error", "path": DETAIL_PATH, "status": status, "message": PALETTE_DETAIL})
    response = detail(p, samples)
    assert response.status_code == expected, response.text
    error = assert_error_body(response)["error"]
    if phrase == "Forbidden":
        assert error.startswith("Forbidden")
    elif phrase is not None:
        assert phrase in error
    assert p.palette.requests, "the fault never fired: nothing reached Palette"


def test_an_unknown_uid_is_404_not_found(plugin: Any, samples: dict[str, str]) -> None:
    p: PluginClient = plugin()
    response = p.get(
        "/clusters/0123456789abcdef01234567", params={"projectUid": samples["clusterProjectUid"]}
    )
    assert response.status_code == 404, response.text
    assert "not found" in assert_error_body(response)["error"]


def test_palette_rate_limiting_is_503_with_retry_after(
    plugin: Any, samples: dict[str, str], faults: Any
) -> None:
    p: PluginClient = plugin()
    faults({"kind": "storm", "path": DETAIL_PATH, "retry_after": 7})
    response = detail(p, samples)
    assert response.status_code == 503, response.text
    assert_error_body(response)
    assert response.headers["retry-after"] == "7"  # Palette's own hint, passed on
    assert len(p.palette.requests) >= 2, "429 is retried before giving up"


def test_a_slow_palette_is_504(plugin: Any, samples: dict[str, str], faults: Any) -> None:
    p: PluginClient = plugin(palette={"timeouts": {"connect": 1.0, "read": 0.3, "total": 1.0}})
    faults({"kind": "hang", "path": DETAIL_PATH, "seconds": 3})
    response = detail(p, samples)
    assert response.status_code == 504, response.text
    assert_error_body(response)


def test_a_failing_project_fails_a_list_instead_of_shortening_it(
    plugin: Any, samples: dict[str, str], faults: Any
) -> None:
    p: PluginClient = plugin()
    faults(
        {
            "kind": "outage",
            "path": "/v1/dashboard/spectroclusters/meta",
            "project_uid": samples["clusterProjectUid"],
        }
    )
    response = p.get("/clusters")
    assert response.status_code == 502, response.text
    assert_error_body(response)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_palette_is_504(plugin: Any, samples: dict[str, str]) -> None:
    """Connection refused (no HTTP status at all) is 504, like a timeout (compat.md 3.2)."""
    dead = {"name": "main", "url": f"http://127.0.0.1:{closed_port()}", "apiToken": SIM_KEY}
    p: PluginClient = plugin(environments=[dead])
    response = detail(p, samples)
    assert response.status_code == 504, response.text
    assert "unreachable" in assert_error_body(response)["error"]


@pytest.mark.parametrize(
    "instance", [["nowhere"], ["main", "second"], ["main", "main"], ["MAIN"], [""]], ids=repr
)
def test_unknown_or_repeated_instances_are_400_listing_the_names(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str], instance: list[str]
) -> None:
    envs = [{"name": name, "url": sim.url, "apiToken": SIM_KEY} for name in ("main", "second")]
    p: PluginClient = plugin(environments=envs)
    params = [("projectUid", samples["clusterProjectUid"]), *(("instance", value) for value in instance)]
    response = p.get(BY_NUMBER[6].url(samples), params=params)
    assert response.status_code == 400, response.text
    error = assert_error_body(response)["error"]
    assert "'main'" in error and "'second'" in error
    assert p.palette.requests == []


def test_a_named_instance_is_used(plugin: Any, sim: SimulatorServer, samples: dict[str, str]) -> None:
    envs = [{"name": name, "url": sim.url, "apiToken": SIM_KEY} for name in ("main", "second")]
    p: PluginClient = plugin(environments=envs)
    assert detail(p, samples, params={"instance": "second"}).status_code == 200


BAD_UIDS = ("..%2F..%2Fv1%2Fusers", "%3F", "abc%3Fx%3D1", "%2E%2E", "a" * 65, "abc_def")
UID_ROUTES = tuple(case for case in ROUTES if "{" in case.sample)


@pytest.mark.parametrize("case", route_params(UID_ROUTES))
def test_bad_path_uids_are_400_on_every_route_and_never_reach_palette(plugin: Any, case: RouteCase) -> None:
    p: PluginClient = plugin()
    headers = {"Authorization": f"Bearer {p.token()}"}
    for placeholder in re.findall(r"\{(\w+)\}", case.sample):
        for bad in BAD_UIDS:
            # Sent as written: httpx must not decode or normalise the encoded segment.
            url = p.base + case.url({**DEFAULT_SAMPLES, placeholder: bad})
            response = httpx.request(case.method, url, headers=headers, timeout=30, **case.request_kwargs())
            assert response.status_code == 400, f"{placeholder}={bad}: {response.text}"
            assert response.json()["error"]
    assert p.palette.requests == []


NAME_PLACEHOLDERS = {"datacenter", "computecluster"}  # names, not uids
QUERY_UID_ROUTES = tuple(
    case
    for case in ROUTES
    if any(re.search(r"\{(\w+)\}", v) and v.strip("{}") not in NAME_PLACEHOLDERS for v in case.query.values())
)


@pytest.mark.parametrize("case", route_params(QUERY_UID_ROUTES))
def test_bad_query_uids_are_400_and_never_reach_palette(plugin: Any, case: RouteCase) -> None:
    p: PluginClient = plugin()
    for name, value in case.query.items():
        if not re.fullmatch(r"\{\w+\}", value) or value.strip("{}") in NAME_PLACEHOLDERS:
            continue
        for bad in ("../../v1/users", "?x=1", "..", "a" * 65):
            params = {**case.params(), name: bad}
            response = p.call(
                case.method, case.url(), user="user:default/jane", params=params, json=case.body
            )
            assert response.status_code == 400, f"{name}={bad}: {response.text}"
    assert p.palette.requests == []
