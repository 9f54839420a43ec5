"""Sign-in settings: ``environments[].oidc`` and ``auth.signIn``; errors name their keys."""

from __future__ import annotations

from .helpers import config_problems, environment, load, with_environments

AUTH_URL = "https://console.spectrocloud.com/v1/oidc/tenant/t1/auth"
SECRET = "oidc-client-secret-8d2b"


def oidc(**keys: object) -> dict[str, object]:
    return {"clientId": "backstage", "clientSecret": SECRET, "authorizationUrl": AUTH_URL, **keys}


def test_oidc_loads_with_defaults_and_hides_the_secret() -> None:
    s = load(with_environments(environment(oidc=oidc()), server={"baseUrl": "https://ingestor.example.com"}))
    (env,) = s.spectrocloud.environments
    assert env.oidc is not None
    assert (env.oidc.scope, env.oidc.token_url, env.oidc.prompt) == ("openid profile email", None, None)
    assert SECRET not in repr(s) and SECRET not in str(s.redacted())
    assert s.auth.sign_in.user_ref == "emailLocalPart" and s.auth.sign_in.require_verified_email is True


def test_a_callback_is_needed_without_a_base_url() -> None:
    problems = config_problems(with_environments(environment(oidc=oidc())))
    assert "spectrocloud.environments[0].oidc.callbackUrl" in problems
    assert "server.baseUrl" in problems["spectrocloud.environments[0].oidc.callbackUrl"]
    fine = load(with_environments(environment(oidc=oidc(callbackUrl="https://x.example/cb"))))
    assert fine.spectrocloud.environments[0].oidc is not None


def test_bad_oidc_and_sign_in_values_name_their_keys() -> None:
    data = with_environments(
        environment(oidc={"clientSecret": SECRET, "authorizationUrl": "ftp://x", "prompt": "always"}),
        server={"baseUrl": "https://ingestor.example.com"},
        auth={"signIn": {"userRef": "anyone", "flowTimeoutSeconds": 5, "allowedOrigins": ["not an origin"]}},
    )
    problems = config_problems(data)
    base = "spectrocloud.environments[0].oidc"
    assert {f"{base}.clientId", f"{base}.authorizationUrl", f"{base}.prompt"} <= set(problems)
    assert {"auth.signIn.userRef", "auth.signIn.flowTimeoutSeconds"} <= set(problems)
    assert any(key.startswith("auth.signIn.allowedOrigins") for key in problems)
    assert SECRET not in str(problems)
