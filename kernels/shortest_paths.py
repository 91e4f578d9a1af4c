"""Shortest paths over a CSR graph: one-to-all Dijkstra, the search the other kernels share.

The graph is CSR as scipy defines it: node ``i``'s out-edges are ``indptr[i]:indptr[i+1]``,
``indices[e]`` is the head of edge ``e`` and ``weights[e]`` its cost (seconds for travel
times, but any additive cost ``>= 0`` works; ``inf`` closes an edge). Edge numbers are
positions in ``indices``.

Each public function validates its input (:mod:`kernels.validation`), borrows reusable work
buffers (:mod:`kernels.workspace`) and runs the compiled loop from
``kernels._shortest_paths_cy``, or the pure-Python reference in this module under
``TWIN_KERNELS=python``. The reference states the algorithm:

- **Dijkstra** with a binary heap: pop the unsettled node of least tentative cost, settle it,
  relax its out-edges; a node is labelled only when its cost is ``<= cutoff``.

:func:`search_reference` is the multi-source form that the references of the cost-matrix,
isochrone and next-hop kernels build on. One-to-one A* (:func:`astar`, :class:`Path`,
:func:`consistent_speed` …) lives in :mod:`kernels.astar_search`.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled_cached

__all__ = [
    "dijkstra",
    "dijkstra_reference",
    "search_reference",
]

_INF = math.inf


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


# -- public wrappers -----------------------------------------------------------------------
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
    cy = compiled_cached("_shortest_paths_cy")
    if cy is None:
        return dijkstra_reference(indptr, indices, weights, source, cutoff)
    n = len(indptr) - 1
    cost = np.empty(n, dtype=np.float64)
    pred = np.empty(n, dtype=np.int64)
    with workspace.lend(ws, n) as ws:
        cy.dijkstra(indptr, indices, weights, source, cutoff, cost, pred, ws)
    return cost, pred
