# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled one-to-all Dijkstra and one-to-one A* (see ``kernels/shortest_paths.py``).

Inputs arrive validated from the wrapper; Dijkstra checks nothing here. A*'s wrapper may
rely on a cached verdict (``kernels.validation.remember``), so A* checks each node range,
head and weight it reads and reports a status instead of reading out of bounds.
"""

from libc.math cimport INFINITY, sqrt
from libc.stdint cimport int64_t, uint64_t

from kernels._heap cimport (
    Heap,
    HeapRows,
    dijkstra_tree,
    heap_init_row,
    heap_pop,
    heap_push_or_decrease,
    heap_rows,
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
    cdef HeapRows rows = heap_rows(ws)
    cdef const int64_t* ix = &indices[0] if indices.shape[0] else NULL
    cdef const double* w = &weights[0] if weights.shape[0] else NULL
    with nogil:
        dijkstra_tree(
            &indptr[0], ix, w, NULL, indptr.shape[0] - 1, source, cutoff,
            &cost[0], &pred[0], NULL, &rows, 0,
        )


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


cdef inline double _alt_bound(const double* row_v, const double* row_t, int64_t k) noexcept nogil:
    """ALT lower bound on d(v, t): max over landmarks of d(L,t) - d(L,v) and d(v,L) - d(t,L).

    A row holds ``d(L_i, .)`` for the ``k`` landmarks, then ``d(., L_i)``. ``inf - inf`` is
    NaN and fails every comparison, so a landmark that reaches neither node says nothing;
    ``inf`` comes out only when ``t`` is provably unreachable from ``v``.
    """
    cdef double best = 0.0, a
    cdef int64_t i
    for i in range(k):
        a = row_t[i] - row_v[i]
        if a > best:
            best = a
        a = row_v[k + i] - row_t[k + i]
        if a > best:
            best = a
    return best


cdef inline double _potential(
    int64_t v,
    const double* x,
    const double* y,
    double xt,
    double yt,
    bint straight,
    double inv_speed,
    const double* table,
    const double* row_t,
    int64_t n_lm,
) noexcept nogil:
    """A*'s heuristic of node ``v``: the straight-line time to the target ``(xt, yt)`` at the
    top speed (when ``straight``) and, with ``n_lm`` landmarks, the larger ALT bound."""
    cdef double bound = 0.0, dx, dy, a
    if straight:
        dx = x[v] - xt
        dy = y[v] - yt
        bound = sqrt(dx * dx + dy * dy) * inv_speed
    if n_lm:
        a = _alt_bound(table + v * 2 * n_lm, row_t, n_lm)
        if a > bound:
            bound = a
    return bound


cdef enum:
    # status codes of astar (the wrapper turns them into KernelInputError)
    ASTAR_OK = 0
    ASTAR_BAD_INDPTR = 1
    ASTAR_BAD_HEAD = 2
    ASTAR_BAD_WEIGHT = 3
    ASTAR_BELOW_LANDMARK_WEIGHT = 4


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
    const double[:, ::1] lm_table=None,
    const double[::1] lm_weights=None,
):
    """A* from ``source`` to ``target``; returns ``(cost, k, status, where)``.

    ``k`` is the number of edges on the path (``-1`` when unreachable); the path's edges,
    target first, are left in ``ws.order[0, :k]``. Each touched node's heuristic is
    computed once and kept in ``ws.potential``: the straight-line time at ``max_speed``
    (skipped when it is ``inf``) and, with a landmark table (row ``v`` =
    ``d(L_0..k-1, v)`` then ``d(v, L_0..k-1)``), the larger ALT bound. Predecessors are kept as edges only
    (the tail of an edge is found by binary search when the path is read back).

    The wrapper may skip whole-graph checks (cached verdicts), so every expanded node's
    ``indptr`` range, every relaxed edge's head and weight, and (with ``lm_weights``) the
    weight's dominance over the landmarks' weight are checked here; a failure stops the
    search with ``status`` > 0 and ``where`` = the node or edge at fault, never an
    out-of-bounds read.
    """
    cdef double[:, ::1] g_rows = ws.dist
    cdef HeapRows rows = heap_rows(ws)
    cdef double[:, ::1] pot_rows = ws.potential
    cdef int64_t[:, ::1] pe_rows = ws.pred_edge
    cdef int64_t[:, ::1] order_rows = ws.order
    cdef double* g = &g_rows[0, 0]
    cdef double* potential = &pot_rows[0, 0]
    cdef int64_t* pred_edge = &pe_rows[0, 0]
    cdef int64_t* touched = &order_rows[0, 0]
    cdef int64_t n = indptr.shape[0] - 1, m = indices.shape[0]
    cdef int64_t n_touched = 0, u, v, j, lo, hi, k = -1, status = 0, where = -1, n_lm = 0
    cdef bint straight = max_speed < INFINITY
    cdef double inv_speed = 1.0 / max_speed, xt = x[target], yt = y[target]
    cdef double gu, nd, hv_, wj, result = INFINITY
    cdef const double* xs = &x[0]
    cdef const double* ys = &y[0]
    cdef const double* table = NULL
    cdef const double* lw = NULL
    cdef const double* row_t = NULL
    cdef const int64_t* ip = &indptr[0]
    cdef const int64_t* hd = &indices[0] if m else NULL
    cdef const double* wt = &weights[0] if m else NULL
    cdef Heap h
    if lm_table is not None and lm_table.shape[1] > 0:
        n_lm = lm_table.shape[1] // 2
        table = &lm_table[0, 0]
        row_t = table + target * 2 * n_lm
        if lm_weights is not None and lm_weights.shape[0] > 0:
            lw = &lm_weights[0]
    # A* keeps its own loop instead of _heap.dijkstra_run: it checks every range, head and
    # weight it reads (the wrapper may trust a cached verdict), keys the heap by cost plus
    # potential, reopens nodes and stops at the target, and folding those in as options
    # would put branches in the loop every other kernel runs.
    with nogil:
        heap_init_row(&h, &rows, 0)
        g[source] = 0.0
        pred_edge[source] = -1
        touched[n_touched] = source
        n_touched += 1
        hv_ = _potential(source, xs, ys, xt, yt, straight, inv_speed, table, row_t, n_lm)
        if hv_ < INFINITY:
            heap_push_or_decrease(&h, source, hv_)
        while h.size > 0:
            u = heap_pop(&h)
            if u == target:
                break
            gu = g[u]
            lo = ip[u]
            hi = ip[u + 1]
            if lo < 0 or hi > m or lo > hi:
                status = ASTAR_BAD_INDPTR
                where = u
                break
            for j in range(lo, hi):
                v = hd[j]
                wj = wt[j]
                if <uint64_t>v >= <uint64_t>n:
                    status = ASTAR_BAD_HEAD
                    where = j
                    break
                if not wj >= 0.0:
                    status = ASTAR_BAD_WEIGHT
                    where = j
                    break
                if lw != NULL and wj < lw[j]:
                    status = ASTAR_BELOW_LANDMARK_WEIGHT
                    where = j
                    break
                nd = gu + wj
                if nd < g[v]:
                    if g[v] == INFINITY:
                        touched[n_touched] = v
                        n_touched += 1
                        hv_ = _potential(
                            v, xs, ys, xt, yt, straight, inv_speed, table, row_t, n_lm
                        )
                        potential[v] = hv_
                    else:
                        hv_ = potential[v]
                    g[v] = nd
                    pred_edge[v] = j
                    # h = inf proves v cannot reach the target: label it, never expand it.
                    # A node already popped is reopened (pos is -1, so it is pushed again).
                    if hv_ < INFINITY:
                        heap_push_or_decrease(&h, v, nd + hv_)
            if status:
                break
        result = g[target] if status == 0 else INFINITY
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
                v = _tail_of(ip, n, j)
    return result, k, status, where
