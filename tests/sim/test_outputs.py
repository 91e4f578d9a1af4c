"""write_run / read_run: contract columns and types, checksums, atomic folders."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim.outputs
from sim.outputs import RunDirError, read_run, write_run
from sim.records import SCHEMAS
from sim.result import RunResult
from sim.run_day import run_day
from sim.runner import TRAFFIC_KPIS
from twin.synthetic import grid_city

KPI_KEYS = set(TRAFFIC_KPIS)
TRIP_COLUMNS = SCHEMAS["trips"].names


def grid_trips(city, n=40, *, start=6 * 3600.0, end=6.5 * 3600.0, seed=3):
    rng = np.random.default_rng(seed)
    origin = rng.integers(0, city.drive.n_nodes, n)
    destination = (origin + rng.integers(1, city.drive.n_nodes, n)) % city.drive.n_nodes
    return pd.DataFrame(
        {
            "origin": origin,
            "destination": destination,
            "depart": np.sort(rng.uniform(start, end, n)),
            "vehicle_class": "car",
        }
    )


@pytest.fixture
def result(grid):
    trips = grid_trips(grid, n=30)
    # the last trips depart too late to arrive: the window ends before them
    trips.loc[trips.index[-3:], "depart"] = 7 * 3600.0 - 5
    return run_day(
        grid,
        trips=trips,
        seed=2,
        start=6 * 3600.0,
        end=7 * 3600.0,
        tourists=False,
        emergency=False,
    )


def test_trips_parquet_has_exactly_the_contract_columns_and_types(result, tmp_path):
    run_dir = write_run(result, tmp_path / "run")
    schema = pq.read_schema(run_dir / "trips.parquet")
    assert schema.names == list(TRIP_COLUMNS)
    types = {name: str(schema.field(name).type) for name in schema.names}
    assert types["origin"] == types["destination"] == "int64"
    for name in ("depart", "arrive", "travel_time", "distance", "delay"):
        assert types[name] == "double", name
    assert types["vehicle_class"] in ("string", "large_string")
    table = pq.read_table(run_dir / "trips.parquet")
    arrive = table.column("arrive")
    unfinished = int(result.trips["arrive"].isna().sum())
    assert unfinished >= 3
    assert arrive.null_count == unfinished  # unfinished trips: null, not NaN
    links = pq.read_schema(run_dir / "links.parquet")
    for name in (
        "edge_id",
        "interval_start",
        "entries",
        "mean_speed_kmh",
        "density_pcu_per_km",
        "queue_pcu",
    ):
        assert name in links.names, name
    assert str(links.field("edge_id").type) == "int64"
    written = set(pq.read_table(run_dir / "links.parquet").column("edge_id").to_pylist())
    assert written and written <= set(grid_city().drive.edge_id.tolist())


def test_kpis_and_manifest(result, tmp_path):
    run_dir = write_run(result, tmp_path / "run")
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "kpis.json",
        "kpis.parquet",
        "links.parquet",
        "manifest.json",
        "trips.parquet",
    ]
    long = pd.read_parquet(run_dir / "kpis.parquet")
    assert list(long.columns) == ["kpi", "domain", "unit", "value"]
    assert long.set_index("kpi").loc["trips_total", "value"] == 30
    kpis = json.loads((run_dir / "kpis.json").read_text())
    assert set(kpis) >= KPI_KEYS
    assert kpis["trips_total"] == 30
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == {
        "trips.parquet",
        "links.parquet",
        "kpis.parquet",
        "kpis.json",
    }
    for name, info in manifest["files"].items():
        digest = hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
        assert info["sha256"] == digest
    assert manifest["files"]["trips.parquet"]["rows"] == 30
    assert manifest["spec"]["seed"] == 2
    assert manifest["digest"] == result.spec.digest
    assert manifest["city"]["checksum"] == result.spec.city.checksum
    assert "created" in manifest and manifest["code"]["code_sha256"]


def test_read_run_round_trip_and_verification(result, tmp_path):
    run_dir = write_run(result, tmp_path / "run")
    back = read_run(run_dir)
    assert isinstance(back, RunResult)
    assert back.spec == result.spec and back.spec.digest == result.spec.digest
    pd.testing.assert_frame_equal(back.trips, result.trips, check_dtype=False)
    assert back.kpis["trips_total"] == result.kpis["trips_total"]
    assert back.visits is None and back.incidents is None
    # a changed file is caught
    (run_dir / "kpis.json").write_text("{}")
    with pytest.raises(RunDirError, match="sha256"):
        read_run(run_dir)
    with pytest.raises(RunDirError, match="not a run folder"):
        read_run(tmp_path)


def test_existing_folder_is_refused_unless_forced(result, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not empty"):
        write_run(result, run_dir)
    with pytest.raises(RunDirError, match="other than an earlier run"):
        write_run(result, run_dir, force=True)  # --force replaces only an earlier run
    assert (run_dir / "notes.txt").read_text() == "mine"
    (run_dir / "notes.txt").unlink()
    write_run(result, run_dir)
    write_run(result, run_dir, force=True)  # an earlier run: replaced
    assert (run_dir / "manifest.json").is_file()
    # an existing empty folder is fine without force
    empty = tmp_path / "empty"
    empty.mkdir()
    write_run(result, empty)
    assert (empty / "trips.parquet").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_write_leaves_no_run_dir(result, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = sim.outputs._write_json

    def fail_on_manifest(data, path):
        calls["n"] += 1
        if path.name == "manifest.json":
            raise OSError("disk full")
        return original(data, path)

    monkeypatch.setattr(sim.outputs, "_write_json", fail_on_manifest)
    with pytest.raises(OSError, match="disk full"):
        write_run(result, tmp_path / "run")
    assert calls["n"] == 2
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary sibling


def test_failed_forced_write_keeps_the_old_folder(result, tmp_path, monkeypatch):
    run_dir = write_run(result, tmp_path / "run")
    before = (run_dir / "manifest.json").read_text()
    monkeypatch.setattr(
        sim.outputs, "_fsync_dir", lambda folder: (_ for _ in ()).throw(OSError("io error"))
    )
    with pytest.raises(OSError, match="io error"):
        write_run(result, run_dir, force=True)
    assert (run_dir / "manifest.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_run_leaves_no_run_dir(grid, tmp_path, monkeypatch):
    from sim.traffic.engine import Traffic

    def explode(self, until):
        def boom():
            yield self.env.timeout(600)
            raise RuntimeError("kernel failed mid-run")

        return self.env.process(boom())

    monkeypatch.setattr(Traffic, "start", explode)
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="mid-run"):
        result = run_day(
            grid, trips=grid_trips(grid), seed=1, start=6 * 3600.0, end=7 * 3600.0,
            tourists=False, emergency=False,
        )  # fmt: skip
        write_run(result, run_dir)
    assert not run_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_nan_kpis_are_written_as_null(result, tmp_path):
    kpis = {**result.kpis, "mean_speed_kmh": float("nan"), "extra": np.float32(2.5)}
    odd = RunResult(
        spec=result.spec,
        trips=result.trips,
        links=result.links,
        kpis=kpis,
        manifest=result.manifest,
    )
    run_dir = write_run(odd, tmp_path / "run")
    loaded = json.loads((run_dir / "kpis.json").read_text())
    assert loaded["mean_speed_kmh"] is None
    assert loaded["extra"] == 2.5
