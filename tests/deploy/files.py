"""Readers for the deployment material under ``deploy/``: YAML documents, kustomizations, the Dockerfile.

Small and literal on purpose: the tests compare what these files say with what the service does.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingestor.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BASE = DEPLOY / "kubernetes" / "base"
OVERLAY = DEPLOY / "kubernetes" / "overlays" / "example"
SERVICEMONITOR = DEPLOY / "kubernetes" / "components" / "servicemonitor"
COMPOSE = DEPLOY / "compose" / "docker-compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose" / ".env.example"
BACKSTAGE = DEPLOY / "backstage" / "app-config.yaml"
MCP = DEPLOY / "mcp"

# ``routes(path, method="GET")``: whether the app has a route for it (the ``routes`` fixture).
Routes = Callable[..., bool]

# ${VAR} and ${VAR:-default}; ``$${`` is a literal (ingestor/config/substitution.py, compose alike).
_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def documents(path: Path) -> list[Any]:
    """Every YAML document of ``path`` (empty documents dropped)."""
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def document(path: Path) -> Any:
    """The single YAML document of ``path``."""
    docs = documents(path)
    assert len(docs) == 1, f"{path} holds {len(docs)} documents"
    return docs[0]


def json_file(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def kustomization(folder: Path) -> dict[str, Any]:
    data = document(folder / "kustomization.yaml")
    assert isinstance(data, dict)
    return data


def manifest(folder: Path, kind: str) -> dict[str, Any]:
    """The one object of ``kind`` among the resources a kustomization lists directly."""
    found = [
        doc
        for name in kustomization(folder).get("resources", [])
        if (folder / name).is_file()
        for doc in documents(folder / name)
        if doc.get("kind") == kind
    ]
    assert len(found) == 1, f"{folder} lists {len(found)} {kind} objects"
    result: dict[str, Any] = found[0]
    return result


def literals(entries: list[str]) -> dict[str, str]:
    """``KEY=value`` generator literals as a mapping."""
    pairs = [entry.split("=", 1) for entry in entries]
    assert all(len(pair) == 2 for pair in pairs), f"malformed literal in {entries}"
    return {key: value for key, value in pairs}


def generator(folder: Path, section: str, name: str) -> dict[str, Any]:
    matches = [g for g in kustomization(folder).get(section, []) if g.get("name") == name]
    assert len(matches) == 1, f"{folder}: {section} has {len(matches)} entries named {name}"
    result: dict[str, Any] = matches[0]
    return result


def variables(value: Any) -> set[str]:
    """Names of the ``${VAR}`` references in every string of a parsed document (comments never count)."""
    if isinstance(value, str):
        return set(_VAR.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(variables(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(variables(v) for v in value)) if value else set()
    return set()


def env_file(path: Path) -> dict[str, str]:
    """A compose ``.env`` file: ``KEY=value`` lines, ``#`` comments, no quoting."""
    result: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not KEY=value: {line!r}"
        result[key.strip()] = value.strip()
    return result


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose-style interpolation of ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        body = match.group(0)[2:-1]
        if body.startswith(f"{name}:-"):
            return env.get(name) or body[len(name) + 2 :]
        assert env.get(name), f"${{{name}}} is not set"
        return env[name]

    return _VAR.sub(replace, text)


@dataclass
class Stage:
    """One ``FROM`` stage of a Dockerfile: its base, name and instructions in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None


def _logical_lines(text: str) -> Iterator[str]:
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        yield current + line
        current = ""
    if current:
        yield current


def dockerfile_stages(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """The global ``ARG`` defaults and the stages, with ``${ARG}`` expanded in ``FROM``."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages and keyword == "ARG":
            key, _, value = rest.partition("=")
            args[key] = value
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def exec_form(args: str) -> list[str]:
    """A JSON exec-form instruction argument (``["a", "b"]``)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def env_instructions(stage: Stage) -> dict[str, str]:
    """``ENV`` key=value pairs of a stage (quotes removed)."""
    result: dict[str, str] = {}
    for args in stage.all("ENV"):
        for word in shlex.split(args):
            key, sep, value = word.partition("=")
            assert sep, f"ENV without '=': {args}"
            result[key] = value
    return result


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    dest: str
    from_stage: str | None


def copies(stage: Stage) -> list[Copy]:
    result = []
    for args in stage.all("COPY"):
        words = shlex.split(args)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        from_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        result.append(Copy(tuple(paths[:-1]), paths[-1], from_stage))
    return result


def example_env() -> dict[str, str]:
    """What the example overlay puts in the container's environment (base literals merged with its own)."""
    config = literals(generator(BASE, "configMapGenerator", "spectrocloud-ingestor-config")["literals"])
    config.update(
        literals(generator(OVERLAY, "configMapGenerator", "spectrocloud-ingestor-config")["literals"])
    )
    secret = literals(generator(OVERLAY, "secretGenerator", "spectrocloud-ingestor-secrets")["literals"])
    return {**config, **secret}


def base_settings(env: Mapping[str, str]) -> Settings:
    """The base configuration (config.yaml of the ConfigMap) loaded with ``env`` as the environment."""
    return load_settings(BASE / "config.yaml", env=env)
