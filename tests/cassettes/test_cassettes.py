"""vcrpy cassettes pin the client's exact requests and the responses for the main Palette calls.

Replay (the default) runs offline: every request the client makes must match a recorded one by
method, path, query, body and ``ProjectUid`` header, and every recorded interaction must be used.
Re-record with ``INGESTOR_RECORD_CASSETTES=1`` (see README, "Re-recording the cassettes"); by default
that records against the built-in simulator, or against a real Palette when ``PALETTE_URL`` and
``PALETTE_API_KEY`` are set. Secrets are filtered before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import vcr
from vcr.request import Request as VcrRequest

from ingestor.palette.client import PaletteClient
from ingestor.palette.credentials import ApiKey
from ingestor.palette.options import ClientOptions
from ingestor.simulator.options import SimulatorOptions
from ingestor.simulator.server import SimulatorServer

from .scenario import walk

HERE = Path(__file__).parent
CASSETTE = HERE / "data" / "main_calls.yaml"
RECORD = os.environ.get("INGESTOR_RECORD_CASSETTES") == "1"
SIM_KEY = "cassette-sim-key-0123456789"
PLACEHOLDER_HOST = "palette.example.invalid"
SECRET_HEADERS = ("apikey", "authorization", "cookie", "set-cookie")
REDACTED_KUBECONFIG = b"# kubeconfig removed from the cassette: it is a credential\n"


def _scrub_request(request: VcrRequest) -> VcrRequest:
    parts = urlsplit(request.uri)
    request.uri = urlunsplit(("https", PLACEHOLDER_HOST, parts.path, parts.query, ""))
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
    if "octet-stream" in " ".join(headers.get("content-type", [])):
        response["body"]["string"] = REDACTED_KUBECONFIG
    for name in list(response.get("headers", {})):
        if name.lower() in SECRET_HEADERS:
            del response["headers"][name]
    return response


def _project_header(r1: VcrRequest, r2: VcrRequest) -> None:
    def value(r: VcrRequest) -> str | None:
        return next((v for k, v in r.headers.items() if k.lower() == "projectuid"), None)

    assert value(r1) == value(r2), f"ProjectUid {value(r1)!r} != {value(r2)!r}"


def _recorder() -> vcr.VCR:
    recorder = vcr.VCR(
        record_mode="all" if RECORD else "none",
        match_on=["method", "path", "query", "body", "project_header"],
        filter_headers=[*SECRET_HEADERS, "host"],
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
    recorder.register_matcher("project_header", _project_header)
    return recorder


@pytest.fixture
def target() -> Iterator[tuple[str, str]]:
    """Where the client points: a real Palette or the simulator when recording, anywhere on replay."""
    if not RECORD:
        yield f"https://{PLACEHOLDER_HOST}", "replay-needs-no-key"
    elif os.environ.get("PALETTE_URL"):
        yield os.environ["PALETTE_URL"], os.environ["PALETTE_API_KEY"]
    else:
        with SimulatorServer(SimulatorOptions(api_key=SIM_KEY, seed=11)) as sim:
            yield sim.url, SIM_KEY


async def test_main_calls_match_the_cassette(target: tuple[str, str]) -> None:
    url, key = target
    if not RECORD and not CASSETTE.exists():
        pytest.fail(f"{CASSETTE} is missing: record it with INGESTOR_RECORD_CASSETTES=1")
    options = ClientOptions(rate_limits_enabled=RECORD)
    with _recorder().use_cassette(str(CASSETTE), allow_playback_repeats=False) as cassette:
        async with PaletteClient(url, ApiKey(key), options=options, instance="cassette") as client:
            result = await walk(client)
        if not RECORD:
            assert cassette.all_played, "the client skipped recorded calls"
    # The walk's answers hang together: what was listed is what was fetched.
    assert result.detail_uid == result.cluster_uids[0]
    assert set(result.attached_profile_uids) == set(result.template_version_uids)
    assert result.fetched_profile_uid == result.profile_uids[0]
    assert result.fetched_group_uid == result.group_uids[0]
    assert result.kubeconfig_length > 0
    assert result.project_uids and result.user_uid


def test_cassette_holds_no_secret() -> None:
    text = CASSETTE.read_text(encoding="utf-8")
    lowered = text.lower()
    assert SIM_KEY not in text
    for header in SECRET_HEADERS:
        assert f"\n      {header}:" not in lowered, f"header {header} was recorded"
    assert "client-certificate-data" not in lowered and "token:" not in lowered
    assert "127.0.0.1" not in text, "recording host leaked into the cassette"


def test_cassette_pins_scope_headers_and_query_tokens() -> None:
    import yaml

    data = yaml.safe_load(CASSETTE.read_text(encoding="utf-8"))
    requests = [i["request"] for i in data["interactions"]]
    assert len(requests) >= 12
    scoped = [r for r in requests if any(k.lower() == "projectuid" for k in r["headers"])]
    assert scoped, "no project-scoped call recorded"
    searches = [r for r in requests if r["method"] == "POST"]
    assert searches and all("continue" not in (r["body"] or "") for r in searches)
    assert not any("/versions/" in r["uri"] for r in requests)


async def test_replay_rejects_a_changed_request() -> None:
    """A client that asks differently (here: another page size) no longer matches the cassette."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    if RECORD:
        pytest.skip("only meaningful on replay")
    options = ClientOptions(rate_limits_enabled=False, page_size=20)
    with _recorder().use_cassette(str(CASSETTE)):
        async with PaletteClient(f"https://{PLACEHOLDER_HOST}", ApiKey("k" * 12), options=options) as client:
            await client.users_me()
            with pytest.raises((CannotOverwriteExistingCassetteException, Exception)) as info:
                await client.list_projects()
    assert "CannotOverwriteExistingCassetteException" in repr(info.value) or isinstance(
        info.value.__cause__, CannotOverwriteExistingCassetteException
    )
