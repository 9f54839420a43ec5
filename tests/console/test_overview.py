"""The overview page (``/``) and its JSON, over real sockets against a crawled simulator: the numbers equal
``/status``, one chart point per run, honest states (no crawl yet, failed parts, held removals, store down),
and the "crawl now" button for anonymous, permitted, unpermitted and cross-site callers."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from ingestor.api.server import BackgroundServer, build_service
from ingestor.logging import forget_secrets, register_secrets
from ingestor.simulator.dataset import owner_of
from ingestor.simulator.faults_spec import OutageFault
from ingestor.simulator.index import cloud_type
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer
from tests.api.conftest import make_settings
from tests.console.conftest import (
    OPERATOR_TOKEN,
    SIM_KEY,
    VIEWER_TOKEN,
    Console,
    start_console,
)

VIEW_POLICY = "p, role:default/operators, spectrocloud.cluster.view-info, read, allow\n"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        """Descendants matching ``tag``, class ``cls`` and attributes (``data_x`` means ``data-x``)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        found = []
        for child in self.children:
            if (
                (tag is None or child.tag == tag)
                and (cls is None or cls in child.classes)
                and all(child.attrs.get(k) == v for k, v in wanted.items())
            ):
                found.append(child)
            found += child.all(tag, cls, **attrs)
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Element:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} elements match {tag} .{cls} {attrs}"
        return found[0]

    @property
    def words(self) -> str:
        return " ".join(self.text.split())


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


def html(text: str) -> Element:
    tree = Tree()
    tree.feed(text)
    return tree.root


def stat(card: Element, key: str) -> str:
    return card.one("div", "stat", data_stat=key).one("b").words


def overview(console: Console, client: httpx.Client | None = None) -> Element:
    answer = client.get("/") if client is not None else console.get("/")
    assert answer.status_code == 200, answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    for secret in (SIM_KEY, OPERATOR_TOKEN, VIEWER_TOKEN):
        assert secret not in answer.text
    return html(answer.text)


@contextmanager
def signed_in(console: Console, token: str) -> Iterator[httpx.Client]:
    """A browser-like client signed in through the sign-in form (same-origin POST, sealed cookie)."""
    with httpx.Client(base_url=console.url, timeout=30, headers={"Origin": console.url}) as client:
        answer = client.post("/console/sign-in", data={"token": token, "next": "/"})
        assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
        assert "ingestor-console" in client.cookies
        yield client


def trigger_and_wait(console: Console, runs: int) -> None:
    answer = console.get("/status", token=OPERATOR_TOKEN)  # nothing running before we trigger
    assert not answer.json()["instances"][0]["crawling"]
    started = httpx.post(
        console.url + "/status/crawl?instance=main",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        timeout=30,
    )
    assert started.status_code == 202, started.text
    console.wait_for_runs(runs)
    wait_idle(console)


def wait_idle(console: Console, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while console.status()["instances"][0]["crawling"]:
        assert time.monotonic() < deadline, "the crawl did not finish"
        time.sleep(0.1)


def run_ids(console: Console) -> list[int]:
    return [run["id"] for run in console.status()["instances"][0]["recentRuns"]]


# --- what the page shows ------------------------------------------------------------------------------


def test_the_overview_shows_the_numbers_of_the_status_page(console: Console) -> None:
    (status,) = console.status()["instances"]
    last = status["lastRun"]
    page = overview(console)
    card = page.one("section", "instance", data_instance="main")

    assert card.attrs["data-state"] == "ok" and "The last crawl succeeded" in card.one("p", "headline").words
    assert card.one("span", "run-id").words == f"#{last['id']}"
    assert card.one("span", "run-trigger").words == last["trigger"] == "start"
    assert card.one("span", "run-status").words == last["status"]
    expected = {
        "api-calls": last["apiCalls"],
        "detail-calls": last["detailCalls"],
        "retries": last["retries"],
        "rate-limited": last["rateLimited"],
        "errors": last["errors"],
        "held": len(status["heldRemovals"]),
    }
    assert {key: stat(card, key) for key in expected} == {k: str(v) for k, v in expected.items()}
    assert last["apiCalls"] > 0 and last["detailCalls"] > 0
    assert stat(card, "snapshot") == f"v{status['snapshot']['version']}"
    finished = card.one("div", "stat", data_stat="last-crawl").one("time").attrs["datetime"]
    assert finished.replace("+00:00", "Z") == last["finishedAt"]
    upcoming = card.one("div", "stat", data_stat="next-crawl").one("time").attrs["datetime"]
    assert upcoming.replace("+00:00", "Z") == status["nextRunAt"]

    counts = {
        row.attrs["data-kind"]: int(row.all("td")[1].words)
        for row in card.one("table", "counts").all("tr")[1:]
    }
    assert counts == last["counts"] and sum(counts.values()) > 0

    rows = card.one("table", "projects").all("tr", "project-row")
    assert [row.all("td")[0].words for row in rows] == [p["name"] for p in status["projects"]]
    assert [int(row.all("td")[2].words) for row in rows] == [
        sum(part["items"] for part in p["parts"]) for p in status["projects"]
    ]
    assert all(row.attrs["data-ok"] == "true" for row in rows)
    assert "None: every part was crawled" in card.words and card.all("li", "failed-part") == []


def test_the_json_route_carries_the_same_data(console: Console) -> None:
    (status,) = console.status()["instances"]
    answer = console.get("/console/api/overview")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    data = answer.json()
    (mine,) = data["instances"]
    assert data["crawl"] == {"allowed": False, "reason": "Sign in to start a crawl."}
    shared = (
        "id",
        "status",
        "trigger",
        "apiCalls",
        "detailCalls",
        "retries",
        "rateLimited",
        "errors",
        "counts",
    )
    assert {k: mine["lastRun"][k] for k in shared} == {k: status["lastRun"][k] for k in shared}
    assert mine["lastRun"]["startedAt"] == status["lastRun"]["startedAt"]
    assert mine["snapshot"] == status["snapshot"] and mine["nextRunAt"] == status["nextRunAt"]
    assert [(p["name"], p["ok"]) for p in mine["projects"]] == [
        (p["name"], p["ok"]) for p in status["projects"]
    ]
    page = overview(console)
    assert page.one("div", id="overview").attrs["data-digest"] == data["digest"]


def test_the_chart_has_one_point_per_run(console: Console) -> None:
    trigger_and_wait(console, 2)
    trigger_and_wait(console, 3)
    ids = run_ids(console)
    assert len(ids) == 3
    card = overview(console).one("section", "instance", data_instance="main")
    runs = {run["id"]: run for run in console.status()["instances"][0]["recentRuns"]}
    for metric in ("duration", "calls"):
        svg = card.one("svg", "runs-chart", data_metric=metric)
        assert svg.attrs["role"] == "img" and svg.one("title", id=f"{svg.attrs['id']}-title").words
        assert svg.one("desc").words
        points = svg.all("g", "point")
        assert [int(p.attrs["data-run"]) for p in points] == sorted(ids)  # oldest first
    calls = card.one("svg", "runs-chart", data_metric="calls").all("g", "point")
    assert [int(p.attrs["data-value"]) for p in calls] == [runs[i]["apiCalls"] for i in sorted(ids)]
    durations = card.one("svg", "runs-chart", data_metric="duration").all("g", "point")
    assert [float(p.attrs["data-value"]) for p in durations] == [
        pytest.approx(runs[i]["durationSeconds"], abs=1e-3) for i in sorted(ids)
    ]
    table = [int(row.attrs["data-run"]) for row in card.one("table", "runs").all("tr", "run-row")]
    assert table == ids  # newest first, like /status


# --- crawl now ----------------------------------------------------------------------------------------


def test_anonymous_callers_see_a_disabled_button_and_cannot_crawl(console: Console) -> None:
    card = overview(console).one("section", "instance", data_instance="main")
    button = card.one("button", "crawl-now")
    assert button.attrs["id"] == "crawl-now-main" and "disabled" in button.attrs
    reason = card.one("span", "crawl-reason")
    assert button.attrs["aria-describedby"] == reason.attrs["id"] and "Sign in" in reason.words
    before = run_ids(console)
    answer = httpx.post(
        console.url + "/console/crawl", data={"instance": "main"}, headers={"Origin": console.url}, timeout=30
    )
    assert answer.status_code == 403
    time.sleep(0.5)
    assert run_ids(console) == before and not console.status()["instances"][0]["crawling"]


def test_a_signed_in_operator_starts_a_crawl_and_sees_the_notice(console: Console) -> None:
    before = run_ids(console)
    with signed_in(console, OPERATOR_TOKEN) as client:
        card = overview(console, client).one("section", "instance", data_instance="main")
        button = card.one("button", "crawl-now")
        assert "disabled" not in button.attrs and card.all("span", "crawl-reason") == []
        form = card.one("form", "crawl-form")
        assert form.attrs["method"] == "post" and form.attrs["action"] == "/console/crawl"
        assert form.one("input", type="hidden").attrs == {
            "type": "hidden",
            "name": "instance",
            "value": "main",
        }

        answer = client.post("/console/crawl", data={"instance": "main"})
        assert answer.status_code == 303 and answer.headers["location"] == "/?crawl=started&instance=main"
        notice = html(client.get(answer.headers["location"]).text).one("p", id="crawl-notice")
        assert "A crawl of main started" in notice.words and "ok" in notice.classes
        assert client.get("/console/api/overview").json()["crawl"] == {"allowed": True, "reason": None}
    console.wait_for_runs(len(before) + 1)
    wait_idle(console)
    runs = console.status()["instances"][0]["recentRuns"]
    assert runs[0]["id"] not in before and runs[0]["trigger"] == "manual"


def test_a_cross_site_post_is_refused(console: Console) -> None:
    before = run_ids(console)
    with signed_in(console, OPERATOR_TOKEN) as client:
        answer = client.post(
            "/console/crawl", data={"instance": "main"}, headers={"Origin": "https://evil.example"}
        )
        assert answer.status_code == 403
        fetch_site = client.post(
            "/console/crawl",
            data={"instance": "main"},
            headers={"Origin": "", "Sec-Fetch-Site": "cross-site"},
        )
        assert fetch_site.status_code == 403
    time.sleep(0.5)
    assert run_ids(console) == before and not console.status()["instances"][0]["crawling"]


@pytest.fixture
def guarded(sim: SimulatorServer, tmp_path: Path) -> Iterator[Console]:
    """Permissions on (the RBAC policy file), console closed to anonymous readers."""
    register_secrets([SIM_KEY, OPERATOR_TOKEN, VIEWER_TOKEN])
    policy = tmp_path / "policy.csv"
    # conftest's POLICY grants spectrocloud.ingestor.crawl, which the policy parser does not know (it is not
    # in auth.permissions.ALL_PERMISSIONS), so the file is refused; static tokens are decided by their
    # access restrictions anyway, so any valid policy turns permissions on for this test.
    policy.write_text(VIEW_POLICY)
    running = start_console(
        tmp_path,
        sim,
        spectrocloud={"enablePermissions": True},
        auth={"rbac": {"mode": "file", "policyFile": str(policy)}},
    )
    try:
        yield running
    finally:
        running.server.stop()
        forget_secrets()


def test_with_permissions_on_only_a_caller_holding_the_crawl_permission_may_crawl(guarded: Console) -> None:
    # Closed console: anonymous callers get the sign-in page and a JSON 401.
    assert guarded.get("/").status_code == 401
    closed = guarded.get("/console/api/overview")
    assert closed.status_code == 401 and closed.json() == {"error": "sign in to read the console"}
    before = run_ids(guarded)

    # The viewer's static token is restricted to spectrocloud.cluster.view-info: no crawl.
    with signed_in(guarded, VIEWER_TOKEN) as viewer:
        card = overview(guarded, viewer).one("section", "instance", data_instance="main")
        assert "disabled" in card.one("button", "crawl-now").attrs
        assert "spectrocloud.ingestor.crawl" in card.one("span", "crawl-reason").words
        refused = viewer.post("/console/crawl", data={"instance": "main"})
        assert refused.status_code == 403 and "spectrocloud.ingestor.crawl" in refused.text
    time.sleep(0.5)
    assert run_ids(guarded) == before

    # The operator's static token has no access restrictions: every permission, so it may crawl.
    with signed_in(guarded, OPERATOR_TOKEN) as operator:
        card = overview(guarded, operator).one("section", "instance", data_instance="main")
        assert "disabled" not in card.one("button", "crawl-now").attrs
        assert operator.post("/console/crawl", data={"instance": "main"}).status_code == 303
    guarded.wait_for_runs(len(before) + 1)
    wait_idle(guarded)


# --- honest states ------------------------------------------------------------------------------------


def test_before_the_first_crawl_the_page_says_no_crawl_has_completed(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'store' / 'ingestor.db'}",
        [{"name": "main", "url": sim.url, "apiToken": SIM_KEY}],
        scheduler={"enabled": True, "runOnStart": False},
        console={"anonymousRead": True},
    )
    with BackgroundServer(build_service(settings)) as server:
        answer = httpx.get(server.url + "/", timeout=30)
        assert answer.status_code == 200
        card = html(answer.text).one("section", "instance", data_instance="main")
        assert card.attrs["data-state"] == "never"
        assert "No crawl has completed yet" in card.one("p", "headline").words
        assert stat(card, "last-crawl") == "never" and stat(card, "snapshot") == "none"
        assert stat(card, "api-calls") == "—" and card.all("table", "counts") == [] and card.all("svg") == []
        data = httpx.get(server.url + "/console/api/overview", timeout=30).json()
        assert data["instances"][0]["state"] == "never" and data["instances"][0]["lastRun"] is None


@pytest.fixture
def own_sim() -> Iterator[SimulatorServer]:
    """A simulator of its own: this test deletes data and injects faults."""
    with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, rate_limits=False)) as server:
        yield server


def test_failed_parts_and_held_removals_show_their_reasons(own_sim: SimulatorServer, tmp_path: Path) -> None:
    register_secrets([SIM_KEY, OPERATOR_TOKEN, VIEWER_TOKEN])
    console = start_console(
        tmp_path,
        own_sim,
        console={"anonymousRead": True},
        crawl={"removalGuard": {"minPartSize": 2, "confirmAfterRuns": 3}},
    )
    try:
        clusters: dict[str, list[str]] = {}
        for uid, record in own_sim.dataset.collection("clusters").items():
            live = (record.get("status") or {}).get("state") != "Deleted"
            if cloud_type(record) != "nested" and live and owner_of(record)[1]:
                clusters.setdefault(owner_of(record)[1], []).append(uid)
        names = {p["uid"]: p["name"] for p in console.status()["instances"][0]["projects"] if p["uid"]}
        emptied, down = sorted(clusters, key=lambda p: (-len(clusters[p]), p))[:2]
        for uid in clusters[emptied]:
            own_sim.dataset.delete("clusters", uid)
        own_sim.faults.add(OutageFault(project_uid=down))
        trigger_and_wait(console, 2)

        (status,) = console.status()["instances"]
        assert status["lastRun"]["status"] == "partial" and status["heldRemovals"]
        card = overview(console).one("section", "instance", data_instance="main")
        assert card.attrs["data-state"] == "partial" and "stale" in card.one("p", "headline").words

        failed = [li.words for li in card.all("li", "failed-part")]
        assert len(failed) == len(status["lastRun"]["failedParts"]) > 0
        assert all(li.startswith(f"{names[down]} ·") for li in failed)
        rows = card.one("table", "projects").all("tr", "project-row")
        assert rows[0].attrs["data-ok"] == "false" and rows[0].all("td")[0].words == names[down]
        assert "serving data from" in rows[0].words and all(r.attrs["data-ok"] == "true" for r in rows[1:])

        problems = card.all("li", "problem")
        assert [li.attrs["data-level"] for li in problems] == [p["level"] for p in status["problems"]]
        assert all(p["reason"] in li.words for li, p in zip(problems, status["problems"], strict=True))

        held = card.all("li", "held")
        assert stat(card, "held") == str(len(held)) == str(len(status["heldRemovals"]))
        assert [li.attrs["data-ref"] for li in held] == [h["ref"] for h in status["heldRemovals"]]
        assert [li.one("span", "held-reason").words for li in held] == [
            h["reason"] for h in status["heldRemovals"]
        ]
        for li in held:
            link = li.one("a", "entity-link")
            name = li.attrs["data-ref"].rpartition("/")[2]
            assert link.attrs["href"] == f"/entities/main/cluster/{name}"
            assert console.get(link.attrs["href"]).status_code == 200  # the catalog page of that entity
    finally:
        console.server.stop()
        forget_secrets()


def test_a_store_that_cannot_be_read_gives_an_error_page(console: Console, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "store" / "ingestor.db") as db:
        db.execute("ALTER TABLE crawl_runs RENAME TO crawl_runs_gone")
    answer = console.get("/")
    assert answer.status_code == 500
    assert "The store cannot be read" in answer.text and "OperationalError" in answer.text
    as_json = console.get("/console/api/overview")
    assert as_json.status_code == 503 and "did not answer" in as_json.json()["error"]
    with sqlite3.connect(tmp_path / "store" / "ingestor.db") as db:  # let the fixture stop cleanly
        db.execute("ALTER TABLE crawl_runs_gone RENAME TO crawl_runs")


def test_the_notice_ignores_unknown_states_and_instances(console: Console) -> None:
    for query in ("?crawl=<b>x</b>&instance=main", "?crawl=started&instance=<script>"):
        assert overview_text(console, query).all("p", id="crawl-notice") == []
    busy = overview_text(console, "?crawl=busy&instance=main").one("p", id="crawl-notice")
    assert "Another replica is crawling main" in busy.words and "warn" in busy.classes


def overview_text(console: Console, query: str) -> Element:
    answer = console.get("/" + query)
    assert answer.status_code == 200
    return html(answer.text)
