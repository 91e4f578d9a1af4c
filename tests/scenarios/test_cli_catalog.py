"""``twin run`` registers its run; ``twin runs`` and ``twin query`` read the catalog."""

from __future__ import annotations

import io
import json
import shutil

import pandas as pd
import pytest

from scenarios.catalog import list_runs, register_run
from tests.scenarios.runs import SMALL, clone_run
from twin.cli import main


@pytest.fixture
def root(tmp_path, monkeypatch):
    """The results root of these tests, as the setting names it."""
    path = tmp_path / "results"
    monkeypatch.setenv("TWIN_RUNS_DIR", str(path))
    return path


def test_twin_run_registers_its_run(grid_bundle, root, capsys):
    out = root / "morning"
    settings = [arg for item in SMALL for arg in ("--set", item)]
    args = ["run", "--city", str(grid_bundle), "--start", "06:00", "--end", "06:30", *settings]
    assert main([*args, "--seed", "4", "--no-progress", "-o", str(out)]) == 0
    table = list_runs(root)
    assert table["path"].tolist() == [str(out)]
    run_id = table.loc[0, "run_id"]
    assert table.loc[0, "scenario"] == "run" and table.loc[0, "seed"] == 4
    assert f"run {run_id} in the catalog" in capsys.readouterr().out

    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["run", "id", "scenario", "digest"]
    kpis = json.loads((out / "kpis.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    cells = lines[1].split()
    assert cells[:4] == [run_id, "run", manifest["digest"][:12], "4"]
    assert f"{kpis['trips_completed']:,.0f}" in cells
    assert f"{kpis['mean_speed_kmh']:.1f}" in cells

    assert main(["runs", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["run_id"] == run_id and listed["digest"] == manifest["digest"]
    assert listed["created"] == manifest["created"] and listed["seed"] == 4
    assert listed["wall_s"] == manifest["timers_s"]["total"]
    assert listed["kpis"]["trips_completed"] == kpis["trips_completed"]
    assert listed["kpis"]["response_time_mean_s"] == kpis["response_time_mean_s"]
    assert listed["labels"] == {"scenario": "run"}


@pytest.fixture
def three_runs(run_dir, root, tmp_path):
    runs = []
    for k in range(3):
        folder = clone_run(run_dir, tmp_path / f"r{k}", created=f"2026-03-0{k + 1}T09:00:00+00:00")
        runs.append(register_run(folder, labels={"scenario": f"s{k}", "replication": k}))
    return runs


def test_twin_query_prints_a_table_csv_or_json(three_runs, run_dir, capsys):
    sql = (
        "SELECT r.scenario, r.replication, k.value FROM runs r JOIN kpis k USING (run_id) "
        "WHERE k.kpi = 'trips_completed' ORDER BY r.replication"
    )
    completed = json.loads((run_dir / "kpis.json").read_text())["trips_completed"]
    assert main(["query", sql, "--csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table.columns.tolist() == ["scenario", "replication", "value"]
    assert table["scenario"].tolist() == ["s0", "s1", "s2"]
    assert table["value"].tolist() == [completed] * 3
    assert main(["query", sql, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[2] == {"scenario": "s2", "replication": 2, "value": completed}
    assert main(["query", sql]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].split() == ["scenario", "replication", "value"] and len(text) == 4
    assert main(["query", "SELECT * FROM runs WHERE false"]) == 0
    assert "no rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sql", ["DELETE FROM runs", "COPY runs TO 'x.csv'", "ATTACH 'x.db'", "DROP VIEW kpis"]
)
def test_twin_query_refuses_with_one_line(three_runs, sql, capsys):
    assert main(["query", sql]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("twin query: error: refused")
    assert captured.err.count("\n") == 1


def test_a_deleted_run_is_a_warning_and_prune_forgets_it(three_runs, capsys):
    shutil.rmtree(three_runs[1].path)
    assert main(["runs"]) == 0
    captured = capsys.readouterr()
    assert f"warning: run {three_runs[1].run_id} skipped" in captured.err
    listed = [line.split()[0] for line in captured.out.splitlines()[1:]]
    assert listed == [three_runs[0].run_id, three_runs[2].run_id]
    assert main(["query", "SELECT count(*) AS n FROM trips GROUP BY run_id", "--csv"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and captured.out.splitlines()[1:] != []
    assert main(["runs", "--prune"]) == 0
    captured = capsys.readouterr()
    assert f"forgot {three_runs[1].run_id}" in captured.err
    assert "warning" not in captured.err


def test_twin_runs_adds_forgets_and_takes_a_root(run_dir, tmp_path, capsys):
    other = tmp_path / "other-root"
    folder = clone_run(run_dir, tmp_path / "old-run", created="2026-04-01T00:00:00+00:00")
    args = ["runs", "--root", str(other), "--add", str(folder)]
    assert main([*args, "--label", "scenario=old", "--label", "demand.scale=1.5", "--json"]) == 0
    captured = capsys.readouterr()
    [listed] = json.loads(captured.out)
    assert listed["labels"] == {"scenario": "old", "demand.scale": 1.5}
    assert listed["scenario"] == "old" and f"registered {listed['run_id']}" in captured.err
    assert main(["runs"]) == 0  # the default root has nothing
    assert "no runs registered" in capsys.readouterr().err
    assert main(["runs", "--root", str(other), "--forget", listed["run_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["runs", "--label", "a=1"]) == 1
    assert "--label goes with --add" in capsys.readouterr().err
    assert main(["runs", "--add", str(tmp_path / "nope")]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_a_scenario_run_is_registered_under_its_name(grid_bundle, root, tmp_path):
    shutil.copy(grid_bundle, tmp_path / "grid.twin")
    scenario = tmp_path / "check.toml"
    scenario.write_text(
        '[scenario]\nname = "morning-check"\ncity = "grid.twin"\nwindow = ["06:00", "06:30"]\n'
        "[tourism.demand]\ntourists_per_day = 300\n",
        encoding="utf-8",
    )
    out = tmp_path / "scenario-run"
    assert main(["run", str(scenario), "--no-progress", "-o", str(out)]) == 0
    table = list_runs(root)
    assert table["path"].tolist() == [str(out)]
    assert table.loc[0, "scenario"] == "morning-check"
