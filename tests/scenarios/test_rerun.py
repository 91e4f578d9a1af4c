"""Running a run folder's specification again reproduces its KPIs exactly."""

from __future__ import annotations

import json
import math

import pytest

from scenarios.catalog import list_runs, run_id_of
from scenarios.rerun import ReproducibilityError, compare_kpis, rerun
from sim.outputs import RunDirError
from tests.scenarios.runs import clone_run, edit_manifest
from twin.cli import main
from twin.errors import SourceNotFoundError


def _flat_count(kpis: dict) -> int:
    return sum(len(v) if isinstance(v, dict) else 1 for v in kpis.values())


def test_a_rerun_gives_identical_kpis(run_dir, tmp_path):
    report = rerun(run_dir, output=tmp_path / "again")
    recorded = json.loads((run_dir / "kpis.json").read_text())
    assert report.identical and report.differences == {}
    assert report.compared == _flat_count(recorded) > 50
    assert report.digest == json.loads((run_dir / "manifest.json").read_text())["digest"]
    assert not report.code_changed
    report.check()  # does not raise
    # the new folder holds the same tables, to the byte
    assert report.output == tmp_path / "again"
    for name in ("trips.parquet", "links.parquet", "incidents.parquet", "kpis.json"):
        assert (report.output / name).read_bytes() == (run_dir / name).read_bytes(), name


def test_compare_kpis_names_each_value_that_differs():
    recorded = {"trips_completed": 10, "mean_speed_kmh": None, "co2_kg_by_class": {"car": 1.5}}
    now = {
        "trips_completed": 10,
        "mean_speed_kmh": math.nan,  # NaN is what kpis.json writes as null
        "co2_kg_by_class": {"car": 1.5000000000000002, "bus": 0.0},
    }
    differences, compared = compare_kpis(recorded, now)
    assert differences == {
        "co2_kg_by_class.car": (1.5, 1.5000000000000002),
        "co2_kg_by_class.bus": (None, 0.0),
    }
    assert compared == 4


def test_twin_rerun_checks_and_registers_the_new_run(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TWIN_RUNS_DIR", str(tmp_path / "catalog"))
    out = tmp_path / "again"
    assert main(["rerun", str(run_dir), "-o", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    original = run_id_of(run_dir, root=tmp_path / "catalog")
    assert f"run {original}" in printed
    assert "KPI values identical" in printed
    table = list_runs(tmp_path / "catalog")
    assert table["path"].tolist() == [str(out)]
    assert table.loc[0, "scenario"] == "rerun"
    assert table.loc[0, "rerun_of"] == original


def test_different_kpis_exit_1_naming_them(run_dir, tmp_path, capsys):
    folder = clone_run(run_dir, tmp_path / "run", created="2026-01-01T00:00:00+00:00")
    kpis = json.loads((folder / "kpis.json").read_text())
    kpis["trips_completed"] += 1
    kpis["co2_kg_by_class"]["car"] = 0.0
    (folder / "kpis.json").write_text(json.dumps(kpis))
    assert main(["rerun", str(folder), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("twin rerun: error:")
    assert "2 of" in err and "trips_completed" in err and "co2_kg_by_class.car" in err
    assert "not deterministic" in err  # same code: the hint says so
    with pytest.raises(ReproducibilityError) as info:
        rerun(folder).check()
    assert isinstance(info.value, RuntimeError)


def test_changed_code_is_named_as_the_likely_cause(run_dir, tmp_path):
    folder = clone_run(run_dir, tmp_path / "run", created="2026-01-01T00:00:00+00:00")
    manifest = json.loads((folder / "manifest.json").read_text())
    edit_manifest(folder, code={**manifest["code"], "code_sha256": "0" * 64})
    kpis = json.loads((folder / "kpis.json").read_text())
    kpis["mean_speed_kmh"] = 1.0
    (folder / "kpis.json").write_text(json.dumps(kpis))
    report = rerun(folder)
    assert report.code_changed and list(report.differences) == ["mean_speed_kmh"]
    with pytest.raises(ReproducibilityError, match="the code has changed"):
        report.check()


def test_a_city_bundle_that_moved_is_given_with_city(run_dir, grid_bundle, tmp_path):
    folder = clone_run(run_dir, tmp_path / "run", created="2026-01-01T00:00:00+00:00")
    manifest = json.loads((folder / "manifest.json").read_text())
    spec = manifest["spec"]
    spec["city"]["bundle"] = str(tmp_path / "gone.twin")
    edit_manifest(folder, spec=spec)
    with pytest.raises(SourceNotFoundError, match="--city"):
        rerun(folder)
    assert rerun(folder, city=grid_bundle).identical


def test_not_a_run_folder(tmp_path, capsys):
    with pytest.raises(RunDirError, match=r"manifest\.json is missing"):
        rerun(tmp_path)
    assert main(["rerun", str(tmp_path), "--no-progress"]) == 1
    assert "not a run folder" in capsys.readouterr().err
