"""Properties of the mapping over a generated simulator tenant (realistic shapes, many objects)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from ingestor.catalog import InstanceInventory, MappingOptions, MappingResult, map_inventory, render_yaml
from ingestor.catalog.validation import validate_entity

from .builders import cluster
from .conftest import Validate
from .sim_inventory import dataset, inventory_from


@pytest.fixture(scope="module")
def inv() -> InstanceInventory:
    return inventory_from(dataset(projects=8, clusters_per_project=12, virtual_clusters=3, cluster_groups=3))


@pytest.fixture(scope="module")
def result(inv: InstanceInventory) -> MappingResult:
    return map_inventory(inv, MappingOptions())


def test_everything_is_emitted_valid_and_unique(inv: InstanceInventory, result: MappingResult) -> None:
    assert [p for p in result.problems if p.level == "error"] == []
    counts = {
        k: sum(e.palette_kind == k for e in result.entities)
        for k in ("project", "cluster", "virtual-cluster")
    }
    assert counts == {
        "project": 8,
        "cluster": len(inv.clusters),
        "virtual-cluster": len(inv.virtual_clusters),
    }
    assert len({e.ref for e in result.entities}) == len(result.entities)
    assert all(validate_entity(e.body) == [] for e in result.entities)


def test_every_relation_resolves(result: MappingResult) -> None:
    refs = {e.ref for e in result.entities}
    for entity in result.entities:
        targets = entity.body["spec"].get("dependsOn", []) + [entity.body["spec"].get("system") or ""]
        assert all(t in refs for t in targets if t)
    uses = [e for e in result.edges if e.relation == "uses-profile-version"]
    assert uses and all(e.dst_ref is not None and e.profile_key and e.version for e in uses)


def test_each_cluster_depends_on_the_families_of_its_versions(
    inv: InstanceInventory, result: MappingResult
) -> None:
    by_version = {v.version_uid: v.profile_ref for v in result.profile_versions}
    entities = {e.key: e for e in result.entities}
    for summary in inv.clusters:
        expected = list(dict.fromkeys(by_version[uid] for uid in summary.profile_version_uids))
        assert entities[summary.uid].body["spec"].get("dependsOn", []) == expected


def test_the_search_shape_does_not_matter(result: MappingResult) -> None:
    """One item per family (what the search returns) or every version: the same entities."""
    every = map_inventory(
        inventory_from(
            dataset(projects=8, clusters_per_project=12, virtual_clusters=3, cluster_groups=3),
            every_version=True,
        ),
        MappingOptions(),
    )
    assert every.entities == result.entities
    assert every.profile_versions == result.profile_versions


def test_input_order_does_not_matter(inv: InstanceInventory, result: MappingResult) -> None:
    rng = random.Random(11)
    clusters, profiles = list(inv.clusters), list(inv.profiles)
    rng.shuffle(clusters)
    rng.shuffle(profiles)
    again = map_inventory(replace(inv, clusters=clusters[::-1], profiles=profiles), MappingOptions())
    assert render_yaml([e.body for e in again.entities]) == render_yaml([e.body for e in result.entities])
    assert again == result


def test_names_survive_a_newcomer_that_wants_them(inv: InstanceInventory, result: MappingResult) -> None:
    known = {(e.palette_kind, e.key): e.name for e in result.entities}
    victim = next(c for c in inv.clusters if c.metadata.annotations.get("scope") == "project")
    project_uid = victim.metadata.annotations["projectUid"]
    twin = cluster("zz-newcomer", victim.name.upper().replace("-", "_"), project=project_uid)
    later = map_inventory(replace(inv, clusters=[*inv.clusters, twin]), MappingOptions(), known)
    names = {(e.palette_kind, e.key): e.name for e in later.entities}
    assert all(names[key] == name for key, name in known.items())
    assert names[("cluster", "zz-newcomer")] != known[("cluster", victim.uid)]
    assert any(p.key == "zz-newcomer" and p.level == "info" for p in later.problems)


def test_backstage_accepts_the_whole_file(
    result: MappingResult, backstage_validate: Validate, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(render_yaml([e.body for e in result.entities]))
    done = backstage_validate(path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert done.stdout.count("OK   ") == len(result.entities)
