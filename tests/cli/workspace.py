"""The folder a hostile command runs in: real, small inputs of every kind a command reads,
and a snapshot of every file and folder in it (content, mode) to prove nothing changed.

The workspace is built once per session (:func:`build_template`) and copied for each case,
which runs with the copy as its current folder, so the paths in the table are relative:

=================  ============================================================================
``city.twin``      the 5 × 5 grid city (hospital, fire station, hotel, attractions)
``other.twin``     another city (a 4 × 4 grid): runs of ``city.twin`` do not belong to it
``bare.twin``      a GMNS city: roads only, no POI, no building, no resident
``town.osm``       ``tests/data/tiny_town.osm``
``roads.osm``      OSM with highways only (no POI, no building)
``gmns/``          ``tests/data/gmns_small``
``trips.csv``      30 trips on ``city.twin`` between 06:00 and 06:30
``run/``           a real run of ``city.twin``, 06:00–06:30, with tourists and emergency
``export/``        an earlier ``twin export city.twin --gmns export``
``scenario.toml``  a valid scenario on ``city.twin`` (06:00–06:30)
``option.toml``    the same scenario under another name
``cmp/``           ``twin compare scenario.toml option.toml -o cmp``, 2 replications
``sweep.toml``     a valid sweep of ``scenario.toml`` (two levels of ``demand.scale``)
``spec.toml``      the run specification of ``run/``
``notes.txt``      a file of the user's, which no command may touch
``.cache/``        ``TWIN_CACHE_DIR``; ``TWIN_OSM_PATH`` names a missing file beside it
``catalog/``       ``TWIN_RUNS_DIR``, the catalog root
=================  ============================================================================
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data"
#: Fewer tourists and more calls than a city's default, so half an hour has some of each.
SMALL = (
    "tourists.demand.tourists_per_day=300",
    "emergency.demand.medical_per_1000_residents_per_day=20",
)

SCENARIO = """\
[scenario]
name = "hostile"
title = { vi = "Thử", en = "Trial" }
city = "city.twin"
window = ["06:00", "06:30"]
seed = 1
replications = 2
[tourism.demand]
tourists_per_day = 300
"""

SWEEP = """\
[sweep]
name = "hostile-sweep"
scenario = "scenario.toml"
replications = 1
[vary]
"demand.scale" = [0.5, 1.0]
"""

ROADS_OSM_NODES = [(1 + 3 * i + j, 16.46 + 0.002 * i, 107.59 + 0.002 * j) for i in range(3)
                   for j in range(3)]  # fmt: skip


def roads_osm() -> str:
    """OSM XML of a 3 × 3 grid of two-way residential streets, nothing else."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{n}" lat="{lat:.4f}" lon="{lon:.4f}"/>' for n, lat, lon in
              ROADS_OSM_NODES]  # fmt: skip
    rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 4, 7], [2, 5, 8], [3, 6, 9]]
    for way, nodes in enumerate(rows, start=1):
        refs = "".join(f'<nd ref="{n}"/>' for n in nodes)
        lines.append(f'<way id="{way}">{refs}<tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def build_template(folder: Path) -> Path:
    """Write every input of the workspace into ``folder`` (see the module docstring)."""
    from sim.outputs import write_run
    from sim.runner import run
    from sim.spec_builder import build_spec
    from twin.build.gmns import read_gmns, write_gmns
    from twin.bundle import read_bundle, write_bundle
    from twin.synthetic import grid_city

    folder.mkdir(parents=True, exist_ok=True)
    write_bundle(grid_city(), folder / "city.twin")
    write_bundle(grid_city(4, 4), folder / "other.twin")
    write_bundle(read_gmns(DATA / "gmns_small"), folder / "bare.twin")
    shutil.copy(DATA / "tiny_town.osm", folder / "town.osm")
    (folder / "roads.osm").write_text(roads_osm(), encoding="utf-8")
    shutil.copytree(DATA / "gmns_small", folder / "gmns")
    city = read_bundle(folder / "city.twin")
    rng = np.random.default_rng(3)
    n, ids = 30, city.drive.node_id
    origin = rng.integers(0, len(ids), n)
    destination = (origin + rng.integers(1, len(ids), n)) % len(ids)
    pd.DataFrame(
        {
            "origin": ids[origin],
            "destination": ids[destination],
            "depart": np.sort(rng.uniform(6 * 3600, 6.5 * 3600, n)).round(),
            "vehicle_class": "car",
        }
    ).to_csv(folder / "trips.csv", index=False)
    spec = build_spec(
        city, seed=0, start="06:00", end="06:30", settings=list(SMALL), bundle="city.twin"
    )
    write_run(run(city, spec), folder / "run")
    (folder / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    write_gmns(city, folder / "export")
    (folder / "scenario.toml").write_text(SCENARIO, encoding="utf-8")
    option = SCENARIO.replace('name = "hostile"', 'name = "option"')
    (folder / "option.toml").write_text(option, encoding="utf-8")
    _compare(folder)
    (folder / "sweep.toml").write_text(SWEEP, encoding="utf-8")
    (folder / "notes.txt").write_text("my notes: do not touch\n", encoding="utf-8")
    (folder / ".cache").mkdir()
    (folder / "catalog").mkdir()
    return folder


def _compare(folder: Path) -> None:
    """``cmp/``, a comparison of the two scenarios, in this process; its replications
    register in a catalog of their own, deleted after."""
    from unittest import mock

    from scenarios.compare import compare_scenarios
    from scenarios.executor import Executor

    catalog = folder / ".compare-catalog"
    with (
        mock.patch.dict(os.environ, {"TWIN_RUNS_DIR": str(catalog)}),
        Executor(workers=0) as executor,
    ):
        compare_scenarios(
            folder / "scenario.toml",
            [folder / "option.toml"],
            out_dir=folder / "cmp",
            executor=executor,
        )
    shutil.rmtree(catalog, ignore_errors=True)


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented) to ``path``, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file, folder and link under ``root`` (relative path → kind, mode, content
    digest or link target)."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            path = here / name
            key = str(path.relative_to(root))
            info = path.lstat()
            mode = stat.S_IMODE(info.st_mode)
            if path.is_symlink():
                found[key] = ("link", str(path.readlink()))
            elif path.is_dir():
                found[key] = ("dir", mode)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[key] = ("file", mode, digest)
    return found


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """What differs between two snapshots, for an assertion message."""
    out = [f"created {k}" for k in sorted(after.keys() - before.keys())]
    out += [f"deleted {k}" for k in sorted(before.keys() - after.keys())]
    out += [f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    return out
