"""No problem ever echoes a value of the request (values may be secrets: SSH keys, passwords, tokens)."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.creation.entity import normalise, problems
from ingestor.creation.problems import InvalidRequestError, Problem
from ingestor.creation.requests import CLOUD_TYPES, parse_cluster, parse_virtual
from tests.creation import MARK, cluster_body, palette, virtual_body
from tests.creation.test_entity import wizard_virtual, wizard_vsphere

BAD = f"{MARK} /!"
"""Fails every pattern and every enum, and is no number."""


def assert_silent(found: list[Problem], error: Exception | None = None) -> None:
    assert found, "expected problems"
    for problem in found:
        assert MARK not in problem.field, problem
        assert MARK not in problem.message, problem
    if error is not None:
        assert MARK not in str(error)
        assert MARK not in repr(error)


def refused(parse: Any, body: dict[str, Any]) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        parse(body)
    return caught.value


@pytest.mark.parametrize("cloud", CLOUD_TYPES)
def test_bad_values_in_every_field_of_a_cluster_body(cloud: str) -> None:
    body = cluster_body(cloud)
    for key in ("name", "cloudAccountUid", "region", "location", "subscriptionId", "sshKeyName", "vpcId"):
        body[key] = BAD
    body.update(
        description={"text": MARK},
        tags=[MARK, {"x": MARK}],
        profileUids=[BAD],
        profileVariables={body["profileUids"][0]: {"password": [MARK]}},
        clusterVariables={"token": {"v": MARK}},
        sshKey=[MARK],
    )
    pool = body["machinePoolConfig"][0]
    pool.update(
        name=BAD,
        instanceType=[MARK],
        count=MARK,
        minSize=BAD,
        maxSize=10**6,
        labels=[MARK, 5, {"k": MARK}],
        taints=[{"key": MARK, "value": 7, "effect": BAD}],
        controlPlane=MARK,
        systemNodePool=BAD,
        azs=MARK,
        diskSizeGiB=MARK,
        capacityType=BAD,
    )
    if cloud == "vsphere":
        body["vsphere"].update(datacenter=[MARK], ipPoolUid=BAD, sshKeys=MARK, resourcePool={"a": MARK})
    error = refused(parse_cluster, body)
    assert_silent(error.problems, error)
    assert len(error.problems) > 20


@pytest.mark.parametrize("cloud", CLOUD_TYPES)
def test_rule_problems_do_not_echo_valid_values(cloud: str) -> None:
    """Values that pass their types, but break the cross-field rules."""
    body = cluster_body(cloud)
    body["description"] = MARK
    body["tags"] = {MARK.lower(): MARK}
    body["profileUids"] = [body["profileUids"][0]] * 2
    body["profileVariables"] = {"zq9-unselected": {"secret": MARK}}
    for key in ("region", "location", "subscriptionId", "sshKey"):
        body.pop(key, None)
    for pool in body["machinePoolConfig"]:
        pool.update(count=2, minSize=3, maxSize=1, controlPlane=True, labels={"team": MARK})
    error = refused(parse_cluster, body)
    assert_silent(error.problems, error)


def test_virtual_body() -> None:
    body = virtual_body() | {
        "name": BAD,
        "clusterGroupUid": BAD,
        "hostClusterUid": [MARK],
        "cpu": MARK,
        "memoryGiB": BAD,
        "storageGiB": {"x": MARK},
        "profileUids": [BAD],
        "profileVariables": {"zq9-unselected": {"k": MARK}},
        "clusterVariables": {"k": [MARK]},
        "endpointType": BAD,
        "kubernetesVersion": 1.3,
        "description": [MARK],
        "tags": MARK,
    }
    error = refused(parse_virtual, body)
    assert_silent(error.problems, error)
    valid_but_unselected = virtual_body() | {"profileVariables": {"zq9-unselected": {"k": MARK}}}
    error = refused(parse_virtual, valid_but_unselected)
    assert_silent(error.problems, error)


def test_vsphere_entity_problems() -> None:
    entity = wizard_vsphere()
    entity["metadata"] = {"name": BAD, "labels": {"k": [MARK]}, "annotations": MARK}
    spec = entity["spec"]
    spec["cloudAccountUid"] = BAD
    spec["profiles"] = [{"uid": BAD, "packValues": MARK, "variables": [{"value": MARK}]}]
    spec["cloudConfig"]["sshKeys"] = MARK
    spec["cloudConfig"]["placement"]["network"] = {"networkName": [MARK], "staticIp": MARK}
    plane, worker = spec["machinePoolConfig"]
    plane["poolConfig"].update(size=MARK, labels=MARK, isControlPlane=MARK, updateStrategy={"type": BAD})
    plane["cloudConfig"]["instanceType"] = {"numCPUs": MARK, "memoryMiB": [MARK]}
    worker["cloudConfig"]["placements"][0]["network"]["parentPoolUid"] = [MARK]
    worker["poolConfig"]["taints"] = [{"key": [MARK], "effect": BAD}]
    spec["machinepoolconfig"] = []  # given twice as well
    fixed, repairs = normalise(entity)
    found = repairs + problems("vsphere", fixed, palette())
    assert_silent(found)
    assert len(found) > 10


@pytest.mark.parametrize("kind", ["eks", "aws", "azure", "aks"])
def test_public_cloud_entity_problems(kind: str) -> None:
    entity = {
        "metadata": {"name": BAD},
        "spec": {
            "cloudAccountUid": [MARK],
            "cloudConfig": {
                "region": [MARK],
                "sshKey": {"k": MARK},
                "location": 5,
                "subscriptionId": [MARK],
            },
            "machinepoolconfig": [
                {
                    "cloudConfig": {"instanceType": [MARK], "capacityType": BAD, "rootDeviceSize": 10**9},
                    "poolConfig": {"name": [MARK], "size": BAD, "labels": [MARK, MARK]},
                    "managedPoolConfig": {"osType": BAD},
                },
                {"cloudConfig": MARK},
            ],
            "profiles": [{"uid": BAD}],
        },
    }
    assert_silent(problems(kind, entity, palette()))


def test_virtual_entity_problems_with_prefix() -> None:
    entity = wizard_virtual()
    host = entity["spec"]["clusterConfig"]["hostClusterConfig"]
    host["clusterGroup"]["uid"] = BAD
    host["hostCluster"] = {"uid": BAD}
    host["clusterEndpoint"] = {"type": [MARK], "config": MARK}
    quota = entity["spec"]["machinePoolConfig"][0]["cloudConfig"]["instanceType"]
    quota.update(minCPU=MARK, maxMemInMiB=[MARK])
    entity["spec"]["cloudConfig"] = {"kubernetesVersion": [MARK]}
    fixed, repairs = normalise(entity)
    found = repairs + problems("virtual", fixed, palette(), "clusterConfig.")
    assert_silent(found)
    assert all(problem.field.startswith("clusterConfig.") for problem in found)
