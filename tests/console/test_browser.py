"""The console in a real headless Chromium (Debian's, driven by Playwright through ``executable_path``).

Every page loads cleanly on a laptop and a phone, search and navigation work, a crawl's changes reach the live
feed (also across a restart of the service), the "crawl now" button and sign-in work. Screenshots go to
``test-artifacts/console/``. Expected values come from the store, the status JSON, ``/catalog/entities.yaml``
and the simulator, never from the pages' own code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from ingestor.api.server import BackgroundServer, build_service
from ingestor.simulator.server import SimulatorServer
from ingestor.store import queries
from ingestor.store.rows import ChangeRow
from tests.console.browser import BrowserPage, browser_page  # noqa: F401 (fixture)
from tests.console.conftest import OPERATOR_TOKEN, SIM_KEY, Console

LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
WAIT_MS = 20_000
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""
OVERFLOW_PROBE = """() => {
  const width = window.innerWidth;
  const offenders = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (element.closest("pre, .table-wrap, .graph-wrap") || !box.width || box.right <= width + 1) {
      continue;
    }
    const classes = typeof element.className === "string" ? element.className.trim() : "";
    offenders.push(element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
      (classes ? "." + classes.replace(/\\s+/g, ".") : "") + " right=" + Math.round(box.right));
  }
  const scrollWidth = document.scrollingElement.scrollWidth;
  return {scrollWidth: scrollWidth, innerWidth: width, offenders: offenders.slice(0, 8)};
}"""


# ---- helpers ----------------------------------------------------------------------------------------------


def instrument(recorded: BrowserPage) -> BrowserPage:
    """Also record answers >= 400 and CSP violations (besides the fixture's console errors and failures)."""
    page = recorded.page
    page.add_init_script(CSP_PROBE)
    page.on(
        "response",
        lambda response: (
            recorded.errors.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return recorded


@contextmanager
def on_device(recorded: BrowserPage, device: str) -> Iterator[BrowserPage]:
    """The fixture's page on a laptop; on a phone, a second context of the same browser, recording alike."""
    if device == "laptop":
        yield instrument(recorded)
        return
    context = recorded.page.context.browser.new_context(**PHONE)
    try:
        page = context.new_page()
        mobile = BrowserPage(page)
        page.on("console", lambda msg: mobile.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: mobile.errors.append(str(exc)))
        page.on(
            "requestfailed",
            lambda request: (
                mobile.errors.append(f"request failed: {request.url}")
                if "/console/events" not in request.url
                else None
            ),
        )
        yield instrument(mobile)
    finally:
        context.close()


def csp_violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__cspViolations || []")
    return found


def open_page(recorded: BrowserPage, url: str) -> None:
    """Navigate and require a 200 answer."""
    response = recorded.page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"


def mark(page: Page) -> None:
    """A flag on the window: still there later means the page was not reloaded."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def link(html: str, css_class: str) -> str:
    """The first ``href`` of an ``<a class="<css_class>" ...>`` in ``html``."""
    found = re.search(rf'<a class="{css_class}" href="([^"]+)"', html)
    assert found, f"no a.{css_class} in the page"
    return found.group(1).replace("&amp;", "&")


def served(console: Console) -> dict[str, str]:
    """Entity ref -> its document in ``/catalog/entities.yaml``, as served."""
    answer = console.get("/catalog/entities.yaml", token=OPERATOR_TOKEN)
    assert answer.status_code == 200
    docs = {}
    for chunk in answer.text.split("---\n")[1:]:
        entity = json.loads(chunk)
        docs[f"{entity['kind'].lower()}:default/{entity['metadata']['name']}"] = "---\n" + chunk
    return docs


def store_changes(console: Console, **kwargs: Any) -> list[ChangeRow]:
    return queries.changes(console.server.service.db, **kwargs)


def change_a_cluster(sim: SimulatorServer, console: Console) -> str:
    """Move one stored cluster's state in the simulator (one ``modified`` change at the next crawl)."""
    rows = queries.current_entities(console.server.service.db, palette_kind="cluster").entities
    uid = sorted(row.key for row in rows if row.project_uid)[0]
    with httpx.Client(base_url=sim.url, headers={"ApiKey": SIM_KEY}, timeout=10) as admin:
        record = admin.get(f"/__sim/data/clusters/{uid}").json()
        state = "Running" if record["status"].get("state") == "Error" else "Error"
        assert admin.patch(f"/__sim/data/clusters/{uid}", json={"status": {"state": state}}).is_success
    return uid


def crawl(console: Console, runs: int) -> None:
    """Start a crawl through the API and wait until ``runs`` runs ended."""
    answer = httpx.post(
        f"{console.url}/status/crawl", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    console.wait_for_runs(runs)


def run_ids(console: Console) -> list[int]:
    (instance,) = console.status()["instances"]
    return [int(run["id"]) for run in instance["recentRuns"]]


def sign_in(page: Page, token: str) -> None:
    page.locator("header .who a", has_text="Sign in").click()
    page.wait_for_url(re.compile(r"/console/sign-in"))
    page.fill("#token", token)
    page.locator("form[action='/console/sign-in'] button[type=submit]").click()


@pytest.fixture
def sim_reset(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    """The simulator, back to its seed afterwards (its data is shared by the module's tests)."""
    yield sim
    assert httpx.post(f"{sim.url}/__sim/reset", headers={"ApiKey": SIM_KEY}, timeout=10).status_code == 204


# ---- every page, on a laptop and a phone ------------------------------------------------------------------


@pytest.mark.parametrize("device", ["laptop", "phone"])
def test_every_page_loads_cleanly(console: Console, browser_page: BrowserPage, device: str) -> None:  # noqa: F811
    cluster = link(console.get("/entities?kind=cluster").text, "entity-link")
    profile = link(console.get(cluster).text, "relation-profile-link")
    pages = {
        "overview": "/",
        "entities": "/entities",
        "entity": cluster,
        "profiles": "/profiles",
        "profile": profile,
        "changes": "/changes",
        "sign-in": "/console/sign-in",
    }
    with on_device(browser_page, device) as recorded:
        page = recorded.page
        for name, path in pages.items():
            open_page(recorded, console.url + path)
            expect(page.locator("main#main h1").first).to_be_visible()
            if name == "changes":
                expect(page.locator("#changes-live")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
            assert csp_violations(page) == [], f"{name}: CSP violations"
            assert recorded.errors == [], f"{name} ({device}): {recorded.errors}"
            if device == "phone":
                width = page.evaluate(OVERFLOW_PROBE)
                assert width["innerWidth"] == PHONE["viewport"]["width"], f"{name} was zoomed out: {width}"
                assert width["scrollWidth"] <= width["innerWidth"] + 1, f"{name} scrolls sideways: {width}"
            recorded.screenshot(f"{name}-{device}")


# ---- search and navigation --------------------------------------------------------------------------------


def test_search_filters_and_navigation(console: Console, browser_page: BrowserPage) -> None:  # noqa: F811
    page = instrument(browser_page).page
    db = console.server.service.db
    clusters = queries.current_entities(db, palette_kind="cluster").entities
    target = sorted(clusters, key=lambda row: row.name)[0]
    title = target.body["metadata"]["title"]
    docs = served(console)

    open_page(browser_page, console.url + "/entities")
    count = page.locator("#result-count")
    total = int(count.get_attribute("data-total") or 0)
    assert total == len(docs) and count.get_attribute("data-matching") == str(total)
    mark(page)
    page.locator("#q").fill(title)
    expect(count).not_to_have_attribute("data-matching", str(total), timeout=WAIT_MS)
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert not_reloaded(page), "the results were swapped in place"
    matching = int(count.get_attribute("data-matching") or 0)
    rows = page.locator("#results tr.result-row")
    titles = rows.locator("a.entity-link").all_inner_texts()
    assert 1 <= matching < total and len(titles) == matching
    assert title in titles and all(title.casefold() in text.casefold() for text in titles)
    browser_page.screenshot("search-laptop")

    rows.locator("a.entity-link", has_text=title).first.click()
    expect(page.locator("#entity-title")).to_have_text(title)
    assert page.locator("#entity-yaml").text_content() == docs[target.ref]
    browser_page.screenshot("entity-from-search-laptop")

    relation = page.locator("#relations a.relation-link").first
    ref = relation.inner_text()
    relation.click()
    page.wait_for_url(re.compile(r"/entities/.+/.+/.+"))
    expect(page.locator("#entity-title")).to_be_visible()
    assert page.locator("#entity-yaml").text_content() == docs[ref]

    open_page(browser_page, console.url + "/entities")
    label = page.locator("#filter-kind option[value='cluster-profile']").inner_text()
    mark(page)
    page.select_option("#filter-kind", "cluster-profile")
    expect(page).to_have_url(re.compile(r"kind=cluster-profile"), timeout=WAIT_MS)
    profiles = queries.current_entities(db, palette_kind="cluster-profile").entities
    expect(count).to_have_attribute("data-matching", str(len(profiles)))
    assert not_reloaded(page)
    kinds = page.locator("#results tr.result-row td:nth-child(2)").all_inner_texts()
    assert kinds and set(kinds) == {label}
    browser_page.screenshot("filter-kind-laptop")
    assert browser_page.errors == []


def test_profile_graph_links_to_its_users(console: Console, browser_page: BrowserPage) -> None:  # noqa: F811
    page = instrument(browser_page).page
    open_page(browser_page, console.url + "/entities?kind=cluster")
    page.locator("a.entity-link").first.click()
    cluster_url = page.url
    page.locator("#relations a.relation-profile-link").first.click()
    page.wait_for_url(re.compile(r"/profiles/"))
    graph = page.locator("svg#profile-graph")
    expect(graph).to_be_visible()
    users = graph.locator("a.graph-node[data-role=user]")
    drawn = int(graph.get_attribute("data-users") or 0)
    assert drawn >= 1 and users.count() == drawn
    hrefs = [users.nth(i).get_attribute("href") for i in range(users.count())]
    assert cluster_url.removeprefix(console.url) in hrefs, "the cluster we came from runs this profile"
    listed = page.locator("#users-table a.user-link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert set(hrefs) <= set(listed)
    browser_page.screenshot("profile-graph-laptop")

    node = users.nth(users.count() - 1)
    href = node.get_attribute("href") or ""
    node.click()
    page.wait_for_url(console.url + href)
    expect(page.locator("#entity-title")).to_be_visible()
    assert browser_page.errors == []


# ---- the live feed ----------------------------------------------------------------------------------------


def test_a_crawl_appears_in_the_live_feed(
    console: Console,
    sim_reset: SimulatorServer,
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = instrument(browser_page).page
    before = store_changes(console)[-1].id
    open_page(browser_page, console.url + "/changes")
    expect(page.locator("#changes-live")).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    first = page.locator("ol#change-feed > li.change").first
    assert first.get_attribute("data-id") == str(before)
    mark(page)

    change_a_cluster(sim_reset, console)
    crawl(console, 2)
    new = store_changes(console, after_id=before)
    assert [row.change for row in new] == ["modified"]
    expect(first).to_have_attribute("data-id", str(new[-1].id), timeout=WAIT_MS)
    expect(first).to_have_class(re.compile(r"\bnew\b"))
    expect(first.locator(".change-type")).to_have_text("modified")
    assert (
        first.locator("a.change-entity").get_attribute("href")
        == f"/entities/main/cluster/{new[-1].ref.rpartition('/')[2]}"
    )
    assert not_reloaded(page) and page.locator("ol#change-feed > li.change.new").count() == len(new)
    browser_page.screenshot("changes-live-laptop")
    assert browser_page.errors == []


def test_the_feed_reconnects_after_a_restart(
    console: Console,
    sim_reset: SimulatorServer,
    browser_page: BrowserPage,  # noqa: F811
) -> None:
    page = instrument(browser_page).page
    open_page(browser_page, console.url + "/changes")
    live = page.locator("#changes-live")
    expect(live).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    mark(page)

    old = console.server
    port, settings, runs = old.port, old.service.settings, len(run_ids(console))
    old.stop()
    expect(live).to_have_attribute("data-state", "closed", timeout=WAIT_MS)
    console.server = BackgroundServer(build_service(settings), port=port).start()  # the fixture stops it
    expect(live).to_have_attribute("data-state", "open", timeout=WAIT_MS)

    before = store_changes(console)[-1].id
    change_a_cluster(sim_reset, console)
    crawl(console, runs + 1)
    new = store_changes(console, after_id=before)
    assert len(new) == 1
    first = page.locator("ol#change-feed > li.change").first
    expect(first).to_have_attribute("data-id", str(new[0].id), timeout=WAIT_MS)
    expect(first).to_have_class(re.compile(r"\bnew\b"))
    assert not_reloaded(page)
    browser_page.screenshot("changes-after-restart-laptop")
    restart = ("ERR_CONNECTION_REFUSED", "/console/events")
    assert [e for e in browser_page.errors if not any(part in e for part in restart)] == []


# ---- crawl now, sign-in -----------------------------------------------------------------------------------


def test_crawl_now_needs_sign_in_and_starts_a_run(console: Console, browser_page: BrowserPage) -> None:  # noqa: F811
    page = instrument(browser_page).page
    open_page(browser_page, console.url + "/")
    button = page.locator("button.crawl-now[data-instance=main]")
    expect(button).to_be_disabled()
    expect(page.locator("#crawl-reason-main")).to_contain_text("Sign in")
    browser_page.screenshot("crawl-anonymous-laptop")

    sign_in(page, OPERATOR_TOKEN)
    page.wait_for_url(console.url + "/")
    expect(button).to_be_enabled()
    assert page.locator("#crawl-reason-main").count() == 0
    before = run_ids(console)
    button.click()
    expect(page.locator("#crawl-notice")).to_be_visible()
    assert "main" in page.locator("#crawl-notice").inner_text()
    browser_page.screenshot("crawl-started-laptop")
    console.wait_for_runs(len(before) + 1)
    (new,) = set(run_ids(console)) - set(before)

    # overview.js polls every 10 s and reloads when a run ended; the page may also have been drawn after it.
    row = page.locator(f"table.runs tr.run-row[data-run='{new}']")
    expect(row).to_be_attached(timeout=25_000)
    expect(page.locator(f".runs-chart g[data-run='{new}']").first).to_be_attached()
    expect(page.locator("#overview-live")).to_have_attribute("data-state", "open")
    browser_page.screenshot("crawl-done-laptop")
    assert browser_page.errors == []


def test_sign_in_errors_and_sign_out(console: Console, browser_page: BrowserPage) -> None:  # noqa: F811
    page = browser_page.page
    open_page(browser_page, console.url + "/changes")
    wrong = "not-a-valid-token-5e1d"
    sign_in(page, wrong)
    alert = page.locator("main p.error[role=alert]")
    expect(alert).to_have_text("That token is not accepted.")
    assert wrong not in page.content()
    assert page.context.cookies() == []
    browser_page.screenshot("sign-in-refused-laptop")

    page.fill("#token", OPERATOR_TOKEN)
    page.locator("form[action='/console/sign-in'] button[type=submit]").click()
    page.wait_for_url(console.url + "/changes")
    who = page.locator("header .who")
    expect(who).to_contain_text("operator")
    cookies = page.context.cookies()
    assert len(cookies) == 1 and cookies[0]["httpOnly"] and OPERATOR_TOKEN not in cookies[0]["value"]
    assert OPERATOR_TOKEN not in page.content()
    browser_page.screenshot("signed-in-laptop")

    who.locator("button", has_text="Sign out").click()
    page.wait_for_url(console.url + "/")
    expect(who.locator("a", has_text="Sign in")).to_be_visible()
    assert page.context.cookies() == []
    browser_page.screenshot("signed-out-laptop")
    # Chromium logs the refused sign-in's 401 answer (deliberate: the token was not accepted), nothing else.
    assert browser_page.errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]
