"""Catalog serving over a real socket: 503 before the first crawl, entities after, ETag/304, gzip, filters,
location.yaml, per-instance isolation, bodies built once per snapshot, restart serving the stored snapshot."""

from __future__ import annotations

import gzip
import hashlib

import httpx
import pytest
import yaml

from ingestor.simulator.server import SimulatorServer
from tests.api.conftest import (
    OTHER_SIM_KEY,
    TRIGGER_TOKEN,
    GatedCrawl,
    ServiceFactory,
    environment,
    make_settings,
    wait_for,
    wait_ready,
)

YAML_URL = "/catalog/entities.yaml"


def _docs(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_503_before_the_first_snapshot_then_entities(
    sim: SimulatorServer, database_url: str, start_service: ServiceFactory
) -> None:
    crawl = GatedCrawl()
    server = start_service(make_settings(database_url, [environment("main", sim.url)]), crawl=crawl)
    for path in (YAML_URL, "/catalog/entities.json", YAML_URL + "?instance=main"):
        early = httpx.get(server.url + path)
        assert early.status_code == 503, path
        assert int(early.headers["retry-after"]) > 0
        assert "main" in early.json()["error"] and early.content != b""
    crawl.open()
    wait_ready(server)
    response = httpx.get(server.url + YAML_URL)
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.headers["cache-control"] == "no-cache"
    docs = _docs(response.text)
    assert response.text.startswith("---\n")
    assert {d["kind"] for d in docs} == {"System", "Resource"}
    as_json = httpx.get(server.url + "/catalog/entities.json").json()
    assert as_json["items"] == docs


def test_etag_and_304(sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]))
    wait_ready(server)
    plain = httpx.get(server.url + YAML_URL, headers={"Accept-Encoding": "identity"})
    etag = plain.headers["etag"]
    assert etag == '"' + hashlib.sha256(plain.content).hexdigest() + '"'
    for header in (etag, f'"nope", {etag}', f"W/{etag}", "*"):
        again = httpx.get(
            server.url + YAML_URL, headers={"If-None-Match": header, "Accept-Encoding": "identity"}
        )
        assert again.status_code == 304, header
        assert again.content == b"" and again.headers["etag"] == etag
    changed = httpx.get(server.url + YAML_URL, headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == plain.content
    # The JSON body is another representation: its own tag, no 304 for the YAML's.
    as_json = httpx.get(server.url + "/catalog/entities.json", headers={"If-None-Match": etag})
    assert as_json.status_code == 200 and as_json.headers["etag"] != etag


def test_gzip_is_served_when_accepted(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]))
    wait_ready(server)
    with httpx.Client() as client:
        raw = client.get(server.url + YAML_URL, headers={"Accept-Encoding": "identity"})
        with client.stream("GET", server.url + YAML_URL, headers={"Accept-Encoding": "gzip"}) as packed:
            wire = b"".join(packed.iter_raw())
            assert packed.headers["content-encoding"] == "gzip"
            assert packed.headers["vary"] == "Accept-Encoding"
            gzip_etag = packed.headers["etag"]
        refused = client.get(server.url + YAML_URL, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert gzip.decompress(wire) == raw.content
    assert len(wire) < len(raw.content) / 3
    assert gzip_etag == '"' + hashlib.sha256(wire).hexdigest() + '"' and gzip_etag != raw.headers["etag"]
    assert "content-encoding" not in refused.headers
    # Either representation's tag proves the client is current.
    check = httpx.get(
        server.url + YAML_URL, headers={"If-None-Match": raw.headers["etag"], "Accept-Encoding": "gzip"}
    )
    assert check.status_code == 304 and check.headers["etag"] == gzip_etag


def test_filters(sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]))
    wait_ready(server)
    everything = _docs(httpx.get(server.url + YAML_URL).text)

    def get(**params: str | list[str]) -> list[dict[str, object]]:
        response = httpx.get(server.url + YAML_URL, params=params)
        assert response.status_code == 200, response.text
        return _docs(response.text)

    systems = get(kind="System")
    assert systems and all(d["kind"] == "System" for d in systems)
    assert len(systems) == sum(1 for d in everything if d["kind"] == "System")
    clusters = get(kind="spectrocloud-cluster")
    assert clusters and all(d["spec"]["type"] == "spectrocloud-cluster" for d in clusters)  # type: ignore[index]
    assert len(get(kind="cluster")) == len(clusters)  # the Palette kind
    both = get(kind="cluster,System")
    assert len(both) == len(clusters) + len(systems)
    assert get(kind=["cluster", "System"]) == both

    project = systems[0]
    meta = project["metadata"]
    assert isinstance(meta, dict)
    uid = next(v for k, v in meta["annotations"].items() if k.endswith("/project-id"))
    in_project = get(project=uid)
    assert project in in_project and len(in_project) < len(everything)
    assert all(
        next(v for k, v in d["metadata"]["annotations"].items() if k.endswith("/project-id")) == uid  # type: ignore[index]
        for d in in_project
    )
    assert get(project=str(meta["title"])) == in_project  # the Palette project name works too
    assert get(project=uid, kind="cluster") == [d for d in in_project if d in clusters]
    assert get(instance="MAIN") == everything  # instance names ignore case
    unknown = httpx.get(server.url + YAML_URL, params={"instance": "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]
    assert get(project="no-such-project") == []


def test_location_yaml_fans_out_per_instance(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    settings = make_settings(
        sqlite_url, [environment("alpha", sim.url), environment("beta", sim.url, OTHER_SIM_KEY)]
    )
    server = start_service(settings)
    response = httpx.get(server.url + "/catalog/location.yaml")  # served even before any snapshot
    assert response.status_code == 200
    (location,) = _docs(response.text)
    assert location["apiVersion"] == "backstage.io/v1alpha1" and location["kind"] == "Location"
    assert location["metadata"]["name"] == "spectrocloud-ingestor"  # type: ignore[index]
    assert location["spec"] == {  # type: ignore[comparison-overlap]
        "type": "url",
        "targets": [f"{server.url}/catalog/entities.yaml?instance={n}" for n in ("alpha", "beta")],
    }
    etag = response.headers["etag"]
    assert (
        httpx.get(server.url + "/catalog/location.yaml", headers={"If-None-Match": etag}).status_code == 304
    )

    with_base = start_service(
        make_settings(
            sqlite_url, [environment("alpha", sim.url)], server={"baseUrl": "https://ingestor.example.com/"}
        ),
        upgrade=False,
    )
    (location,) = _docs(httpx.get(with_base.url + "/catalog/location.yaml").text)
    assert location["spec"]["targets"] == [
        "https://ingestor.example.com/catalog/entities.yaml?instance=alpha"
    ]  # type: ignore[index]


def test_a_failing_instance_blocks_only_its_own_url(
    sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    # beta's key is wrong: its crawls fail, it never gets a snapshot.
    settings = make_settings(
        sqlite_url, [environment("alpha", sim.url), environment("beta", sim.url, OTHER_SIM_KEY)]
    )
    server = start_service(settings)
    wait_ready(server, "alpha")
    wait_for(lambda: _last_status(server.url, "beta") == "failed", what="beta's failed crawl")
    alpha = httpx.get(server.url + YAML_URL, params={"instance": "alpha"})
    assert alpha.status_code == 200 and _docs(alpha.text)
    beta = httpx.get(server.url + YAML_URL, params={"instance": "beta"})
    assert beta.status_code == 503 and "beta" in beta.json()["error"]
    # The unfiltered URL would drop beta's entities from Backstage: it waits for every instance.
    assert httpx.get(server.url + YAML_URL).status_code == 503
    assert httpx.get(server.url + YAML_URL, params={"instance": "alpha,beta"}).status_code == 503


def _last_status(url: str, instance: str) -> str | None:
    run = httpx.get(
        url + "/status", params={"instance": instance}, headers={"Authorization": f"Bearer {TRIGGER_TOKEN}"}
    ).json()["instances"][0]["lastRun"]
    return None if run is None else str(run["status"])


def test_body_built_once_per_snapshot_and_rebuilt_after_a_change(
    fresh_sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", fresh_sim.url)]))
    wait_ready(server)
    cache = server.service.app.state.catalog
    first = httpx.get(server.url + YAML_URL, headers={"Accept-Encoding": "identity"})
    builds = cache.builds
    for _ in range(20):
        assert httpx.get(server.url + YAML_URL, headers={"Accept-Encoding": "gzip"}).status_code == 200
    assert cache.builds == builds

    cluster = next(d for d in _docs(first.text) if d["spec"]["type"] == "spectrocloud-cluster")  # type: ignore[index]
    annotations = cluster["metadata"]["annotations"]  # type: ignore[index]
    uid = next(v for k, v in annotations.items() if k.endswith("/cluster-id"))
    state_key = next(k for k in annotations if k.endswith("/state"))
    new_state = "Error" if annotations[state_key] != "Error" else "Running"
    patched = httpx.patch(
        f"{fresh_sim.url}/__sim/data/clusters/{uid}",
        json={"status": {"state": new_state}},
        headers={"ApiKey": fresh_sim.options.api_key},
    )
    assert patched.status_code in (200, 204), patched.text
    before = server.service.scheduler
    trigger = httpx.post(
        server.url + "/status/crawl",
        params={"instance": "main"},
        headers={"Authorization": "Bearer " + TRIGGER_TOKEN},
    )
    assert trigger.status_code == 202
    wait_for(lambda: not before.running("main"), what="the triggered crawl")
    second = httpx.get(
        server.url + YAML_URL, headers={"If-None-Match": first.headers["etag"], "Accept-Encoding": "identity"}
    )
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    changed = next(d for d in _docs(second.text) if d["metadata"]["name"] == cluster["metadata"]["name"])  # type: ignore[index]
    assert changed["metadata"]["annotations"][state_key] == new_state  # type: ignore[index]
    assert cache.builds == builds + 1


def test_restart_serves_the_stored_snapshot_at_once(
    sim: SimulatorServer, database_url: str, start_service: ServiceFactory
) -> None:
    settings = make_settings(database_url, [environment("main", sim.url)])
    first = start_service(settings)
    wait_ready(first)
    before = httpx.get(first.url + YAML_URL, headers={"Accept-Encoding": "identity"})
    first.stop()
    # The new process's crawls are held at the gate: what it serves comes from the store alone.
    crawl = GatedCrawl()
    second = start_service(settings, crawl=crawl)
    after = httpx.get(second.url + YAML_URL, headers={"Accept-Encoding": "identity"})
    assert after.status_code == 200
    assert after.content == before.content and after.headers["etag"] == before.headers["etag"]
    assert httpx.get(second.url + "/ready").status_code == 200
    crawl.open()


@pytest.mark.parametrize("path", ["/catalog/entities.yaml", "/catalog/entities.json"])
def test_head_answers_headers_only(
    path: str, sim: SimulatorServer, sqlite_url: str, start_service: ServiceFactory
) -> None:
    server = start_service(make_settings(sqlite_url, [environment("main", sim.url)]))
    wait_ready(server)
    get = httpx.get(server.url + path, headers={"Accept-Encoding": "identity"})
    head = httpx.head(server.url + path, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert int(head.headers["content-length"]) == len(get.content)
    assert get.status_code == 200 and get.content
