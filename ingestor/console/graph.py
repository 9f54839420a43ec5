"""Layout of the profile explorer's graph: versions in one column, their users (grouped by kind) in another.

Pure geometry for an inline SVG (the template draws it); no I/O, imports nothing of ours. Users are drawn
in version order and each version sits beside the first of its users. Large families stay usable: at most
``max_users`` user nodes are drawn, shared fairly between kinds, each cut kind ending in an "and N more"
node; versions nobody drawn runs are cut past ``max_versions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

WIDTH = 720.0
NODE_HEIGHT = 24.0
ROW = 30.0
"""Vertical distance between the tops of two nodes of one column."""
HEADING = 26.0
GROUP_GAP = 14.0
MARGIN = 8.0
VERSION_X, VERSION_WIDTH = MARGIN, 220.0
USER_X, USER_WIDTH = 440.0, WIDTH - 440.0 - MARGIN
CHAR_WIDTH = 7.2
"""Rough width of one character of the node font (13 px sans-serif): labels are cut to fit."""
MAX_USERS = 200
MAX_VERSIONS = 60
KIND_ORDER = ("cluster", "virtual-cluster", "cluster-group")
KIND_LABELS = {
    "cluster": "Clusters",
    "virtual-cluster": "Virtual clusters",
    "cluster-group": "Cluster groups",
}


@dataclass(frozen=True)
class VersionItem:
    """A version of the family (``key``: its uid)."""

    key: str
    label: str
    href: str


@dataclass(frozen=True)
class UserItem:
    """A cluster, virtual cluster or group running the version ``version_key``."""

    key: str
    label: str
    kind: str
    version_key: str
    href: str
    stale: bool = False


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    """Cut to fit the box; ``title`` holds the full text."""
    title: str
    href: str
    x: float
    y: float
    width: float
    role: str
    """``version``, ``user`` or ``more``."""
    kind: str = ""
    stale: bool = False
    height: float = NODE_HEIGHT

    @property
    def text_x(self) -> float:
        return self.x + 8

    @property
    def text_y(self) -> float:
        return self.y + self.height / 2 + 4.5


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str
    """SVG path data (a cubic curve from the version's right side to the user's left side)."""
    stale: bool = False


@dataclass(frozen=True)
class Heading:
    label: str
    x: float
    y: float


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: list[Node]
    edges: list[Edge]
    headings: list[Heading]
    hidden_users: int
    hidden_versions: int

    @property
    def users_drawn(self) -> int:
        return sum(1 for n in self.nodes if n.role == "user")


def layout(
    versions: Sequence[VersionItem],
    users: Sequence[UserItem],
    *,
    more_href: Callable[[str], str],
    max_users: int = MAX_USERS,
    max_versions: int = MAX_VERSIONS,
) -> Layout:
    """Place ``versions`` (in the given order) and ``users`` grouped by kind.

    The first ``allocate``-d users of each kind (in the given order) are drawn, sorted by their version's
    position; ``more_href(kind)`` is the link of a kind's "and N more" node (the full table).
    """
    groups = _group(users)
    shares = allocate({kind: len(items) for kind, items in groups.items()}, max_users)
    rank = {v.key: i for i, v in enumerate(versions)}
    drawn = {  # the first ones of each kind, drawn in version order (fewer crossing edges)
        kind: sorted(items[: shares[kind]], key=lambda u: rank.get(u.version_key, len(rank)))
        for kind, items in groups.items()
    }
    shown_versions = _versions_to_draw(versions, drawn, max_versions)
    nodes: list[Node] = []
    headings: list[Heading] = [Heading("Versions", VERSION_X, MARGIN + 16)]
    y = MARGIN + HEADING
    user_y: dict[str, float] = {}
    for kind, items in groups.items():
        headings.append(Heading(f"{KIND_LABELS.get(kind, kind)} ({len(items)})", USER_X, y + 16))
        y += HEADING
        for user in drawn[kind]:
            node = _node(f"user:{user.key}", user.label, user.href, USER_X, y, USER_WIDTH, "user")
            nodes.append(replace(node, kind=kind, stale=user.stale))
            user_y[user.key] = y
            y += ROW
        hidden = len(items) - len(drawn[kind])
        if hidden:
            label = f"and {hidden} more {KIND_LABELS.get(kind, kind).lower()}"
            nodes.append(_node(f"more:{kind}", label, more_href(kind), USER_X, y, USER_WIDTH, "more", kind))
            y += ROW
        y += GROUP_GAP
    users_bottom = y
    first_user: dict[str, float] = {}
    for items in drawn.values():
        for u in items:
            first_user[u.version_key] = min(first_user.get(u.version_key, user_y[u.key]), user_y[u.key])
    version_y = _align([first_user.get(v.key) for v in shown_versions], MARGIN + HEADING)
    by_version: dict[str, float] = {}
    for item, top in zip(shown_versions, version_y, strict=True):
        nodes.append(
            _node(f"version:{item.key}", item.label, item.href, VERSION_X, top, VERSION_WIDTH, "version")
        )
        by_version[item.key] = top
    edges = [
        Edge(
            f"version:{u.version_key}",
            f"user:{u.key}",
            _curve(by_version[u.version_key], user_y[u.key]),
            u.stale,
        )
        for items in drawn.values()
        for u in items
        if u.version_key in by_version
    ]
    bottom = max([users_bottom, *(top + ROW for top in version_y)])
    return Layout(
        width=WIDTH,
        height=bottom + MARGIN,
        nodes=nodes,
        edges=edges,
        headings=headings,
        hidden_users=len(users) - sum(shares.values()),
        hidden_versions=len(versions) - len(shown_versions),
    )


def allocate(counts: Mapping[str, int], cap: int) -> dict[str, int]:
    """How many of each group to draw: all when they fit, else ``cap`` shared fairly (small groups whole)."""
    out = dict.fromkeys(counts, 0)
    left = max(cap, 0)
    ordered = sorted(counts, key=lambda k: counts[k])
    for i, kind in enumerate(ordered):
        take = min(counts[kind], left // (len(ordered) - i))
        out[kind] = take
        left -= take
    return out


def cut(label: str, width: float) -> str:
    """``label`` shortened with an ellipsis to fit ``width`` pixels of node text."""
    room = max(int((width - 16) / CHAR_WIDTH), 4)
    return label if len(label) <= room else label[: room - 1] + "…"


def _group(users: Sequence[UserItem]) -> dict[str, list[UserItem]]:
    groups: dict[str, list[UserItem]] = {}
    for user in users:
        groups.setdefault(user.kind, []).append(user)
    rank = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return {k: groups[k] for k in sorted(groups, key=lambda k: (rank.get(k, len(rank)), k))}


def _versions_to_draw(
    versions: Sequence[VersionItem], drawn: Mapping[str, Sequence[UserItem]], cap: int
) -> list[VersionItem]:
    """Every version a drawn user runs, then the others in order while under ``cap``; original order kept."""
    needed = {u.version_key for items in drawn.values() for u in items}
    room = max(cap - sum(1 for v in versions if v.key in needed), 0)
    keep: list[VersionItem] = []
    for item in versions:
        if item.key in needed:
            keep.append(item)
        elif room:
            keep.append(item)
            room -= 1
    return keep


def _align(wanted: Sequence[float | None], top: float) -> list[float]:
    """Tops of the version nodes, in order: each beside its first drawn user when it has one (``wanted``),
    else right under the previous one, never overlapping the previous one."""
    out: list[float] = []
    floor = top
    for y in wanted:
        placed = floor if y is None else max(y, floor)
        out.append(placed)
        floor = placed + ROW
    return out


def _curve(version_top: float, user_top: float) -> str:
    x1, x2 = VERSION_X + VERSION_WIDTH, USER_X
    y1, y2 = version_top + NODE_HEIGHT / 2, user_top + NODE_HEIGHT / 2
    mid = (x1 + x2) / 2
    return f"M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}"


def _node(
    node_id: str, label: str, href: str, x: float, y: float, width: float, role: str, kind: str = ""
) -> Node:
    return Node(node_id, cut(label, width), label, href, x, y, width, role, kind)
