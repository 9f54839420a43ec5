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


# v1ProfileType (palette-api.md 4.1).
PROFILE_TYPES: tuple[str, ...] = ("cluster", "infra", "add-on", "system")
# Values of a profile's ``cloudType`` (the search's ``filter.environment``): the cloud types, ``all``
# for add-ons that fit any cloud (palette-api.md 4.2) and ``nested`` for virtual clusters.
PROFILE_CLOUD_TYPES: tuple[str, ...] = (
    "all",
    "aws",
    "eks",
    "azure",
    "aks",
    "gcp",
    "gke",
    "vsphere",
    "maas",
    "openstack",
    "apache-cloudstack",
    "edge-native",
    "tke",
    "nested",
)


def profile_name_body(name: str) -> dict[str, Any]:
    """Profiles named ``name``, compared case-insensitively (``profileName.eq`` + ``ignoreCase``)."""
    return {"filter": {"profileName": {"eq": name, "ignoreCase": True}}}


def project_profiles_body(profile_types: list[str], cloud_type: str | None = None) -> dict[str, Any]:
    """Cluster-deployable profiles of ``profile_types`` (and ``cloud_type``), newest change first."""
    flt: dict[str, Any] = {"profileType": list(profile_types), "resourceType": "spectrocluster"}
    if cloud_type is not None:
        flt["environment"] = [cloud_type]
    return {"filter": flt, "sort": [{"field": "lastModifiedTimestamp", "order": "desc"}]}
