"""Deterministic tenant generator (same options and seed, byte-identical dataset): profiles with
several versions, host/project/virtual clusters and cluster groups on top of ``generator_base``.
One RNG, fixed iteration order. Imports only ``ingestor.simulator``; never httpx.
"""

from __future__ import annotations

from ingestor.simulator import catalog as cat
from ingestor.simulator.dataset import Dataset
from ingestor.simulator.generator_base import DAY, Family, GeneratorBase, ProjectPlan
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.records import (
    JSON,
    ClusterPlan,
    cluster_record,
    object_ref,
    profile_record,
    profile_template,
)

RUNNING, SICK = ("Running", "Healthy"), ("Running", "UnHealthy")
# 14 Running (2 unhealthy), 2 Provisioning, 1 Error, 1 Deleting, 2 Deleted per 20 clusters.
STATE_CYCLE: tuple[tuple[str, str], ...] = (
    RUNNING, RUNNING, RUNNING, ("Provisioning", "Unknown"), RUNNING, SICK, RUNNING, ("Error", "UnHealthy"),
    RUNNING, RUNNING, RUNNING, ("Deleting", "Unknown"), RUNNING, ("Deleted", "Unknown"), RUNNING, RUNNING,
    ("Provisioning", "Unknown"), RUNNING, SICK, ("Deleted", "Unknown"),
)  # fmt: skip
VIRTUAL_CYCLE: tuple[tuple[str, str], ...] = (
    RUNNING, RUNNING, RUNNING, ("Provisioning", "Unknown"), RUNNING, SICK, RUNNING, ("Error", "UnHealthy"),
)  # fmt: skip


class _Generator(GeneratorBase):
    """Profiles, clusters, groups and projects on top of the shared parts."""

    # -- profiles ----------------------------------------------------------------------------
    def family(self, name: str, ptype: str, cloud: str, scope: str, project: str, addon: str = "") -> Family:
        fam = Family(name)
        for v in range(self.o.profile_versions):
            uid = self.uid()
            version = f"1.{v}.0"
            if addon:
                packs, variables = cat.addon_packs(addon, v, uid), cat.addon_variables(addon)
            else:
                packs, variables = cat.stack_packs(cloud, cat.K8S_VERSIONS[v % 4]), cat.stack_variables()
            template = profile_template(uid, name, version, v + 1, ptype, cloud, packs)
            meta = self.meta(name, scope, project, uid=uid)
            meta["creationTimestamp"] = self.ds.clock.at((-400 + 40 * v) * DAY)
            meta["lastModifiedTimestamp"] = self.ds.clock.at((-390 + 40 * v) * DAY)
            self.ds.load("clusterProfiles", profile_record(meta, template, variables))
            fam.versions.append(template)
        return fam

    def tenant_profiles(self) -> None:
        for cloud in cat.CLOUD_TYPES:
            self.stacks[cloud] = self.family(f"{cloud}-base", "cluster", cloud, "tenant", "")
        self.family("palette-monitoring", "add-on", "all", "system", "", addon="observability")

    # -- clusters ----------------------------------------------------------------------------
    def state(self, virtual: bool = False) -> tuple[str, str]:
        """The next (state, health) of a fixed cycle, so even a small tenant shows the whole mix.

        Virtual clusters have their own cycle without ``Deleted``: every generated one is listed.
        """
        if virtual:
            self.virtual_serial += 1
            return VIRTUAL_CYCLE[(self.virtual_serial - 1) % len(VIRTUAL_CYCLE)]
        self.serial += 1
        return STATE_CYCLE[(self.serial - 1) % len(STATE_CYCLE)]

    def pools(self, cloud: str) -> list[tuple[str, int, bool]]:
        workers = self.rng.randint(2, 6)
        if cloud == "nested":
            return [("worker-pool", 1, False)]
        if cloud == "eks":
            return [("worker-pool", workers, False)]
        if cloud == "aks":
            return [("system-pool", 1, False), ("worker-pool", workers, False)]
        return [("control-plane", self.rng.choice((1, 3)), True), ("worker-pool", workers, False)]

    def cluster(
        self, name: str, cloud: str, project: ProjectPlan | None, templates: list[JSON], **kw: object
    ) -> str:
        """Build and load one cluster; ``kw`` overrides ``ClusterPlan`` fields (state, group, host...)."""
        age = self.rng.uniform(30, 365)
        state, health = self.state(virtual=cloud == "nested")
        plan = ClusterPlan(
            uid=self.uid(),
            name=name,
            cloud_type=cloud,
            scope="project" if project else "tenant",
            project_uid=project.uid if project else "",
            tenant_uid=self.tenant_uid,
            created=self.ds.clock.at(-age * DAY),
            modified=self.ds.clock.at(-self.rng.uniform(0.05, age) * DAY),
            config_uid=self.uid(),
            state=state,
            health=health,
            templates=templates,
        )
        for key, value in kw.items():
            setattr(plan, key, value)
        if cloud != "nested":
            plan.region = self.rng.choice(cat.REGIONS_BY_CLOUD[cloud])
            account_type = cat.ACCOUNT_TYPE_BY_CLOUD.get(cloud, "")
            own = project.aws_account if project and account_type == "aws" else ""
            plan.account_uid = own or self.accounts.get(account_type, "")
            plan.overlord_uid = self.pcg if cloud == "vsphere" else ""
            plan.arch = "arm64" if cloud == "edge-native" and self.rng.random() < 0.5 else "amd64"
        plan.pools = self.pools(cloud)
        nodes = sum(size for _, size, _ in plan.pools)
        live = plan.state in ("Running", "Error", "Deleting")
        used = self.rng.uniform(0.1, 0.85) if live else 0.0
        plan.cpu = (nodes * 4000.0, round(nodes * 4000.0 * used, 1))
        plan.memory = (nodes * 16777216.0, round(nodes * 16777216.0 * used * 0.9, 1))
        plan.hourly_cost = 0.0 if cloud == "nested" else round(nodes * self.rng.uniform(0.05, 0.4), 3)
        plan.heartbeat = self.ds.clock.at(-self.rng.uniform(5, 90)) if live else plan.heartbeat
        return self.ds.load("clusters", cluster_record(plan))

    def group(self, name: str, scope: str, project: str, hosts: list[tuple[str, str]], index: int) -> JSON:
        """Load a cluster group with ``hosts`` [(uid, name)] as members; returns its reference."""
        meta = self.meta(name, scope, project)
        endpoint = ("Ingress", "LoadBalancer")[index % 2]
        configs = []
        for uid, host in hosts:
            if endpoint == "Ingress":
                config: JSON = {"ingressConfig": {"host": f"*.{host}.vc.example.com", "port": 443}}
            else:
                config = {
                    "loadBalancerConfig": {
                        "externalTrafficPolicy": "Cluster",
                        "externalIPs": [],
                        "loadBalancerSourceRanges": [],
                    }
                }
            configs.append({"clusterUid": uid, "endpointConfig": config})
        clusters_config = {
            "endpointType": endpoint,
            "hostClustersConfig": configs,
            "kubernetesDistroType": "k3s",
            "limitConfig": {
                "cpuMilliCore": 6000,
                "memoryMiB": 8192,
                "storageGiB": 20,
                "overSubscription": 120,
            },
            "values": "controlPlane:\n  distro:\n    k3s:\n      enabled: true\n",
        }
        spec = {
            "type": "hostCluster",
            "clusterRefs": [{"clusterUid": u, "clusterName": n} for u, n in hosts],
            "clustersConfig": clusters_config,
            "clusterProfileTemplates": [],
        }
        self.ds.load("clusterGroups", {"metadata": meta, "spec": spec, "status": {"isActive": True}})
        return object_ref(meta["uid"], name, "clustergroup")

    def tenant_clusters(self) -> None:
        hosts = []
        for h in range(self.o.tenant_clusters):
            cloud = ("eks", "aks", "vsphere")[h % 3]
            name = f"host-{cloud}-{h + 1:02d}"
            stack = self.stacks[cloud].versions[-1]
            uid = self.cluster(name, cloud, None, [stack], state="Running", health="Healthy", is_host=True)
            hosts.append((uid, name))
        names = ("shared-vclusters", "ml-sandboxes", "ci-runners", "dev-spaces")
        for g in range(self.o.cluster_groups):
            name = names[g % 4] + ("" if g < 4 else f"-{g // 4 + 1}")
            members = [hosts[h] for h in range(len(hosts)) if h % self.o.cluster_groups == g]
            ref = self.group(name, "tenant", "", members, g)
            self.host_refs += [(ref, object_ref(uid, host, "spectrocluster")) for uid, host in members]
        if self.o.cluster_groups:
            self.group("beehive", "system", "", [], 0)

    def project_clusters(self, project: ProjectPlan, index: int) -> None:
        nf, nv = len(project.families), self.o.profile_versions
        host_index = 0 if index % 10 == 0 and self.o.clusters_per_project else -1
        for i in range(self.o.clusters_per_project):
            cloud = self.rng.choices(cat.CLOUD_TYPES, cat.CLOUD_WEIGHTS)[0]
            name = f"{cat.ENVIRONMENTS[i % 4]}-{self.rng.choice(cat.APPS)}-{i + 1:02d}"
            addon = project.families[i % nf].versions[(i // nf) % nv]
            templates = [self.stacks[cloud].versions[i % nv], addon]
            labels = {"env": cat.ENVIRONMENTS[i % 4], "team": project.name}
            extra: dict[str, object] = {"labels": labels}
            if i == host_index:
                extra.update(state="Running", health="Healthy", is_host=True)
            project.clusters.append(self.cluster(name, cloud, project, templates, **extra))
            if i == host_index:
                host_ref = object_ref(project.clusters[-1], name, "spectrocluster")
                group_ref = self.group(
                    f"{project.name}-vclusters", "project", project.uid, [(host_ref["uid"], name)], index
                )
                project.group = (group_ref, host_ref)
        targets = ([project.group] if project.group else []) + self.host_refs
        for k in range(self.o.virtual_clusters if targets else 0):
            group_ref, host_ref = targets[k % len(targets)]
            addon = project.families[k % nf].versions[k % nv]
            name = f"vc-{cat.APPS[k % len(cat.APPS)]}-{k + 1:02d}"
            self.cluster(
                name,
                "nested",
                project,
                [addon],
                group=group_ref,
                host=host_ref,
                labels={"team": project.name},
            )

    # -- projects and users ------------------------------------------------------------------
    def projects(self) -> list[ProjectPlan]:
        out = []
        for p in range(self.o.projects):
            name = cat.PROJECT_NAMES[p % len(cat.PROJECT_NAMES)] + ("" if p < 12 else f"-{p // 12 + 1}")
            project = ProjectPlan(self.uid(), name)
            for j in range(self.o.profiles):
                addon = cat.ADDON_NAMES[j % len(cat.ADDON_NAMES)]
                family_name = addon + (
                    "" if j < len(cat.ADDON_NAMES) else f"-{j // len(cat.ADDON_NAMES) + 1}"
                )
                project.families.append(
                    self.family(family_name, "add-on", "all", "project", project.uid, addon)
                )
            if p % 3 == 1:
                project.aws_account = self.account("aws", f"aws-{name}", "project", project.uid)
            self.ssh_key(f"{name}-deploy", "project", project.uid)
            out.append(project)
        return out

    def run(self) -> Dataset:
        self.tenant_profiles()
        self.tenant_accounts()
        self.ssh_key("platform-admins", "tenant")
        projects = self.projects()
        self.project_records(projects, self.users(projects))
        self.tenant_clusters()
        for index, project in enumerate(projects):
            self.project_clusters(project, index)
        return self.ds


def generate(options: SimulatorOptions) -> Dataset:
    """A fresh dataset for ``options`` (deterministic for a given seed and shape)."""
    return _Generator(options).run()
