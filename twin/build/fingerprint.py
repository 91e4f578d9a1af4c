"""Fingerprints of the build: the code that builds a city and the library versions.

A cached ``.twin`` bundle is stale when the build code changes (:func:`code_digest`, stored in
the build parameters); :func:`package_versions` is recorded in the bundle's metadata.
"""

from __future__ import annotations

import ast
import hashlib
import platform
from collections.abc import Iterable
from importlib import metadata, resources

__all__ = ["VERSIONED_PACKAGES", "code_digest", "package_versions", "twin_imports"]

#: Packages whose versions a bundle records.
VERSIONED_PACKAGES = (
    "hue-twin",
    "osmnx",
    "osmium",
    "networkx",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "shapely",
    "pyproj",
)


def twin_imports(source: str) -> set[str]:
    """Dotted names, below ``twin``, of the modules a module's source imports
    (``from twin.build.road_classes import x`` -> ``"build.road_classes"``)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(n.removeprefix("twin.") for n in names if n.startswith("twin."))
    return found


def code_digest(roots: Iterable[str]) -> str:
    """SHA-256 of the code that ``roots`` run: those ``twin`` modules (``"build.pipeline"``
    for ``twin/build/pipeline.py``), every ``twin`` module they import (lazily too,
    transitively) and the ``twin/defaults`` tables whose file names appear in that code."""
    root = resources.files("twin")
    seen: dict[str, bytes] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        item = root.joinpath(*name.split(".")[:-1], f"{name.split('.')[-1]}.py")
        if name in seen or not item.is_file():
            continue
        seen[name] = item.read_bytes()
        todo.extend(twin_imports(seen[name].decode("utf-8")))
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update(f"{name}.py".encode() + b"\0" + seen[name])
    code = b"".join(seen.values())
    for item in sorted((root / "defaults").iterdir(), key=lambda i: i.name):
        if item.is_file() and item.name.encode() in code:  # the tables the build reads
            digest.update(f"defaults/{item.name}".encode() + b"\0" + item.read_bytes())
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and of :data:`VERSIONED_PACKAGES` (``"not installed"`` if absent)."""
    versions = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
