"""Proves the Backstage harness against a static YAML server: ingestion with relations, change after
refresh, no loss during an outage (while an empty file does delete), and processing-error detection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.backstage_harness import BackstageCatalog, CatalogSettings, Location, entity_ref

pytestmark = pytest.mark.slow

PATH = "/catalog/entities.yaml"
ORPHAN_CLEANUP_S = 30  # plugin-catalog-backend's fixed catalog_orphan_cleanup period (not configurable)
OWNER = "group:default/platform"


class StaticCatalog:
    """Serves one multi-document YAML at ``PATH`` with a strong ETag (304 on match), or an error status."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.answers: list[int] = []  # status of every catalog read, in order
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                owner._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def serve(self, entities: list[dict[str, Any]]) -> None:
        self.body = yaml.safe_dump_all(entities, sort_keys=False).encode() if entities else b""
        self.status = 200

    def fail(self, status: int = 503) -> None:
        self.status = status

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        status, body = self.status, self.body
        if handler.path != PATH:
            status = 404
        elif status == 200 and handler.headers.get("If-None-Match") == self.etag:
            status = 304
        self.answers.append(status)
        payload = body if status == 200 else (b"" if status == 304 else b"unavailable")
        handler.send_response(status)
        if status in (200, 304):
            handler.send_header("ETag", self.etag)
        handler.send_header("Content-Type", "application/yaml")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class Source:
    server: StaticCatalog
    location: Location


def system(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {"name": name, "title": f"System {name}"},
        "spec": {"owner": OWNER},
    }


def resource(
    name: str, system_name: str, depends_on: tuple[str, ...] = (), **metadata: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "spectrocloud-cluster", "owner": OWNER, "system": system_name}
    if depends_on:
        spec["dependsOn"] = [f"resource:default/{dep}" for dep in depends_on]
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": name, **metadata},
        "spec": spec,
    }


def trio(prefix: str) -> list[dict[str, Any]]:
    """A System and two Resources in it; ``<prefix>-b`` dependsOn ``<prefix>-a``."""
    sys_name = f"{prefix}-sys"
    return [
        system(sys_name),
        resource(f"{prefix}-a", sys_name, annotations={"example.com/payload": '{"json": true}'}),
        resource(f"{prefix}-b", sys_name, depends_on=(f"{prefix}-a",), tags=["c++", "team:core"]),
    ]


def refs(entities: list[dict[str, Any]]) -> list[str]:
    return [entity_ref(e) for e in entities]


def relations(entity: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"]) for r in entity.get("relations", [])}


def all_present(backstage: BackstageCatalog, wanted: list[str]) -> Callable[[], bool]:
    return lambda: all(backstage.entity(ref) is not None for ref in wanted)


@pytest.fixture
def prefix() -> str:
    """Entity names unique to the test: the catalog is shared by the whole session."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_source(backstage: BackstageCatalog) -> Iterator[Callable[[list[dict[str, Any]]], Source]]:
    """Start a static server with these entities and register it; unregistered and stopped afterwards."""
    made: list[Source] = []

    def factory(entities: list[dict[str, Any]]) -> Source:
        server = StaticCatalog()
        server.serve(entities)
        made.append(Source(server, backstage.register_location(server.url)))
        return made[-1]

    yield factory
    for source in made:
        backstage.unregister_location(source.location)
        source.server.stop()


def test_entities_are_ingested_with_relations_and_no_errors(
    backstage: BackstageCatalog, make_source: Callable[[list[dict[str, Any]]], Source], prefix: str
) -> None:
    entities = trio(prefix)
    source = make_source(entities)
    sys_ref, a_ref, b_ref = refs(entities)
    expected = {
        sys_ref: {("ownedBy", OWNER), ("hasPart", a_ref), ("hasPart", b_ref)},
        a_ref: {("ownedBy", OWNER), ("partOf", sys_ref), ("dependencyOf", b_ref)},
        b_ref: {("ownedBy", OWNER), ("partOf", sys_ref), ("dependsOn", a_ref)},
    }

    def stitched() -> bool:
        for ref, want in expected.items():
            found = backstage.entity(ref)
            if found is None or not want <= relations(found):
                return False
        return True

    backstage.wait_for(stitched, 30, what="entities with their relations")
    a = backstage.entity(a_ref)
    assert a["metadata"]["annotations"]["example.com/payload"] == '{"json": true}'
    assert a["metadata"]["annotations"]["backstage.io/managed-by-location"] == f"url:{source.server.url}"
    assert backstage.entity(b_ref)["metadata"]["tags"] == ["c++", "team:core"]
    ours = {*expected, source.location.entity_ref}
    assert [e for e in backstage.processing_errors() if e.entity_ref in ours] == []
    system_name = sys_ref.split("/")[1]
    listed = {entity_ref(e) for e in backstage.entities({"kind": "resource", "spec.system": system_name})}
    assert listed == {a_ref, b_ref}
    paged = backstage.entities({"kind": "resource", "spec.system": system_name}, page_size=1)
    assert sorted(entity_ref(e) for e in paged) == sorted(listed)  # two pages of one, via the cursor
    assert backstage.register_location(source.server.url) == source.location  # already registered

    # the catalog sends our ETag back: an unchanged file costs a 304 and keeps every entity
    reads = len(source.server.answers)
    backstage.refresh(source.location.entity_ref)
    backstage.wait_for(lambda: 304 in source.server.answers[reads:], 15, what="a conditional re-read")
    assert all_present(backstage, list(expected))()


def test_a_change_reaches_the_catalog_after_refresh(
    backstage: BackstageCatalog, make_source: Callable[[list[dict[str, Any]]], Source], prefix: str
) -> None:
    entities = trio(prefix)
    source = make_source(entities)
    backstage.wait_for(all_present(backstage, refs(entities)), 30, what="first ingestion")
    entities[1]["metadata"]["title"] = "Renamed"
    added = resource(f"{prefix}-c", entities[0]["metadata"]["name"], depends_on=(f"{prefix}-a",))
    source.server.serve([*entities, added])
    backstage.refresh(source.location.entity_ref)

    def changed() -> bool:
        a, c = backstage.entity(refs(entities)[1]), backstage.entity(entity_ref(added))
        return a is not None and a["metadata"].get("title") == "Renamed" and c is not None

    backstage.wait_for(changed, 20, what="the renamed and the added entity")
    assert ("dependsOn", refs(entities)[1]) in relations(backstage.entity(entity_ref(added)))

    backstage.unregister_location(source.location)  # teardown does it again: a no-op then
    gone = [*refs(entities), entity_ref(added), source.location.entity_ref]
    backstage.wait_for(lambda: all(backstage.entity(ref) is None for ref in gone), 10, what="eager removal")


def test_an_outage_keeps_every_entity_while_an_empty_file_deletes(
    backstage: BackstageCatalog, make_source: Callable[[list[dict[str, Any]]], Source], prefix: str
) -> None:
    served, control_entities = trio(f"{prefix}-up"), trio(f"{prefix}-ctl")
    outage, control = make_source(served), make_source(control_entities)
    backstage.wait_for(all_present(backstage, refs(served) + refs(control_entities)), 30, what="ingestion")
    uids = {ref: backstage.entity(ref)["metadata"]["uid"] for ref in refs(served)}

    outage.server.fail(503)
    backstage.refresh(outage.location.entity_ref)

    def outage_reported() -> bool:
        return any(
            e.entity_ref == outage.location.entity_ref and "503" in " ".join(e.messages)
            for e in backstage.processing_errors()
        )

    backstage.wait_for(outage_reported, 15, what="the 503 recorded on the Location")
    # the control serves a wrongly empty file: its entities become orphans and the cleanup deletes them,
    # which proves a cleanup pass ran after the outage began
    control.server.serve([])
    backstage.refresh(control.location.entity_ref)

    def gone() -> bool:
        return all(backstage.entity(ref) is None for ref in refs(control_entities))

    backstage.wait_for(gone, ORPHAN_CLEANUP_S + 20, interval=1, what="orphans of the empty file deleted")
    assert outage.server.answers.count(503) >= 2  # periodic re-reads failed too, not just the refresh

    for ref, uid in uids.items():
        kept = backstage.entity(ref)
        assert kept is not None, f"{ref} disappeared during the outage"
        assert kept["metadata"]["uid"] == uid
        assert "backstage.io/orphan" not in kept["metadata"].get("annotations", {})

    outage.server.serve(served)
    backstage.refresh(outage.location.entity_ref)
    backstage.wait_for(lambda: not outage_reported(), 15, what="the Location error cleared")


def test_invalid_entities_show_up_as_processing_errors(
    backstage: BackstageCatalog, make_source: Callable[[list[dict[str, Any]]], Source], prefix: str
) -> None:
    entities = trio(prefix)
    too_long = resource(f"{prefix}-" + "x" * 70, entities[0]["metadata"]["name"])
    source = make_source([*entities, too_long])
    backstage.wait_for(all_present(backstage, refs(entities)), 30, what="the valid entities")

    def errors_of(ref: str) -> Callable[[], list[Any]]:
        return lambda: [e for e in backstage.processing_errors() if e.entity_ref == ref]

    (never,) = backstage.wait_for(errors_of(entity_ref(too_long)), 20, what="the invalid entity's error")
    assert never.source == "pending"
    assert "metadata.name" in " ".join(never.messages)
    assert backstage.entity(entity_ref(too_long)) is None

    # valid first, invalid later: the old version stays, the error lands in its status
    a_ref = refs(entities)[1]
    entities[1]["metadata"]["labels"] = {"bad": "not a valid value!"}
    source.server.serve(entities)
    backstage.refresh(source.location.entity_ref)
    (later,) = backstage.wait_for(errors_of(a_ref), 20, what="the now-invalid entity's error")
    assert later.source == "status"
    assert "labels" in " ".join(later.messages)
    assert "labels" not in backstage.entity(a_ref)["metadata"]


def test_calls_need_the_token_and_the_token_stays_out_of_logs(backstage: BackstageCatalog) -> None:
    api = f"{backstage.url}/api/catalog/entities/by-query"
    assert httpx.get(api, timeout=10).status_code == 401
    assert httpx.get(api, headers={"Authorization": "Bearer not-the-token"}, timeout=10).status_code == 401
    assert backstage.http.get("/entities/by-query").status_code == 200
    assert backstage.token not in repr(backstage)
    for path in backstage.run_dir.iterdir():
        assert backstage.token not in path.read_text(errors="replace"), path.name


def test_reading_allow_is_enforced_and_stop_frees_the_port(
    catalog_settings: CatalogSettings, prefix: str
) -> None:
    server = StaticCatalog()
    server.serve(trio(prefix))
    settings = dataclasses.replace(catalog_settings, allow_hosts=("127.0.0.1:1",))  # not the server's port
    try:
        with BackstageCatalog(settings) as catalog:
            location = catalog.register_location(server.url)

            def refused() -> list[Any]:
                return [
                    e
                    for e in catalog.processing_errors()
                    if e.entity_ref == location.entity_ref and "not allowed" in " ".join(e.messages)
                ]

            catalog.wait_for(refused, 15, what="the read refused by backend.reading.allow")
            assert server.answers == []
            assert catalog.entities({"kind": "resource"}) == []
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{catalog.url}/api/catalog/entities", timeout=5)
    finally:
        server.stop()
