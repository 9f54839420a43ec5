"""Slim cluster summaries map to exactly the entities and edges full summaries do, in far less memory."""

from __future__ import annotations

import json
from dataclasses import replace

from ingestor.catalog import MappingOptions, map_inventory
from ingestor.crawl.slim import slim_cluster, slim_raw
from tests.catalog.sim_inventory import dataset, inventory_from


def test_slim_summaries_map_to_the_same_entities_and_edges() -> None:
    full = inventory_from(dataset(projects=12, clusters_per_project=6, virtual_clusters=3))
    slim = replace(
        full,
        clusters=[slim_cluster(c) for c in full.clusters],
        virtual_clusters=[slim_cluster(c) for c in full.virtual_clusters],
    )
    options = MappingOptions()

    expected, actual = map_inventory(full, options), map_inventory(slim, options)

    assert len(expected.entities) > 80 and expected.edges
    assert [(e.ref, e.part, e.body) for e in actual.entities] == [
        (e.ref, e.part, e.body) for e in expected.entities
    ]
    assert actual.edges == expected.edges
    assert actual.profile_versions == expected.profile_versions
    assert actual.problems == expected.problems


def test_slim_summaries_drop_what_no_entity_reads() -> None:
    inv = inventory_from(dataset(projects=3, clusters_per_project=4))
    host = max(inv.clusters, key=lambda c: len(json.dumps(c.raw)))  # a host lists its virtual clusters
    raw = slim_raw(host.raw)

    assert len(json.dumps(raw)) < len(json.dumps(host.raw)) / 2
    assert "virtualClusters" not in raw["status"].get("virtual", {})
    assert "cost" not in raw["status"] and "machinePools" not in raw["specSummary"].get("cloudConfig", {})
    packs = [p for t in raw["specSummary"]["clusterProfileTemplates"] for p in t.get("packs", [])]
    assert packs and {p["layer"] for p in packs} == {"k8s"}
    assert (
        slim_cluster(host).uid == host.uid
        and slim_cluster(host).kubernetes_version == host.kubernetes_version
    )
