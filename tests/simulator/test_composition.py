"""The app as composed by ``create_app``: rate limits and faults in front of the routes, admin and health
exempt, and no credential in logs."""

from __future__ import annotations

import httpx
import structlog

from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.simulator.helpers import API_KEY, assert_error


def test_rate_limits_answer_429_on_api_paths_only() -> None:
    with (
        SimulatorServer(SimulatorOptions()) as sim,
        httpx.Client(base_url=sim.url, headers={"ApiKey": API_KEY}) as c,
    ):
        responses = [c.get("/v1/dashboard/spectroclusters/meta") for _ in range(40)]
        assert responses[0].status_code == 200
        limited = next(r for r in responses if r.status_code != 200)
        assert_error(limited, 429, "TooManyRequests")
        assert c.get("/v1/spectroclusters/" + "0" * 24).status_code == 404, (
            "another prefix has its own bucket"
        )
        assert all(c.get("/health").status_code == 200 for _ in range(40))
        assert all(c.get("/__sim/dataset").status_code == 200 for _ in range(40))
        assert c.get("/__sim/ratelimit").json()["prefixes"]["/v1/dashboard"]["limited"] > 0


def test_rate_limits_off() -> None:
    with (
        SimulatorServer(SimulatorOptions(rate_limits=False)) as sim,
        httpx.Client(base_url=sim.url, headers={"ApiKey": API_KEY}) as c,
    ):
        assert {c.get("/v1/dashboard/spectroclusters/meta").status_code for _ in range(60)} == {200}


def test_faults_added_through_the_admin_api_apply(fresh_client: httpx.Client) -> None:
    added = fresh_client.post(
        "/__sim/faults", json={"kind": "error", "path": "/v1/overlords", "status": 503, "times": 1}
    )
    assert added.status_code == 201
    assert_error(fresh_client.get("/v1/overlords"), 503)
    assert fresh_client.get("/v1/overlords").status_code == 200


def test_no_credential_reaches_the_logs(fresh_sim: SimulatorServer) -> None:
    dev = next(u for u in fresh_sim.dataset.collection("users").values() if u["apiKeys"])
    secrets = [API_KEY, dev["apiKeys"][0], dev["sessionTokens"][0], "wrong-key-123"]
    secrets += [a["spec"][k] for a in fresh_sim.dataset.collection("cloudAccounts").values()
                for k in ("secretKey", "clientSecret", "password") if a["spec"].get(k)]  # fmt: skip
    with structlog.testing.capture_logs() as logs, httpx.Client(base_url=fresh_sim.url) as c:
        c.get("/v1/users/info", headers={"ApiKey": "wrong-key-123"})
        c.get("/v1/users/info", headers={"Authorization": dev["sessionTokens"][0]})
        c.get("/v1/cloudaccounts/aws", headers={"ApiKey": dev["apiKeys"][0]})
        c.post("/__sim/faults", headers={"ApiKey": API_KEY}, json={"kind": "error", "path": "/v1/users/*"})
        c.get("/v1/users/me", headers={"ApiKey": API_KEY})
        c.post("/v1/spectroclusters/eks", headers={"ApiKey": API_KEY}, content=b"{broken")
        with SimulatorServer(SimulatorOptions(api_key="another-secret-key", rate_limits=False)):
            pass
    text = repr(logs)
    assert logs, "the simulator logs something"
    assert not [s for s in [*secrets, "another-secret-key"] if s in text]
