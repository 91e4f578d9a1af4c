"""Shortest paths over a CSR graph: one-to-all Dijkstra and one-to-one A*.

The graph is CSR as scipy defines it: node ``i``'s out-edges are ``indptr[i]:indptr[i+1]``,
``indices[e]`` is the head of edge ``e`` and ``weights[e]`` its cost (seconds for travel
times, but any additive cost ``>= 0`` works; ``inf`` closes an edge). Edge numbers are
positions in ``indices``.

Each public function validates its input (:mod:`kernels.validation`), borrows reusable work
buffers (:mod:`kernels.workspace`) and runs the compiled loop from
``kernels._shortest_paths_cy``, or the pure-Python reference in this module under
``TWIN_KERNELS=python``. The references state the algorithms:

- **Dijkstra** with a binary heap: pop the unsettled node of least tentative cost, settle it,
  relax its out-edges; a node is labelled only when its cost is ``<= cutoff``.
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
it in full on every call.
"""

from __future__ import annotations

import heapq
import math
import os
from typing import NamedTuple

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled
from kernels.errors import KernelInputError
from kernels.landmarks import Landmarks, alt_bound, check_landmarks, find_landmarks

__all__ = [
    "LandmarkWeightError",
    "Path",
    "astar",
    "astar_reference",
    "consistent_speed",
    "dijkstra",
    "dijkstra_reference",
    "search_reference",
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


# -- references ----------------------------------------------------------------------------
def search_reference(
    indptr: np.ndarray,
    heads: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    *,
    cutoff: float = _INF,
    stop_at: np.ndarray | None = None,
    edge_ids: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Multi-source Dijkstra, the specification that the compiled search follows.

    Parameters
    ----------
    indptr, heads, weights
        CSR graph (already validated).
    sources
        Start nodes, all at cost 0.
    cutoff
        Nodes whose cost would exceed this are left unlabelled.
    stop_at
        Stop once every one of these nodes is settled (``None``: search everything).
    edge_ids
        Number to record in ``pred_edge`` for CSR position ``j`` (``edge_ids[j]``; the CSR
        position itself when ``None``). Reversed graphs use it to name original edges.

    Returns
    -------
    dist, pred, pred_edge, order
        Costs (``inf`` unlabelled), predecessor node and edge (``-1`` at sources and
        unlabelled nodes), and the settled nodes in order of non-decreasing cost.
    """
    n = len(indptr) - 1
    ptr = indptr.tolist()
    hd = heads.tolist()
    w = weights.tolist()
    ids = edge_ids.tolist() if edge_ids is not None else None
    dist = [_INF] * n
    pred = [-1] * n
    pred_edge = [-1] * n
    done = [False] * n
    heap: list[tuple[float, int]] = []
    for s in sources.tolist():
        if dist[s] > 0.0:
            dist[s] = 0.0
            heap.append((0.0, s))
    heapq.heapify(heap)
    pending = set(stop_at.tolist()) if stop_at is not None else None
    order: list[int] = []
    while heap:
        d, u = heapq.heappop(heap)
        if done[u] or d > dist[u]:
            continue
        done[u] = True
        order.append(u)
        if pending is not None:
            pending.discard(u)
            if not pending:
                break
        for j in range(ptr[u], ptr[u + 1]):
            v = hd[j]
            nd = d + w[j]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                pred[v] = u
                pred_edge[v] = j if ids is None else ids[j]
                heapq.heappush(heap, (nd, v))
    return (
        np.asarray(dist, dtype=np.float64),
        np.asarray(pred, dtype=np.int64),
        np.asarray(pred_edge, dtype=np.int64),
        order,
    )


def dijkstra_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source: int,
    cutoff: float = _INF,
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-all Dijkstra in pure Python; see :func:`dijkstra`."""
    dist, pred, _, _ = search_reference(
        indptr, indices, weights, np.array([source], dtype=np.int64), cutoff=cutoff
    )
    return dist, pred


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


# -- public wrappers -----------------------------------------------------------------------
_BACKENDS: dict[str | None, object] = {}


def _backend():
    """``compiled("_shortest_paths_cy")``, memoised per ``TWIN_KERNELS`` value (A*'s calls are
    short enough for the import lookup to show)."""
    key = os.environ.get("TWIN_KERNELS")
    try:
        return _BACKENDS[key]
    except KeyError:
        module = _BACKENDS[key] = compiled("_shortest_paths_cy")
        return module


def dijkstra(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source: int,
    *,
    cutoff: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Costs from ``source`` to every node and the predecessor tree (one-to-all Dijkstra).

    Parameters
    ----------
    indptr, indices
        CSR graph: ``int64`` (``int32`` is converted), ``indptr`` of length ``n + 1``.
    weights
        ``float64[m]`` cost of each edge (seconds, metres, …), ``>= 0``; ``inf`` = closed.
    source
        Start node, ``0..n-1``.
    cutoff
        Only nodes whose cost is ``<= cutoff`` are labelled; the others read ``inf`` / ``-1``.
        Searching stops there, so a cut-off is also a speed-up.

    Returns
    -------
    cost : numpy.ndarray
        ``float64[n]``: least cost from ``source`` (``inf`` where unreachable).
    pred : numpy.ndarray
        ``int64[n]``: the previous node on a least-cost path; ``-1`` at the source and at
        unreachable nodes.

    Raises
    ------
    KernelInputError
        Malformed arrays, negative or NaN weights, or a source out of range.

    Notes
    -----
    Hot callers that route many times on one topology should use a
    :class:`kernels.Router`, which validates the topology once and owns its buffers.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    n = len(indptr) - 1
    source = validation.check_node(source, n, name="source")
    limit = validation.check_limit(cutoff, name="cutoff", allow_none=True)
    return dijkstra_checked(indptr, indices, weights, source, limit)


def dijkstra_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    source: int,
    cutoff: float,
    ws: workspace.Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dijkstra` on validated input, optionally in a caller-owned workspace."""
    cy = _backend()
    if cy is None:
        return dijkstra_reference(indptr, indices, weights, source, cutoff)
    n = len(indptr) - 1
    cost = np.empty(n, dtype=np.float64)
    pred = np.empty(n, dtype=np.int64)
    own = ws is None
    if own:
        ws = workspace.borrow(n, 1)
    try:
        cy.dijkstra(indptr, indices, weights, source, cutoff, cost, pred, ws)
    finally:
        if own:
            workspace.give_back(ws)
    return cost, pred


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
    own = ws is None
    if own:
        ws = workspace.borrow(n, 1)
    try:
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
    finally:
        if own:
            workspace.give_back(ws)
    return float(cost), Path(nodes, edges)
