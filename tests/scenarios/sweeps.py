"""Small sweeps on the 5 × 5 grid city for the sweep tests: files and folder comparisons."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from twin.bundle import write_bundle
from twin.synthetic import grid_city

#: Longitude/latitude of the grid city's south-west corner, and a box around it.
WEST, SOUTH = 107.29404, 16.40382
BOX = [[WEST, SOUTH], [WEST + 0.003, SOUTH], [WEST + 0.003, SOUTH + 0.003], [WEST, SOUTH + 0.003]]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def grid_base(folder: Path, *, window=("06:00", "08:00"), scale: float = 0.5) -> Path:
    """The grid city as a bundle and a base scenario on it, few tourists, short window."""
    if not (folder / "grid.twin").is_file():
        write_bundle(grid_city(), folder / "grid.twin")
    return write(
        folder,
        "base.toml",
        f"""
        [scenario]
        name = "base"
        city = "grid.twin"
        window = ["{window[0]}", "{window[1]}"]
        seed = 3
        [demand]
        scale = {scale}
        [tourism.demand]
        tourists_per_day = 200
        [emergency.demand]
        medical_per_1000_residents_per_day = 20.0
        """,
    )


def grid_sweep(folder: Path, *, name: str = "grid", replications: int = 2, extra: str = "") -> Path:
    """A 2 × 2 grid over demand and ambulances on the grid city: 4 variants."""
    grid_base(folder)
    return write(
        folder,
        f"{name}.toml",
        f"""
        [sweep]
        name = "{name}"
        scenario = "base.toml"
        replications = {replications}
        [vary]
        "demand.scale" = [0.5, 1.0]
        emergency.units.ambulances_per_hospital = {{ range = [1, 2] }}
        {textwrap.dedent(extra)}
        """,
    )


def run_folders(out: Path) -> list[Path]:
    """Every run folder of a sweep folder (visible ones), sorted."""
    return sorted(p for p in (out / "runs").glob("*/*") if not p.name.startswith("."))


def assert_same_runs(a: Path, b: Path) -> int:
    """Two sweep folders hold the same runs, byte for byte: every table and ``kpis.json``
    identical, and the manifests identical but for their creation time and timers.
    Returns the number of runs compared."""
    runs_a = [p.relative_to(a) for p in run_folders(a)]
    runs_b = [p.relative_to(b) for p in run_folders(b)]
    assert runs_a == runs_b and runs_a
    for run in runs_a:
        names = sorted(p.name for p in (a / run).iterdir())
        assert names == sorted(p.name for p in (b / run).iterdir())
        for name in names:
            if name == "manifest.json":
                continue
            assert (a / run / name).read_bytes() == (b / run / name).read_bytes(), (run, name)
        ma, mb = (json.loads((f / run / "manifest.json").read_text()) for f in (a, b))
        for manifest in (ma, mb):
            manifest.pop("created")
            manifest.pop("timers_s", None)
        assert ma == mb, run
    return len(runs_a)
