# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled incremental next-hop updates (see ``kernels/next_hop_updates.py``, which holds
the pure-Python reference): rows spread over threads with OpenMP ``prange`` and the GIL
released, each thread with its own scratch row. Inputs arrive validated.
"""

from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t

from kernels._heap cimport Heap, heap_init, heap_pop, heap_push_or_decrease, twin_max_threads


def max_threads():
    """Threads an OpenMP parallel region would use (1 when built without OpenMP)."""
    return twin_max_threads()


cdef int64_t update_row(
    const int64_t* indptr,
    const int64_t* heads,
    const int64_t* tails,
    const double* weights,
    const double* old,
    const int64_t* rindptr,
    const int64_t* rtails,
    const int64_t* redges,
    const int64_t* changed,
    int64_t k,
    int64_t n,
    double* cost,
    int32_t* next_edge,
    int64_t* stack,
    int64_t* invalid,
    uint8_t* mark,
    double* heap_key,
    int64_t* heap_node,
    int64_t* heap_pos,
) noexcept nogil:
    cdef int64_t i, j, e, u, v, x, c, p, top, count = 0, n_invalid = 0, best_edge
    cdef double cand, best, d
    cdef bint raised = False
    cdef Heap heap
    cdef Heap* h = &heap
    heap_init(h, heap_key, heap_node, heap_pos)
    for i in range(k):
        e = changed[i]
        if weights[e] > old[e] and next_edge[tails[e]] == e:
            raised = True
            break
    if raised:
        # every node whose path used a raised edge loses its label: the edge's tail and,
        # walking the reversed graph, each node whose next edge leads into a lost one
        for i in range(k):
            e = changed[i]
            u = tails[e]
            if weights[e] > old[e] and next_edge[u] == e and not mark[u]:
                mark[u] = 1
                invalid[n_invalid] = u
                n_invalid += 1
                top = 0
                stack[top] = u
                top += 1
                while top > 0:
                    top -= 1
                    x = stack[top]
                    for j in range(rindptr[x], rindptr[x + 1]):
                        c = rtails[j]
                        if next_edge[c] == redges[j] and not mark[c]:
                            mark[c] = 1
                            invalid[n_invalid] = c
                            n_invalid += 1
                            stack[top] = c
                            top += 1
        for i in range(n_invalid):
            x = invalid[i]
            cost[x] = INFINITY
            next_edge[x] = -1
        # relabel them from their neighbours that kept theirs
        for i in range(n_invalid):
            x = invalid[i]
            best = INFINITY
            best_edge = -1
            for j in range(indptr[x], indptr[x + 1]):
                v = heads[j]
                if not mark[v] and cost[v] < INFINITY:
                    cand = weights[j] + cost[v]
                    if cand < best:
                        best = cand
                        best_edge = j
            if best_edge >= 0:
                cost[x] = best
                next_edge[x] = <int32_t>best_edge
                heap_push_or_decrease(h, x, best)
    # lowered edges that now give a shorter way
    for i in range(k):
        e = changed[i]
        if weights[e] < old[e]:
            u = tails[e]
            v = heads[e]
            if cost[v] < INFINITY:
                cand = weights[e] + cost[v]
                if cand < cost[u]:
                    cost[u] = cand
                    next_edge[u] = <int32_t>e
                    heap_push_or_decrease(h, u, cand)
    # Dijkstra from the changed nodes over the reversed graph
    while h.size > 0:
        x = heap_pop(h)
        count += 1
        d = cost[x]
        for j in range(rindptr[x], rindptr[x + 1]):
            p = rtails[j]
            e = redges[j]
            cand = d + weights[e]
            if cand < cost[p]:
                cost[p] = cand
                next_edge[p] = <int32_t>e
                heap_push_or_decrease(h, p, cand)
    for i in range(n_invalid):
        mark[invalid[i]] = 0
    return count


def update_rows(
    const int64_t[::1] indptr,
    const int64_t[::1] heads,
    const int64_t[::1] tails,
    const double[::1] weights,
    const double[::1] old,
    const int64_t[::1] rindptr,
    const int64_t[::1] rtails,
    const int64_t[::1] redges,
    const int64_t[::1] changed,
    double[:, ::1] cost,
    int32_t[:, ::1] next_edge,
    const int64_t[::1] rows,
    int64_t[:, ::1] stack,
    int64_t[:, ::1] invalid,
    uint8_t[:, ::1] mark,
    double[:, ::1] heap_key,
    int64_t[:, ::1] heap_node,
    int64_t[:, ::1] heap_pos,
    int threads,
):
    """Update ``cost[rows[i]]`` / ``next_edge[rows[i]]`` in place for ``changed`` edges
    that went from ``old`` to ``weights``; returns the nodes settled in all rows.

    The scratch arrays have one row per thread, ``n`` wide; ``mark`` must be all 0 and
    ``heap_pos`` all -1, as each row leaves them.
    """
    cdef int64_t n = cost.shape[1]
    cdef int64_t k = changed.shape[0]
    cdef int64_t r = rows.shape[0]
    cdef int64_t i, total = 0
    cdef int tid
    cdef const int64_t* ch = &changed[0] if k else NULL
    if r == 0 or k == 0:
        return 0
    threads = max(1, min(threads, <int>heap_key.shape[0], <int>r))
    if threads == 1:
        # no parallel region: waking an OpenMP team costs more than a small job
        with nogil:
            for i in range(r):
                total += update_row(
                    &indptr[0], &heads[0], &tails[0], &weights[0], &old[0],
                    &rindptr[0], &rtails[0], &redges[0], ch, k, n,
                    &cost[rows[i], 0], &next_edge[rows[i], 0],
                    &stack[0, 0], &invalid[0, 0],
                    &mark[0, 0], &heap_key[0, 0], &heap_node[0, 0], &heap_pos[0, 0],
                )
        return total
    with nogil, parallel(num_threads=threads):
        tid = threadid()
        for i in prange(r, schedule="dynamic", chunksize=4):
            total += update_row(
                &indptr[0], &heads[0], &tails[0], &weights[0], &old[0],
                &rindptr[0], &rtails[0], &redges[0], ch, k, n,
                &cost[rows[i], 0], &next_edge[rows[i], 0],
                &stack[tid, 0], &invalid[tid, 0],
                &mark[tid, 0], &heap_key[tid, 0], &heap_node[tid, 0], &heap_pos[tid, 0],
            )
    return total
