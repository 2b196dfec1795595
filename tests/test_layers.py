"""The packages form layers: each imports only from layers below its own. HTTP endpoints sit above
every domain (a route may call any service), and the composition root above everything."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "skypanel"

LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(names.split())
    for names in (
        "config",
        "kit",
        "models",
        "easypanel secrets notices",
        "emulator standins http health",
        "activity wallet",
        "accounts platform plans",
        "organizations servers invoices",
        "operations quotas",
        "subscriptions",
        "templates",
        "projects",
        "services",
        "deployments domains backups",
        "moves",
        "billing reconcile monitoring",
        "payments",
        "admin hooks",
    )
)
ROOT = frozenset(
    {"__init__", "__main__", "app", "cli", "demo", "web", "wiring", "worker", "migrations"}
)
"""The composition root: it assembles the domains and may import any of them."""
ENDPOINTS = len(LAYERS)
"""The layer of every domain's `endpoints.py`: HTTP, above all domains, below the root."""


def _layer(package: str) -> int:
    for level, names in enumerate(LAYERS):
        if package in names:
            return level
    raise AssertionError(f"skypanel.{package} is in no layer; add it to LAYERS")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("skypanel."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("skypanel.")}
    return found


def violations(source: Path = SOURCE) -> list[str]:
    found = []
    for path in sorted(source.rglob("*.py")):
        package = path.relative_to(source).parts[0].removesuffix(".py")
        if package in ROOT:
            continue
        level = ENDPOINTS if path.stem == "endpoints" else _layer(package)
        for imported in _imports(path) - {package}:
            if imported in ROOT or _layer(imported) >= level:
                found.append(f"{path.relative_to(source)} imports skypanel.{imported}")
    return found


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "money.py").write_text("from skypanel.services.service import deploy\n")
    (tmp_path / "wallet").mkdir()
    (tmp_path / "wallet" / "endpoints.py").write_text("from skypanel.web import page\n")
    assert violations(tmp_path) == [
        "kit/money.py imports skypanel.services",
        "wallet/endpoints.py imports skypanel.web",
    ]
