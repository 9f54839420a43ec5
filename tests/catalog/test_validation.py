"""Backstage's validity rules, rule by rule (backstage.md 1.2-1.4), and a cross-check with the real one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestor.catalog import validation as v

from .conftest import Validate


def resource(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": "my-cluster", "annotations": {"example.com/id": "1"}, "tags": ["a"]},
        "spec": {"type": "spectrocloud-cluster", "owner": "group:default/team", **spec},
    }


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("a", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("", False),
        ("My_Svc.v2", True),
        ("a..b", True),
        ("-a", False),
        ("a-", False),
        ("a_", False),
        ("a:b", False),
        ("a/b", False),
        ("a b", False),
        ("é", False),
        (5, False),
    ],
)
def test_object_name(name: object, ok: bool) -> None:
    assert v.is_valid_entity_name(name) is ok
    assert v.is_valid_label_value(name) is (ok or name == "")


def test_label_value_may_be_empty() -> None:
    assert v.is_valid_label_value("")
    assert not v.is_valid_entity_name("")


@pytest.mark.parametrize(
    ("namespace", "ok"),
    [
        ("default", True),
        ("a--b", True),
        ("A", False),
        ("a_b", False),
        ("a.b", False),
        ("-a", False),
        ("a" * 64, False),
    ],
)
def test_namespace(namespace: str, ok: bool) -> None:
    assert v.is_valid_namespace(namespace) is ok


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("plain-key", True),
        ("terasky.backstage.io/cluster-profile-refs", True),
        ("backstage.io/managed-by-location", True),
        ("Example.com/x", False),  # upper-case prefix
        ("a/b/c", False),  # two slashes
        ("example.com/", False),
        ("/x", False),
        ("example..com/x", False),  # empty DNS label
        ("ex_ample.com/x", False),
        ("example.com/Under_Score.ok", True),
        ("example.com/" + "n" * 64, False),
        ("-bad.com/x", False),
        ("a" * 64 + ".com/x", False),  # label longer than 63
        (".".join(["a" * 63] * 4) + "/x", False),  # prefix longer than 253
        (None, False),
    ],
)
def test_annotation_and_label_keys(key: object, ok: bool) -> None:
    assert v.is_valid_annotation_key(key) is ok
    assert v.is_valid_label_key(key) is ok


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("c++", True),
        ("c#", True),
        ("team:core", True),
        ("edge-native", True),
        ("Python", False),
        ("a_b", False),
        ("a.b", False),
        ("a--b", False),
        ("-a", False),
        ("", False),
        ("a" * 64, False),
    ],
)
def test_tag(tag: str, ok: bool) -> None:
    assert v.is_valid_tag(tag) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("backstage.io/v1alpha1", True),
        ("v1", True),
        ("my-company.net/v1", True),
        ("1.0", False),  # '.' is not allowed in the suffix
        ("Backstage.io/v1", False),
        ("a/b/c", False),
        ("backstage.io/", False),
        ("backstage.io/v_1", False),
    ],
)
def test_api_version(value: str, ok: bool) -> None:
    assert v.is_valid_api_version(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("Resource", True), ("a1", True), ("1a", False), ("Re-source", False), ("", False)]
)
def test_kind(value: str, ok: bool) -> None:
    assert v.is_valid_kind(value) is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://console.example.com/projects/p1/clusters/c1/overview", True),
        ("http://127.0.0.1:8080/x", True),
        ("https://[::1]:8443/x", True),
        ("mailto:team@example.com", True),
        ("  https://example.com/a b  ", True),  # trimmed; the path is percent-encoded by URL()
        ("https://exa\tmple.com", True),  # tabs and newlines are dropped by URL()
        ("console.example.com/x", False),  # no scheme
        ("/relative/path", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("https://example.com:99999", False),
        ("https://example.com:port", False),
        ("1http://example.com", False),
        (42, False),
    ],
)
def test_url(url: object, ok: bool) -> None:
    assert v.is_valid_url(url) is ok


@pytest.mark.parametrize(
    ("ref", "default_kind", "expected"),
    [
        ("resource:default/x", None, "resource:default/x"),
        ("resource:x", None, "resource:default/x"),
        ("default/x", "Group", "group:default/x"),
        ("x", "Group", "group:default/x"),
        ("ns/a:b", "Group", "group:ns/a:b"),  # a '/' before the ':' means no kind
        ("Resource:Default/X", None, "resource:default/x"),
    ],
)
def test_parse_entity_ref(ref: str, default_kind: str | None, expected: str) -> None:
    assert str(v.parse_entity_ref(ref, default_kind)) == expected


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("vault", "had missing or empty kind"),
        (":x", "was not on the form"),
        ("resource:/x", "was not on the form"),
        ("resource:default/", "was not on the form"),
        ("", "must not be empty"),
    ],
)
def test_parse_entity_ref_errors(ref: str, message: str) -> None:
    with pytest.raises(v.RefError, match=message):
        v.parse_entity_ref(ref)


def test_a_well_formed_resource_and_system_are_valid() -> None:
    assert v.validate_entity(resource(system="system:default/p", dependsOn=["resource:default/x"])) == []
    system = resource()
    system["kind"] = "System"
    system["spec"] = {"owner": "user:default/me", "type": "spectrocloud-project", "lifecycle": "production"}
    assert v.validate_entity(system) == []


def _broken(change: str) -> dict[str, Any]:
    entity = resource()
    meta = entity["metadata"]
    changes: dict[str, Callable[[], object]] = {
        "root key": lambda: entity.update(relations=[]),
        "no metadata": lambda: entity.pop("metadata"),
        "no apiVersion": lambda: entity.pop("apiVersion"),
        "bad apiVersion": lambda: entity.update(apiVersion="backstage.io/v2beta"),
        "foreign apiVersion": lambda: entity.update(apiVersion="example.com/v1"),
        "bad kind": lambda: entity.update(kind="Re-source"),
        "unknown kind": lambda: entity.update(kind="Component"),
        "long name": lambda: meta.update(name="n" * 64),
        "no name": lambda: meta.pop("name"),
        "namespace": lambda: meta.update(namespace="Default"),
        "annotation key": lambda: meta["annotations"].update({"Example.com/x": "1"}),
        "annotation value": lambda: meta["annotations"].update({"example.com/port": 8080}),
        "label key": lambda: meta.update(labels={"a/b/c": "x"}),
        "label value": lambda: meta.update(labels={"team": "a b"}),
        "tag": lambda: meta.update(tags=["Python"]),
        "tags type": lambda: meta.update(tags="python"),
        "empty title": lambda: meta.update(title=""),
        "description type": lambda: meta.update(description=3),
        "link url": lambda: meta.update(links=[{"url": "not a url"}]),
        "link title": lambda: meta.update(links=[{"url": "https://x.example", "title": " "}]),
        "link icon": lambda: meta.update(links=[{"url": "https://x.example", "icon": ""}]),
        "spec type": lambda: entity["spec"].pop("type"),
        "spec owner": lambda: entity["spec"].update(owner=""),
        "no spec": lambda: entity.pop("spec"),
        "dependsOn without kind": lambda: entity["spec"].update(dependsOn=["vault"]),
        "dependsOn type": lambda: entity["spec"].update(dependsOn="resource:default/x"),
        "system ref": lambda: entity["spec"].update(system="system:/x"),
        "owner ref": lambda: entity["spec"].update(owner="group:default/"),
    }
    changes[change]()
    return entity


@pytest.mark.parametrize(
    "change",
    [
        "root key",
        "no metadata",
        "no apiVersion",
        "bad apiVersion",
        "foreign apiVersion",
        "bad kind",
        "unknown kind",
        "long name",
        "no name",
        "namespace",
        "annotation key",
        "annotation value",
        "label key",
        "label value",
        "tag",
        "tags type",
        "empty title",
        "description type",
        "link url",
        "link title",
        "link icon",
        "spec type",
        "spec owner",
        "no spec",
        "dependsOn without kind",
        "dependsOn type",
        "system ref",
        "owner ref",
    ],
)
def test_each_broken_rule_is_reported(change: str) -> None:
    assert v.validate_entity(_broken(change)), change


def test_system_owner_is_required_and_type_is_optional() -> None:
    system = resource()
    system["kind"] = "System"
    system["spec"] = {"type": "x"}
    assert any("owner" in e for e in v.validate_entity(system))
    system["spec"] = {"owner": "team"}
    assert v.validate_entity(system) == []


def test_non_objects_are_rejected() -> None:
    assert v.validate_entity([]) == ["entity must be an object"]
    entity = resource()
    entity["metadata"] = "x"
    assert v.validate_entity(entity)


CROSS_CHECK = [
    "root key",
    "bad apiVersion",
    "unknown kind",
    "long name",
    "namespace",
    "annotation key",
    "annotation value",
    "label value",
    "tag",
    "empty title",
    "link url",
    "link title",
    "spec type",
    "dependsOn without kind",
    "system ref",
    "owner ref",
]


def test_python_and_backstage_validators_agree(backstage_validate: Validate, tmp_path: Path) -> None:
    """Every case accepted or rejected by ours is accepted or rejected by Backstage's own code."""
    cases = [resource(dependsOn=["resource:default/x"])] + [_broken(change) for change in CROSS_CHECK]
    path = tmp_path / "cases.yaml"
    path.write_text("".join(f"---\n{json.dumps(c)}\n" for c in cases))
    done = backstage_validate(path)
    verdicts = [line.startswith("OK") for line in done.stdout.splitlines() if line[:4] in ("OK  ", "FAIL")]
    assert verdicts == [not v.validate_entity(c) for c in cases], done.stdout
