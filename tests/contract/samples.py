"""Realistic Palette bodies for the contract tests, shaped as palette-api.md describes them.

Each builder returns a fresh object, so a test may break one field without affecting others.
"""

from __future__ import annotations

import copy
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00.000Z"
PROJECT_UID = "5f1e2d3c4b5a69788796a5b4"
TENANT_UID = "6a7b8c9d0e1f2a3b4c5d6e7f"


def metadata(uid: str, name: str, **annotations: str) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": name,
        "labels": {"team": "platform"},
        "annotations": {
            "scope": "project",
            "projectUid": PROJECT_UID,
            "tenantUid": TENANT_UID,
            **annotations,
        },
        "creationTimestamp": "2024-05-02T10:00:00.123Z",
        "lastModifiedTimestamp": "2024-05-03T11:30:00.000Z",
        "deletionTimestamp": ZERO_TIME,
    }


def pack(name: str, layer: str, tag: str) -> dict[str, Any]:
    return {"name": name, "layer": layer, "tag": tag, "version": tag, "type": "spectro", "values": "a: 1\n"}


def metrics(total: float, usage: float, unit: str) -> dict[str, Any]:
    return {
        "total": total,
        "usage": usage,
        "request": usage / 2,
        "limit": total,
        "unit": unit,
        "lastUpdatedTime": "2024-05-03T11:29:00.000Z",
    }


def cluster_summary(index: int) -> dict[str, Any]:
    """One ``v1SpectroClusterSummary`` of an EKS cluster."""
    uid = f"698e43979f639727243be{index:03x}"
    profile = {
        "uid": f"aa8e43979f639727243be{index:03x}",
        "name": "eks-base",
        "type": "cluster",
        "cloudType": "eks",
        "scope": "project",
        "version": 2,
        "packs": [pack("kubernetes-eks", "k8s", "1.29"), pack("cni-aws-vpc-eks", "cni", "1.0")],
    }
    return {
        "metadata": metadata(uid, f"cluster-{index}", overlordUid=""),
        "specSummary": {
            "cloudConfig": {
                "uid": f"cc8e43979f639727243be{index:03x}",
                "cloudType": "eks",
                "machinePools": [
                    {
                        "cloudType": "eks",
                        "isControlPlane": False,
                        "size": 3,
                        "healthy": 3,
                        "maintenanceMode": 0,
                        "labels": ["worker"],
                    }
                ],
            },
            "cloudAccountMeta": {"uid": "bb8e43979f639727243be001", "name": "aws-prod"},
            "projectMeta": {"uid": PROJECT_UID, "name": "default"},
            "archTypes": ["amd64"],
            "clusterConfig": {"timezone": "Etc/UTC"},
            "clusterProfileTemplates": [profile],
            "clusterProfileTemplate": copy.deepcopy(profile),
        },
        "status": {
            "state": "Running",
            "health": {
                "state": "Healthy",
                "agentVersion": "4.8.1",
                "lastHeartBeatTimestamp": "2024-05-03T11:29:30.000Z",
                "conditions": [],
            },
            "metrics": {"cpu": metrics(8000, 1200, "MilliCore"), "memory": metrics(32e6, 8e6, "KiB")},
            "cost": {"total": 12.5},
            "hourlyRate": {"total": 0.42},
            "location": {"countryCode": "US", "countryName": "United States", "regionCode": "us-east-1"},
            "fips": {"mode": "none"},
            "repave": {"state": "Approved"},
            "notifications": {"isAvailable": False, "isTemplateVariableResolutionPending": False},
            "clusterImport": {"state": "", "isBrownfield": False, "importLink": ""},
        },
    }


def cluster_summary_page(count: int = 3, *, total: int = 117) -> dict[str, Any]:
    """A ``v1SpectroClustersSummary`` page with ``listmeta`` (not the last page)."""
    return {
        "items": [cluster_summary(i) for i in range(count)],
        "listmeta": {"continue": "eyJvZmZzZXQiOjN9", "count": total, "limit": 50, "offset": count},
    }


def cluster_meta(index: int) -> dict[str, Any]:
    """One item of the bare ``v1SpectroClustersMeta`` array."""
    return {
        "metadata": metadata(f"698e43979f639727243be{index:03x}", f"cluster-{index}"),
        "spec": {
            "cloudType": "eks",
            "cloudAccountUid": "bb8e43979f639727243be001",
            "cloudRegion": "us-east-1",
        },
        "status": {"state": "Running"},
    }


def aws_create_body() -> dict[str, Any]:
    """A normal ``v1SpectroAwsClusterEntity``: no ``spec.cloudType``, as real clients send it."""
    return {
        "metadata": {"name": "demo-aws", "labels": {"env": "dev"}, "annotations": {"description": "demo"}},
        "spec": {
            "cloudAccountUid": "bb8e43979f639727243be001",
            "cloudConfig": {"region": "us-east-1", "sshKeyName": "ops"},
            "profiles": [{"uid": "aa8e43979f639727243be001", "packValues": [], "variables": []}],
            "machinepoolconfig": [
                {
                    "cloudConfig": {"instanceType": "t3.large", "azs": ["us-east-1a"]},
                    "poolConfig": {
                        "name": "cp",
                        "size": 1,
                        "labels": ["control-plane"],
                        "isControlPlane": True,
                    },
                },
                {
                    "cloudConfig": {"instanceType": "t3.xlarge", "azs": ["us-east-1a"]},
                    "poolConfig": {"name": "worker", "size": 2, "labels": ["worker"]},
                },
            ],
        },
    }


def search_body(sort_field: str = "lastModifiedTimestamp") -> dict[str, Any]:
    """The canonical non-virtual, non-deleted cluster search (palette-api.md 3.1)."""
    return {
        "filter": {
            "conjunction": "and",
            "filterGroups": [
                {
                    "conjunction": "and",
                    "filters": [
                        {
                            "property": "environment",
                            "type": "string",
                            "condition": {
                                "string": {
                                    "operator": "eq",
                                    "negation": True,
                                    "ignoreCase": False,
                                    "match": {"conjunction": "or", "values": ["nested"]},
                                }
                            },
                        },
                        {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}},
                    ],
                }
            ],
        },
        "sort": [{"field": sort_field, "order": "desc"}],
    }
