"""The layers of DESIGN.md: imports only go down (kernels < twin < sim < scenarios < viz),
kernels import numpy only, and no two modules import each other, lazily or not."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
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


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path = ROOT) -> dict[str, Path]:
    return {
        _module_name(p, root): p for layer in LAYERS for p in sorted((root / layer).rglob("*.py"))
    }


def _imported_names(path: Path, root: Path = ROOT) -> set[str]:
    """Dotted names a module imports anywhere in its body (inside functions and
    ``TYPE_CHECKING`` blocks too); ``from a import b`` gives ``a.b`` and ``a``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                anchor = _module_name(path, root).split(".")
                if path.name != "__init__.py":
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _imported_layers(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported_names(path)} & set(LAYERS)


def import_graph(root: Path = ROOT) -> nx.DiGraph:
    """Module → module it imports, over the project's packages. ``from a import b`` is an
    edge to ``a.b`` when that is a module, else to ``a``; a parent package that Python
    initialises on the way is not an edge of its own."""
    modules = _modules(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        imported = _imported_names(path, root)
        for target in imported:
            if target not in modules:
                continue
            if any(other.startswith(target + ".") and other in modules for other in imported):
                continue  # `from a import b` with b a module: the edge goes to a.b
            if target != name:
                graph.add_edge(name, target)
    return graph


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


def test_no_import_cycles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert not cycles, "modules that import each other (lazily or not):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


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
        roots = {name.split(".")[0] for name in _imported_names(path)} - {""}
        if roots - allowed:
            offending.append(f"{path.relative_to(ROOT)} imports {sorted(roots - allowed)}")
    assert not offending, "\n".join(offending)


def test_the_rules_catch_an_upward_import_and_a_cycle(tmp_path):
    bad = tmp_path / "module.py"
    bad.write_text("from sim.roads import Roads\nimport viz\n")
    assert _imported_layers(bad) == {"sim", "viz"}
    pkg = tmp_path / "kernels"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from kernels import b  # lazy\n")
    (pkg / "b.py").write_text("from kernels.a import f\n")
    graph = import_graph(tmp_path)
    assert graph.has_edge("kernels.a", "kernels.b") and graph.has_edge("kernels.b", "kernels.a")
    assert not graph.has_edge("kernels.a", "kernels")
