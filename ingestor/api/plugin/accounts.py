"""Cloud-account and private-cloud-gateway routes: account list (16), vSphere inventory (23, 24), one account
(25), SSH keys (26), gateways (27) and their IP pools (28). All live with the caller's Palette credential.

Registration order matters (compat.md 3.4): the vSphere routes come before ``/cloudaccounts/{cloudType}/...``,
whose ``accountUid`` is a greedy ``path`` parameter so that a decoded ``%2F`` in a uid still reaches the
uid check (400) instead of falling through to "no such route".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ingestor.api.plugin.common import CallerDep, InstanceQuery, ProjectQuery, dedupe_by_uid
from ingestor.api.plugin.context import authorize, check_cloud_type, open_call, single_query
from ingestor.api.plugin.failures import bad_request
from ingestor.api.plugin.redaction import redact_secrets
from ingestor.auth.permissions import VIEW_CLUSTER_INFO
from ingestor.palette.models.base import PaletteDocument

router = APIRouter(tags=["cloud accounts"])

MAX_NAME = 255  # vSphere inventory names in the query (datacenter, compute cluster)
# Required, but checked in the handler so that a permission denial (403) comes first and a missing name
# is a 400 in our error shape, not FastAPI's 422.
InventoryQuery = Annotated[
    str | None, Query(description=f"Required: a vSphere inventory name (at most {MAX_NAME} characters)")
]


def _items(documents: Sequence[PaletteDocument]) -> list[dict[str, Any]]:
    """Raw JSON of Palette list items, each ``metadata.uid`` once."""
    return dedupe_by_uid(doc.raw for doc in documents)


def _inventory_name(request: Request, name: str) -> str:
    """A required vSphere inventory name from the query: present once, not blank, at most ``MAX_NAME``."""
    value = single_query(request, name)
    if value is None or not value.strip():
        raise bad_request("datacenter and computecluster are required")
    if len(value) > MAX_NAME:
        raise bad_request(f"{name} must be at most {MAX_NAME} characters")
    return value


@router.get("/cloudaccounts/vsphere/{accountUid:path}/metadata")
async def vsphere_metadata(
    request: Request,
    caller: CallerDep,
    accountUid: str,  # noqa: N803 (the contract's parameter name)
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 23: the vSphere account's datacenters with their folders and compute clusters
    (``v1VsphereDatacenters`` from ``/v1/cloudaccounts/vsphere/{uid}/properties/datacenters``)."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO, params={"accountUid": accountUid})
    datacenters = await call.run(
        "vSphere account", call.client.vsphere_datacenters(accountUid, call.project_uid)
    )
    return call.json(datacenters.raw)


@router.get("/cloudaccounts/vsphere/{accountUid:path}/computecluster/resources")
async def vsphere_compute_cluster_resources(
    request: Request,
    caller: CallerDep,
    accountUid: str,  # noqa: N803
    datacenter: InventoryQuery = None,
    computecluster: InventoryQuery = None,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 24: datastores, networks and resource pools of one compute cluster
    (``v1VsphereComputeClusterResources``). ``datacenter`` and ``computecluster`` are required."""
    await authorize(request, caller, VIEW_CLUSTER_INFO)
    names = (_inventory_name(request, "datacenter"), _inventory_name(request, "computecluster"))
    call = await open_call(request, caller, None, params={"accountUid": accountUid})
    resources = await call.run(
        "vSphere compute cluster",
        call.client.vsphere_compute_cluster_resources(accountUid, *names, call.project_uid),
    )
    return call.json(resources.raw)


@router.get("/cloudaccounts/{cloudType}/{accountUid:path}")
async def get_cloud_account(
    request: Request,
    caller: CallerDep,
    cloudType: str,  # noqa: N803
    accountUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 25: one cloud account (``GET /v1/cloudaccounts/{cloudType}/{uid}``) with its secrets redacted.

    The value of every secret-bearing field (vSphere/OpenStack ``password``, AWS ``secretKey`` and
    ``accessKey``, STS ``externalId``, Azure ``clientSecret``, GCP ``jsonCredentials``, ``apiKey``, and any
    field named like a password, secret, token, credential or private key) is replaced by ``"***"``; the
    key stays, so the object keeps Palette's shape. ``metadata`` (including ``annotations.overlordUid``)
    and the other spec fields are returned unchanged. Failures are JSON errors, never an empty 200 (F4).
    """
    await authorize(request, caller, VIEW_CLUSTER_INFO)
    kind = check_cloud_type(cloudType)
    call = await open_call(request, caller, None, params={"accountUid": accountUid})
    account = await call.run(
        "Cloud account", call.client.get_cloud_account(kind, accountUid, call.project_uid)
    )
    return call.json(redact_secrets(account.raw))


@router.get("/cloudaccounts/{cloudType}")
async def list_cloud_accounts(
    request: Request,
    caller: CallerDep,
    cloudType: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 16: every cloud account of one type in the scope (``GET /v1/cloudaccounts/{cloudType}``,
    paged to the end, de-duplicated by uid), secrets redacted as in route 25. A failing page fails the call.
    """
    await authorize(request, caller, VIEW_CLUSTER_INFO)
    kind = check_cloud_type(cloudType)
    call = await open_call(request, caller, None)
    accounts = await call.run(
        "Cloud accounts", call.client.list_cloud_accounts(kind, call.project_uid).collect()
    )
    return call.json({"accounts": [redact_secrets(item) for item in _items(accounts)]})


@router.get("/users/sshkeys")
async def list_ssh_keys(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 26: the public SSH keys visible in the scope (``GET /v1/users/assets/sshkeys``), ``{items}``."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO)
    keys = await call.run("SSH keys", call.client.list_ssh_keys(call.project_uid))
    return call.json({"items": _items(keys)})


@router.get("/overlords")
async def list_overlords(
    request: Request,
    caller: CallerDep,
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 27: the private cloud gateways (``GET /v1/overlords``, ``v1Overlords``), ``{items}``."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO)
    overlords = await call.run("Private cloud gateways", call.client.list_overlords(call.project_uid))
    return call.json({"items": _items(overlords)})


@router.get("/overlords/vsphere/{overlordUid:path}/pools")
async def overlord_ip_pools(
    request: Request,
    caller: CallerDep,
    overlordUid: str,  # noqa: N803
    instance: InstanceQuery = None,
    projectUid: ProjectQuery = None,  # noqa: N803
) -> JSONResponse:
    """Route 28: the IP pools of a vSphere private cloud gateway (``GET /v1/overlords/vsphere/{uid}/pools``),
    ``{items}``."""
    call = await open_call(request, caller, VIEW_CLUSTER_INFO, params={"overlordUid": overlordUid})
    pools = await call.run(
        "Private cloud gateway", call.client.overlord_ip_pools(overlordUid, call.project_uid)
    )
    return call.json({"items": _items(pools)})
