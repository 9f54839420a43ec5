"""The per-snapshot body cache and the HTTP helpers, with a fake store and a fake clock."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from ingestor.api.cache import CatalogCache, Filters, select_rows
from ingestor.api.catalog import accepts_gzip, matches
from ingestor.api.errors import NotFoundError, NotReadyError
from ingestor.store import queries
from ingestor.store.db import Database
from ingestor.store.rows import EntityRow, EntitySnapshot, InstanceState

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def row(instance: str, name: str, palette_kind: str = "cluster", project: str | None = "p1") -> EntityRow:
    kind = "System" if palette_kind == "project" else "Resource"
    body = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "title": name.upper()},
        "spec": {"type": f"spectrocloud-{palette_kind}", "owner": "group:default/x"},
    }
    key = project if palette_kind == "project" and project else name
    return EntityRow(
        instance,
        f"{kind.lower()}:default/{name}",
        name,
        kind,
        palette_kind,
        key,
        project,
        ("p1", "clusters"),
        body,
        "h",
        T0,
        T0,
        T0,
        1,
    )


class FakeStore:
    """Answers the two reads the cache makes; counts them; can fail."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.snapshots: set[str] = set()
        self.rows: list[EntityRow] = []
        self.reads: dict[str, int] = {"instance_states": 0, "current_entities": 0}
        self.down = False
        self.delay = 0.0

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise OSError("database is down")
        if fn is queries.instance_states:
            self.reads["instance_states"] += 1
            return [
                InstanceState(name, version, None, None, None, 1 if name in self.snapshots else None, None)
                for name, version in self.versions.items()
            ]
        assert fn is queries.current_entities
        self.reads["current_entities"] += 1
        only = args[0] if args else None
        rows = [r for r in self.rows if only is None or r.instance == only]
        versions = {n: v for n, v in self.versions.items() if only is None or n == only}
        return EntitySnapshot(versions, rows)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_cache(store: FakeStore, clock: Clock, instances: tuple[str, ...] = ("a", "b")) -> CatalogCache:
    return CatalogCache(cast(Database, store), instances, version_ttl=1.0, clock=clock)


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    s.versions = {"a": 1, "b": 1}
    s.snapshots = {"a", "b"}
    s.rows = [row("b", "b-one"), row("a", "a-two"), row("a", "a-one"), row("a", "proj", "project", "p1")]
    return s


async def test_bodies_are_built_once_per_version(store: FakeStore) -> None:
    clock = Clock()
    cache = make_cache(store, clock)
    everything = Filters(("a", "b"))
    first = await cache.body(everything, "yaml")
    assert first.etag == '"' + hashlib.sha256(first.data).hexdigest() + '"'
    assert gzip.decompress(first.gzipped) == first.data
    names = [json.loads(doc)["metadata"]["name"] for doc in first.data.decode().split("---\n") if doc]
    assert names == ["a-one", "a-two", "proj", "b-one"]  # instance, then entity ref
    for _ in range(5):
        assert await cache.body(everything, "yaml") is first
    assert store.reads == {"instance_states": 1, "current_entities": 1}

    clock.now += 2  # the version TTL passed: versions are re-read, the body is not
    assert await cache.body(everything, "yaml") is first
    assert store.reads == {"instance_states": 2, "current_entities": 1}

    store.versions["b"] = 2
    store.rows.append(row("b", "b-two"))
    assert await cache.body(everything, "yaml") is first  # not seen yet: within the TTL
    cache.invalidate()  # a crawl here committed
    second = await cache.body(everything, "yaml")
    assert second is not first and b"b-two" in second.data and second.etag != first.etag
    assert store.reads["current_entities"] == 2


async def test_concurrent_requests_share_one_build(store: FakeStore) -> None:
    store.delay = 0.02
    cache = make_cache(store, Clock())
    bodies = await asyncio.gather(*(cache.body(Filters(("a",)), "json") for _ in range(10)))
    assert all(b is bodies[0] for b in bodies)
    assert store.reads == {"instance_states": 1, "current_entities": 1}
    assert json.loads(bodies[0].data)["items"][0]["metadata"]["name"] == "a-one"


async def test_503_until_every_selected_instance_has_a_snapshot(store: FakeStore) -> None:
    store.snapshots = {"a"}
    cache = make_cache(store, Clock())
    assert (await cache.body(Filters(("a",)), "yaml")).entities == 3
    for selection in (("b",), ("a", "b")):
        with pytest.raises(NotReadyError) as caught:
            await cache.body(Filters(selection), "yaml")
        assert "'b'" in str(caught.value) and int(caught.value.headers["Retry-After"]) > 0
    with pytest.raises(NotReadyError):
        await make_cache(store, Clock(), instances=()).body(Filters(()), "yaml")


async def test_a_database_outage_keeps_serving_what_is_cached(store: FakeStore) -> None:
    clock = Clock()
    cache = make_cache(store, clock)
    body = await cache.body(Filters(("a",)), "yaml")
    store.down = True
    clock.now += 5
    assert await cache.body(Filters(("a",)), "yaml") is body
    with pytest.raises(NotReadyError):  # not built before the outage
        await cache.body(Filters(("a",), kinds=("system",)), "yaml")
    with pytest.raises(NotReadyError):
        await make_cache(store, Clock()).body(Filters(("a",)), "yaml")


async def test_old_versions_are_evicted(store: FakeStore) -> None:
    cache = make_cache(store, Clock())
    selection = Filters(("a",))
    for version in range(2, 6):
        store.versions["a"] = version
        cache.invalidate()
        await cache.body(selection, "yaml")
    assert len(cache._bodies) == 1


def test_resolve_names() -> None:
    cache = make_cache(FakeStore(), Clock(), instances=("Prod", "dev"))
    assert cache.resolve([]) == ("Prod", "dev")
    assert cache.resolve(["prod", "PROD"]) == ("Prod",)
    with pytest.raises(NotFoundError):
        cache.resolve(["staging"])


def test_select_rows_filters(store: FakeStore) -> None:
    rows = store.rows + [row("a", "other", project="p2"), row("a", "tenant-thing", project=None)]
    names = lambda f: [r.name for r in select_rows(rows, f)]  # noqa: E731
    assert names(Filters(("a",), kinds=("system",))) == ["proj"]
    assert names(Filters(("a",), kinds=("spectrocloud-cluster",))) == [
        "a-one",
        "a-two",
        "other",
        "tenant-thing",
    ]
    assert names(Filters(("a",), projects=("p1",))) == ["a-one", "a-two", "proj"]
    assert names(Filters(("a",), projects=("PROJ",))) == ["a-one", "a-two", "proj"]  # the project's title
    assert names(Filters(("b",), projects=("p1",))) == ["b-one"]
    assert names(Filters(("a",), projects=("nothing",))) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("*", True),
        ("*, gzip;q=0", False),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=abc", False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
    ],
)
def test_if_none_match(header: str | None, expected: bool) -> None:
    assert matches(header, ['"abc"', '"def"']) is expected
