"""Pagination: continue in the query, POST bodies resent unchanged, loop guard, page cap, nulls."""

from __future__ import annotations

from typing import Any

import pytest

from ingestor.palette.errors import ProtocolError
from ingestor.palette.filters import cluster_search_body

from .stub import ClientFactory, PaletteStub, Reply, pager, sequence, token_for


def clusters(n: int, prefix: str = "c") -> list[dict[str, Any]]:
    return [
        {
            "metadata": {"uid": f"{prefix}{i:04d}", "name": f"cluster-{i}"},
            "specSummary": {"cloudConfig": {"cloudType": "eks"}},
            "status": {"state": "Running"},
        }
        for i in range(n)
    ]


async def test_post_search_pages_with_token_in_query(stub: PaletteStub, make_client: ClientFactory) -> None:
    items = clusters(137)
    stub.handler = pager(items, page=10)
    client = make_client(option_overrides={"page_size": 10})
    found = await client.list_clusters(project_uid="p1").collect()
    assert [c.uid for c in found] == [i["metadata"]["uid"] for i in items]
    assert len(stub.seen) == 14
    bodies = {s.body for s in stub.seen}
    assert len(bodies) == 1  # the body is resent unchanged
    assert stub.seen[0].json() == cluster_search_body(virtual=False)
    assert b"continue" not in stub.seen[0].body
    assert stub.seen[0].q("continue") is None
    assert [s.q("continue") for s in stub.seen[1:]] == [token_for(10 * i) for i in range(1, 14)]
    assert all(s.method == "POST" and s.q("limit") == "10" for s in stub.seen)
    assert all(s.raw_path == "/v1/dashboard/spectroclusters/search" for s in stub.seen)
    assert all(s.headers["projectuid"] == "p1" for s in stub.seen)


async def test_pages_iterate_with_numbers_and_count(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = pager(clusters(25), page=10)
    paginator = make_client(option_overrides={"page_size": 10}).search_clusters({"filter": {}})
    pages = [page async for page in paginator]
    assert [p.number for p in pages] == [1, 2, 3]
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert all(p.count == 25 for p in pages)
    assert pages[-1].next_token == ""
    assert len(await paginator) == 25  # awaiting the paginator collects (and fetches again)


async def test_page_size_is_capped_at_50(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = pager(clusters(3))
    await make_client(option_overrides={"page_size": 500}).list_projects().collect()
    assert stub.seen[0].q("limit") == "50"


async def test_repeated_token_raises(stub: PaletteStub, make_client: ClientFactory) -> None:
    # A server that ignores the query token keeps answering page 1 with the same next token.
    page = {"items": clusters(2), "listmeta": {"continue": "same", "count": 9}}
    stub.handler = lambda s: Reply(200, page)
    with pytest.raises(ProtocolError) as info:
        await make_client().list_projects().collect()
    assert "repeated" in str(info.value) and info.value.path == "/v1/dashboard/projects"
    assert len(stub.seen) == 2


async def test_token_cycle_raises(stub: PaletteStub, make_client: ClientFactory) -> None:
    def handler(seen: Any) -> Reply:
        nxt = {None: "a", "a": "b", "b": "a"}[seen.q("continue")]
        return Reply(200, {"items": clusters(1, prefix=f"x{len(stub.seen)}"), "listmeta": {"continue": nxt}})

    stub.handler = handler
    with pytest.raises(ProtocolError):
        await make_client().search_profiles().collect()
    assert len(stub.seen) == 3


async def test_page_cap_raises_instead_of_truncating(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = pager(clusters(100), page=10)
    client = make_client(option_overrides={"page_size": 10, "max_pages": 3})
    with pytest.raises(ProtocolError) as info:
        await client.list_clusters().collect()
    assert "max_pages" in str(info.value)
    assert len(stub.seen) == 3


async def test_page_cap_allows_an_exact_fit(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = pager(clusters(30), page=10)
    client = make_client(option_overrides={"page_size": 10, "max_pages": 3})
    assert len(await client.list_clusters().collect()) == 30


async def test_items_null_reads_as_empty(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, {"items": None, "listmeta": {"continue": "", "count": 0}})
    assert await make_client().list_virtual_clusters().collect() == []


async def test_empty_page_stops_even_with_a_token(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = sequence(
        Reply(200, {"items": clusters(2), "listmeta": {"continue": "t1"}}),
        Reply(200, {"items": [], "listmeta": {"continue": "t2"}}),
        Reply(200, {"items": clusters(2, "z"), "listmeta": {"continue": ""}}),
    )
    assert len(await make_client().list_clusters().collect()) == 2
    assert len(stub.seen) == 2


async def test_missing_listmeta_or_token_is_the_last_page(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: Reply(200, {"items": clusters(3)})
    assert len(await make_client().list_clusters().collect()) == 3
    stub.seen.clear()
    stub.handler = lambda s: Reply(200, {"items": clusters(3), "listmeta": {"count": 3}})
    assert len(await make_client().list_clusters().collect()) == 3
    assert len(stub.seen) == 1


async def test_overlapping_pages_are_deduplicated(stub: PaletteStub, make_client: ClientFactory) -> None:
    items = clusters(5)
    stub.handler = sequence(
        Reply(200, {"items": items[:3], "listmeta": {"continue": "t1"}}),
        Reply(200, {"items": items[2:], "listmeta": {"continue": ""}}),
    )
    found = await make_client().search_profiles({"filter": {"scope": "project"}}, project_uid="p").collect()
    assert [p.uid for p in found] == [i["metadata"]["uid"] for i in items]


@pytest.mark.parametrize("page", [[], "x", {"items": "nope"}, {"items": {"a": 1}}])
async def test_malformed_pages_raise(stub: PaletteStub, make_client: ClientFactory, page: Any) -> None:
    stub.handler = lambda s: Reply(200, page)
    with pytest.raises(ProtocolError):
        await make_client().list_clusters().collect()


async def test_get_lists_page_too(stub: PaletteStub, make_client: ClientFactory) -> None:
    accounts = [{"metadata": {"uid": f"a{i}", "name": f"acc{i}"}, "spec": {}} for i in range(12)]
    stub.handler = pager(accounts, page=5)
    found = (
        await make_client(option_overrides={"page_size": 5}).list_cloud_accounts("vsphere", "p1").collect()
    )
    assert [a.uid for a in found] == [f"a{i}" for i in range(12)]
    assert all(s.method == "GET" and s.body == b"" for s in stub.seen)
    assert all(s.raw_path == "/v1/cloudaccounts/vsphere" for s in stub.seen)
    assert [s.q("continue") for s in stub.seen] == [None, token_for(5), token_for(10)]


async def test_caller_mutating_its_body_does_not_change_later_pages(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = pager(clusters(20), page=10)
    body: dict[str, Any] = {"filter": {"conjunction": "and"}, "sort": []}
    paginator = make_client(option_overrides={"page_size": 10}).search_clusters(body)
    async for _ in paginator:
        body["filter"]["conjunction"] = "or"
    assert stub.seen[0].body == stub.seen[1].body
