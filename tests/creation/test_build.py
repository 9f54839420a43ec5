"""Simple bodies → ``parse_*`` → builders: every entity validates against Palette's full swagger definition
(open and strict), and each setting lands where Palette reads it (palette-api.md section 5)."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.creation.build import TAG_VALUE, cluster_entity, pool_config, virtual_entity
from ingestor.creation.entity import DEFINITIONS, problems
from ingestor.creation.requests import CLOUD_TYPES, parse_cluster, parse_virtual
from ingestor.palette.schema import load_validator
from tests.creation import SSH_KEY, cluster_body, palette, virtual_body

P1, P2 = "65a0b1c2d3e4f5a6b7c8d9e0", "65a0b1c2d3e4f5a6b7c8d9e1"
VARIABLES = {P1: [{"name": "replicas", "value": "3"}], P2: [{"name": "domain", "value": "pay.example.com"}]}


def build(cloud: str, body: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    return cluster_entity(parse_cluster(body or cluster_body(cloud)), VARIABLES)


def pools_by_name(entity: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {pool["poolConfig"]["name"]: pool for pool in entity["spec"]["machinepoolconfig"]}


@pytest.mark.parametrize("cloud", CLOUD_TYPES)
def test_cluster_entity_validates_against_the_full_swagger(cloud: str) -> None:
    kind, entity = build(cloud)
    assert kind == cloud
    definition = DEFINITIONS[kind]
    assert palette().errors(definition, entity) == []
    # strict: no field Palette's definition does not declare (a misplaced field would be dropped by Palette)
    assert palette().errors(definition, entity, strict=True) == []
    # and what the service itself checks (the bundled definitions plus our rules)
    assert problems(kind, entity, load_validator()) == []
    assert problems(kind, entity, palette()) == []


def test_virtual_entity_validates_against_the_full_swagger() -> None:
    entity = virtual_entity(parse_virtual(virtual_body()), "Ingress", {})
    assert palette().errors("v1SpectroVirtualClusterEntity", entity) == []
    assert palette().errors("v1SpectroVirtualClusterEntity", entity, strict=True) == []
    assert problems("virtual", entity, load_validator()) == []


@pytest.mark.parametrize("cloud", CLOUD_TYPES)
def test_metadata_profiles_and_account(cloud: str) -> None:
    _, entity = build(cloud)
    body = cluster_body(cloud)
    assert entity["metadata"] == {
        "name": body["name"],
        "labels": {"team-payments": TAG_VALUE, "pci": TAG_VALUE},
        "annotations": {"description": "Payments, production"},
    }
    assert entity["spec"]["cloudAccountUid"] == body["cloudAccountUid"]
    assert entity["spec"]["profiles"] == [
        {"uid": P1, "packValues": [], "variables": [{"name": "replicas", "value": "3"}]},
        {"uid": P2, "packValues": [], "variables": [{"name": "domain", "value": "pay.example.com"}]},
    ]
    assert "machinePoolConfig" not in entity["spec"]


def test_tag_mapping_no_description_and_profiles_without_variables() -> None:
    body = cluster_body("eks") | {"tags": {"cost-center": "cc-42"}}
    del body["description"]
    _, entity = cluster_entity(parse_cluster(body), {})
    assert entity["metadata"]["labels"] == {"cost-center": "cc-42"}
    assert entity["metadata"]["annotations"] == {}
    assert [profile["variables"] for profile in entity["spec"]["profiles"]] == [[], []]


def test_eks() -> None:
    _, entity = build("eks")
    assert entity["spec"]["cloudConfig"] == {
        "region": "us-east-1",
        "vpcId": "vpc-0a1b2c3d",
        "sshKeyName": "ops-keypair",
    }
    pools = pools_by_name(entity)
    general, system = pools["general"], pools["system"]
    assert general["cloudConfig"] == {
        "instanceType": "t3.large",
        "capacityType": "spot",
        "azs": ["us-east-1a", "us-east-1b"],
        "rootDeviceSize": 80,
    }
    assert general["poolConfig"]["labels"] == ["worker", "apps"]
    assert general["poolConfig"]["isControlPlane"] is False
    assert general["poolConfig"]["size"] == 2
    assert (general["poolConfig"]["minSize"], general["poolConfig"]["maxSize"]) == (1, 5)
    assert general["poolConfig"]["taints"] == [
        {"key": "dedicated", "value": "payments", "effect": "NoSchedule"}
    ]
    # defaults: on-demand capacity; a label mapping becomes additionalLabels; no autoscaling bounds
    assert system["cloudConfig"] == {"instanceType": "t3.medium", "capacityType": "on-demand"}
    assert system["poolConfig"]["labels"] == ["worker"]
    assert system["poolConfig"]["additionalLabels"] == {"tier": "system"}
    assert "minSize" not in system["poolConfig"] and "maxSize" not in system["poolConfig"]
    assert not any(pool["poolConfig"]["isControlPlane"] for pool in pools.values())


def test_aws() -> None:
    _, entity = build("aws")
    assert entity["spec"]["cloudConfig"] == {
        "region": "eu-west-1",
        "vpcId": "vpc-9f8e7d6c",
        "sshKeyName": "ops-keypair",
    }
    first, second = entity["spec"]["machinepoolconfig"]
    # the control plane goes first whatever the order given
    assert first["poolConfig"]["name"] == "cp"
    assert first["poolConfig"]["labels"] == ["control-plane"]
    assert first["poolConfig"]["isControlPlane"] is True
    assert first["poolConfig"]["useControlPlaneAsWorker"] is False
    assert first["poolConfig"]["size"] == 3
    assert first["cloudConfig"] == {"instanceType": "m5.large", "rootDeviceSize": 60}
    assert second["poolConfig"]["name"] == "workers"
    assert second["poolConfig"]["labels"] == ["worker", "apps"]
    assert second["poolConfig"]["isControlPlane"] is False
    assert "useControlPlaneAsWorker" not in second["poolConfig"]
    assert (second["poolConfig"]["minSize"], second["poolConfig"]["maxSize"]) == (2, 6)
    assert second["cloudConfig"] == {
        "instanceType": "m5.xlarge",
        "azs": ["eu-west-1a"],
        "rootDeviceSize": 100,
        "capacityType": "on-demand",
    }


def test_azure() -> None:
    _, entity = build("azure")
    assert entity["spec"]["cloudConfig"] == {
        "subscriptionId": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        "location": "westeurope",
        "sshKey": SSH_KEY,
        "resourceGroup": "rg-payments",
    }
    first, second = entity["spec"]["machinepoolconfig"]
    assert first["poolConfig"]["name"] == "cp"
    assert first["poolConfig"]["isControlPlane"] is True
    assert first["poolConfig"]["labels"] == ["control-plane"]
    assert first["cloudConfig"] == {
        "instanceType": "Standard_D2s_v3",
        "osDisk": {"managedDisk": {"storageAccountType": "Standard_LRS"}, "osType": "Linux"},
    }
    assert second["cloudConfig"] == {
        "instanceType": "Standard_D4s_v3",
        "azs": ["1", "2"],
        "osDisk": {
            "managedDisk": {"storageAccountType": "Standard_LRS"},
            "osType": "Linux",
            "diskSizeGB": 128,
        },
    }
    assert second["poolConfig"]["labels"] == ["worker"]
    assert second["poolConfig"]["additionalLabels"] == {"tier": "apps"}
    assert len(second["poolConfig"]["taints"]) == 1
    assert "managedPoolConfig" not in first and "managedPoolConfig" not in second


def test_aks_system_pool_and_managed_pool_config() -> None:
    _, entity = build("aks")
    assert entity["spec"]["cloudConfig"]["location"] == "westeurope"
    assert entity["spec"]["cloudConfig"]["subscriptionId"] == "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    assert entity["spec"]["cloudConfig"]["sshKey"] == SSH_KEY
    pools = pools_by_name(entity)
    assert pools["system"]["cloudConfig"]["isSystemNodePool"] is True
    assert pools["system"]["managedPoolConfig"] == {"isSystemNodePool": True, "osType": "Linux"}
    assert pools["apps"]["cloudConfig"]["isSystemNodePool"] is False
    assert pools["apps"]["managedPoolConfig"] == {"isSystemNodePool": False, "osType": "Linux"}
    assert (pools["apps"]["poolConfig"]["minSize"], pools["apps"]["poolConfig"]["maxSize"]) == (1, 5)
    assert not any(pool["poolConfig"]["isControlPlane"] for pool in pools.values())
    assert not any("osDisk" in pool["cloudConfig"] for pool in pools.values())


def test_aks_without_a_marked_system_pool_uses_the_first_and_region_as_location() -> None:
    body = cluster_body("aks")
    del body["location"]
    body["region"] = "northeurope"
    for pool in body["machinePoolConfig"]:
        pool.pop("systemNodePool", None)
    _, entity = build("aks", body)
    assert entity["spec"]["cloudConfig"]["location"] == "northeurope"
    flags = [pool["managedPoolConfig"]["isSystemNodePool"] for pool in entity["spec"]["machinepoolconfig"]]
    assert flags == [True, False]
    assert palette().errors("v1SpectroAzureClusterEntity", entity, strict=True) == []


def test_vsphere_placement_network_and_static_ip() -> None:
    _, entity = build("vsphere")
    assert entity["spec"]["cloudConfig"] == {
        "placement": {
            "datacenter": "dc-east",
            "folder": "spectro/payments",
            "imageTemplateFolder": "spectro-templates",
            "storagePolicyName": "gold",
        },
        "sshKeys": [SSH_KEY],
        "ntpServers": ["pool.ntp.org"],
        "staticIp": True,
    }
    first, second = entity["spec"]["machinepoolconfig"]
    assert first["poolConfig"]["name"] == "cp"
    assert first["poolConfig"]["isControlPlane"] is True
    assert first["poolConfig"]["useControlPlaneAsWorker"] is True
    assert first["cloudConfig"]["instanceType"] == {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60}
    assert second["cloudConfig"]["instanceType"] == {"numCPUs": 8, "memoryMiB": 16384, "diskGiB": 100}
    for pool in (first, second):
        assert pool["cloudConfig"]["placements"] == [
            {
                "cluster": "compute-a",
                "datastore": "vsanDatastore",
                "resourcePool": "rp-payments",
                "network": {
                    "networkName": "VM Network",
                    "staticIp": True,
                    "parentPoolUid": "66b1c2d3e4f5a6b7c8d9e0f1",
                },
            }
        ]
    assert second["poolConfig"]["taints"][0]["effect"] == "NoSchedule"
    assert (second["poolConfig"]["minSize"], second["poolConfig"]["maxSize"]) == (1, 4)


def test_vsphere_without_ip_pool_is_dhcp() -> None:
    body = cluster_body("vsphere")
    del body["vsphere"]["ipPoolUid"]
    _, entity = build("vsphere", body)
    assert entity["spec"]["cloudConfig"]["staticIp"] is False
    for pool in entity["spec"]["machinepoolconfig"]:
        network = pool["cloudConfig"]["placements"][0]["network"]
        assert network == {"networkName": "VM Network", "staticIp": False}
    assert palette().errors("v1SpectroVsphereClusterEntity", entity, strict=True) == []


def test_pool_config_keeps_role_label_once() -> None:
    body = cluster_body("aws")
    body["machinePoolConfig"][1] = {
        "name": "cp",
        "instanceType": "m5.large",
        "count": 1,
        "labels": ["control-plane", "infra"],
    }
    body["machinePoolConfig"][0]["labels"] = ["worker", "gpu"]
    request = parse_cluster(body)
    by_name = {pool.name: pool_config(pool) for pool in request.machinePoolConfig}
    assert by_name["cp"]["labels"] == ["control-plane", "infra"]
    assert by_name["cp"]["isControlPlane"] is True
    assert by_name["workers"]["labels"] == ["worker", "gpu"]
    assert by_name["workers"]["updateStrategy"] == {"type": "RollingUpdateScaleOut"}


@pytest.mark.parametrize("endpoint", ["LoadBalancer", "Ingress"])
def test_virtual_quota_endpoint_group_and_host(endpoint: str) -> None:
    variables = {"65a0b1c2d3e4f5a6b7c8d9e2": [{"name": "ns", "value": "team-a"}]}
    entity = virtual_entity(parse_virtual(virtual_body()), endpoint, variables)
    spec = entity["spec"]
    assert spec["clusterConfig"] == {
        "hostClusterConfig": {
            "clusterGroup": {"uid": "67c1d2e3f4a5b6c7d8e9f0a1"},
            "hostCluster": {"uid": "67c1d2e3f4a5b6c7d8e9f0a2"},
            "clusterEndpoint": {"type": endpoint, "config": {}},
        }
    }
    assert spec["machinepoolconfig"] == [
        {
            "cloudConfig": {
                "instanceType": {
                    "minCPU": 6,
                    "maxCPU": 6,
                    "minMemInMiB": 12800,
                    "maxMemInMiB": 12800,
                    "minStorageGiB": 40,
                    "maxStorageGiB": 40,
                }
            }
        }
    ]
    assert spec["cloudConfig"] == {"kubernetesVersion": "1.30.2"}
    assert spec["profiles"] == [
        {
            "uid": "65a0b1c2d3e4f5a6b7c8d9e2",
            "packValues": [],
            "variables": [{"name": "ns", "value": "team-a"}],
        }
    ]
    assert entity["metadata"] == {
        "name": "team-a-dev",
        "labels": {"owner": "team-a"},
        "annotations": {"description": "Team A development"},
    }
    assert "cloudAccountUid" not in spec


def test_virtual_minimal_body() -> None:
    request = parse_virtual(
        {
            "name": "v1",
            "clusterGroupUid": "67c1d2e3f4a5b6c7d8e9f0a1",
            "cpu": 2,
            "memoryGiB": 0.5,
            "storageGiB": 5,
        }
    )
    entity = virtual_entity(request, "LoadBalancer", {})
    host = entity["spec"]["clusterConfig"]["hostClusterConfig"]
    assert "hostCluster" not in host
    quota = entity["spec"]["machinepoolconfig"][0]["cloudConfig"]["instanceType"]
    assert (quota["minMemInMiB"], quota["maxMemInMiB"]) == (512, 512)
    assert entity["spec"]["profiles"] == []
    assert entity["spec"]["cloudConfig"] == {"kubernetesVersion": ""}
    assert entity["metadata"] == {"name": "v1", "labels": {}, "annotations": {}}
    assert palette().errors("v1SpectroVirtualClusterEntity", entity, strict=True) == []
    assert problems("virtual", entity, palette()) == []
