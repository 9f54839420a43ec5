"""Views of projects, users, cloud accounts (secrets masked), gateways, IP pools and SSH keys.

Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

from typing import Any

from ingestor.simulator.dataset import Dataset
from ingestor.simulator.index import Index
from ingestor.simulator.records import JSON, USER_EXTRAS, USER_STATUS_EXTRAS, stable_uid
from ingestor.simulator.views import meta_view, plain_meta

MASK = "********"
SECRET_FIELDS = frozenset({"secretKey", "secretToken", "clientSecret", "password", "key"})


# -- projects -----------------------------------------------------------------------------------
def _clusters_health(ix: Index, clusters: list[str]) -> JSON:
    rows = [ix.rows[c] for c in clusters]
    return {
        "healthy": sum(r.health == "Healthy" for r in rows),
        "running": sum(r.state == "Running" for r in rows),
        "unhealthy": sum(r.health == "UnHealthy" for r in rows),
        "errored": sum(r.state == "Error" for r in rows),
    }


def project_summary(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1ProjectSummary``: health counts and CPU usage computed from the project's clusters."""
    uid = record["metadata"]["uid"]
    spec = record.get("spec") or {}
    clusters = [c for c in ix.clusters_by_project.get(uid, []) if not ix.rows[c].deleted]
    usage: list[JSON] = []
    cores: list[float] = []
    for cluster in clusters:
        if ix.rows[cluster].state != "Running":
            continue
        cpu = ((ds.collection("clusters")[cluster].get("status") or {}).get("metrics") or {}).get("cpu") or {}
        cores.append(float(cpu.get("total") or 0) / 1000)
        usage.append(
            {
                "uid": cluster,
                "name": ix.rows[cluster].name,
                "cpuCores": cores[-1],
                "isAlloy": False,
            }
        )
    users = []
    for entry in spec.get("users") or []:
        user = ds.get("users", str(entry.get("userId") or ""))
        if user is not None:
            users.append({"uid": user["metadata"]["uid"], "name": str(user["metadata"].get("name") or "")})
    teams = [
        {"uid": str(t.get("teamId") or ""), "name": str(t.get("teamId") or "")}
        for t in spec.get("teams") or []
    ]
    status = {
        "clustersHealth": _clusters_health(ix, clusters),
        "status": project_status(record),
        "usage": {"alloyCpuCores": 0.0, "pureCpuCores": sum(cores), "clusters": usage},
    }
    summary = {"logoUrl": str(spec.get("logoUrl") or ""), "teams": teams, "users": users}
    return {"metadata": meta_view(ds, record), "specSummary": summary, "status": status}


def project_status(record: JSON) -> JSON:
    status = record.get("status") or {}
    out: JSON = {"isDisabled": bool(status.get("isDisabled", False))}
    if isinstance(status.get("cleanUpStatus"), dict):
        out["cleanUpStatus"] = status["cleanUpStatus"]
    return out


def project_get(ds: Dataset, record: JSON) -> JSON:
    """``v1Project`` (GET /v1/projects/{uid})."""
    spec = record.get("spec") or {}
    out_spec = {
        "logoUrl": str(spec.get("logoUrl") or ""),
        "teams": list(spec.get("teams") or []),
        "users": list(spec.get("users") or []),
        "alerts": list(spec.get("alerts") or []),
    }
    return {"metadata": meta_view(ds, record), "spec": out_spec, "status": project_status(record)}


# -- users --------------------------------------------------------------------------------------
def user_get(record: JSON) -> JSON:
    """``v1User``: the record without the simulator's credential and permission extensions."""
    status = {k: v for k, v in (record.get("status") or {}).items() if k not in USER_STATUS_EXTRAS}
    status = {
        "activationLink": str(status.get("activationLink") or ""),
        "isActive": bool(status.get("isActive", True)),
        "isPasswordResetting": bool(status.get("isPasswordResetting", False)),
        **({"lastSignIn": status["lastSignIn"]} if status.get("lastSignIn") else {}),
    }
    spec = dict(record.get("spec") or {})
    spec["roles"] = list(dict.fromkeys(spec.get("roles") or []))
    out = {k: v for k, v in record.items() if k not in USER_EXTRAS}
    return {"metadata": plain_meta(out.get("metadata") or {}), "spec": spec, "status": status}


def user_me(ds: Dataset, record: JSON) -> JSON:
    """``v1UserMe`` (GET /v1/users/me): permissions per project, tenant ones under the key ``tenant``."""
    base = user_get(record)
    stored = record.get("status") or {}
    status = {
        "activationLink": base["status"]["activationLink"],
        "isActive": base["status"]["isActive"],
        "isContractAccepted": bool(stored.get("isContractAccepted", True)),
        "loginMode": str(stored.get("loginMode") or "devise"),
        "tenant": {"tenantUid": ds.tenant.uid, "orgName": ds.tenant.org_name},
        "projectPermissions": {k: list(v) for k, v in (stored.get("projectPermissions") or {}).items()},
        "tenantPermissions": {k: list(v) for k, v in (stored.get("tenantPermissions") or {}).items()},
    }
    return {"metadata": base["metadata"], "spec": base["spec"], "status": status}


def user_info(ds: Dataset, user_uid: str) -> JSON:
    """``v1UserInfo``."""
    return {"userUid": user_uid, "tenantUid": ds.tenant.uid, "orgName": ds.tenant.org_name}


def role_ref(name: str) -> JSON:
    return {"uid": stable_uid("role", name), "name": name}


def user_projects(ds: Dataset, record: JSON) -> JSON:
    """``v1ProjectRolesEntity``: the projects the user has permissions in, with role names."""
    uid = record["metadata"]["uid"]
    permissions = (record.get("status") or {}).get("projectPermissions") or {}
    out = []
    for project_uid in permissions:
        project = ds.get("projects", project_uid)
        if project is None:
            continue
        entries = [e for e in (project.get("spec") or {}).get("users") or [] if e.get("userId") == uid]
        roles = list(dict.fromkeys(r for e in entries for r in e.get("roles") or [])) or ["Project Viewer"]
        out.append(
            {
                "uid": project_uid,
                "name": str(project["metadata"].get("name") or ""),
                "roles": [role_ref(r) for r in roles],
                "inheritedRoles": [],
            }
        )
    return {"projects": out}


# -- cloud accounts -----------------------------------------------------------------------------
def mask(value: Any) -> Any:
    """Replace the values of secret fields (at any depth) by a fixed mask."""
    if isinstance(value, dict):
        return {k: (MASK if k in SECRET_FIELDS and v else mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def account_view(ds: Dataset, cloud: str, record: JSON) -> JSON:
    """``v1AwsAccount`` / ``v1AzureAccount`` / ``v1VsphereAccount`` with secrets masked."""
    status = record.get("status") or {}
    out_status: JSON = {"state": str(status.get("state") or "Running")}
    for key in ("tokenExpiry", "tokenGenerationTime"):
        if status.get(key):
            out_status[key] = status[key]
    return {
        "apiVersion": str(record.get("apiVersion") or "v1"),
        "kind": str(record.get("kind") or cloud),
        "metadata": meta_view(ds, record),
        "spec": mask(record.get("spec") or {}),
        "status": out_status,
    }


def account_id(cloud: str, spec: JSON) -> str:
    if cloud == "aws":
        arn = str((spec.get("sts") or {}).get("arn") or "")
        return arn.split(":")[4] if arn.count(":") >= 5 else str(spec.get("accessKey") or "")
    if cloud == "azure":
        return str(spec.get("tenantId") or "")
    return str(spec.get("vcenterServer") or "")


def account_summary(ds: Dataset, cloud: str, record: JSON) -> JSON:
    """``v1CloudAccountSummary`` (GET /v1/cloudaccounts/summary)."""
    view = account_view(ds, cloud, record)
    return {
        "kind": cloud,
        "metadata": view["metadata"],
        "specSummary": {"accountId": account_id(cloud, record.get("spec") or {})},
        "status": view["status"],
    }


# -- gateways, pools, keys ----------------------------------------------------------------------
def ip_pool_view(ds: Dataset, record: JSON) -> JSON:
    """``v1IpPoolEntity``."""
    status = record.get("status") or {}
    return {
        "metadata": meta_view(ds, record),
        "spec": dict(record.get("spec") or {}),
        "status": {
            "inUse": bool(status.get("inUse", False)),
            "allottedIps": list(dict.fromkeys(status.get("allottedIps") or [])),
            "associatedClusters": list(dict.fromkeys(status.get("associatedClusters") or [])),
        },
    }


def pools_of(ds: Dataset, overlord_uid: str) -> list[JSON]:
    pools = ds.collection("ipPools")
    return [
        ip_pool_view(ds, pools[p])
        for p, o in ds.ip_pool_overlords.items()
        if o == overlord_uid and p in pools
    ]


def overlord_view(ds: Dataset, record: JSON) -> JSON:
    """``v1Overlord`` with its IP pools."""
    spec = dict(record.get("spec") or {})
    spec["cloudAccountUid"] = str(spec.get("cloudAccountUid") or "")
    spec["spectroClusterUid"] = str(spec.get("spectroClusterUid") or "")
    spec["ipPools"] = pools_of(ds, record["metadata"]["uid"])
    status = dict(record.get("status") or {})
    status["isActive"] = bool(status.get("isActive", True))
    status["isReady"] = bool(status.get("isReady", True))
    return {
        "kind": str(record.get("kind") or "vsphere"),
        "metadata": meta_view(ds, record),
        "spec": spec,
        "status": status,
    }


def ssh_key_view(ds: Dataset, record: JSON) -> JSON:
    """``v1UserAssetSsh``."""
    return {
        "metadata": meta_view(ds, record),
        "spec": {"publicKey": str((record.get("spec") or {}).get("publicKey") or "")},
    }
