"""The bundled spec extract: in sync with the script, complete, attributed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ingestor.palette.schema import load_bundle
from tests.contract.conftest import REPO

SCRIPT = REPO / "scripts" / "extract_palette_spec.py"
BUNDLE = REPO / "ingestor" / "palette" / "spec" / "palette-definitions.json"

# palette-api.md section 6: every definition the service validates against.
_SECTION_6_LINES = (
    "v1ProjectsFilterSpec v1SearchFilterSummarySpec v1ClusterProfilesFilterSpec v1UserAssetSshEntity",
    "v1AuthLogin v1SpectroEksClusterEntity v1SpectroAwsClusterEntity v1SpectroAzureClusterEntity",
    "v1SpectroVsphereClusterEntity v1SpectroVirtualClusterEntity v1SpectroClusterProfileEntity",
    "v1PackValuesEntity v1SpectroClusterVariable v1MachinePoolConfigEntity v1ClusterConfigEntity",
    "v1HostClusterConfig v1EksClusterConfig v1EksMachinePoolConfigEntity v1EksMachineCloudConfigEntity",
    "v1AwsClusterConfig v1AwsMachinePoolConfigEntity v1AwsMachinePoolCloudConfigEntity",
    "v1AzureClusterConfig v1AzureMachinePoolConfigEntity v1AzureMachinePoolCloudConfigEntity",
    "v1AzureManagedMachinePoolConfig v1VsphereClusterConfigEntity v1VspherePlacementConfigEntity",
    "v1VsphereNetworkConfigEntity v1VsphereMachinePoolConfigEntity v1VsphereMachinePoolCloudConfigEntity",
    "v1VsphereInstanceType v1VirtualClusterConfig v1VirtualMachinePoolConfigEntity",
    "v1VirtualMachinePoolCloudConfigEntity v1VirtualInstanceType v1ProjectsSummary v1ProjectSummary",
    "v1ProjectsMetadata v1Project v1UserInfo v1User v1ProjectRolesEntity v1UserMe",
    "v1SpectroClustersSummary v1SpectroClusterSummary v1SpectroClustersMeta v1SpectroClusterMeta",
    "v1SpectroClustersMetadata v1SpectroClustersMetadataSearch v1SpectroClusterUidSummary",
    "v1SpectroCluster v1SpectroClusterProfileList v1Manifest v1SearchFilterSchemaSpec",
    "v1ClusterSearchInputSpec v1ClusterProfilesSummary v1ClusterProfileSummary v1ClusterProfilesMetadata",
    "v1ClusterProfile v1ClusterProfilePacksEntities v1Variables v1ClusterGroupsHostClusterSummary",
    "v1ClusterGroupsHostClusterMetadata v1ClusterGroup v1AwsAccounts v1AwsAccount v1AzureAccounts",
    "v1AzureAccount v1VsphereAccounts v1VsphereAccount v1CloudAccountsSummary v1VsphereDatacenters",
    "v1VsphereComputeClusterResources v1Overlords v1Overlord v1IpPools v1UserAssetsSsh v1UserAssetSsh",
    "v1Uid v1UserToken v1Error v1ListMetaData v1ObjectMeta v1Time",
)
SECTION_6 = [name for line in _SECTION_6_LINES for name in line.split()]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_palette_spec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].split("/")[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_bundled_file_matches_what_the_script_writes(spec_path: Path) -> None:
    script = _script()
    expected = script.render(script.extract(json.loads(spec_path.read_text(encoding="utf-8"))))
    assert BUNDLE.read_text(encoding="utf-8") == expected, (
        "bundled spec is stale: run `.venv/bin/python scripts/extract_palette_spec.py`"
    )


def test_bundled_definitions_are_copied_unchanged(spec_path: Path) -> None:
    full = json.loads(spec_path.read_text(encoding="utf-8"))["definitions"]
    bundle = load_bundle()
    assert all(bundle["definitions"][name] == full[name] for name in bundle["definitions"])


def test_script_main_writes_the_same_bytes_and_reports_a_missing_spec(
    spec_path: Path, tmp_path: Path
) -> None:
    script = _script()
    out = tmp_path / "out.json"
    assert script.main(["--spec", str(spec_path), "--output", str(out)]) == 0
    assert out.read_bytes() == BUNDLE.read_bytes()
    assert script.main(["--spec", str(tmp_path / "absent.json"), "--output", str(out)]) == 2


def test_closure_follows_references_and_rejects_dangling_ones() -> None:
    script = _script()
    defs = {
        "A": {"properties": {"b": {"$ref": "#/definitions/B"}}},
        "B": {"items": {"$ref": "#/definitions/C"}},
        "C": {},
        "Unused": {},
    }
    assert list(script.closure(defs, {"A"})) == ["A", "B", "C"]
    with pytest.raises(KeyError, match="Missing"):
        script.closure({"A": {"$ref": "#/definitions/Missing"}}, {"A"})


def test_bundle_holds_every_section_6_definition_and_is_closed() -> None:
    definitions = load_bundle()["definitions"]
    assert sorted(set(SECTION_6) - set(definitions)) == []
    assert sorted(_refs(definitions) - set(definitions)) == []


def test_bundle_operations_reference_bundled_definitions() -> None:
    bundle = load_bundle()
    operations = bundle["operations"]
    assert [(op["path"], op["method"]) for op in operations] == sorted(
        (op["path"], op["method"]) for op in operations
    )
    assert sorted(_refs(operations) - set(bundle["definitions"])) == []
    for op in operations:
        assert set(op) >= {"method", "path", "operationId", "parameters", "responses"}
        for param in op["parameters"]:
            assert set(param) <= {"in", "name", "required", "type", "maximum", "default", "schema"}


def test_attribution_is_recorded() -> None:
    info = load_bundle()["info"]
    assert info == {
        "title": "Palette APIs - 4.8",
        "version": "v1",
        "source": "spectrocloud/palette-sdk-typescript api/palette-apis-spec.json",
        "license": "Apache-2.0",
    }
    readme = (BUNDLE.parent / "README.md").read_text(encoding="utf-8")
    for fact in (
        "Apache License 2.0",
        "spectrocloud/palette-sdk-typescript",
        "api/palette-apis-spec.json",
        "Palette APIs - 4.8",
    ):
        assert fact in readme
