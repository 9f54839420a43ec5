"""Golden files: the exact bytes served for the hand-built inventory under each option set.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/catalog/test_golden.py``
and review the diff of ``golden/*.json`` (pretty) before committing.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from pathlib import Path

import pytest
import yaml

from ingestor.catalog import MappingResult, map_inventory, render_json, render_yaml
from ingestor.catalog.validation import validate_entity

from .conftest import Validate
from .scenarios import SCENARIOS

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _pretty(result: MappingResult) -> bytes:
    doc = {
        "entities": [
            {k: v for k, v in dataclasses.asdict(e).items() if k != "body"} | {"body": e.body}
            for e in result.entities
        ],
        "edges": [dataclasses.asdict(e) for e in result.edges],
        "profile_versions": [dataclasses.asdict(v) for v in result.profile_versions],
        "problems": [dataclasses.asdict(p) for p in result.problems],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False).encode() + b"\n"


def _outputs(name: str) -> dict[str, bytes]:
    inv, options, known = SCENARIOS[name]()
    result = map_inventory(inv, options, known)
    bodies = [e.body for e in result.entities]
    return {f"{name}.yaml": render_yaml(bodies), f"{name}.json": _pretty(result)}


def _check(path: Path, data: bytes) -> None:
    if UPDATE:
        path.write_bytes(data)
        return
    assert path.exists(), f"{path.name} is missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes()
    if data != expected:
        diff = difflib.unified_diff(
            expected.decode().splitlines(), data.decode().splitlines(), "golden", "now", lineterm="", n=2
        )
        pytest.fail(f"{path.name} differs (UPDATE_GOLDEN=1 to accept):\n" + "\n".join(list(diff)[:80]))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_output_matches_golden(name: str) -> None:
    for filename, data in _outputs(name).items():
        _check(GOLDEN / filename, data)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_is_reproducible_and_valid(name: str) -> None:
    first, second = _outputs(name), _outputs(name)
    assert first == second
    docs = list(yaml.safe_load_all(first[f"{name}.yaml"]))
    assert docs, "a scenario must emit entities"
    for doc in docs:
        assert validate_entity(doc) == [], doc["metadata"]["name"]
    inv, options, known = SCENARIOS[name]()
    result = map_inventory(inv, options, known)
    assert json.loads(render_json([e.body for e in result.entities])) == {"items": docs}


def test_golden_files_pass_backstages_own_validator(backstage_validate: Validate) -> None:
    files = sorted(GOLDEN.glob("*.yaml"))
    assert len(files) == len(SCENARIOS)
    for path in files:
        done = backstage_validate(path)
        assert done.returncode == 0, f"{path.name}:\n{done.stdout}\n{done.stderr}"
        docs = len(list(yaml.safe_load_all(path.read_bytes())))
        assert done.stdout.count("OK   ") == docs, done.stdout
