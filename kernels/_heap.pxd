# cython: boundscheck=False, wraparound=False, cdivision=True
"""Inline 4-ary heap and Dijkstra core shared by the routing kernels.

``cimport`` it from a ``kernels/_*_cy.pyx``::

    from kernels._heap cimport Heap, heap_init, dijkstra_run, search_cleanup

The heap is *indexed*: each node is in it at most once, ``pos[v]`` is its slot (``-1`` when
absent) and a better key moves it up (decrease-key), so the heap never holds more than
``n`` entries and needs no stale-entry checks. All functions are ``nogil`` and work on
raw pointers into caller-owned buffers (a :class:`kernels.workspace.Workspace` row), so
nothing is allocated inside a search.

Workspace invariant, kept by every kernel: between searches a thread's ``dist`` row is all
``inf`` and its ``heap_pos`` row all ``-1``; a search that borrows them restores both
(:func:`search_cleanup`), which makes a short search cost what it explores, not ``O(n)``.
"""

from libc.stdint cimport int64_t
from libc.math cimport INFINITY

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int twin_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int twin_max_threads(void) { return 1; }
    #endif
    """
    int twin_max_threads() noexcept nogil


cdef struct Heap:
    double* key      # key of each slot
    int64_t* node    # node of each slot
    int64_t* pos     # slot of each node, -1 when not in the heap
    int64_t size


cdef inline void heap_init(Heap* h, double* key, int64_t* node, int64_t* pos) noexcept nogil:
    h.key = key
    h.node = node
    h.pos = pos
    h.size = 0


cdef inline void heap_sift_up(Heap* h, int64_t i, double k, int64_t v) noexcept nogil:
    cdef int64_t parent
    while i > 0:
        parent = (i - 1) >> 2
        if h.key[parent] <= k:
            break
        h.key[i] = h.key[parent]
        h.node[i] = h.node[parent]
        h.pos[h.node[i]] = i
        i = parent
    h.key[i] = k
    h.node[i] = v
    h.pos[v] = i


cdef inline void heap_push_or_decrease(Heap* h, int64_t v, double k) noexcept nogil:
    """Insert ``v`` with key ``k``, or lower its key to ``k`` (``k`` must not be higher)."""
    cdef int64_t i = h.pos[v]
    if i < 0:
        i = h.size
        h.size += 1
    heap_sift_up(h, i, k, v)


cdef inline int64_t heap_pop(Heap* h) noexcept nogil:
    """Remove and return the node of least key (the heap must not be empty)."""
    cdef int64_t top = h.node[0]
    cdef int64_t n, i, c, v, best, last
    cdef double k, kb
    h.pos[top] = -1
    h.size -= 1
    n = h.size
    if n > 0:
        k = h.key[n]
        v = h.node[n]
        i = 0
        while True:
            c = 4 * i + 1
            if c >= n:
                break
            # least of up to four children
            best = c
            kb = h.key[c]
            last = c + 4 if c + 4 <= n else n
            for c in range(c + 1, last):
                if h.key[c] < kb:
                    kb = h.key[c]
                    best = c
            if kb >= k:
                break
            h.key[i] = kb
            h.node[i] = h.node[best]
            h.pos[h.node[i]] = i
            i = best
        h.key[i] = k
        h.node[i] = v
        h.pos[v] = i
    return top


cdef inline int64_t dijkstra_run(
    const int64_t* indptr,
    const int64_t* heads,
    const double* weights,
    const int64_t* edge_ids,
    const int64_t* sources,
    int64_t n_sources,
    double cutoff,
    const unsigned char* is_target,
    int64_t n_targets,
    double* dist,
    int64_t* pred,
    int64_t* pred_edge,
    int64_t* order,
    Heap* h,
) noexcept nogil:
    """Multi-source Dijkstra; returns the number of settled nodes.

    ``dist`` must be all ``inf`` and ``h`` empty with ``pos`` all ``-1``. A node is
    labelled only when its cost is ``<= cutoff``. With ``is_target`` (may be NULL) the
    search stops once ``n_targets`` distinct marked nodes are settled; the heap may then
    still hold nodes (see :func:`search_cleanup`). ``pred``, ``pred_edge`` and ``order``
    may be NULL; ``pred_edge`` records ``edge_ids[j]`` when given, else CSR position ``j``.
    Settled nodes are appended to ``order`` in non-decreasing cost.
    """
    cdef int64_t i, j, u, v, count = 0, remaining = n_targets
    cdef double d, nd
    for i in range(n_sources):
        u = sources[i]
        if dist[u] > 0.0:
            dist[u] = 0.0
            if pred != NULL:
                pred[u] = -1
            if pred_edge != NULL:
                pred_edge[u] = -1
            heap_push_or_decrease(h, u, 0.0)
    while h.size > 0:
        u = heap_pop(h)
        if order != NULL:
            order[count] = u
        count += 1
        if is_target != NULL and is_target[u]:
            remaining -= 1
            if remaining <= 0:
                break
        d = dist[u]
        for j in range(indptr[u], indptr[u + 1]):
            v = heads[j]
            nd = d + weights[j]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                if pred != NULL:
                    pred[v] = u
                if pred_edge != NULL:
                    pred_edge[v] = edge_ids[j] if edge_ids != NULL else j
                heap_push_or_decrease(h, v, nd)
    return count


cdef inline void search_cleanup(
    Heap* h, double* dist, const int64_t* order, int64_t count
) noexcept nogil:
    """Restore the workspace invariant after :func:`dijkstra_run` into a workspace row.

    Resets ``dist`` of the ``count`` settled nodes in ``order`` and of the nodes left in
    the heap, and empties the heap. Pass ``dist=NULL`` when ``dist`` was an output array.
    """
    cdef int64_t i, v
    if dist != NULL:
        for i in range(count):
            dist[order[i]] = INFINITY
    for i in range(h.size):
        v = h.node[i]
        h.pos[v] = -1
        if dist != NULL:
            dist[v] = INFINITY
    h.size = 0
