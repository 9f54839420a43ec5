"""Credentials, headers, URL building and base-URL handling, checked on the wire."""

from __future__ import annotations

import pickle

import pytest

from ingestor.palette.credentials import ApiKey, SessionToken
from ingestor.palette.errors import InvalidRequestError
from ingestor.palette.urls import UrlBuilder, encode_segment, expand, normalise_base_url

from .stub import TOKEN, USER_TOKEN, ClientFactory, PaletteStub, Reply

SUMMARY = {"metadata": {"uid": "c1", "name": "one"}, "spec": {}, "status": {"state": "Running"}}


def test_credentials_mask_secret_in_repr_and_str() -> None:
    for cred in (ApiKey(TOKEN), SessionToken(USER_TOKEN)):
        for text in (repr(cred), str(cred), f"{cred}", f"{cred!r}", repr([cred])):
            assert TOKEN not in text and USER_TOKEN not in text
            assert "***" in text


def test_credentials_headers_and_validation() -> None:
    assert ApiKey(f"  {TOKEN} ").header() == ("ApiKey", TOKEN)
    assert SessionToken(USER_TOKEN).header() == ("Authorization", USER_TOKEN)
    # A pasted "Bearer x" is sent raw, as Palette expects.
    assert SessionToken(f"Bearer {USER_TOKEN}").header() == ("Authorization", USER_TOKEN)
    for bad in ("", "   ", "a\r\nX-Evil: 1", "a\nb"):
        with pytest.raises(ValueError) as info:
            ApiKey(bad)
        assert "Evil" not in str(info.value)
    with pytest.raises(TypeError):
        ApiKey(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pickle.dumps(ApiKey(TOKEN))
    assert ApiKey(TOKEN) == ApiKey(TOKEN) and ApiKey(TOKEN) != ApiKey("other")
    assert ApiKey(TOKEN) != SessionToken(TOKEN)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [("../x", "..%2Fx"), ("a/b", "a%2Fb"), ("%2F", "%252F"), ("?", "%3F"), ("#x", "%23x"), ("a b", "a%20b")],
)
def test_encode_segment(value: str, encoded: str) -> None:
    assert encode_segment(value) == encoded


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_encode_segment_rejects_empty_and_dot_segments(value: str) -> None:
    with pytest.raises(InvalidRequestError):
        encode_segment(value)


def test_expand_requires_exact_parameters() -> None:
    assert expand("/v1/x/{uid}/y/{m}", {"uid": "a", "m": "b/c"}) == "/v1/x/a/y/b%2Fc"
    with pytest.raises(InvalidRequestError):
        expand("/v1/x/{uid}", {})
    with pytest.raises(InvalidRequestError):
        expand("/v1/x/{uid}", {"uid": "a", "other": "b"})


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.example.com", "https://api.example.com"),
        ("https://api.example.com/", "https://api.example.com"),
        ("https://h.example.com/palette/", "https://h.example.com/palette"),
        ("http://127.0.0.1:8080/a/b", "http://127.0.0.1:8080/a/b"),
    ],
)
def test_normalise_base_url(base: str, expected: str) -> None:
    assert normalise_base_url(base) == expected
    assert str(UrlBuilder(base).url("/v1/x/{uid}", {"uid": "u"})) == expected + "/v1/x/u"


@pytest.mark.parametrize("base", ["", "api.example.com", "ftp://h", "https://h/?q=1", "https://u:p@h/"])
def test_bad_base_urls_are_refused_without_echo(base: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        normalise_base_url(base)
    assert "u:p" not in str(info.value)


@pytest.mark.parametrize(
    ("uid", "raw"),
    [("../x", "..%2Fx"), ("a/b", "a%2Fb"), ("%2F", "%252F"), ("?", "%3F"), ("x?y=1#z", "x%3Fy%3D1%23z")],
)
async def test_path_segments_are_encoded_on_the_wire(
    stub: PaletteStub, make_client: ClientFactory, uid: str, raw: str
) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    await make_client().get_cluster_summary(uid)
    assert stub.seen[0].raw_path == f"/v1/dashboard/spectroclusters/{raw}"
    assert stub.seen[0].query == {}


@pytest.mark.parametrize("uid", ["", ".", ".."])
async def test_empty_or_dot_uid_never_reaches_the_wire(
    stub: PaletteStub, make_client: ClientFactory, uid: str
) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError):
        await client.get_cluster(uid)
    with pytest.raises(InvalidRequestError):
        client.cluster_group_host_clusters(uid)
    assert stub.seen == []


@pytest.mark.parametrize("suffix", ["", "/", "/prefix", "/prefix/", "/a/b/"])
async def test_base_url_with_or_without_slash_and_prefix(
    stub: PaletteStub, make_client: ClientFactory, suffix: str
) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    await make_client(base_url=stub.url + suffix).get_cluster_summary("c1")
    prefix = suffix.rstrip("/")
    assert stub.seen[0].raw_path == f"{prefix}/v1/dashboard/spectroclusters/c1"


async def test_api_key_header_only(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    await make_client(ApiKey(TOKEN)).get_cluster_summary("c1")
    seen = stub.seen[0]
    assert seen.headers["apikey"] == TOKEN
    assert "authorization" not in seen.headers
    assert seen.header_names.count("apikey") == 1
    assert "projectuid" not in seen.headers
    assert seen.headers["accept"] == "application/json"


async def test_session_token_raw_in_authorization(stub: PaletteStub, make_client: ClientFactory) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    await make_client(SessionToken(USER_TOKEN)).get_cluster_summary("c1", project_uid="p-1")
    seen = stub.seen[0]
    assert seen.headers["authorization"] == USER_TOKEN  # no "Bearer "
    assert "apikey" not in seen.headers
    assert seen.headers["projectuid"] == "p-1"


async def test_with_credential_shares_pool_limiter_and_stats(
    stub: PaletteStub, make_client: ClientFactory
) -> None:
    stub.handler = lambda s: Reply(200, SUMMARY)
    base = make_client(ApiKey(TOKEN))
    user = base.with_credential(SessionToken(USER_TOKEN))
    assert user.limiter is base.limiter and user.stats is base.stats
    await user.get_cluster_summary("c1")
    await base.get_cluster_summary("c1")
    assert stub.seen[0].headers.get("authorization") == USER_TOKEN and "apikey" not in stub.seen[0].headers
    assert stub.seen[1].headers.get("apikey") == TOKEN and "authorization" not in stub.seen[1].headers
    await user.aclose()  # a sibling never closes the shared pool
    await base.get_cluster_summary("c1")
    assert len(stub.seen) == 3
    assert base.stats.snapshot()["GET /v1/dashboard/spectroclusters/{uid}"]["calls"] == 3
    assert USER_TOKEN not in repr(user) and TOKEN not in repr(base)


async def test_empty_project_uid_is_refused(stub: PaletteStub, make_client: ClientFactory) -> None:
    with pytest.raises(InvalidRequestError):
        await make_client().get_cluster_summary("c1", project_uid=" ")
    assert stub.seen == []


def test_client_requires_a_credential_object(make_client: ClientFactory) -> None:
    with pytest.raises(TypeError):
        make_client(TOKEN)  # a bare string is not a credential
