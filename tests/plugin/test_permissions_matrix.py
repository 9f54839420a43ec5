"""Permissions of every plugin route for the calling user (S3, S5, F1): RBAC CSV roles through groups,
deny winning over allow, groups from the token or Backstage's userinfo, delegation to Backstage's
permission backend, static service tokens with access restrictions, and hot reload of the CSV.

A denial is a 403 whose message starts with ``Forbidden: <permission>`` and nothing reaches Palette.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestor.auth.permissions import (
    ALL_PERMISSIONS,
    CREATE_CLUSTER,
    DOWNLOAD_KUBECONFIG,
    VIEW_CLUSTER_INFO,
    VIEW_PACK_MANIFESTS,
    VIEW_PROFILE_INFO,
    Permission,
)
from ingestor.simulator.server import SimulatorServer
from tests.plugin.conftest import SERVICE_TOKEN, SIM_KEY, FakeBackstage, PluginClient
from tests.plugin.routes_table import (
    BY_NUMBER,
    PERMISSIONED,
    ROUTES,
    RouteCase,
    load_samples,
    route_params,
)


def _p(role: str, permission: Permission, effect: str = "allow") -> str:
    return f"p, role:default/{role}, {permission.name}, {permission.action}, {effect}"


POLICY = "\n".join(
    [
        "# viewer: what the cards need to show clusters and profiles",
        _p("viewer", VIEW_CLUSTER_INFO),
        _p("viewer", VIEW_PROFILE_INFO),
        *(_p("operator", permission) for permission in ALL_PERMISSIONS),
        *(_p("denied-role", permission) for permission in ALL_PERMISSIONS),
        _p("denied-role", VIEW_CLUSTER_INFO, "deny"),
        _p("denied-role", DOWNLOAD_KUBECONFIG, "deny"),
        "g, group:default/viewers, role:default/viewer",
        "g, group:default/operators, role:default/operator",
        "g, group:default/restricted, role:default/denied-role",
        "g, user:default/direct, role:default/viewer",
        "",
    ]
)
ALL = frozenset(p.name for p in ALL_PERMISSIONS)
VIEW = frozenset({VIEW_CLUSTER_INFO.name, VIEW_PROFILE_INFO.name})
# user ref -> (groups in the token's ``ent`` claim, permission names the user holds)
USERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "user:default/nobody": ((), frozenset()),
    "user:default/viewer": (("group:default/viewers",), VIEW),
    "user:default/operator": (("group:default/operators",), ALL),
    # In the operators group too: the explicit deny of the other role still wins.
    "user:default/restricted": (
        ("group:default/operators", "group:default/restricted"),
        ALL - {VIEW_CLUSTER_INFO.name, DOWNLOAD_KUBECONFIG.name},
    ),
    "user:default/direct": ((), VIEW),
}


@pytest.fixture(scope="module")
def samples(sim: SimulatorServer) -> dict[str, str]:
    return load_samples(sim.url, SIM_KEY)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call_route(
    p: PluginClient, case: RouteCase, samples: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    return p.call(case.method, case.url(samples), user=None, headers=headers, **case.request_kwargs(samples))


def as_user(p: PluginClient, user: str, groups: tuple[str, ...]) -> dict[str, str]:
    """Headers with a token whose ``ent`` claim lists the user and its groups (as Backstage issues it)."""
    return bearer(p.token(user, ent=[user, *groups]))


def assert_denied(p: PluginClient, response: httpx.Response, permission: Permission) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"].startswith(f"Forbidden: {permission.name}"), response.text
    assert p.palette.requests == [], "a denied call reached Palette"


def assert_not_denied(response: httpx.Response) -> None:
    assert response.status_code != 403, response.text
    assert response.status_code < 500, response.text


@pytest.mark.parametrize("case", route_params(PERMISSIONED))
def test_every_route_checks_its_permission_for_the_caller(
    plugin: Any, samples: dict[str, str], case: RouteCase
) -> None:
    p: PluginClient = plugin(policy=POLICY)
    assert case.permission is not None
    for user, (groups, held) in USERS.items():
        p.palette.requests.clear()
        response = call_route(p, case, samples, as_user(p, user, groups))
        if case.permission.name in held:
            assert_not_denied(response)
            if case.number in (19, 20):  # the incomplete create body: our 422, nothing sent to Palette
                assert response.status_code == 422 and response.json()["problems"], response.text
                assert p.palette.requests == []
        else:
            assert_denied(p, response, case.permission)


@pytest.mark.parametrize("case", route_params(tuple(c for c in ROUTES if c.permission is None)))
def test_routes_without_a_permission_never_answer_403(
    plugin: Any, samples: dict[str, str], case: RouteCase
) -> None:
    p: PluginClient = plugin(policy=POLICY)
    response = call_route(p, case, samples, as_user(p, "user:default/nobody", ()))
    assert response.status_code != 403, response.text
    if case.number == 3:  # the caller's own Palette session or nothing (S5)
        assert response.status_code == 401 and response.json()["requiresReAuth"] is True
    else:
        assert response.status_code == 200, response.text


def test_the_table_covers_the_contracts_permissions() -> None:
    """compat.md 3.3 "ours": S5 puts view-info on 21, 23, 24, 26-28 and profile.view-info on 22."""
    names = {case.number: case.permission.name if case.permission else None for case in ROUTES}
    assert {n for n, name in names.items() if name is None} == {1, 2, 3}
    view_info = {4, 6, 7, 8, 9, 15, 16, 21, 23, 24, 25, 26, 27, 28}
    assert {n for n, name in names.items() if name == VIEW_CLUSTER_INFO.name} == view_info
    assert {n for n, name in names.items() if name == DOWNLOAD_KUBECONFIG.name} == {5, 10}
    assert {n for n, name in names.items() if name == VIEW_PROFILE_INFO.name} == {11, 12, 17, 22}
    assert {n for n, name in names.items() if name == "spectrocloud.cluster.view-pack-values"} == {13, 18}
    assert {n for n, name in names.items() if name == VIEW_PACK_MANIFESTS.name} == {14}
    assert {n for n, name in names.items() if name == CREATE_CLUSTER.name} == {19, 20}


@pytest.fixture
def userinfo_groups(backstage: FakeBackstage) -> Iterator[dict[str, list[str]]]:
    backstage.calls.clear()
    yield backstage.groups
    backstage.groups.clear()


def test_groups_come_from_userinfo_when_the_token_has_no_ent_claim(
    plugin: Any, samples: dict[str, str], userinfo_groups: dict[str, list[str]]
) -> None:
    p: PluginClient = plugin(policy=POLICY)
    userinfo_groups["user:default/quiet"] = ["group:default/viewers"]
    token = p.token("user:default/quiet")  # Backstage's default: no ``ent`` in the token
    allowed = call_route(p, BY_NUMBER[6], samples, bearer(token))
    assert allowed.status_code == 200, allowed.text
    assert "userinfo" in p.backstage.calls
    p.palette.requests.clear()
    denied = call_route(p, BY_NUMBER[5], samples, bearer(token))
    assert_denied(p, denied, DOWNLOAD_KUBECONFIG)


def test_an_ent_claim_is_used_without_asking_userinfo(
    plugin: Any, samples: dict[str, str], userinfo_groups: dict[str, list[str]]
) -> None:
    p: PluginClient = plugin(policy=POLICY)
    userinfo_groups["user:default/viewer"] = ["group:default/operators"]  # must not be consulted
    headers = as_user(p, "user:default/viewer", ("group:default/viewers",))
    assert call_route(p, BY_NUMBER[6], samples, headers).status_code == 200
    p.palette.requests.clear()
    assert_denied(p, call_route(p, BY_NUMBER[14], samples, headers), VIEW_PACK_MANIFESTS)
    assert "userinfo" not in p.backstage.calls


@pytest.fixture
def backstage_allows(backstage: FakeBackstage) -> Iterator[dict[str, set[str]]]:
    backstage.calls.clear()
    yield backstage.allowed
    backstage.allowed.clear()


def test_delegation_asks_backstage_for_the_calling_user(
    plugin: Any, samples: dict[str, str], backstage_allows: dict[str, set[str]]
) -> None:
    p: PluginClient = plugin(enable_permissions=True, auth={"rbac": {"mode": "backstage"}})
    backstage_allows["user:default/alice"] = {VIEW_CLUSTER_INFO.name}
    allowed = p.get(
        BY_NUMBER[6].url(samples),
        user="user:default/alice",
        params={"projectUid": samples["clusterProjectUid"]},
    )
    assert allowed.status_code == 200, allowed.text
    assert "authorize" in p.backstage.calls
    p.palette.requests.clear()
    denied = call_route(p, BY_NUMBER[5], samples, bearer(p.token("user:default/alice")))
    assert_denied(p, denied, DOWNLOAD_KUBECONFIG)
    p.palette.requests.clear()
    other = call_route(p, BY_NUMBER[6], samples, bearer(p.token("user:default/bob")))
    assert_denied(p, other, VIEW_CLUSTER_INFO)


READ_ONLY_TOKEN = "plugin-test-read-only-token-91c3"
FOREIGN_TOKEN = "plugin-test-foreign-plugin-token-2b77"


def test_static_service_tokens_are_bound_by_their_access_restrictions(
    plugin: Any, samples: dict[str, str]
) -> None:
    def entry(token: str, subject: str, restrictions: list[dict[str, Any]] | None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "static", "options": {"token": token, "subject": subject}}
        if restrictions is not None:
            data["accessRestrictions"] = restrictions
        return data

    p: PluginClient = plugin(
        policy=POLICY,
        auth={
            "externalAccess": [
                entry(SERVICE_TOKEN, "automation", None),
                entry(
                    READ_ONLY_TOKEN,
                    "reader",
                    [{"plugin": "spectrocloud", "permissionAttribute": {"action": "read"}}],
                ),
                entry(
                    "plugin-test-view-info-token-5d0e",
                    "viewer-bot",
                    [{"plugin": "spectrocloud", "permission": VIEW_CLUSTER_INFO.name}],
                ),
                entry(FOREIGN_TOKEN, "catalog-bot", [{"plugin": "catalog"}]),
            ]
        },
    )
    create, detail, manifest = BY_NUMBER[19], BY_NUMBER[6], BY_NUMBER[14]
    assert_not_denied(call_route(p, create, samples, bearer(SERVICE_TOKEN)))  # no restrictions: everything
    p.palette.requests.clear()
    assert call_route(p, detail, samples, bearer(READ_ONLY_TOKEN)).status_code == 200
    p.palette.requests.clear()
    assert_denied(p, call_route(p, create, samples, bearer(READ_ONLY_TOKEN)), CREATE_CLUSTER)
    assert call_route(p, detail, samples, bearer("plugin-test-view-info-token-5d0e")).status_code == 200
    p.palette.requests.clear()
    assert_denied(
        p, call_route(p, manifest, samples, bearer("plugin-test-view-info-token-5d0e")), VIEW_PACK_MANIFESTS
    )
    assert_denied(p, call_route(p, detail, samples, bearer(FOREIGN_TOKEN)), VIEW_CLUSTER_INFO)


def test_policy_file_changes_apply_without_a_restart(
    plugin: Any, samples: dict[str, str], tmp_path: Path
) -> None:
    p: PluginClient = plugin(policy=POLICY)
    policy_file = tmp_path / "rbac-policy.csv"
    assert policy_file.read_text(encoding="utf-8") == POLICY
    headers = as_user(p, "user:default/newcomer", ("group:default/newcomers",))
    case = BY_NUMBER[6]
    assert_denied(p, call_route(p, case, samples, headers), VIEW_CLUSTER_INFO)

    policy_file.write_text(POLICY + "g, group:default/newcomers, role:default/viewer\n", encoding="utf-8")
    time.sleep(1.2)  # the file is checked at most once a second
    assert call_route(p, case, samples, headers).status_code == 200

    policy_file.write_text(POLICY, encoding="utf-8")
    time.sleep(1.2)
    p.palette.requests.clear()
    assert_denied(p, call_route(p, case, samples, headers), VIEW_CLUSTER_INFO)
