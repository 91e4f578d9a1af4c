"""Comparisons: paired intervals, exact zeros against oneself, resuming, the executor."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import scenarios.compare as compare_module
from scenarios.compare import ComparisonError, compare_scenarios
from scenarios.executor import Executor
from scenarios.statistics import narrow_enough, paired_table
from tests.scenarios.test_scenarios import SOUTH, WEST, base_file, write
from twin.bundle import write_bundle
from twin.synthetic import grid_city


@pytest.fixture
def folder(tmp_path):
    write_bundle(grid_city(), tmp_path / "grid.twin")
    base_file(tmp_path)
    write(
        tmp_path,
        "same.toml",
        '[scenario]\nname = "same"\nextends = "base.toml"\n',
    )
    box = [[WEST, SOUTH], [WEST + 0.003, SOUTH], [WEST + 0.003, SOUTH + 0.003],
           [WEST, SOUTH + 0.003]]  # fmt: skip
    write(
        tmp_path,
        "closed.toml",
        f"""
        [scenario]
        name = "closed"
        extends = "base.toml"
        [[intervention]]
        type = "close_road"
        area = {box}
        classes = ["motorbike", "car"]
        from = "07:00"
        """,
    )
    return tmp_path


def test_paired_interval_by_hand():
    base = [{"mean_speed_kmh": 20.0}, {"mean_speed_kmh": 21.0}, {"mean_speed_kmh": 22.0}]
    option = [{"mean_speed_kmh": 21.0}, {"mean_speed_kmh": 23.0}, {"mean_speed_kmh": 25.0}]
    row = paired_table(base, {"faster": option}).iloc[0]
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) · sd / √n
    assert row["diff_mean"] == pytest.approx(2.0)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((2.0 - half, 2.0 + half))
    assert row["replications"] == 3 and not row["clear"]  # -0.48 .. 4.48 holds zero
    assert row["better"] == "higher" and row["unit"] == "km/h"
    clear = paired_table(base, {"x": [{"mean_speed_kmh": b["mean_speed_kmh"] + 1.0 + 0.01 * k}
                                       for k, b in enumerate(base)]})  # fmt: skip
    assert clear.iloc[0]["clear"]
    assert (
        narrow_enough(clear, 0.05).all()
        and not narrow_enough(paired_table(base, {"f": option}), 0.05).all()
    )


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(folder):
    with Executor(workers=0) as executor:
        result = compare_scenarios(
            folder / "base.toml", [folder / "same.toml"], out_dir=folder / "cmp",
            executor=executor,
        )  # fmt: skip
    table = result.kpis
    assert len(table) > 40 and set(table["domain"]) == {"traffic", "tourists", "emergency"}
    assert (table["diff_mean"].fillna(0.0) == 0.0).all()
    assert (table["ci_low"].fillna(0.0) == 0.0).all() and not table["clear"].any()
    links = pd.read_parquet(folder / "cmp" / "links.parquet")
    assert len(links) and (links["difference"].fillna(0.0) == 0.0).all()
    summary = json.loads((folder / "cmp" / "comparison.json").read_text())
    assert summary["base"]["digests"] == summary["options"][0]["digests"]
    assert summary["seeds"] == [3, 4] and summary["base"]["title"]["vi"] == "Cơ sở"


def test_closing_roads_shows_in_kpis_links_and_zones(folder):
    with Executor(workers=0) as executor:
        result = compare_scenarios(
            folder / "base.toml", [folder / "closed.toml"], out_dir=folder / "cmp",
            executor=executor, replications=3,
        )  # fmt: skip
    table = result.kpis.set_index("kpi")
    assert table.loc["vehicle_km", "diff_mean"] != 0.0
    assert table.loc["trips_total", "diff_mean"] == 0.0  # the same trips on both sides
    links = pd.read_parquet(folder / "cmp" / "links.parquet")
    assert list(links.columns) == [
        "edge_id", "interval_start", "kpi", "scenario", "base", "option", "difference",
    ]  # fmt: skip
    entries = links[(links["kpi"] == "entries") & (links["interval_start"] >= 7.5 * 3600)]
    assert (entries["difference"] < 0).any() and (entries["difference"] > 0).any()
    zones = pd.read_parquet(folder / "cmp" / "zones.parquet")
    assert set(zones["kpi"]) >= {"vehicle_km", "response_time_mean_s", "visits"}
    assert set(zones["zone"]) == {0, 1, 2, 3}


def test_an_interrupted_comparison_resumes_with_what_is_done(folder, monkeypatch):
    calls = {"n": 0}
    original = compare_module.write_run

    def crash_after_three(result, run_dir, *, force=False):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(result, run_dir, force=force)

    monkeypatch.setattr(compare_module, "write_run", crash_after_three)
    out = folder / "cmp"
    with Executor(workers=0) as executor, pytest.raises(KeyboardInterrupt):
        compare_scenarios(
            folder / "base.toml", [folder / "closed.toml"], out_dir=out, executor=executor
        )
    assert not (out / "comparison.json").exists() and not (out / "kpis.parquet").exists()
    monkeypatch.setattr(compare_module, "write_run", original)
    with Executor(workers=0) as executor:
        result = compare_scenarios(
            folder / "base.toml", [folder / "closed.toml"], out_dir=out, executor=executor
        )
    assert result.reused == 3 and result.replications == 2
    assert (out / "comparison.json").is_file()
    with pytest.raises(ComparisonError, match="comparison of base with"):
        compare_scenarios(folder / "base.toml", [folder / "same.toml"], out_dir=out)
    (folder / "mine").mkdir()
    (folder / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ComparisonError, match="not a comparison's"):
        compare_scenarios(folder / "base.toml", [folder / "same.toml"], out_dir=folder / "mine")
    assert (folder / "mine" / "notes.txt").read_text() == "keep"


def test_ci_width_adds_replications_up_to_the_cap(folder):
    with Executor(workers=0) as executor:
        result = compare_scenarios(
            folder / "base.toml", [folder / "closed.toml"], out_dir=folder / "cmp",
            executor=executor, replications=2, ci_width=1e-6, max_replications=4,
        )  # fmt: skip
    assert result.replications == 4
    assert result.kpis["replications"].max() == 4


def test_compare_command_json_on_a_local_cluster_equals_serial(folder, capsys):
    from twin.cli import main

    argv = ["compare", str(folder / "base.toml"), str(folder / "closed.toml"), "--json"]
    assert main([*argv, "--workers", "2", "-o", str(folder / "dask")]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {
        "kpi", "scenario", "base_mean", "option_mean", "diff_mean", "ci_low", "ci_high",
        "replications",
    } <= set(records[0])  # fmt: skip
    assert main([*argv, "--workers", "0", "-o", str(folder / "serial")]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert records == serial
    for name in ("kpis.parquet", "links.parquet", "zones.parquet"):
        a = pd.read_parquet(folder / "dask" / name)
        b = pd.read_parquet(folder / "serial" / name)
        pd.testing.assert_frame_equal(a, b)
    assert np.isfinite([r["diff_mean"] for r in records if r["kpi"] == "vehicle_km"]).all()
    assert main([*argv[:-1], "-o", str(folder / "text")]) == 0
    text = capsys.readouterr().out
    assert "closed − Base (2 paired replications, 95 % intervals)" in text
    assert "mean_speed_kmh (km/h)" in text and "vehicle_km" not in text  # judged KPIs only


def test_replications_are_in_the_run_catalog(folder):
    from scenarios.catalog import list_runs, query

    with Executor(workers=0) as executor:
        compare_scenarios(
            folder / "base.toml", [folder / "closed.toml"], out_dir=folder / "cmp",
            executor=executor,
        )  # fmt: skip
    runs = list_runs()
    mine = runs[runs["comparison"] == str(folder / "cmp")]
    assert sorted(zip(mine["scenario"], mine["replication"], strict=True)) == [
        ("base", 0), ("base", 1), ("closed", 0), ("closed", 1),
    ]  # fmt: skip
    table = query(
        "SELECT r.scenario, avg(k.value) AS km FROM runs r JOIN kpis k USING (run_id) "
        "WHERE k.kpi = 'vehicle_km' GROUP BY r.scenario ORDER BY r.scenario"
    )
    assert list(table["scenario"]) == ["base", "closed"] and table["km"].notna().all()
