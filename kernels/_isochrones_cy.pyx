# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled isochrone (see ``kernels/isochrones.py``): a multi-source Dijkstra cut off at
the limit, then the edges that can be travelled end to end within it.

Inputs arrive validated from the wrapper; nothing here checks ranges.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int64_t

from kernels._heap cimport Heap, HeapRows, dijkstra_run, heap_init_row, heap_rows, search_cleanup


def isochrone(
    const int64_t[::1] indptr,
    const int64_t[::1] indices,
    const double[::1] weights,
    const int64_t[::1] sources,
    double limit,
    ws,
):
    """Return ``(nodes, costs, edges)`` reachable within ``limit`` (see the wrapper)."""
    cdef double[:, ::1] dist_rows = ws.dist
    cdef int64_t[:, ::1] order_rows = ws.order
    cdef HeapRows rows = heap_rows(ws)
    cdef double* dist = &dist_rows[0, 0]
    cdef int64_t* order = &order_rows[0, 0]
    cdef const int64_t* ix = &indices[0] if indices.shape[0] else NULL
    cdef const double* w = &weights[0] if weights.shape[0] else NULL
    cdef int64_t count, i, j, u, n_edges = 0
    cdef double du
    cdef Heap h
    with nogil:
        heap_init_row(&h, &rows, 0)
        count = dijkstra_run(
            &indptr[0], ix, w, NULL, &sources[0], sources.shape[0], limit, NULL, 0,
            dist, NULL, NULL, order, &h,
        )
        for i in range(count):
            u = order[i]
            du = dist[u]
            for j in range(indptr[u], indptr[u + 1]):
                if du + w[j] <= limit and du + w[j] < INFINITY:
                    n_edges += 1
    nodes = np.empty(count, dtype=np.int64)
    costs = np.empty(count, dtype=np.float64)
    edges = np.empty(n_edges, dtype=np.int64)
    cdef int64_t[::1] nodes_v = nodes
    cdef double[::1] costs_v = costs
    cdef int64_t[::1] edges_v = edges
    with nogil:
        n_edges = 0
        for i in range(count):
            u = order[i]
            du = dist[u]
            nodes_v[i] = u
            costs_v[i] = du
            for j in range(indptr[u], indptr[u + 1]):
                if du + w[j] <= limit and du + w[j] < INFINITY:
                    edges_v[n_edges] = j
                    n_edges += 1
        search_cleanup(&h, dist, order, count)
    return nodes, costs, edges
