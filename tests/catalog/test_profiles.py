"""Profile families: semver order, version union, the latest version, version lookup (I4, I12, I13)."""

from __future__ import annotations

import random

import pytest

from ingestor.catalog.profiles import build_families, index_versions, kubernetes_by_version, version_key
from ingestor.palette.models import ClusterProfileSummary

from .builders import profile


def test_semver_aware_order() -> None:
    versions = [
        "1.10.0",
        "1.9.0",
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.0-rc.10",
        "1.0.0-rc.2",
        "1.0.0-alpha",
        "v2.0",
        "",
        "latest",
    ]
    ordered = sorted(versions, key=version_key)
    assert ordered == [
        "",
        "latest",
        "1.0.0-alpha",
        "1.0.0-rc.1",
        "1.0.0-rc.2",
        "1.0.0-rc.10",
        "1.0.0",
        "1.9.0",
        "1.10.0",
        "v2.0",
    ]


@pytest.mark.parametrize(("low", "high"), [("1.2", "1.2.1"), ("1.0.0+build.9", "1.0.1"), ("0.9", "0.10")])
def test_semver_pairs(low: str, high: str) -> None:
    assert version_key(low) < version_key(high)


def test_missing_version_sorts_first() -> None:
    assert version_key(None) == version_key("") < version_key("0.0.1")


def family_items() -> list[ClusterProfileSummary]:
    versions = [("u1", "1.0.0"), ("u9", "1.9.0"), ("u10", "1.10.0")]
    return [
        profile("u10", "Base", "1.10.0", versions, k8s="1.30.1"),
        profile("u9", "Base", "1.9.0", versions[:2], k8s="1.29.0"),  # an older item listing fewer versions
        profile("u1", "Base", "1.0.0", [("u1", "1.0.0"), ("u-extra", "0.9.0")]),
        profile("p1", "Base", "3.0.0", [("p1", "3.0.0")], project="proj-a"),  # same name, another project
        profile("s1", "Base", "1.0.0", [("s1", "1.0.0")], scope="system"),
    ]


def test_one_family_per_scope_project_and_name() -> None:
    families = build_families(family_items())
    assert [f.key for f in families] == ["project:proj-a:Base", "system::Base", "tenant::Base"]


def test_versions_are_the_union_over_items_sorted() -> None:
    tenant = build_families(family_items())[-1]
    assert [(v.uid, v.version) for v in tenant.versions] == [
        ("u-extra", "0.9.0"),
        ("u1", "1.0.0"),
        ("u9", "1.9.0"),
        ("u10", "1.10.0"),
    ]
    assert tenant.latest.uid == "u10"
    assert tenant.representative.uid == "u10"


def test_representative_when_the_latest_version_has_no_item() -> None:
    items = [profile("a", "X", "1.0.0", [("a", "1.0.0"), ("b", "2.0.0")]), profile("c", "X", "1.5.0", [])]
    family = build_families(items)[0]
    assert family.latest.uid == "b"
    assert family.representative.uid == "c"  # the newest item we have


def test_families_do_not_depend_on_item_order() -> None:
    items = family_items()
    expected = build_families(items)
    for seed in range(5):
        random.Random(seed).shuffle(items)
        assert build_families(items) == expected


def test_every_version_uid_resolves_to_its_family() -> None:
    families = build_families(family_items())
    index = index_versions(families)
    assert {uid: hit.family.key for uid, hit in index.items()} == {
        "u-extra": "tenant::Base",
        "u1": "tenant::Base",
        "u9": "tenant::Base",
        "u10": "tenant::Base",
        "p1": "project:proj-a:Base",
        "s1": "system::Base",
    }
    assert index["u9"].version.version == "1.9.0"


def test_kubernetes_version_per_version_uid() -> None:
    assert kubernetes_by_version(family_items()) == {"u10": "1.30.1", "u9": "1.29.0"}
