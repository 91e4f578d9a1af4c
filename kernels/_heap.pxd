# cython: boundscheck=False, wraparound=False, cdivision=True
"""Inline 4-ary heap and Dijkstra core shared by the routing kernels.

``cimport`` it from a ``kernels/_*_cy.pyx``::

    from kernels._heap cimport Heap, heap_init, dijkstra_run, search_cleanup
    from kernels._heap cimport HeapRows, heap_rows, heap_init_row, dijkstra_tree

A :class:`kernels.workspace.Workspace` holds one heap per thread in the rows of its
``heap_key`` / ``heap_node`` / ``heap_pos`` arrays: :func:`heap_rows` takes their pointers
once (with the GIL) and :func:`heap_init_row` binds a :class:`Heap` to thread ``t``'s row
(without it, so inside ``prange`` too). :func:`dijkstra_tree` is the common one-source
search into output arrays.

The heap is *indexed*: each node is in it at most once, ``pos[v]`` is its slot (``-1`` when
absent) and a better key moves it up (decrease-key), so the heap never holds more than
``n`` entries and needs no stale-entry checks. All functions are ``nogil`` and work on
raw pointers into caller-owned buffers (a :class:`kernels.workspace.Workspace` row), so
nothing is allocated inside a search.

Workspace invariant, kept by every kernel: between searches a thread's ``dist`` row is all
``inf`` and its ``heap_pos`` row all ``-1``; a search that borrows them restores both
(:func:`search_cleanup`), which makes a short search cost what it explores, not ``O(n)``.
"""

cimport cython
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


cdef struct HeapRows:
    double* key      # heap_key[0, 0] of a workspace; row t starts at key + t * n
    int64_t* node    # heap_node[0, 0]
    int64_t* pos     # heap_pos[0, 0]
    int64_t n        # row length (the workspace's node count)
    int threads      # rows


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline HeapRows heap_rows(object ws) except *:
    """The heap rows of workspace ``ws`` (checks their dtype and C order)."""
    cdef double[:, ::1] key = ws.heap_key
    cdef int64_t[:, ::1] node = ws.heap_node
    cdef int64_t[:, ::1] pos = ws.heap_pos
    cdef HeapRows rows
    rows.key = &key[0, 0]
    rows.node = &node[0, 0]
    rows.pos = &pos[0, 0]
    rows.n = key.shape[1]
    rows.threads = <int>key.shape[0]
    return rows


cdef inline void heap_init_row(Heap* h, const HeapRows* rows, int64_t t) noexcept nogil:
    """Bind ``h``, empty, to row ``t`` of ``rows``."""
    cdef int64_t offset = t * rows.n
    heap_init(h, rows.key + offset, rows.node + offset, rows.pos + offset)


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


cdef inline void dijkstra_tree(
    const int64_t* indptr,
    const int64_t* heads,
    const double* weights,
    const int64_t* edge_ids,
    int64_t n,
    int64_t source,
    double cutoff,
    double* cost,
    int64_t* pred,
    int64_t* pred_edge,
    const HeapRows* rows,
    int64_t row,
) noexcept nogil:
    """The whole search tree from ``source`` into caller-owned outputs of length ``n``.

    ``cost`` is ``inf`` and ``pred`` / ``pred_edge`` (either may be NULL) are ``-1`` where
    no path within ``cutoff`` exists; the search runs on heap row ``row`` of ``rows``,
    which it leaves empty. ``pred_edge`` records ``edge_ids[j]`` as in :func:`dijkstra_run`.
    """
    cdef Heap h
    cdef int64_t i
    for i in range(n):
        cost[i] = INFINITY
        if pred != NULL:
            pred[i] = -1
        if pred_edge != NULL:
            pred_edge[i] = -1
    heap_init_row(&h, rows, row)
    dijkstra_run(
        indptr, heads, weights, edge_ids, &source, 1, cutoff, NULL, 0,
        cost, pred, pred_edge, NULL, &h,
    )
    search_cleanup(&h, NULL, NULL, 0)
