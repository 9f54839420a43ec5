"""Pure unit tests of ``ingestor.creation`` (no sockets), and the bodies and validators they share.

``palette()`` is a validator over the FULL swagger file (``PALETTE_OPENAPI``, else
``../shared/palette/palette-openapi.json`` beside the repository); tests needing it skip when it is absent.
Body builders return fresh objects, so a test may break one field without affecting another.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ingestor.creation.problems import InvalidRequestError, Problem
from ingestor.palette.schema import SpecValidator

REPO = Path(__file__).resolve().parents[2]
MARK = "Zq9MARKERxv"
"""A string that matches every field's pattern; put in values, it must never come back in a problem."""
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc0bnQ2bXlrZXlmb3J0ZXN0cw== ops@example.com"


def swagger_path() -> Path | None:
    env = os.environ.get("PALETTE_OPENAPI")
    path = Path(env) if env else REPO.parent / "shared" / "palette" / "palette-openapi.json"
    return path if path.is_file() else None


@cache
def _load(path: Path) -> SpecValidator:
    return SpecValidator.from_swagger(path)


def palette() -> SpecValidator:
    """The validator over every definition of Palette's full swagger file (skips when it is absent)."""
    path = swagger_path()
    if path is None:
        pytest.skip("Palette swagger file not found: set PALETTE_OPENAPI or provide ../shared/palette/")
    return _load(path)


def fields(error: InvalidRequestError | list[Problem]) -> set[str]:
    found = error.problems if isinstance(error, InvalidRequestError) else error
    return {problem.field for problem in found}


def messages(error: InvalidRequestError | list[Problem], field: str) -> list[str]:
    found = error.problems if isinstance(error, InvalidRequestError) else error
    return [problem.message for problem in found if problem.field == field]


def vsphere_size(cpus: int = 4, memory: int = 8192, disk: int = 60) -> dict[str, int]:
    return {"numCPUs": cpus, "memoryMiB": memory, "diskGiB": disk}


def _common(cloud: str) -> dict[str, Any]:
    return {
        "cloudType": cloud,
        "name": f"{cloud}-payments-1",
        "description": "Payments, production",
        "tags": ["team-payments", "pci"],
        "cloudAccountUid": "64f1a2b3c4d5e6f708192a3b",
        "profileUids": ["65a0b1c2d3e4f5a6b7c8d9e0", "65a0b1c2d3e4f5a6b7c8d9e1"],
    }


def cluster_body(cloud: str) -> dict[str, Any]:
    """A realistic simple body for ``cloud`` (every optional setting the builder places is given)."""
    body = _common(cloud)
    taint = {"key": "dedicated", "value": "payments", "effect": "NoSchedule"}
    if cloud == "eks":
        body.update(region="us-east-1", vpcId="vpc-0a1b2c3d", sshKeyName="ops-keypair")
        body["machinePoolConfig"] = [
            {
                "name": "general",
                "instanceType": "t3.large",
                "count": 2,
                "minSize": 1,
                "maxSize": 5,
                "labels": ["apps"],
                "azs": ["us-east-1a", "us-east-1b"],
                "diskSizeGiB": 80,
                "capacityType": "spot",
                "taints": [taint],
            },
            {"name": "system", "instanceType": "t3.medium", "count": 1, "labels": {"tier": "system"}},
        ]
    elif cloud == "aws":
        body.update(region="eu-west-1", vpcId="vpc-9f8e7d6c", sshKeyName="ops-keypair")
        body["machinePoolConfig"] = [
            {
                "name": "workers",
                "instanceType": "m5.xlarge",
                "count": 3,
                "minSize": 2,
                "maxSize": 6,
                "labels": ["apps"],
                "azs": ["eu-west-1a"],
                "diskSizeGiB": 100,
                "capacityType": "on-demand",
                "taints": [taint],
            },
            {"name": "cp", "instanceType": "m5.large", "count": 3, "controlPlane": True, "diskSizeGiB": 60},
        ]
    elif cloud in ("azure", "aks"):
        body.update(
            location="westeurope",
            subscriptionId="0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
            resourceGroup="rg-payments",
            sshKey=SSH_KEY,
        )
        if cloud == "azure":
            body["machinePoolConfig"] = [
                {
                    "name": "workers",
                    "instanceType": "Standard_D4s_v3",
                    "count": 2,
                    "minSize": 1,
                    "maxSize": 4,
                    "labels": {"tier": "apps"},
                    "azs": ["1", "2"],
                    "diskSizeGiB": 128,
                    "taints": [taint],
                },
                {"name": "cp", "instanceType": "Standard_D2s_v3", "count": 1, "labels": ["control-plane"]},
            ]
        else:
            body["machinePoolConfig"] = [
                {
                    "name": "apps",
                    "instanceType": "Standard_D4s_v3",
                    "count": 3,
                    "minSize": 1,
                    "maxSize": 5,
                    "taints": [taint],
                },
                {"name": "system", "instanceType": "Standard_D2s_v3", "count": 1, "systemNodePool": True},
            ]
    elif cloud == "vsphere":
        body["vsphere"] = {
            "datacenter": "dc-east",
            "folder": "spectro/payments",
            "cluster": "compute-a",
            "datastore": "vsanDatastore",
            "network": "VM Network",
            "resourcePool": "rp-payments",
            "ipPoolUid": "66b1c2d3e4f5a6b7c8d9e0f1",
            "imageTemplateFolder": "spectro-templates",
            "storagePolicyName": "gold",
            "sshKeys": [SSH_KEY],
            "ntpServers": ["pool.ntp.org"],
        }
        body["machinePoolConfig"] = [
            {
                "name": "workers",
                "instanceType": vsphere_size(8, 16384, 100),
                "count": 2,
                "minSize": 1,
                "maxSize": 4,
                "labels": ["apps"],
                "taints": [taint],
            },
            {
                "name": "cp",
                "instanceType": vsphere_size(),
                "count": 1,
                "controlPlane": True,
                "useControlPlaneAsWorker": True,
            },
        ]
    else:
        raise ValueError(cloud)
    return body


def virtual_body() -> dict[str, Any]:
    """A realistic simple virtual cluster body."""
    return {
        "name": "team-a-dev",
        "clusterGroupUid": "67c1d2e3f4a5b6c7d8e9f0a1",
        "hostClusterUid": "67c1d2e3f4a5b6c7d8e9f0a2",
        "cpu": 6,
        "memoryGiB": 12.5,
        "storageGiB": 40,
        "profileUids": ["65a0b1c2d3e4f5a6b7c8d9e2"],
        "kubernetesVersion": "1.30.2",
        "description": "Team A development",
        "tags": {"owner": "team-a"},
    }
