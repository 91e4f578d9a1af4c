"""Every shipped scenario runs on Huế, with a light demand (run on purpose: ``-m slow``).

Two shipped scenarios once compiled and could not run (an event the world refused, a
flood whose stranded tourists stopped the run); compiling is not enough.
"""

from __future__ import annotations

import json

import pytest

from scenarios.files import library_names
from twin.cli import main

#: Light enough for a day in about 15 s, heavy enough that every part meets its closures.
LIGHT = ["demand.scale=0.03", "tourists.demand.tourists_per_day=500"]


@pytest.mark.slow
@pytest.mark.hue
@pytest.mark.parametrize("name", library_names())
def test_a_shipped_scenario_runs_on_huế(name, hue_city, tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_RUNS_DIR", str(tmp_path / "catalog"))
    out = tmp_path / "run"
    argv = ["run", name, "--no-progress", "-o", str(out)]
    for setting in LIGHT:
        argv += ["--set", setting]
    assert main(argv) == 0
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["trips_completed"] > 0 and kpis["visits_total"] > 0
    # closures strand a few trips, never most of them
    assert kpis["trips_unroutable"] < 0.05 * kpis["trips_completed"]
