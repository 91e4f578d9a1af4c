"""``twin run`` end to end on a small city: outputs, summary, bad input, atomic folders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.sim.test_run import grid_trips, traffic_engine  # noqa: F401  (fixture)
from twin.cli import main
from twin.commands.run import format_summary


@pytest.fixture
def city_file(grid, tmp_path, monkeypatch):
    """A bundle of the grid city: saved with twin.bundle when it exists, else the loader is
    pointed at the grid city."""
    path = tmp_path / "grid.twin"
    try:
        from twin.bundle import write_bundle
    except ImportError:
        path.write_bytes(b"")
        monkeypatch.setattr("twin.build.pipeline.load_city", lambda p: grid)
    else:
        write_bundle(grid, path)
    return path


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


def test_run_end_to_end(city_file, trips_csv, tmp_path, capsys, traffic_engine):  # noqa: F811
    out = tmp_path / "run"
    assert main(_args(city_file, trips_csv, out)) == 0
    captured = capsys.readouterr()
    assert "Traffic" in captured.out and "trips" in captured.out
    assert "06:00-07:00" in captured.out
    assert sorted(p.name for p in out.iterdir()) == [
        "kpis.json",
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
    assert manifest["seed"] == 3
    assert manifest["trips"]["source"] == str(trips_csv)
    assert manifest["window"]["start_clock"] == "06:00:00"


def test_same_seed_same_trips_file(city_file, trips_csv, tmp_path, traffic_engine):  # noqa: F811
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
    monkeypatch.setattr("sim.runner.run_day", lambda *a, **k: ran.append(1))
    assert main(_args(city_file, trips_csv, out)) == 1
    assert "--force" in capsys.readouterr().err
    assert ran == []
    assert (out / "old.txt").read_text() == "keep me"


def test_force_replaces(city_file, trips_csv, tmp_path, traffic_engine):  # noqa: F811
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert main([*_args(city_file, trips_csv, out), "--force"]) == 0
    assert not (out / "old.txt").exists()
    assert (out / "manifest.json").is_file()


def test_failure_mid_run_leaves_no_run_dir(
    city_file,
    trips_csv,
    tmp_path,
    traffic_engine,  # noqa: F811
    monkeypatch,
):
    def explode(self, until):
        def boom():
            yield self.env.timeout(900)
            raise RuntimeError("engine failed mid-run")

        return self.env.process(boom())

    monkeypatch.setattr(traffic_engine, "start", explode)
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
    assert manifest["parts"] == {"traffic": True, "tourists": True, "emergency": True}
    visits = pd.read_parquet(out / "visits.parquet")
    assert len(visits) > 0
    assert visits["arrive"].dropna().between(6 * 3600, 8 * 3600).all()  # seconds after midnight
