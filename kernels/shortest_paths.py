"""One-to-all shortest paths (Dijkstra) over a CSR graph.

Provisional: the pure-Python reference only. The compiled backend, input validation and
the other routing kernels come with the routing-kernels work.
"""

from __future__ import annotations

import heapq

import numpy as np


def dijkstra_reference(indptr, indices, weights, source, cutoff=None):
    """Binary-heap Dijkstra; returns ``(cost, pred)`` (``inf`` / ``-1`` where unreachable)."""
    n = len(indptr) - 1
    cost = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    cost[source] = 0.0
    heap = [(0.0, int(source))]
    limit = np.inf if cutoff is None else float(cutoff)
    while heap:
        d, u = heapq.heappop(heap)
        if d > cost[u]:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            nd = d + weights[e]
            if nd < cost[v] and nd <= limit:
                cost[v] = nd
                pred[v] = u
                heapq.heappush(heap, (nd, int(v)))
    return cost, pred


def dijkstra(indptr, indices, weights, source, *, cutoff=None):
    """Costs from ``source`` to every node and the predecessor tree."""
    return dijkstra_reference(indptr, indices, weights, source, cutoff)
