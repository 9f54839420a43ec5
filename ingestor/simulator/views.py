"""Cluster views derived from stored ``v1SpectroCluster`` records (GET, summaries, meta, profiles,
manifests). Views never mutate records and emit only fields their definition declares.
Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ingestor.simulator.clock import ZERO_TIME
from ingestor.simulator.dataset import Dataset, owner_of
from ingestor.simulator.index import Index, cloud_type
from ingestor.simulator.records import (
    CLUSTER_SPEC_EXTRAS,
    CLUSTER_STATUS_EXTRAS,
    JSON,
    kubernetes_version,
)
from ingestor.simulator.texts import manifest_content

META_KEYS = (
    "uid",
    "name",
    "labels",
    "annotations",
    "creationTimestamp",
    "lastModifiedTimestamp",
    "deletionTimestamp",
)
TEMPLATE_PACK_KEYS = ("name", "layer", "type", "tag", "version", "packUid", "registryUid")
NOTIFICATIONS = {"isAvailable": False, "isTemplateVariableResolutionPending": False}


def meta_view(ds: Dataset, record: JSON) -> JSON:
    """``v1ObjectMeta`` with the server-populated ``scope``/``projectUid``/``tenantUid`` annotations."""
    meta = record.get("metadata") or {}
    scope, project = owner_of(record)
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    annotations["scope"] = scope
    annotations["tenantUid"] = ds.tenant.uid
    if project:
        annotations["projectUid"] = project
    else:
        annotations.pop("projectUid", None)
    return plain_meta(meta, annotations=annotations)


def plain_meta(meta: JSON, **overrides: Any) -> JSON:
    """``v1ObjectMeta`` with exactly its declared keys; the three timestamps always present."""
    out: JSON = {
        "uid": str(meta.get("uid") or ""),
        "name": str(meta.get("name") or ""),
        "labels": {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        "annotations": {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        "creationTimestamp": meta.get("creationTimestamp") or ZERO_TIME,
        "lastModifiedTimestamp": meta.get("lastModifiedTimestamp") or ZERO_TIME,
        "deletionTimestamp": meta.get("deletionTimestamp") or ZERO_TIME,
    }
    out.update(overrides)
    return out


def res_ref(ds: Dataset, ix: Index, uid: str, kind: str = "spectrocluster") -> JSON:
    """``v1ObjectResReference`` to a cluster (or group) of this dataset."""
    collection = "clusters" if kind == "spectrocluster" else "clusterGroups"
    record = ds.get(collection, uid)
    ref: JSON = {"uid": uid, "kind": kind, "tenantUid": ds.tenant.uid}
    if record is not None:
        ref["name"] = str(record["metadata"].get("name") or "")
        project = owner_of(record)[1]
        if project:
            ref["projectUid"] = project
    return ref


def _template_meta(ds: Dataset, ix: Index, template: JSON) -> JSON:
    """``v1ClusterProfileTemplateMeta`` (the summary form of an attached profile version).

    Cached per template object: generated clusters share their version's template.
    """
    key = ("template-meta", str(id(template)))
    hit: JSON | None = ix.views.get(key)
    if hit is None or hit["uid"] != template.get("uid"):
        hit = ix.views[key] = _template_meta_of(ds, template)
    return hit


def _template_meta_of(ds: Dataset, template: JSON) -> JSON:
    uid = str(template.get("uid") or "")
    profile = ds.get("clusterProfiles", uid)
    return {
        "uid": uid,
        "name": str(template.get("name") or ""),
        "type": str(template.get("type") or ""),
        "cloudType": str(template.get("cloudType") or ""),
        "scope": owner_of(profile)[0] if profile else "",
        "version": int(template.get("version") or 0),
        "packs": [{k: p[k] for k in TEMPLATE_PACK_KEYS if k in p} for p in template.get("packs") or []],
    }


def cloud_config_meta(record: JSON) -> JSON:
    """``v1CloudConfigMeta``: stored as the ``spec.cloudConfig`` extension, or derived."""
    spec = record.get("spec") or {}
    stored = spec.get("cloudConfig")
    if isinstance(stored, dict):
        return {
            "uid": str(stored.get("uid") or ""),
            "cloudType": cloud_type(record),
            "machinePools": list(stored.get("machinePools") or []),
            "hybridMachinePools": list(stored.get("hybridMachinePools") or []),
        }
    ref = spec.get("cloudConfigRef") or {}
    return {
        "uid": str(ref.get("uid") or ""),
        "cloudType": cloud_type(record),
        "machinePools": [],
        "hybridMachinePools": [],
    }


def meta_location(record: JSON) -> JSON:
    """``v1ClusterMetaSpecLocation`` from the stored ``v1ClusterLocation`` (coordinates = [lat, lon])."""
    location = (record.get("status") or {}).get("location") or {}
    geo = location.get("geoLoc") or {}
    out: JSON = {
        k: str(location.get(k) or "") for k in ("countryCode", "countryName", "regionCode", "regionName")
    }
    out["coordinates"] = [float(geo["latitude"]), float(geo["longitude"])] if geo else []
    return out


def virtual_view(ds: Dataset, ix: Index, record: JSON) -> JSON | None:
    """``v1Virtual``: group and host for a virtual cluster, the virtual clusters of a host."""
    uid = record["metadata"]["uid"]
    row = ix.rows[uid]
    stored = (record.get("status") or {}).get("virtual") or {}
    if row.env == "nested":
        out: JSON = {
            "state": str(stored.get("state") or row.state),
            "virtualClusters": [],
            "appDeployments": [],
        }
        if row.group_uid:
            out["clusterGroup"] = res_ref(ds, ix, row.group_uid, "clustergroup")
        if row.host_uid:
            out["hostCluster"] = res_ref(ds, ix, row.host_uid)
        lifecycle = stored.get("lifecycleStatus")
        out["lifecycleStatus"] = lifecycle or {
            "status": "Running" if row.state == "Running" else "Error",
            "msg": "",
        }
        return out
    vcs = ix.vcs_by_host.get(uid, [])
    if not vcs and not row.is_host:
        return None
    return {"state": "", "virtualClusters": [res_ref(ds, ix, vc) for vc in vcs], "appDeployments": []}


def _with_virtual(ds: Dataset, ix: Index, record: JSON, status: JSON) -> JSON:
    virtual = virtual_view(ds, ix, record)
    if virtual is None:
        status.pop("virtual", None)
    else:
        status["virtual"] = virtual
    return status


def cluster_get(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1SpectroCluster`` (GET /v1/spectroclusters/{uid}): the record without the extensions."""
    spec = {k: v for k, v in (record.get("spec") or {}).items() if k not in CLUSTER_SPEC_EXTRAS}
    spec.setdefault("cloudType", cloud_type(record))
    spec.setdefault("clusterProfileTemplates", [])
    status = {k: v for k, v in (record.get("status") or {}).items() if k not in CLUSTER_STATUS_EXTRAS}
    return {
        "apiVersion": str(record.get("apiVersion") or "v1"),
        "kind": str(record.get("kind") or "SpectroCluster"),
        "metadata": meta_view(ds, record),
        "spec": spec,
        "status": _with_virtual(ds, ix, record, status),
    }


def _account_meta(ix: Index, record: JSON) -> JSON | None:
    uid = str((record.get("spec") or {}).get("cloudAccountUid") or "")
    return {"uid": uid, "name": ix.account_names.get(uid, "")} if uid else None


def cluster_summary(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1SpectroClusterSummary`` (search results): ``specSummary``, no ``kubeMeta``."""
    spec = record.get("spec") or {}
    status = record.get("status") or {}
    uid = record["metadata"]["uid"]
    templates = [_template_meta(ds, ix, t) for t in spec.get("clusterProfileTemplates") or []]
    host_config = (spec.get("clusterConfig") or {}).get("hostClusterConfig") or {}
    cluster_config: JSON = {"timezone": str((spec.get("clusterConfig") or {}).get("timezone") or "")}
    if host_config.get("clusterGroup"):
        group = host_config["clusterGroup"]
        cluster_config["hostClusterConfig"] = {
            "clusterGroup": {k: group[k] for k in ("uid", "name", "kind") if k in group}
        }
    summary: JSON = {
        "cloudConfig": cloud_config_meta(record),
        "archTypes": list(spec.get("archTypes") or ["amd64"]),
        "clusterConfig": cluster_config,
        "clusterProfileTemplates": templates,
    }
    if templates:
        summary["clusterProfileTemplate"] = templates[0]
    account = _account_meta(ix, record)
    if account:
        summary["cloudAccountMeta"] = account
    project = ix.rows[uid].project_uid
    if project:
        summary["projectMeta"] = {"uid": project, "name": ix.project_names.get(project, "")}
    out_status: JSON = {"state": ix.rows[uid].state, "location": meta_location(record)}
    for key in ("health", "metrics", "cost", "hourlyRate", "fips", "repave", "clusterImport"):
        if isinstance(status.get(key), dict):
            out_status[key] = status[key]
    out_status["notifications"] = status.get("notifications") or NOTIFICATIONS
    return {
        "metadata": meta_view(ds, record),
        "specSummary": summary,
        "status": _with_virtual(ds, ix, record, out_status),
    }


def cluster_meta(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1SpectroClusterMeta`` (one item of the bare array of /dashboard/spectroclusters/meta)."""
    spec = record.get("spec") or {}
    row = ix.rows[record["metadata"]["uid"]]
    return {
        "metadata": meta_view(ds, record),
        "spec": {
            "cloudType": row.env,
            "cloudAccountUid": row.account_uid,
            "cloudRegion": str(spec.get("cloudRegion") or ""),
            "clusterType": str(spec.get("clusterType") or "PureManage"),
            "archType": list(spec.get("archTypes") or ["amd64"]),
            "tags": list(row.tags),
            "location": meta_location(record),
        },
        "status": {"state": row.state},
    }


def cluster_meta_summary(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1SpectroClusterMetaSummary`` (POST /dashboard/spectroclusters/metadata/search)."""
    meta = cluster_meta(ds, ix, record)
    status = record.get("status") or {}
    health = status.get("health") or {}
    spec_summary = {**meta["spec"], "importMode": ""}
    if ix.rows[record["metadata"]["uid"]].project_uid:
        project = ix.rows[record["metadata"]["uid"]].project_uid
        spec_summary["projectMeta"] = {"uid": project, "name": ix.project_names.get(project, "")}
    return {
        "metadata": meta["metadata"],
        "specSummary": spec_summary,
        "status": {
            "state": meta["status"]["state"],
            "cost": {"total": float((status.get("cost") or {}).get("total") or 0.0)},
            "fips": status.get("fips") or {"mode": "none"},
            "health": {
                "state": str(health.get("state") or ""),
                "isHeartBeatFailed": health.get("state") == "UnHealthy",
            },
            "updates": {"isUpdatesPending": False},
        },
    }


def cluster_uid_summary(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1SpectroClusterUidSummary`` (GET /dashboard/spectroclusters/{uid}): the one with ``kubeMeta``."""
    spec = record.get("spec") or {}
    status = record.get("status") or {}
    templates = [_template_meta(ds, ix, t) for t in spec.get("clusterProfileTemplates") or []]
    out_spec: JSON = {
        "cloudConfig": cloud_config_meta(record),
        "archTypes": list(spec.get("archTypes") or ["amd64"]),
        "clusterProfileTemplates": templates,
    }
    if templates:
        out_spec["clusterProfileTemplate"] = templates[0]
    account = _account_meta(ix, record)
    if account:
        out_spec["cloudaccount"] = account
    kube_meta = status.get("kubeMeta") or {}
    out: JSON = {
        "state": str(status.get("state") or ""),
        "kubeMeta": {
            "kubernetesVersion": str(
                kube_meta.get("kubernetesVersion")
                or kubernetes_version(spec.get("clusterProfileTemplates") or [])
            ),
            "hasKubeConfig": bool(kube_meta.get("hasKubeConfig")),
            "hasKubeConfigClient": bool(kube_meta.get("hasKubeConfigClient")),
            "hasManifest": bool(kube_meta.get("hasManifest")),
        },
        "location": meta_location(record),
        "notifications": status.get("notifications") or NOTIFICATIONS,
        "workspaces": [],
    }
    for key in ("conditions", "apiEndpoints", "services", "packs", "upgrades"):
        out[key] = list(status.get(key) or [])
    out["addOnServices"] = [
        {"name": s.get("name", ""), "endpoint": s.get("endpoint", "")}
        for s in status.get("addOnServices") or []
    ]
    for key in ("health", "metrics", "cost", "hourlyRate", "fips", "clusterImport", "spcApply"):
        if isinstance(status.get(key), dict):
            out[key] = status[key]
    out["abortTimestamp"] = status.get("abortTimestamp") or ZERO_TIME
    return {"metadata": meta_view(ds, record), "spec": out_spec, "status": _with_virtual(ds, ix, record, out)}


def pack_entity(pack: JSON) -> JSON:
    """``v1ClusterProfilePacksEntity`` from a ``v1PackRef``."""
    name = str(pack.get("name") or "")
    spec: JSON = {
        "name": name,
        "displayName": name,
        "layer": pack.get("layer", "addon"),
        "type": pack.get("type", "spectro"),
        "version": str(pack.get("version") or pack.get("tag") or ""),
        "values": str(pack.get("values") or ""),
        "registryUid": str(pack.get("registryUid") or ""),
        "digest": str(pack.get("digest") or ""),
        "manifests": list(pack.get("manifests") or []),
        "presets": list(pack.get("presets") or []),
        "schema": list(pack.get("schema") or []),
        "annotations": dict(pack.get("annotations") or {}),
        "cloudTypes": [],
    }
    meta = plain_meta({"uid": pack.get("packUid") or "", "name": name})
    return {"metadata": meta, "spec": spec, "status": {}}


def cluster_profiles(ds: Dataset, record: JSON) -> JSON:
    """``v1SpectroClusterProfileList``: the attached versions with this cluster's pack values."""
    profiles = []
    for template in (record.get("spec") or {}).get("clusterProfileTemplates") or []:
        uid = str(template.get("uid") or "")
        stored = ds.get("clusterProfiles", uid)
        meta = meta_view(ds, stored) if stored else plain_meta({"uid": uid, "name": template.get("name")})
        spec: JSON = {
            "type": str(template.get("type") or ""),
            "cloudType": str(template.get("cloudType") or ""),
            "version": int(template.get("version") or 0),
            "packs": [pack_entity(p) for p in template.get("packs") or []],
        }
        profiles.append({"metadata": meta, "spec": spec})
    return {"profiles": profiles}


def find_manifest(record: JSON, manifest_uid: str) -> JSON | None:
    """The ``{uid, name, kind}`` of a manifest of one of the cluster's packs."""
    for template in (record.get("spec") or {}).get("clusterProfileTemplates") or []:
        for pack in template.get("packs") or []:
            for manifest in pack.get("manifests") or []:
                if manifest.get("uid") == manifest_uid:
                    return dict(manifest)
    return None


def manifest_view(ds: Dataset, ref: JSON) -> JSON:
    """``v1Manifest`` with the dataset's content, or synthesised content."""
    uid = str(ref.get("uid") or "")
    stored = ds.manifests.get(uid) or {}
    name = str(stored.get("name") or ref.get("name") or "")
    content = str(stored.get("content") or manifest_content(name, uid))
    digest = "sha256:" + hashlib.sha256(content.encode()).hexdigest()
    return {
        "metadata": plain_meta({"uid": uid, "name": name}),
        "spec": {"published": {"content": content, "digest": digest}},
    }
