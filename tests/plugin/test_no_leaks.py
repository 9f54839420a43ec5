"""No secret leaves the service (S7, S8): every route is called with each kind of credential (Backstage
token, X-SpectroCloud-Token, stored session, API-key fall-back, static service token) and failing ones,
while every log event is recorded raw (before redaction) and rendered; no response body or header and no
log line may contain any of the secrets.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import structlog

from ingestor.api.session_repo import SqlSessionRepository
from ingestor.auth.sessions import SessionCipher, SessionVault
from ingestor.logging import configure_logging, forget_secrets
from ingestor.simulator.server import SimulatorServer
from ingestor.store.db import Database
from tests.auth.conftest import make_key
from tests.plugin.conftest import SERVICE_TOKEN, SIM_KEY, PluginClient
from tests.plugin.routes_table import ROUTES, implemented, load_samples, served_routes

SESSION_KEY = "plugin-test-no-leaks-session-key-0c5e7a19b2"
EMAIL = "jane.doe@acme.example"


@dataclass
class LogRecorder:
    """Raw structlog event dicts (as our code built them) and the rendered JSON lines."""

    raw: list[str] = field(default_factory=list)
    stream: io.StringIO = field(default_factory=io.StringIO)

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        self.raw.append(repr(dict(event_dict)))
        return event_dict

    def text(self) -> str:
        return "\n".join(self.raw) + "\n" + self.stream.getvalue()


@pytest.fixture
def logs() -> Iterator[LogRecorder]:
    """Logging as the service runs it (JSON, debug level), with a recorder in front of the redaction."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "hpack")
    saved = {
        name: (lg.handlers[:], lg.level, lg.propagate) for name in names if (lg := logging.getLogger(name))
    }
    forget_secrets()  # the redactor must not be what keeps the secrets out of the lines
    recorder = LogRecorder()
    configure_logging("debug", "json", stream=recorder.stream)
    structlog.configure(processors=[recorder, *structlog.get_config()["processors"]])
    try:
        yield recorder
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, (handlers, level, propagate) in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
        logging.captureWarnings(False)


@pytest.fixture(scope="module")
def samples(sim: SimulatorServer) -> dict[str, str]:
    return load_samples(sim.url, SIM_KEY)


def store_session(p: PluginClient, user: str, token: str) -> None:
    db = Database(p.server.service.settings.database.url.get_secret_value())
    try:
        vault = SessionVault(SqlSessionRepository(db), SessionCipher(SESSION_KEY))
        asyncio.run(vault.put(user, "main", token, email=EMAIL if user.endswith("/jane") else None))
    finally:
        db.close()


def rs256_token() -> str:
    key = make_key("RS256", "idp-key")
    now = int(time.time())
    claims = {"iss": "https://idp.example", "sub": "jane", "email": EMAIL, "iat": now, "exp": now + 600}
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})


def fragments(secret: str, width: int = 10) -> set[str]:
    """Every ``width``-character slice of a secret: even a prefix (S7's anchor sent 20) is a leak."""
    return {secret[i : i + width] for i in range(len(secret) - width + 1)}


def assert_clean(where: str, text: str, secrets: dict[str, str]) -> None:
    for name, secret in secrets.items():
        leaked = sorted(piece for piece in fragments(secret) if piece in text)
        assert not leaked, f"{name} leaked into {where}: {leaked[:3]}"


def response_text(response: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    return f"{response.status_code}\n{headers}\n{response.text}"


def test_no_secret_reaches_a_response_or_a_log_line(
    plugin: Any, sim: SimulatorServer, samples: dict[str, str], logs: LogRecorder
) -> None:
    p: PluginClient = plugin(auth={"sessions": {"encryptionKey": SESSION_KEY}})
    stored, header_token, revoked = (
        p.session_token("dev2"),
        p.session_token("dev1"),
        "sim-session-revoked-9a8b7c6d",
    )
    store_session(p, "user:default/jane", stored)
    store_session(p, "user:default/erin", revoked)
    id_token = rs256_token()
    tokens = {
        user: p.token(f"user:default/{user}", email=EMAIL)
        for user in ("jane", "carol", "dave", "erin", "frank")
    }
    callers: dict[str, dict[str, str]] = {
        "stored session": {"Authorization": f"Bearer {tokens['jane']}", "X-SpectroCloud-User-Email": EMAIL},
        "token header": {"Authorization": f"Bearer {tokens['carol']}", "X-SpectroCloud-Token": header_token},
        "api-key fall-back": {
            "Authorization": f"Bearer {tokens['dave']}",
            "X-SpectroCloud-User-Email": EMAIL,
        },
        "revoked session": {"Authorization": f"Bearer {tokens['erin']}"},
        "id token header": {"Authorization": f"Bearer {tokens['frank']}", "X-SpectroCloud-Token": id_token},
        "service": {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-SpectroCloud-User-Email": EMAIL},
        "bad backstage token": {"Authorization": f"Bearer {tokens['jane'][:-6]}AAAAAA"},
    }
    secrets = {
        "API key": SIM_KEY,
        "service token": SERVICE_TOKEN,
        "stored session": stored,
        "X-SpectroCloud-Token": header_token,
        "revoked session": revoked,
        "ID token": id_token,
        "session encryption key": SESSION_KEY,
        **{f"Backstage token of {user}": token for user, token in tokens.items()},
    }
    served = served_routes()
    statuses: dict[str, set[int]] = {}
    for case in ROUTES:
        if not implemented(case, served):
            continue
        for name, headers in callers.items():
            response = p.call(
                case.method, case.url(samples), user=None, headers=headers, **case.request_kwargs(samples)
            )
            if case.authenticated:
                statuses.setdefault(name, set()).add(response.status_code)
            assert_clean(f"route {case.number} as {name!r}", response_text(response), secrets)
            assert_clean(f"route {case.number} as {name!r}", response_text(response), {"e-mail": EMAIL})

    # Every path was taken: successes, the re-auth 401 of the revoked session, rejected tokens.
    assert 200 in statuses["stored session"] and 200 in statuses["token header"]
    assert 200 in statuses["api-key fall-back"] and 200 in statuses["service"]
    assert 401 in statuses["revoked session"] and statuses["bad backstage token"] == {401}
    kinds = {kind for _, _, kind in p.palette.requests}
    assert kinds == {"session", "api-key"}
    assert logs.raw and "palette.call" in logs.text() and "auth.sessions.dropped" in logs.text()
    assert_clean("the logs", logs.text(), {**secrets, "e-mail": EMAIL})


def test_auth_debug_returns_no_token_bytes(plugin: Any, logs: LogRecorder) -> None:
    p: PluginClient = plugin()
    backstage = p.token("user:default/jane")
    for palette_token in (p.session_token("dev1"), rs256_token()):
        response = p.get(
            "/auth/debug",
            user=None,
            headers={"Authorization": f"Bearer {backstage}", "X-SpectroCloud-Token": palette_token},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["hasOidcToken"] is True
        assert all(isinstance(value, bool | str) for value in body.values())
        assert "headers" not in body and "tokenPrefix" not in body and "tokenLength" not in body
        secrets = {"Palette token": palette_token, "Backstage token": backstage}
        assert_clean("/auth/debug", response_text(response), secrets)
        assert_clean("the logs", logs.text(), secrets)
