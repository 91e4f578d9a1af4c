"""One-to-one A* over a CSR graph, with a straight-line bound and optional ALT landmarks.

The graph and weights are as for :mod:`kernels.shortest_paths` (Dijkstra, the search every
other kernel builds on); this module adds the goal-directed search. :func:`astar` validates
its input, borrows reusable work buffers (:mod:`kernels.workspace`) and runs the compiled
loop from ``kernels._shortest_paths_cy``, or :func:`astar_reference` under
``TWIN_KERNELS=python``. The reference states the algorithm:

- **A\\*** with the heuristic ``h(v) = |p(v) − p(target)| / max_speed`` (straight-line
  distance over the top speed). It is admissible when no edge is faster than
  ``max_speed``, i.e. ``weights[e] >= distance(e) / max_speed``, which holds for travel
  times computed from lengths and speeds ``<= max_speed``. Nodes may be reopened, so an
  admissible but inconsistent heuristic still gives the optimum. With ALT landmark tables
  (:mod:`kernels.landmarks`) the heuristic is the larger of that and the landmark bound
  ``max_L max(d(L, t) - d(L, v), d(v, L) - d(t, L))``; a node whose bound is ``inf``
  provably cannot reach the target and is never expanded.

:func:`astar` explores a small part of the graph, so it checks the whole graph once per
array identity (cached verdicts, :func:`kernels.validation.remember`) and the compiled loop
checks every edge it relaxes; the other kernels, which read the whole graph anyway, check
it in full on every call. Everything here is also importable from
:mod:`kernels.shortest_paths`.
"""

from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled_cached
from kernels.errors import KernelInputError
from kernels.landmarks import Landmarks, alt_bound, check_landmarks, find_landmarks

__all__ = [
    "LandmarkWeightError",
    "Path",
    "astar",
    "astar_checked",
    "astar_reference",
    "check_max_speed",
    "consistent_speed",
]

_INF = math.inf
_NO_EDGES = np.zeros(0, dtype=np.int64)


class Path(NamedTuple):
    """A route as node and edge sequences.

    Attributes
    ----------
    nodes
        ``int64[k + 1]``: nodes from source to target (``[source]`` when they are equal;
        empty when the target is unreachable).
    edges
        ``int64[k]``: edge numbers (positions in ``indices``) along the route, so that edge
        ``edges[i]`` runs from ``nodes[i]`` to ``nodes[i + 1]``.
    """

    nodes: np.ndarray
    edges: np.ndarray


def astar_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source: int,
    target: int,
    x: np.ndarray,
    y: np.ndarray,
    max_speed: float,
    landmarks: Landmarks | None = None,
) -> tuple[float, Path]:
    """One-to-one A* in pure Python; see :func:`astar`.

    The heuristic is the straight-line time at ``max_speed`` (none when it is ``inf``) and,
    with ``landmarks``, the larger ALT bound; nodes whose bound is ``inf`` are labelled but
    never expanded.
    """
    ptr = indptr.tolist()
    hd = indices.tolist()
    w = weights.tolist()
    xs, ys = x.tolist(), y.tolist()
    xt, yt = xs[target], ys[target]

    def h(v: int) -> float:
        bound = math.hypot(xs[v] - xt, ys[v] - yt) / max_speed if max_speed < _INF else 0.0
        if landmarks is not None:
            bound = max(bound, alt_bound(landmarks.from_landmark, landmarks.to_landmark, v, target))
        return bound

    g = {source: 0.0}
    pred_edge: dict[int, int] = {}
    pred: dict[int, int] = {}
    heap = [(h(source), source)] if h(source) < _INF else []
    while heap:
        f, u = heapq.heappop(heap)
        gu = g[u]
        if f > gu + h(u):  # stale entry
            continue
        if u == target:
            break
        for j in range(ptr[u], ptr[u + 1]):
            v = hd[j]
            nd = gu + w[j]
            if nd < g.get(v, _INF):
                g[v] = nd
                pred[v] = u
                pred_edge[v] = j
                hv = h(v)
                if hv < _INF:
                    heapq.heappush(heap, (nd + hv, v))
    cost = g.get(target, _INF)
    if cost == _INF:
        return _INF, Path(_NO_EDGES.copy(), _NO_EDGES.copy())
    nodes, edges = [target], []
    while nodes[-1] != source:
        edges.append(pred_edge[nodes[-1]])
        nodes.append(pred[nodes[-1]])
    return cost, Path(
        np.asarray(nodes[::-1], dtype=np.int64), np.asarray(edges[::-1], dtype=np.int64)
    )


def _backend():
    """The compiled A* module or ``None`` (memoised: A*'s calls are short enough for the
    import lookup to show)."""
    return compiled_cached("_shortest_paths_cy")


def astar(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source: int,
    target: int,
    *,
    x: np.ndarray,
    y: np.ndarray,
    max_speed: float,
    landmarks: Landmarks | bool | None = None,
) -> tuple[float, Path]:
    """Least cost and route from ``source`` to ``target`` (A* with a straight-line bound).

    Parameters
    ----------
    indptr, indices, weights
        CSR graph and edge costs, as for :func:`dijkstra`.
    source, target
        End nodes, ``0..n-1``.
    x, y
        ``float64[n]`` projected node coordinates, metres.
    max_speed
        Top speed, metres per second (metres per weight unit): no edge may be faster, i.e.
        ``weights[e] >= straight-line length(e) / max_speed``, or the heuristic overestimates
        and the route may not be the cheapest. For travel times from the network's speeds
        pass ``speed.max()``; for lengths as weights pass ``1.0``. ``inf`` turns the
        straight-line bound off (useful with ``landmarks``).
    landmarks
        ALT tables from :func:`kernels.prepare_landmarks` for this graph, computed with
        weights no higher than ``weights`` anywhere (e.g. free-flow times while
        ``weights`` are congested times). They tighten the bound several-fold; the cost is
        the same, the route may differ only among equal-cost ties. ``None`` (default):
        use live tables prepared on these same ``indptr`` / ``indices`` arrays when some
        fit ``weights`` (:func:`kernels.landmarks.find_landmarks`), else the straight-line
        bound alone; ``False``: the straight-line bound alone.

    Returns
    -------
    cost : float
        Least cost (``inf`` when ``target`` is unreachable).
    path : Path
        ``path.nodes`` and ``path.edges`` (edge numbers in ``indices``), empty when
        unreachable.

    Raises
    ------
    KernelInputError
        Malformed arrays, negative or NaN weights, a node out of range, a bad
        ``max_speed``, or landmarks of another graph or for higher weights.

    Notes
    -----
    The whole-graph checks run once per array identity (see
    :func:`kernels.validation.remember`): calling again with the same arrays costs
    ``O(1)`` in checks, plus what the search explores. Arrays edited in place after a call
    are re-checked when the cheap fingerprint notices; every edge the compiled search
    relaxes is checked in any case.
    """
    cy = _backend()
    arrays = (indptr, indices, weights, x, y)
    if (
        cy is not None
        and all(validation.exact_array(a, np.float64) for a in arrays[2:])
        and all(validation.exact_array(a, np.int64) for a in arrays[:2])
    ):
        # nothing to convert: check the whole graph once per array identity
        validation.remember("astar", arrays, lambda: bool(_check_astar_arrays(*arrays)))
    else:  # the reference has no per-edge checks: check everything, every call
        indptr, indices, weights, x, y = _check_astar_arrays(*arrays)
    n = len(indptr) - 1
    source = validation.check_node(source, n, name="source")
    target = validation.check_node(target, n, name="target")
    speed = check_max_speed(max_speed)
    if landmarks is None:  # tables the caller prepared for this graph, if any fit
        found = find_landmarks(indptr, indices, weights)
        if found is not None:
            try:
                return _astar_run(
                    cy, indptr, indices, weights, source, target, x, y, speed, None, found
                )
            except LandmarkWeightError:  # weights lowered in place since the verdict
                pass
        landmarks = False
    if landmarks is False:
        return _astar_run(cy, indptr, indices, weights, source, target, x, y, speed, None, None)
    landmarks = check_landmarks(landmarks, indptr, indices, weights)
    return _astar_run(cy, indptr, indices, weights, source, target, x, y, speed, None, landmarks)


def _check_astar_arrays(
    indptr: object, indices: object, weights: object, x: object, y: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    x, y = validation.check_coordinates(x, y, len(indptr) - 1)
    return indptr, indices, weights, x, y


def check_max_speed(max_speed: object) -> float:
    """Validate A*'s top speed (metres per weight unit, ``> 0``; ``inf`` turns the bound off)."""
    try:
        speed = float(max_speed)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise KernelInputError(f"max_speed must be a number > 0, got {max_speed!r}") from None
    if not speed > 0:
        raise KernelInputError(
            f"max_speed must be a number > 0 (metres per second), got {max_speed!r}; "
            "kernels.consistent_speed(...) gives the tightest safe value"
        )
    return speed


def consistent_speed(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    *,
    x: np.ndarray,
    y: np.ndarray,
) -> float:
    """The tightest ``max_speed`` for which :func:`astar`'s bound is exact on these weights.

    It is the largest straight-line speed over any edge, ``max(length(e) / weights[e])``
    with ``length`` the distance between the edge's end nodes, so that
    ``weights[e] >= length(e) / max_speed`` everywhere (the heuristic is consistent). A
    network's top speed can be slightly too low, because stored lengths are rounded and
    can fall short of the straight line; this never is. Closed (``inf``) edges are ignored;
    a zero-cost edge between distinct points gives ``inf`` (no bound; A* then searches like
    Dijkstra with an early stop).

    Parameters
    ----------
    indptr, indices, weights
        CSR graph and edge costs (seconds for travel times).
    x, y
        Projected node coordinates, metres.

    Returns
    -------
    float
        Metres per weight unit (metres per second for travel times); ``1.0`` when no edge
        spans any distance.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    n = len(indptr) - 1
    x, y = validation.check_coordinates(x, y, n)
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    length = np.hypot(x[tails] - x[indices], y[tails] - y[indices])
    if ((weights == 0) & (length > 0)).any():
        return math.inf
    moving = (weights > 0) & (length > 0) & np.isfinite(weights)
    if not moving.any():
        return 1.0
    return float((length[moving] / weights[moving]).max())


class LandmarkWeightError(KernelInputError):
    """An edge's weight fell below the weight the landmark tables were prepared with."""


_ASTAR_STATUS = {
    1: "indptr[{where}] .. indptr[{after}] do not bound node {where}'s out-edges within "
    "0..len(indices) (changed in place after it was checked?); pass a valid CSR graph",
    2: "indices[{where}] is not a node of this graph (changed in place after it was "
    "checked?); every head must be in 0..n-1",
    3: "weights[{where}] is negative or NaN (changed in place after it was checked?); "
    "edge weights must be >= 0 (inf for a closed edge)",
}


def astar_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source: int,
    target: int,
    x: np.ndarray,
    y: np.ndarray,
    max_speed: float,
    ws: workspace.Workspace | None = None,
    *,
    landmarks: Landmarks | None = None,
) -> tuple[float, Path]:
    """:func:`astar` on validated input, optionally in a caller-owned workspace.

    ``landmarks`` must already be checked for this graph and these weights; the compiled
    search still verifies ``weights[e] >= landmarks.weights[e]`` on every edge it relaxes
    and raises :class:`LandmarkWeightError` otherwise.
    """
    return _astar_run(
        _backend(), indptr, indices, weights, source, target, x, y, max_speed, ws, landmarks
    )


def _astar_run(cy, indptr, indices, weights, source, target, x, y, max_speed, ws, landmarks):
    if cy is None:
        return astar_reference(indptr, indices, weights, source, target, x, y, max_speed, landmarks)
    n = len(indptr) - 1
    lm_table = lm_weights = None
    if landmarks is not None:
        lm_table = landmarks.table
        if landmarks.weights is not weights:
            lm_weights = landmarks.weights
    with workspace.lend(ws, n) as ws:
        cost, k, status, where = cy.astar(
            indptr,
            indices,
            weights,
            source,
            target,
            x,
            y,
            max_speed,
            ws,
            lm_table,
            lm_weights,
        )
        if status == 4:
            raise LandmarkWeightError(
                f"weights[{where}] = {weights[where]!r} is below the "
                f"{landmarks.weights[where]!r} the landmarks were prepared with; prepare "  # type: ignore[union-attr]
                "them with the lowest weights you route on (e.g. free-flow times)"
            )
        if status:
            raise KernelInputError(_ASTAR_STATUS[status].format(where=where, after=where + 1))
        if k < 0:
            return _INF, Path(_NO_EDGES.copy(), _NO_EDGES.copy())
        # the compiled search leaves the path's edges, target first, in ws.order[0, :k]
        edges = ws.order[0, :k][::-1].copy()
        nodes = np.empty(k + 1, dtype=np.int64)
        nodes[0] = source
        nodes[1:] = indices[edges]
    return float(cost), Path(nodes, edges)
