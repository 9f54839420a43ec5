"""Helpers for the simulator tests: strict schema checks, error assertions."""

from __future__ import annotations

from typing import Any

import httpx

API_KEY = "demo-api-key"


def missing_always_fields(validator: Any, name: str, instance: Any) -> list[str]:
    """Paths of ``x-omitempty: false`` fields absent from ``instance`` (Palette always writes them)."""
    definitions = validator.raw_definitions
    problems: list[str] = []

    def walk(schema: dict[str, Any], value: Any, path: str) -> None:
        if "$ref" in schema:
            walk(definitions[schema["$ref"].rsplit("/", 1)[-1]], value, path)
            return
        if isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                walk(schema["items"], item, f"{path}.{i}")
        if not isinstance(value, dict):
            return
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                walk(sub, value[key], f"{path}.{key}")
            elif sub.get("x-omitempty") is False:
                problems.append(f"{path}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not schema.get("properties"):
            for key, item in value.items():
                walk(extra, item, f"{path}.{key}")

    walk(definitions[name], instance, "$")
    return problems


def assert_valid(validator: Any, name: str, instance: Any) -> None:
    """Strict schema validity plus every always-present field present."""
    errors = validator.errors(name, instance, strict=True)
    assert not errors, f"{name}: {errors[:5]}"
    missing = missing_always_fields(validator, name, instance)
    assert not missing, f"{name} lacks always-present fields: {missing[:5]}"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """A ``v1Error`` body with the given status (and code)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("message"), str) and isinstance(body.get("code"), str)
    assert body.get("details", {}) is not None
    if code is not None:
        assert body["code"] == code, body
    return body


def first_project(client: httpx.Client) -> str:
    uid: str = client.post("/v1/dashboard/projects", json={}).json()["items"][0]["metadata"]["uid"]
    return uid
