"""Full Palette entities: the F5 repairs of ``normalise`` and every rule of ``problems`` (compat F5, S11)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ingestor.creation.entity import DEFINITIONS, normalise, problems
from ingestor.creation.problems import Problem
from tests.creation import SSH_KEY, fields, messages, palette

ACCOUNT = "64f1a2b3c4d5e6f708192a3b"
PROFILE = "65a0b1c2d3e4f5a6b7c8d9e0"
IP_POOL = "66b1c2d3e4f5a6b7c8d9e0f1"
GROUP = "67c1d2e3f4a5b6c7d8e9f0a1"


def checked(kind: str, entity: dict[str, Any], prefix: str = "") -> list[Problem]:
    """What the route does: normalise, then the repair problems plus Palette's and our rules."""
    fixed, repairs = normalise(entity)
    return sorted(set(repairs + problems(kind, fixed, palette(), prefix)))


def _wizard_placement(network: dict[str, Any]) -> dict[str, Any]:
    return {"cluster": "compute-a", "datastore": "vsanDatastore", "resourcePool": "", "network": network}


def wizard_pool(name: str, plane: bool, network: dict[str, Any], **size: Any) -> dict[str, Any]:
    return {
        "cloudConfig": {
            "instanceType": {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60},
            "placements": [_wizard_placement(network)],
        },
        "poolConfig": {
            "name": name,
            "labels": ["control-plane"] if plane else ["worker"],
            "isControlPlane": plane,
            "useControlPlaneAsWorker": False,
            "taints": [],
            "additionalLabels": {},
            "additionalAnnotations": {},
            "nodeRepaveInterval": 0,
            "updateStrategy": {"type": "RollingUpdateScaleOut"},
            "machinePoolProperties": {"archType": "amd64"},
            "size": 1,
            **size,
        },
    }


def wizard_vsphere() -> dict[str, Any]:
    """What the stock wizard sends for vSphere (compat 8.6): camelCase pools, a stale global static-IP flag,
    the non-Palette ``cloudConfig.network``, ``parentPoolUid: ""`` copied from the control plane, empty
    ``clusterConfig``/``policies``."""
    worker = wizard_pool(
        "worker-pool-1", False, {"networkName": "VM Network", "staticIp": True, "parentPoolUid": ""}
    )
    worker["poolConfig"].update(
        size=1,
        minSize=1,
        maxSize=10,
        updateStrategy={"type": "OverrideScaling", "maxSurge": "1", "maxUnavailable": "0"},
    )
    return {
        "metadata": {
            "name": "vs-payments",
            "labels": {"pci": "spectro__tag"},
            "annotations": {"description": "from the wizard"},
        },
        "spec": {
            "cloudType": "vsphere",
            "cloudAccountUid": ACCOUNT,
            "cloudConfig": {
                "network": {"networkName": "", "staticIp": False},
                "placement": {
                    "datacenter": "dc-east",
                    "folder": "spectro/payments",
                    "imageTemplateFolder": "spectro-templates",
                },
                "staticIp": False,
                "sshKeys": [SSH_KEY],
                "ntpServers": [],
            },
            "machinePoolConfig": [
                wizard_pool(
                    "control-plane-pool",
                    True,
                    {"networkName": "VM Network", "staticIp": False, "parentPoolUid": IP_POOL},
                ),
                worker,
            ],
            "profiles": [{"uid": PROFILE, "packValues": []}],
            "clusterConfig": {},
            "policies": {},
        },
    }


def wizard_virtual() -> dict[str, Any]:
    """The stock wizard's virtual body (compat 8.6; ``cloudType: nested``)."""
    return {
        "metadata": {"name": "team-a-dev"},
        "spec": {
            "cloudType": "nested",
            "cloudAccountUid": "",
            "cloudConfig": {},
            "clusterConfig": {
                "hostClusterConfig": {
                    "clusterGroup": {"kind": "ClusterGroup", "name": "shared", "uid": GROUP},
                    "clusterEndpoint": {"type": "LoadBalancer", "config": {}},
                }
            },
            "machinePoolConfig": [
                {
                    "cloudConfig": {
                        "instanceType": {
                            "minCPU": 4,
                            "maxCPU": 4,
                            "minMemInMiB": 8192,
                            "maxMemInMiB": 8192,
                            "minStorageGiB": 20,
                            "maxStorageGiB": 20,
                        }
                    }
                }
            ],
            "profiles": [],
        },
    }


def wizard_public(cloud: str) -> dict[str, Any]:
    """The wizard's public-cloud body (compat 8.6): not Palette's shape at all."""
    return {
        "metadata": {"name": f"{cloud}-from-wizard", "labels": {}, "annotations": {}},
        "spec": {
            "cloudType": cloud,
            "cloudAccountUid": ACCOUNT,
            "cloudConfig": {
                "controlPlane": {"instanceType": "m5.large", "count": 1, "diskSize": 60},
                "workerPools": [
                    {"name": "worker-pool-1", "size": 1, "instanceType": "", "minSize": 1, "maxSize": 10}
                ],
            },
            "profiles": [{"uid": PROFILE, "packValues": []}],
            "clusterConfig": {},
            "policies": {},
        },
    }


def eks_entity() -> dict[str, Any]:
    return {
        "metadata": {"name": "eks-1"},
        "spec": {
            "cloudAccountUid": ACCOUNT,
            "cloudConfig": {"region": "us-east-1"},
            "machinepoolconfig": [
                {
                    "cloudConfig": {"instanceType": "t3.large"},
                    "poolConfig": {"name": "w", "size": 2, "labels": ["worker"], "isControlPlane": False},
                }
            ],
            "profiles": [{"uid": PROFILE}],
        },
    }


# ------------------------------------------------------------------------------------------------
# normalise


def test_camel_case_pools_renamed() -> None:
    entity = eks_entity()
    entity["spec"]["machinePoolConfig"] = entity["spec"].pop("machinepoolconfig")
    fixed, repairs = normalise(entity)
    assert repairs == []
    assert "machinePoolConfig" not in fixed["spec"]
    assert fixed["spec"]["machinepoolconfig"][0]["poolConfig"]["name"] == "w"
    assert "machinePoolConfig" in entity["spec"]  # the input is not modified


def test_both_pool_spellings_is_a_problem() -> None:
    entity = eks_entity()
    entity["spec"]["machinePoolConfig"] = copy.deepcopy(entity["spec"]["machinepoolconfig"])
    _, repairs = normalise(entity)
    assert fields(repairs) == {"spec.machinePoolConfig"}
    assert "spec.machinePoolConfig" in fields(checked("eks", entity))


def test_wizard_vsphere_is_repaired() -> None:
    original = wizard_vsphere()
    fixed, repairs = normalise(original)
    assert repairs == []
    spec = fixed["spec"]
    assert "machinePoolConfig" not in spec
    plane, worker = spec["machinepoolconfig"]
    plane_net = plane["cloudConfig"]["placements"][0]["network"]
    worker_net = worker["cloudConfig"]["placements"][0]["network"]
    # the chosen IP pool makes the control plane static; the empty uid copied to the worker is dropped
    assert plane_net == {"networkName": "VM Network", "staticIp": True, "parentPoolUid": IP_POOL}
    assert worker_net == {"networkName": "VM Network", "staticIp": False}
    # the global flag agrees with the pools; the non-Palette network and empty objects are gone
    assert spec["cloudConfig"]["staticIp"] is True
    assert "network" not in spec["cloudConfig"]
    assert "clusterConfig" not in spec and "policies" not in spec
    assert original == wizard_vsphere()


def test_wizard_vsphere_without_ip_pools_is_dhcp() -> None:
    entity = wizard_vsphere()
    entity["spec"]["cloudConfig"]["staticIp"] = True
    for pool in entity["spec"]["machinePoolConfig"]:
        pool["cloudConfig"]["placements"][0]["network"]["parentPoolUid"] = ""
        pool["cloudConfig"]["placements"][0]["network"]["staticIp"] = True
    fixed, _ = normalise(entity)
    assert fixed["spec"]["cloudConfig"]["staticIp"] is False
    for pool in fixed["spec"]["machinepoolconfig"]:
        assert pool["cloudConfig"]["placements"][0]["network"] == {
            "networkName": "VM Network",
            "staticIp": False,
        }


def test_wizard_vsphere_passes_after_normalisation() -> None:
    assert checked("vsphere", wizard_vsphere()) == []
    fixed, _ = normalise(wizard_vsphere())
    # the repaired body holds only what Palette's definition declares (spec.cloudType, which the anchor's
    # contract carries and Palette ignores, aside)
    assert fixed["spec"].pop("cloudType") == "vsphere"
    assert palette().errors(DEFINITIONS["vsphere"], fixed, strict=True) == []


def test_wizard_virtual_passes_after_normalisation() -> None:
    fixed, repairs = normalise(wizard_virtual())
    assert repairs == []
    assert "machinePoolConfig" not in fixed["spec"] and len(fixed["spec"]["machinepoolconfig"]) == 1
    assert checked("virtual", wizard_virtual()) == []
    # the anchor's wrapped body (route 20) is checked with its prefix
    assert checked("virtual", wizard_virtual(), "clusterConfig.") == []


def test_cloud_config_network_kept_outside_vsphere() -> None:
    entity = eks_entity()
    entity["spec"]["cloudConfig"]["network"] = {"x": 1}
    fixed, _ = normalise(entity)
    assert fixed["spec"]["cloudConfig"]["network"] == {"x": 1}
    assert "staticIp" not in fixed["spec"]["cloudConfig"]


def test_non_empty_cluster_config_and_policies_kept() -> None:
    entity = eks_entity()
    entity["spec"]["clusterConfig"] = {"timezone": "Etc/UTC"}
    entity["spec"]["policies"] = {"scanPolicy": {}}
    fixed, _ = normalise(entity)
    assert fixed["spec"]["clusterConfig"] == {"timezone": "Etc/UTC"}
    assert fixed["spec"]["policies"] == {"scanPolicy": {}}


def test_variables_mapping_becomes_palettes_list() -> None:
    entity = eks_entity()
    entity["spec"]["profiles"] = [
        {
            "uid": PROFILE,
            "variables": {"replicas": 3, "tls": True, "debug": False, "domain": "x.io", "n": None},
        },
        {"uid": "65a0b1c2d3e4f5a6b7c8d9e1", "variables": [{"name": "kept", "value": "as is"}]},
    ]
    fixed, _ = normalise(entity)
    first, second = fixed["spec"]["profiles"]
    assert first["variables"] == [
        {"name": "replicas", "value": "3"},
        {"name": "tls", "value": "true"},
        {"name": "debug", "value": "false"},
        {"name": "domain", "value": "x.io"},
        {"name": "n", "value": ""},
    ]
    assert second["variables"] == [{"name": "kept", "value": "as is"}]
    assert problems("eks", fixed, palette()) == []


def test_variables_mapping_with_a_non_scalar_value_is_refused() -> None:
    entity = eks_entity()
    entity["spec"]["profiles"] = [{"uid": PROFILE, "variables": {"replicas": {"min": 1}}}]
    assert any(field.startswith("spec.profiles[0].variables") for field in fields(checked("eks", entity)))


def test_entity_without_a_spec_object_is_left_alone() -> None:
    assert normalise({"metadata": {"name": "x"}}) == ({"metadata": {"name": "x"}}, [])
    assert normalise({"spec": "nope"}) == ({"spec": "nope"}, [])


@pytest.mark.parametrize(
    "spec",
    [
        {"machinepoolconfig": 5},
        {"machinePoolConfig": True},
        {"profiles": 7},
        {"machinepoolconfig": [{"cloudConfig": {"placements": 3}}]},
    ],
)
def test_normalise_survives_non_list_members(spec: dict[str, Any]) -> None:
    entity = eks_entity()
    entity["spec"].pop("machinepoolconfig")
    entity["spec"].update(spec)
    assert checked("eks", entity) != []


# ------------------------------------------------------------------------------------------------
# the stock wizard's public-cloud body is refused with the missing fields named


@pytest.mark.parametrize(
    ("cloud", "missing"),
    [
        ("eks", {"region"}),
        ("aws", {"region"}),
        ("azure", {"subscriptionId", "location", "sshKey"}),
        ("aks", {"subscriptionId", "location", "sshKey"}),
    ],
)
def test_wizard_public_cloud_body_refused(cloud: str, missing: set[str]) -> None:
    found = checked(cloud, wizard_public(cloud))
    named = {f.removeprefix("spec.cloudConfig.") for f in fields(found) if f.startswith("spec.cloudConfig.")}
    assert named == missing
    assert all(messages(found, f"spec.cloudConfig.{name}") == ["is required"] for name in missing)
    assert messages(found, "spec.machinepoolconfig") == ["at least one machine pool is required"]
    assert fields(found) == {f"spec.cloudConfig.{name}" for name in missing} | {"spec.machinepoolconfig"}


# ------------------------------------------------------------------------------------------------
# problems: Palette's definition (paths in our [i] form, with the route's prefix)


def test_schema_problem_paths_use_indexes() -> None:
    entity = eks_entity()
    pool = entity["spec"]["machinepoolconfig"][0]
    del pool["poolConfig"]["labels"]
    pool["poolConfig"]["size"] = "two"
    pool["cloudConfig"]["capacityType"] = "reserved"
    found = problems("eks", entity, palette())
    assert fields(found) == {
        "spec.machinepoolconfig[0].poolConfig.labels",
        "spec.machinepoolconfig[0].poolConfig.size",
        "spec.machinepoolconfig[0].cloudConfig.capacityType",
    }
    assert messages(found, "spec.machinepoolconfig[0].poolConfig.labels") == ["is required"]
    assert messages(found, "spec.machinepoolconfig[0].poolConfig.size") == ['expected "integer", got string']


def test_schema_problem_paths_with_prefix() -> None:
    entity = wizard_virtual()
    entity["spec"]["machinepoolconfig"] = entity["spec"].pop("machinePoolConfig")
    entity["spec"]["machinepoolconfig"][0]["cloudConfig"] = {}
    assert fields(problems("virtual", entity, palette(), "clusterConfig.")) == {
        "clusterConfig.spec.machinepoolconfig[0].cloudConfig.instanceType"
    }


@pytest.mark.parametrize("kind", ["aws", "azure", "aks", "virtual"])
def test_undeclared_cloud_type_is_not_required(kind: str) -> None:
    """palette-api.md 5: ``cloudType`` is listed in ``required`` but not declared; Go ignores it, so do we."""
    entity = wizard_virtual() if kind == "virtual" else eks_entity()
    assert not any("cloudType" in p.message for p in problems(kind, entity, palette()))


# ------------------------------------------------------------------------------------------------
# problems: our rules (entity._rules)


@pytest.mark.parametrize("metadata", [None, {}, {"name": ""}, {"name": 5}])
def test_name_required(metadata: Any) -> None:
    entity = eks_entity()
    if metadata is None:
        del entity["metadata"]
    else:
        entity["metadata"] = metadata
    found = problems("eks", entity, palette())
    assert "is required" in messages(found, "metadata.name")


@pytest.mark.parametrize("name", ["Prod", "a_b", "-a", "a-", "x" * 64])
def test_name_pattern(name: str) -> None:
    entity = eks_entity()
    entity["metadata"]["name"] = name
    found = problems("eks", entity, palette())
    assert fields(found) == {"metadata.name"}
    assert messages(found, "metadata.name") == ["must be lower-case letters, digits and '-', at most 63"]


@pytest.mark.parametrize("pools", [None, [], {"w": {}}])
def test_at_least_one_pool(pools: Any) -> None:
    entity = eks_entity()
    if pools is None:
        del entity["spec"]["machinepoolconfig"]
    else:
        entity["spec"]["machinepoolconfig"] = pools
    found = problems("eks", entity, palette())
    assert "at least one machine pool is required" in messages(found, "spec.machinepoolconfig")


@pytest.mark.parametrize("uid", [None, "", "not a uid!", 42])
def test_profile_uid(uid: Any) -> None:
    entity = eks_entity()
    entity["spec"]["profiles"] = [{"uid": PROFILE}, {} if uid is None else {"uid": uid}]
    assert "must be a profile version uid" in messages(
        problems("eks", entity, palette()), "spec.profiles[1].uid"
    )


@pytest.mark.parametrize("profiles", [None, []])
def test_cluster_needs_a_profile(profiles: Any) -> None:
    entity = eks_entity()
    if profiles is None:
        del entity["spec"]["profiles"]
    else:
        entity["spec"]["profiles"] = profiles
    found = problems("eks", entity, palette())
    assert fields(found) == {"spec.profiles"}
    assert messages(found, "spec.profiles") == ["at least one cluster profile is required"]


def test_virtual_needs_no_profile_nor_account() -> None:
    entity = wizard_virtual()
    del entity["spec"]["cloudAccountUid"]
    assert checked("virtual", entity) == []


@pytest.mark.parametrize("account", [None, "", "has spaces", 12])
def test_cloud_account_required(account: Any) -> None:
    entity = eks_entity()
    if account is None:
        del entity["spec"]["cloudAccountUid"]
    else:
        entity["spec"]["cloudAccountUid"] = account
    found = problems("eks", entity, palette())
    assert "is required (a cloud account uid)" in messages(found, "spec.cloudAccountUid")


def test_vsphere_needs_an_account_too() -> None:
    """Palette's schema makes it optional for vSphere, but the account carries the PCG."""
    entity = wizard_vsphere()
    del entity["spec"]["cloudAccountUid"]
    assert fields(checked("vsphere", entity)) == {"spec.cloudAccountUid"}


def test_pool_config_required_outside_virtual() -> None:
    entity = eks_entity()
    entity["spec"]["machinepoolconfig"].append({"cloudConfig": {"instanceType": "t3.small"}})
    found = problems("eks", entity, palette())
    assert fields(found) == {"spec.machinepoolconfig[1].poolConfig"}
    assert messages(found, "spec.machinepoolconfig[1].poolConfig") == ["is required (name, size, labels)"]


@pytest.mark.parametrize("kind", ["eks", "aks"])
def test_managed_cloud_has_no_control_plane_pool(kind: str) -> None:
    entity = eks_entity()
    entity["spec"]["machinepoolconfig"][0]["poolConfig"]["isControlPlane"] = True
    if kind == "aks":
        entity["spec"]["cloudConfig"] = {"subscriptionId": "s", "location": "westeurope", "sshKey": SSH_KEY}
    found = problems(kind, entity, palette())
    assert fields(found) == {"spec.machinepoolconfig"}
    assert "managed control plane" in messages(found, "spec.machinepoolconfig")[0]


@pytest.mark.parametrize("planes", [0, 2])
def test_iaas_needs_exactly_one_control_plane_pool(planes: int) -> None:
    entity = wizard_vsphere()
    pools = entity["spec"]["machinePoolConfig"]
    pools[0]["poolConfig"]["isControlPlane"] = planes == 2
    pools[1]["poolConfig"]["isControlPlane"] = planes == 2
    found = checked("vsphere", entity)
    assert fields(found) == {"spec.machinepoolconfig"}
    assert messages(found, "spec.machinepoolconfig") == [
        f"vsphere needs exactly one pool with isControlPlane; found {planes}"
    ]


def test_virtual_needs_a_group_or_host() -> None:
    entity = wizard_virtual()
    del entity["spec"]["clusterConfig"]["hostClusterConfig"]["clusterGroup"]
    found = checked("virtual", entity, "clusterConfig.")
    assert fields(found) == {"clusterConfig.spec.clusterConfig.hostClusterConfig.clusterGroup.uid"}
    host = wizard_virtual()
    host_config = host["spec"]["clusterConfig"]["hostClusterConfig"]
    host_config["hostCluster"] = {"uid": "68d1e2f3a4b5c6d7e8f9a0b1"}
    del host_config["clusterGroup"]
    assert checked("virtual", host) == []


@pytest.mark.parametrize("where", ["clusterGroup", "hostCluster"])
def test_virtual_group_and_host_uids_must_be_uids(where: str) -> None:
    entity = wizard_virtual()
    entity["spec"]["clusterConfig"]["hostClusterConfig"][where] = {"uid": "../../etc"}
    found = checked("virtual", entity)
    assert fields(found) == {f"spec.clusterConfig.hostClusterConfig.{where}.uid"}
    assert messages(found, f"spec.clusterConfig.hostClusterConfig.{where}.uid") == ["is not a valid uid"]


@pytest.mark.parametrize("kind", ["eks", "aws", "azure", "aks", "vsphere", "virtual"])
def test_entity_without_spec_is_refused(kind: str) -> None:
    assert "spec" in fields(checked(kind, {"metadata": {"name": "no-spec"}}))


def test_every_problem_of_an_entity_at_once() -> None:
    entity = wizard_vsphere()
    entity["metadata"]["name"] = "Bad Name"
    spec = entity["spec"]
    del spec["cloudAccountUid"]
    spec["profiles"] = [{"uid": "bad uid"}]
    del spec["cloudConfig"]["placement"]
    spec["machinePoolConfig"][1]["poolConfig"]["isControlPlane"] = True
    spec["machinePoolConfig"][1]["cloudConfig"]["instanceType"] = {"numCPUs": 4}
    assert fields(checked("vsphere", entity)) == {
        "metadata.name",
        "spec.cloudAccountUid",
        "spec.profiles[0].uid",
        "spec.cloudConfig.placement",
        "spec.machinepoolconfig",
        "spec.machinepoolconfig[1].cloudConfig.instanceType.diskGiB",
        "spec.machinepoolconfig[1].cloudConfig.instanceType.memoryMiB",
    }
