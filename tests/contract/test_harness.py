"""ValidatingTransport, with httpx.MockTransport as the inner transport (the harness is under test here)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ingestor.palette.schema import SpecValidator
from tests.contract import samples
from tests.contract.harness import Exchange, ValidatingTransport

BASE = "http://palette.test"
KEY = "api-key-value-never-shown"
AUTH = {"ApiKey": KEY}
SEARCH = "/v1/dashboard/spectroclusters/search"
Handler = Callable[[httpx.Request], httpx.Response]


def _json(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def _client(
    validator: SpecValidator, handler: Handler, **kw: Any
) -> tuple[httpx.AsyncClient, ValidatingTransport]:
    kw.setdefault("strict_responses", True)
    transport = ValidatingTransport(httpx.MockTransport(handler), validator, **kw)
    return httpx.AsyncClient(transport=transport, base_url=BASE), transport


def _page(_: httpx.Request) -> httpx.Response:
    return _json(200, samples.cluster_summary_page())


async def test_good_exchanges_pass_and_are_recorded(validator: SpecValidator) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == SEARCH:
            return _json(200, samples.cluster_summary_page())
        if request.url.path == "/v1/users/me":
            return _json(
                200,
                {
                    "metadata": samples.metadata("u", "dev"),
                    "status": {
                        "isContractAccepted": False,
                        "tenantPermissions": {"tenant": ["cluster.list"]},
                    },
                },
            )
        return _json(200, [samples.cluster_meta(0)])

    client, transport = _client(validator, handler)
    async with client:
        page = await client.post(
            SEARCH,
            params={"limit": 50, "continue": "tok"},
            json=samples.search_body(),
            headers={**AUTH, "ProjectUid": samples.PROJECT_UID},
        )
        meta = await client.get(
            "/v1/dashboard/spectroclusters/meta", params={"ProjectUid": "p"}, headers=AUTH
        )
        me = await client.get("/v1/users/me", headers={"Authorization": "raw.jwt.token"})
    assert page.json() == samples.cluster_summary_page()
    assert meta.json() == [samples.cluster_meta(0)]
    assert me.status_code == 200
    assert transport.violations == []
    assert transport.exchanges == [
        Exchange("POST", SEARCH, 200),
        Exchange("GET", "/v1/dashboard/spectroclusters/meta", 200),
        Exchange("GET", "/v1/users/me", 200),
    ]


async def test_a_bad_request_body_is_caught(validator: SpecValidator) -> None:
    client, transport = _client(validator, _page)
    async with client:
        await client.post(SEARCH, json=samples.search_body("memoryUsage"), headers=AUTH)
    assert len(transport.violations) == 1
    assert transport.violations[0].startswith(f"POST {SEARCH} request: sort.0.field: string value not one of")


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"limit": "51"}, "query parameter 'limit' value 51 exceeds the maximum 50"),
        ({"limit": "ten"}, "query parameter 'limit' is not an integer"),
        ({"pageSize": "5"}, "query parameter 'pageSize' is not declared by the spec"),
        ({"offset": ["1", "2"]}, "query parameter 'offset' is given 2 times"),
    ],
)
async def test_query_parameters_are_checked(
    validator: SpecValidator, params: dict[str, Any], problem: str
) -> None:
    client, transport = _client(validator, _page)
    async with client:
        await client.post(SEARCH, params=params, json={}, headers=AUTH)
    assert transport.violations == [f"POST {SEARCH}: {problem}"]


async def test_required_query_parameters_and_booleans(validator: SpecValidator) -> None:
    resources = {"datacenter": "dc", "computecluster": {"name": "cc", "datastores": [], "networks": []}}
    client, transport = _client(validator, lambda r: _json(200, resources))
    template = "/v1/cloudaccounts/vsphere/{uid}/properties/computecluster/resources"
    async with client:
        url = "/v1/cloudaccounts/vsphere/a1/properties/computecluster/resources"
        await client.get(url, params={"datacenter": "dc", "useQualifiedNetworkName": "yes"}, headers=AUTH)
    assert transport.violations == [
        f"GET {template}: query parameter 'useQualifiedNetworkName' is not 'true' or 'false'",
        f"GET {template}: required query parameter 'computecluster' is missing",
    ]


async def test_bad_responses_are_caught(validator: SpecValidator) -> None:
    page = samples.cluster_summary_page(1)
    page["items"][0]["status"]["healthy"] = True  # undeclared: strict mode only
    null_items = {"items": None, "listmeta": page["listmeta"]}
    bodies = iter([page, null_items, page])

    client, transport = _client(validator, lambda r: _json(200, next(bodies)))
    async with client:
        await client.post(SEARCH, json={}, headers=AUTH)
        await client.post(SEARCH, json={}, headers=AUTH)
    assert transport.violations == [
        f"POST {SEARCH} 200: v1SpectroClustersSummary items.0.status: "
        "Additional properties are not allowed ('healthy' was unexpected)",
        f'POST {SEARCH} 200: v1SpectroClustersSummary items: expected "array", got null',
    ]

    lenient_client, lenient = _client(validator, lambda r: _json(200, next(bodies)), strict_responses=False)
    async with lenient_client:
        await lenient_client.post(SEARCH, json={}, headers=AUTH)
    assert lenient.violations == []


async def test_an_unknown_path_is_a_violation_and_still_forwarded(validator: SpecValidator) -> None:
    error = {"code": "ResourceNotFound", "message": "no such path"}
    client, transport = _client(validator, lambda r: _json(404, error))
    async with client:
        response = await client.get("/v1/clusterprofiles/p1/versions/v2", headers=AUTH)
    assert response.status_code == 404
    assert response.json() == error
    assert transport.violations == [
        "GET /v1/clusterprofiles/p1/versions/v2: not an operation of the Palette spec"
    ]
    assert transport.exchanges == [Exchange("GET", "/v1/clusterprofiles/p1/versions/v2", 404)]


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (_json(404, {"code": "ResourceNotFound", "message": "gone", "ref": "r1"}), None),
        (_json(429, {"code": "TooManyRequests"}), None),
        (
            _json(404, {"code": "ResourceNotFound", "details": None}),
            'v1Error details: expected "object", got null',
        ),
        (_json(500, "oops"), 'v1Error (root): expected "object", got string'),
        (httpx.Response(503), "error response has no body"),
        (_json(302, {}), "unexpected status"),
        (_json(202, {"uid": "x"}), "status not declared by the spec (declared: [200])"),
    ],
)
async def test_error_and_unexpected_statuses(
    validator: SpecValidator, response: httpx.Response, problem: str | None
) -> None:
    client, transport = _client(validator, lambda r: response)
    async with client:
        got = await client.get("/v1/spectroclusters/c1", headers=AUTH)
    label = f"GET /v1/spectroclusters/{{uid}} {got.status_code}"
    assert transport.violations == ([f"{label}: {problem}"] if problem else [])


async def test_non_json_error_bodies_are_caught(validator: SpecValidator) -> None:
    client, transport = _client(validator, lambda r: httpx.Response(500, text="oops"))
    async with client:
        await client.get("/v1/spectroclusters/c1", headers=AUTH)
    assert transport.violations == [
        "GET /v1/spectroclusters/{uid} 500: body is not declared as application/json",
        "GET /v1/spectroclusters/{uid} 500: body is not valid JSON",
    ]


@pytest.mark.parametrize(
    ("response", "problems"),
    [
        (
            httpx.Response(
                200, content=b"apiVersion: v1\n", headers={"Content-Type": "application/octet-stream"}
            ),
            [],
        ),
        (_json(200, {"kubeconfig": "x"}), ["binary response must be application/octet-stream"]),
        (
            httpx.Response(200, content=b"", headers={"Content-Type": "application/octet-stream"}),
            ["binary response is empty"],
        ),
    ],
)
async def test_binary_kubeconfig_responses(
    validator: SpecValidator, response: httpx.Response, problems: list[str]
) -> None:
    client, transport = _client(validator, lambda r: response)
    async with client:
        got = await client.get(
            "/v1/spectroclusters/c1/assets/kubeconfig", params={"frp": "false"}, headers=AUTH
        )
    assert got.content == response.content
    label = "GET /v1/spectroclusters/{uid}/assets/kubeconfig 200"
    assert transport.violations == [f"{label}: {p}" for p in problems]


async def test_creates_and_deletes(validator: SpecValidator) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204, content=b"{}" if request.url.path.endswith("k2") else b"")
        return _json(201, {"uid": "new-uid"}, AuditUid="a1")

    client, transport = _client(validator, handler)
    async with client:
        await client.post("/v1/spectroclusters/aws", json=samples.aws_create_body(), headers=AUTH)
        await client.delete("/v1/users/assets/sshkeys/k1", headers=AUTH)
        await client.delete("/v1/users/assets/sshkeys/k2", headers=AUTH)
    assert transport.violations == [
        "DELETE /v1/users/assets/sshkeys/{uid} 204: response has a body but the spec declares none"
    ]
    assert [e.status for e in transport.exchanges] == [201, 204, 204]


async def test_request_body_rules(validator: SpecValidator) -> None:
    client, transport = _client(validator, lambda r: _json(200, {"Authorization": "t", "isMfa": False}))
    async with client:
        await client.request("GET", "/v1/users/info", json={"x": 1}, headers=AUTH)
        await client.post("/v1/auth/authenticate")
        await client.post(SEARCH, content=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
        await client.post(SEARCH, content=b"{}", headers={**AUTH, "Content-Type": "text/plain"})
    # The canned v1UserToken is a bad response for most of these; only the request checks matter here.
    requests = [v for v in transport.violations if " 200:" not in v]
    assert requests == [
        "GET /v1/users/info: request has a body but the operation declares none",
        "POST /v1/auth/authenticate: request body v1AuthLogin is required but missing",
        f"POST {SEARCH} request: body is not valid JSON",
        f"POST {SEARCH} request: body is not declared as application/json",
    ]


async def test_header_rules_never_echo_values(validator: SpecValidator) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _json(200, {"userUid": "u", "tenantUid": "t", "orgName": "acme"})

    client, transport = _client(validator, handler)
    async with client:
        await client.get("/v1/users/info", headers={"Authorization": f"Bearer {KEY}"})
        await client.get("/v1/users/info", headers={"Authorization": KEY, "ApiKey": KEY})
        await client.get("/v1/users/info")
        await client.get("/v1/users/info", headers={**AUTH, "X-Api-Token": KEY})
    assert transport.violations == [
        "GET /v1/users/info: Authorization must carry the raw token, without 'Bearer '",
        "GET /v1/users/info: request sends both ApiKey and Authorization",
        "GET /v1/users/info: request carries no ApiKey or Authorization header",
        "GET /v1/users/info: request header 'x-api-token' is not declared by the spec",
    ]
    assert all(KEY not in v for v in transport.violations)

    anonymous_client, anonymous = _client(validator, handler, require_auth=False)
    async with anonymous_client:
        await anonymous_client.get("/v1/users/info")
    assert anonymous.violations == []


async def test_compressed_responses_are_validated_decoded_and_passed_on_intact(
    validator: SpecValidator,
) -> None:
    body = json.dumps(samples.cluster_summary_page()).encode()
    packed = gzip.compress(body)

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=packed, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    client, transport = _client(validator, handler)
    async with client:
        response = await client.post(SEARCH, json={}, headers=AUTH)
    assert response.json() == samples.cluster_summary_page()
    assert transport.violations == []


async def test_streamed_responses_reach_the_caller(validator: SpecValidator) -> None:
    client, transport = _client(validator, _page)
    async with client, client.stream("POST", SEARCH, json={}, headers=AUTH) as response:
        chunks = [chunk async for chunk in response.aiter_bytes()]
    assert json.loads(b"".join(chunks)) == samples.cluster_summary_page()
    assert transport.violations == []


async def test_inner_failures_are_recorded_and_propagate(validator: SpecValidator) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, transport = _client(validator, handler)
    async with client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/v1/users/info", headers=AUTH)
    assert transport.exchanges == [Exchange("GET", "/v1/users/info", None)]
    assert transport.violations == []


async def test_aclose_closes_the_inner_transport(validator: SpecValidator) -> None:
    closed: list[bool] = []

    class Inner(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    transport = ValidatingTransport(Inner(_page), validator, strict_responses=False)
    await transport.aclose()
    assert closed == [True]


async def test_encoded_path_segments_stay_one_segment(validator: SpecValidator) -> None:
    client, transport = _client(validator, lambda r: _json(200, {"profiles": []}))
    async with client:
        await client.get("/v1/spectroclusters/a%2Fb/profiles", headers=AUTH)
    assert transport.violations == []
    assert transport.exchanges == [Exchange("GET", "/v1/spectroclusters/{uid}/profiles", 200)]
