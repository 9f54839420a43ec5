"""``/__sim/oidc``: the test knobs of the simulator's OIDC side (docs/simulator.md, "OIDC sign-in").

For the holder of the configured API key only, like every ``/__sim`` route. Answers never hold the client
secret. Imports only ``ingestor.simulator``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingestor.simulator.admin import PREFIX, guarded
from ingestor.simulator.dataset import JSON
from ingestor.simulator.errors import ApiError
from ingestor.simulator.oidc import FAULTS, issuer_url, provider_of
from ingestor.simulator.options import SESSION_TOKEN_CARRIERS, redirect_uri_problem
from ingestor.simulator.routes_common import answer, json_body

Check = Callable[[Any], str | None]  # the problem with a value, or None


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _name(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _seconds(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "must be a non-negative integer"


def _uris(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        return "must be a list of URLs"
    problems = [f"{u!r} {p}" for u in value if (p := redirect_uri_problem(u)) is not None]
    return "; ".join(problems) or None


def _carrier(value: Any) -> str | None:
    return None if value in SESSION_TOKEN_CARRIERS else f"must be one of {', '.join(SESSION_TOKEN_CARRIERS)}"


def _fault(value: Any) -> str | None:
    return None if value is None or value in FAULTS else f"must be null or one of {', '.join(FAULTS)}"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


# JSON knob -> (OidcSettings field, check)
KNOBS: dict[str, tuple[str, Check]] = {
    "clientId": ("client_id", _name),
    "clientSecret": ("client_secret", _text),
    "redirectUris": ("redirect_uris", _uris),
    "defaultLogin": ("default_login", _name),
    "sessionTokenIn": ("session_token_in", _carrier),
    "idTokenTtlSeconds": ("id_token_ttl", _seconds),
    "sessionTokenTtlSeconds": ("session_token_ttl", _seconds),
    "fault": ("fault", _fault),
    "faultSticky": ("fault_sticky", _flag),
}


def settings_view(request: Request, tenant_uid: str) -> JSON:
    """The current settings as JSON (``clientSecretSet`` instead of the secret)."""
    provider = provider_of(request)
    s = provider.settings
    return {
        "issuer": issuer_url(request, tenant_uid),
        "tenantUid": tenant_uid,
        "clientId": s.client_id,
        "clientSecretSet": bool(s.client_secret),
        "redirectUris": list(s.redirect_uris),
        "defaultLogin": s.default_login,
        "sessionTokenIn": s.session_token_in,
        "idTokenTtlSeconds": s.id_token_ttl,
        "sessionTokenTtlSeconds": s.session_token_ttl,
        "fault": s.fault,
        "faultSticky": s.fault_sticky,
        "faults": list(FAULTS),
        "kids": [k.kid for k in provider.signing_keys()],
    }


def parse_knobs(body: dict[str, Any]) -> dict[str, Any]:
    """``OidcSettings`` changes from a knob body; 422 naming every unknown or bad knob."""
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for knob, value in body.items():
        if knob not in KNOBS:
            problems.append(f"{knob}: unknown knob; known: {', '.join(KNOBS)}")
            continue
        name, check = KNOBS[knob]
        if (problem := check(value)) is not None:
            problems.append(f"{knob}: {problem}")
        else:
            changes[name] = tuple(value) if name == "redirect_uris" else value
    if problems:
        raise ApiError(422, "InvalidParameter", "; ".join(problems), {"errors": problems})
    return changes


async def get_settings(request: Request) -> Response:
    """GET /__sim/oidc: the OIDC settings, the active fault and the signing key ids."""
    sim = guarded(request)
    return answer(settings_view(request, sim.dataset.tenant.uid))


async def set_settings(request: Request) -> Response:
    """PUT or PATCH /__sim/oidc: change the knobs given (others stay); answers the settings."""
    sim = guarded(request)
    provider_of(request).update(**parse_knobs(await json_body(request)))
    return answer(settings_view(request, sim.dataset.tenant.uid))


async def reset_settings(request: Request) -> Response:
    """DELETE /__sim/oidc: back to the options' settings, no fault; 204."""
    guarded(request)
    provider_of(request).reset()
    return Response(status_code=204)


async def rotate_key(request: Request) -> Response:
    """POST /__sim/oidc/rotate-key ``{"keepPrevious": true}``: sign with a new key; answers the kids."""
    guarded(request)
    keep = (await json_body(request)).get("keepPrevious", True)
    if not isinstance(keep, bool):
        raise ApiError(422, "InvalidParameter", "keepPrevious: must be true or false")
    keys = provider_of(request).rotate_key(keep_previous=keep)
    return answer({"kid": keys[0].kid, "kids": [k.kid for k in keys]})


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/oidc", get_settings, methods=["GET"]),
        Route(f"{PREFIX}/oidc", set_settings, methods=["PUT", "PATCH"]),
        Route(f"{PREFIX}/oidc", reset_settings, methods=["DELETE"]),
        Route(f"{PREFIX}/oidc/rotate-key", rotate_key, methods=["POST"]),
    ]
