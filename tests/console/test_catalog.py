"""The catalog browser (``/entities``) and entity pages, against the crawled simulator over real sockets.

Expected results come from what the service serves in ``/catalog/entities.yaml`` and from the store, never
from the page's own code.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestor.api.server import BackgroundServer, build_service
from ingestor.console import views_catalog
from ingestor.simulator.server import SimulatorServer
from ingestor.store import lookups, queries
from tests.api.conftest import make_settings
from tests.console.conftest import OPERATOR_TOKEN, SIM_KEY, VIEWER_TOKEN, Console, start_console

PREFIX = "terasky.backstage.io"
ROW = re.compile(r'<tr class="result-row[^"]*" data-ref="([^"]+)"')


# ---- helpers ----------------------------------------------------------------------------------------------


def served(console: Console) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Entity ref -> (its document's bytes, the parsed entity) from ``/catalog/entities.yaml``."""
    answer = console.get("/catalog/entities.yaml")
    assert answer.status_code == 200
    docs: dict[str, tuple[bytes, dict[str, Any]]] = {}
    for chunk in answer.content.split(b"---\n")[1:]:
        entity = json.loads(chunk)
        ref = f"{entity['kind'].lower()}:default/{entity['metadata']['name']}"
        docs[ref] = (b"---\n" + chunk, entity)
    assert docs
    return docs


def ann(entity: dict[str, Any], name: str) -> str:
    value = entity["metadata"].get("annotations", {}).get(f"{PREFIX}/{name}", "")
    return str(value)


def listed(console: Console, query: str = "") -> tuple[list[str], str]:
    answer = console.get("/entities" + query)
    assert answer.status_code == 200, answer.text
    return [html.unescape(ref) for ref in ROW.findall(answer.text)], answer.text


def count(page: str) -> tuple[int, int]:
    found = re.search(r'id="result-count" data-matching="(\d+)" data-total="(\d+)"', page)
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def hrefs(page: str, css_class: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'class="{css_class}" href="([^"]+)"', page)]


def entity_href(page: str, ref: str) -> str:
    row = re.search(
        rf'data-ref="{re.escape(html.escape(ref))}">\s*<td><a class="entity-link" href="([^"]+)"', page
    )
    assert row is not None, ref
    return html.unescape(row.group(1))


def sim_call(sim: SimulatorServer, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, sim.url + path, json=body, headers={"ApiKey": SIM_KEY}, timeout=10)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def crawl_again(console: Console) -> None:
    runs = len(console.status()["instances"][0]["recentRuns"])
    answer = httpx.post(
        console.url + "/status/crawl?instance=main",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    console.wait_for_runs(runs + 1)


@pytest.fixture
def faults(sim: SimulatorServer) -> Iterator[Any]:
    def add(*specs: dict[str, Any]) -> None:
        sim_call(sim, "POST", "/__sim/faults", list(specs))

    yield add
    httpx.delete(sim.url + "/__sim/faults", headers={"ApiKey": SIM_KEY}, timeout=10)


# ---- the list page ----------------------------------------------------------------------------------------


def test_lists_every_served_entity_with_its_count(console: Console) -> None:
    docs = served(console)
    refs, page = listed(console)
    assert set(refs) == set(docs) and len(refs) == len(docs)
    assert count(page) == (len(docs), len(docs))
    counts = console.status()["instances"][0]["lastRun"]["counts"]
    assert sum(counts.values()) == len(docs)
    for ref in refs[:5]:
        assert console.get(entity_href(page, ref)).status_code == 200


def test_search_matches_title_name_and_uid_case_insensitively(console: Console) -> None:
    docs = served(console)
    clusters = [e for _, e in docs.values() if e["spec"]["type"] == "spectrocloud-cluster"]
    word = clusters[0]["metadata"]["title"].split("-")[-2]
    expected = {
        ref
        for ref, (_, e) in docs.items()
        if word in e["metadata"].get("title", "").casefold() or word in e["metadata"]["name"].casefold()
    }
    refs, page = listed(console, f"?q={word.upper()}")
    assert set(refs) == expected and count(page)[0] == len(expected) < len(docs)

    target = clusters[1]
    refs, _ = listed(console, f"?q={ann(target, 'cluster-id')}")
    assert refs == [f"resource:default/{target['metadata']['name']}"]

    refs, page = listed(console, "?q=no-such-thing-anywhere")
    assert refs == [] and 'id="no-results"' in page and count(page) == (0, len(docs))


@pytest.mark.parametrize("kind", views_catalog.KINDS)
def test_kind_filter(console: Console, kind: str) -> None:
    docs = served(console)
    expected = {ref for ref, (_, e) in docs.items() if e["spec"]["type"] == f"spectrocloud-{kind}"}
    refs, page = listed(console, f"?kind={kind}")
    assert expected and set(refs) == expected
    assert count(page) == (len(expected), len(docs))
    assert console.status()["instances"][0]["lastRun"]["counts"][kind] == len(expected)


def test_cloud_type_and_state_filters_offer_and_narrow_to_the_annotation_values(console: Console) -> None:
    docs = served(console)
    for param, annotation, select in (
        ("cloudType", "cloud-type", "filter-cloud-type"),
        ("state", "state", "filter-state"),
    ):
        values = {ann(e, annotation) for _, e in docs.values()} - {""}
        assert len(values) > 1
        _, page = listed(console)
        options = re.search(rf'<select id="{select}".*?</select>', page, re.S)
        assert options is not None
        offered = set(re.findall(r'<option value="([^"]+)"', options.group(0)))
        assert offered == values
        for value in values:
            expected = {ref for ref, (_, e) in docs.items() if ann(e, annotation) == value}
            refs, page = listed(console, f"?{param}={value}")
            assert set(refs) == expected, (param, value)
            assert f'<option value="{value}" selected>' in page


def test_project_filter_by_uid_name_and_tenant_scope(console: Console) -> None:
    docs = served(console)
    projects = {
        ann(e, "project-id"): e["metadata"]["title"] for _, e in docs.values() if e["kind"] == "System"
    }
    assert len(projects) > 1
    for uid, title in projects.items():
        expected = {ref for ref, (_, e) in docs.items() if ann(e, "project-id") == uid}
        by_uid, _ = listed(console, f"?project={uid}")
        by_name, _ = listed(console, f"?project={title}")
        assert set(by_uid) == set(by_name) == expected and len(expected) > 1
    tenant = {ref for ref, (_, e) in docs.items() if not ann(e, "project-id")}
    refs, _ = listed(console, "?project=tenant")
    assert tenant and set(refs) == tenant


def test_instance_filter_and_combined_filters(console: Console) -> None:
    docs = served(console)
    refs, _ = listed(console, "?instance=main")
    assert set(refs) == set(docs)
    refs, page = listed(console, "?instance=elsewhere")
    assert refs == [] and count(page) == (0, len(docs))
    cluster = next(e for _, e in docs.values() if e["spec"]["type"] == "spectrocloud-cluster")
    cloud, project = ann(cluster, "cloud-type"), ann(cluster, "project-id")
    expected = {
        ref
        for ref, (_, e) in docs.items()
        if e["spec"]["type"] == "spectrocloud-cluster"
        and ann(e, "cloud-type") == cloud
        and ann(e, "project-id") == project
    }
    refs, _ = listed(console, f"?instance=main&kind=cluster&cloudType={cloud}&project={project}")
    assert set(refs) == expected and f"resource:default/{cluster['metadata']['name']}" in refs


def test_pages_of_results(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_catalog, "PAGE_SIZE", 10)
    docs = served(console)
    seen: list[str] = []
    url: str | None = "/entities"
    pages = 0
    while url is not None:
        refs, page = listed(console, url.removeprefix("/entities"))
        pages += 1
        assert 0 < len(refs) <= 10
        assert ('id="page-prev"' in page) == (pages > 1)
        assert count(page) == (len(docs), len(docs))
        seen.extend(refs)
        after = re.findall(r'id="page-next" rel="next" href="([^"]+)"', page)
        url = html.unescape(after[0]) if after else None
    assert pages == (len(docs) + 9) // 10
    assert sorted(seen) == sorted(docs)  # every entity once
    # Filters are kept across pages; a page past the end shows the last one.
    clusters = {ref for ref, (_, e) in docs.items() if e["spec"]["type"] == "spectrocloud-cluster"}
    last = (len(clusters) + 9) // 10
    assert last > 1
    refs, page = listed(console, "?kind=cluster&page=99")
    assert set(refs) <= clusters and f"page {last} of {last}" in page and 'id="page-next"' not in page
    prev = re.search(r'id="page-prev" rel="prev" href="([^"]+)"', page)
    assert prev is not None and "kind=cluster" in html.unescape(prev.group(1))
    first, _ = listed(console, "?kind=cluster")
    assert not set(first) & set(refs)


# ---- the entity page --------------------------------------------------------------------------------------


def test_every_entity_page_shows_its_yaml_exactly_as_served(console: Console) -> None:
    docs = served(console)
    _, page = listed(console)
    for ref, (raw, entity) in docs.items():
        answer = console.get(entity_href(page, ref))
        assert answer.status_code == 200, ref
        shown = re.search(r'<pre id="entity-yaml">(.*?)</pre>', answer.text, re.S)
        assert shown is not None
        assert html.unescape(shown.group(1)).encode() == raw, ref
        title = entity["metadata"].get("title") or entity["metadata"]["name"]
        assert f'<h1 id="entity-title">{html.escape(title, quote=False)}</h1>' in answer.text


def test_entity_page_annotations_relations_and_links(console: Console) -> None:
    docs = served(console)
    _, page = listed(console)
    cluster_ref, (_, cluster) = next(
        (ref, d)
        for ref, d in docs.items()
        if d[1]["spec"]["type"] == "spectrocloud-cluster" and ann(d[1], "project-id")
    )
    answer = console.get(entity_href(page, cluster_ref))
    assert answer.status_code == 200
    text = answer.text
    shown = {
        html.unescape(k): html.unescape(v)
        for k, v in re.findall(
            r'<tr class="annotation-row"><td><code>(.*?)</code></td>'
            r'<td class="annotation-value"><code>(.*?)</code>',
            text,
        )
    }
    assert shown == cluster["metadata"]["annotations"]
    # Every entity ref in spec is listed; stored ones link to pages that exist, others are plain text.
    spec_refs = [cluster["spec"]["system"], *cluster["spec"].get("dependsOn", []), cluster["spec"]["owner"]]
    rows = {html.unescape(r) for r in re.findall(r'<tr class="relation-row" data-ref="([^"]+)"', text)}
    assert rows == set(spec_refs)
    links = hrefs(text, "relation-link")
    assert len(links) == len([r for r in spec_refs if r in docs]) > 1
    for link in links:
        target = console.get(link)
        assert target.status_code == 200
        linked = re.search(r'<pre id="entity-yaml">(.*?)</pre>', target.text, re.S)
        assert linked is not None
        assert any(html.unescape(linked.group(1)).encode() == docs[r][0] for r in spec_refs if r in docs)
    assert 'class="relation-plain">group:default/' in text
    # The project links to its System page; the Palette console link is the entity's own.
    project = re.search(r'id="project-link" href="([^"]+)">([^<]+)</a>', text)
    assert project is not None
    system = console.get(html.unescape(project.group(1)))
    assert system.status_code == 200 and ann(cluster, "project-name") == html.unescape(project.group(2))
    assert f"system:default/{cluster['spec']['system'].split('/')[-1]}" in system.text
    assert hrefs(text, "palette-link") == [cluster["metadata"]["links"][0]["url"]]


def test_profile_page_links_to_the_profile_explorer_by_key(console: Console) -> None:
    docs = served(console)
    _, page = listed(console, "?kind=cluster-profile")
    rows = console.server.service.db
    stored = {
        r.ref: r for r in queries.current_entities(rows, "main", palette_kind="cluster-profile").entities
    }
    assert set(stored) == {
        ref for ref, (_, e) in docs.items() if e["spec"]["type"].endswith("cluster-profile")
    }
    for ref, row in list(stored.items())[:4]:
        text = console.get(entity_href(page, ref)).text
        link = re.search(r'id="profile-link" href="([^"]+)"', text)
        assert link is not None
        assert html.unescape(link.group(1)) == f"/profiles/main/{row.key}"
    # A cluster's profile relations link to the explorer too.
    cluster_ref = next(
        ref for ref, (_, e) in docs.items() if e["spec"].get("dependsOn") and "cluster" in e["spec"]["type"]
    )
    text = console.get(entity_href(listed(console)[1], cluster_ref)).text
    explorer = hrefs(text, "relation-profile-link")
    keys = {f"/profiles/main/{r.key}" for r in stored.values()}
    assert explorer and set(explorer) <= keys


def test_unknown_entity_is_a_404_page(console: Console) -> None:
    docs = served(console)
    name = next(
        e["metadata"]["name"] for _, e in docs.values() if e["spec"]["type"] == "spectrocloud-cluster"
    )
    for path in (
        "/entities/main/cluster/no-such-cluster",
        "/entities/main/no-such-kind/" + name,
        "/entities/elsewhere/cluster/" + name,
        "/entities/main/virtual-cluster/" + name,
    ):
        answer = console.get(path)
        assert answer.status_code == 404, path
        assert "Entity not found" in answer.text and answer.headers["content-type"].startswith("text/html")
    assert console.get(f"/entities/main/cluster/{name}").status_code == 200


# ---- honest states, escaping, errors, access --------------------------------------------------------------


def test_stale_entities_say_why(console: Console, faults: Any) -> None:
    docs = served(console)
    project = next(ann(e, "project-id") for _, e in docs.values() if e["kind"] == "System")
    _, before = listed(console)  # read (and cached) while everything is current
    assert "result-row stale" not in before and 'id="catalog-stale-note"' not in before
    faults({"kind": "outage", "project_uid": project})
    crawl_again(console)
    stale = {r.ref for r in queries.current_entities(console.server.service.db, "main").entities if r.stale}
    assert stale and all(ann(docs[ref][1], "project-id") == project for ref in stale)
    _, page = listed(console)
    marked = set()
    for match in re.finditer(r'<tr class="result-row stale" data-ref="([^"]+)">(.*?)</tr>', page, re.S):
        marked.add(html.unescape(match.group(1)))
        reason = re.search(r'<div class="stale-reason muted">(.*?)</div>', match.group(2), re.S)
        assert reason is not None and "failed" in reason.group(1) and "run 2" in reason.group(1)
    assert marked == stale
    assert f"{len(stale)} of {len(docs)} entities are served from an older crawl" in page
    ref = sorted(stale)[0]
    text = console.get(entity_href(page, ref)).text
    assert 'id="entity-stale"' in text and "failed" in text
    fresh = next(r for r in docs if r not in stale)
    assert 'id="entity-stale"' not in console.get(entity_href(page, fresh)).text


def test_titles_are_escaped(console: Console, sim: SimulatorServer) -> None:
    docs = served(console)
    cluster = next(e for _, e in docs.values() if e["spec"]["type"] == "spectrocloud-cluster")
    uid, name = ann(cluster, "cluster-id"), cluster["metadata"]["title"]
    hostile = '<script>alert("x")</script>'
    sim_call(sim, "PATCH", f"/__sim/data/clusters/{uid}", {"metadata": {"name": hostile}})
    try:
        crawl_again(console)
        refs, page = listed(console, f"?q={uid}")
        assert len(refs) == 1
        assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
        text = console.get(entity_href(page, refs[0])).text
        assert "<script>alert" not in text and "&lt;script&gt;alert(" in text
        # What is shown is still exactly what is served.
        shown = re.search(r'<pre id="entity-yaml">(.*?)</pre>', text, re.S)
        assert shown is not None and html.unescape(shown.group(1)).encode() == served(console)[refs[0]][0]
    finally:
        sim_call(sim, "PATCH", f"/__sim/data/clusters/{uid}", {"metadata": {"name": name}})


def test_pages_follow_the_content_security_policy(console: Console) -> None:
    _, page = listed(console)
    entity = console.get(hrefs(page, "entity-link")[0])
    for answer in (console.get("/entities"), entity):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert re.findall(r"<script(?![^>]*\bsrc=)", answer.text) == []
        assert " style=" not in answer.text and "<style" not in answer.text
    assert console.get("/console/static/catalog.js").status_code == 200
    assert console.get("/console/static/catalog.css").status_code == 200


def test_store_failure_is_an_error_page(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    _, page = listed(console)
    link = hrefs(page, "entity-link")[0]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database is gone: secret-detail-1234")

    monkeypatch.setattr(queries, "instance_states", broken)
    monkeypatch.setattr(queries, "current_entities", broken)
    monkeypatch.setattr(lookups, "find_entities", broken)
    for path in ("/entities", link):
        answer = console.get(path)
        assert answer.status_code == 500
        assert "The store could not be read" in answer.text and "RuntimeError" in answer.text
        assert "secret-detail-1234" not in answer.text


def test_before_the_first_crawl_the_page_says_so(sim: SimulatorServer, tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}",
        [{"name": "main", "url": sim.url, "apiToken": SIM_KEY}],
        scheduler={"enabled": False},
        console={"anonymousRead": True},
    )
    server = BackgroundServer(build_service(settings)).start()
    try:
        answer = httpx.get(server.url + "/entities", timeout=10)
        assert answer.status_code == 200
        assert 'id="catalog-not-crawled"' in answer.text and "No crawl has completed yet" in answer.text
        assert 'id="results"' not in answer.text and 'id="no-results"' not in answer.text
        assert httpx.get(server.url + "/catalog/entities.yaml", timeout=10).status_code == 503
    finally:
        server.stop()


def test_unnamed_instance_pages(sim: SimulatorServer, tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}",
        [{"url": sim.url, "apiToken": SIM_KEY}],
        scheduler={"enabled": True, "runOnStart": True},
        console={"anonymousRead": True},
        auth={
            "externalAccess": [
                {"type": "static", "options": {"token": OPERATOR_TOKEN, "subject": "operator"}}
            ]
        },
    )
    console = Console(BackgroundServer(build_service(settings)).start(), sim)
    try:
        console.wait_for_runs(1)
        docs = served(console)
        refs, page = listed(console, "?instance=_")
        assert set(refs) == set(docs)
        links = hrefs(page, "entity-link")
        assert links and all(link.startswith("/entities/_/") for link in links)
        assert console.get(links[0]).status_code == 200
        assert console.get(links[0].replace("/entities/_/", "/entities//")).status_code == 200
    finally:
        console.server.stop()


def test_closed_reading_needs_sign_in(sim: SimulatorServer, tmp_path: Path) -> None:
    console = start_console(tmp_path, sim)
    try:
        assert console.get("/entities").status_code == 401
        answer = console.get("/entities", token=VIEWER_TOKEN)
        assert answer.status_code == 200 and 'id="results"' in answer.text
    finally:
        console.server.stop()
