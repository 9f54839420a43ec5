"""The simple bodies' field types and cross-field rules: each problem names its exact field, all at once."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.creation.problems import InvalidRequestError, Problem, path
from ingestor.creation.requests import CLOUD_TYPES, parse_cluster, parse_virtual
from tests.creation import cluster_body, fields, messages, virtual_body, vsphere_size

WHERE = "machinePoolConfig"


def refused(body: dict[str, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_cluster(body)
    return caught.value


def refused_virtual(body: dict[str, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse_virtual(body)
    return caught.value


def only(error: InvalidRequestError, field: str) -> None:
    """``field`` is the one and only problem."""
    assert fields(error) == {field}, error.problems


@pytest.mark.parametrize("cloud", CLOUD_TYPES)
def test_realistic_bodies_parse(cloud: str) -> None:
    assert parse_cluster(cluster_body(cloud)).cloudType == cloud


# ------------------------------------------------------------------------------------------------
# _cloud_settings


@pytest.mark.parametrize("cloud", ["eks", "aws"])
def test_region_required(cloud: str) -> None:
    body = cluster_body(cloud)
    del body["region"]
    error = refused(body)
    only(error, "region")
    assert messages(error, "region") == [f"is required for {cloud}"]


@pytest.mark.parametrize("cloud", ["azure", "aks"])
@pytest.mark.parametrize("missing", ["location", "subscriptionId", "sshKey"])
def test_azure_settings_required(cloud: str, missing: str) -> None:
    body = cluster_body(cloud)
    del body[missing]
    only(refused(body), missing)


@pytest.mark.parametrize("cloud", ["azure", "aks"])
def test_region_stands_for_location(cloud: str) -> None:
    body = cluster_body(cloud)
    body["region"] = body.pop("location")
    assert parse_cluster(body).region == "westeurope"


@pytest.mark.parametrize("cloud", ["azure", "aks"])
def test_all_azure_settings_missing_at_once(cloud: str) -> None:
    body = cluster_body(cloud)
    for key in ("location", "subscriptionId", "sshKey"):
        del body[key]
    assert fields(refused(body)) == {"location", "subscriptionId", "sshKey"}


def test_vsphere_needs_placement() -> None:
    body = cluster_body("vsphere")
    del body["vsphere"]
    error = refused(body)
    only(error, "vsphere")
    assert "is required for vsphere" in messages(error, "vsphere")[0]


@pytest.mark.parametrize("cloud", ["eks", "aws", "azure", "aks"])
def test_vsphere_placement_only_for_vsphere(cloud: str) -> None:
    body = cluster_body(cloud)
    body["vsphere"] = cluster_body("vsphere")["vsphere"]
    error = refused(body)
    only(error, "vsphere")
    assert messages(error, "vsphere") == [f"is only for vsphere, not {cloud}"]


# ------------------------------------------------------------------------------------------------
# _pools


def test_duplicate_pool_name() -> None:
    body = cluster_body("eks")
    body[WHERE][1]["name"] = body[WHERE][0]["name"]
    error = refused(body)
    only(error, f"{WHERE}[1].name")
    assert messages(error, f"{WHERE}[1].name") == ["is used by another pool"]


def test_vsphere_pool_needs_a_vm_size() -> None:
    body = cluster_body("vsphere")
    body[WHERE][0]["instanceType"] = "m5.large"
    only(refused(body), f"{WHERE}[0].instanceType")


@pytest.mark.parametrize("cloud", ["eks", "aws", "azure", "aks"])
def test_public_cloud_pool_needs_an_instance_type_name(cloud: str) -> None:
    body = cluster_body(cloud)
    body[WHERE][0]["instanceType"] = vsphere_size()
    error = refused(body)
    only(error, f"{WHERE}[0].instanceType")
    assert messages(error, f"{WHERE}[0].instanceType") == [f"must be an instance type name for {cloud}"]


def test_min_size_above_count_and_max_size_below_count() -> None:
    body = cluster_body("eks")
    body[WHERE][0].update(count=3, minSize=4, maxSize=2)
    error = refused(body)
    assert fields(error) == {f"{WHERE}[0].minSize", f"{WHERE}[0].maxSize"}
    assert messages(error, f"{WHERE}[0].minSize") == ["is larger than count"]
    assert messages(error, f"{WHERE}[0].maxSize") == ["is smaller than count"]


def test_autoscaling_bounds_equal_to_count_are_fine() -> None:
    body = cluster_body("eks")
    body[WHERE][0].update(count=3, minSize=3, maxSize=3)
    assert parse_cluster(body).machinePoolConfig[0].minSize == 3


@pytest.mark.parametrize("cloud", ["eks", "aks"])
@pytest.mark.parametrize("marker", [{"controlPlane": True}, {"labels": ["control-plane"]}])
def test_managed_clouds_refuse_a_control_plane(cloud: str, marker: dict[str, Any]) -> None:
    body = cluster_body(cloud)
    body[WHERE][0].update(marker, count=1)
    body[WHERE][0].pop("minSize", None)
    error = refused(body)
    only(error, f"{WHERE}[0].controlPlane")
    assert "managed control plane" in messages(error, f"{WHERE}[0].controlPlane")[0]


@pytest.mark.parametrize("count", [0, 2, 4])
def test_control_plane_needs_an_odd_count(count: int) -> None:
    body = cluster_body("aws")
    body[WHERE][1]["count"] = count
    only(refused(body), f"{WHERE}[1].count")


@pytest.mark.parametrize("count", [1, 3, 5])
def test_control_plane_odd_counts_pass(count: int) -> None:
    body = cluster_body("aws")
    body[WHERE][1]["count"] = count
    assert parse_cluster(body).machinePoolConfig[1].count == count


@pytest.mark.parametrize("cloud", ["eks", "aws", "azure", "vsphere"])
def test_system_node_pool_only_for_aks(cloud: str) -> None:
    body = cluster_body(cloud)
    body[WHERE][0]["systemNodePool"] = False
    error = refused(body)
    only(error, f"{WHERE}[0].systemNodePool")
    assert messages(error, f"{WHERE}[0].systemNodePool") == ["is only for aks"]


@pytest.mark.parametrize("cloud", ["azure", "aks", "vsphere"])
def test_capacity_type_only_for_eks_and_aws(cloud: str) -> None:
    body = cluster_body(cloud)
    body[WHERE][0]["capacityType"] = "spot"
    only(refused(body), f"{WHERE}[0].capacityType")


@pytest.mark.parametrize("cloud", ["aws", "azure", "vsphere"])
def test_iaas_needs_one_control_plane_not_none(cloud: str) -> None:
    body = cluster_body(cloud)
    body[WHERE] = [pool for pool in body[WHERE] if pool["name"] != "cp"]
    error = refused(body)
    only(error, WHERE)
    assert "found 0" in messages(error, WHERE)[0]


@pytest.mark.parametrize("cloud", ["aws", "azure", "vsphere"])
def test_iaas_needs_one_control_plane_not_two(cloud: str) -> None:
    body = cluster_body(cloud)
    extra = dict(next(pool for pool in body[WHERE] if pool["name"] == "cp"), name="cp-b")
    body[WHERE].append(extra)
    error = refused(body)
    only(error, WHERE)
    assert "found 2" in messages(error, WHERE)[0]


@pytest.mark.parametrize("cloud", ["aws", "azure", "vsphere"])
def test_control_plane_alone_needs_use_as_worker(cloud: str) -> None:
    body = cluster_body(cloud)
    plane = next(pool for pool in body[WHERE] if pool["name"] == "cp")
    plane["useControlPlaneAsWorker"] = False
    body[WHERE] = [plane]
    error = refused(body)
    only(error, WHERE)
    assert messages(error, WHERE) == ["add a worker pool or set useControlPlaneAsWorker"]
    plane["useControlPlaneAsWorker"] = True
    assert len(parse_cluster(body).machinePoolConfig) == 1


def test_aks_takes_one_system_pool() -> None:
    body = cluster_body("aks")
    body[WHERE][0]["systemNodePool"] = True
    error = refused(body)
    only(error, WHERE)
    assert messages(error, WHERE) == ["aks takes one system node pool"]


# ------------------------------------------------------------------------------------------------
# profiles and variable targets


def test_profile_listed_twice() -> None:
    body = cluster_body("eks")
    body["profileUids"] = [body["profileUids"][0]] * 2
    error = refused(body)
    only(error, "profileUids")
    assert messages(error, "profileUids") == ["lists a profile twice"]


def test_profile_variables_for_an_unselected_profile() -> None:
    body = cluster_body("aws")
    body["profileVariables"] = {"70a0b1c2d3e4f5a6b7c8d9e0": {"replicas": 3}, body["profileUids"][0]: {"a": 1}}
    error = refused(body)
    only(error, "profileVariables.70a0b1c2d3e4f5a6b7c8d9e0")
    assert messages(error, "profileVariables.70a0b1c2d3e4f5a6b7c8d9e0") == [
        "names a profile that is not in profileUids"
    ]


def test_virtual_profile_variables_for_an_unselected_profile() -> None:
    body = virtual_body() | {"profileVariables": {"70a0b1c2d3e4f5a6b7c8d9e0": {"x": "y"}}}
    only(refused_virtual(body), "profileVariables.70a0b1c2d3e4f5a6b7c8d9e0")


def test_virtual_profile_listed_twice() -> None:
    body = virtual_body()
    body["profileUids"] = body["profileUids"] * 2
    only(refused_virtual(body), "profileUids")


# ------------------------------------------------------------------------------------------------
# field types (pydantic), and everything at once


def test_missing_required_fields_are_named() -> None:
    error = refused({"cloudType": "eks"})
    assert fields(error) == {"name", "cloudAccountUid", "profileUids", WHERE, "region"}
    assert set(messages(error, "name")) == {"is required"}


def test_unknown_field_is_refused() -> None:
    body = cluster_body("aws") | {"subnetID": "subnet-1"}
    body[WHERE][0]["diskSize"] = 80
    error = refused(body)
    assert fields(error) == {"subnetID", f"{WHERE}[0].diskSize"}
    assert set(messages(error, "subnetID")) == {"is not a known field"}


def test_unknown_cloud_type() -> None:
    body = cluster_body("aws") | {"cloudType": "gcp"}
    only(refused(body), "cloudType")


def test_several_errors_reported_together_with_cloud_settings() -> None:
    body = cluster_body("azure")
    for key in ("location", "subscriptionId", "sshKey"):
        del body[key]
    body["name"] = "Not A DNS Name"
    body["profileUids"] = []
    body["tags"] = [""]
    body["vsphere"] = {"datacenter": "dc"}
    body[WHERE][0].update(count=-1, taints=[{"key": "k", "effect": "Sometimes"}], minSize=2000)
    body[WHERE][1]["name"] = "CP_1"
    error = refused(body)
    assert fields(error) == {
        "name",
        "profileUids",
        "tags",  # neither a list of tags nor a mapping: pydantic names the union too
        "tags[0]",
        f"{WHERE}[0].count",
        f"{WHERE}[0].taints[0].effect",
        f"{WHERE}[0].minSize",
        f"{WHERE}[1].name",
        "vsphere.folder",
        "vsphere.cluster",
        "vsphere.datastore",
        "vsphere.network",
        "location",
        "subscriptionId",
        "sshKey",
        "vsphere",
    }
    assert len(error.problems) == len(set(error.problems))
    assert "problems" in str(error) and "and " in str(error)  # the summary says more follow


def test_pool_rules_reported_together() -> None:
    body = cluster_body("aws")
    body[WHERE][0].update(minSize=5, systemNodePool=True)
    body[WHERE][1].update(count=2)
    body["profileUids"] = [body["profileUids"][0]] * 2
    assert fields(refused(body)) == {
        f"{WHERE}[0].minSize",
        f"{WHERE}[0].systemNodePool",
        f"{WHERE}[1].count",
        "profileUids",
    }


def test_vsphere_size_bounds() -> None:
    body = cluster_body("vsphere")
    body[WHERE][0]["instanceType"] = {"numCPUs": 0, "memoryMiB": 512, "diskGiB": 5}
    assert {
        f"{WHERE}[0].instanceType.numCPUs",
        f"{WHERE}[0].instanceType.memoryMiB",
        f"{WHERE}[0].instanceType.diskGiB",
    } <= fields(refused(body))


def test_bad_instance_type_name_names_the_field_itself() -> None:
    body = cluster_body("aws")
    body[WHERE][0]["instanceType"] = ""
    assert fields(refused(body)) == {f"{WHERE}[0].instanceType"}


def test_virtual_types_and_bounds() -> None:
    body = virtual_body() | {"cpu": 0, "memoryGiB": 0.25, "storageGiB": "lots", "endpointType": "NodePort"}
    del body["clusterGroupUid"]
    body["name"] = "-bad-"
    assert fields(refused_virtual(body)) == {
        "cpu",
        "memoryGiB",
        "storageGiB",
        "endpointType",
        "clusterGroupUid",
        "name",
    }


def test_invalid_request_error_is_sorted_and_deduplicated() -> None:
    error = InvalidRequestError([Problem("b", "x"), Problem("a", "y"), Problem("b", "x")])
    assert error.problems == [Problem("a", "y"), Problem("b", "x")]
    assert str(error).startswith("Invalid cluster request (2 problems): a: y; b: x")


def test_problem_as_dict_and_paths() -> None:
    assert Problem("a[0].b", "is wrong").as_dict() == {"field": "a[0].b", "message": "is wrong"}
    assert path(("machinePoolConfig", 0, "taints", 1, "key")) == "machinePoolConfig[0].taints[1].key"
    assert path(("spec", "x"), "clusterConfig") == "clusterConfig.spec.x"
    assert path(()) == "(body)"
    assert path((), "clusterConfig") == "clusterConfig"
