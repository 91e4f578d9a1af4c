# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled next-hop trees (see ``kernels/next_hop_trees.py``): one reverse Dijkstra per
target, targets spread over threads with OpenMP ``prange`` and the GIL released.

Inputs arrive validated from the wrapper; nothing here checks ranges.
"""

from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int64_t

from kernels._heap cimport HeapRows, dijkstra_tree, heap_rows, twin_max_threads


def max_threads():
    """Threads an OpenMP parallel region would use (1 when built without OpenMP)."""
    return twin_max_threads()


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
    cdef HeapRows rows = heap_rows(ws)
    cdef int64_t n = rindptr.shape[0] - 1
    cdef int64_t k = targets.shape[0]
    cdef int64_t i
    cdef int tid
    cdef const int64_t* tl = &tails[0] if tails.shape[0] else NULL
    cdef const double* rw = &rweights[0] if rweights.shape[0] else NULL
    cdef const int64_t* re = &redges[0] if redges.shape[0] else NULL
    if k == 0:
        return
    threads = max(1, min(threads, rows.threads, <int>k))
    if threads == 1:
        # no parallel region: waking an OpenMP team costs more than a small job
        with nogil:
            for i in range(k):
                dijkstra_tree(
                    &rindptr[0], tl, rw, re, n, targets[i], INFINITY,
                    &cost[i, 0], NULL, &next_edge[i, 0], &rows, 0,
                )
        return
    with nogil, parallel(num_threads=threads):
        tid = threadid()
        for i in prange(k, schedule="dynamic", chunksize=1):
            dijkstra_tree(
                &rindptr[0], tl, rw, re, n, targets[i], INFINITY,
                &cost[i, 0], NULL, &next_edge[i, 0], &rows, tid,
            )
