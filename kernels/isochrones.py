"""Isochrones: the nodes and edges reachable within a cost limit from one or more sources.

A multi-source Dijkstra (every source at cost 0, so a node's cost is its cost from the
nearest source) that labels only nodes within the limit. An edge counts as reachable when
it can be travelled end to end within the limit: ``cost[tail] + weight <= limit`` (and
finite, so a closed edge never counts, even with ``limit=inf``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled
from kernels.shortest_paths import search_reference

__all__ = ["Isochrone", "isochrone", "isochrone_reference"]


class Isochrone(NamedTuple):
    """What can be reached within the limit.

    Attributes
    ----------
    nodes
        ``int64[r]``: reachable nodes, in order of non-decreasing cost (sources first).
    costs
        ``float64[r]``: cost of each of ``nodes`` from its nearest source (seconds when the
        weights are travel times).
    edges
        ``int64[q]``: edges (positions in ``indices``) travelled end to end within the
        limit, i.e. ``cost[tail] + weights[e] <= limit``, grouped by tail in the order of
        ``nodes``.
    """

    nodes: np.ndarray
    costs: np.ndarray
    edges: np.ndarray


def isochrone_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    limit: float,
) -> Isochrone:
    """Isochrone in pure Python; see :func:`isochrone`."""
    dist, _, _, order = search_reference(indptr, indices, weights, sources, cutoff=limit)
    nodes = np.asarray(order, dtype=np.int64)
    edges = [
        e
        for u in order
        for e in range(int(indptr[u]), int(indptr[u + 1]))
        if dist[u] + weights[e] <= limit and dist[u] + weights[e] < math.inf
    ]
    return Isochrone(nodes, dist[nodes], np.asarray(edges, dtype=np.int64))


def isochrone(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray | int,
    limit: float,
) -> Isochrone:
    """Nodes and edges reachable within ``limit`` from any of ``sources``.

    Parameters
    ----------
    indptr, indices
        CSR graph (``int64``; ``int32`` is converted).
    weights
        ``float64[m]`` edge costs, ``>= 0`` (seconds for a time isochrone); ``inf`` closes
        an edge.
    sources
        One node id or an array of them (at least one).
    limit
        Cost budget in the weights' unit (e.g. ``600.0`` for 10 minutes), ``>= 0``.

    Returns
    -------
    Isochrone
        ``(nodes, costs, edges)``: reachable nodes in order of non-decreasing cost with
        their costs from the nearest source, and the edges travelled end to end within
        the limit. ``numpy.unique(indices[edges])`` are the nodes reached over those edges.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    n = len(indptr) - 1
    sources = validation.check_nodes(sources, n, name="sources", allow_empty=False)
    limit = validation.check_limit(limit, name="limit")
    return isochrone_checked(indptr, indices, weights, sources, limit)


def isochrone_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    limit: float,
    ws: workspace.Workspace | None = None,
) -> Isochrone:
    """:func:`isochrone` on validated input, optionally in a caller-owned workspace."""
    cy = compiled("_isochrones_cy")
    if cy is None:
        return isochrone_reference(indptr, indices, weights, sources, limit)
    with workspace.lend(ws, len(indptr) - 1) as ws:
        return Isochrone(*cy.isochrone(indptr, indices, weights, sources, limit, ws))
