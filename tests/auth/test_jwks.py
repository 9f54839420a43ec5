"""JwksCache (TTL, rotation on unknown kid, rate limit, coalescing, outages), JWKS over a socket."""

from __future__ import annotations

import asyncio

import pytest

from ingestor.auth import (
    AuthenticationError,
    IdentityVerifier,
    JwksCache,
    JwksUnavailableError,
    UserTokenPolicy,
    urllib_fetcher,
    verifier_from_settings,
)
from ingestor.config import AuthSettings
from tests.auth.conftest import ISSUER, FakeClock, FakeJwks, JwksSite, SigningKey, make_key


def user_verifier(cache: JwksCache) -> IdentityVerifier:
    return IdentityVerifier(policy=UserTokenPolicy(issuer=ISSUER), jwks=cache)


async def test_keys_are_fetched_once_and_cached(es256: SigningKey) -> None:
    fetch = FakeJwks([es256])
    v = user_verifier(JwksCache(fetch))
    for _ in range(5):
        await v.verify(f"Bearer {es256.mint()}")
    assert fetch.calls == 1


async def test_rotation_unknown_kid_triggers_one_refresh(es256: SigningKey) -> None:
    fetch, clock = FakeJwks([es256]), FakeClock()
    cache = JwksCache(fetch, min_refresh_interval=30.0, clock=clock)
    v = user_verifier(cache)
    await v.verify(f"Bearer {es256.mint()}")
    rotated = make_key("ES256", "es-2")
    fetch.keys = [es256, rotated]
    clock.now += 31
    principal = await v.verify(f"Bearer {rotated.mint()}")
    assert principal.entity_ref == "user:default/jane" and fetch.calls == 2 and cache.generation == 2


async def test_unknown_kid_refreshes_are_rate_limited(es256: SigningKey) -> None:
    fetch, clock = FakeJwks([es256]), FakeClock()
    v = user_verifier(JwksCache(fetch, min_refresh_interval=30.0, clock=clock))
    await v.verify(f"Bearer {es256.mint()}")
    clock.now += 31
    for n in range(3):
        with pytest.raises(AuthenticationError, match="unknown key"):
            await v.verify(f"Bearer {make_key('ES256', f'junk-{n}').mint()}")
    assert fetch.calls == 2  # the first unknown kid refreshed, the next two did not
    late = make_key("ES256", "late")
    fetch.keys.append(late)
    with pytest.raises(AuthenticationError, match="unknown key"):
        await v.verify(f"Bearer {late.mint()}")
    clock.now += 30
    assert (await v.verify(f"Bearer {late.mint()}")).kind == "user"
    assert fetch.calls == 3


async def test_concurrent_refreshes_coalesce(es256: SigningKey) -> None:
    rotated = make_key("ES256", "es-rot")
    fetch = FakeJwks([es256, rotated], delay=0.02)
    v = user_verifier(JwksCache(fetch))
    results = await asyncio.gather(*(v.verify(f"Bearer {rotated.mint()}") for _ in range(10)))
    assert {p.subject for p in results} == {"user:default/jane"} and fetch.calls == 1


async def test_keys_expire_after_ttl(es256: SigningKey) -> None:
    fetch, clock = FakeJwks([es256]), FakeClock()
    v = user_verifier(JwksCache(fetch, ttl=600.0, clock=clock))
    await v.verify(f"Bearer {es256.mint()}")
    clock.now += 599
    await v.verify(f"Bearer {es256.mint()}")
    assert fetch.calls == 1
    fetch.keys = [make_key("ES256", "new-only")]
    clock.now += 2
    with pytest.raises(AuthenticationError, match="unknown key"):
        await v.verify(f"Bearer {es256.mint()}")  # the old key left the JWKS: no longer accepted
    assert fetch.calls == 2


async def test_outage_keeps_cached_keys(es256: SigningKey) -> None:
    fetch, clock = FakeJwks([es256]), FakeClock()
    v = user_verifier(JwksCache(fetch, ttl=60.0, clock=clock))
    await v.verify(f"Bearer {es256.mint()}")
    fetch.fail = True
    clock.now += 61
    assert (await v.verify(f"Bearer {es256.mint()}")).kind == "user"
    assert fetch.calls == 2


async def test_outage_without_cached_keys_is_retriable(es256: SigningKey) -> None:
    fetch = FakeJwks([es256], fail=True)
    with pytest.raises(JwksUnavailableError):
        await user_verifier(JwksCache(fetch)).verify(f"Bearer {es256.mint()}")


async def test_unusable_jwk_entries_are_skipped(es256: SigningKey) -> None:
    fetch = FakeJwks(
        [es256], extra=[{"kid": "bad", "kty": "EC"}, {"kty": "EC"}, {"kid": "enc", "use": "enc"}]
    )
    assert (await user_verifier(JwksCache(fetch)).verify(f"Bearer {es256.mint()}")).kind == "user"


def auth_settings(site: JwksSite, **backstage: str) -> AuthSettings:
    return AuthSettings.model_validate(
        {
            "externalAccess": [{"type": "static", "options": {"token": "svc-token-123456", "subject": "ci"}}],
            "backstage": backstage or {"baseUrl": site.url},
        }
    )


async def test_settings_derive_jwks_url_and_issuer_from_base_url(
    jwks_site: JwksSite, es256: SigningKey
) -> None:
    v = verifier_from_settings(auth_settings(jwks_site))
    wrong_issuer = es256.mint()  # conftest ISSUER is not this site's
    with pytest.raises(AuthenticationError, match="issuer"):
        await v.verify(f"Bearer {wrong_issuer}")
    principal = await v.verify(f"Bearer {es256.mint({'iss': jwks_site.url + '/api/auth'})}")
    assert principal.entity_ref == "user:default/jane" and jwks_site.hits == 1
    assert (await v.verify("Bearer svc-token-123456")).subject == "ci"


async def test_settings_with_explicit_jwks_url_and_issuer(jwks_site: JwksSite, es256: SigningKey) -> None:
    url = jwks_site.url + "/api/auth/.well-known/jwks.json"
    v = verifier_from_settings(auth_settings(jwks_site, jwksUrl=url, issuer=ISSUER, audience="bs"))
    assert (await v.verify(f"Bearer {es256.mint({'aud': 'bs'})}")).kind == "user"


async def test_settings_without_backstage_accept_only_static(es256: SigningKey) -> None:
    v = verifier_from_settings(AuthSettings())
    with pytest.raises(AuthenticationError, match="not accepted"):
        await v.verify(f"Bearer {es256.mint()}")


async def test_urllib_fetcher_reads_the_jwks(jwks_site: JwksSite, es256: SigningKey) -> None:
    document = await urllib_fetcher(jwks_site.url + "/api/auth/.well-known/jwks.json")()
    assert [key["kid"] for key in document["keys"]] == [es256.kid]


@pytest.mark.parametrize("path", ["/garbage", "/missing"])
async def test_urllib_fetcher_failures_are_retriable(jwks_site: JwksSite, path: str) -> None:
    with pytest.raises(JwksUnavailableError):
        await urllib_fetcher(jwks_site.url + path)()


async def test_urllib_fetcher_connection_refused() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(JwksUnavailableError, match="cannot fetch"):
        await urllib_fetcher(f"http://127.0.0.1:{port}/jwks.json", timeout=2.0)()


def test_urllib_fetcher_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="http"):
        urllib_fetcher("file:///etc/passwd")


def test_error_classes_tell_the_surface_what_to_answer() -> None:
    from ingestor.errors import FatalError, RetriableError

    assert issubclass(AuthenticationError, FatalError) and not issubclass(AuthenticationError, RetriableError)
    assert issubclass(JwksUnavailableError, RetriableError)
