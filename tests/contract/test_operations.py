"""The operation table: entries derived from the spec, and concrete-path matching."""

from __future__ import annotations

import pytest

from ingestor.palette import operations
from ingestor.palette.operations import BINARY, Operation, OperationTable, default_table, match
from ingestor.palette.schema import SpecValidator


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/v1/spectroclusters/abc123/profiles", "/v1/spectroclusters/{uid}/profiles"),
        ("GET", "/v1/spectroclusters/abc123", "/v1/spectroclusters/{uid}"),
        ("POST", "/v1/dashboard/spectroclusters/search", "/v1/dashboard/spectroclusters/search"),
        ("GET", "/v1/dashboard/spectroclusters/meta", "/v1/dashboard/spectroclusters/meta"),
        ("GET", "/v1/dashboard/spectroclusters/metadata", "/v1/dashboard/spectroclusters/metadata"),
        ("GET", "/v1/dashboard/spectroclusters/abc", "/v1/dashboard/spectroclusters/{uid}"),
        ("GET", "/v1/clustergroups/hostCluster", "/v1/clustergroups/hostCluster"),
        ("GET", "/v1/clustergroups/g1", "/v1/clustergroups/{uid}"),
        ("POST", "/v1/spectroclusters/aws", "/v1/spectroclusters/aws"),
        (
            "GET",
            "/v1/spectroclusters/c1/pack/manifests/m1",
            "/v1/spectroclusters/{uid}/pack/manifests/{manifestUid}",
        ),
        (
            "GET",
            "/v1/clouds/vsphere/datacenters/dc/computeclusters/cc",
            "/v1/clouds/vsphere/datacenters/{uid}/computeclusters/{computecluster}",
        ),
        ("get", "/v1/users/me", "/v1/users/me"),
        ("GET", "/v1/users/info", "/v1/users/info"),
        ("GET", "/v1/users/u1", "/v1/users/{uid}"),
        ("DELETE", "/v1/users/assets/sshkeys/k1", "/v1/users/assets/sshkeys/{uid}"),
    ],
)
def test_concrete_paths_match_their_template(method: str, path: str, template: str) -> None:
    op = match(method, path)
    assert op is not None
    assert (op.method, op.path) == (method.upper(), template)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/clusterprofiles/p1/versions/v1"),  # TeraSky's call; not in the spec
        ("DELETE", "/v1/spectroclusters/abc"),  # exists in Palette, but we do not call it
        ("GET", "/v1/spectroclusters/abc/"),
        ("GET", "/v1/spectroclusters//profiles"),
        ("GET", "v1/users/info"),
        ("GET", "/v1/users/info/extra"),
        ("GET", "/"),
    ],
)
def test_unknown_operations_do_not_match(method: str, path: str) -> None:
    assert match(method, path) is None


def test_search_operation_carries_body_response_and_limit_maximum() -> None:
    op = default_table().get("POST", "/v1/dashboard/spectroclusters/search")
    assert op is not None
    assert op.operation_id == "v1SpectroClustersSearchFilterSummary"
    assert op.request == "v1SearchFilterSummarySpec"
    assert op.responses == {200: "v1SpectroClustersSummary"}
    assert op.query["limit"].maximum == 50
    assert op.query["limit"].type == "integer"
    assert set(op.query) == {"limit", "offset", "continue"}


def test_paged_lists_declare_their_defaults() -> None:
    op = default_table().get("POST", "/v1/dashboard/projects")
    assert op is not None
    assert op.query["limit"].default == 50
    assert op.query["limit"].maximum is None


def test_path_level_parameters_are_merged() -> None:
    op = default_table().get("GET", "/v1/cloudaccounts/vsphere/{uid}/properties/computecluster/resources")
    assert op is not None
    assert {name for name, p in op.query.items() if p.required} == {"datacenter", "computecluster"}
    assert op.path_params == ("uid",)
    profile = default_table().get("GET", "/v1/clusterprofiles/{uid}")
    assert profile is not None
    assert set(profile.query) == {"includePackMeta", "resourceType"}


def test_special_response_shapes() -> None:
    table = default_table()
    meta = table.get("GET", "/v1/dashboard/spectroclusters/meta")
    kubeconfig = table.get("GET", "/v1/spectroclusters/{uid}/assets/kubeconfig")
    me = table.get("GET", "/v1/users/me")
    delete = table.get("DELETE", "/v1/users/assets/sshkeys/{uid}")
    assert meta is not None and meta.responses == {200: "v1SpectroClustersMeta"}
    assert kubeconfig is not None and kubeconfig.response_for(200) == BINARY and kubeconfig.binary
    assert kubeconfig.query["frp"].default is True
    assert me is not None and me.responses == {200: "v1UserMe"} and not me.in_spec
    assert delete is not None and delete.responses == {204: None} and not delete.binary
    with pytest.raises(KeyError):
        delete.response_for(200)


@pytest.mark.parametrize(
    ("kind", "definition"),
    [
        ("eks", "v1SpectroEksClusterEntity"),
        ("aws", "v1SpectroAwsClusterEntity"),
        ("aks", "v1SpectroAzureClusterEntity"),
        ("azure", "v1SpectroAzureClusterEntity"),
        ("vsphere", "v1SpectroVsphereClusterEntity"),
        ("virtual", "v1SpectroVirtualClusterEntity"),
    ],
)
def test_create_operations(kind: str, definition: str) -> None:
    op = match("POST", f"/v1/spectroclusters/{kind}")
    assert op is not None
    assert op.request == definition
    assert op.responses == {201: "v1Uid"}
    assert not op.request_required


def test_authenticate_requires_its_body() -> None:
    op = match("POST", "/v1/auth/authenticate")
    assert op is not None
    assert (op.request, op.request_required) == ("v1AuthLogin", True)


def test_every_operation_names_bundled_definitions_and_matches_itself(validator: SpecValidator) -> None:
    table = default_table()
    assert len(table) == len(validator.operations) + len(operations.EXTRA_OPERATIONS)
    for op in table:
        names = {op.request, *op.responses.values()} - {None, BINARY}
        assert names <= validator.names, op.path
        concrete = "/".join(
            f"x{i}" if seg.startswith("{") else seg for i, seg in enumerate(op.path.split("/"))
        )
        found = table.match(op.method, concrete)
        assert found is not None and found.path == op.path


def test_custom_tables() -> None:
    one = Operation("GET", "/v1/things/{uid}", responses={200: "T"})
    literal = Operation("GET", "/v1/things/special", responses={200: "S"})
    table = OperationTable([one, literal])
    assert table.match("GET", "/v1/things/special") is literal
    assert table.match("GET", "/v1/things/other") is one
    with pytest.raises(ValueError, match="duplicate"):
        OperationTable([one, Operation("get", "/v1/things/{uid}")])
    assert Operation("get", "/v1/x").method == "GET"


def test_unsupported_response_schemas_are_refused() -> None:
    entry = {"method": "GET", "path": "/v1/x", "responses": {"200": {"type": "array", "items": {}}}}
    with pytest.raises(ValueError, match="unsupported schema"):
        OperationTable.from_spec([entry])
