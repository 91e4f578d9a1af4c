# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled one-to-all Dijkstra and one-to-one A* (see ``kernels/shortest_paths.py``).

Inputs arrive validated from the wrapper; nothing here checks ranges.
"""

from libc.math cimport INFINITY, sqrt
from libc.stdint cimport int64_t

from kernels._heap cimport (
    Heap,
    dijkstra_run,
    heap_init,
    heap_pop,
    heap_push_or_decrease,
    search_cleanup,
    twin_max_threads,
)


def max_threads():
    """Threads an OpenMP parallel region would use (1 when built without OpenMP)."""
    return twin_max_threads()


def dijkstra(
    const int64_t[::1] indptr,
    const int64_t[::1] indices,
    const double[::1] weights,
    int64_t source,
    double cutoff,
    double[::1] cost,
    int64_t[::1] pred,
    ws,
):
    """Fill ``cost`` and ``pred`` (length n) with the tree from ``source``."""
    cdef double[:, ::1] hk = ws.heap_key
    cdef int64_t[:, ::1] hv = ws.heap_node
    cdef int64_t[:, ::1] hp = ws.heap_pos
    cdef int64_t n = indptr.shape[0] - 1, i
    cdef Heap h
    with nogil:
        for i in range(n):
            cost[i] = INFINITY
            pred[i] = -1
        heap_init(&h, &hk[0, 0], &hv[0, 0], &hp[0, 0])
        dijkstra_run(
            &indptr[0], &indices[0] if indices.shape[0] else NULL, &weights[0] if weights.shape[0] else NULL,
            NULL, &source, 1, cutoff, NULL, 0, &cost[0], &pred[0], NULL, NULL, &h,
        )
        search_cleanup(&h, NULL, NULL, 0)


cdef inline int64_t _tail_of(const int64_t* indptr, int64_t n, int64_t e) noexcept nogil:
    """The node whose out-edges hold CSR position ``e`` (binary search in ``indptr``)."""
    cdef int64_t lo = 0, hi = n, mid
    # invariant: indptr[lo] <= e < indptr[hi]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if indptr[mid] <= e:
            lo = mid
        else:
            hi = mid
    return lo


def astar(
    const int64_t[::1] indptr,
    const int64_t[::1] indices,
    const double[::1] weights,
    int64_t source,
    int64_t target,
    const double[::1] x,
    const double[::1] y,
    double max_speed,
    ws,
):
    """A* from ``source`` to ``target``; returns ``(cost, k)``.

    ``k`` is the number of edges on the path (``-1`` when unreachable); the path's edges,
    target first, are left in ``ws.order[0, :k]``. Each touched node's heuristic is
    computed once and kept in ``ws.potential``; predecessors are kept as edges only (the
    tail of an edge is found by binary search when the path is read back).
    """
    cdef double[:, ::1] g_rows = ws.dist
    cdef double[:, ::1] hk = ws.heap_key
    cdef int64_t[:, ::1] hv = ws.heap_node
    cdef int64_t[:, ::1] hp = ws.heap_pos
    cdef double[:, ::1] pot_rows = ws.potential
    cdef int64_t[:, ::1] pe_rows = ws.pred_edge
    cdef int64_t[:, ::1] order_rows = ws.order
    cdef double* g = &g_rows[0, 0]
    cdef double* potential = &pot_rows[0, 0]
    cdef int64_t* pred_edge = &pe_rows[0, 0]
    cdef int64_t* touched = &order_rows[0, 0]
    cdef int64_t n = indptr.shape[0] - 1
    cdef int64_t n_touched = 0, u, v, j, k = -1
    cdef double inv_speed = 1.0 / max_speed, xt = x[target], yt = y[target]
    cdef double gu, nd, dx, dy, hv_, result = INFINITY
    cdef Heap h
    with nogil:
        heap_init(&h, &hk[0, 0], &hv[0, 0], &hp[0, 0])
        g[source] = 0.0
        pred_edge[source] = -1
        touched[n_touched] = source
        n_touched += 1
        dx = x[source] - xt
        dy = y[source] - yt
        heap_push_or_decrease(&h, source, sqrt(dx * dx + dy * dy) * inv_speed)
        while h.size > 0:
            u = heap_pop(&h)
            if u == target:
                break
            gu = g[u]
            for j in range(indptr[u], indptr[u + 1]):
                v = indices[j]
                nd = gu + weights[j]
                if nd < g[v]:
                    if g[v] == INFINITY:
                        touched[n_touched] = v
                        n_touched += 1
                        dx = x[v] - xt
                        dy = y[v] - yt
                        hv_ = sqrt(dx * dx + dy * dy) * inv_speed
                        potential[v] = hv_
                    else:
                        hv_ = potential[v]
                    g[v] = nd
                    pred_edge[v] = j
                    # a node already popped is reopened (pos is -1, so it is pushed again)
                    heap_push_or_decrease(&h, v, nd + hv_)
        result = g[target]
        # restore the workspace invariant: g all inf, heap empty
        for j in range(n_touched):
            g[touched[j]] = INFINITY
        search_cleanup(&h, NULL, NULL, 0)
        if result < INFINITY:
            k = 0
            v = target
            while v != source and k < n:
                j = pred_edge[v]
                touched[k] = j
                k += 1
                v = _tail_of(&indptr[0], n, j)
    return result, k
