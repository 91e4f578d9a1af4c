"""``twin coverage`` and ``twin site`` on the grid city saved as a bundle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.result import RunResult
from sim.spec_builder import build_spec
from twin.bundle import write_bundle
from twin.cli import main
from twin.synthetic import grid_city


@pytest.fixture(scope="module")
def grid_bundle(tmp_path_factory):
    return write_bundle(grid_city(), tmp_path_factory.mktemp("city") / "grid.twin")


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_coverage_json_and_zone_table(grid_bundle, tmp_path, capsys):
    zones_csv = tmp_path / "out" / "zones.csv"
    argv = ["coverage", "--city", str(grid_bundle), "--free-flow", "--minutes", "1"]
    out = _json(capsys, [*argv, "--json", "--zones-csv", str(zones_csv)])
    # 1 minute = 3 blocks from the hospital at node 0: 10 of 25 equally populated nodes
    assert out["share_by_hour"] == pytest.approx([0.4] * 24)
    assert out["stations"] == 1 and out["unit_type"] == "ambulance"
    table = pd.read_csv(zones_csv)
    assert list(table.columns) == ["zone", "name", "hour", "share", "population"]
    assert len(table) == 4 * 24
    assert table.loc[table["zone"] == 0, "share"].to_numpy() == pytest.approx(8 / 9)
    # the human-readable form
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "40.0 %" in text and "08:00" in text


def test_coverage_from_a_run_folder(grid_bundle, tmp_path, capsys):
    from sim.outputs import write_run

    city = grid_city()
    out_of_0 = np.arange(city.drive.indptr[0], city.drive.indptr[1])
    links = pd.DataFrame(
        {
            "edge_id": city.drive.edge_id[out_of_0],
            "exits": 5,
            "interval_start": 8 * 3600.0,
            "entries": 5,
            "mean_speed_kmh": 3.6,
            "density_pcu_per_km": 0.0,
            "queue_pcu": 0.0,
        }
    )
    spec = build_spec(city, seed=0)
    no_trips = pd.DataFrame({"trip_id": [], "origin": [], "destination": [], "depart": []})
    no_trips = no_trips.assign(arrive=[], travel_time=[], distance=[], delay=[], vehicle_class=[])
    result = RunResult(spec=spec, trips=no_trips, links=links, kpis={}, manifest={})
    run_dir = write_run(result, tmp_path / "run")
    argv = ["coverage", "--city", str(grid_bundle), "--run", str(run_dir), "--minutes", "1"]
    shares = _json(capsys, [*argv, "--json"])["share_by_hour"]
    assert shares[8] == pytest.approx(1 / 25)  # the hospital is cut off at 08:00
    assert shares[7] == shares[9] == pytest.approx(0.4)


def test_coverage_of_a_simulated_day(grid_bundle, tmp_path, capsys):
    saved = tmp_path / "day"
    argv = ["coverage", "--city", str(grid_bundle), "--seed", "3", "--scale", "0.1"]
    argv += ["--no-tourists", "--json", "--save-run", str(saved)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)  # stdout holds only the JSON
    assert "simulated day" in out["congestion"]
    assert all(0 < s <= 1 for s in out["share_by_hour"])
    assert "simulating a day" in captured.err  # progress on stderr
    # the kept day gives the same answer without simulating again
    again = _json(capsys, ["coverage", "--city", str(grid_bundle), "--run", str(saved), "--json"])
    assert again["share_by_hour"] == out["share_by_hour"]
    site = ["site", "--add", "1", "--city", str(grid_bundle), "--run", str(saved), "--days", "1"]
    assert _json(capsys, [*site, "--json"])["congestion"] == f"run {saved}"
    # a used folder is refused before anything runs
    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err


def test_site_proposes_and_checks_by_simulation(grid_bundle, capsys):
    argv = [
        "site",
        "--add",
        "1",
        "--type",
        "ambulance",
        "--city",
        str(grid_bundle),
        "--free-flow",
        "--minutes",
        "1",
        "--days",
        "2",
        "--params",
    ]
    params = grid_bundle.parent / "busy.toml"
    params.write_text(
        "[demand]\nmedical_per_1000_residents_per_day = 6.0\n"
        "[response]\ndispatch_delay_s = 0\nturnout_s = 0\n",
        encoding="utf-8",
    )
    out = _json(capsys, [*argv, str(params), "--json", "--exact"])
    assert len(out["proposed"]) == 1
    site = out["proposed"][0]
    assert {"node", "x", "y", "lon", "lat"} <= set(site)
    assert site["node"] != 0
    assert out["objective_after"] > out["objective_before"]
    assert out["simulated_calls"] > 50
    assert out["share_within_8min_after"] >= out["share_within_8min_before"]
    assert out["share_within_minutes_after"] > out["share_within_minutes_before"]
    # greedy, text output, progress on stderr
    assert main([*argv, str(params), "--model", "mexclp"]) == 0
    captured = capsys.readouterr()
    assert "new ambulance station" in captured.out
    assert "simulating" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["coverage", "--type", "helicopter", "--free-flow"], "unknown unit type"),
        (["coverage", "--minutes", "-3", "--free-flow"], "--minutes"),
        (["site", "--add", "0", "--free-flow"], "--add must be at least 1"),
        (["site", "--add", "1", "--units", "0", "--free-flow"], "at least 1 unit"),
        (["site", "--add", "99", "--free-flow", "--days", "0"], "cannot add 99"),
        (["site", "--add", "1", "--minutes", "2", "--free-flow"], "leaves no time to drive"),
        (["site", "--add", "1", "--type", "boat", "--free-flow"], "unknown unit type"),
    ],
)
def test_bad_input_gives_a_clear_error(grid_bundle, capsys, argv, message):
    assert main([*argv, "--city", str(grid_bundle)]) == 1
    assert message in capsys.readouterr().err


def test_no_stations_of_the_type(tmp_path, capsys):
    city = grid_city()
    pois = city.pois[city.pois["category"] != "fire_station"].reset_index(drop=True)
    from dataclasses import replace

    path = write_bundle(replace(city, pois=pois), tmp_path / "nofire.twin")
    argv = ["coverage", "--city", str(path), "--type", "fire_engine", "--free-flow"]
    assert main(argv) == 1
    assert "twin site --add K --type fire_engine" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.hue
def test_site_on_huế(hue_city, capsys):
    argv = ["site", "--add", "2", "--free-flow", "--days", "2", "--candidates", "150", "--json"]
    out = _json(capsys, argv)
    assert len(out["proposed"]) == 2
    assert out["share_within_8min_after"] > out["share_within_8min_before"]
