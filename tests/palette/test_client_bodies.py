"""The request bodies the client builds itself validate against Palette's spec definitions."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.palette.filters import (
    all_projects_body,
    cluster_search_body,
    profile_search_body,
)
from ingestor.palette.schema import SpecValidator, load_validator

from .stub import ClientFactory, PaletteStub, Reply


@pytest.fixture(scope="module")
def spec() -> SpecValidator:
    return load_validator()


@pytest.mark.parametrize(
    ("definition", "body"),
    [
        ("v1SearchFilterSummarySpec", cluster_search_body(virtual=False)),
        ("v1SearchFilterSummarySpec", cluster_search_body(virtual=True, sort_by_last_modified=True)),
        ("v1SearchFilterSummarySpec", {"filter": {}, "sort": []}),
        ("v1ProjectsFilterSpec", all_projects_body()),
        ("v1ClusterProfilesFilterSpec", profile_search_body()),
        ("v1ClusterProfilesFilterSpec", profile_search_body(project_scope_only=True)),
    ],
)
def test_canonical_bodies_match_the_spec(spec: SpecValidator, definition: str, body: dict[str, Any]) -> None:
    assert spec.errors(definition, body) == []


async def test_ssh_key_bodies_match_the_spec(
    spec: SpecValidator, stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: Reply(201, {"uid": "k1"}) if s.method == "POST" else Reply(204)
    client = make_client()
    await client.create_ssh_key("deploy", "ssh-ed25519 AAAA", labels={"team": "a"}, annotations={"d": "x"})
    await client.update_ssh_key("k1", "deploy", "ssh-ed25519 BBBB")
    assert spec.errors("v1UserAssetSshEntity", stub.seen[0].json()) == []
    assert spec.errors("v1UserAssetSsh", stub.seen[1].json()) == []


def test_bodies_are_fresh_copies() -> None:
    first = cluster_search_body(virtual=False)
    first["filter"]["filterGroups"].clear()
    assert cluster_search_body(virtual=False)["filter"]["filterGroups"]
