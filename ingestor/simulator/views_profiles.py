"""Cluster-profile and cluster-group views from stored records (one profile record per version);
``versions[]``, ``inUseClusters`` and group counts are always recomputed, never trusted.
Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

from ingestor.simulator.dataset import Dataset, owner_of
from ingestor.simulator.index import Index
from ingestor.simulator.records import JSON, PROFILE_SPEC_EXTRAS
from ingestor.simulator.views import TEMPLATE_PACK_KEYS, meta_view, pack_entity, res_ref

SUMMARY_PACK_KEYS = ("name", "layer", "type", "tag", "version", "packUid")


def versions(ds: Dataset, ix: Index, uid: str) -> list[JSON]:
    """``v1ClusterProfileVersion`` of every member of ``uid``'s family, oldest first."""
    out = []
    for member in ix.families[ix.family_of[uid]]:
        record = ds.collection("clusterProfiles")[member]
        out.append({"uid": member, "version": str((record.get("spec") or {}).get("version") or "")})
    return out


def in_use(ix: Index, uid: str) -> list[str]:
    """Clusters (not deleted) whose attached templates name this version uid."""
    return [c for c in ix.profile_users.get(uid, []) if not ix.rows[c].deleted]


def profile_get(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1ClusterProfile`` (GET /v1/clusterprofiles/{uid}; any version's uid)."""
    uid = record["metadata"]["uid"]
    spec = {k: v for k, v in (record.get("spec") or {}).items() if k not in PROFILE_SPEC_EXTRAS}
    spec["versions"] = versions(ds, ix, uid)
    status = dict(record.get("status") or {})
    users = in_use(ix, uid)
    status["inUseClusters"] = [res_ref(ds, ix, c) for c in users]
    status["inUseClusterUids"] = users
    status.setdefault("inUseClusterTemplates", [])
    status["isPublished"] = bool(status.get("isPublished", True))
    status["hasUserMacros"] = bool(status.get("hasUserMacros", False))
    return {
        "apiVersion": str(record.get("apiVersion") or "v1"),
        "kind": str(record.get("kind") or "ClusterProfile"),
        "metadata": meta_view(ds, record),
        "spec": spec,
        "status": status,
    }


def template(record: JSON) -> JSON:
    spec = record.get("spec") or {}
    return spec.get("published") or spec.get("draft") or {}


def _template_summary(tmpl: JSON) -> JSON:
    packs = [{k: p[k] for k in SUMMARY_PACK_KEYS if k in p} for p in tmpl.get("packs") or []]
    for pack, source in zip(packs, tmpl.get("packs") or [], strict=True):
        pack["displayName"] = str(source.get("name") or "")
    return {
        "cloudType": str(tmpl.get("cloudType") or ""),
        "type": str(tmpl.get("type") or ""),
        "packs": packs,
    }


def profile_summary(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1ClusterProfileSummary``: one version with ``versions[]`` listing the whole family."""
    uid = record["metadata"]["uid"]
    spec = record.get("spec") or {}
    users = in_use(ix, uid)
    published = bool((record.get("status") or {}).get("isPublished", True))
    spec_summary: JSON = {
        "version": str(spec.get("version") or ""),
        "versions": versions(ds, ix, uid),
        "published": _template_summary(template(record)),
    }
    status: JSON = {
        "isPublished": published,
        "inUseClusters": [{"uid": c, "name": ix.rows[c].name} for c in users],
        "inUseClusterUids": users,
        "inUseClusterTemplates": [],
        "pack": {"deleted": 0, "deprecated": 0, "disabled": 0},
        "fips": {"mode": "none"},
    }
    return {"metadata": meta_view(ds, record), "specSummary": spec_summary, "status": status}


def profile_metadata(record: JSON) -> JSON:
    """One item of ``v1ClusterProfilesMetadata`` (one per version)."""
    spec = record.get("spec") or {}
    meta = record["metadata"]
    return {
        "metadata": {"uid": meta["uid"], "name": str(meta.get("name") or "")},
        "spec": {
            "cloudType": str(template(record).get("cloudType") or ""),
            "version": str(spec.get("version") or ""),
        },
    }


def profile_packs(record: JSON) -> JSON:
    """``v1ClusterProfilePacksEntities`` of the published template."""
    return {"items": [pack_entity(p) for p in template(record).get("packs") or []]}


def profile_variables(record: JSON) -> JSON:
    """``v1Variables`` (stored as the ``spec.variables`` extension)."""
    seen: list[JSON] = []
    for item in (record.get("spec") or {}).get("variables") or []:
        if item not in seen:
            seen.append(item)
    return {"variables": seen}


# -- cluster groups -----------------------------------------------------------------------------
def group_get(ds: Dataset, record: JSON) -> JSON:
    """``v1ClusterGroup`` (GET /v1/clustergroups/{uid})."""
    spec = dict(record.get("spec") or {})
    spec.setdefault("type", "hostCluster")
    spec.setdefault("clusterRefs", [])
    spec.setdefault("clusterProfileTemplates", [])
    status = {"isActive": bool((record.get("status") or {}).get("isActive", True))}
    return {"metadata": meta_view(ds, record), "spec": spec, "status": status}


def _resources(ix: Index, ds: Dataset, hosts: list[str]) -> tuple[JSON, JSON]:
    cpu_total = cpu_used = mem_total = mem_used = 0.0
    for host in hosts:
        record = ds.get("clusters", host)
        metrics = ((record or {}).get("status") or {}).get("metrics") or {}
        cpu, memory = metrics.get("cpu") or {}, metrics.get("memory") or {}
        cpu_total += float(cpu.get("total") or 0) / 1000
        cpu_used += float(cpu.get("usage") or 0) / 1000
        mem_total += float(memory.get("total") or 0) / 1048576
        mem_used += float(memory.get("usage") or 0) / 1048576
    return (
        {"allocated": round(cpu_total, 2), "used": round(cpu_used, 2)},
        {"allocated": round(mem_total, 2), "used": round(mem_used, 2)},
    )


def group_summary(ds: Dataset, ix: Index, record: JSON) -> JSON:
    """``v1ClusterGroupSummary`` (an item of ``summaries``): members, counts, capacity (cores, GiB)."""
    uid = record["metadata"]["uid"]
    spec = record.get("spec") or {}
    config = spec.get("clustersConfig") or {}
    hosts = [h for h in ix.hosts_by_group.get(uid, []) if h in ix.rows]
    cpu, memory = _resources(ix, ds, hosts)
    templates = []
    for tmpl in spec.get("clusterProfileTemplates") or []:
        templates.append(
            {
                **{k: tmpl[k] for k in ("uid", "name", "type", "cloudType", "version") if k in tmpl},
                "packs": [{k: p[k] for k in TEMPLATE_PACK_KEYS if k in p} for p in tmpl.get("packs") or []],
            }
        )
    summary: JSON = {
        "scope": owner_of(record)[0],
        "endpointType": str(config.get("endpointType") or "Ingress"),
        "kubernetesDistroType": str(config.get("kubernetesDistroType") or "k3s"),
        "hostClusters": [res_ref(ds, ix, h) for h in hosts],
        "hostClustersCount": len(hosts),
        "virtualClustersCount": len(ix.vcs_by_group.get(uid, [])),
        "cpu": cpu,
        "memory": memory,
        "clusterProfileTemplates": templates,
    }
    return {"metadata": meta_view(ds, record), "spec": summary}


def group_metadata(record: JSON) -> JSON:
    """``v1ObjectScopeEntity``."""
    return {
        "uid": record["metadata"]["uid"],
        "name": str(record["metadata"].get("name") or ""),
        "scope": owner_of(record)[0],
    }
