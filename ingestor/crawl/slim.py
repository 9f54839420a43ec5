"""Cluster summaries cut down to what the mapping reads, so a 10,000-cluster crawl fits in memory.

A search summary is ~4 KB of JSON and ~40 KB as Python objects; most of it (machine pools, costs,
locations, every pack of every template, a host's list of virtual clusters) never reaches an entity.
``tests/crawl/test_slim.py`` maps full and slim summaries of a generated tenant and requires identical
entities and edges, so a field the catalog starts reading fails that test until it is kept here.
Pure; imports only ``palette.models``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from ingestor.palette.models import ClusterSummary

TEMPLATE_KEYS = ("uid", "name", "type", "cloudType", "scope", "profileVersion", "version")
PACK_KEYS = ("name", "layer", "tag", "version")
SPEC_KEYS = ("cloudType", "clusterConfig")
STATUS_KEYS = ("state", "kubeMeta")
VIRTUAL_KEYS = ("state", "clusterGroup", "hostCluster")
METRIC_KEYS = ("limit", "unit")
KUBERNETES_LAYER = "k8s"


def _shared(value: Any) -> Any:
    """Strings interned, containers rebuilt: thousands of clusters repeat the same pack, profile and
    owner values, and one copy of each is enough (pydantic keeps the very string objects it is given)."""
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, Mapping):
        return {sys.intern(str(k)): _shared(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shared(v) for v in value]
    return value


def _pick(source: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(source, Mapping):
        return {}
    return {k: _shared(source[k]) for k in keys if k in source}


def _template(template: Any) -> dict[str, Any] | None:
    """Identity, version and the Kubernetes pack (the only pack the mapping reads)."""
    if not isinstance(template, Mapping):
        return None
    out = _pick(template, TEMPLATE_KEYS)
    packs = template.get("packs")
    if isinstance(packs, list):
        out["packs"] = [
            _pick(p, PACK_KEYS)
            for p in packs
            if isinstance(p, Mapping) and p.get("layer") == KUBERNETES_LAYER
        ]
    return out


def _spec(spec: Any) -> dict[str, Any]:
    out = _pick(spec, SPEC_KEYS)
    if not isinstance(spec, Mapping):
        return out
    cloud = spec.get("cloudConfig")
    if isinstance(cloud, Mapping):
        out["cloudConfig"] = _pick(cloud, ("uid", "cloudType"))
    templates = spec.get("clusterProfileTemplates")
    kept = [t for t in map(_template, templates if isinstance(templates, list) else []) if t is not None]
    out["clusterProfileTemplates"] = kept
    legacy = _template(spec.get("clusterProfileTemplate"))
    if legacy is not None and legacy.get("uid") not in {t.get("uid") for t in kept}:
        out["clusterProfileTemplate"] = legacy
    return out


def _status(status: Any) -> dict[str, Any]:
    out = _pick(status, STATUS_KEYS)
    if not isinstance(status, Mapping):
        return out
    health = status.get("health")
    if isinstance(health, Mapping):
        out["health"] = _pick(health, ("state",))
    virtual = status.get("virtual")
    if isinstance(virtual, Mapping):
        out["virtual"] = _pick(virtual, VIRTUAL_KEYS)  # a host's virtualClusters[] can run to hundreds
    metrics = status.get("metrics")
    if isinstance(metrics, Mapping):
        out["metrics"] = {k: _pick(v, METRIC_KEYS) for k, v in metrics.items() if isinstance(v, Mapping)}
    return out


def slim_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON of a search summary with only the fields entities are built from."""
    out: dict[str, Any] = {}
    meta = raw.get("metadata")
    if isinstance(meta, Mapping):
        # uid, name and timestamps are unique: kept as they are; the rest repeats across clusters
        unique = ("uid", "name", "creationTimestamp", "lastModifiedTimestamp")
        out["metadata"] = {k: v if k in unique else _shared(v) for k, v in meta.items()}
    elif "metadata" in raw:
        out["metadata"] = raw["metadata"]
    out["specSummary"] = _spec(raw.get("specSummary"))
    out["status"] = _status(raw.get("status"))
    return out


def slim_cluster(summary: ClusterSummary) -> ClusterSummary:
    """``summary`` rebuilt from :func:`slim_raw` of its JSON."""
    return ClusterSummary.model_validate(slim_raw(summary.raw))
