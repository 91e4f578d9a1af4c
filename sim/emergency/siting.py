"""Where to put new stations on a city, and what they would change.

:func:`propose_stations` is the whole study in one call: candidate junctions
(:func:`candidate_nodes`), expected calls per node (:func:`calls_by_node`), driving times
over a day's congestion averaged by the hours' calls, the covering problem
(:func:`build_problem`, with the busy probability of :func:`busy_probability` for MEXCLP),
solved greedily or exactly by :mod:`sim.emergency.covering_models`; it returns a
:class:`StationProposal`. :func:`simulate_check` then simulates days of emergency response
without and with the proposal on the same seeds.

A call is covered when a unit can drive there within the response standard less the mean
dispatch delay and turnout (:func:`travel_budget_s`): the simulation measures a response
from the call to the unit's arrival on scene.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.emergency.congestion import Congestion
from sim.emergency.coverage import hourly_link_times, planning_link_times
from sim.emergency.covering_models import (
    MODELS,
    SitingError,
    SitingProblem,
    SitingResult,
    solve,
)
from sim.emergency.incidents import (
    fallback_vehicle_km_share,
    fire_weights_by_node,
    residents_by_node,
)
from sim.emergency.params import DAY_S, EmergencyParams, resolve_params
from sim.emergency.stations import (
    NoUnitsError,
    Station,
    check_unit_type,
    city_stations,
    station_at,
)
from sim.emergency.travel import RoadGraph
from sim.interventions import StationSpec
from twin.city import City
from twin.errors import ConfigError

__all__ = [
    "SimulatedCheck",
    "StationProposal",
    "build_problem",
    "busy_probability",
    "calls_by_node",
    "candidate_nodes",
    "new_station_units",
    "propose_stations",
    "service_time_estimate",
    "simulate_check",
    "travel_budget_s",
]


# -- building a problem on a city -----------------------------------------------------------
def candidate_nodes(city: City, *, max_candidates: int = 400) -> np.ndarray:
    """Candidate sites: junctions (3+ neighbours) thinned to at most one per grid cell.

    The cell size grows until no more than ``max_candidates`` remain; within each cell the
    junction nearest the cell's centre is kept. Deterministic.
    """
    net = city.drive
    if max_candidates < 1:
        raise SitingError(f"max_candidates must be at least 1; got {max_candidates}")
    degree = np.bincount(net.tail, minlength=net.n_nodes) + np.bincount(
        net.indices, minlength=net.n_nodes
    )
    nodes = np.flatnonzero(degree >= 6)  # two-way streets: 3 neighbours = 6 directed edges
    if len(nodes) < max_candidates:
        nodes = np.arange(net.n_nodes)
    if len(nodes) <= max_candidates:
        return nodes.astype(np.int64)
    x, y = net.x[nodes], net.y[nodes]
    span = max(x.max() - x.min(), y.max() - y.min(), 1.0)
    cell = span / math.sqrt(max_candidates)
    while True:
        cx, cy = np.floor((x - x.min()) / cell), np.floor((y - y.min()) / cell)
        dist = np.hypot(x - (x.min() + (cx + 0.5) * cell), y - (y.min() + (cy + 0.5) * cell))
        key = cx * 1_000_003 + cy
        order = np.lexsort((nodes, dist, key))
        first = np.ones(len(order), dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        picked = np.sort(nodes[order][first])
        if len(picked) <= max_candidates:
            return picked.astype(np.int64)
        cell *= 1.1


def build_problem(
    city: City,
    link_times: np.ndarray,
    *,
    demand: np.ndarray,
    stations: Sequence[tuple[int, int]],
    candidates: np.ndarray,
    minutes: float = 8.0,
    units_per_station: int = 1,
    busy: float = 0.3,
) -> SitingProblem:
    """A covering problem from one set of link times.

    Parameters
    ----------
    city
        The city.
    link_times
        ``float64[n_edges]`` emergency-vehicle link times, seconds (for a whole day, pass
        hourly times averaged with the call profile as weights).
    demand
        ``float64[n_nodes]``: demand per drive node (expected calls or residents).
    stations
        Existing ``(node, units)`` pairs of the unit type being sited.
    candidates
        Candidate drive nodes.
    minutes
        The time standard.
    units_per_station, busy
        For MEXCLP: units each new station brings, and the busy probability.
    """
    if not np.isfinite(minutes) or minutes <= 0:
        raise ConfigError(f"the time standard must be a positive number of minutes; got {minutes}")
    demand = np.asarray(demand, dtype=float)
    points = np.flatnonzero(demand > 0)
    graph = RoadGraph(city.drive)
    limit = minutes * 60.0
    candidates = np.asarray(candidates, dtype=np.int64)
    times = graph.times_from(link_times, candidates, limit=limit)
    cover = times[:, points] <= limit
    existing = np.zeros(len(points), dtype=np.int64)
    for node, units in stations:
        reach = graph.times_from(link_times, [node], limit=limit)[0][points] <= limit
        existing += int(units) * reach
    return SitingProblem(
        demand_nodes=points,
        demand=demand[points],
        candidates=candidates,
        cover=cover,
        existing=existing,
        units_per_station=int(units_per_station),
        busy=float(busy),
    )


def busy_probability(calls_per_day: float, service_s: float, units: int) -> float:
    """MEXCLP's ``q``: offered load per unit, ``calls × service / (units × a day)``, capped
    at 0.95 (a system busier than that needs more units, not better sites)."""
    if units <= 0:
        return 0.95
    return float(min(max(calls_per_day * service_s / (units * 86_400.0), 0.0), 0.95))


# -- demand ------------------------------------------------------------------------------------
def calls_by_node(city: City, params: EmergencyParams, unit_type: str) -> np.ndarray:
    """``float64[n_nodes]``: expected calls per day for ``unit_type`` at each drive node.

    Medical calls by residents, fires by floor area and road crashes by the fallback
    vehicle-km estimate (length × lanes), each counted for the unit type that answers it.
    """
    check_unit_type(unit_type)
    net = city.drive
    residents = residents_by_node(city)
    out = np.zeros(net.n_nodes)
    if params.unit_type["medical"] == unit_type:
        out += residents * params.medical_per_1000_residents_per_day / 1000.0
    if params.unit_type["fire"] == unit_type:
        fires = residents.sum() * params.fires_per_100k_residents_per_day / 100_000.0
        weights = fire_weights_by_node(city)
        out += fires * weights / weights.sum() if weights.sum() > 0 else 0.0
    if params.unit_type["crash"] == unit_type:
        vkm = fallback_vehicle_km_share(city) * residents.sum()
        vkm *= params.vehicle_km_per_resident_per_day
        crashes = vkm * params.crashes_per_million_vehicle_km / 1e6
        out += np.bincount(net.indices, weights=crashes, minlength=net.n_nodes)
    return out


def service_time_estimate(params: EmergencyParams, unit_type: str, *, travel_s: float) -> float:
    """Mean seconds a unit of ``unit_type`` is busy per call: turnout, scene, handover when
    transporting, and ``travel_s`` for each leg (out, to hospital, back)."""
    total, weight = 0.0, 0.0
    rates = {
        "medical": params.medical_per_1000_residents_per_day,
        "fire": params.fires_per_100k_residents_per_day / 100.0,
        "crash": params.crashes_per_million_vehicle_km,
    }
    for kind, rate in rates.items():
        if params.unit_type[kind] != unit_type or rate <= 0:
            continue
        share = params.transport_share[kind] if unit_type == "ambulance" else 0.0
        busy = params.turnout_s.mean + params.scene_s[kind].mean
        busy += share * (params.handover_s.mean + travel_s) + 2 * travel_s
        total, weight = total + rate * busy, weight + rate
    return total / weight if weight else 0.0


# -- the proposal ------------------------------------------------------------------------------
def travel_budget_s(params: EmergencyParams, minutes: float) -> float:
    """Seconds a unit may drive within a response standard of ``minutes``: the standard
    less the mean dispatch delay and turnout.

    Raises
    ------
    SitingError
        ``minutes`` is not a positive number, or leaves no time to drive.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        raise SitingError(f"the response standard must be a number of minutes; got {minutes!r}")
    if not (math.isfinite(minutes) and minutes > 0):
        raise SitingError(
            f"the response standard must be a positive number of minutes; got {minutes}"
        )
    lead_s = _lead_s(params)
    budget_s = minutes * 60.0 - lead_s
    if budget_s <= 0:
        raise SitingError(
            f"a {minutes:g}-minute standard leaves no time to drive: dispatch delay and "
            f"turnout take {lead_s:.0f} s on average; give a longer standard"
        )
    return budget_s


def _lead_s(params: EmergencyParams) -> float:
    """Mean seconds from the call to the unit's departure: dispatch delay and turnout."""
    return params.dispatch_delay_s.mean + params.turnout_s.mean


def new_station_units(params: EmergencyParams, unit_type: str, units: int | None = None) -> int:
    """Units at each new station: ``units``, or the per-station default of ``unit_type``.

    Raises
    ------
    NoUnitsError
        Fewer than 1.
    """
    check_unit_type(unit_type)
    value = params.units_per_station(unit_type) if units is None else units
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        key = (
            "ambulances_per_hospital"
            if unit_type == "ambulance"
            else "fire_engines_per_fire_station"
        )
        where = (
            f"units={units!r}" if units is not None else f"the per-station default, [units] {key}"
        )
        raise NoUnitsError(
            f"new stations need at least 1 unit; got {value!r} (from {where}); give 1 or more"
        )
    return int(value)


@dataclass(frozen=True)
class StationProposal:
    """New stations proposed by :func:`propose_stations`, and what the model expects.

    Attributes
    ----------
    stations
        The new stations, in the order they were picked, named ``"proposed 1"``,
        ``"proposed 2"``…: ready for ``extra_stations`` or
        :meth:`sim.emergency.model.Emergency.add_station`.
    unit_type, model, exact
        What was sited and how: ``"mclp"`` or ``"mexclp"``, exactly or greedily.
    minutes
        The response standard, minutes from the call to arrival on scene.
    lead_s, travel_budget_s
        Mean dispatch delay plus turnout, and the driving time the standard leaves
        (seconds); a call is covered when a unit can drive to it within the budget.
    existing
        The stations of ``unit_type`` already there.
    candidates
        ``int64``: the candidate drive nodes (junctions other than existing sites).
    busy
        MEXCLP's probability that a unit is busy.
    problem, result
        The covering problem and its solution.
    """

    stations: tuple[Station, ...]
    unit_type: str
    model: str
    exact: bool
    minutes: float
    lead_s: float
    travel_budget_s: float
    existing: tuple[Station, ...]
    candidates: np.ndarray
    busy: float
    problem: SitingProblem
    result: SitingResult

    @property
    def nodes(self) -> np.ndarray:
        """``int64``: drive nodes of the new stations."""
        return self.result.nodes

    @property
    def objective_before(self) -> float:
        """Calls per day covered (MCLP) or expected covered (MEXCLP) by existing units."""
        return self.result.baseline

    @property
    def objective_after(self) -> float:
        """The same with the new stations."""
        return self.result.objective

    @property
    def demand_calls_per_day(self) -> float:
        """Expected calls per day for ``unit_type``, over the demand points."""
        return float(self.problem.demand.sum())


def propose_stations(
    city: City,
    k: int,
    *,
    unit_type: str = "ambulance",
    params: EmergencyParams | dict | str | Path | None = None,
    hourly_times: np.ndarray | None = None,
    stations: Sequence[Station] | None = None,
    model: str = "mclp",
    exact: bool = False,
    minutes: float = 8.0,
    units: int | None = None,
    max_candidates: int = 400,
    time_limit_s: float = 120.0,
) -> StationProposal:
    """Propose ``k`` new stations of ``unit_type`` that reach the most calls in time.

    Parameters
    ----------
    city
        The city.
    k
        Stations to add.
    unit_type
        ``"ambulance"`` or ``"fire_engine"``.
    params
        Emergency parameters (rates, service times, the emergency-vehicle advantage): an
        :class:`EmergencyParams`, a dict of overrides, a TOML path or ``None``.
    hourly_times
        ``float64[24, n_edges]``: emergency link times for each hour of the day, seconds
        (:func:`sim.emergency.coverage.day_link_times`); averaged with the hours' call
        profile. ``None`` for free flow.
    stations
        The stations already there (those of ``unit_type`` count); ``None`` for the
        city's.
    model
        ``"mclp"`` (calls covered by at least one unit) or ``"mexclp"`` (expected calls
        covered when units are busy with probability :func:`busy_probability`).
    exact
        Solve the integer programme (``scipy.optimize.milp``) instead of greedily.
    minutes
        The response standard, minutes from the call to arrival on scene.
    units
        Units at each new station (``None``: the per-station default of the type).
    max_candidates
        Most candidate junctions considered (:func:`candidate_nodes`).
    time_limit_s
        Time limit of the exact solver, seconds.

    Raises
    ------
    SitingError
        ``k`` is not between 1 and the number of candidates, an unknown model, a
        standard that leaves no time to drive, or a city that gives no calls to cover.
    NoUnitsError
        New stations would have no units.
    ConfigError
        ``hourly_times`` does not have one row per hour and one column per drive edge.
    """
    check_unit_type(unit_type)
    if model not in MODELS:
        raise SitingError(f"unknown siting model {model!r}; expected one of {list(MODELS)}")
    params = resolve_params(params)
    budget_s = travel_budget_s(params, minutes)
    units = new_station_units(params, unit_type, units)
    if stations is None:
        existing = city_stations(city, params, unit_type=unit_type)
    else:
        existing = [s for s in stations if s.unit_type == unit_type]
    if hourly_times is None:
        hourly_times = hourly_link_times(city.drive, None, params)
    hourly = np.asarray(hourly_times, dtype=float)
    if hourly.shape != (24, city.drive.n_edges):
        raise ConfigError(
            f"hourly link times have shape {hourly.shape}; expected (24, "
            f"{city.drive.n_edges}): one row per hour, one column per drive edge"
        )
    profile = params.hourly_profile["medical" if unit_type == "ambulance" else "fire"]
    times = planning_link_times(hourly, profile)
    demand = calls_by_node(city, params, unit_type)
    if not demand.sum() > 0:
        why = (
            "the rates of the incidents they answer are 0; raise them"
            if residents_by_node(city).sum() > 0
            else "it has no residents, whom calls come from; build it from OSM, which spreads "
            "--population N over its buildings or streets"
        )
        raise SitingError(f"{city.name} gives no {unit_type} calls to cover: {why}")
    taken = {s.node for s in existing}
    candidates = np.array(
        [c for c in candidate_nodes(city, max_candidates=max_candidates) if c not in taken],
        dtype=np.int64,
    )
    busy = busy_probability(
        float(demand.sum()),
        service_time_estimate(params, unit_type, travel_s=budget_s / 2),
        sum(s.units for s in existing),
    )
    problem = build_problem(
        city,
        times,
        demand=demand,
        stations=[(s.node, s.units) for s in existing],
        candidates=candidates,
        minutes=budget_s / 60.0,
        units_per_station=units,
        busy=busy,
    )
    result = solve(problem, k, model=model, exact=exact, time_limit_s=time_limit_s)
    new = tuple(
        station_at(city, unit_type, node=int(node), units=units, name=f"proposed {i + 1}")
        for i, node in enumerate(result.nodes)
    )
    return StationProposal(
        stations=new,
        unit_type=unit_type,
        model=model,
        exact=bool(exact),
        minutes=float(minutes),
        lead_s=_lead_s(params),
        travel_budget_s=budget_s,
        existing=tuple(existing),
        candidates=candidates,
        busy=busy,
        problem=problem,
        result=result,
    )


# -- the check by simulation ---------------------------------------------------------------------
@dataclass(frozen=True)
class SimulatedCheck:
    """Response times with the current stations and with the proposal, same seeds.

    Attributes
    ----------
    seeds
        The seeds simulated (one day each).
    minutes
        The time standard of :attr:`before` and :attr:`after`.
    before, after
        Share of calls of the unit type reached within ``minutes``, pooled over seeds.
    before_by_seed, after_by_seed
        The same per seed (paired: common random numbers).
    calls
        Calls of the unit type over all seeds.
    response_before, response_after
        Every call's response time, seconds (NaN: not reached by 03:00 the next day), in
        the same order in both (the calls are the same).
    """

    seeds: tuple[int, ...]
    minutes: float
    before: float
    after: float
    before_by_seed: tuple[float, ...]
    after_by_seed: tuple[float, ...]
    calls: int
    response_before: np.ndarray
    response_after: np.ndarray

    def share(self, minutes: float, variant: str = "after") -> float:
        """Share of calls reached within ``minutes`` in ``"before"`` or ``"after"``."""
        rt = self.response_before if variant == "before" else self.response_after
        return float(np.mean(np.isfinite(rt) & (rt <= minutes * 60.0))) if len(rt) else math.nan


def simulate_check(
    city: City,
    congestion: Congestion,
    params: EmergencyParams,
    new_stations: Sequence[Station],
    *,
    unit_type: str,
    seeds: Sequence[int],
    minutes: float = 8.0,
    progress: Callable[[], None] | None = None,
) -> SimulatedCheck:
    """Simulate emergency response for a day per seed, without and with ``new_stations``.

    Each day is a run of the one run function (:func:`sim.runner.run`): emergency response
    only, on the recorded congestion of ``congestion`` replayed hour by hour (or on free
    flow), from 00:00 to 03:00 the next day so that late calls are answered; calls placed
    during the day (00:00-24:00) count. Both variants of a seed are the same specification
    but for the stations, so they have the same incidents and service times (common random
    numbers). When the city has no station of ``unit_type`` with units, no call is reached
    before the new stations (``response_before`` is NaN) and only the "after" days run.
    """
    from sim.parameters import Layer
    from sim.runner import run
    from sim.spec_builder import build_spec

    check_unit_type(unit_type)
    limit = minutes * 60.0
    emergency = [("emergency", Layer("siting parameters", params.raw))]
    node_id = city.drive.node_id
    added = [StationSpec(s.name, s.unit_type, int(node_id[s.node]), s.units) for s in new_stations]
    replay = None if congestion.free_flow else (congestion.run_dir or congestion.recorded)
    times: dict[str, list[np.ndarray]] = {"before": [], "after": []}
    for seed in seeds:
        spec = build_spec(
            city,
            seed=seed,
            start=0.0,
            end=DAY_S + 3 * 3600.0,
            traffic="free_flow" if congestion.free_flow else "replay",
            tourists=False,
            emergency=True,
            overrides=emergency,
            replay=replay,
        )
        variants = {"after": (*spec.stations, *added)}
        if any(s.unit_type == unit_type and s.units > 0 for s in spec.stations):
            variants["before"] = spec.stations
        for label, stations in variants.items():
            result = run(city, spec.replace(stations=stations), replay=congestion.recorded)
            table = result.incidents
            table = table[(table["call"] < DAY_S) & (table["unit_type"] == unit_type)]
            times[label].append(table["response_time"].to_numpy(float))
            if progress is not None:
                progress()
        if "before" not in variants:
            # the first stations of the type: before them no unit answers, so none of the
            # same calls (common random numbers) is reached; nothing to simulate
            times["before"].append(np.full(len(times["after"][-1]), np.nan))
            if progress is not None:
                progress()

    def share(rt: np.ndarray) -> float:
        return float(np.mean(np.isfinite(rt) & (rt <= limit))) if len(rt) else math.nan

    before, after = np.concatenate(times["before"]), np.concatenate(times["after"])
    return SimulatedCheck(
        seeds=tuple(int(s) for s in seeds),
        minutes=float(minutes),
        before=share(before),
        after=share(after),
        before_by_seed=tuple(share(rt) for rt in times["before"]),
        after_by_seed=tuple(share(rt) for rt in times["after"]),
        calls=len(before),
        response_before=before,
        response_after=after,
    )
