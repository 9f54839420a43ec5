"""Palette creation entities from the simple bodies (palette-api.md section 5), one builder per cloud type.

``cluster_entity`` → ``(kind, entity)`` for ``POST /v1/spectroclusters/<kind>``; ``virtual_entity`` for
``/virtual``. Pools go to ``machinepoolconfig`` (Palette's spelling), profiles carry their variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingestor.creation.requests import ClusterRequest, Pool, VirtualRequest, VsphereInstance, VspherePlacement

Entity = dict[str, Any]
TAG_VALUE = "spectro__tag"
"""A tag is a label ``{<tag>: "spectro__tag"}`` (Palette's console and the stock wizard do the same)."""


def metadata(name: str, description: str | None, tags: list[str] | dict[str, str]) -> Entity:
    labels = {tag: TAG_VALUE for tag in tags} if isinstance(tags, list) else dict(tags)
    return {
        "name": name,
        "labels": labels,
        "annotations": {"description": description} if description else {},
    }


def profiles(uids: list[str], variables: Mapping[str, list[dict[str, str]]]) -> list[Entity]:
    return [{"uid": uid, "packValues": [], "variables": variables.get(uid, [])} for uid in uids]


def cluster_entity(
    request: ClusterRequest, variables: Mapping[str, list[dict[str, str]]]
) -> tuple[str, Entity]:
    """The creation entity for ``request.cloudType`` (its Palette endpoint kind is the cloud type)."""
    cloud = request.cloudType
    builders = {"eks": _eks, "aws": _aws, "aks": _azure, "azure": _azure, "vsphere": _vsphere}
    cloud_config, pools = builders[cloud](request)
    spec: Entity = {
        "cloudAccountUid": request.cloudAccountUid,
        "cloudConfig": cloud_config,
        "machinepoolconfig": pools,
        "profiles": profiles(request.profileUids, variables),
    }
    return cloud, {"metadata": metadata(request.name, request.description, request.tags), "spec": spec}


def pool_config(pool: Pool) -> Entity:
    """``v1MachinePoolConfigEntity``: name, size, role labels, taints, autoscaling bounds."""
    config: Entity = {
        "name": pool.name,
        "size": pool.count,
        "labels": ["control-plane"] if pool.is_control_plane else ["worker"],
        "isControlPlane": pool.is_control_plane,
        "taints": [taint.model_dump() for taint in pool.taints],
        "updateStrategy": {"type": "RollingUpdateScaleOut"},
    }
    if pool.is_control_plane:
        config["useControlPlaneAsWorker"] = pool.useControlPlaneAsWorker
    if isinstance(pool.labels, list):
        roles = [label for label in pool.labels if label not in ("control-plane", "worker")]
        config["labels"] = config["labels"] + roles
    elif isinstance(pool.labels, dict):
        config["additionalLabels"] = dict(pool.labels)
    if pool.minSize is not None:
        config["minSize"] = pool.minSize
    if pool.maxSize is not None:
        config["maxSize"] = pool.maxSize
    return config


def _instance(pool: Pool) -> str:
    return pool.instanceType if isinstance(pool.instanceType, str) else ""


def _eks(request: ClusterRequest) -> tuple[Entity, list[Entity]]:
    config: Entity = {"region": request.region}
    _optional(config, vpcId=request.vpcId, sshKeyName=request.sshKeyName)
    pools = []
    for pool in request.machinePoolConfig:
        cloud: Entity = {"instanceType": _instance(pool), "capacityType": pool.capacityType or "on-demand"}
        _optional(cloud, azs=pool.azs or None, rootDeviceSize=pool.diskSizeGiB)
        pools.append({"cloudConfig": cloud, "poolConfig": pool_config(pool)})
    return config, pools


def _aws(request: ClusterRequest) -> tuple[Entity, list[Entity]]:
    config: Entity = {"region": request.region}
    _optional(config, vpcId=request.vpcId, sshKeyName=request.sshKeyName)
    pools = []
    for pool in _control_plane_first(request.machinePoolConfig):
        cloud: Entity = {"instanceType": _instance(pool)}
        _optional(
            cloud, azs=pool.azs or None, rootDeviceSize=pool.diskSizeGiB, capacityType=pool.capacityType
        )
        pools.append({"cloudConfig": cloud, "poolConfig": pool_config(pool)})
    return config, pools


def _azure(request: ClusterRequest) -> tuple[Entity, list[Entity]]:
    config: Entity = {
        "subscriptionId": request.subscriptionId,
        "location": request.location or request.region,
        "sshKey": request.sshKey,
    }
    _optional(config, resourceGroup=request.resourceGroup)
    managed = request.cloudType == "aks"
    system = _system_pool(request.machinePoolConfig) if managed else None
    pools = []
    for pool in _control_plane_first(request.machinePoolConfig):
        cloud: Entity = {"instanceType": _instance(pool)}
        _optional(cloud, azs=pool.azs or None)
        entry: Entity = {"cloudConfig": cloud, "poolConfig": pool_config(pool)}
        if managed:
            is_system = pool.name == system
            cloud["isSystemNodePool"] = is_system
            entry["managedPoolConfig"] = {"isSystemNodePool": is_system, "osType": "Linux"}
        else:
            disk: Entity = {"managedDisk": {"storageAccountType": "Standard_LRS"}, "osType": "Linux"}
            _optional(disk, diskSizeGB=pool.diskSizeGiB)
            cloud["osDisk"] = disk
        pools.append(entry)
    return config, pools


def _vsphere(request: ClusterRequest) -> tuple[Entity, list[Entity]]:
    where = request.vsphere
    assert where is not None  # cluster_rules requires it
    placement: Entity = {"datacenter": where.datacenter, "folder": where.folder}
    _optional(
        placement, imageTemplateFolder=where.imageTemplateFolder, storagePolicyName=where.storagePolicyName
    )
    config: Entity = {
        "placement": placement,
        "sshKeys": list(where.sshKeys),
        "ntpServers": list(where.ntpServers),
        "staticIp": where.ipPoolUid is not None,
    }
    pools = []
    for pool in _control_plane_first(request.machinePoolConfig):
        size = pool.instanceType if isinstance(pool.instanceType, VsphereInstance) else None
        cloud: Entity = {
            "instanceType": size.model_dump() if size is not None else {},
            "placements": [_vsphere_placement(where)],
        }
        pools.append({"cloudConfig": cloud, "poolConfig": pool_config(pool)})
    return config, pools


def _vsphere_placement(where: VspherePlacement) -> Entity:
    network: Entity = {"networkName": where.network, "staticIp": where.ipPoolUid is not None}
    _optional(network, parentPoolUid=where.ipPoolUid)
    return {
        "cluster": where.cluster,
        "datastore": where.datastore,
        "resourcePool": where.resourcePool,
        "network": network,
    }


def virtual_entity(
    request: VirtualRequest, endpoint_type: str, variables: Mapping[str, list[dict[str, str]]]
) -> Entity:
    """``v1SpectroVirtualClusterEntity``: the group (and host), the endpoint, one pool holding the quota."""
    host: Entity = {
        "clusterGroup": {"uid": request.clusterGroupUid},
        "clusterEndpoint": {"type": endpoint_type, "config": {}},
    }
    if request.hostClusterUid:
        host["hostCluster"] = {"uid": request.hostClusterUid}
    memory = int(request.memoryGiB * 1024)
    quota = {
        "minCPU": request.cpu,
        "maxCPU": request.cpu,
        "minMemInMiB": memory,
        "maxMemInMiB": memory,
        "minStorageGiB": request.storageGiB,
        "maxStorageGiB": request.storageGiB,
    }
    spec: Entity = {
        "clusterConfig": {"hostClusterConfig": host},
        "cloudConfig": {"kubernetesVersion": request.kubernetesVersion or ""},
        "machinepoolconfig": [{"cloudConfig": {"instanceType": quota}}],
        "profiles": profiles(request.profileUids, variables),
    }
    return {"metadata": metadata(request.name, request.description, request.tags), "spec": spec}


def _control_plane_first(pools: list[Pool]) -> list[Pool]:
    return sorted(pools, key=lambda pool: not pool.is_control_plane)


def _system_pool(pools: list[Pool]) -> str:
    """The AKS system node pool: the one marked, else the first."""
    marked = [pool.name for pool in pools if pool.systemNodePool]
    return marked[0] if marked else pools[0].name


def _optional(target: Entity, **values: Any) -> None:
    target.update({key: value for key, value in values.items() if value is not None})
