"""Derived indexes over one dataset revision: cluster search rows, relations, profile families, keys.

Built in one pass when a request first needs them after a change, so list requests never rescan
records. Holds per-revision caches of rendered views. Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingestor.simulator.dataset import owner_of

if TYPE_CHECKING:
    from ingestor.simulator.dataset import JSON, Dataset

FamilyKey = tuple[str, str, str]  # (scope, projectUid, name)
SEARCH_CACHE_SIZE = 256


@dataclass(slots=True)
class ClusterRow:
    """What searches filter and sort on, flattened once per revision."""

    uid: str
    name: str
    env: str
    state: str
    health: str
    deleted: bool
    created: str
    modified: str
    scope: str
    project_uid: str
    tags: tuple[str, ...]
    arch: tuple[str, ...]
    is_host: bool
    group_uid: str
    host_uid: str
    account_uid: str


def cloud_type(record: JSON) -> str:
    """``spec.cloudConfig.cloudType`` first, then ``spec.cloudType`` (palette-api.md 3.3)."""
    spec = record.get("spec") or {}
    return str((spec.get("cloudConfig") or {}).get("cloudType") or spec.get("cloudType") or "")


def tags_of(labels: dict[str, str]) -> tuple[str, ...]:
    """Palette tags from labels: ``key:value``, or ``key`` for the wizard's ``spectro__tag`` marker."""
    return tuple(sorted(k if v == "spectro__tag" else f"{k}:{v}" for k, v in labels.items()))


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for semver-ish strings: numeric parts numerically, others after them."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.+-]", version))


def _row(uid: str, record: JSON) -> ClusterRow:
    meta = record.get("metadata") or {}
    spec = record.get("spec") or {}
    status = record.get("status") or {}
    scope, project = owner_of(record)
    host_config = (spec.get("clusterConfig") or {}).get("hostClusterConfig") or {}
    state = str(status.get("state") or "")
    return ClusterRow(
        uid=uid,
        name=str(meta.get("name") or ""),
        env=cloud_type(record),
        state=state,
        health=str((status.get("health") or {}).get("state") or ""),
        deleted=state == "Deleted",
        created=str(meta.get("creationTimestamp") or ""),
        modified=str(meta.get("lastModifiedTimestamp") or ""),
        scope=scope,
        project_uid=project,
        tags=tags_of(meta.get("labels") or {}),
        arch=tuple(spec.get("archTypes") or ()),
        is_host=bool(host_config.get("isHostCluster")),
        group_uid=str((host_config.get("clusterGroup") or {}).get("uid") or ""),
        host_uid=str((host_config.get("hostCluster") or {}).get("uid") or ""),
        account_uid=str(spec.get("cloudAccountUid") or ""),
    )


class Index:
    """Everything derived from one dataset revision."""

    def __init__(self, ds: Dataset, previous: Index | None = None) -> None:
        self.revision = ds.revision
        # Records are immutable (a change replaces the record), so a row built for the very same
        # record object by the previous index is still right: a rebuild after one change is cheap.
        self.records = dict(ds.collection("clusters"))
        reusable = previous.rows if previous is not None else {}
        old = previous.records if previous is not None else {}
        self.rows: dict[str, ClusterRow] = {
            uid: reusable[uid] if old.get(uid) is rec else _row(uid, rec) for uid, rec in self.records.items()
        }
        self.cluster_order = sorted(self.rows, key=lambda u: (self.rows[u].name, u))
        self.clusters_by_project: dict[str, list[str]] = {}
        self.vcs_by_host: dict[str, list[str]] = {}
        self.vcs_by_group: dict[str, list[str]] = {}
        for uid in self.cluster_order:
            row = self.rows[uid]
            self.clusters_by_project.setdefault(row.project_uid, []).append(uid)
            if row.env == "nested":
                if row.host_uid:
                    self.vcs_by_host.setdefault(row.host_uid, []).append(uid)
                if row.group_uid:
                    self.vcs_by_group.setdefault(row.group_uid, []).append(uid)
        self.hosts_by_group: dict[str, list[str]] = {}
        self.groups_of_host: dict[str, list[str]] = {}
        for uid, group in ds.collection("clusterGroups").items():
            refs = ((group.get("spec") or {}).get("clusterRefs")) or []
            hosts = list(dict.fromkeys(str(r.get("clusterUid") or "") for r in refs if r.get("clusterUid")))
            self.hosts_by_group[uid] = hosts
            for host in hosts:
                self.groups_of_host.setdefault(host, []).append(uid)
        self.profile_users = self._profile_users(ds)
        self.families, self.family_of = self._families(ds)
        self.account_names = {
            u: str(a["metadata"].get("name") or "") for u, a in ds.collection("cloudAccounts").items()
        }
        self.project_names = {
            u: str(p["metadata"].get("name") or "") for u, p in ds.collection("projects").items()
        }
        self.user_by_key, self.user_by_token, self.admin_uid = self._credentials(ds)
        self.views: dict[tuple[str, str], Any] = {}
        self.searches: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()

    def _profile_users(self, ds: Dataset) -> dict[str, list[str]]:
        users: dict[str, dict[str, None]] = {}  # ordered sets
        clusters = ds.collection("clusters")
        for uid in self.cluster_order:
            templates = (clusters[uid].get("spec") or {}).get("clusterProfileTemplates") or []
            for template in templates:
                version_uid = str(template.get("uid") or "")
                if version_uid:
                    users.setdefault(version_uid, {})[uid] = None
        return {version: list(members) for version, members in users.items()}

    @staticmethod
    def _families(ds: Dataset) -> tuple[dict[FamilyKey, list[str]], dict[str, FamilyKey]]:
        families: dict[FamilyKey, list[str]] = {}
        family_of: dict[str, FamilyKey] = {}
        profiles = ds.collection("clusterProfiles")
        for uid, profile in profiles.items():
            scope, project = owner_of(profile)
            key = (scope, project, str(profile["metadata"].get("name") or ""))
            families.setdefault(key, []).append(uid)
            family_of[uid] = key
        for members in families.values():
            members.sort(
                key=lambda u: (version_key(str(profiles[u].get("spec", {}).get("version") or "")), u)
            )
        return families, family_of

    @staticmethod
    def _credentials(ds: Dataset) -> tuple[dict[str, str], dict[str, str], str]:
        by_key: dict[str, str] = {}
        by_token: dict[str, str] = {}
        admin = ""
        for uid, user in ds.collection("users").items():
            by_key.update({str(k): uid for k in user.get("apiKeys") or []})
            by_token.update({str(t): uid for t in user.get("sessionTokens") or []})
            tenant_permissions = ((user.get("status") or {}).get("tenantPermissions") or {}).get("tenant")
            if not admin and tenant_permissions:
                admin = uid
        admin = admin or next(iter(ds.collection("users")), "")
        if ds.admin_api_key:
            by_key[ds.admin_api_key] = admin
        return by_key, by_token, admin

    def latest_version(self, uid: str) -> str:
        """The newest version uid of the family ``uid`` belongs to."""
        return self.families[self.family_of[uid]][-1]

    def cached_search(self, key: tuple[Any, ...]) -> list[str] | None:
        hit = self.searches.get(key)
        if hit is not None:
            self.searches.move_to_end(key)
        return hit

    def store_search(self, key: tuple[Any, ...], uids: list[str]) -> None:
        self.searches[key] = uids
        while len(self.searches) > SEARCH_CACHE_SIZE:
            self.searches.popitem(last=False)
