"""Shared parts of the tenant generator: uids and timestamps from one RNG, cloud accounts, gateways,
IP pools, SSH keys, users and project records (``generator.py`` adds profiles and clusters).

Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ingestor.simulator.clock import Clock
from ingestor.simulator.dataset import Dataset, Tenant, new_uid
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.records import JSON, object_meta

DAY = 86_400.0
TENANT_PERMISSIONS = [
    "cluster.get",
    "cluster.list",
    "clusterGroup.get",
    "clusterGroup.list",
    "clusterProfile.get",
    "clusterProfile.list",
    "project.create",
    "project.get",
    "project.list",
    "user.get",
    "user.list",
    "virtualCluster.get",
    "virtualCluster.list",
]
PROJECT_PERMISSIONS = [
    "cloudaccount.get",
    "cloudaccount.list",
    "cluster.create",
    "cluster.delete",
    "cluster.get",
    "cluster.list",
    "cluster.update",
    "clusterProfile.get",
    "clusterProfile.list",
    "sshKey.create",
    "sshKey.get",
    "sshKey.list",
    "virtualCluster.create",
    "virtualCluster.get",
    "virtualCluster.list",
]
VIEWER_PERMISSIONS = [
    "cluster.get",
    "cluster.list",
    "clusterProfile.get",
    "clusterProfile.list",
    "virtualCluster.list",
]


@dataclass
class Family:
    name: str
    versions: list[JSON] = field(default_factory=list)  # published templates, oldest first


@dataclass
class ProjectPlan:
    uid: str
    name: str
    families: list[Family] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    aws_account: str = ""
    group: tuple[JSON, JSON] | None = None  # (group ref, host ref)


class GeneratorBase:
    """One RNG and one dataset; the helpers every part of the generator uses."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.o = options
        self.rng = random.Random(options.seed)
        tenant = Tenant(self.uid(), "acme")
        self.ds = Dataset(
            tenant, Clock(options.time_origin), seed=options.seed, admin_api_key=options.api_key
        )
        self.tenant_uid = tenant.uid
        self.stacks: dict[str, Family] = {}
        self.accounts: dict[str, str] = {}  # account type -> tenant account uid
        self.pcg = ""
        self.serial = self.virtual_serial = 0  # clusters made so far (they drive the state cycles)
        self.host_refs: list[tuple[JSON, JSON]] = []  # (group ref, host ref) of tenant groups

    # -- helpers -----------------------------------------------------------------------------
    def uid(self) -> str:
        return new_uid(self.rng)

    def past(self, lo_days: float, hi_days: float) -> str:
        return self.ds.clock.at(-self.rng.uniform(lo_days, hi_days) * DAY)

    def meta(self, name: str, scope: str = "tenant", project: str = "", uid: str = "", **kw: object) -> JSON:
        created = self.past(200, 400)
        return object_meta(
            uid or self.uid(),
            name,
            scope=scope,
            project_uid=project,
            tenant_uid=self.tenant_uid,
            created=created,
            modified=created,
            **kw,  # type: ignore[arg-type]
        )

    # -- accounts, gateways, keys ------------------------------------------------------------
    def account(self, ctype: str, name: str, scope: str, project: str = "") -> str:
        extra = {"overlordUid": self.pcg} if ctype == "vsphere" else {}
        meta = self.meta(name, scope, project, extra_annotations=extra)
        key = self.rng.getrandbits(64)
        spec: JSON
        if ctype == "aws":
            sts = project != ""
            spec = {"credentialType": "sts" if sts else "secret", "partition": "aws", "policyARNs": []}
            if sts:
                spec["sts"] = {
                    "arn": f"arn:aws:iam::{key % 10**12:012d}:role/palette",
                    "externalId": f"{key:016x}",
                }
            else:
                spec.update(accessKey=f"AKIA{key:016X}", secretKey=f"sim-secret-{key:x}")
        elif ctype == "azure":
            spec = {
                "azureEnvironment": "AzurePublicCloud",
                "tenantId": f"{key:032x}",
                "clientId": f"{key * 7 % 2**128:032x}",
                "clientSecret": f"sim-secret-{key:x}",
                "tenantName": "acme",
                "settings": {"disablePropertiesRequest": False},
            }
        else:
            spec = {
                "vcenterServer": "vcenter.dc1.example.com",
                "username": "palette@vsphere.local",
                "password": f"sim-secret-{key:x}",
                "insecure": False,
            }
        record = {
            "apiVersion": "v1",
            "kind": ctype,
            "metadata": meta,
            "spec": spec,
            "status": {"state": "Running"},
        }
        return self.ds.load("cloudAccounts", record, cloud_type=ctype)

    def gateways(self) -> None:
        """The tenant's System gateway and one vSphere PCG (``self.pcg``) with two IP pools."""
        system = self.meta("System Private Gateway", extra_annotations={"overlordType": "system"})
        pcg = self.meta("pcg-dc1", uid=self.pcg)
        for meta, account, address in ((system, "", ""), (pcg, self.accounts["vsphere"], "10.10.0.5")):
            is_system = meta is system
            spec = {
                "cloudAccountUid": account,
                "spectroClusterUid": self.uid(),
                "ipAddress": address,
                "isSelfHosted": False,
                "isSystem": is_system,
                "tenantUid": self.tenant_uid,
                "ipPools": [],
            }
            status = {
                "state": "Running",
                "isActive": True,
                "isReady": True,
                "kubectlCommands": [],
                "health": {
                    "state": "Healthy",
                    "agentVersion": "4.5.12",
                    "conditions": [],
                    "lastHeartBeatTimestamp": self.ds.clock.at(-30),
                },
                "notifications": {"isAvailable": False, "isTemplateVariableResolutionPending": False},
            }
            self.ds.load("overlords", {"kind": "vsphere", "metadata": meta, "spec": spec, "status": status})
        self.ip_pools()

    def ip_pools(self) -> None:
        """Two IP pools on the vSphere gateway."""
        for letter, net in (("a", 1), ("b", 2)):
            pool = {
                "start": f"10.10.{net}.10",
                "end": f"10.10.{net}.200",
                "subnet": f"10.10.{net}.0",
                "prefix": 24,
                "gateway": f"10.10.{net}.1",
                "nameserver": {"addresses": ["10.10.0.2"], "search": ["dc1.example.com"]},
            }
            record = {
                "metadata": self.meta(f"dc1-pool-{letter}"),
                "spec": {"pool": pool, "priavetGatewayUid": self.pcg, "restrictToSingleCluster": False},
                "status": {"inUse": False, "allottedIps": [], "associatedClusters": []},
            }
            self.ds.load("ipPools", record, overlord_uid=self.pcg)

    def tenant_accounts(self) -> None:
        self.pcg = self.uid()
        for ctype, name in (("aws", "aws-shared"), ("azure", "azure-shared"), ("vsphere", "vsphere-dc1")):
            self.accounts[ctype] = self.account(ctype, name, "tenant")
        self.gateways()
        self.ds.vsphere_inventory[self.accounts["vsphere"]] = [
            {
                "datacenter": f"Datacenter-{d}",
                "folders": [f"/Datacenter-{d}/vm/palette", f"/Datacenter-{d}/vm/templates"],
                "computeclusters": [
                    {
                        "name": f"Cluster-{c}",
                        "datastores": [f"vsanDatastore-{d}{c}", f"nfs-{d}{c}"],
                        "networks": ["VM Network", f"vlan-{d}0{ord(c) - 64}"],
                        "resourcePools": ["Resources", f"Resources/palette-{c.lower()}"],
                    }
                    for c in ("A", "B")
                ],
            }
            for d in (1, 2)
        ]

    def ssh_key(self, name: str, scope: str, project: str = "") -> None:
        body = f"{self.rng.getrandbits(256):064x}"
        record = {
            "metadata": self.meta(name, scope, project),
            "spec": {"publicKey": f"ssh-ed25519 AAAAC3{body} {name}"},
        }
        self.ds.load("sshKeys", record)

    def users(self, projects: list[ProjectPlan]) -> dict[str, dict[str, str]]:
        """Load users; returns project uid -> {user uid: project role}."""
        everyone = [p.uid for p in projects]
        people: tuple[tuple[str, str, str, list[str], list[str], list[str], list[str]], ...] = (
            ("admin", "Ada", "Admin", ["Tenant Admin"], everyone, PROJECT_PERMISSIONS, TENANT_PERMISSIONS),
            ("dev1", "Dev", "One", [], everyone[:2], PROJECT_PERMISSIONS, []),
            ("dev2", "Dev", "Two", [], everyone[-1:], PROJECT_PERMISSIONS, []),
            ("viewer", "Vic", "Viewer", [], everyone, VIEWER_PERMISSIONS, []),
        )
        roles: dict[str, dict[str, str]] = {uid: {} for uid in everyone}
        for login, first, last, tenant_roles, allowed, perms, tenant_perms in people:
            meta = self.meta(f"{first} {last}")
            status = {
                "activationLink": "",
                "isActive": True,
                "isPasswordResetting": False,
                "lastSignIn": self.past(0.1, 5),
                "loginMode": "devise",
                "isContractAccepted": True,
                "projectPermissions": {uid: list(perms) for uid in allowed},
                "tenantPermissions": {"tenant": list(tenant_perms)} if tenant_perms else {},
            }
            record = {
                "metadata": meta,
                "spec": {
                    "emailId": f"{login}@acme.example",
                    "firstName": first,
                    "lastName": last,
                    "roles": tenant_roles,
                },
                "status": status,
                "apiKeys": [] if login == "admin" else [f"{self.o.api_key}-{login}"],
                "sessionTokens": [f"sim-session-{login}-{self.rng.getrandbits(64):016x}"],
            }
            self.ds.load("users", record)
            for uid in allowed:
                roles[uid][meta["uid"]] = "Project Viewer" if perms is VIEWER_PERMISSIONS else "Project Admin"
        return roles

    def project_records(self, projects: list[ProjectPlan], roles: dict[str, dict[str, str]]) -> None:
        for project in projects:
            meta = self.meta(project.name, uid=project.uid, labels={"costCenter": f"cc-{project.name}"})
            users = [{"userId": u, "roles": [r]} for u, r in roles[project.uid].items()]
            spec = {"logoUrl": "", "teams": [], "users": users, "alerts": []}
            self.ds.load("projects", {"metadata": meta, "spec": spec, "status": {"isDisabled": False}})
