"""Small builders for Palette objects in their wire shape (camelCase JSON), parsed by the real models."""

from __future__ import annotations

from typing import Any

from ingestor.catalog import GroupRecord
from ingestor.palette.models import (
    ClusterGroup,
    ClusterGroupSummary,
    ClusterProfileSummary,
    ClusterSummary,
    ProjectSummary,
)

TENANT_UID = "tenant0000000000000000001"


def meta(
    uid: str, name: str, scope: str | None = None, project: str | None = None, **extra: str
) -> dict[str, Any]:
    annotations = {"tenantUid": TENANT_UID, **extra}
    if scope is not None:
        annotations["scope"] = scope
    if project is not None:
        annotations["projectUid"] = project
    return {"uid": uid, "name": name, "annotations": annotations}


def project(uid: str, name: str, scope: str = "tenant") -> ProjectSummary:
    return ProjectSummary.model_validate({"metadata": meta(uid, name, scope)})


def template(uid: str, name: str, k8s: str | None = None, version: str | None = None) -> dict[str, Any]:
    packs = [{"name": "kubernetes", "layer": "k8s", "tag": k8s}] if k8s else []
    out: dict[str, Any] = {"uid": uid, "name": name, "type": "cluster", "packs": packs}
    if version:
        out["profileVersion"] = version
    return out


def cluster(
    uid: str,
    name: str,
    *,
    project: str | None = None,
    scope: str | None = None,
    cloud: str | None = "eks",
    state: str | None = "Running",
    health: str | None = "Healthy",
    templates: list[dict[str, Any]] | None = None,
    host: str | None = None,
    group: str | None = None,
    metrics: dict[str, Any] | None = None,
    **annotations: str,
) -> ClusterSummary:
    if scope is None:
        scope = "project" if project else "tenant"
    status: dict[str, Any] = {}
    if state:
        status["state"] = state
    if health:
        status["health"] = {"state": health}
    if host or group:
        status["virtual"] = {
            "hostCluster": {"uid": host} if host else None,
            "clusterGroup": {"uid": group} if group else None,
        }
    if metrics:
        status["metrics"] = metrics
    summary: dict[str, Any] = {"clusterProfileTemplates": templates or []}
    if cloud:
        summary["cloudConfig"] = {"cloudType": cloud}
    return ClusterSummary.model_validate(
        {"metadata": meta(uid, name, scope, project, **annotations), "specSummary": summary, "status": status}
    )


def profile(
    uid: str,
    name: str,
    version: str,
    versions: list[tuple[str, str]],
    *,
    project: str | None = None,
    scope: str | None = None,
    profile_type: str = "cluster",
    cloud: str = "eks",
    k8s: str | None = None,
    published: bool = True,
) -> ClusterProfileSummary:
    if scope is None:
        scope = "project" if project else "tenant"
    packs = [{"name": "kubernetes", "layer": "k8s", "tag": k8s}] if k8s else []
    tmpl = {"cloudType": cloud, "type": profile_type, "packs": packs}
    return ClusterProfileSummary.model_validate(
        {
            "metadata": meta(uid, name, scope, project),
            "specSummary": {
                "version": version,
                "versions": [{"uid": u, "version": v} for u, v in versions],
                ("published" if published else "draft"): tmpl,
            },
            "status": {"isPublished": published},
        }
    )


def group(
    uid: str,
    name: str,
    *,
    project: str | None = None,
    scope: str | None = None,
    members: list[str] | None = None,
    templates: list[dict[str, Any]] | None = None,
    endpoint: str | None = "LoadBalancer",
    detail: bool = True,
) -> GroupRecord:
    if scope is None:
        scope = "project" if project else "tenant"
    members = members or []
    summary = ClusterGroupSummary.model_validate(
        {
            "metadata": meta(uid, name, scope, project),
            "spec": {
                "scope": scope,
                "endpointType": "Ingress",
                "hostClusters": [{"uid": m} for m in members],
                "clusterProfileTemplates": templates or [],
            },
        }
    )
    if not detail:
        return GroupRecord(summary, None)
    full = ClusterGroup.model_validate(
        {
            "metadata": meta(uid, name, scope, project),
            "spec": {
                "type": "hostCluster",
                "clusterRefs": [{"clusterUid": m} for m in members],
                "clustersConfig": {"endpointType": endpoint} if endpoint else {},
                "clusterProfileTemplates": templates or [],
            },
            "status": {"isActive": True},
        }
    )
    return GroupRecord(summary, full)
