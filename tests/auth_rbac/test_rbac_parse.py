"""Parsing the RBAC CSV: accepted syntax, and errors that name file:line."""

from __future__ import annotations

import pytest

from ingestor.auth.permissions import CREATE_CLUSTER, VIEW_CLUSTER_INFO
from ingestor.auth.rbac import PolicyFileError, parse_policy
from ingestor.errors import ConfigError


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PolicyFileError) as info:
        parse_policy(text, "rbac.csv")
    assert isinstance(info.value, ConfigError)
    return info.value.problems


def test_comments_blank_lines_and_spacing_are_accepted() -> None:
    text = (
        "# SpectroCloud roles\n"
        "\n"
        "   \n"
        "  # indented comment\n"
        "p,role:default/devs,spectrocloud.cluster.view-info,read,allow\n"
        'p, "role:default/sre" ,  spectrocloud.cluster.create , create , allow\n'
        "g,  group:default/platform,   role:default/sre\n"
    )
    policy = parse_policy(text, "rbac.csv")
    assert policy.effects({"role:default/devs"}, VIEW_CLUSTER_INFO) == {"allow"}
    assert policy.effects({"role:default/sre"}, CREATE_CLUSTER) == {"allow"}
    assert policy.roles_of(["group:default/platform"]) == {"role:default/sre"}


def test_other_plugins_lines_are_valid_but_grant_nothing_here() -> None:
    text = (
        "p, role:default/readers, catalog-entity, read, allow\n"
        "p, role:default/readers, catalog.entity.delete, delete, deny\n"
        "p, role:default/readers, kubernetes.proxy, use, allow\n"
    )
    policy = parse_policy(text, "rbac.csv")
    assert policy.rules == {}


def test_teraSky_documented_lines_keep_working() -> None:
    text = (
        "p, role:default/platform-team, spectrocloud.cluster.create, create, allow\n"
        "p, role:default/developers, spectrocloud.cluster.view-info, read, allow\n"
    )
    policy = parse_policy(text, "rbac.csv")
    assert policy.effects({"role:default/platform-team"}, CREATE_CLUSTER) == {"allow"}
    assert policy.effects({"role:default/developers"}, VIEW_CLUSTER_INFO) == {"allow"}


def test_unknown_permission_name_is_rejected_with_file_and_line() -> None:
    problems = _problems(
        "# header\np, role:default/x, spectrocloud.cluster.view-info, read, allow\n"
        "p, role:default/x, spectrocloud.cluster.viewinfo, read, allow\n"
    )
    assert len(problems) == 1
    where, message = problems[0]
    assert where == "rbac.csv:3"
    assert "unknown permission 'spectrocloud.cluster.viewinfo'" in message


def test_error_message_names_file_and_line() -> None:
    with pytest.raises(PolicyFileError) as info:
        parse_policy("p, role:default/x, spectrocloud.nope, read, allow\n", "/etc/rbac/policy.csv")
    assert "/etc/rbac/policy.csv:1" in str(info.value)
    assert "spectrocloud.nope" in str(info.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("p, role:default/x, spectrocloud.cluster.create, read, allow", "takes action 'create'"),
        ("p, role:default/x, spectrocloud.cluster.view-info, read, maybe", "unknown effect 'maybe'"),
        ("p, role:default/x, spectrocloud.cluster.view-info, write, allow", "unknown action 'write'"),
        ("p, role:default/x, spectrocloud.cluster.view-info, read", "5 fields"),
        ("p, group:default/x, spectrocloud.cluster.view-info, read, allow", "must be a role ref"),
        ("p, role:x, spectrocloud.cluster.view-info, read, allow", "not a full entity ref"),
        ("g, group:default/y", "3 fields"),
        ("g, role:default/a, role:default/b", "role inheritance"),
        ("g, group:default/y, group:default/z", "must be a role ref"),
        ("g, team:default/y, role:default/z", "must be a user or group ref"),
        ("g, group:default/bad name, role:default/z", "not a full entity ref"),
        ("x, role:default/x, spectrocloud.cluster.view-info, read, allow", "unknown line type 'x'"),
    ],
)
def test_invalid_lines_are_rejected(line: str, expected: str) -> None:
    problems = _problems(f"# ok\n\n{line}\n")
    assert problems == [("rbac.csv:3", problems[0][1])]
    assert expected in problems[0][1]


def test_every_bad_line_is_reported() -> None:
    problems = _problems(
        "p, role:default/x, spectrocloud.a, read, allow\n"
        "g, group:default/ok, role:default/x\n"
        "g, role:default/a, role:default/b\n"
    )
    assert [where for where, _ in problems] == ["rbac.csv:1", "rbac.csv:3"]


def test_g_subjects_are_lower_cased_on_load() -> None:
    policy = parse_policy("g, Group:default/Platform, role:default/sre\n", "rbac.csv")
    assert policy.members == {"group:default/platform": frozenset({"role:default/sre"})}
