"""Where to put new stations: maximal covering (MCLP) and expected covering (MEXCLP).

A :class:`SitingProblem` holds demand points (drive nodes with weights, e.g. expected calls
or residents), candidate nodes, which candidates reach which demand points within the time
standard, and how many existing units already reach each point.

- **MCLP** (Church & ReVelle, 1974): choose ``K`` sites to maximise the demand covered by
  at least one unit (existing or new).
- **MEXCLP** (Daskin, 1983): every unit is busy with probability ``q``; a point reached by
  ``n`` units is covered with probability ``1 − q^n``; maximise expected covered demand.
  Each new station brings ``units_per_station`` units.

Both objectives are monotone and submodular in the set of new sites, so :func:`solve` with
``exact=False`` (greedy: add the site of largest gain, ``K`` times) reaches at least
``1 − 1/e`` (63 %) of the optimum. ``exact=True`` solves the integer programme with
``scipy.optimize.milp`` (HiGHS); demand points with identical coverage are merged first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import simpy
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix, hstack

from sim.emergency.coverage import HourlyRoads
from sim.emergency.incidents import (
    fallback_vehicle_km_share,
    fire_weights_by_node,
    residents_by_node,
)
from sim.emergency.model import Emergency
from sim.emergency.params import DAY_S, EmergencyParams
from sim.emergency.stations import Station, check_unit_type
from sim.emergency.travel import RoadGraph
from twin.city import City
from twin.errors import ConfigError, TwinError

#: Siting models.
MODELS: tuple[str, ...] = ("mclp", "mexclp")


class SitingError(TwinError, ValueError):
    """A siting problem or request is malformed (K out of range, unknown model...)."""


@dataclass(frozen=True)
class SitingProblem:
    """A covering problem on a network.

    Attributes
    ----------
    demand_nodes
        ``int64[J]``: drive nodes with demand.
    demand
        ``float64[J]``: weight of each (calls or residents).
    candidates
        ``int64[I]``: candidate drive nodes for new stations.
    cover
        ``bool[I, J]``: candidate ``i`` reaches demand point ``j`` within the standard.
    existing
        ``int64[J]``: existing units reaching each demand point within the standard.
    units_per_station
        Units each new station brings (MEXCLP).
    busy
        Probability ``q`` that a unit is busy (MEXCLP), in ``[0, 1)``.
    """

    demand_nodes: np.ndarray
    demand: np.ndarray
    candidates: np.ndarray
    cover: np.ndarray
    existing: np.ndarray
    units_per_station: int = 1
    busy: float = 0.3

    def __post_init__(self) -> None:
        i, j = len(self.candidates), len(self.demand)
        if self.cover.shape != (i, j) or self.existing.shape != (j,):
            raise SitingError(
                f"cover must be ({i}, {j}) and existing ({j},); got {self.cover.shape} and "
                f"{self.existing.shape}"
            )
        if not 0 <= self.busy < 1:
            raise SitingError(f"busy probability {self.busy} must be in [0, 1)")
        if self.units_per_station < 1:
            raise SitingError(f"units_per_station must be at least 1; got {self.units_per_station}")


@dataclass(frozen=True)
class SitingResult:
    """A proposal: chosen candidate positions and nodes, the objective and its parts.

    Attributes
    ----------
    chosen
        Positions in ``problem.candidates``, in the order they were picked.
    nodes
        Drive nodes of the chosen sites.
    objective
        The model's objective (covered or expected covered demand) with the new sites.
    baseline
        The same objective with existing units only.
    model, exact
        How it was solved.
    """

    chosen: np.ndarray
    nodes: np.ndarray
    objective: float
    baseline: float
    model: str
    exact: bool


def objective(problem: SitingProblem, chosen: Sequence[int], model: str = "mclp") -> float:
    """The model's objective when the candidates ``chosen`` (positions) are opened."""
    _check_model(model)
    chosen = np.asarray(chosen, dtype=np.int64)
    new = problem.cover[chosen].sum(axis=0) if len(chosen) else np.zeros(len(problem.demand))
    if model == "mclp":
        return float(problem.demand @ ((problem.existing + new) > 0))
    units = problem.existing + problem.units_per_station * new
    return float(problem.demand @ (1.0 - problem.busy**units))


def solve(
    problem: SitingProblem,
    k: int,
    *,
    model: str = "mclp",
    exact: bool = False,
    time_limit_s: float = 120.0,
) -> SitingResult:
    """Choose ``k`` new sites.

    Parameters
    ----------
    problem
        The covering problem.
    k
        Sites to open, ``1 <= k <= number of candidates``.
    model
        ``"mclp"`` or ``"mexclp"``.
    exact
        Solve the integer programme (``scipy.optimize.milp``) instead of greedily.
    time_limit_s
        Time limit for the exact solver, seconds (the best solution found is returned).
    """
    _check_model(model)
    n_cand = len(problem.candidates)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_cand:
        raise SitingError(
            f"cannot add {k!r} stations with {n_cand} candidate sites; ask for 1..{n_cand}"
        )
    chosen = _exact(problem, int(k), model, time_limit_s) if exact else _greedy(problem, k, model)
    chosen = np.asarray(chosen, dtype=np.int64)
    return SitingResult(
        chosen=chosen,
        nodes=problem.candidates[chosen],
        objective=objective(problem, chosen, model),
        baseline=objective(problem, [], model),
        model=model,
        exact=exact,
    )


def brute_force(problem: SitingProblem, k: int, *, model: str = "mclp") -> tuple[float, tuple]:
    """The optimum by trying every set of ``k`` candidates (small problems only)."""
    best, best_set = -math.inf, ()
    for subset in itertools.combinations(range(len(problem.candidates)), k):
        value = objective(problem, subset, model)
        if value > best + 1e-12:
            best, best_set = value, subset
    return best, best_set


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise SitingError(f"unknown siting model {model!r}; expected one of {list(MODELS)}")


def _greedy(problem: SitingProblem, k: int, model: str) -> list[int]:
    cover = problem.cover.astype(float)
    units = problem.existing.astype(float)
    q, u = problem.busy, problem.units_per_station
    chosen: list[int] = []
    for _ in range(k):
        if model == "mclp":
            value = problem.demand * (units == 0)
        else:
            value = problem.demand * q**units * (1.0 - q**u)
        gain = cover @ value
        gain[chosen] = -np.inf
        best = int(np.argmax(gain))  # ties go to the lowest position: deterministic
        chosen.append(best)
        units = units + u * problem.cover[best]
    return chosen


def _merge_demand(problem: SitingProblem, useful: np.ndarray):
    """Merge demand points with the same coverage pattern and existing units."""
    cover = problem.cover[:, useful]
    keys = np.vstack([np.packbits(cover, axis=0), problem.existing[useful][None, :] % 256])
    keys = np.vstack([keys, (problem.existing[useful] // 256)[None, :]])
    _, first, inverse = np.unique(keys.T, axis=0, return_index=True, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=problem.demand[useful])
    return cover[:, first], problem.existing[useful][first], weight


def _exact(problem: SitingProblem, k: int, model: str, time_limit_s: float) -> list[int]:
    n_cand = len(problem.candidates)
    reachable = problem.cover.any(axis=0) & (problem.demand > 0)
    if model == "mclp":
        reachable &= problem.existing == 0
    if not reachable.any():
        return _greedy(problem, k, model)  # nothing to gain: any k sites are optimal
    cover, existing, weight = _merge_demand(problem, reachable)
    a = csr_matrix(cover.T.astype(float))  # J' x I
    n_dem = a.shape[0]
    if model == "mclp":
        # max sum w_j y_j; y_j <= sum_i a_ij x_i; sum x = k; y in [0, 1]
        levels = 1
        gains = weight
    else:
        # y_jl for l = 1..L: the l-th new unit reaching j, worth w_j (1-q) q^(e_j + l - 1)
        q, u = problem.busy, problem.units_per_station
        levels = int(min(k, n_cand) * u)
        ls = np.arange(levels)
        gains = (weight[:, None] * (1 - q) * q ** (existing[:, None] + ls[None, :])).ravel()
    n_y = n_dem * levels
    c = np.concatenate([np.zeros(n_cand), -gains])
    # per demand point: sum_l y_jl - u * sum_i a_ij x_i <= 0
    units = 1 if model == "mclp" else problem.units_per_station
    sum_y = csr_matrix(
        (np.ones(n_y), (np.repeat(np.arange(n_dem), levels), np.arange(n_y))), shape=(n_dem, n_y)
    )
    link = hstack([-units * a, sum_y]).tocsr()
    count = hstack([csr_matrix(np.ones((1, n_cand))), csr_matrix((1, n_y))]).tocsr()
    constraints = [
        LinearConstraint(link, -np.inf, 0.0),
        LinearConstraint(count, k, k),
    ]
    integrality = np.concatenate([np.ones(n_cand), np.zeros(n_y)])
    result = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(np.zeros(n_cand + n_y), np.ones(n_cand + n_y)),
        options={"time_limit": time_limit_s, "disp": False},
    )
    if result.x is None:
        raise SitingError(f"the exact siting model found no solution ({result.message})")
    x = result.x[:n_cand]
    return [int(i) for i in np.argsort(-x, kind="stable")[:k]]


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


# -- demand and the check by simulation ------------------------------------------------------
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
    hourly_times: np.ndarray,
    params: EmergencyParams,
    new_stations: Sequence[Station],
    *,
    unit_type: str,
    seeds: Sequence[int],
    minutes: float = 8.0,
    tourists: object | None = None,
    progress: Callable[[], None] | None = None,
) -> SimulatedCheck:
    """Simulate emergency response for a day per seed, without and with ``new_stations``.

    Units drive on the recorded congestion of ``hourly_times`` (:class:`HourlyRoads`); each
    seed gives both variants the same incidents and service times (common random numbers).
    Calls placed during the day (00:00-24:00) count; the run continues to 03:00 next day so
    that late calls are answered.
    """
    check_unit_type(unit_type)
    limit = minutes * 60.0
    times: dict[str, list[np.ndarray]] = {"before": [], "after": []}
    for seed in seeds:
        for label, extra in (("before", ()), ("after", tuple(new_stations))):
            env = simpy.Environment()
            roads = HourlyRoads(env, city.drive, hourly_times)
            model = Emergency(
                env,
                city,
                roads,
                rng=np.random.default_rng(seed),
                params=params,
                tourists=tourists,
                extra_stations=extra,
            )
            model.start()
            env.run(until=DAY_S + 3 * 3600.0)
            table = model.incidents_table()
            table = table[(table["call"] < DAY_S) & (table["unit_type"] == unit_type)]
            times[label].append(table["response_time"].to_numpy(float))
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
