"""What is not an error but must not pass in silence: a run that cannot do all it was asked
says so beside its KPIs (``warning: ...``, and ``notes`` in kpis.json), once; a run used for
coverage outside its window is free flow, and said so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.workspace import write
from twin.cli import main

BARE_TRIPS = """\
origin,destination,depart
101,104,06:05:00
104,101,06:10:00
103,101,06:12:00
"""


def _run(argv, capsys) -> tuple[list[str], dict]:
    assert main([*argv, "--no-progress"]) == 0
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    kpis = json.loads((Path(argv[argv.index("-o") + 1]) / "kpis.json").read_text())
    return warnings, kpis


def test_a_city_without_services_runs_and_says_what_was_left_out(workspace, capsys):
    write(workspace / "bare.csv", BARE_TRIPS)
    argv = ["run", "--city", "bare.twin", "--trips", "bare.csv", "--start", "06:00"]
    argv += ["--end", "06:30", "--close", "Cầu Trường Tiền@07:00", "-o", "r"]
    warnings, kpis = _run(argv, capsys)
    assert kpis["trips_completed"] == 3
    said = "\n".join(warnings)
    assert said.count("tourists not simulated") == 1
    assert said.count("emergency not simulated") == 1  # one note for the part, not per kind
    assert "incidents not simulated" not in said
    assert "starts at 07:00:00, after the window ends at 06:30:00: it had no effect" in said
    assert [f"warning: {note}" for note in kpis["notes"]] == warnings


def test_a_window_in_which_no_trip_departs(workspace, capsys):
    write(workspace / "none.csv", "origin,destination,depart\n")
    argv = ["run", "--city", "city.twin", "--trips", "none.csv", "--start", "06:00"]
    argv += ["--end", "06:30", "--no-tourists", "--no-emergency", "-o", "r"]
    warnings, kpis = _run(argv, capsys)
    assert kpis["trips_total"] == 0
    assert warnings == [
        "warning: no trip departs between 06:00:00 and 06:30:00: the traffic is empty; "
        "widen the window or check the trips"
    ]


def test_a_road_only_osm_city_runs(workspace, capsys):
    assert main(["build", "roads.osm", "-o", "roads.twin", "--population", "500"]) == 0
    capsys.readouterr()
    argv = ["run", "--city", "roads.twin", "--start", "07:00", "--end", "07:15", "-o", "r"]
    warnings, kpis = _run(argv, capsys)
    assert kpis["trips_total"] > 0
    said = "\n".join(warnings)
    assert "tourists not simulated" in said and "emergency not simulated" in said


def test_coverage_outside_the_window_of_its_run_is_free_flow(workspace, capsys):
    argv = ["coverage", "--city", "city.twin", "--minutes", "1", "--json"]
    assert main([*argv, "--run", "run"]) == 0
    from_run = json.loads(capsys.readouterr().out)
    assert main([*argv, "--free-flow"]) == 0
    free = json.loads(capsys.readouterr().out)
    assert "its window 06:00:00-06:30:00; free flow in the other hours" in from_run["congestion"]
    outside = [h for h in range(24) if h != 6]
    assert [from_run["share_by_hour"][h] for h in outside] == pytest.approx(
        [free["share_by_hour"][h] for h in outside]
    )


def test_a_road_only_osm_city_gets_its_first_station(workspace, capsys):
    """Without hospitals, twin site proposes the first ambulance station, and its check by
    simulation says that before it no call was reached."""
    assert main(["build", "roads.osm", "-o", "roads.twin", "--population", "20000"]) == 0
    capsys.readouterr()
    argv = ["site", "--city", "roads.twin", "--free-flow", "--add", "1", "--days", "1"]
    assert main([*argv, "--json", "--seed", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["existing_stations"] == 0 and len(out["proposed"]) == 1
    assert out["simulated_calls"] > 0
    assert out["share_within_minutes_before"] == 0
    assert out["share_within_minutes_after"] > 0
