"""Load and dump the fixture format: one JSON document of GET-shaped Palette objects by collection
(docs/simulator.md "Fixture format"); missing optional fields are tolerated.
Imports only ``ingestor.simulator`` and ``ingestor.errors``; never httpx.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestor.errors import ConfigError
from ingestor.simulator.clock import ZERO_TIME, Clock, parse_time
from ingestor.simulator.dataset import CLOUD_ACCOUNT_TYPES, COLLECTIONS, Dataset, DatasetError, Tenant
from ingestor.simulator.generator_base import PROJECT_PERMISSIONS, TENANT_PERMISSIONS
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.records import JSON, stable_uid

FLAT = ("projects", "users", "clusters", "clusterProfiles", "clusterGroups", "overlords", "sshKeys")


def _records(data: JSON, key: str, problems: list[tuple[str, str]]) -> list[JSON]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append((key, "must be a list of objects"))
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append(item)
        else:
            problems.append((f"{key}[{i}]", "must be an object"))
    return out


def _grouped(data: JSON, key: str, problems: list[tuple[str, str]]) -> dict[str, list[JSON]]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append((key, "must be an object of lists"))
        return {}
    return {str(group): _records(value, group, problems) for group in value} if value else {}


def _latest(data: JSON, origin: datetime) -> datetime:
    """The later of ``origin`` and every timestamp in the fixture, so new changes sort after old ones."""
    latest = origin
    for key in FLAT:
        for record in data.get(key) or []:
            meta = record.get("metadata") if isinstance(record, dict) else None
            for field in ("creationTimestamp", "lastModifiedTimestamp"):
                text = (meta or {}).get(field)
                if isinstance(text, str) and text != ZERO_TIME:
                    try:
                        latest = max(latest, parse_time(text))
                    except ValueError:
                        continue
    return latest


def _tenant(data: JSON) -> Tenant:
    tenant: JSON = data["tenant"] if isinstance(data.get("tenant"), dict) else {}
    uid = str(tenant.get("uid") or "")
    for key in FLAT:
        for record in data.get(key) or []:
            if uid:
                break
            annotations = (
                ((record.get("metadata") or {}).get("annotations") or {}) if isinstance(record, dict) else {}
            )
            uid = str(annotations.get("tenantUid") or "")
    org = str(tenant.get("orgName") or "tenant")
    return Tenant(uid or stable_uid("tenant", org), org)


def _default_admin(ds: Dataset) -> JSON:
    projects = list(ds.collection("projects"))
    return {
        "metadata": {"uid": stable_uid("user", "admin", ds.tenant.uid), "name": "Tenant Admin"},
        "spec": {
            "emailId": "admin@example.com",
            "firstName": "Tenant",
            "lastName": "Admin",
            "roles": ["Tenant Admin"],
        },
        "status": {
            "isActive": True,
            "projectPermissions": {p: list(PROJECT_PERMISSIONS) for p in projects},
            "tenantPermissions": {"tenant": list(TENANT_PERMISSIONS)},
        },
    }


def load_fixture(data: Any, options: SimulatorOptions) -> Dataset:
    """A dataset holding the fixture's objects; ``ConfigError`` lists every structural problem."""
    if not isinstance(data, dict):
        raise ConfigError([("fixture", "must be a JSON object")])
    problems: list[tuple[str, str]] = []
    flat = {key: _records(data, key, problems) for key in FLAT}
    accounts = _grouped(data, "cloudAccounts", problems)
    pools = _grouped(data, "ipPools", problems)
    problems += [
        (f"cloudAccounts.{t}", "unknown cloud type") for t in accounts if t not in CLOUD_ACCOUNT_TYPES
    ]
    if problems:
        raise ConfigError(problems)
    ds = Dataset(
        _tenant(data),
        Clock(_latest(data, options.time_origin)),
        seed=options.seed,
        admin_api_key=options.api_key,
    )
    try:
        for key in FLAT:
            for record in flat[key]:
                ds.load(key, copy.deepcopy(record))
        for cloud, records in accounts.items():
            for record in records:
                ds.load("cloudAccounts", copy.deepcopy(record), cloud_type=cloud)
        for overlord, records in pools.items():
            for record in records:
                ds.load("ipPools", copy.deepcopy(record), overlord_uid=overlord)
    except DatasetError as exc:
        raise ConfigError([("fixture", str(exc))]) from None
    if not ds.collection("users"):
        ds.load("users", _default_admin(ds))
    ds.manifests = {str(k): dict(v) for k, v in (data.get("manifests") or {}).items() if isinstance(v, dict)}
    inventory = data.get("vsphereInventory") or {}
    ds.vsphere_inventory = {str(k): list(v) for k, v in inventory.items() if isinstance(v, list)}
    return ds


def load_fixture_file(path: Path, options: SimulatorOptions) -> Dataset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([(str(path), f"cannot read: {exc.strerror}")]) from None
    except ValueError as exc:
        raise ConfigError([(str(path), f"not valid JSON: {exc}")]) from None
    return load_fixture(data, options)


def dump_fixture(ds: Dataset) -> JSON:
    """The dataset in the fixture format (a deep copy); ``load_fixture`` of it gives the same dataset."""
    with ds.lock:
        out: JSON = {"tenant": {"uid": ds.tenant.uid, "orgName": ds.tenant.org_name}}
        for key in COLLECTIONS:
            records = list(ds.collection(key).values())
            if key == "cloudAccounts":
                grouped: dict[str, list[JSON]] = {}
                for uid, record in ds.collection(key).items():
                    grouped.setdefault(ds.cloud_account_types[uid], []).append(record)
                out[key] = grouped
            elif key == "ipPools":
                by_overlord: dict[str, list[JSON]] = {}
                for uid, record in ds.collection(key).items():
                    by_overlord.setdefault(ds.ip_pool_overlords[uid], []).append(record)
                out[key] = by_overlord
            else:
                out[key] = records
        out["manifests"] = ds.manifests
        out["vsphereInventory"] = ds.vsphere_inventory
        return copy.deepcopy(out)
