"""Small real runs for the catalog's tests, and cheap clones of them.

A clone is a copy of a run folder whose manifest records another creation time, so the
catalog sees a different run (another run id) with the same tables.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from sim.outputs import write_run
from sim.runner import run
from sim.spec_builder import build_spec
from twin.bundle import read_bundle

#: Fewer tourists than a city's default day, and some emergency calls in half an hour.
SMALL = (
    "tourists.demand.tourists_per_day=300",
    "emergency.demand.medical_per_1000_residents_per_day=20",
)


def make_run(bundle: Path, out: Path, *, seed: int = 0, settings=SMALL) -> Path:
    """Simulate 06:00–06:30 on the city of ``bundle`` and write the run folder ``out``."""
    city = read_bundle(bundle)
    spec = build_spec(
        city, seed=seed, start="06:00", end="06:30", settings=list(settings), bundle=bundle
    )
    return write_run(run(city, spec), out)


def clone_run(source: Path, target: Path, *, created: str, link: bool = False) -> Path:
    """A copy of the run folder ``source`` whose manifest says it was created at
    ``created`` (ISO 8601). With ``link``, data files are hard links (never change them)."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.name == "manifest.json":
            continue
        if link:
            os.link(path, target / path.name)
        else:
            shutil.copy2(path, target / path.name)
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest["created"] = created
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target


def edit_manifest(run_dir: Path, **changes) -> dict:
    """Change top-level entries of a (cloned) run folder's manifest; returns the manifest."""
    path = run_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest
