# cython: boundscheck=False, wraparound=False, cdivision=True
"""Compiled many-to-many cost matrix (see ``kernels/cost_matrices.py``): one Dijkstra per
source that stops once every target is settled, sources spread over threads with OpenMP
``prange`` and the GIL released.

Inputs arrive validated from the wrapper; nothing here checks ranges.
"""

from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int64_t

from kernels._heap cimport (
    Heap,
    HeapRows,
    dijkstra_run,
    heap_init_row,
    heap_rows,
    search_cleanup,
    twin_max_threads,
)


def max_threads():
    """Threads an OpenMP parallel region would use (1 when built without OpenMP)."""
    return twin_max_threads()


cdef void _one_row(
    const int64_t* indptr,
    const int64_t* indices,
    const double* weights,
    int64_t source,
    const int64_t* targets,
    int64_t n_targets,
    const unsigned char* is_target,
    int64_t n_unique,
    double cutoff,
    double* row,
    double* dist,
    int64_t* order,
    const HeapRows* rows,
    int tid,
) noexcept nogil:
    cdef int64_t j, count
    cdef Heap h
    heap_init_row(&h, rows, tid)
    count = dijkstra_run(
        indptr, indices, weights, NULL, &source, 1, cutoff, is_target, n_unique,
        dist, NULL, NULL, order, &h,
    )
    for j in range(n_targets):
        row[j] = dist[targets[j]]
    search_cleanup(&h, dist, order, count)


def cost_matrix(
    const int64_t[::1] indptr,
    const int64_t[::1] indices,
    const double[::1] weights,
    const int64_t[::1] sources,
    const int64_t[::1] targets,
    const unsigned char[::1] is_target,
    int64_t n_unique,
    double cutoff,
    double[:, ::1] out,
    ws,
    int threads,
):
    """Fill ``out[i, j]`` with the least cost from ``sources[i]`` to ``targets[j]``.

    ``is_target`` marks the ``n_unique`` distinct targets; ``ws`` rows (dist all inf,
    heap_pos all -1) are restored before returning.
    """
    cdef double[:, ::1] dist = ws.dist
    cdef HeapRows rows = heap_rows(ws)
    cdef int64_t[:, ::1] order = ws.order
    cdef int64_t k = sources.shape[0]
    cdef int64_t n_targets = targets.shape[0]
    cdef int64_t i
    cdef int tid
    cdef const int64_t* ix = &indices[0] if indices.shape[0] else NULL
    cdef const double* w = &weights[0] if weights.shape[0] else NULL
    if k == 0 or n_targets == 0:
        return
    threads = max(1, min(threads, rows.threads, <int>k))
    if threads == 1:
        # no parallel region: waking an OpenMP team costs more than a small job
        with nogil:
            for i in range(k):
                _one_row(
                    &indptr[0], ix, w, sources[i], &targets[0], n_targets, &is_target[0],
                    n_unique, cutoff, &out[i, 0], &dist[0, 0], &order[0, 0], &rows, 0,
                )
        return
    with nogil, parallel(num_threads=threads):
        tid = threadid()
        for i in prange(k, schedule="dynamic", chunksize=1):
            _one_row(
                &indptr[0], ix, w, sources[i], &targets[0], n_targets, &is_target[0],
                n_unique, cutoff, &out[i, 0], &dist[tid, 0], &order[tid, 0], &rows, tid,
            )
