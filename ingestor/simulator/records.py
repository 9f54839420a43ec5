"""Builders of GET-shaped Palette records (the dataset's storage format) for the generator and the
creation endpoints; extension fields the GET shapes lack are stripped by the views.
Imports only ``simulator.clock``; never httpx.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ingestor.simulator.clock import ZERO_TIME

JSON = dict[str, Any]

# Extensions carried by stored clusters/profiles/users and moved to the views that show them
# (docs/simulator.md "Fixture format").
CLUSTER_SPEC_EXTRAS = frozenset({"cloudAccountUid", "cloudRegion", "archTypes", "cloudConfig"})
CLUSTER_STATUS_EXTRAS = frozenset({"health", "metrics", "kubeMeta", "cost", "hourlyRate", "notifications"})
PROFILE_SPEC_EXTRAS = frozenset({"variables"})
USER_STATUS_EXTRAS = frozenset({"projectPermissions", "tenantPermissions", "loginMode", "isContractAccepted"})
USER_EXTRAS = frozenset({"apiKeys", "sessionTokens"})

# region -> (countryCode, countryName, regionName, latitude, longitude)
REGIONS: dict[str, tuple[str, str, str, float, float]] = {
    "us-east-1": ("US", "United States", "Virginia", 38.13, -78.45),
    "us-west-2": ("US", "United States", "Oregon", 45.84, -119.7),
    "eu-west-1": ("IE", "Ireland", "Dublin", 53.35, -6.26),
    "ap-southeast-2": ("AU", "Australia", "Sydney", -33.87, 151.21),
    "eastus": ("US", "United States", "Virginia", 37.37, -79.82),
    "westeurope": ("NL", "Netherlands", "North Holland", 52.37, 4.9),
    "dc1": ("US", "United States", "California", 37.39, -121.96),
    "store-042": ("US", "United States", "Texas", 30.27, -97.74),
}


def stable_uid(*parts: str) -> str:
    """A 24-hex uid derived from names (same input, same uid) for packs and manifests."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def object_meta(
    uid: str,
    name: str,
    *,
    scope: str,
    project_uid: str,
    tenant_uid: str,
    created: str,
    modified: str,
    labels: dict[str, str] | None = None,
    extra_annotations: dict[str, str] | None = None,
) -> JSON:
    """``v1ObjectMeta`` with the server-populated scope annotations (palette-api.md 1.3)."""
    annotations = {"scope": scope, "tenantUid": tenant_uid}
    if scope == "project":
        annotations["projectUid"] = project_uid
    annotations.update(extra_annotations or {})
    return {
        "uid": uid,
        "name": name,
        "labels": dict(labels or {}),
        "annotations": annotations,
        "creationTimestamp": created,
        "lastModifiedTimestamp": modified,
        "deletionTimestamp": ZERO_TIME,
    }


def pack_ref(
    name: str,
    layer: str,
    tag: str,
    *,
    pack_type: str = "spectro",
    values: str = "",
    manifests: list[JSON] | None = None,
    registry_uid: str = "",
) -> JSON:
    """``v1PackRef`` (``layer`` and ``name`` required)."""
    return {
        "name": name,
        "layer": layer,
        "type": pack_type,
        "tag": tag,
        "version": tag,
        "packUid": stable_uid("pack", name, tag),
        "registryUid": registry_uid,
        "values": values,
        "manifests": list(manifests or []),
        "annotations": {},
        "digest": "sha256:" + hashlib.sha256(f"{name}:{tag}".encode()).hexdigest(),
        "presets": [],
        "schema": [],
    }


def profile_template(
    uid: str, name: str, version: str, index: int, ptype: str, cloud: str, packs: list[JSON]
) -> JSON:
    """``v1ClusterProfileTemplate``: a profile's ``published`` part, also embedded in clusters."""
    return {
        "uid": uid,
        "name": name,
        "type": ptype,
        "cloudType": cloud,
        "profileVersion": version,
        "version": index,
        "packs": packs,
        "packServerRefs": [],
    }


def profile_record(meta: JSON, template: JSON, variables: list[JSON]) -> JSON:
    """A ``v1ClusterProfile`` version; ``versions`` and ``inUse*`` are derived by the views."""
    return {
        "apiVersion": "v1",
        "kind": "ClusterProfile",
        "metadata": meta,
        "spec": {
            "version": template["profileVersion"],
            "versions": [],
            "published": template,
            "variables": variables,
        },
        "status": {"isPublished": True, "hasUserMacros": False, "inUseClusters": [], "inUseClusterUids": []},
    }


def variable(name: str, default: str, *, fmt: str = "string", description: str = "", **flags: bool) -> JSON:
    """A ``v1Variable`` with every always-present field."""
    return {
        "name": name,
        "displayName": name.replace("_", " ").title(),
        "description": description,
        "format": fmt,
        "defaultValue": default,
        "regex": "",
        "inputType": "text",
        "required": flags.get("required", False),
        "immutable": flags.get("immutable", False),
        "hidden": flags.get("hidden", False),
        "isSensitive": flags.get("isSensitive", False),
    }


def object_ref(uid: str, name: str, kind: str) -> JSON:
    return {"uid": uid, "name": name, "kind": kind}


@dataclass
class ClusterPlan:
    """Everything that varies between generated (or created) clusters."""

    uid: str
    name: str
    cloud_type: str
    scope: str
    project_uid: str
    tenant_uid: str
    created: str
    modified: str
    config_uid: str
    state: str = "Running"
    health: str = "Healthy"
    templates: list[JSON] = field(default_factory=list)
    account_uid: str = ""
    region: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    pools: list[tuple[str, int, bool]] = field(default_factory=lambda: [("control-plane", 1, True)])
    cpu: tuple[float, float] = (0.0, 0.0)
    memory: tuple[float, float] = (0.0, 0.0)
    hourly_cost: float = 0.0
    is_host: bool = False
    group: JSON | None = None
    host: JSON | None = None
    overlord_uid: str = ""
    arch: str = "amd64"
    agent_version: str = "4.5.12"
    heartbeat: str = ZERO_TIME
    annotations: dict[str, str] = field(default_factory=dict)


def kubernetes_version(templates: list[JSON]) -> str:
    """The tag of the first ``k8s`` layer pack (palette-api.md 3.1)."""
    for template in templates:
        for pack in template.get("packs") or []:
            if pack.get("layer") == "k8s":
                return str(pack.get("tag") or pack.get("version") or "")
    return ""


def _metrics(total: float, usage: float, unit: str, when: str) -> JSON:
    return {
        "total": total,
        "usage": usage,
        "request": round(usage * 0.8, 1),
        "limit": round(total * 0.9, 1),
        "unit": unit,
        "lastUpdatedTime": when,
    }


def _cost(total: float) -> JSON:
    compute = round(total * 0.8, 2)
    storage = round(total - compute, 2)
    return {"total": total, "cloud": {"compute": compute, "storage": storage, "total": total}}


def _location(region: str) -> JSON:
    if region not in REGIONS:
        return {"countryCode": "", "countryName": "", "regionCode": region, "regionName": ""}
    code, country, region_name, lat, lon = REGIONS[region]
    return {
        "countryCode": code,
        "countryName": country,
        "regionCode": region,
        "regionName": region_name,
        "geoLoc": {"latitude": lat, "longitude": lon},
    }


def _cluster_spec(plan: ClusterPlan) -> JSON:
    host_config: JSON = {"isHostCluster": plan.is_host}
    if plan.is_host:
        host_config["clusterEndpoint"] = {
            "type": "Ingress",
            "config": {"ingressConfig": {"host": "", "port": 443}},
        }
    if plan.group:
        host_config["clusterGroup"] = plan.group
    if plan.host:
        host_config["hostCluster"] = plan.host
    kind = "VirtualCloudConfig" if plan.cloud_type == "nested" else f"{plan.cloud_type.title()}CloudConfig"
    return {
        "cloudType": plan.cloud_type,
        "cloudConfigRef": object_ref(plan.config_uid, plan.name, kind),
        "clusterType": "PureManage",
        "clusterConfig": {
            "hostClusterConfig": host_config,
            "lifecycleConfig": {"pause": False},
            "machineManagementConfig": {"osPatchConfig": {"patchOnBoot": False, "rebootIfRequired": False}},
            "timezone": "Etc/UTC",
            "updateWorkerPoolsInParallel": True,
        },
        "clusterProfileTemplates": plan.templates,
        # extensions (CLUSTER_SPEC_EXTRAS)
        "cloudAccountUid": plan.account_uid,
        "cloudRegion": plan.region,
        "archTypes": [plan.arch],
        "cloudConfig": {
            "uid": plan.config_uid,
            "cloudType": plan.cloud_type,
            "machinePools": [
                {
                    "cloudType": plan.cloud_type,
                    "isControlPlane": cp,
                    "size": size,
                    "healthy": size if plan.state == "Running" else 0,
                    "maintenanceMode": 0,
                    "labels": [pool],
                }
                for pool, size, cp in plan.pools
            ],
            "hybridMachinePools": [],
        },
    }


def _condition(plan: ClusterPlan) -> JSON:
    ready = plan.state == "Running"
    return {
        "type": "Ready",
        "status": "True" if ready else "False",
        "reason": "" if ready else plan.state,
        "message": "" if ready else f"cluster is {plan.state.lower()}",
        "lastProbeTime": plan.modified,
        "lastTransitionTime": plan.modified,
    }


def _pack_statuses(plan: ClusterPlan, condition: JSON) -> list[JSON]:
    out = []
    for template in plan.templates:
        for pack in template.get("packs") or []:
            out.append(
                {
                    "name": pack["name"],
                    "type": pack.get("type", "spectro"),
                    "version": pack.get("tag", ""),
                    "profileUid": template.get("uid", ""),
                    "condition": condition,
                    "manifests": [
                        {"uid": m["uid"], "name": m["name"], "condition": condition}
                        for m in pack.get("manifests") or []
                    ],
                    "startTime": plan.created,
                    "endTime": plan.modified if plan.state == "Running" else ZERO_TIME,
                    "services": [],
                }
            )
    return out


def _virtual_status(plan: ClusterPlan) -> JSON | None:
    """``v1Virtual`` as stored; the views recompute references and the host's ``virtualClusters``."""
    if plan.cloud_type == "nested":
        virtual: JSON = {
            "state": plan.state,
            "lifecycleStatus": {"status": "Running" if plan.state == "Running" else "Error", "msg": ""},
            "virtualClusters": [],
            "appDeployments": [],
        }
        for key, ref in (("clusterGroup", plan.group), ("hostCluster", plan.host)):
            if ref:
                virtual[key] = {**ref, "tenantUid": plan.tenant_uid}
        return virtual
    return {"state": "", "virtualClusters": [], "appDeployments": []} if plan.is_host else None


def _dashboard_status(plan: ClusterPlan, live: bool) -> JSON:
    """The dashboard-only fields (``CLUSTER_STATUS_EXTRAS``) the summaries show."""
    return {
        "health": {
            "state": plan.health,
            "agentVersion": plan.agent_version,
            "lastHeartBeatTimestamp": plan.heartbeat,
            "conditions": [],
        },
        "metrics": {
            "cpu": _metrics(plan.cpu[0], plan.cpu[1], "MilliCore", plan.heartbeat),
            "memory": _metrics(plan.memory[0], plan.memory[1], "KiB", plan.heartbeat),
        },
        "kubeMeta": {
            "kubernetesVersion": kubernetes_version(plan.templates),
            "hasKubeConfig": live,
            "hasKubeConfigClient": live,
            "hasManifest": live,
        },
        "cost": _cost(round(plan.hourly_cost * 24 * 30, 2)),
        "hourlyRate": _cost(plan.hourly_cost),
        "notifications": {"isAvailable": False, "isTemplateVariableResolutionPending": False},
    }


def _cluster_status(plan: ClusterPlan) -> JSON:
    live = plan.state in ("Running", "Error", "Deleting")
    condition = _condition(plan)
    status: JSON = {
        "state": plan.state,
        "conditions": [condition],
        "apiEndpoints": [{"host": f"{plan.name}.k8s.example.com", "port": 6443}] if live else [],
        "services": [],
        "addOnServices": [],
        "packs": _pack_statuses(plan, condition),
        "location": _location(plan.region),
        "profileStatus": {"hasUserMacros": False},
        "fips": {"mode": "none"},
        "clusterImport": {"isBrownfield": False, "state": "", "importLink": ""},
        "abortTimestamp": ZERO_TIME,
        "upgrades": [],
    }
    virtual = _virtual_status(plan)
    if virtual is not None:
        status["virtual"] = virtual
    status.update(_dashboard_status(plan, live))
    return status


def cluster_record(plan: ClusterPlan) -> JSON:
    """A ``v1SpectroCluster`` plus the dashboard extensions the summaries need."""
    extra = dict(plan.annotations)
    if plan.overlord_uid:
        extra["overlordUid"] = plan.overlord_uid
    meta = object_meta(
        plan.uid,
        plan.name,
        scope=plan.scope,
        project_uid=plan.project_uid,
        tenant_uid=plan.tenant_uid,
        created=plan.created,
        modified=plan.modified,
        labels=plan.labels,
        extra_annotations=extra,
    )
    if plan.state == "Deleted":
        meta["deletionTimestamp"] = plan.modified
    return {
        "apiVersion": "v1",
        "kind": "SpectroCluster",
        "metadata": meta,
        "spec": _cluster_spec(plan),
        "status": _cluster_status(plan),
    }
