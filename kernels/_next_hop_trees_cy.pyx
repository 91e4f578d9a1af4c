# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled next-hop trees (see ``kernels/next_hop_trees.py``): one reverse Dijkstra per
target, targets spread over threads with OpenMP ``prange`` and the GIL released.

Inputs arrive validated from the wrapper; nothing here checks ranges.
"""

from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int64_t

from kernels._heap cimport Heap, dijkstra_run, heap_init, search_cleanup, twin_max_threads


def max_threads():
    """Threads an OpenMP parallel region would use (1 when built without OpenMP)."""
    return twin_max_threads()


cdef void _one_tree(
    const int64_t* rindptr,
    const int64_t* tails,
    const double* rweights,
    const int64_t* redges,
    int64_t n,
    int64_t target,
    double* cost,
    int64_t* next_edge,
    double* heap_key,
    int64_t* heap_node,
    int64_t* heap_pos,
) noexcept nogil:
    cdef int64_t i
    cdef Heap h
    for i in range(n):
        cost[i] = INFINITY
        next_edge[i] = -1
    heap_init(&h, heap_key, heap_node, heap_pos)
    dijkstra_run(
        rindptr, tails, rweights, redges, &target, 1, INFINITY, NULL, 0,
        cost, NULL, next_edge, NULL, &h,
    )
    search_cleanup(&h, NULL, NULL, 0)


def next_hops(
    const int64_t[::1] rindptr,
    const int64_t[::1] tails,
    const double[::1] rweights,
    const int64_t[::1] redges,
    const int64_t[::1] targets,
    double[:, ::1] cost,
    int64_t[:, ::1] next_edge,
    ws,
    int threads,
):
    """Fill row ``i`` of ``cost`` / ``next_edge`` with the tree towards ``targets[i]``.

    ``rindptr``, ``tails`` and ``redges`` are the reversed CSR, ``rweights`` the weights in
    reversed order (``weights[redges]``); ``ws`` has at least ``max_threads()`` rows.
    """
    cdef double[:, ::1] hk = ws.heap_key
    cdef int64_t[:, ::1] hv = ws.heap_node
    cdef int64_t[:, ::1] hp = ws.heap_pos
    cdef int64_t n = rindptr.shape[0] - 1
    cdef int64_t k = targets.shape[0]
    cdef int64_t i
    cdef int tid
    cdef const int64_t* tl = &tails[0] if tails.shape[0] else NULL
    cdef const double* rw = &rweights[0] if rweights.shape[0] else NULL
    cdef const int64_t* re = &redges[0] if redges.shape[0] else NULL
    if k == 0:
        return
    threads = max(1, min(threads, <int>hk.shape[0], <int>k))
    if threads == 1:
        # no parallel region: waking an OpenMP team costs more than a small job
        with nogil:
            for i in range(k):
                _one_tree(
                    &rindptr[0], tl, rw, re, n, targets[i], &cost[i, 0], &next_edge[i, 0],
                    &hk[0, 0], &hv[0, 0], &hp[0, 0],
                )
        return
    with nogil, parallel(num_threads=threads):
        tid = threadid()
        for i in prange(k, schedule="dynamic", chunksize=1):
            _one_tree(
                &rindptr[0], tl, rw, re, n, targets[i], &cost[i, 0], &next_edge[i, 0],
                &hk[tid, 0], &hv[tid, 0], &hp[tid, 0],
            )
