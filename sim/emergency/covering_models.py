"""Covering location models: where to open ``K`` sites so that demand is reached in time.

A :class:`SitingProblem` holds demand points (weights, e.g. expected calls or residents),
candidate sites, which candidates reach which demand points within the time standard, and
how many existing units already reach each point. It knows nothing of a city:
:func:`sim.emergency.siting.build_problem` builds one on a road network.

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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix, hstack

from twin.errors import TwinError

__all__ = [
    "MODELS",
    "SitingError",
    "SitingProblem",
    "SitingResult",
    "brute_force",
    "objective",
    "solve",
]

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
