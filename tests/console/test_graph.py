"""The profile graph's layout (pure): nodes, edges, caps for large families, label cutting."""

from __future__ import annotations

import re

import pytest

from ingestor.console import graph
from ingestor.console.graph import Layout, Node, UserItem, VersionItem


def versions(count: int) -> list[VersionItem]:
    return [VersionItem(f"v{i}", f"1.{i}.0", f"?version=v{i}") for i in range(count)]


def users(kind: str, count: int, version_count: int = 3) -> list[UserItem]:
    return [
        UserItem(
            f"{kind}-{i}", f"{kind} {i}", kind, f"v{i % version_count}", f"/entities/main/{kind}/{kind}-{i}"
        )
        for i in range(count)
    ]


def more(kind: str) -> str:
    return f"?kind={kind}#users"


def by_role(layout: Layout, role: str) -> list[Node]:
    return [n for n in layout.nodes if n.role == role]


def ends(path: str) -> tuple[tuple[float, float], tuple[float, float]]:
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", path)]
    return (numbers[0], numbers[1]), (numbers[-2], numbers[-1])


def test_small_family_draws_every_version_user_and_edge() -> None:
    family = users("cluster", 5) + users("virtual-cluster", 2) + users("cluster-group", 1)
    layout = graph.layout(versions(3), family, more_href=more)
    assert len(by_role(layout, "version")) == 3
    assert {n.id for n in by_role(layout, "user")} == {f"user:{u.key}" for u in family}
    assert by_role(layout, "more") == []
    assert layout.hidden_users == 0 and layout.hidden_versions == 0
    assert sorted((e.source, e.target) for e in layout.edges) == sorted(
        (f"version:{u.version_key}", f"user:{u.key}") for u in family
    )
    headings = [h.label for h in layout.headings]
    assert headings == ["Versions", "Clusters (5)", "Virtual clusters (2)", "Cluster groups (1)"]


def test_edges_join_the_sides_of_their_nodes() -> None:
    layout = graph.layout(versions(3), users("cluster", 7), more_href=more)
    nodes = {n.id: n for n in layout.nodes}
    for edge in layout.edges:
        (x1, y1), (x2, y2) = ends(edge.path)
        source, target = nodes[edge.source], nodes[edge.target]
        assert (x1, y1) == pytest.approx((source.x + source.width, source.y + source.height / 2))
        assert (x2, y2) == pytest.approx((target.x, target.y + target.height / 2))


def test_nodes_of_a_column_do_not_overlap_and_fit_the_canvas() -> None:
    layout = graph.layout(versions(4), users("cluster", 9) + users("cluster-group", 3), more_href=more)
    for role in ("version", "user"):
        column = sorted(by_role(layout, role), key=lambda n: n.y)
        for above, below in zip(column, column[1:], strict=False):
            assert below.y >= above.y + above.height
    for node in layout.nodes:
        assert node.x >= 0 and node.x + node.width <= layout.width
        assert node.y >= 0 and node.y + node.height <= layout.height


def test_users_are_grouped_by_kind_in_a_fixed_order() -> None:
    family = users("cluster-group", 2) + users("cluster", 2) + users("virtual-cluster", 2)
    layout = graph.layout(versions(3), family, more_href=more)
    kinds = [n.kind for n in sorted(by_role(layout, "user"), key=lambda n: n.y)]
    assert kinds == ["cluster"] * 2 + ["virtual-cluster"] * 2 + ["cluster-group"] * 2


def test_drawn_users_follow_their_version_order_within_a_kind() -> None:
    layout = graph.layout(versions(3), users("cluster", 9), more_href=more)
    column = sorted(by_role(layout, "user"), key=lambda n: n.y)
    version_of = {f"user:{u.key}": u.version_key for u in users("cluster", 9)}
    assert [version_of[n.id] for n in column] == ["v0"] * 3 + ["v1"] * 3 + ["v2"] * 3


def test_a_large_family_is_capped_fairly_with_and_n_more_nodes() -> None:
    family = users("cluster", 4000) + users("virtual-cluster", 900) + users("cluster-group", 10)
    layout = graph.layout(versions(3), family, more_href=more, max_users=200)
    drawn = by_role(layout, "user")
    assert len(drawn) == layout.users_drawn == 200
    per_kind = {
        k: sum(1 for n in drawn if n.kind == k) for k in ("cluster", "virtual-cluster", "cluster-group")
    }
    assert per_kind["cluster-group"] == 10  # a small kind is drawn whole
    assert per_kind["cluster"] == per_kind["virtual-cluster"] == 95
    assert layout.hidden_users == len(family) - 200
    extra = {n.kind: n for n in by_role(layout, "more")}
    assert set(extra) == {"cluster", "virtual-cluster"}
    assert extra["cluster"].title == "and 3905 more clusters"
    assert extra["virtual-cluster"].title == "and 805 more virtual clusters"
    assert extra["cluster"].href == more("cluster")
    assert len(layout.edges) == 200
    assert layout.height < 200 * graph.ROW + 10 * graph.ROW  # bounded by the cap, not the family


def test_versions_past_the_cap_are_cut_but_never_those_drawn_users_run() -> None:
    many = versions(100)
    family = [UserItem(f"c{i}", f"c{i}", "cluster", "v99" if i % 2 else "v80", "/x") for i in range(6)]
    layout = graph.layout(many, family, more_href=more, max_versions=10)
    shown = [n.id for n in sorted(by_role(layout, "version"), key=lambda n: n.y)]
    assert len(shown) == 10 and layout.hidden_versions == 90
    assert "version:v80" in shown and "version:v99" in shown
    assert shown == sorted(shown, key=lambda s: int(s.removeprefix("version:v")))  # order kept
    assert len(layout.edges) == 6


def test_a_user_of_an_unknown_version_is_drawn_without_an_edge() -> None:
    family = [UserItem("c1", "c1", "cluster", "gone", "/x"), UserItem("c2", "c2", "cluster", "v0", "/y")]
    layout = graph.layout(versions(1), family, more_href=more)
    assert len(by_role(layout, "user")) == 2
    assert [(e.source, e.target) for e in layout.edges] == [("version:v0", "user:c2")]


def test_no_users_draws_the_versions_only() -> None:
    layout = graph.layout(versions(2), [], more_href=more)
    assert len(layout.nodes) == 2 and layout.edges == []
    assert layout.height >= max(n.y + n.height for n in layout.nodes)


def test_stale_users_mark_their_node_and_edge() -> None:
    family = [
        UserItem("c1", "c1", "cluster", "v0", "/x", stale=True),
        UserItem("c2", "c2", "cluster", "v0", "/y"),
    ]
    layout = graph.layout(versions(1), family, more_href=more)
    stale = {n.id: n.stale for n in by_role(layout, "user")}
    assert stale == {"user:c1": True, "user:c2": False}
    assert {e.target: e.stale for e in layout.edges} == {"user:c1": True, "user:c2": False}


@pytest.mark.parametrize(
    ("counts", "cap", "expected"),
    [
        ({"a": 3, "b": 4}, 200, {"a": 3, "b": 4}),
        ({"a": 1000, "b": 1000}, 200, {"a": 100, "b": 100}),
        ({"a": 5, "b": 1000, "c": 1000}, 101, {"a": 5, "b": 48, "c": 48}),
        ({"a": 10}, 0, {"a": 0}),
        ({}, 200, {}),
    ],
)
def test_allocate_shares_the_cap(counts: dict[str, int], cap: int, expected: dict[str, int]) -> None:
    shares = graph.allocate(counts, cap)
    assert shares == expected
    assert sum(shares.values()) <= cap


def test_long_labels_are_cut_to_fit_and_keep_the_full_title() -> None:
    name = "a-really-long-cluster-name-" * 4
    layout = graph.layout(versions(1), [UserItem("c", name, "cluster", "v0", "/x")], more_href=more)
    (node,) = by_role(layout, "user")
    assert node.title == name
    assert node.label.endswith("…") and len(node.label) < len(name)
    assert len(node.label) * graph.CHAR_WIDTH <= node.width - 16 + graph.CHAR_WIDTH
    assert graph.cut("short", 200) == "short"


def test_each_version_sits_beside_its_first_user_in_order() -> None:
    family = users("cluster", 9) + users("virtual-cluster", 3)
    layout = graph.layout(versions(4), family, more_href=more)  # v3 has no user
    nodes = {n.id: n for n in layout.nodes}
    column = [nodes[f"version:v{i}"] for i in range(4)]
    assert [n.y for n in column] == sorted(n.y for n in column)
    for i in range(3):
        tops = [nodes[f"user:{u.key}"].y for u in family if u.version_key == f"v{i}"]
        assert column[i].y == min(tops)
    assert column[3].y == column[2].y + graph.ROW  # no user: right under the previous version
