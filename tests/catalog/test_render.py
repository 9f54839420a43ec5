"""render_yaml / render_json: deterministic bytes that every YAML reader reads back unchanged."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from ingestor.catalog import render_json, render_yaml

from .conftest import Node

TRICKY = [
    "true",
    "False",
    "yes",
    "on",
    "null",
    "~",
    "",
    "0123",
    "1.30",
    "1e3",
    "0o17",
    "0x1F",
    ".inf",
    "2024-01-01",
    "12:30:00",
    ": colon",
    "- dash",
    "# hash",
    "---",
    "...",
    "a: b",
    "{x}",
    "'quoted'",
    '"double"',
    "line\nbreak",
    "tab\there",
    "trailing ",
    "ünïcødé ✓ 😀",
    "c1\x85nel",
    "ls\u2028ps\u2029",
    "bom\ufeff",
    "ctrl\x00\x07\x1b\x7f",
    "lone\ud800surrogate",
]


def entity(i: int = 0, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "spec": {
            "type": "spectrocloud-cluster",
            "owner": "group:default/x",
            "dependsOn": ["resource:default/y"],
        },
        "metadata": {"name": f"n{i}", "annotations": {"a/b": "1", **(annotations or {})}, "tags": ["t"]},
        "kind": "Resource",
        "apiVersion": "backstage.io/v1alpha1",
    }


def tricky_entity() -> dict[str, Any]:
    return entity(annotations={f"example.com/k{i}": value for i, value in enumerate(TRICKY)})


def test_root_keys_in_backstage_order_and_documents_separated() -> None:
    out = render_yaml([entity(1), entity(2)])
    assert out.count(b"---\n") == 2
    docs = list(yaml.safe_load_all(out))
    assert [list(d) for d in docs] == [["apiVersion", "kind", "metadata", "spec"]] * 2
    assert [d["metadata"]["name"] for d in docs] == ["n1", "n2"]


def test_tricky_strings_stay_strings_in_pyyaml() -> None:
    doc = yaml.safe_load(render_yaml([tricky_entity()]))
    values = [doc["metadata"]["annotations"][f"example.com/k{i}"] for i in range(len(TRICKY))]
    assert values == TRICKY


def test_tricky_strings_stay_strings_in_backstages_yaml_reader(node: Node, tmp_path: Path) -> None:
    """The ``yaml`` package, read as Backstage reads a location (``parseAllDocuments``)."""
    path = tmp_path / "entities.yaml"
    path.write_bytes(render_yaml([tricky_entity(), entity(7)]))
    script = (
        "const yaml = require('yaml'); const fs = require('fs');"
        "const docs = yaml.parseAllDocuments(fs.readFileSync(process.argv[1], 'utf8'));"
        "for (const d of docs) { if (d.errors.length) throw d.errors[0]; }"
        "process.stdout.write(JSON.stringify(docs.map(d => d.toJSON())));"
    )
    done = node.run("-e", script, str(path))
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert docs == json.loads(render_json([tricky_entity(), entity(7)]))["items"]


def test_output_is_deterministic_and_utf8() -> None:
    first = render_yaml([tricky_entity(), entity(3)])
    assert first == render_yaml([tricky_entity(), entity(3)])
    text = first.decode("utf-8")  # lone surrogates and the like are escaped, never raw
    assert "😀" in text and "\ud800" not in text and "\u2028" not in text and "\x85" not in text


def test_empty() -> None:
    assert render_yaml([]) == b""
    assert json.loads(render_json([])) == {"items": []}


def test_json_shape() -> None:
    out = render_json([entity(1), tricky_entity()])
    data = json.loads(out)
    assert list(data) == ["items"]
    assert [list(item) for item in data["items"]] == [["apiVersion", "kind", "metadata", "spec"]] * 2
    assert data["items"][1]["metadata"]["annotations"]["example.com/k8"] == "1.30"


def test_forty_thousand_entities_render_in_a_few_seconds() -> None:
    annotations = {f"terasky.backstage.io/key-{k}": f"value-{k}" * 3 for k in range(15)}
    entities = [entity(i, annotations) for i in range(40_000)]
    started = time.perf_counter()
    out = render_yaml(entities)
    as_json = render_json(entities)
    elapsed = time.perf_counter() - started
    assert out.count(b"\n---\n") == 39_999 and as_json.startswith(b'{"items":[')
    assert elapsed < 8, f"rendering 40,000 entities took {elapsed:.1f} s"
