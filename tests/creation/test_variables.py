"""Profile variables: placed in the profiles that declare them and checked against the declarations."""

from __future__ import annotations

import pytest

from ingestor.creation.variables import VariableDef, assign, text
from tests.creation import MARK, fields, messages

P1, P2, P3 = "65a0b1c2d3e4f5a6b7c8d9e0", "65a0b1c2d3e4f5a6b7c8d9e1", "65a0b1c2d3e4f5a6b7c8d9e2"
DECLARED = {
    P1: [VariableDef("replicas"), VariableDef("domain")],
    P2: [VariableDef("domain"), VariableDef("region")],
    P3: [],
}


def test_per_profile_values_go_to_their_profile() -> None:
    placed, found = assign([P1, P2, P3], DECLARED, {P1: {"replicas": 3}, P2: {"region": "eu"}}, {})
    assert found == []
    assert placed == {
        P1: [{"name": "replicas", "value": "3"}],
        P2: [{"name": "region", "value": "eu"}],
        P3: [],
    }


def test_cluster_values_go_to_every_declaring_profile() -> None:
    placed, found = assign([P1, P2, P3], DECLARED, {}, {"domain": "pay.example.com"})
    assert found == []
    assert placed[P1] == placed[P2] == [{"name": "domain", "value": "pay.example.com"}]
    assert placed[P3] == []


def test_per_profile_value_wins_over_cluster_value() -> None:
    placed, found = assign([P1, P2], DECLARED, {P2: {"domain": "two.example"}}, {"domain": "all.example"})
    assert found == []
    assert placed[P1] == [{"name": "domain", "value": "all.example"}]
    assert placed[P2] == [{"name": "domain", "value": "two.example"}]


def test_values_sent_as_text_and_sorted_by_name() -> None:
    declared = {P1: [VariableDef("b"), VariableDef("a"), VariableDef("c"), VariableDef("d")]}
    placed, _ = assign([P1], declared, {P1: {"b": True, "a": 1.5, "c": False, "d": 0}}, {})
    assert placed[P1] == [
        {"name": "a", "value": "1.5"},
        {"name": "b", "value": "true"},
        {"name": "c", "value": "false"},
        {"name": "d", "value": "0"},
    ]
    assert (text(True), text(7), text("x")) == ("true", "7", "x")


def test_unknown_names() -> None:
    placed, found = assign([P1, P2], DECLARED, {P1: {"region": "eu"}}, {"colour": "blue"})
    assert fields(found) == {f"profileVariables.{P1}.region", "clusterVariables.colour"}
    assert messages(found, f"profileVariables.{P1}.region") == ["is not a variable of this profile"]
    assert messages(found, "clusterVariables.colour") == ["no selected profile declares this variable"]
    assert placed[P1] == []


def test_profile_without_declarations() -> None:
    _, found = assign([P3], {}, {P3: {"x": "1"}}, {})
    assert fields(found) == {f"profileVariables.{P3}.x"}


def test_required_without_value_or_default() -> None:
    declared = {P1: [VariableDef("password", required=True)], P2: [VariableDef("password", required=True)]}
    _, found = assign([P1, P2], declared, {P1: {"password": "s3cret"}}, {})
    assert fields(found) == {f"profileVariables.{P2}.password"}
    assert messages(found, f"profileVariables.{P2}.password") == [
        "is required by the profile and has no default"
    ]


def test_required_given_cluster_wide() -> None:
    declared = {P1: [VariableDef("token", required=True)], P2: [VariableDef("token", required=True)]}
    placed, found = assign([P1, P2], declared, {}, {"token": "t"})
    assert found == []
    assert placed[P1] == placed[P2] == [{"name": "token", "value": "t"}]


def test_default_satisfies_required() -> None:
    declared = {P1: [VariableDef("size", required=True, default="small")]}
    placed, found = assign([P1], declared, {}, {})
    assert found == []
    assert placed[P1] == []  # Palette applies the default itself


def test_empty_default_does_not_satisfy_required() -> None:
    declared = {P1: [VariableDef("size", required=True, default="")]}
    _, found = assign([P1], declared, {}, {})
    assert fields(found) == {f"profileVariables.{P1}.size"}


def test_empty_value_does_not_satisfy_required() -> None:
    declared = {P1: [VariableDef("password", required=True)]}
    _, found = assign([P1], declared, {P1: {"password": ""}}, {})
    assert fields(found) == {f"profileVariables.{P1}.password"}


@pytest.mark.parametrize(
    ("value", "ok"), [("web-01", True), ("web-1", False), ("xweb-01", False), ("web-01x", False)]
)
def test_regex_must_match_the_whole_value(value: str, ok: bool) -> None:
    declared = {P1: [VariableDef("host", regex=r"web-\d{2}")]}
    _, found = assign([P1], declared, {P1: {"host": value}}, {})
    assert (found == []) is ok
    if not ok:
        assert messages(found, f"profileVariables.{P1}.host") == [
            "does not match the profile's pattern for it"
        ]


def test_regex_applies_to_cluster_values_too() -> None:
    declared = {P1: [VariableDef("port", regex=r"\d+")], P2: [VariableDef("port")]}
    _, found = assign([P1, P2], declared, {}, {"port": "http"})
    assert fields(found) == {"clusterVariables.port"}


@pytest.mark.parametrize("pattern", [r"(?<name>x+)", r"\p{L}+", r"a{2,1}"])
def test_regex_python_cannot_compile_is_not_checked(pattern: str) -> None:
    declared = {P1: [VariableDef("v", regex=pattern)]}
    placed, found = assign([P1], declared, {P1: {"v": "anything at all"}}, {})
    assert found == []
    assert placed[P1] == [{"name": "v", "value": "anything at all"}]


def test_options() -> None:
    declared = {P1: [VariableDef("tier", options=("gold", "silver"))]}
    _, good = assign([P1], declared, {P1: {"tier": "gold"}}, {})
    _, bad = assign([P1], declared, {P1: {"tier": "bronze"}}, {})
    assert good == []
    assert messages(bad, f"profileVariables.{P1}.tier") == ["is not one of the profile's options"]


def test_boolean_option_compared_as_sent() -> None:
    declared = {P1: [VariableDef("flag", options=("true", "false"))]}
    _, found = assign([P1], declared, {P1: {"flag": True}}, {})
    assert found == []


def test_immutable() -> None:
    declared = {P1: [VariableDef("cidr", immutable=True, default="10.0.0.0/16")]}
    _, same = assign([P1], declared, {P1: {"cidr": "10.0.0.0/16"}}, {})
    _, other = assign([P1], declared, {P1: {"cidr": "10.1.0.0/16"}}, {})
    _, cluster = assign([P1], declared, {}, {"cidr": "10.2.0.0/16"})
    assert same == []
    assert messages(other, f"profileVariables.{P1}.cidr") == ["is immutable in the profile"]
    assert fields(cluster) == {"clusterVariables.cidr"}


def test_every_problem_at_once_and_no_value_in_any_message() -> None:
    declared = {
        P1: [
            VariableDef("a", regex=r"[0-9]+"),
            VariableDef("b", options=("x", "y")),
            VariableDef("c", immutable=True, default="fixed"),
            VariableDef("d", required=True),
        ],
        P2: [VariableDef("e", regex=r"[0-9]+")],
    }
    per_profile = {P1: {"a": MARK, "b": MARK, "c": MARK, "zz": MARK}}
    _, found = assign([P1, P2], declared, per_profile, {"e": MARK, "nobody": MARK})
    assert fields(found) == {
        f"profileVariables.{P1}.a",
        f"profileVariables.{P1}.b",
        f"profileVariables.{P1}.c",
        f"profileVariables.{P1}.d",
        f"profileVariables.{P1}.zz",
        "clusterVariables.e",
        "clusterVariables.nobody",
    }
    assert found == sorted(found)
    for problem in found:
        assert MARK not in problem.field and MARK not in problem.message
