"""The seed's simple creation bodies (compat 3.5.3), as typed models, plus the rules that span fields.

Unknown fields are refused (a misspelt ``subnetId`` must not be dropped silently). ``parse_cluster`` and
``parse_virtual`` return the model or raise ``InvalidRequestError`` naming every bad field at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ingestor.creation.problems import InvalidRequestError, Problem, from_pydantic

UID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
"""Palette cluster and pool names: a DNS-1123 label (lower case, digits, '-', at most 63)."""

Uid = Annotated[str, StringConstraints(pattern=UID_PATTERN)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Scalar = str | int | float | bool
CLOUD_TYPES = ("eks", "aws", "aks", "azure", "vsphere")
MANAGED = frozenset({"eks", "aks"})
"""Cloud types whose control plane Palette's cloud manages: their pools are all workers."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Taint(Strict):
    key: Text
    value: Annotated[str, StringConstraints(max_length=255)] = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class VsphereInstance(Strict):
    """A vSphere VM size."""

    numCPUs: int = Field(ge=1, le=512)  # noqa: N815 (Palette's field names)
    memoryMiB: int = Field(ge=1024, le=4 * 1024 * 1024)  # noqa: N815
    diskGiB: int = Field(ge=10, le=64 * 1024)  # noqa: N815


class Pool(Strict):
    """One machine pool: ``count`` machines of ``instanceType``."""

    name: Name
    instanceType: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
        | VsphereInstance
    )  # noqa: N815, E501
    count: int = Field(ge=0, le=1000)
    minSize: int | None = Field(default=None, ge=0, le=1000)  # noqa: N815
    maxSize: int | None = Field(default=None, ge=1, le=1000)  # noqa: N815
    labels: list[Text] | dict[Text, Annotated[str, StringConstraints(max_length=255)]] | None = None
    taints: list[Taint] = []
    controlPlane: bool = False  # noqa: N815
    useControlPlaneAsWorker: bool = False  # noqa: N815
    systemNodePool: bool | None = None  # noqa: N815 (AKS)
    azs: list[Text] = []
    diskSizeGiB: int | None = Field(default=None, ge=10, le=2000)  # noqa: N815
    capacityType: Literal["on-demand", "spot"] | None = None  # noqa: N815 (EKS, AWS)

    @property
    def is_control_plane(self) -> bool:
        """Marked ``controlPlane``, or labelled ``control-plane`` (Palette's own convention)."""
        return self.controlPlane or (isinstance(self.labels, list) and "control-plane" in self.labels)


class VspherePlacement(Strict):
    """Where vSphere machines go (values from the account's datacenters and compute-cluster resources)."""

    datacenter: Text
    folder: Text
    cluster: Text  # the compute cluster
    datastore: Text
    network: Text
    resourcePool: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""  # noqa: N815
    ipPoolUid: Uid | None = None  # noqa: N815 (static IPs from a PCG IP pool)
    imageTemplateFolder: Text | None = None  # noqa: N815
    storagePolicyName: Text | None = None  # noqa: N815
    sshKeys: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16384)]
    ] = []  # noqa: N815, E501
    ntpServers: list[Text] = []  # noqa: N815


class ClusterRequest(Strict):
    """``POST /api/spectrocloud/clusters`` with the seed's simple body."""

    cloudType: Literal["eks", "aws", "aks", "azure", "vsphere"]  # noqa: N815
    name: Name
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    tags: list[Text] | dict[Text, Annotated[str, StringConstraints(max_length=255)]] = []
    cloudAccountUid: Uid  # noqa: N815
    profileUids: list[Uid] = Field(min_length=1, max_length=50)  # noqa: N815
    profileVariables: dict[Uid, dict[Text, Scalar]] = {}  # noqa: N815
    clusterVariables: dict[Text, Scalar] = {}  # noqa: N815
    machinePoolConfig: list[Pool] = Field(min_length=1, max_length=50)  # noqa: N815
    region: Text | None = None  # EKS, AWS (Azure/AKS: an alias of location)
    location: Text | None = None  # Azure, AKS
    subscriptionId: Text | None = None  # noqa: N815 (Azure, AKS)
    resourceGroup: Text | None = None  # noqa: N815 (Azure, AKS)
    sshKey: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16384)] | None
    ) = None  # noqa: N815, E501
    sshKeyName: Text | None = None  # noqa: N815 (EKS, AWS: an EC2 key pair)
    vpcId: Text | None = None  # noqa: N815 (EKS, AWS)
    vsphere: VspherePlacement | None = None


class VirtualRequest(Strict):
    """``POST /api/spectrocloud/virtualclusters`` with a simple body (``{clusterConfig}`` is the anchor's)."""

    name: Name
    clusterGroupUid: Uid  # noqa: N815
    hostClusterUid: Uid | None = None  # noqa: N815
    cpu: int = Field(ge=1, le=512)
    memoryGiB: float = Field(ge=0.5, le=4096)  # noqa: N815
    storageGiB: int = Field(ge=1, le=64 * 1024)  # noqa: N815
    profileUids: list[Uid] = Field(default=[], max_length=50)  # noqa: N815 (add-on profiles)
    profileVariables: dict[Uid, dict[Text, Scalar]] = {}  # noqa: N815
    clusterVariables: dict[Text, Scalar] = {}  # noqa: N815
    endpointType: Literal["LoadBalancer", "Ingress"] | None = None  # noqa: N815 (default: the group's)
    kubernetesVersion: Text | None = None  # noqa: N815
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    tags: list[Text] | dict[Text, Annotated[str, StringConstraints(max_length=255)]] = []


def parse_cluster(body: dict[str, Any]) -> ClusterRequest:
    """The request, or every problem at once (field types and the per-cloud settings together)."""
    try:
        request = ClusterRequest.model_validate(body)
    except ValidationError as exc:
        cloud = body.get("cloudType")
        settings = _cloud_settings(cloud, body) if cloud in CLOUD_TYPES else []
        raise InvalidRequestError(from_pydantic(exc) + settings) from None
    problems = cluster_rules(request)
    if problems:
        raise InvalidRequestError(problems)
    return request


def parse_virtual(body: dict[str, Any]) -> VirtualRequest:
    try:
        request = VirtualRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequestError(from_pydantic(exc)) from None
    problems = _variable_targets(request.profileUids, request.profileVariables)
    problems += _listed_twice(request.profileUids)
    if problems:
        raise InvalidRequestError(problems)
    return request


def cluster_rules(request: ClusterRequest) -> list[Problem]:
    """What spans fields: per-cloud required settings, the control plane, pool sizes, names."""
    cloud = request.cloudType
    problems = _cloud_settings(cloud, request.model_dump(exclude_none=True))
    problems += _pools(cloud, request.machinePoolConfig)
    problems += _variable_targets(request.profileUids, request.profileVariables)
    problems += _listed_twice(request.profileUids)
    return problems


def _listed_twice(profiles: list[str]) -> list[Problem]:
    return [Problem("profileUids", "lists a profile twice")] if len(set(profiles)) != len(profiles) else []


def _cloud_settings(cloud: str, body: dict[str, Any]) -> list[Problem]:
    """The settings each cloud needs (read from the raw body too, so they are reported with type errors)."""
    problems: list[Problem] = []
    if cloud in ("eks", "aws") and not body.get("region"):
        problems.append(Problem("region", f"is required for {cloud}"))
    if cloud in ("azure", "aks"):
        if not (body.get("location") or body.get("region")):
            problems.append(Problem("location", f"is required for {cloud} (or give region)"))
        if not body.get("subscriptionId"):
            problems.append(Problem("subscriptionId", f"is required for {cloud}"))
        if not body.get("sshKey"):
            problems.append(Problem("sshKey", f"is required for {cloud} (an SSH public key)"))
    if cloud == "vsphere" and body.get("vsphere") is None:
        problems.append(
            Problem("vsphere", "is required for vsphere (datacenter, folder, cluster, datastore, network)")
        )
    if cloud != "vsphere" and body.get("vsphere") is not None:
        problems.append(Problem("vsphere", f"is only for vsphere, not {cloud}"))
    return problems


def _pools(cloud: str, pools: list[Pool]) -> list[Problem]:
    problems: list[Problem] = []
    names = [pool.name for pool in pools]
    for index, pool in enumerate(pools):
        where = f"machinePoolConfig[{index}]"
        if names.index(pool.name) != index:
            problems.append(Problem(f"{where}.name", "is used by another pool"))
        if cloud == "vsphere" and not isinstance(pool.instanceType, VsphereInstance):
            problems.append(
                Problem(f"{where}.instanceType", "must be {numCPUs, memoryMiB, diskGiB} for vsphere")
            )
        if cloud != "vsphere" and isinstance(pool.instanceType, VsphereInstance):
            problems.append(Problem(f"{where}.instanceType", f"must be an instance type name for {cloud}"))
        if pool.minSize is not None and pool.minSize > pool.count:
            problems.append(Problem(f"{where}.minSize", "is larger than count"))
        if pool.maxSize is not None and pool.maxSize < pool.count:
            problems.append(Problem(f"{where}.maxSize", "is smaller than count"))
        if cloud in MANAGED and pool.is_control_plane:
            problems.append(
                Problem(f"{where}.controlPlane", f"{cloud} has a managed control plane: pools are workers")
            )
        if pool.is_control_plane and (pool.count < 1 or pool.count % 2 == 0):
            problems.append(
                Problem(f"{where}.count", "a control plane needs an odd number of machines (1, 3, 5)")
            )
        if pool.systemNodePool is not None and cloud != "aks":
            problems.append(Problem(f"{where}.systemNodePool", "is only for aks"))
        if pool.capacityType is not None and cloud not in ("eks", "aws"):
            problems.append(Problem(f"{where}.capacityType", "is only for eks and aws"))
    if cloud not in MANAGED:
        planes = [pool for pool in pools if pool.is_control_plane]
        if len(planes) != 1:
            problems.append(
                Problem(
                    "machinePoolConfig",
                    f"{cloud} needs exactly one control-plane pool (controlPlane: true or "
                    f"labels: [control-plane]); found {len(planes)}",
                )
            )
        elif len(pools) == 1 and not planes[0].useControlPlaneAsWorker:
            problems.append(Problem("machinePoolConfig", "add a worker pool or set useControlPlaneAsWorker"))
    elif cloud == "aks" and sum(bool(pool.systemNodePool) for pool in pools) > 1:
        problems.append(Problem("machinePoolConfig", "aks takes one system node pool"))
    return problems


def _variable_targets(profiles: list[str], variables: dict[str, dict[str, Scalar]]) -> list[Problem]:
    return [
        Problem(f"profileVariables.{uid}", "names a profile that is not in profileUids")
        for uid in variables
        if uid not in profiles
    ]
