"""Imports only go down the layers (DESIGN.md): kernels < twin < sim < scenarios < viz."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["kernels", "twin", "sim", "scenarios", "viz"]
ALLOWED = {
    "kernels": set(),
    "twin": {"kernels"},
    "sim": {"kernels", "twin"},
    "scenarios": {"kernels", "twin", "sim"},
    "viz": {"twin"},  # viz reads the city and result tables, never the simulation
}
# The command line may reach every layer, lazily inside each command.
EXEMPT = {ROOT / "twin" / "cli.py", *(ROOT / "twin" / "commands").glob("*.py")}


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in LAYERS)
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_only_go_down(layer):
    offending = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        if path in EXEMPT:
            continue
        bad = _imported_layers(path) - ALLOWED[layer] - {layer}
        if bad:
            offending.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offending, "imports going up the layers:\n" + "\n".join(offending)


def test_kernels_import_numpy_only():
    allowed = {
        "numpy",
        "kernels",
        "cython",
        "libc",
        "__future__",
        "heapq",
        "math",
        "os",
        "importlib",
        "types",
        "typing",
        "collections",
        "dataclasses",
        "functools",
        "weakref",
    }
    offending = []
    for path in sorted((ROOT / "kernels").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if roots - allowed:
                offending.append(f"{path.relative_to(ROOT)} imports {sorted(roots - allowed)}")
    assert not offending, "\n".join(offending)


def test_the_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "module.py"
    bad.write_text("from sim.roads import Roads\nimport viz\n")
    assert _imported_layers(bad) == {"sim", "viz"}
