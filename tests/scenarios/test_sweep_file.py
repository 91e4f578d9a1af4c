"""Sweep files: what they take, every problem before anything runs, and the designs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scenarios.files import library_names
from scenarios.problems import ScenarioError
from scenarios.sweep import load_sweep, make_variants, plan_sweep
from scenarios.sweep.design import unit_sample
from scenarios.sweep.tasks import variant_scenario
from tests.scenarios.sweeps import BOX, grid_base, grid_sweep, write


def sweep_file(folder, body: str, name: str = "s.toml"):
    grid_base(folder)
    return write(folder, name, body)


def problems_of(path) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    return [(p.key, p.message) for p in caught.value.problems]


def test_a_grid_sweep_reads_with_its_levels_and_key_paths(tmp_path):
    path = sweep_file(
        tmp_path,
        f"""
        [sweep]
        scenario = "base.toml"
        window = ["06:00", "07:00"]
        seed = 11
        replications = 3
        [vary]
        "demand.scale" = [0.8, 1.0, 1.2]
        emergency.units.ambulances_per_hospital = {{ range = [1, 4] }}
        traffic = {{ refresh_s = {{ range = [60.0, 300.0], steps = 3 }} }}
        switch.closed = [false, true]
        [[intervention]]
        switch = "closed"
        type = "close_road"
        area = {BOX}
        """,
    )
    sweep = load_sweep(path)
    assert sweep.name == "s" and sweep.replications == 3 and sweep.design.kind == "grid"
    assert (sweep.scenario.start, sweep.scenario.end, sweep.scenario.seed) == (21600, 25200, 11)
    levels = {p.key: p.levels for p in sweep.parameters}
    assert levels == {
        "demand.scale": (0.8, 1.0, 1.2),
        "emergency.units.ambulances_per_hospital": (1, 2, 3, 4),
        "traffic.refresh_s": (60.0, 180.0, 300.0),
        "switch.closed": (False, True),
    }
    variants = make_variants(sweep)
    assert len(variants) == 3 * 4 * 3 * 2 and variants[0].id == "v000"
    assert variants[1].values == {
        "demand.scale": 0.8, "emergency.units.ambulances_per_hospital": 1,
        "traffic.refresh_s": 60.0, "switch.closed": True,
    }  # fmt: skip
    on = variant_scenario(sweep, variants[1])
    off = variant_scenario(sweep, variants[0])
    assert [i["type"] for i in on.interventions] == ["close_road"] and not off.interventions
    assert on.section("traffic") == {"refresh_s": 60.0}
    assert on.section("emergency")["units"] == {"ambulances_per_hospital": 1}
    assert on.section("demand")["scale"] == 0.8  # the sweep's value over the base's 0.5


def test_every_problem_of_a_sweep_is_reported_before_anything_runs(tmp_path):
    path = sweep_file(
        tmp_path,
        """
        [sweep]
        scenario = "base.toml"
        replications = 0
        [design]
        kind = "grid"
        samples = 8
        [vary]
        "demand.scal" = [0.8, 1.0]
        emergency.units.ambulances_per_hospital = { range = [4, 1] }
        "traffic.refresh_s" = { range = [60.0, 300.0] }
        "emergency.units" = [1, 2]
        "tourism.demand.tourists_per_day" = []
        "vehicles.car.share" = ["many"]
        switch.bridge = [false, true]
        [[intervention]]
        switch = "close-west"
        type = "close_road"
        road = "x"
        """,
    )
    found = dict(problems_of(path))
    assert "zero runs" in found["sweep.replications"]
    assert "takes no samples" in found["design.samples"]
    assert "did you mean 'demand.scale'" in found["vary.demand.scal"]
    assert "is empty" in found["vary.emergency.units.ambulances_per_hospital"]
    assert "a grid needs levels: give steps" in found["vary.traffic.refresh_s"]
    assert "table of parameters" in found["vary.emergency.units"]
    assert "zero runs" in found["vary.tourism.demand.tourists_per_day"]
    assert "is not a number" in found["vary.vehicles.car.share"]
    assert "no [[intervention]] has switch = 'bridge'" in found["vary.switch.bridge"]
    assert "letters, digits and _" in found["intervention[1].switch"]
    with pytest.raises(ScenarioError, match=r"\d+ problems in .*s\.toml"):
        load_sweep(path)


def test_designs_that_make_no_runs_or_lose_their_balance_are_refused(tmp_path):
    found = dict(
        problems_of(
            sweep_file(
                tmp_path,
                """
                [sweep]
                scenario = "missing.toml"
                [design]
                kind = "sobol"
                samples = 12
                [vary]
                "demand.scale" = { range = [0.5, 1.5] }
                """,
            )
        )
    )
    assert "give 8 or 16" in found["design.samples"]
    assert "the base scenario" in found["sweep.scenario"]
    found = dict(
        problems_of(
            sweep_file(
                tmp_path,
                """
                [sweep]
                scenario = "base.toml"
                [design]
                kind = "lhs"
                samples = 0
                [vary]
                "demand.scale" = { range = [0.5, 1.5] }
                """,
            )
        )
    )
    assert "zero runs" in found["design.samples"]
    found = dict(
        problems_of(sweep_file(tmp_path, '[sweep]\nscenario = "base.toml"\n[design]\nkind="lsh"\n'))
    )
    assert "did you mean 'lhs'" in found["design.kind"]
    assert "varies nothing" in found["vary"]
    found = dict(
        problems_of(
            sweep_file(
                tmp_path,
                f"""
                [sweep]
                scenario = "base.toml"
                [vary]
                "demand.scale" = [1.0, 1.0]
                [[intervention]]
                switch = "unused"
                type = "close_road"
                area = {BOX}
                """,
            )
        )
    )
    assert "listed twice" in found["vary.demand.scale"]
    assert "declared but never varied" in found["vary.switch.unused"]


def test_lhs_and_sobol_draw_stratified_points_from_scipy(tmp_path):
    path = sweep_file(
        tmp_path,
        """
        [sweep]
        scenario = "base.toml"
        [design]
        kind = "lhs"
        samples = 10
        seed = 4
        [vary]
        "demand.scale" = { range = [0.5, 1.5] }
        "emergency.units.ambulances_per_hospital" = { range = [1, 5] }
        """,
    )
    sweep = load_sweep(path)
    variants = make_variants(sweep)
    assert len(variants) == 10 and variants[-1].id == "v009"
    scale = np.array([v.values["demand.scale"] for v in variants])
    # one point in each tenth of the range: a Latin hypercube
    assert sorted(np.floor((scale - 0.5) * 10).astype(int)) == list(range(10))
    units = [v.values["emergency.units.ambulances_per_hospital"] for v in variants]
    assert sorted(set(units)) == [1, 2, 3, 4, 5] and all(units.count(u) == 2 for u in range(1, 6))
    assert make_variants(sweep) == variants  # seeded
    sobol = path.read_text().replace('"lhs"', '"sobol"').replace("samples = 10", "samples = 8")
    sweep = load_sweep(write(tmp_path, "sobol.toml", sobol))
    from scipy.stats import qmc

    expected = qmc.Sobol(2, scramble=True, rng=4).random_base2(3)
    np.testing.assert_array_equal(unit_sample(sweep), expected)
    points = make_variants(sweep)
    np.testing.assert_allclose(
        [v.values["demand.scale"] for v in points], 0.5 + expected[:, 0], rtol=0, atol=1e-12
    )


def test_discrete_lhs_points_that_repeat_are_one_variant(tmp_path):
    path = sweep_file(
        tmp_path,
        """
        [sweep]
        scenario = "base.toml"
        [design]
        kind = "lhs"
        samples = 16
        [vary]
        "demand.scale" = [0.5, 1.0]
        "emergency.units.ambulances_per_hospital" = { range = [1, 2] }
        """,
    )
    variants = make_variants(load_sweep(path))
    assert len(variants) == 4
    assert len({tuple(v.values.values()) for v in variants}) == 4


def test_a_variant_that_does_not_compile_fails_alone(tmp_path):
    path = sweep_file(
        tmp_path,
        """
        [sweep]
        scenario = "base.toml"
        [vary]
        "vehicles.car.share" = [0.14, 0.5]
        "demand.scale" = [0.5, 1.0]
        """,
    )
    plan = plan_sweep(path, replications=2)
    assert len(plan.tasks) == 4 and len(plan.failures) == 4
    assert {f.variant.values["vehicles.car.share"] for f in plan.failures} == {0.5}
    assert "sum to 1" in plan.failures[0].error
    assert "vehicles.car.share=0.5" in plan.failures[0].describe()
    seeds = sorted({(t.variant.id, t.spec.seed) for t in plan.tasks})
    assert seeds == [("v000", 3), ("v000", 4), ("v001", 3), ("v001", 4)]


def test_library_sweeps_read_and_are_not_scenarios():
    sweeps = library_names(sweeps=True)
    assert "hue/sweep-ambulances-demand" in sweeps
    assert not set(sweeps) & set(library_names())
    sweep = load_sweep("hue/sweep-ambulances-demand")
    assert sweep.scenario.label == "hue/baseline"
    assert sweep.scenario.end - sweep.scenario.start == 3600
    assert len(make_variants(sweep)) == 9
    assert sweep.text("title", "vi") != sweep.text("title", "en")


def test_the_sweep_command_lists_its_tasks_and_refuses_a_bad_file(tmp_path, capsys):
    from twin.cli import main

    path = grid_sweep(tmp_path)
    assert main(["sweep", str(path), "--dry-run", "--replications", "3"]) == 0
    out = capsys.readouterr().out
    assert "4 variants × 3 replications = 12 runs" in out
    assert "v003  demand.scale=1.0, emergency.units.ambulances_per_hospital=2" in out
    bad = write(tmp_path, "bad.toml", '[sweep]\nscenario = "base.toml"\n[vary]\nx.y = [1]\n')
    assert main(["sweep", str(bad), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "unknown parameter 'x.y'" in err and "a key path starts with a scenario section" in err
    assert not (tmp_path / "out").exists()


def test_the_sweep_command_prints_the_summary_and_the_failures(tmp_path, capsys):
    from twin.cli import main

    path = sweep_file(
        tmp_path,
        """
        [sweep]
        name = "shares"
        scenario = "base.toml"
        window = ["06:00", "07:00"]
        [vary]
        "vehicles.car.share" = [0.14, 0.5]
        """,
    )
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "0", "--replications", "2", "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "2 variants × 2 replications = 4 runs" in captured.out
    assert "ran 2, reused 0, failed 2" in captured.out
    assert "KPIs by level (mean ± half-width of the 95 % interval over 2 replications)" in (
        captured.out
    )
    assert "vehicles.car.share" in captured.out and "mean_speed_kmh (km/h)" in captured.out
    assert "2 of 4 runs failed" in captured.err
    assert "v001 r000 (vehicles.car.share=0.5): ScenarioError" in captured.err
    assert "shares must be non-negative and sum to 1 (they sum to 1.360)" in captured.err
    summary = json.loads((out / "sweep.json").read_text())
    assert [f["values"] for f in summary["failed"]] == [{"vehicles.car.share": 0.5}] * 2
    again = ["sweep", str(path), "--workers", "0", "--replications", "2", "-o", str(out)]
    assert main(again) == 1
    assert "ran 0, reused 2, failed 2" in capsys.readouterr().out
    other = write(tmp_path, "other.toml", path.read_text().replace('"shares"', '"other"'))
    assert main(["sweep", str(other), "--workers", "0", "-o", str(out)]) == 1
    assert "holds the sweep 'shares', not 'other'" in capsys.readouterr().err


def test_a_sweep_may_register_its_runs_in_another_results_root(tmp_path):
    from scenarios.catalog import list_runs
    from scenarios.executor import Executor
    from scenarios.sweep import run_sweep

    path = grid_sweep(tmp_path, replications=1)
    shared = tmp_path / "all-runs"
    with Executor(workers=0) as serial:
        first = run_sweep(path, out_dir=tmp_path / "out", root=shared, executor=serial)
        again = run_sweep(path, out_dir=tmp_path / "out", root=shared, executor=serial)
    assert (first.ran, again.ran, again.reused) == (4, 0, 4)
    runs = list_runs(shared)
    assert len(runs) == 4 and set(runs["sweep"]) == {"grid"}
    assert sorted(runs["variant"]) == ["v000", "v001", "v002", "v003"]
    assert not (tmp_path / "out" / ".catalog").exists()
    assert json.loads((tmp_path / "out" / "sweep.json").read_text())["catalog_root"] == str(
        shared.resolve()
    )
    with Executor(workers=0) as serial:
        run_sweep(path, out_dir=tmp_path / "out", root=shared, executor=serial, force=True)
    assert len(list_runs(shared)) == 4  # the replaced runs are forgotten, the new ones kept
    assert len(list((shared / ".catalog").glob("*.json"))) == 4
