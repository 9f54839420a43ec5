"""The plugin API's OpenAPI document, and a schemathesis fuzz run over every operation it lists.

The fuzz run sends generated requests (valid and invalid, plus arbitrary ``X-SpectroCloud-*`` headers)
to the live service on a real socket, with a static service token so they pass authentication, in
front of a healthy simulator. The checks: no 5xx for any input, every error answers JSON
``{"error": "<message>"}``, and no answer echoes a token. Two small runs prove the harness reports the
first two kinds of failure.
``PLUGIN_FUZZ_EXAMPLES`` raises the number of examples for a longer local run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
import structlog
import uvicorn
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from ingestor.serving import ThreadedServer
from tests.plugin.conftest import SERVICE_TOKEN, SIM_KEY, PluginClient

PREFIX = "/api/spectrocloud"
# Positive examples per operation (negative ones: half). 28 operations stay well under a minute.
EXAMPLES = int(os.environ.get("PLUGIN_FUZZ_EXAMPLES", "16"))
AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
POLICY = "p, role:default/nobody, spectrocloud.cluster.view-info, read, allow\n"

ALL_Q = ("instance",)
SCOPED_Q = ("instance", "projectUid")
# compat.md 3.3: (method, path) -> query parameters the route declares.
ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/health"): (),
    ("GET", "/auth/debug"): ALL_Q,
    ("GET", "/users/me/projects"): ALL_Q,
    ("GET", "/clusters"): ALL_Q,
    ("GET", "/clusters/{clusterUid}/kubeconfig"): (*SCOPED_Q, "frp"),
    ("GET", "/clusters/{clusterUid}"): SCOPED_Q,
    ("GET", "/virtualclusters"): ALL_Q,
    ("GET", "/virtualclusters/{clusterUid}"): SCOPED_Q,
    ("GET", "/clustergroups/{clusterGroupUid}"): SCOPED_Q,
    ("GET", "/virtualclusters/{clusterUid}/kubeconfig"): (*SCOPED_Q, "frp"),
    ("GET", "/profiles/{profileUid}"): SCOPED_Q,
    ("POST", "/profiles/search"): SCOPED_Q,
    ("GET", "/clusters/{clusterUid}/profiles"): SCOPED_Q,
    ("GET", "/clusters/{clusterUid}/pack/manifests/{manifestUid}"): SCOPED_Q,
    ("GET", "/projects"): ALL_Q,
    ("GET", "/cloudaccounts/{cloudType}"): SCOPED_Q,
    ("GET", "/projects/{projectUid}/profiles"): (*ALL_Q, "cloudType", "profileType"),
    ("GET", "/profiles/{profileUid}/packs"): (*SCOPED_Q, "versionUid"),
    ("POST", "/clusters"): SCOPED_Q,
    ("POST", "/virtualclusters"): SCOPED_Q,
    ("GET", "/clustergroups"): SCOPED_Q,
    ("GET", "/profiles/{profileUid}/variables"): SCOPED_Q,
    ("GET", "/cloudaccounts/vsphere/{accountUid}/metadata"): SCOPED_Q,
    ("GET", "/cloudaccounts/vsphere/{accountUid}/computecluster/resources"): (
        *SCOPED_Q,
        "datacenter",
        "computecluster",
    ),
    ("GET", "/cloudaccounts/{cloudType}/{accountUid}"): SCOPED_Q,
    ("GET", "/users/sshkeys"): SCOPED_Q,
    ("GET", "/overlords"): SCOPED_Q,
    ("GET", "/overlords/vsphere/{overlordUid}/pools"): SCOPED_Q,
}
ERROR_STATUSES = ("400", "401", "403", "404", "502", "503", "504")
# Operations no generated request can bring to success with a service token: the caller's own Palette
# session (3), and creation bodies a generator does not produce (19, 20).
NO_SUCCESS_EXPECTED = {"GET /users/me/projects", "POST /clusters", "POST /virtualclusters"}

# Header values the stock frontend's headers could carry: any latin-1 text a client can send.
HEADER_TEXT = (
    st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), min_size=1, max_size=48)
    .map(str.strip)
    .filter(bool)
)
PALETTE_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "X-SpectroCloud-Token": HEADER_TEXT,
        "X-SpectroCloud-User-Email": st.one_of(st.emails(), HEADER_TEXT),
    },
)


@pytest.fixture(autouse=True)
def _plain_tracebacks() -> Iterator[None]:
    """schemathesis brings in ``rich``, with which unconfigured structlog renders the traceback of a 500
    with every local variable: seconds per failure, enough to time out the requests after it."""
    saved = structlog.get_config()
    plain = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[
            plain if isinstance(step, structlog.dev.ConsoleRenderer) else step for step in saved["processors"]
        ]
    )
    yield
    structlog.configure(**saved)


@pytest.fixture
def p(plugin: Any) -> PluginClient:
    """Permissions on, so the static service token (no access restrictions) holds all seven: generated
    requests reach Palette on every route, kubeconfigs and creation included."""
    client: PluginClient = plugin(policy=POLICY)
    return client


@pytest.fixture
def faults(sim: Any) -> Iterator[Any]:
    """Add simulator faults for one test; all are cleared afterwards."""

    def add(*specs: dict[str, Any]) -> None:
        response = httpx.post(sim.url + "/__sim/faults", json=list(specs), headers={"ApiKey": SIM_KEY})
        assert response.status_code < 300, response.text

    yield add
    httpx.delete(sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY})


def openapi(p: PluginClient) -> dict[str, Any]:
    response = httpx.get(p.server.url + "/openapi.json", timeout=30)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def plugin_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path.removeprefix(PREFIX)): operation
        for path, item in document["paths"].items()
        if path.startswith(PREFIX + "/")
        for method, operation in item.items()
    }


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return resolve(document, node)


# --- the document ---------------------------------------------------------------------------------


def test_openapi_lists_every_plugin_route_with_its_parameters(p: PluginClient) -> None:
    operations = plugin_operations(openapi(p))
    assert sorted(operations) == sorted(ROUTES), "the 28 routes of compat.md 3.3, nothing else"
    for (method, path), wanted_query in ROUTES.items():
        operation = operations[(method, path)]
        declared = {(param["in"], param["name"]): param for param in operation.get("parameters", [])}
        for name in (segment[1:-1] for segment in path.split("/") if segment.startswith("{")):
            assert declared.get(("path", name), {}).get("required"), f"{method} {path}: path {name}"
        for name in wanted_query:
            assert ("query", name) in declared, f"{method} {path}: query {name}"
        assert operation.get("description"), f"{method} {path}: no description (route docstring)"


def test_openapi_documents_errors_as_json_error_bodies(p: PluginClient) -> None:
    document = openapi(p)
    for (method, path), operation in plugin_operations(document).items():
        if path == "/health":
            continue
        for status in ERROR_STATUSES:
            assert status in operation["responses"], f"{method} {path}: {status} not documented"
            content = operation["responses"][status]["content"]["application/json"]
            schema = resolve(document, content["schema"])
            assert "error" in schema["required"], (method, path, status)
            assert schema["properties"]["error"]["type"] == "string", (method, path, status)


# --- the fuzz harness -----------------------------------------------------------------------------


@dataclass
class Known:
    """Real objects of the simulator, pinned in one variant per operation so that generated requests
    also reach Palette objects that exist (every other value is still generated)."""

    path: dict[str, str]
    query: dict[str, str]

    def variant(self, path_names: list[str], query_names: set[str]) -> tuple[dict[str, str], dict[str, str]]:
        pinned = {name: self.path[name] for name in path_names if name in self.path}
        return pinned, {name: value for name, value in self.query.items() if name in query_names}


def known_objects(p: PluginClient) -> Known:
    """One project with a running cluster that has a manifest, and a virtual cluster; a tenant-scope group,
    profile, vSphere account with its inventory and gateway (readable from any project)."""

    def records(collection: str) -> list[dict[str, Any]]:
        uids = p.sim_get(f"/__sim/data/{collection}")["uids"]
        return [p.sim_get(f"/__sim/data/{collection}/{uid}") for uid in uids]

    def annotations(record: dict[str, Any]) -> dict[str, Any]:
        return dict(record["metadata"].get("annotations") or {})

    def uid(record: dict[str, Any]) -> str:
        return str(record["metadata"]["uid"])

    def tenant(collection: str, kind: str = "") -> dict[str, Any]:
        """The first tenant-scope record (whose text mentions ``kind``)."""
        return next(
            r
            for r in records(collection)
            if annotations(r).get("scope", "tenant") == "tenant" and kind in str(r).lower()
        )

    clusters = [c for c in records("clusters") if annotations(c).get("scope") == "project"]
    cluster, manifest = next(
        (c, m)
        for c in clusters
        if (c.get("status") or {}).get("state") == "Running"  # it has a kubeconfig
        and (m := first_manifest(p, uid(c), annotations(c)["projectUid"]))
    )
    project = annotations(cluster)["projectUid"]
    virtual = next(
        c
        for c in clusters
        if (c.get("spec") or {}).get("cloudType") == "nested" and annotations(c)["projectUid"] == project
    )
    vsphere = tenant("cloudAccounts", "vsphere")
    inventory = p.sim_get(f"/v1/cloudaccounts/vsphere/{uid(vsphere)}/properties/datacenters")["items"][0]
    return Known(
        path={
            "clusterUid": uid(cluster),
            "manifestUid": manifest,
            "clusterGroupUid": uid(tenant("clusterGroups")),
            "profileUid": uid(tenant("clusterProfiles")),
            "accountUid": uid(vsphere),
            "overlordUid": annotations(vsphere)["overlordUid"],
            "projectUid": project,
            "cloudType": "vsphere",
            "virtualClusterUid": uid(virtual),
        },
        query={
            "instance": "main",
            "projectUid": project,
            "datacenter": inventory["datacenter"],
            "computecluster": inventory["computeclusters"][0],
        },
    )


def first_manifest(p: PluginClient, cluster: str, project: str) -> str | None:
    response = httpx.get(
        f"{p.sim.url}/v1/spectroclusters/{cluster}/profiles",
        headers={"ApiKey": SIM_KEY, "ProjectUid": project},
        timeout=30,
    )
    for profile in response.json().get("profiles", []) if response.status_code == 200 else []:
        for pack in profile["spec"].get("packs") or []:
            for manifest in (pack.get("spec") or {}).get("manifests") or []:
                return str(manifest["uid"])
    return None


def json_error_body(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every error answers JSON ``{"error": "<non-empty message>", ...}``."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert "application/json" in content_type, f"{response.status_code} answered {content_type!r}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.text[:120]!r}") from None
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], (
        f"{response.status_code} body is not {{'error': <message>}}: {response.text[:200]}"
    )
    return None


def no_secret_echoed(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No answer carries the service token, the simulator's API key or a Palette token the caller sent."""
    sent = str(response.request.headers.get("X-SpectroCloud-Token") or "")
    secrets = [SERVICE_TOKEN, SIM_KEY, *([sent] if len(sent) >= 16 else [])]
    text = response.content.decode("latin-1") + str(dict(response.headers))
    assert not [secret for secret in secrets if secret in text], f"{response.status_code} echoes a secret"
    return None


CHECKS = [not_a_server_error, json_error_body, no_secret_echoed]


@dataclass
class FuzzReport:
    calls: int = 0
    statuses: dict[str, set[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def succeeded(self) -> set[str]:
        """Operations (``METHOD /path`` below the prefix) that answered a 2xx at least once."""
        return {
            label.replace(PREFIX, "", 1)
            for label, statuses in self.statuses.items()
            if any(200 <= s < 300 for s in statuses)
        }


def fuzz(
    schema: Any,
    base_url: str,
    known: Known | None,
    *,
    examples: int = EXAMPLES,
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
) -> FuzzReport:
    """Every operation of ``schema``, ``examples`` generated cases per mode (negative: half), each answer
    run through ``CHECKS``; failures are collected, not raised. With ``known``, positive runs add a variant
    pinned to real objects."""
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        path_names = [param.name for param in operation.path_parameters]
        query_names = {param.name for param in operation.query}
        for mode in modes:
            strategies = [operation.as_strategy(generation_mode=mode)]
            if known is not None and mode is GenerationMode.POSITIVE:
                pinned, query = known.variant(path_names, query_names)
                if operation.path.startswith(f"{PREFIX}/virtualclusters/"):
                    pinned["clusterUid"] = known.path["virtualClusterUid"]
                strategies.append(
                    operation.as_strategy(generation_mode=mode, path_parameters=pinned, query=query)
                )
            count = examples if mode is GenerationMode.POSITIVE else max(1, examples // 2)

            @settings(
                max_examples=count,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
            )
            @given(case=st.one_of(strategies), extra=PALETTE_HEADERS)
            def run(case: Case, extra: dict[str, str]) -> None:
                headers = {**AUTH, **extra}
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                report.calls += 1
                report.statuses.setdefault(case.operation.label, set()).add(response.status_code)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                run()
            except Unsatisfiable:
                continue  # nothing to negate (e.g. no parameters at all)
            except (Exception, FailureGroup) as exc:  # collected, all reported at the end
                report.failures.append(f"{label} [{mode.value}]: {exc}")
    return report


def plugin_schema(p: PluginClient, path_regex: str = f"^{PREFIX}/", method: str | None = None) -> Any:
    return schemathesis.openapi.from_dict(openapi(p)).include(path_regex=path_regex, method=method)


# --- the fuzz run ---------------------------------------------------------------------------------


def test_fuzz_every_plugin_operation(p: PluginClient) -> None:
    """No generated input gets a 5xx, an error without a JSON ``{"error"}`` body, or an echoed token."""
    started = time.monotonic()
    report = fuzz(plugin_schema(p), p.server.url, known_objects(p))
    elapsed = time.monotonic() - started
    assert not report.failures, "\n\n".join(report.failures)
    assert len(report.statuses) == len(ROUTES), sorted(report.statuses)
    # Not vacuous: the service token passed and the pinned variants reached real objects.
    expected = {f"{method} {path}" for method, path in ROUTES} - NO_SUCCESS_EXPECTED
    assert expected <= report.succeeded(), sorted(expected - report.succeeded())
    print(f"fuzz: {report.calls} requests in {elapsed:.1f} s")


def test_a_non_ascii_palette_token_header_is_refused_not_a_crash(p: PluginClient) -> None:
    """Found by the fuzz run: such a header used to reach the Palette client and fail encoding (500)."""
    for value in ("été".encode("latin-1"), "€".encode()):
        response = httpx.get(
            p.base + "/clusters",
            headers=[(b"Authorization", AUTH["Authorization"].encode()), (b"X-SpectroCloud-Token", value)],
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-SpectroCloud-ReAuth-Required"] == "true"


# --- the harness reports what it must -------------------------------------------------------------


def test_harness_reports_a_server_error_of_the_service(p: PluginClient, faults: Any) -> None:
    """Palette failing (5xx) makes the routes answer 502: the harness must report it."""
    faults({"kind": "error", "status": 500, "path": "/v1/*"})
    schema = plugin_schema(p, f"^{PREFIX}/clusters$", "GET")
    report = fuzz(schema, p.server.url, None, examples=3, modes=(GenerationMode.POSITIVE,))
    assert len(report.failures) == 1 and "[502]" in report.failures[0], report.failures


@pytest.fixture
def misbehaving() -> Iterator[str]:
    """A tiny API: ``/crash`` answers 500 (JSON), ``/text`` 404 in plain text, ``/echo`` the bearer token."""

    async def crash(request: Request) -> JSONResponse:
        return JSONResponse({"error": "boom"}, status_code=500)

    async def text(request: Request) -> PlainTextResponse:
        return PlainTextResponse("nothing here", status_code=404)

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"seen": request.headers.get("authorization")})

    app = Starlette(routes=[Route("/crash", crash), Route("/text", text), Route("/echo", echo)])
    server = ThreadedServer(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"),
        host="127.0.0.1",
        port=0,
        name="misbehaving api",
    )
    server.start(timeout=10.0)
    try:
        yield server.url
    finally:
        server.stop(timeout=5.0)


def test_harness_reports_a_500_an_error_without_json_and_an_echoed_token(misbehaving: str) -> None:
    ok = {"200": {"description": "ok"}}
    document = {
        "openapi": "3.1.0",
        "info": {"title": "misbehaving", "version": "1"},
        "paths": {path: {"get": {"responses": ok}} for path in ("/crash", "/text", "/echo")},
    }
    report = fuzz(
        schemathesis.openapi.from_dict(document),
        misbehaving,
        None,
        examples=2,
        modes=(GenerationMode.POSITIVE,),
    )
    failures = sorted(report.failures)
    assert len(failures) == 3, failures
    assert failures[0].startswith("GET /crash") and "Server error" in failures[0]
    assert failures[1].startswith("GET /echo") and "echoes a secret" in failures[1]
    assert failures[2].startswith("GET /text") and "answered 'text/plain" in failures[2]
