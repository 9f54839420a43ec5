"""Delegating to Backstage's permission backend with the user's token: body, results, fail closed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import structlog

from ingestor.auth.decision import Authorizer, BackstageAuthorizer, permission_body
from ingestor.auth.permissions import ALL_PERMISSIONS, CREATE_CLUSTER, VIEW_CLUSTER_INFO, forbidden_message

USER_TOKEN = "user-token-secret-3a9f0c"


class FakeTransport:
    """Records requests and answers with a fixed result, or raises."""

    def __init__(self, answer: Mapping[str, Any] | None = None, error: Exception | None = None) -> None:
        self.answer = answer or {}
        self.error = error
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    async def post_authorize(self, user_token: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        self.calls.append((user_token, body))
        if self.error is not None:
            raise self.error
        return self.answer


def _answer(result: str) -> dict[str, Any]:
    return {"items": [{"id": "1", "result": result}]}


@pytest.mark.parametrize("permission", ALL_PERMISSIONS, ids=[p.name for p in ALL_PERMISSIONS])
async def test_request_carries_the_user_token_and_the_basic_permission(permission: Any) -> None:
    transport = FakeTransport(_answer("ALLOW"))
    authorizer: Authorizer = BackstageAuthorizer(transport, USER_TOKEN)
    decision = await authorizer.authorize(["user:default/alice"], permission)
    assert decision.allowed
    [(token, body)] = transport.calls
    assert token == USER_TOKEN
    assert body == {
        "items": [
            {
                "id": "1",
                "permission": {
                    "type": "basic",
                    "name": permission.name,
                    "attributes": {"action": permission.action},
                },
            }
        ]
    }
    assert permission_body(permission)["name"] == permission.name


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_answer("DENY"), None),
        (_answer("CONDITIONAL"), None),
        ({"items": []}, None),
        ({"unexpected": True}, None),
        ({"items": ["ALLOW"]}, None),
        (None, RuntimeError(f"connection refused for {USER_TOKEN}")),
    ],
    ids=["deny", "conditional", "empty", "no-items", "bad-item", "transport-error"],
)
async def test_anything_but_allow_is_a_denial_naming_the_permission(
    answer: dict[str, Any] | None, error: Exception | None
) -> None:
    authorizer = BackstageAuthorizer(FakeTransport(answer, error), USER_TOKEN)
    with structlog.testing.capture_logs() as logs:
        decision = await authorizer.authorize([], CREATE_CLUSTER)
    assert not decision.allowed
    assert decision.reason.startswith(forbidden_message(CREATE_CLUSTER))
    assert USER_TOKEN not in decision.reason
    assert USER_TOKEN not in repr(logs)
    assert USER_TOKEN not in repr(authorizer)


async def test_allow_reason_names_the_permission() -> None:
    decision = await BackstageAuthorizer(FakeTransport(_answer("ALLOW")), USER_TOKEN).authorize(
        [], VIEW_CLUSTER_INFO
    )
    assert decision.allowed
    assert VIEW_CLUSTER_INFO.name in decision.reason
