"""The profile explorer over real sockets: the list, a profile's versions and users (equal to the MCP tool
``find_spectrocloud_clusters_for_profile``), the graph, paging, honest states and errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from ingestor.api.server import BackgroundServer, build_service
from ingestor.console import views_profiles
from ingestor.logging import forget_secrets, register_secrets
from ingestor.mcp.tools_catalog import profile_users, state_annotations
from ingestor.simulator.faults_spec import OutageFault
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from ingestor.store import lookups, queries
from ingestor.store.db import Database
from ingestor.store.rows import EntityRow
from tests.api.conftest import make_settings
from tests.console.conftest import OPERATOR_TOKEN, SIM_KEY, VIEWER_TOKEN, Console, start_console

PREFIX = "terasky.backstage.io"


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order (plus the page's text)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and (not cls or cls in a.get("class", "").split())]

    def by_id(self, element_id: str) -> dict[str, str] | None:
        return next((a for _, a in self.tags if a.get("id") == element_id), None)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def db_of(console: Console) -> Database:
    return console.server.service.db


def profiles(console: Console) -> list[EntityRow]:
    return queries.current_entities(db_of(console), "main", palette_kind="cluster-profile").entities


def page(console: Console, path: str, status: int = 200) -> Elements:
    answer = console.get(path)
    assert answer.status_code == status, answer.text[-2000:]
    assert "text/html" in answer.headers["content-type"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    return Elements(answer.text)


def detail_path(row: EntityRow) -> str:
    return f"/profiles/{row.instance or '_'}/{quote(row.key, safe='')}"


def expected_users(console: Console, row: EntityRow) -> list[dict[str, Any]]:
    usages = lookups.clusters_using_profile(
        db_of(console), row.instance, row.key, state_annotations=state_annotations(PREFIX)
    )
    return [u.model_dump() for u in profile_users(usages)]


def listed_users(console: Console, path: str) -> list[dict[str, str]]:
    """Every row of the users table, over all pages."""
    rows: list[dict[str, str]] = []
    while True:
        html = page(console, path)
        rows += html.having("tr", "user-row")
        following = [a for a in html.having("a", "") if a.get("rel") == "next"]
        if not following:
            return rows
        path = urljoin(path, following[0]["href"])


def users_with_versions(console: Console) -> EntityRow:
    """A family whose users run more than one version (and so draw more than one edge source)."""
    for row in profiles(console):
        users = expected_users(console, row)
        if len({u["versionUid"] for u in users}) > 1:
            return row
    raise AssertionError("no profile with users on several versions")


def has_entity_pages(console: Console) -> bool:
    """Whether the catalog browser (built alongside this page) serves its pages yet."""
    return console.get("/entities").status_code == 200


# --- the list ------------------------------------------------------------------------------------


def test_list_shows_every_stored_family_with_its_version_count(console: Console) -> None:
    html = page(console, "/profiles")
    rows = html.having("tr", "profile-row")
    stored = profiles(console)
    assert stored and sorted(r["data-key"] for r in rows) == sorted(r.key for r in stored)
    db = db_of(console)
    for r in rows:
        assert int(r["data-versions"]) == len(queries.profile_versions(db, "main", r["data-key"])) > 0
        assert r["data-stale"] == "false"
    links = [a["href"] for a in html.having("a", "profile-link")]
    assert sorted(links) == sorted(detail_path(r) for r in stored)
    for selector in ("profile-search", "profile-instance", "profile-cloud"):
        assert html.by_id(selector) is not None


def test_search_and_cloud_filters_narrow_the_list(console: Console) -> None:
    stored = profiles(console)
    title = next(
        r.body["metadata"]["title"] for r in stored if r.body["metadata"]["title"] == "observability"
    )
    html = page(console, f"/profiles?q={title.upper()}")
    keys = {r["data-key"] for r in html.having("tr", "profile-row")}
    assert keys == {r.key for r in stored if title in r.body["metadata"]["title"]} and len(keys) > 1
    uid = stored[0].body["metadata"]["annotations"][f"{PREFIX}/profile-id"]
    assert [r["data-key"] for r in page(console, f"/profiles?q={uid}").having("tr", "profile-row")] == [
        stored[0].key
    ]
    cloud = "aks"
    keys = {r["data-key"] for r in page(console, f"/profiles?cloud={cloud}").having("tr", "profile-row")}
    assert keys == {
        r.key for r in stored if r.body["metadata"]["annotations"].get(f"{PREFIX}/cloud-type") == cloud
    }
    nothing = page(console, "/profiles?q=no-such-profile-anywhere")
    assert nothing.having("tr", "profile-row") == [] and nothing.by_id("profile-none") is not None
    assert page(console, "/profiles?instance=MAIN").having("tr", "profile-row")
    page(console, "/profiles?instance=elsewhere", status=404)


def test_list_pages_through_many_families(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_profiles, "PAGE_SIZE", 5)
    seen: list[str] = []
    path = "/profiles"
    for _ in range(10):
        html = page(console, path)
        seen += [r["data-key"] for r in html.having("tr", "profile-row")]
        following = [a for a in html.having("a", "") if a.get("rel") == "next"]
        if not following:
            break
        path = urljoin(path, following[0]["href"])
    assert sorted(seen) == sorted(r.key for r in profiles(console)) and len(seen) == len(set(seen))


# --- one profile ---------------------------------------------------------------------------------


def test_every_profile_lists_exactly_the_users_of_the_reverse_lookup(console: Console) -> None:
    for row in profiles(console):
        expected = expected_users(console, row)
        shown = listed_users(console, detail_path(row))
        assert [
            (
                r["data-ref"],
                r["data-uid"],
                r["data-kind"],
                r["data-version-uid"],
                r["data-state"],
                r["data-stale"],
            )
            for r in sorted(shown, key=lambda r: r["data-ref"])
        ] == [
            (
                u["entityRef"],
                u["uid"],
                u["kind"],
                u["versionUid"],
                u["state"] or "",
                "true" if u["stale"] else "false",
            )
            for u in sorted(expected, key=lambda u: u["entityRef"])
        ]


async def test_users_equal_the_mcp_tool_over_http(console: Console) -> None:
    row = users_with_versions(console)
    uid = row.body["metadata"]["annotations"][f"{PREFIX}/profile-id"]
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(console.url + "/mcp", http_client=http) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        result = await session.call_tool(
            "find_spectrocloud_clusters_for_profile", {"profileName": uid, "instanceName": "main"}
        )
    assert result.is_error is False, result.content
    assert result.structured_content is not None
    tool = result.structured_content["clusters"]
    shown = listed_users(console, detail_path(row))
    assert sorted((r["data-ref"], r["data-version-uid"]) for r in shown) == sorted(
        (c["entityRef"], c["versionUid"]) for c in tool
    )
    assert len(shown) == len(tool) > 1


def test_detail_shows_the_profile_versions_and_the_graph(console: Console) -> None:
    row = users_with_versions(console)
    html = page(console, detail_path(row))
    assert row.body["metadata"]["title"] in html.words
    stored = queries.profile_versions(db_of(console), "main", row.key)
    users = expected_users(console, row)
    version_rows = html.having("tr", "version-row")
    assert {v["data-version-uid"] for v in version_rows} == {v.version_uid for v in stored} | {
        u["versionUid"] for u in users
    }
    nodes = html.having("a", "graph-node")
    user_nodes = [n for n in nodes if n["data-role"] == "user"]
    assert sorted(n["data-node"] for n in user_nodes) == sorted(f"user:{u['entityRef']}" for u in users)
    assert len([n for n in nodes if n["data-role"] == "version"]) == len(version_rows)
    edges = html.having("path", "graph-edge")
    assert sorted((e["data-source"], e["data-target"]) for e in edges) == sorted(
        (f"version:{u['versionUid']}", f"user:{u['entityRef']}") for u in users
    )
    svg = html.by_id("profile-graph")
    assert svg is not None and int(svg["data-users"]) == len(users) and svg["data-hidden-users"] == "0"


def test_graph_and_table_links_resolve(console: Console) -> None:
    row = users_with_versions(console)
    html = page(console, detail_path(row))
    names = {r.ref: r for r in queries.current_entities(db_of(console), "main").entities}
    links = [n["href"] for n in html.having("a", "graph-node") if n["data-role"] == "user"]
    links += [a["href"] for a in html.having("a", "user-link")]
    assert links
    for href in links:
        instance, kind, name = href.removeprefix("/entities/").split("/")
        target = next(r for r in names.values() if r.name == name)
        assert (instance, kind) == ("main", target.palette_kind)
    entity = html.by_id("profile-entity-link")
    assert entity is not None and entity["href"] == f"/entities/main/cluster-profile/{row.name}"
    running = {u["versionUid"] for u in expected_users(console, row)}
    for a in [n for n in html.having("a", "graph-node") if n["data-role"] == "version"]:
        uid = a["data-node"].removeprefix("version:")
        if uid not in running:
            assert a["href"] == "#versions" and html.by_id("versions") is not None
            continue
        filtered = listed_users(console, detail_path(row) + a["href"].split("#")[0])
        assert filtered and {r["data-version-uid"] for r in filtered} == {uid}
    if has_entity_pages(console):  # the catalog browser's pages (built alongside) answer every link
        for href in {*links, entity["href"]}:
            assert console.get(href).status_code == 200, href


def test_the_graph_is_capped_and_the_table_paged(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    row = max(profiles(console), key=lambda r: len(expected_users(console, r)))
    users = expected_users(console, row)
    assert len(users) >= 3
    monkeypatch.setattr(views_profiles, "MAX_GRAPH_USERS", 2)
    monkeypatch.setattr(views_profiles, "PAGE_SIZE", 2)
    html = page(console, detail_path(row))
    drawn = [n for n in html.having("a", "graph-node") if n["data-role"] == "user"]
    assert len(drawn) == 2
    extra = [n for n in html.having("a", "graph-node") if n["data-role"] == "more"]
    assert extra and all(n["href"].startswith("?kind=") for n in extra)
    assert f"and {len(users) - 2} more" in html.words or len(extra) > 1
    assert len(html.having("tr", "user-row")) == 2
    assert sorted(r["data-ref"] for r in listed_users(console, detail_path(row))) == sorted(
        u["entityRef"] for u in users
    )


def test_a_family_without_users_says_so(console: Console) -> None:
    idle = [r for r in profiles(console) if not expected_users(console, r)]
    if not idle:
        pytest.skip("every simulated profile has users")
    html = page(console, detail_path(idle[0]))
    assert html.by_id("no-users") is not None and html.by_id("profile-graph") is None


def test_unknown_profile_or_instance_is_404(console: Console) -> None:
    assert "Profile not found" in page(console, "/profiles/main/tenant%3A%3Ano-such", status=404).words
    assert "Unknown instance" in page(console, "/profiles/elsewhere/tenant%3A%3Aaks-base", status=404).words
    row = profiles(console)[0]
    assert page(console, f"/profiles/MAIN/{quote(row.key, safe=':')}").having("table", "")  # case, encoding


def test_a_store_failure_is_an_error_page(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"database is gone {SIM_KEY}")

    monkeypatch.setattr(views_profiles, "read_families", broken)
    monkeypatch.setattr(views_profiles, "read_profile", broken)
    for path in ("/profiles", detail_path(profiles(console)[0])):
        answer = console.get(path)
        assert (
            answer.status_code == 500 and "Store unavailable" in answer.text and "RuntimeError" in answer.text
        )
        assert SIM_KEY not in answer.text


def test_closed_reading_asks_for_sign_in(sim: SimulatorServer, tmp_path: Path) -> None:
    register_secrets([SIM_KEY, OPERATOR_TOKEN, VIEWER_TOKEN])
    running = start_console(tmp_path, sim)
    try:
        assert running.get("/profiles").status_code == 401
        assert running.get("/profiles", token=OPERATOR_TOKEN).status_code == 200
    finally:
        running.server.stop()
        forget_secrets()


# --- honest states -------------------------------------------------------------------------------


def test_before_the_first_crawl_the_list_says_so(sim: SimulatorServer, tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'ingestor.db'}",
        [{"name": "main", "url": sim.url, "apiToken": SIM_KEY}],
        scheduler={"enabled": False},
        console={"anonymousRead": True},
    )
    server = BackgroundServer(build_service(settings)).start()
    try:
        answer = httpx.get(server.url + "/profiles", timeout=30)
        assert answer.status_code == 200
        html = Elements(answer.text)
        assert html.by_id("not-crawled-main") is not None and "not crawled yet" in html.words
        assert html.having("tr", "profile-row") == [] and html.by_id("profiles-table") is None
        missing = httpx.get(server.url + "/profiles/main/tenant%3A%3Aaks-base", timeout=30)
        assert missing.status_code == 404 and "No crawl of this instance has finished yet" in missing.text
    finally:
        server.stop()


@pytest.fixture
def fresh_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


def test_users_of_a_failed_part_are_stale_with_the_reason(fresh_sim: SimulatorServer, tmp_path: Path) -> None:
    register_secrets([SIM_KEY, OPERATOR_TOKEN, VIEWER_TOKEN])
    console = start_console(tmp_path, fresh_sim, console={"anonymousRead": True})
    try:
        row = next(  # a family used across projects: one project's outage leaves the others current
            r for r in profiles(console) if len({u["projectId"] for u in expected_users(console, r)}) > 1
        )
        project = next(u["projectId"] for u in expected_users(console, row) if u["projectId"])
        fresh_sim.faults.add(OutageFault(project_uid=project))
        answer = httpx.post(
            console.url + "/status/crawl", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        )
        assert answer.status_code == 202, answer.text
        deadline = time.monotonic() + 30
        while not any(not p.ok for p in queries.part_states(db_of(console), "main")):
            assert time.monotonic() < deadline, "the outage never failed a part"
            time.sleep(0.2)
        console.wait_for_runs(2)
        expected = expected_users(console, row)
        stale = {u["entityRef"] for u in expected if u["stale"]}
        assert stale and stale != {u["entityRef"] for u in expected}
        html = page(console, detail_path(row))
        shown = {r["data-ref"] for r in html.having("tr", "user-row") if r["data-stale"] == "true"}
        assert shown == stale
        assert html.having("section", "failed-parts") and "partly stale" in html.words
        assert "the last crawl of its part failed" in html.words
        assert {e["data-target"] for e in html.having("path", "stale")} == {f"user:{ref}" for ref in stale}
        listing = page(console, "/profiles")
        assert listing.having("section", "failed-parts")
        assert SIM_KEY not in listing.words
    finally:
        console.server.stop()
        forget_secrets()
