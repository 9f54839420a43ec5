"""The simulator's in-memory store: Palette objects in their GET shape, and the only way to change them.

Every list, summary and meta view is derived from these records (``index.py``, ``views*.py``).
Records are treated as immutable: a change replaces the record. Imports only ``simulator.clock``.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingestor.simulator.clock import ZERO_TIME, Clock

if TYPE_CHECKING:
    from ingestor.simulator.index import Index

JSON = dict[str, Any]

# Fixture keys, in dump order. ``cloudAccounts`` and ``ipPools`` are grouped in the fixture
# (by cloud type, by overlord uid) and flat here, with a side map for the group key.
COLLECTIONS = (
    "projects",
    "users",
    "clusters",
    "clusterProfiles",
    "clusterGroups",
    "cloudAccounts",
    "overlords",
    "ipPools",
    "sshKeys",
)
CLOUD_ACCOUNT_TYPES = ("aws", "azure", "vsphere", "gcp", "maas", "openstack", "apache-cloudstack")


class DatasetError(ValueError):
    """A mutation the dataset refuses (unknown collection, duplicate uid, missing group key)."""


@dataclass(frozen=True)
class Tenant:
    uid: str
    org_name: str


def new_uid(rng: random.Random) -> str:
    """A 24-hex, Mongo-ObjectId-style uid (palette-api.md 1.1)."""
    return f"{rng.getrandbits(96):024x}"


def owner_of(record: Mapping[str, Any]) -> tuple[str, str]:
    """``(scope, projectUid)`` from the record's annotations; projectUid is ``""`` unless scope is project."""
    annotations = (record.get("metadata") or {}).get("annotations") or {}
    project = str(annotations.get("projectUid") or "")
    scope = str(annotations.get("scope") or ("project" if project else "tenant"))
    return scope, project if scope == "project" else ""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns a new value and never mutates ``target``."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Dataset:
    """All simulated objects of one tenant, plus the clock that stamps their changes."""

    def __init__(self, tenant: Tenant, clock: Clock, *, seed: int = 0, admin_api_key: str = "") -> None:
        self.tenant = tenant
        self.clock = clock
        self.seed = seed
        self.admin_api_key = admin_api_key
        self._data: dict[str, dict[str, JSON]] = {name: {} for name in COLLECTIONS}
        self.cloud_account_types: dict[str, str] = {}
        self.ip_pool_overlords: dict[str, str] = {}
        # uid -> {"name", "content"}; manifests not listed here get synthesised content.
        self.manifests: dict[str, dict[str, str]] = {}
        # cloud-account uid -> datacenters [{datacenter, folders, computeclusters: [{name, ...}]}]
        self.vsphere_inventory: dict[str, list[JSON]] = {}
        # what the creation endpoints received (uid, path, machine-pool spelling); for tests.
        self.creations: list[JSON] = []
        self.revision = 0
        self.lock = threading.RLock()
        self._index: Index | None = None
        self._reuse_rows = True  # False after touch(): records may have changed in place
        self._uids = random.Random(f"palette-simulator-runtime-{seed}")

    # -- reading -----------------------------------------------------------------------------
    def collection(self, name: str) -> Mapping[str, JSON]:
        """The records of one collection by uid (read-only by convention)."""
        try:
            return self._data[name]
        except KeyError:
            raise DatasetError(f"unknown collection {name!r}; known: {', '.join(COLLECTIONS)}") from None

    def get(self, collection: str, uid: str) -> JSON | None:
        return self.collection(collection).get(uid)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {name: len(records) for name, records in self._data.items()}

    def __iter__(self) -> Iterator[tuple[str, JSON]]:
        for name in COLLECTIONS:
            yield from ((name, record) for record in self._data[name].values())

    def index(self) -> Index:
        """Derived indexes for the current revision (rebuilt lazily after a change)."""
        from ingestor.simulator.index import Index

        with self.lock:
            if self._index is None or self._index.revision != self.revision:
                self._index = Index(self, self._index if self._reuse_rows else None)
                self._reuse_rows = True
            return self._index

    def new_uid(self) -> str:
        with self.lock:
            return new_uid(self._uids)

    # -- changing ----------------------------------------------------------------------------
    def insert(
        self, collection: str, record: JSON, *, cloud_type: str | None = None, overlord_uid: str | None = None
    ) -> str:
        """Add a copy of ``record`` now: fills a missing uid, stamps both timestamps with the clock."""
        record = copy.deepcopy(record)
        with self.lock:
            meta = record.setdefault("metadata", {})
            now = self.clock.tick()
            meta["creationTimestamp"] = meta.get("creationTimestamp") or now
            meta["lastModifiedTimestamp"] = now
            return self.load(collection, record, cloud_type=cloud_type, overlord_uid=overlord_uid)

    def load(
        self, collection: str, record: JSON, *, cloud_type: str | None = None, overlord_uid: str | None = None
    ) -> str:
        """Add ``record`` as it is (no copy; the generator and fixtures use this). Fills only what is
        missing: the uid, ``creationTimestamp`` (now), ``lastModifiedTimestamp`` (= creation) and
        ``deletionTimestamp`` (zero time)."""
        with self.lock:
            records = self.collection(collection)
            meta = record.setdefault("metadata", {})
            uid = str(meta.get("uid") or new_uid(self._uids))
            if uid in records:
                raise DatasetError(f"{collection} already has uid {uid}")
            self._attach_group_key(collection, uid, cloud_type, overlord_uid)
            meta["uid"] = uid
            created = meta.get("creationTimestamp") or self.clock.now()
            meta["creationTimestamp"] = created
            meta["lastModifiedTimestamp"] = meta.get("lastModifiedTimestamp") or created
            meta.setdefault("deletionTimestamp", ZERO_TIME)
            self._data[collection][uid] = record
            self.revision += 1
            return uid

    def replace(self, collection: str, uid: str, record: JSON) -> JSON:
        """Swap a record for a new version (uid kept, lastModifiedTimestamp bumped)."""
        with self.lock:
            old = self._require(collection, uid)
            record = copy.deepcopy(record)
            meta = record.setdefault("metadata", {})
            meta["uid"] = uid
            meta.setdefault("creationTimestamp", old["metadata"].get("creationTimestamp", ZERO_TIME))
            meta["lastModifiedTimestamp"] = self.clock.tick()
            meta.setdefault("deletionTimestamp", ZERO_TIME)
            self._data[collection][uid] = record
            self.revision += 1
            return record

    def patch(self, collection: str, uid: str, patch: JSON) -> JSON:
        """Apply a JSON merge patch to the GET-shaped record and bump lastModifiedTimestamp.

        A patch that sets ``metadata.lastModifiedTimestamp`` itself keeps that value.
        """
        with self.lock:
            old = self._require(collection, uid)
            record: JSON = merge_patch(old, patch)
            meta = record.setdefault("metadata", {})
            meta["uid"] = uid
            explicit = (patch.get("metadata") or {}).get("lastModifiedTimestamp")
            meta["lastModifiedTimestamp"] = explicit or self.clock.tick()
            self._data[collection][uid] = record
            self.revision += 1
            return record

    def delete(self, collection: str, uid: str) -> None:
        """Remove a record (an overlord takes its IP pools with it)."""
        with self.lock:
            self._require(collection, uid)
            del self._data[collection][uid]
            self.cloud_account_types.pop(uid, None)
            self.ip_pool_overlords.pop(uid, None)
            if collection == "overlords":
                for pool_uid in [p for p, o in self.ip_pool_overlords.items() if o == uid]:
                    del self._data["ipPools"][pool_uid]
                    del self.ip_pool_overlords[pool_uid]
            self.clock.tick()
            self.revision += 1

    def record_creation(self, entry: JSON) -> None:
        with self.lock:
            self.creations.append(entry)

    def touch(self) -> None:
        """Invalidate derived views after a record was changed in place (outside the methods above)."""
        with self.lock:
            self._reuse_rows = False
            self.revision += 1

    def replace_state(self, other: Dataset) -> None:
        """Take over another dataset's content in place (admin reset keeps this object alive)."""
        with self.lock:
            self.tenant, self.clock, self.seed = other.tenant, other.clock, other.seed
            self.admin_api_key = other.admin_api_key
            self._data = other._data
            self.cloud_account_types = other.cloud_account_types
            self.ip_pool_overlords = other.ip_pool_overlords
            self.manifests = other.manifests
            self.vsphere_inventory = other.vsphere_inventory
            self.creations = other.creations
            self._uids = other._uids
            self._index = None
            self.revision += other.revision + 1

    # -- helpers -----------------------------------------------------------------------------
    def _require(self, collection: str, uid: str) -> JSON:
        record = self.collection(collection).get(uid)
        if record is None:
            raise KeyError(f"{collection}/{uid}")
        return record

    def _attach_group_key(
        self, collection: str, uid: str, cloud_type: str | None, overlord_uid: str | None
    ) -> None:
        if collection == "cloudAccounts":
            if cloud_type not in CLOUD_ACCOUNT_TYPES:
                raise DatasetError(f"cloud account needs a cloud type among {', '.join(CLOUD_ACCOUNT_TYPES)}")
            self.cloud_account_types[uid] = cloud_type
        elif collection == "ipPools":
            if not overlord_uid:
                raise DatasetError("an IP pool needs the uid of its overlord")
            self.ip_pool_overlords[uid] = overlord_uid
