"""Hot reload of the policy file: edits take effect, broken edits keep the last good policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from ingestor.auth.decision import RbacAuthorizer
from ingestor.auth.permissions import CREATE_CLUSTER, VIEW_CLUSTER_INFO
from ingestor.auth.rbac import PolicyFile, PolicyFileError
from tests.auth_rbac.conftest import FakeClock, PolicyWriter

VIEWERS = (
    "p, role:default/v, spectrocloud.cluster.view-info, read, allow\ng, group:default/devs, role:default/v\n"
)
CREATORS = (
    "p, role:default/v, spectrocloud.cluster.create, create, allow\ng, group:default/devs, role:default/v\n"
)
DEVS = ["user:default/bob", "group:default/devs"]


async def _allowed(authorizer: RbacAuthorizer) -> tuple[bool, bool]:
    view = await authorizer.authorize(DEVS, VIEW_CLUSTER_INFO)
    create = await authorizer.authorize(DEVS, CREATE_CLUSTER)
    return view.allowed, create.allowed


async def test_an_edit_takes_effect_on_the_next_check(policy: PolicyWriter) -> None:
    authorizer = RbacAuthorizer(PolicyFile(policy.write(VIEWERS), check_interval=0))
    assert await _allowed(authorizer) == (True, False)
    policy.write(CREATORS)
    assert await _allowed(authorizer) == (False, True)


async def test_a_broken_edit_keeps_the_last_good_policy_and_logs_it(policy: PolicyWriter) -> None:
    authorizer = RbacAuthorizer(PolicyFile(policy.write(VIEWERS), check_interval=0))
    broken = CREATORS + "p, role:default/v, spectrocloud.cluster.everything, read, allow\n"
    with structlog.testing.capture_logs() as logs:
        policy.write(broken)
        assert await _allowed(authorizer) == (True, False)
        assert await _allowed(authorizer) == (True, False)
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert len(errors) == 1, "a broken file is reported once, not on every check"
    assert errors[0]["problems"] == [(f"{policy.path}:3", errors[0]["problems"][0][1])]
    assert "spectrocloud.cluster.everything" in errors[0]["problems"][0][1]
    policy.write(CREATORS)
    assert await _allowed(authorizer) == (False, True)


async def test_a_deleted_file_keeps_the_last_good_policy(policy: PolicyWriter) -> None:
    authorizer = RbacAuthorizer(PolicyFile(policy.write(VIEWERS), check_interval=0))
    policy.path.unlink()
    with structlog.testing.capture_logs() as logs:
        assert await _allowed(authorizer) == (True, False)
        assert await _allowed(authorizer) == (True, False)
    warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
    assert warnings == ["rbac_policy_unreadable_kept_previous"], "reported once, not on every check"
    policy.write(CREATORS)
    assert await _allowed(authorizer) == (False, True)


async def test_checks_are_throttled_by_the_interval(policy: PolicyWriter, clock: FakeClock) -> None:
    authorizer = RbacAuthorizer(PolicyFile(policy.write(VIEWERS), check_interval=2.0, clock=clock))
    policy.write(CREATORS)
    clock.advance(1.0)
    assert await _allowed(authorizer) == (True, False)
    clock.advance(1.0)
    assert await _allowed(authorizer) == (False, True)


async def test_touching_without_changing_content_does_not_reload(policy: PolicyWriter) -> None:
    policy_file = PolicyFile(policy.write(VIEWERS), check_interval=0)
    first = policy_file.current()
    policy.write(VIEWERS)
    with structlog.testing.capture_logs() as logs:
        assert policy_file.current() is first
    assert logs == []


def test_an_invalid_file_at_start_is_an_error_naming_file_and_line(policy: PolicyWriter) -> None:
    policy.write("# roles\ng, group:default/devs\n")
    with pytest.raises(PolicyFileError) as info:
        PolicyFile(policy.path)
    assert f"{policy.path}:2" in str(info.value)


def test_a_missing_file_at_start_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.csv"
    with pytest.raises(PolicyFileError) as info:
        PolicyFile(missing)
    assert str(missing) in str(info.value)
