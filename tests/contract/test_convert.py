"""The swagger -> draft-4 conversion rules of palette-api.md 7.1, one by one, on small synthetic schemas."""

from __future__ import annotations

import copy
from typing import Any

from ingestor.palette.schema import SpecValidator, convert_definitions, convert_schema, schema_for


def test_x_omitempty_is_stripped_everywhere() -> None:
    node = {
        "type": "object",
        "x-omitempty": False,
        "properties": {"count": {"type": "integer", "x-omitempty": False}},
        "items": {"type": "string", "x-omitempty": True},
    }
    out = convert_schema(node)
    assert out == {
        "type": "object",
        "properties": {"count": {"type": "integer"}},
        "items": {"type": "string"},
    }


def test_x_nullable_on_a_typed_node_adds_null_to_type_and_enum() -> None:
    out = convert_schema({"type": "string", "enum": ["and", "or"], "x-nullable": True})
    assert out == {"type": ["string", "null"], "enum": ["and", "or", None]}


def test_x_nullable_on_a_ref_wraps_it_in_any_of_and_keeps_the_description() -> None:
    out = convert_schema(
        {"$ref": "#/definitions/A", "description": "d", "x-nullable": True, "type": "string"}
    )
    assert out == {"anyOf": [{"$ref": "#/definitions/A"}, {"type": "null"}], "description": "d"}


def test_x_nullable_false_is_removed_without_admitting_null() -> None:
    assert convert_schema({"type": "string", "x-nullable": False}) == {"type": "string"}


def test_other_vendor_keys_are_dropped_at_every_level() -> None:
    node = {
        "type": "object",
        "x-go-name": "Thing",
        "x-order": 3,
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string", "x-go-name": "L"}},
            "list": {"type": "array", "items": {"type": "string", "x-kubernetes-list-type": "set"}},
            "any": {"anyOf": [{"type": "string", "x-Features": "a"}], "not": {"type": "null", "x-y": 1}},
        },
    }
    out = convert_schema(node)
    assert out == {
        "type": "object",
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "list": {"type": "array", "items": {"type": "string"}},
            "any": {"anyOf": [{"type": "string"}], "not": {"type": "null"}},
        },
    }


def test_property_names_are_data_not_keywords() -> None:
    node = {
        "type": "object",
        "properties": {
            "x-custom": {"type": "string"},
            "required": {"type": "boolean"},
            "type": {"type": "string"},
        },
        "required": ["type"],
    }
    out = convert_schema(node)
    assert set(out["properties"]) == {"x-custom", "required", "type"}
    assert out["properties"]["required"] == {"type": "boolean"}
    assert out["required"] == ["type"]


def test_ref_siblings_are_removed_except_description() -> None:
    out = convert_schema(
        {"$ref": "#/definitions/A", "type": "string", "x-omitempty": False, "description": "d"}
    )
    assert out == {"$ref": "#/definitions/A", "description": "d"}
    assert convert_schema({"$ref": "#/definitions/A", "format": "date-time"}) == {"$ref": "#/definitions/A"}


def test_required_is_pruned_to_declared_properties() -> None:
    node = {"properties": {"a": {}, "b": {}}, "required": ["cloudType", "b", "a"]}
    assert convert_schema(node)["required"] == ["b", "a"]


def test_required_disappears_when_nothing_declared_remains() -> None:
    assert "required" not in convert_schema({"properties": {"a": {}}, "required": ["cloudType"]})
    assert "required" not in convert_schema({"type": "object", "required": ["x"]})


def test_type_file_becomes_string() -> None:
    assert convert_schema({"type": "file"}) == {"type": "string"}
    assert convert_schema({"type": ["file", "null"]}) == {"type": ["string", "null"]}


def test_strict_mode_closes_every_node_with_properties() -> None:
    node = {
        "properties": {
            "inner": {"type": "object", "properties": {"a": {"type": "string"}}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "mixed": {"properties": {"a": {}}, "additionalProperties": {"type": "object"}},
        }
    }
    out = convert_schema(node, strict=True)
    assert out["type"] == "object"
    assert out["additionalProperties"] is False
    assert out["properties"]["inner"]["additionalProperties"] is False
    # A string map has no properties: it stays open.
    assert out["properties"]["map"]["additionalProperties"] == {"type": "string"}
    # A declared additionalProperties schema is kept, not overridden.
    assert out["properties"]["mixed"]["additionalProperties"] == {"type": "object"}


def test_normal_mode_leaves_objects_open() -> None:
    out = convert_schema({"properties": {"a": {"type": "string"}}})
    assert out == {"properties": {"a": {"type": "string"}}}


def test_conversion_does_not_modify_its_input() -> None:
    node: dict[str, Any] = {
        "properties": {"a": {"$ref": "#/definitions/A", "x-nullable": True, "type": "string"}},
        "required": ["a", "ghost"],
        "x-go-name": "N",
    }
    before = copy.deepcopy(node)
    convert_schema(node, strict=True)
    assert node == before


def test_convert_definitions_keeps_names_exactly() -> None:
    defs = {"v1APIEndpoint": {"type": "object"}, "v1ApiEndpoint": {"type": "string"}, "v1.Dotted": {}}
    out = convert_definitions(defs)
    assert list(out) == list(defs)
    assert schema_for(out, "v1.Dotted")["$ref"] == "#/definitions/v1.Dotted"


def _synthetic() -> SpecValidator:
    return SpecValidator(
        {
            "Entity": {
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["cloudType", "region"],
                        "properties": {"region": {"type": "string"}, "when": {"$ref": "#/definitions/Time"}},
                    },
                    "order": {"$ref": "#/definitions/Order", "x-nullable": True},
                },
                "type": "object",
            },
            "Order": {"type": "string", "enum": ["asc", "desc"]},
            "Time": {"type": "string", "format": "date-time"},
        }
    )


def test_converted_rules_change_validation_outcomes() -> None:
    v = _synthetic()
    assert v.errors("Entity", {"spec": {"region": "r"}, "order": None}) == []
    assert v.errors("Entity", {"spec": {}}) == ["spec: 'region' is a required property"]
    assert v.errors("Entity", {"order": "up"}) == ['order: string value not one of ["asc", "desc"]']
    assert v.errors("Entity", {"spec": {"region": "r", "when": "2024-13-01T00:00:00Z"}}) == [
        "spec.when: not a valid date-time"
    ]


def test_strict_validation_rejects_undeclared_fields_only_in_strict_mode() -> None:
    v = _synthetic()
    body = {"spec": {"region": "r", "regoin": "typo"}}
    assert v.errors("Entity", body) == []
    assert v.errors("Entity", body, strict=True) == [
        "spec: Additional properties are not allowed ('regoin' was unexpected)"
    ]
