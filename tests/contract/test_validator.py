"""SpecValidator on the real Palette definitions: meta-schema, the 7.3 examples, messages, caching, speed."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from ingestor.palette.schema import SchemaValidationError, SpecValidator, load_validator, schema_for
from tests.contract import samples

MODES = [pytest.param(False, id="normal"), pytest.param(True, id="strict")]


@pytest.mark.parametrize("strict", MODES)
def test_the_whole_converted_swagger_passes_the_draft4_meta_schema(
    full_validator: SpecValidator, strict: bool
) -> None:
    defs = full_validator.definitions(strict)
    assert len(defs) == 2102
    Draft4Validator.check_schema(schema_for(defs, "v1Error"))


@pytest.mark.parametrize("strict", MODES)
def test_the_bundled_definitions_pass_the_meta_schema_and_compile(
    validator: SpecValidator, strict: bool
) -> None:
    Draft4Validator.check_schema(schema_for(validator.definitions(strict), "v1Error"))
    for name in sorted(validator.names):
        assert validator.validator(name, strict) is validator.validator(name, strict)


def test_bundled_and_full_validators_agree(validator: SpecValidator, full_validator: SpecValidator) -> None:
    page = samples.cluster_summary_page()
    page["items"][0]["specSummary"]["clusterProfileTemplates"][0]["packs"][0].pop("layer")
    assert validator.errors("v1SpectroClustersSummary", page) == full_validator.errors(
        "v1SpectroClustersSummary", page
    )
    assert validator.errors("v1SpectroClustersSummary", page) != []


@pytest.mark.parametrize("strict", MODES)
def test_realistic_cluster_summary_page_passes(validator: SpecValidator, strict: bool) -> None:
    assert validator.errors("v1SpectroClustersSummary", samples.cluster_summary_page(), strict) == []


@pytest.mark.parametrize("strict", MODES)
def test_aws_create_body_without_cloud_type_passes(validator: SpecValidator, strict: bool) -> None:
    body = samples.aws_create_body()
    assert "cloudType" not in body["spec"]
    assert validator.errors("v1SpectroAwsClusterEntity", body, strict) == []


def test_zero_time_passes_and_a_bad_date_is_caught(validator: SpecValidator) -> None:
    meta = samples.metadata("u1", "n1")
    assert meta["deletionTimestamp"] == samples.ZERO_TIME
    assert validator.errors("v1ObjectMeta", meta) == []
    meta["lastModifiedTimestamp"] = "2024-05-03 11:30"
    assert validator.errors("v1ObjectMeta", meta) == ["lastModifiedTimestamp: not a valid date-time"]


def test_pack_without_layer_is_caught(validator: SpecValidator) -> None:
    page = samples.cluster_summary_page()
    page["items"][1]["specSummary"]["clusterProfileTemplates"][0]["packs"][1].pop("layer")
    assert validator.errors("v1SpectroClustersSummary", page) == [
        "items.1.specSummary.clusterProfileTemplates.0.packs.1: 'layer' is a required property"
    ]


def test_items_null_is_caught(validator: SpecValidator) -> None:
    page = samples.cluster_summary_page()
    page["items"] = None
    assert validator.errors("v1SpectroClustersSummary", page) == ['items: expected "array", got null']


def test_duplicate_list_items_are_caught(validator: SpecValidator) -> None:
    page = samples.cluster_summary_page(1)
    page["items"].append(page["items"][0])
    assert validator.errors("v1SpectroClustersSummary", page) == ["items: has non-unique elements"]


def test_meta_item_without_status_state_is_caught(validator: SpecValidator) -> None:
    items = [samples.cluster_meta(0), samples.cluster_meta(1)]
    assert validator.errors("v1SpectroClustersMeta", items) == []
    items[1]["status"] = {}
    assert validator.errors("v1SpectroClustersMeta", items) == ["1.status: 'state' is a required property"]
    assert validator.errors("v1SpectroClustersMeta", {"items": items}) == [
        '(root): expected "array", got object'
    ]


def test_machine_pool_without_labels_is_caught(validator: SpecValidator) -> None:
    body = samples.aws_create_body()
    del body["spec"]["machinepoolconfig"][1]["poolConfig"]["labels"]
    assert validator.errors("v1SpectroAwsClusterEntity", body) == [
        "spec.machinepoolconfig.1.poolConfig: 'labels' is a required property"
    ]


def test_sort_field_memory_usage_is_caught_but_null_is_allowed(validator: SpecValidator) -> None:
    assert validator.errors("v1SearchFilterSummarySpec", samples.search_body()) == []
    errors = validator.errors("v1SearchFilterSummarySpec", samples.search_body("memoryUsage"))
    assert len(errors) == 1
    assert errors[0].startswith("sort.0.field: string value not one of [")
    assert "lastModifiedTimestamp" in errors[0]
    body = samples.search_body()
    body["sort"][0]["field"] = None  # x-nullable enum
    body["filter"]["conjunction"] = None
    assert validator.errors("v1SearchFilterSummarySpec", body) == []


def test_v1_error_details_null_is_caught(validator: SpecValidator) -> None:
    good = {"code": "ResourceNotFound", "message": "cluster not found", "ref": "r-1", "details": {}}
    assert validator.errors("v1Error", good, strict=True) == []
    assert validator.errors("v1Error", {**good, "details": None}) == ['details: expected "object", got null']


def test_strict_mode_catches_a_misspelled_field_in_a_response(validator: SpecValidator) -> None:
    page = samples.cluster_summary_page(1)
    page["items"][0]["status"]["healthy"] = True
    assert validator.errors("v1SpectroClustersSummary", page) == []
    assert validator.errors("v1SpectroClustersSummary", page, strict=True) == [
        "items.0.status: Additional properties are not allowed ('healthy' was unexpected)"
    ]


def test_messages_are_sorted_stable_and_never_echo_instance_strings(validator: SpecValidator) -> None:
    secret = "s3cr3t-value-do-not-echo"
    body = samples.aws_create_body()
    body["spec"]["machinepoolconfig"][0]["poolConfig"]["size"] = secret
    body["spec"]["clusterType"] = secret
    body["metadata"]["creationTimestamp"] = secret
    body["spec"]["cloudConfig"]["region"] = {"password": secret}
    errors = validator.errors("v1SpectroAwsClusterEntity", body)
    assert errors == sorted(errors)
    assert errors == validator.errors("v1SpectroAwsClusterEntity", body)
    assert len(errors) == 4
    assert all(secret not in line for line in errors)
    assert 'spec.machinepoolconfig.0.poolConfig.size: expected "integer", got string' in errors
    login = {"emailId": "a@b.c", "org": "acme", "password": 12345}
    assert validator.errors("v1AuthLogin", login) == ['password: expected "string", got integer']


def test_validate_raises_with_the_sorted_errors(validator: SpecValidator) -> None:
    validator.validate("v1Uid", {"uid": "abc"})
    with pytest.raises(SchemaValidationError) as caught:
        validator.validate("v1Uid", {"uid": 5, "extra": True}, strict=True)
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.definition == "v1Uid"
    assert err.errors == validator.errors("v1Uid", {"uid": 5, "extra": True}, strict=True)
    assert len(err.errors) == 2
    assert str(err).startswith("v1Uid: 2 schema violation(s): ")


def test_unknown_definition_is_a_key_error(validator: SpecValidator) -> None:
    with pytest.raises(KeyError, match="v1NoSuchThing"):
        validator.errors("v1NoSuchThing", {})
    assert "v1Error" in validator
    assert "v1NoSuchThing" not in validator


def test_validators_and_the_default_instance_are_cached(validator: SpecValidator) -> None:
    assert load_validator() is load_validator()
    assert validator.validator("v1Uid") is validator.validator("v1Uid")
    assert validator.validator("v1Uid") is not validator.validator("v1Uid", strict=True)
    assert validator.definitions() is validator.definitions()


def test_load_validator_from_an_explicit_bundle(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text('{"definitions": {"T": {"type": "integer"}}, "operations": []}', encoding="utf-8")
    custom = load_validator(path)
    assert custom.names == frozenset({"T"})
    assert custom.errors("T", "x") == ['(root): expected "integer", got string']
    assert custom.errors("T", 3) == []


def _timed(fn: Any, runs: int = 40) -> float:
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def test_creation_bodies_validate_fast(validator: SpecValidator) -> None:
    body = samples.aws_create_body()
    validator.errors("v1SpectroAwsClusterEntity", body)  # warm the cache
    assert _timed(lambda: validator.errors("v1SpectroAwsClusterEntity", body)) < 0.005
    assert _timed(lambda: validator.errors("v1SpectroAwsClusterEntity", body, strict=True)) < 0.005
