"""Scenario files: finding one (a path or a library name), reading it, resolving ``extends``.

A scenario is named by a path to a ``.toml`` file or by a library name: ``hue/festival`` is
``scenarios/library/hue/festival.toml``, installed with the package. ``extends`` names a
parent the same way (a path relative to the child's folder, or a library name). The child
is laid over its parent: its ``[scenario]`` keys replace the parent's, its parameter
sections are merged key by key into the parent's, and its ``[[intervention]]`` entries come
after the parent's.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from scenarios.problems import Problem, ScenarioError

__all__ = ["LIBRARY", "SourceFile", "library_names", "locate", "read_with_parents"]

#: The folder of the shipped scenarios (inside the installed package).
LIBRARY = resources.files("scenarios") / "library"


@dataclass(frozen=True)
class SourceFile:
    """A scenario file and how a user named it.

    Attributes
    ----------
    path
        The file.
    label
        How messages name it: the library name (``hue/festival``) or the path as given.
    """

    path: Path
    label: str


def locate(ref: str | Path, *, relative_to: Path | None = None) -> SourceFile:
    """The file a scenario reference names: a path (absolute, or relative to
    ``relative_to`` / the current folder) or a library name.

    Raises
    ------
    ScenarioError
        Neither a file nor a library scenario; the message lists the library.
    """
    text = str(ref)
    candidates = []
    if relative_to is not None and not Path(text).is_absolute():
        candidates.append(relative_to / text)
    candidates.append(Path(text))
    for path in candidates:
        if path.is_file():
            return SourceFile(path.resolve(), text)
    name = text.removesuffix(".toml")
    library = Path(str(LIBRARY))
    item = library / f"{name}.toml"
    if item.is_file():
        return SourceFile(item, name)
    raise ScenarioError(
        [
            Problem(
                text,
                "scenario",
                f"no scenario file {text!r} and no library scenario of that name; give a "
                f"path to a .toml file or one of: {', '.join(library_names()) or '(none)'}",
            )
        ]
    )


def library_names(*, sweeps: bool = False) -> list[str]:
    """The names of the shipped scenarios (``hue/baseline`` …), sorted; with ``sweeps``,
    the names of the shipped sweeps instead (files with a ``[sweep]`` table,
    :mod:`scenarios.sweep`)."""
    library = Path(str(LIBRARY))
    return sorted(
        str(p.relative_to(library).with_suffix("")).replace("\\", "/")
        for p in library.rglob("*.toml")
        if _is_sweep(p) == sweeps
    )


def _is_sweep(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return "sweep" in tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return False  # a broken file is reported when it is loaded as a scenario


def _read(source: SourceFile) -> dict[str, Any]:
    try:
        with source.path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(
            [Problem(source.label, "file", f"not valid TOML ({exc}); fix the syntax")]
        ) from None
    except OSError as exc:
        raise ScenarioError([Problem(source.label, "file", f"cannot be read ({exc})")]) from None


def read_with_parents(ref: str | Path) -> tuple[dict[str, Any], list[SourceFile]]:
    """A scenario's data with its ``extends`` chain laid over each other, and the chain
    (the scenario first, then its parent, …).

    Raises
    ------
    ScenarioError
        A missing parent, an ``extends`` cycle, a file that is not valid TOML.
    """
    chain: list[SourceFile] = []
    layers: list[dict[str, Any]] = []
    source = locate(ref)
    while True:
        if any(seen.path == source.path for seen in chain):
            names = " -> ".join(s.label for s in [*chain, source])
            raise ScenarioError(
                [
                    Problem(
                        chain[0].label,
                        "scenario.extends",
                        f"extends goes round in a cycle ({names}); remove one of the extends",
                    )
                ]
            )
        data = _with_absolute_paths(_read(source), source.path.parent)
        chain.append(source)
        layers.append(data)
        parent = data.get("scenario", {}).get("extends") if isinstance(data, dict) else None
        if not parent:
            break
        if not isinstance(parent, str):
            raise ScenarioError(
                [
                    Problem(
                        source.label,
                        "scenario.extends",
                        f"extends = {parent!r}; give a file path or a library name",
                    )
                ]
            )
        try:
            source = locate(parent, relative_to=source.path.parent)
        except ScenarioError:
            raise ScenarioError(
                [
                    Problem(
                        source.label,
                        "scenario.extends",
                        f"the parent {parent!r} does not exist; give a path relative to this "
                        f"file or a library name ({', '.join(library_names())})",
                    )
                ]
            ) from None
    merged: dict[str, Any] = {}
    for data in reversed(layers):
        merged = _lay_over(merged, data)
    return merged, chain


def _with_absolute_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """File names in a scenario (the city bundle, a trips CSV, an attraction table, a flood's
    GeoJSON) made absolute against the scenario's own folder, so that a child that extends
    a parent elsewhere still finds the parent's files."""

    def fix(table: Any, key: str) -> None:
        if isinstance(table, dict) and isinstance(table.get(key), str) and table[key]:
            path = Path(table[key]).expanduser()
            if not path.is_absolute() and (folder / path).exists():
                table[key] = str((folder / path).resolve())

    fix(data.get("scenario"), "city")
    fix(data.get("demand"), "trips")
    fix(data.get("tourism"), "attractions_table")
    for item in data.get("intervention", []) if isinstance(data.get("intervention"), list) else []:
        fix(item, "geojson")
    return data


def _lay_over(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(parent)
    for section, value in child.items():
        if section == "intervention" and isinstance(value, list):
            out[section] = [*out.get(section, []), *copy.deepcopy(value)]
        elif section == "scenario" and isinstance(value, dict):
            base = dict(out.get(section, {}))
            for own in ("name", "title", "description", "extends"):
                base.pop(own, None)  # what names a scenario is its own, never inherited
            out[section] = _merge_tables(base, value)
        elif isinstance(value, dict) and isinstance(out.get(section), dict):
            out[section] = _merge_tables(out[section], value)
        else:
            out[section] = copy.deepcopy(value)
    return out


def _merge_tables(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_tables(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
