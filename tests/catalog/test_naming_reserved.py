"""Reserved names (a project-scoped mapping): names stored for objects outside the inventory stay taken."""

from __future__ import annotations

from ingestor.catalog.context import held_elsewhere
from ingestor.catalog.naming import NameRequest, assign_names


def req(kind: str, key: str, *parts: str, backstage: str = "Resource") -> NameRequest:
    return NameRequest(kind, key, backstage, parts)


def test_a_reserved_name_goes_to_no_newcomer() -> None:
    known = {("cluster", "theirs"): "prod-data-science-x"}
    newcomer = req("cluster", "mine", "data", "science-x")
    free = assign_names([newcomer], "prod", known).names[("cluster", "mine")]
    assert free == "prod-data-science-x"  # a full crawl frees names of objects it does not see

    result = assign_names([newcomer], "prod", known, held_elsewhere([newcomer], known))
    name = result.names[("cluster", "mine")]
    assert name.startswith("prod-data-science-x-") and ("cluster", "theirs") not in result.names
    assert "already used by cluster theirs" in result.problems[0].reason


def test_reservations_follow_the_backstage_kind_and_never_block_their_own_object() -> None:
    known = {("project", "p1"): "prod-data", ("cluster", "c1"): "prod-data-a"}
    requests = [req("cluster", "c1", "data", "a"), req("cluster", "c2", "prod", "data")]
    reserved = held_elsewhere(requests, known)
    assert [(r.palette_kind, r.key, r.kind, name) for r, name in reserved] == [
        ("project", "p1", "System", "prod-data")
    ]
    names = assign_names(requests, None, known, reserved).names
    assert names[("cluster", "c1")] == "prod-data-a"  # its own stored name
    assert names[("cluster", "c2")] == "prod-data"  # a System holds that name, not a Resource
