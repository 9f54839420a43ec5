"""Names: the anchor's scheme, hashed fallbacks, collisions, stored names, order independence (I2, I5, I7)."""

from __future__ import annotations

import random

import pytest

from ingestor.catalog.naming import (
    NameRequest,
    assign_names,
    entity_ref,
    hashed_name,
    name_hash,
    ownership,
    sanitize,
    sanitize_tag,
)
from ingestor.catalog.validation import is_valid_entity_name, is_valid_tag
from ingestor.palette.models import ObjectMeta


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Payments", "payments"),
        ("eks_01", "eks-01"),
        ("Base K8s", "base-k8s"),
        ("--a__b--", "a-b"),
        ("a.b/c:d", "a-b-c-d"),
        ("Ünïcode", "n-code"),
        ("___", ""),
        ("", ""),
    ],
)
def test_sanitize_follows_the_anchor(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Edge_Native", "edge-native"), ("AWS", "aws"), ("c++", "c++"), ("a..b", "a-b"), ("!!!", "")],
)
def test_sanitize_tag(raw: str, expected: str) -> None:
    assert sanitize_tag(raw) == expected
    assert expected == "" or is_valid_tag(expected)


def test_sanitize_tag_is_never_longer_than_63() -> None:
    tag = sanitize_tag("x" * 62 + "-y" * 5)
    assert len(tag) <= 63 and is_valid_tag(tag)


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"scope": "project", "projectUid": "p1"}, ("project", "p1")),
        ({"projectUid": "p1"}, ("project", "p1")),  # missing scope: project when it has a project
        ({}, ("tenant", None)),  # ...else tenant: one default for names and relations (I5)
        ({"scope": "project"}, ("tenant", None)),  # project scope without a project
        ({"scope": "tenant", "projectUid": "p1"}, ("tenant", None)),
        ({"scope": "System"}, ("system", None)),
        ({"scope": "weird", "projectUid": "p1"}, ("project", "p1")),
    ],
)
def test_ownership(annotations: dict[str, str], expected: tuple[str, str | None]) -> None:
    owner = ownership(ObjectMeta(uid="u", name="n", annotations=annotations))
    assert (owner.scope, owner.project_uid) == expected


def test_ownership_uses_the_hint_when_the_annotation_is_missing() -> None:
    assert ownership(ObjectMeta(annotations={}), "system").scope == "system"


def req(kind: str, key: str, *parts: str, backstage_kind: str = "Resource") -> NameRequest:
    return NameRequest(kind, key, backstage_kind, parts)


def test_anchor_examples() -> None:
    requests = [
        req("project", "p1", "Payments", backstage_kind="System"),
        req("cluster", "c1", "Payments", "eks_01"),
        req("cluster-profile", "tenant::Base K8s", "tenant", "Base K8s"),
        req("cluster-group", "g1", "system", "beehive"),
    ]
    names = assign_names(requests, "prod", {}).names
    assert names == {
        ("project", "p1"): "prod-payments",
        ("cluster", "c1"): "prod-payments-eks-01",
        ("cluster-profile", "tenant::Base K8s"): "prod-tenant-base-k8s",
        ("cluster-group", "g1"): "prod-system-beehive",  # I7: not tenant-
    }
    assert assign_names(requests[:1], None, {}).names == {("project", "p1"): "payments"}


def test_sanitized_instance_prefix() -> None:
    assert assign_names([req("cluster", "c", "tenant", "x")], "My.Prod", {}).names[("cluster", "c")] == (
        "my-prod-tenant-x"
    )


def test_collision_keeps_both_objects_with_distinct_valid_names_and_reports_info() -> None:
    result = assign_names(
        [req("cluster", "u2", "tenant", "a_b"), req("cluster", "u1", "tenant", "a-b")], "prod", {}
    )
    assert result.names[("cluster", "u1")] == "prod-tenant-a-b"  # the exact spelling wins the tie
    loser = result.names[("cluster", "u2")]
    assert loser.startswith("prod-tenant-a-b-") and loser != "prod-tenant-a-b" and is_valid_entity_name(loser)
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.palette_kind, problem.key, problem.name, problem.level) == (
        "cluster",
        "u2",
        loser,
        "info",
    )
    assert "already used by cluster u1" in problem.reason


def test_collision_between_split_points() -> None:
    """``foo-bar`` + ``baz`` vs ``foo`` + ``bar-baz`` (I2)."""
    requests = [req("cluster", "c1", "foo-bar", "baz"), req("cluster", "c2", "foo", "bar-baz")]
    names = assign_names(requests, None, {}).names
    assert len({n.lower() for n in names.values()}) == 2


def test_clusters_outrank_profiles_for_a_shared_name() -> None:
    requests = [req("cluster-profile", "project:p:demo", "pay", "demo"), req("cluster", "zz", "pay", "demo")]
    names = assign_names(requests, None, {}).names
    assert names[("cluster", "zz")] == "pay-demo"
    assert names[("cluster-profile", "project:p:demo")] != "pay-demo"


def test_names_are_unique_per_backstage_kind_only() -> None:
    """A System and a Resource may share a name: their refs differ."""
    requests = [req("project", "p", "tenant-x", backstage_kind="System"), req("cluster", "c", "tenant", "x")]
    names = assign_names(requests, None, {}).names
    assert names[("project", "p")] == names[("cluster", "c")] == "tenant-x"


def test_too_long_names_are_truncated_with_a_stable_hash() -> None:
    long = "n" * 80
    result = assign_names([req("cluster", "c1", "tenant", long)], "prod", {})
    name = result.names[("cluster", "c1")]
    assert len(name) == 63 and is_valid_entity_name(name)
    assert name == hashed_name("prod-tenant-" + long, name_hash("prod", "cluster", "c1"))
    assert name.startswith("prod-tenant-nnn")
    assert "longer than 63" in result.problems[0].reason


def test_a_name_that_sanitizes_to_empty_gets_a_kind_and_a_hash() -> None:
    result = assign_names([req("cluster", "c1", "pay", "!!!"), req("project", "p", "___")], "prod", {})
    assert result.names[("cluster", "c1")] == "prod-pay-cluster-" + name_hash("prod", "cluster", "c1")
    assert result.names[("project", "p")] == "prod-project-" + name_hash("prod", "project", "p")
    assert all("no usable characters" in p.reason for p in result.problems)


def test_hash_depends_on_instance_kind_and_key() -> None:
    digests = {
        name_hash(i, k, u) for i in ("a", "b", None) for k in ("cluster", "project") for u in ("1", "2")
    }
    assert len(digests) == 12
    assert name_hash("a", "cluster", "1") == name_hash("a", "cluster", "1")


def test_stored_names_are_kept_even_when_the_scheme_would_differ() -> None:
    known = {("cluster", "c1"): "prod-tenant-old-name"}
    result = assign_names([req("cluster", "c1", "tenant", "new-name")], "prod", known)
    assert result.names[("cluster", "c1")] == "prod-tenant-old-name"
    assert result.problems == []


def test_a_newcomer_never_takes_an_existing_name() -> None:
    """The object the store already named ``prod-tenant-a-b`` keeps it, even though ``a-b`` is exact."""
    known = {("cluster", "old"): "prod-tenant-a-b"}
    requests = [req("cluster", "old", "tenant", "a_b"), req("cluster", "new", "tenant", "a-b")]
    result = assign_names(requests, "prod", known)
    assert result.names[("cluster", "old")] == "prod-tenant-a-b"
    assert result.names[("cluster", "new")].startswith("prod-tenant-a-b-")


def test_names_differing_only_by_case_collide() -> None:
    known = {("cluster", "a"): "Prod-Tenant-X", ("cluster", "b"): "prod-tenant-x"}
    requests = [req("cluster", "a", "tenant", "x"), req("cluster", "b", "tenant", "y")]
    result = assign_names(requests, "prod", known)
    assert result.names[("cluster", "a")] == "Prod-Tenant-X"
    assert result.names[("cluster", "b")] == "prod-tenant-y"
    assert "held by cluster a" in result.problems[0].reason
    assert entity_ref("Resource", "Prod-Tenant-X") == "resource:default/prod-tenant-x"


def test_invalid_stored_names_are_replaced() -> None:
    result = assign_names([req("cluster", "a", "tenant", "x")], None, {("cluster", "a"): "-bad-"})
    assert result.names[("cluster", "a")] == "tenant-x"
    assert "not a valid name" in result.problems[0].reason


def test_assignment_does_not_depend_on_input_order() -> None:
    requests = [
        req("cluster", f"u{i}", "tenant", name)
        for i, name in enumerate(["a_b", "a-b", "a.b", "A B", "x" * 90])
    ]
    requests += [
        req("cluster-profile", "tenant::a-b", "tenant", "a-b"),
        req("project", "p", "a-b", backstage_kind="System"),
    ]
    expected = assign_names(requests, "i", {})
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(requests)
        again = assign_names(requests, "i", {})
        assert again.names == expected.names
        assert sorted(again.problems, key=repr) == sorted(expected.problems, key=repr)


def test_hashed_names_stay_unique_under_many_collisions() -> None:
    requests = [req("cluster", f"uid-{i}", "tenant", "same name") for i in range(500)]
    names = assign_names(requests, "prod", {}).names
    assert len({n.lower() for n in names.values()}) == 500
    assert all(is_valid_entity_name(n) for n in names.values())
