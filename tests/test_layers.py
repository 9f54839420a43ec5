"""Meta-test: imports point down the layers (STYLE.md "Our house").

Each rule names the only packages of ours a module may import; third-party adapters
(httpx, sqlalchemy) are confined to their one package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "ingestor"

# module prefix -> allowed prefixes of ours (besides itself)
ALLOWED: dict[str, tuple[str, ...]] = {
    "ingestor.errors": (),
    "ingestor.serving": (),
    "ingestor.auth": ("ingestor.errors", "ingestor.config"),
    "ingestor.logging": (),
    "ingestor.config": ("ingestor.errors", "ingestor.palette.options"),
    "ingestor.palette": ("ingestor.palette",),
    "ingestor.catalog": ("ingestor.palette.models",),
    "ingestor.crawl.snapshot": (),
    "ingestor.crawl": (
        "ingestor.palette",
        "ingestor.catalog",
        "ingestor.store",
        "ingestor.errors",
        "ingestor.config",
    ),
    "ingestor.store": ("ingestor.catalog", "ingestor.crawl.snapshot", "ingestor.errors"),
    "ingestor.creation": ("ingestor.palette.schema",),
    "ingestor.scheduler": ("ingestor.config", "ingestor.store", "ingestor.crawl.service", "ingestor.errors"),
    "ingestor.access": ("ingestor.palette", "ingestor.auth", "ingestor.config", "ingestor.errors"),
    "ingestor.mcp": (
        "ingestor.access",
        "ingestor.auth",
        "ingestor.palette",
        "ingestor.store",
        "ingestor.config",
        "ingestor.errors",
        "ingestor.catalog",
        "ingestor.logging",
    ),
    "ingestor.console": (
        "ingestor.auth",
        "ingestor.config",
        "ingestor.scheduler",
        "ingestor.store",
        "ingestor.catalog.render",
        "ingestor.logging",
        "ingestor.errors",
        "ingestor.mcp.resolve",
    ),
    "ingestor.api": (
        "ingestor.console",
        "ingestor.creation",
        "ingestor.mcp",
        "ingestor.access",
        "ingestor.palette",
        "ingestor.config",
        "ingestor.scheduler",
        "ingestor.store",
        "ingestor.catalog.render",
        "ingestor.errors",
        "ingestor.logging",
        "ingestor.serving",
        "ingestor.auth",
    ),
    "ingestor.simulator": (
        "ingestor.simulator",
        "ingestor.palette.options",
        "ingestor.palette.schema",
        "ingestor.errors",
        "ingestor.serving",
    ),
}
# third-party module -> the only package that may import it
CONFINED: dict[str, tuple[str, ...]] = {
    "httpx": ("ingestor.palette",),
    "fastapi": ("ingestor.api", "ingestor.console"),
    "jwt": ("ingestor.auth",),
    "mcp": ("ingestor.mcp",),
    "sqlalchemy": ("ingestor.store",),
    "alembic": ("ingestor.store",),
    "prometheus_client": ("ingestor.api",),
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((".".join(parts), path))
    return out


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rule_for(module: str) -> tuple[str, tuple[str, ...]] | None:
    matches = [key for key in ALLOWED if _within(module, key)]
    if not matches:
        return None
    key = max(matches, key=len)
    return key, ALLOWED[key]


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_imports_point_down(module: str, path: Path) -> None:
    imported = _imports(path, module)
    rule = _rule_for(module)
    if rule is not None:
        own, allowed = rule
        ours = {name for name in imported if _within(name, "ingestor")}
        bad = sorted(
            name
            for name in ours
            if not _within(name, own)
            # `from ingestor.palette import options` records the package and the member;
            # the package alone is fine when a member below it is allowed.
            and not any(_within(name, a) or _within(a, name) for a in allowed)
            and name not in ("ingestor", "ingestor.__version__")
        )
        assert not bad, f"{module} imports {bad}; allowed: {(own, *allowed)}"
    for third_party, owners in CONFINED.items():
        if any(_within(name, third_party) for name in imported):
            assert any(_within(module, o) for o in owners), f"{module} imports {third_party}"


def test_rules_cover_existing_packages() -> None:
    assert _modules(), "no modules found"
