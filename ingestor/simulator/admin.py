"""Admin API under ``/__sim`` for tests and demos: dataset counts, add/patch/delete of any collection
(JSON merge patch on the GET-shaped object), reset, the deterministic clock, creations, fixture dump.

Only the holder of the configured API key may call it. Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator.dataset import COLLECTIONS, JSON, DatasetError
from ingestor.simulator.errors import ApiError
from ingestor.simulator.fixture import dump_fixture
from ingestor.simulator.routes_common import SimState, answer, authenticate, sim_state

PREFIX = "/__sim"


def guarded(request: Request) -> SimState:
    """401 without a known credential, 403 unless it is the configured API key."""
    if not authenticate(request).key_holder:
        raise ApiError(403, "OperationForbidden", "the admin API needs the simulator's API key")
    return sim_state(request)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(400, "BadRequest", "malformed JSON in the request body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "BadRequest", "the request body must be a JSON object")
    return data


def _collection(request: Request) -> str:
    name = request.path_params["collection"]
    if name not in COLLECTIONS:
        raise ApiError(
            404, "ResourceNotFound", f"unknown collection '{name}'; known: {', '.join(COLLECTIONS)}"
        )
    return str(name)


async def summary(request: Request) -> Response:
    """GET /__sim/dataset: counts per collection, revision, tenant and simulated time."""
    ds = guarded(request).dataset
    return answer(
        {
            "counts": ds.counts(),
            "revision": ds.revision,
            "tenantUid": ds.tenant.uid,
            "now": ds.clock.now(),
            "creations": len(ds.creations),
        }
    )


async def list_uids(request: Request) -> Response:
    """GET /__sim/data/{collection}: the uids in insertion order."""
    ds = guarded(request).dataset
    return answer({"uids": list(ds.collection(_collection(request)))})


async def add(request: Request) -> Response:
    """POST /__sim/data/{collection}: add a GET-shaped object (``?cloudType=`` / ``?overlordUid=`` for
    cloudAccounts / ipPools); timestamps are stamped with the clock. 201 ``{"uid"}``."""
    ds = guarded(request).dataset
    collection = _collection(request)
    record = await _body(request)
    try:
        uid = ds.insert(
            collection,
            record,
            cloud_type=request.query_params.get("cloudType"),
            overlord_uid=request.query_params.get("overlordUid"),
        )
    except DatasetError as exc:
        raise ApiError(409 if "already has" in str(exc) else 422, "InvalidObject", str(exc)) from None
    return answer({"uid": uid}, 201)


async def get_record(request: Request) -> Response:
    """GET /__sim/data/{collection}/{uid}: the stored record, extensions included."""
    ds = guarded(request).dataset
    record = ds.get(_collection(request), request.path_params["uid"])
    if record is None:
        raise ApiError(404, "ResourceNotFound", f"no such object '{request.path_params['uid']}'")
    return answer(record)


async def patch(request: Request) -> Response:
    """PATCH /__sim/data/{collection}/{uid}: JSON merge patch (RFC 7386); bumps lastModifiedTimestamp."""
    ds = guarded(request).dataset
    collection, uid = _collection(request), request.path_params["uid"]
    body = await _body(request)
    try:
        return answer(ds.patch(collection, uid, body))
    except KeyError:
        raise ApiError(404, "ResourceNotFound", f"no such object '{uid}'") from None


async def delete(request: Request) -> Response:
    """DELETE /__sim/data/{collection}/{uid}: 204."""
    ds = guarded(request).dataset
    collection, uid = _collection(request), request.path_params["uid"]
    try:
        ds.delete(collection, uid)
    except KeyError:
        raise ApiError(404, "ResourceNotFound", f"no such object '{uid}'") from None
    return Response(status_code=204)


async def reset(request: Request) -> Response:
    """POST /__sim/reset: back to the seed (or fixture) state; 204."""
    sim = guarded(request)
    sim.dataset.replace_state(sim.reset())
    return Response(status_code=204)


async def clock(request: Request) -> Response:
    """GET /__sim/clock, or POST ``{"advanceSeconds": n}``: the simulated time."""
    ds = guarded(request).dataset
    if request.method == "POST":
        seconds = (await _body(request)).get("advanceSeconds", 0)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ApiError(422, "InvalidParameter", "advanceSeconds: must be a non-negative number")
        ds.clock.advance(float(seconds))
    return answer({"now": ds.clock.now(), "origin": ds.clock.origin.isoformat()})


def _provisioned(record: JSON, now: str) -> JSON:
    """The merge patch that finishes a ``Provisioning`` cluster: Running, healthy, kubeconfigs."""
    name = record["metadata"]["name"]
    status: JSON = {
        "state": "Running",
        "health": {"state": "Healthy"},
        "kubeMeta": {"hasKubeConfig": True, "hasKubeConfigClient": True, "hasManifest": True},
        "apiEndpoints": [{"host": f"{name}.k8s.example.com", "port": 6443}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "", "message": "",
                        "lastProbeTime": now, "lastTransitionTime": now}],
    }  # fmt: skip
    if (record.get("status") or {}).get("virtual"):
        status["virtual"] = {"state": "Running", "lifecycleStatus": {"status": "Running", "msg": ""}}
    return {"status": status}


async def provision(request: Request) -> Response:
    """POST /__sim/provision: every ``Provisioning`` cluster becomes Running (simulated time passing)."""
    ds = guarded(request).dataset
    done = []
    for uid, record in list(ds.collection("clusters").items()):
        if (record.get("status") or {}).get("state") == "Provisioning":
            ds.patch("clusters", uid, _provisioned(record, ds.clock.now()))
            done.append(uid)
    return answer({"provisioned": done})


async def creations(request: Request) -> Response:
    """GET /__sim/creations: what the creation endpoints accepted (uid, cloud type, pool spelling)."""
    ds = guarded(request).dataset
    return answer({"items": list(ds.creations)})


async def fixture(request: Request) -> Response:
    """GET /__sim/fixture: the whole dataset in the fixture format (replay it with ``--fixture``)."""
    return answer(dump_fixture(guarded(request).dataset))


def routes() -> list[Route]:
    data = f"{PREFIX}/data/{{collection}}"
    return [
        Route(f"{PREFIX}/dataset", summary, methods=["GET"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/clock", clock, methods=["GET", "POST"]),
        Route(f"{PREFIX}/creations", creations, methods=["GET"]),
        Route(f"{PREFIX}/provision", provision, methods=["POST"]),
        Route(f"{PREFIX}/fixture", fixture, methods=["GET"]),
        Route(data, list_uids, methods=["GET"]),
        Route(data, add, methods=["POST"]),
        Route(f"{data}/{{uid}}", get_record, methods=["GET"]),
        Route(f"{data}/{{uid}}", patch, methods=["PATCH"]),
        Route(f"{data}/{{uid}}", delete, methods=["DELETE"]),
    ]
