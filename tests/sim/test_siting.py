"""Siting: exact models match brute force, greedy keeps its bound, problems built on a city."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.emergency.congestion import Congestion
from sim.emergency.coverage import hourly_link_times
from sim.emergency.covering_models import (
    SitingError,
    SitingProblem,
    brute_force,
    objective,
    solve,
)
from sim.emergency.params import load_emergency_params
from sim.emergency.siting import (
    build_problem,
    busy_probability,
    calls_by_node,
    candidate_nodes,
    propose_stations,
    simulate_check,
)
from sim.emergency.stations import NoUnitsError, UnknownUnitTypeError, station_at
from twin.errors import ConfigError

BOUND = 1 - 1 / math.e


def _random_problem(rng, n_cand=7, n_dem=14, units=2, busy=0.4):
    cover = rng.random((n_cand, n_dem)) < 0.3
    existing = (rng.random(n_dem) < 0.3) * rng.integers(1, 3, n_dem)
    return SitingProblem(
        demand_nodes=np.arange(n_dem),
        demand=rng.uniform(0.5, 10, n_dem),
        candidates=np.arange(100, 100 + n_cand),
        cover=cover,
        existing=existing.astype(np.int64),
        units_per_station=units,
        busy=busy,
    )


@pytest.mark.parametrize("model", ["mclp", "mexclp"])
def test_exact_matches_brute_force_and_greedy_keeps_its_bound(model):
    rng = np.random.default_rng(42)
    for _ in range(12):
        problem = _random_problem(rng)
        for k in (1, 2, 3):
            best, _ = brute_force(problem, k, model=model)
            exact = solve(problem, k, model=model, exact=True)
            greedy = solve(problem, k, model=model)
            assert exact.objective == pytest.approx(best, abs=1e-7)
            assert len(set(exact.chosen.tolist())) == k
            assert exact.nodes.tolist() == (100 + exact.chosen).tolist()
            gain_opt = best - exact.baseline
            assert greedy.objective - greedy.baseline >= BOUND * gain_opt - 1e-9
            assert greedy.objective <= best + 1e-9


def test_exact_beats_greedy_where_greedy_is_myopic():
    # points 0..5 of weight 1; c0 covers 0-3, c1 covers 0, 1, 4 and c2 covers 2, 3, 5
    cover = np.zeros((3, 6), dtype=bool)
    cover[0, :4] = True
    cover[1, [0, 1, 4]] = True
    cover[2, [2, 3, 5]] = True
    problem = SitingProblem(
        np.arange(6), np.ones(6), np.arange(3), cover, np.zeros(6, dtype=np.int64)
    )
    greedy = solve(problem, 2)
    exact = solve(problem, 2, exact=True)
    assert greedy.chosen.tolist() == [0, 1] and greedy.objective == 5.0
    assert sorted(exact.chosen.tolist()) == [1, 2] and exact.objective == 6.0


def test_mexclp_values_backup_coverage():
    # one point already reached by one unit: MCLP gains nothing, MEXCLP gains q (1 - q^u)
    problem = SitingProblem(
        np.arange(1),
        np.array([10.0]),
        np.arange(1),
        np.ones((1, 1), dtype=bool),
        np.array([1]),
        units_per_station=2,
        busy=0.5,
    )
    assert objective(problem, [0], "mclp") == objective(problem, [], "mclp") == 10.0
    assert objective(problem, [], "mexclp") == pytest.approx(10 * (1 - 0.5))
    assert objective(problem, [0], "mexclp") == pytest.approx(10 * (1 - 0.5**3))


def test_problem_on_the_grid(grid):
    params = load_emergency_params()
    times = hourly_link_times(grid.drive, None, params)[0]  # 16.67 s a block
    demand = calls_by_node(grid, params, "ambulance")
    assert demand.sum() > 0
    problem = build_problem(
        grid,
        times,
        demand=demand,
        stations=[(0, 2)],
        candidates=np.arange(1, 25),
        minutes=1.0,
        units_per_station=2,
    )
    col, row = np.arange(25) % 5, np.arange(25) // 5
    points = problem.demand_nodes
    for i, cand in enumerate(problem.candidates):
        blocks = np.abs(col[points] - cand % 5) + np.abs(row[points] - cand // 5)
        assert (problem.cover[i] == (blocks <= 3)).all()
    assert (problem.existing == 2 * ((col[points] + row[points]) <= 3)).all()
    result = solve(problem, 1, exact=True)
    # the gain is the most uncovered demand one site can reach (checked by hand over sites)
    uncovered = (col + row) > 3
    best_share = max(
        (demand * uncovered * ((np.abs(col - c % 5) + np.abs(row - c // 5)) <= 3)).sum()
        for c in range(1, 25)
    )
    assert result.objective - result.baseline == pytest.approx(best_share)


def test_candidate_nodes_are_thinned_and_deterministic(grid):
    everything = candidate_nodes(grid, max_candidates=100)
    assert everything.tolist() == list(range(25))
    few = candidate_nodes(grid, max_candidates=5)
    assert 1 <= len(few) <= 5
    assert few.tolist() == candidate_nodes(grid, max_candidates=5).tolist()
    with pytest.raises(SitingError):
        candidate_nodes(grid, max_candidates=0)


def test_simulation_check_with_common_random_numbers(grid):
    params = load_emergency_params(overrides={"demand": {"medical_per_1000_residents_per_day": 6}})
    free = Congestion(hourly_link_times(grid.drive, None, params), "free flow")
    new = [station_at(grid, "ambulance", node=24, units=2)]
    check = simulate_check(grid, free, params, new, unit_type="ambulance", seeds=[0, 1])
    assert check.calls > 50
    assert len(check.response_before) == len(check.response_after) == check.calls
    assert check.after > check.before
    assert check.share(8.0, "after") == pytest.approx(check.after)
    # same seeds, same answer
    again = simulate_check(grid, free, params, new, unit_type="ambulance", seeds=[0, 1])
    assert again.before == check.before and again.after == check.after


def test_busy_probability():
    assert busy_probability(24.0, 3600.0, 2) == pytest.approx(0.5)
    assert busy_probability(1000.0, 3600.0, 1) == 0.95
    assert busy_probability(1.0, 60.0, 0) == 0.95


def test_bad_requests():
    problem = _random_problem(np.random.default_rng(0))
    with pytest.raises(SitingError, match="cannot add"):
        solve(problem, 0)
    with pytest.raises(SitingError, match="cannot add"):
        solve(problem, 99)
    with pytest.raises(SitingError, match="unknown siting model"):
        solve(problem, 1, model="p-median")
    with pytest.raises(SitingError, match="busy"):
        SitingProblem(
            np.arange(1), np.ones(1), np.arange(1), np.ones((1, 1), bool), np.zeros(1), busy=1.0
        )


# -- proposing stations on a city ----------------------------------------------------------------
# no dispatch delay or turnout: a 1-minute standard is 60 s of driving, 3 blocks at 16.67 s
INSTANT = {"response": {"dispatch_delay_s": 0, "turnout_s": 0}}


def _blocks(a, b):
    return np.abs(a % 5 - b % 5) + np.abs(a // 5 - b // 5)


def test_propose_one_station_on_the_grid(grid):
    params = load_emergency_params(overrides=INSTANT)
    proposal = propose_stations(grid, 1, params=params, minutes=1.0, exact=True)
    assert proposal.travel_budget_s == 60.0 and proposal.lead_s == 0.0
    assert [s.name for s in proposal.existing] == ["Hospital A"]
    assert 0 not in proposal.candidates.tolist()  # the hospital's node is taken
    (station,) = proposal.stations
    assert (station.name, station.unit_type, station.units, station.source) == (
        "proposed 1",
        "ambulance",
        params.ambulances_per_hospital,
        "added",
    )
    assert station.node == proposal.nodes[0]
    # by hand: the hospital covers the nodes within 3 blocks of node 0; the best new site
    # adds the most of the rest
    nodes = np.arange(25)
    demand = calls_by_node(grid, params, "ambulance")
    uncovered = _blocks(nodes, 0) > 3
    gains = {c: demand[uncovered & (_blocks(nodes, c) <= 3)].sum() for c in range(1, 25)}
    assert proposal.objective_before == pytest.approx(demand[~uncovered].sum())
    assert proposal.objective_after - proposal.objective_before == pytest.approx(
        max(gains.values())
    )
    assert gains[station.node] == pytest.approx(max(gains.values()))
    assert proposal.demand_calls_per_day == pytest.approx(demand.sum())


def test_proposals_follow_stations_congestion_and_k(grid):
    params = load_emergency_params(overrides=INSTANT)
    free = propose_stations(grid, 1, params=params, minutes=1.0, stations=[])
    assert free.objective_before == 0.0 and len(free.existing) == 0
    assert 0 in free.candidates.tolist()
    # a slower day (every link twice as long) covers less with the same sites
    slow = 2 * hourly_link_times(grid.drive, None, params)
    congested = propose_stations(grid, 1, params=params, minutes=1.0, hourly_times=slow)
    baseline = propose_stations(grid, 1, params=params, minutes=1.0)
    assert congested.objective_after < baseline.objective_after
    two = propose_stations(grid, 2, params=params, minutes=1.0, model="mexclp", units=1)
    assert [s.name for s in two.stations] == ["proposed 1", "proposed 2"]
    assert all(s.units == 1 for s in two.stations)
    assert len(set(two.nodes.tolist())) == 2
    assert 0 < two.busy < 0.95


def test_a_proposal_reaches_more_calls_in_simulation(grid):
    params = load_emergency_params(
        overrides={**INSTANT, "demand": {"medical_per_1000_residents_per_day": 6}}
    )
    proposal = propose_stations(grid, 1, params=params, minutes=1.0)
    free = Congestion(hourly_link_times(grid.drive, None, params), "free flow")
    check = simulate_check(
        grid, free, params, proposal.stations, unit_type="ambulance", seeds=[0, 1], minutes=1
    )
    assert check.calls > 50
    assert check.after > check.before + 0.2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, SitingError, "cannot add 0"),
        ({"k": 30}, SitingError, "cannot add 30"),
        ({"model": "p-median"}, SitingError, "unknown siting model"),
        ({"minutes": 2.0, "params": None}, SitingError, "leaves no time to drive"),
        ({"minutes": -1.0}, SitingError, "positive number of minutes"),
        ({"units": 0}, NoUnitsError, r"at least 1 unit; got 0 \(from units=0\)"),
        (
            {"params": {**INSTANT, "units": {"ambulances_per_hospital": 0}}},
            NoUnitsError,
            "per-station default, \\[units\\] ambulances_per_hospital",
        ),
        ({"hourly_times": np.ones((1, 80))}, ConfigError, "one row per hour"),
        ({"unit_type": "boat"}, UnknownUnitTypeError, "unknown unit type"),
    ],
)
def test_bad_proposal_requests(grid, kwargs, error, match):
    kwargs = {"k": 1, "params": INSTANT, "minutes": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        propose_stations(grid, kwargs.pop("k"), **kwargs)


def test_the_first_stations_of_a_city_without_any(grid):
    """No hospital: the first ambulance stations are proposed, and the check says that
    before them no call was reached (the same calls as after, not none)."""
    from dataclasses import replace

    city = replace(grid, pois=grid.pois[grid.pois["category"] != "hospital"])
    params = load_emergency_params(
        overrides={**INSTANT, "demand": {"medical_per_1000_residents_per_day": 6}}
    )
    proposal = propose_stations(city, 1, params=params, minutes=1.0)
    assert proposal.existing == () and proposal.objective_before == 0
    assert proposal.objective_after > 0
    free = Congestion(hourly_link_times(city.drive, None, params), "free flow")
    ticks = []
    check = simulate_check(
        city,
        free,
        params,
        proposal.stations,
        unit_type="ambulance",
        seeds=[0, 1],
        minutes=1,
        progress=lambda: ticks.append(1),
    )
    assert len(ticks) == 4  # two variants a day, the one not simulated too
    assert check.calls > 50
    assert len(check.response_before) == len(check.response_after) == check.calls
    assert np.isnan(check.response_before).all()
    assert check.before == 0 and check.before_by_seed == (0.0, 0.0)
    assert check.after > 0.2


def test_no_calls_no_siting(grid):
    from dataclasses import replace

    empty = replace(grid, zones=grid.zones.assign(population=0.0))
    with pytest.raises(SitingError, match="grid 5x5 gives no ambulance calls to cover: it has no"):
        propose_stations(empty, 1, params=INSTANT, minutes=1.0)
    rates = {"medical_per_1000_residents_per_day": 0, "crashes_per_million_vehicle_km": 0}
    none = {**INSTANT, "demand": rates}
    with pytest.raises(SitingError, match="the rates of the incidents they answer are 0"):
        propose_stations(grid, 1, params=none, minutes=1.0)
