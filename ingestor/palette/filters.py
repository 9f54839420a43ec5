"""Canonical Palette request bodies and the allow-lists that guard path segments built from types.

Imports nothing of ours. Bodies follow palette-api.md 3.1 and 4.1; every call gets a fresh copy.
"""

from __future__ import annotations

from typing import Any

# POST /v1/spectroclusters/<type> (palette-api.md 3.8).
CREATE_CLOUD_TYPES: tuple[str, ...] = ("eks", "aws", "aks", "azure", "vsphere", "virtual")
# GET /v1/cloudaccounts/<type> (palette-api.md 4.6, compat.md S6).
ACCOUNT_CLOUD_TYPES: tuple[str, ...] = (
    "aws",
    "azure",
    "gcp",
    "vsphere",
    "maas",
    "openstack",
    "apache-cloudstack",
)
KUBECONFIG_KINDS: dict[str, str] = {
    "user": "/v1/spectroclusters/{uid}/assets/kubeconfig",
    "client": "/v1/spectroclusters/{uid}/assets/kubeconfigclient",
    "admin": "/v1/spectroclusters/{uid}/assets/adminKubeconfig",
    "frp": "/v1/spectroclusters/{uid}/assets/frpKubeconfig",
}


def _string_filter(prop: str, values: list[str], *, negation: bool) -> dict[str, Any]:
    condition = {
        "operator": "eq",
        "negation": negation,
        "ignoreCase": False,
        "match": {"conjunction": "or", "values": values},
    }
    return {"property": prop, "type": "string", "condition": {"string": condition}}


def _not_deleted() -> dict[str, Any]:
    return {"property": "isDeleted", "type": "bool", "condition": {"bool": {"value": False}}}


def cluster_search_body(*, virtual: bool, sort_by_last_modified: bool = False) -> dict[str, Any]:
    """Non-deleted clusters: virtual ones only (``environment eq nested``) or all the others."""
    group = {
        "conjunction": "and",
        "filters": [_string_filter("environment", ["nested"], negation=not virtual), _not_deleted()],
    }
    sort = [{"field": "lastModifiedTimestamp", "order": "desc"}] if sort_by_last_modified else []
    return {"filter": {"conjunction": "and", "filterGroups": [group]}, "sort": sort}


def all_projects_body() -> dict[str, Any]:
    """Every project (``POST /v1/dashboard/projects``)."""
    return {"filter": {}}


def profile_search_body(*, project_scope_only: bool = False) -> dict[str, Any]:
    """Every profile; with a ``ProjectUid``, ``project_scope_only`` drops the inherited tenant ones."""
    return {"filter": {"scope": "project"}} if project_scope_only else {"filter": {}}
