"""``twin run`` end to end on a small city: outputs, summary, bad input, atomic folders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.spec import RunSpec
from tests.sim.test_outputs import grid_trips
from twin.bundle import read_bundle, write_bundle
from twin.cli import main
from twin.commands.run import format_summary


@pytest.fixture
def city_file(grid, tmp_path):
    """A bundle of the grid city."""
    return write_bundle(grid, tmp_path / "grid.twin")


@pytest.fixture
def trips_csv(grid, tmp_path):
    trips = grid_trips(grid, n=25)
    table = pd.DataFrame(
        {
            "origin": grid.drive.node_id[trips["origin"]],
            "destination": grid.drive.node_id[trips["destination"]],
            "depart": [f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:{int(s % 60):02d}"
                       for s in trips["depart"]],
            "vehicle_class": trips["vehicle_class"],
        }
    )  # fmt: skip
    path = tmp_path / "trips.csv"
    table.to_csv(path, index=False)
    return path


def _args(city_file, trips_csv, out, *extra):
    return [
        "run",
        "--city", str(city_file),
        "--trips", str(trips_csv),
        "--start", "06:00",
        "--end", "07:00",
        "--seed", "3",
        "--no-tourists",
        "--no-emergency",
        "-o", str(out),
        *extra,
    ]  # fmt: skip


def test_run_end_to_end(
    city_file,
    trips_csv,
    tmp_path,
    capsys,
):
    out = tmp_path / "run"
    assert main(_args(city_file, trips_csv, out)) == 0
    captured = capsys.readouterr()
    assert "Traffic" in captured.out and "trips" in captured.out
    assert "06:00-07:00" in captured.out
    assert sorted(p.name for p in out.iterdir()) == [
        "kpis.json",
        "kpis.parquet",
        "links.parquet",
        "manifest.json",
        "trips.parquet",
    ]
    trips = pd.read_parquet(out / "trips.parquet")
    source = pd.read_csv(trips_csv)
    assert len(trips) == 25
    # the trips table names nodes by the ids of the CSV, and times are seconds after midnight
    assert set(trips["origin"]) == set(source["origin"])
    assert trips["depart"].between(6 * 3600, 7 * 3600).all()
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["trips_total"] == 25
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"]["seed"] == 3
    assert manifest["spec"]["trips"]["path"] == str(trips_csv)
    assert manifest["spec"]["window"]["start"] == "06:00:00"
    assert f"digest {manifest['digest']}" in captured.out


def test_same_seed_same_trips_file(
    city_file,
    trips_csv,
    tmp_path,
):
    assert main(_args(city_file, trips_csv, tmp_path / "a")) == 0
    assert main(_args(city_file, trips_csv, tmp_path / "b")) == 0
    a = pd.read_parquet(tmp_path / "a" / "trips.parquet")
    b = pd.read_parquet(tmp_path / "b" / "trips.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_unknown_nodes_exit_1_with_a_clear_message(city_file, grid, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("origin,destination,depart\n1,2,06:10\n999999,3,06:20\n")
    out = tmp_path / "run"
    assert main(_args(city_file, path, out)) == 1
    err = capsys.readouterr().err
    assert "twin run: error:" in err
    assert "999999" in err or "unknown" in err.lower()
    assert not out.exists()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("07:00", "06:00", "not after --start"), ("06:00", "06:00", "not after"),
     ("6h", "07:00", "not a time"), ("06:00", "49:00", "later than 48:00:00")],
)  # fmt: skip
def test_bad_window_exit_1(city_file, trips_csv, tmp_path, capsys, start, end, message):
    args = _args(city_file, trips_csv, tmp_path / "run")
    args[args.index("--start") + 1] = start
    args[args.index("--end") + 1] = end
    assert main(args) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_existing_run_dir_refused_before_running(
    city_file, trips_csv, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    ran = []
    monkeypatch.setattr("sim.run_day.run_day", lambda *a, **k: ran.append(1))
    assert main(_args(city_file, trips_csv, out)) == 1
    assert "--force" in capsys.readouterr().err
    assert ran == []
    assert (out / "old.txt").read_text() == "keep me"


def test_force_replaces_an_earlier_run_only(city_file, trips_csv, tmp_path):
    out = tmp_path / "run"
    assert main(_args(city_file, trips_csv, out)) == 0
    first = (out / "manifest.json").read_text()
    assert main([*_args(city_file, trips_csv, out), "--seed", "4", "--force"]) == 0
    assert (out / "manifest.json").read_text() != first
    inside = tmp_path / "inside"
    inside.mkdir()
    bundle = write_bundle(read_bundle(city_file), inside / "grid.twin")
    assert main(_args(bundle, trips_csv, inside, "--force")) == 1  # holds the input bundle
    assert bundle.is_file()


def test_failure_mid_run_leaves_no_run_dir(
    city_file,
    trips_csv,
    tmp_path,
    monkeypatch,
):
    def explode(self, until):
        def boom():
            yield self.env.timeout(900)
            raise RuntimeError("engine failed mid-run")

        return self.env.process(boom())

    from sim.traffic.engine import Traffic

    monkeypatch.setattr(Traffic, "start", explode)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="mid-run"):
        main(_args(city_file, trips_csv, out))
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_summary_puts_the_three_parts_side_by_side():
    kpis = {
        "trips_total": 1000, "trips_completed": 990, "trips_unfinished": 10,
        "vehicle_km": 4321.0, "vehicle_hours": 150.0, "mean_speed_kmh": 28.8,
        "total_delay_h": 12.0, "tourists_total": 50, "visits_total": 120,
        "gate_wait_mean_s": 30.0, "gate_wait_p90_s": 95.0, "visits_missed": 2,
        "incidents_total": 7, "response_time_mean_s": 410.0,
        "response_time_median_s": 380.0, "response_time_p90_s": 700.0,
        "share_within_8min": 0.71, "share_within_15min": 1.0, "calls_waited": 0,
        "mean_speed_kmh_nan": np.nan,
    }  # fmt: skip
    text = format_summary(kpis, city_name="Huế", start=21600, end=36000)
    lines = text.splitlines()
    assert lines[0] == "Huế 06:00-10:00"
    header = lines[1]
    assert header.index("Traffic") < header.index("Tourists") < header.index("Emergency")
    assert "71%" in text and "4,321" in text
    only_traffic = format_summary({k: kpis[k] for k in list(kpis)[:7]})
    assert "Tourists" not in only_traffic and "Emergency" not in only_traffic


def test_default_run_includes_tourists_and_emergency(city_file, trips_csv, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        a for a in _args(city_file, trips_csv, out) if a not in ("--no-tourists", "--no-emergency")
    ]
    args[args.index("--end") + 1] = "08:00"
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Tourists" in text and "Emergency" in text
    names = sorted(p.name for p in out.iterdir())
    assert "visits.parquet" in names and "incidents.parquet" in names
    kpis = json.loads((out / "kpis.json").read_text())
    for key in (
        "tourists_total", "visits_total", "gate_wait_mean_s", "gate_wait_p90_s",
        "visits_missed", "incidents_total", "response_time_mean_s", "response_time_median_s",
        "response_time_p90_s", "share_within_8min", "share_within_15min", "calls_waited",
    ):  # fmt: skip
        assert key in kpis, key
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"]["parts"] == {
        "traffic": "simulate",
        "tourists": True,
        "emergency": True,
    }
    visits = pd.read_parquet(out / "visits.parquet")
    assert len(visits) > 0
    assert visits["arrive"].dropna().between(6 * 3600, 8 * 3600).all()  # seconds after midnight


def test_dry_run_prints_the_resolved_spec_and_its_digest(city_file, tmp_path, capsys):
    args = [
        "run", "--city", str(city_file), "--start", "06:00", "--end", "07:00", "--seed", "5",
        "--set", "demand.scale=1.2", "--set", "emergency.units.ambulances_per_hospital=3",
        "--set", "traffic.refresh_s=120", "--close", "way/1@06:30-06:45", "--dry-run",
    ]  # fmt: skip
    grid = read_bundle(city_file)
    grid.drive.osm_way[:] = -1  # name one road by way id
    grid.drive.osm_way[:2] = 1
    write_bundle(grid, city_file)
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("digest: ")
    spec = RunSpec.from_toml("\n".join(lines[:-1]))
    assert spec.digest == lines[-1].removeprefix("digest: ")
    assert spec.parameters["demand"]["scale"] == 1.2
    assert spec.parameters["emergency"]["units"]["ambulances_per_hospital"] == 3
    assert spec.parameters["traffic"]["refresh_s"] == 120.0
    assert {s.units for s in spec.stations if s.unit_type == "ambulance"} == {3}
    (closure,) = spec.interventions
    assert (closure.start, closure.until) == (6.5 * 3600, 6.75 * 3600)
    assert len(closure.edges) == 2
    assert not list(tmp_path.glob("run*"))  # nothing ran, nothing written


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "emergency.units.ambulances_per_hospitl=3",
            "did you mean 'emergency.units.ambulances_per_hospital'",
        ),
        ("demnd.scale=1.2", "did you mean 'demand'"),
        ("demand.scale=-1", "(0, 100]"),
        ("traffic.refresh_s=fast", "is not a number"),
        ("demand.scale", "KEY=VALUE"),
    ],
)  # fmt: skip
def test_bad_settings_are_clear_errors(city_file, tmp_path, capsys, setting, message):
    args = ["run", "--city", str(city_file), "--set", setting, "-o", str(tmp_path / "run")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("twin run: error:") and message in err
    assert not (tmp_path / "run").exists()


def test_spec_file_runs_as_written(city_file, tmp_path, capsys):
    assert main(["run", "--city", str(city_file), "--end", "06:30", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text("\n".join(lines[:-1]), encoding="utf-8")
    out = tmp_path / "run"
    args = ["run", "--city", str(city_file), "--spec", str(spec_file), "--no-progress"]
    assert main([*args, "-o", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["digest"] == lines[-1].removeprefix("digest: ")
    assert main([*args, "--seed", "2", "-o", str(tmp_path / "other")]) == 1
    assert "--seed cannot change it" in capsys.readouterr().err


def test_empty_road_selector_is_an_error(city_file, tmp_path, capsys):
    for selector in ("", "  ", "@07:30"):
        args = ["run", "--city", str(city_file), "--close", selector, "-o", str(tmp_path / "r")]
        assert main(args) == 1
        assert "empty" in capsys.readouterr().err
