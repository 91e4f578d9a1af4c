"""Incremental next-hop updates: bring next-hop trees up to date after some edges changed.

A traffic simulation refreshes its destination trees (:func:`kernels.next_hops`) every few
minutes, yet between two refreshes only some edges change time, and each changes only the
part of a tree behind it. :func:`update_next_hops` repairs each tree in place instead of
growing it again (a dynamic shortest-path update in the manner of Ramalingam and Reps,
1996, for one target at a time):

1. Every node whose path to the target uses an edge that became *dearer* loses its label
   (the edge's tail and everything whose path runs through it: a walk over the reversed
   graph along the tree's edges), and takes the best label its out-edges offer from nodes
   that kept theirs.
2. Every edge that became *cheaper* and now offers a shorter way relabels its tail.
3. A Dijkstra search over the reversed graph from the relabelled nodes carries the new
   costs upstream, as far as they reach.

The costs are those a full search would find (each is a sum of edge weights along a
shortest path, added in the same order); where two ways tie exactly, the next edge kept may
differ from a full search's. Work is proportional to the nodes whose cost changes and the
edges around them, not to the whole graph.

The compiled loop (``kernels._next_hop_updates_cy``) updates the rows in parallel (OpenMP
``prange``, GIL released); :func:`update_next_hops_reference` below is the specification
and the fallback.
"""

from __future__ import annotations

import heapq

import numpy as np

from kernels import validation
from kernels.backend import compiled
from kernels.errors import KernelInputError
from kernels.next_hop_trees import ReverseCSR, _reverse_checked, check_reverse

__all__ = ["update_next_hops", "update_next_hops_reference"]


def update_next_hops_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    old_weights: np.ndarray,
    changed: np.ndarray,
    cost: np.ndarray,
    next_edge: np.ndarray,
    rows: np.ndarray,
    reverse: ReverseCSR,
) -> int:
    """The update in pure Python; see :func:`update_next_hops`."""
    n = len(indptr) - 1
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    ptr, heads = indptr.tolist(), indices.tolist()
    w, old = weights.tolist(), old_weights.tolist()
    rptr, rtails, redges = reverse.indptr.tolist(), reverse.tails.tolist(), reverse.edges.tolist()
    edges = changed.tolist()
    settled = 0
    for row in rows.tolist():
        c = cost[row].tolist()
        nxt = next_edge[row].tolist()
        heap: list[tuple[float, int]] = []
        raised = [e for e in edges if w[e] > old[e] and nxt[tails[e]] == e]
        if raised:
            lost: list[int] = []
            mark = [False] * n
            for e in raised:
                u = int(tails[e])
                if mark[u]:
                    continue
                mark[u] = True
                lost.append(u)
                stack = [u]
                while stack:
                    x = stack.pop()
                    for j in range(rptr[x], rptr[x + 1]):
                        child = rtails[j]
                        if nxt[child] == redges[j] and not mark[child]:
                            mark[child] = True
                            lost.append(child)
                            stack.append(child)
            for x in lost:
                c[x] = np.inf
                nxt[x] = -1
            for x in lost:
                best, best_edge = np.inf, -1
                for j in range(ptr[x], ptr[x + 1]):
                    v = heads[j]
                    if not mark[v] and c[v] < np.inf:
                        cand = w[j] + c[v]
                        if cand < best:
                            best, best_edge = cand, j
                if best_edge >= 0:
                    c[x], nxt[x] = best, best_edge
                    heapq.heappush(heap, (best, x))
        for e in edges:
            if w[e] < old[e]:
                u, v = int(tails[e]), heads[e]
                if c[v] < np.inf:
                    cand = w[e] + c[v]
                    if cand < c[u]:
                        c[u], nxt[u] = cand, e
                        heapq.heappush(heap, (cand, u))
        done: set[int] = set()
        while heap:
            d, x = heapq.heappop(heap)
            if x in done or d > c[x]:
                continue
            done.add(x)
            settled += 1
            for j in range(rptr[x], rptr[x + 1]):
                p, e = rtails[j], redges[j]
                cand = d + w[e]
                if cand < c[p]:
                    c[p], nxt[p] = cand, e
                    heapq.heappush(heap, (cand, p))
        cost[row] = c
        next_edge[row] = nxt
    return settled


def update_next_hops(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    old_weights: np.ndarray,
    changed: np.ndarray,
    cost: np.ndarray,
    next_edge: np.ndarray,
    rows: np.ndarray | None = None,
    *,
    reverse: ReverseCSR | None = None,
) -> int:
    """Update next-hop trees in place after ``changed`` edges went from ``old_weights`` to
    ``weights``.

    Parameters
    ----------
    indptr, indices
        CSR graph (``int64``).
    weights, old_weights
        ``float64[m]`` edge costs now and when the trees were last exact (``>= 0``,
        ``inf`` closes an edge); only the entries of ``changed`` may differ.
    changed
        ``int64`` edges whose weight changed (others are ignored even if they differ).
    cost, next_edge
        ``float64[k, n]`` and ``int32[k, n]``, as :func:`kernels.next_hops` fills them
        (``next_edge`` narrowed to ``int32``): exact trees for ``old_weights``; updated in
        place to exact trees for ``weights``.
    rows
        Rows of ``cost`` / ``next_edge`` to update (default all).
    reverse
        The reversed graph (:func:`kernels.reverse_csr`), to skip rebuilding it.

    Returns
    -------
    int
        Nodes relabelled in all rows (the work done).
    """
    indptr, indices = validation.check_csr(indptr, indices)
    m, n = len(indices), len(indptr) - 1
    weights = validation.check_weights(weights, m)
    old_weights = validation.check_weights(old_weights, m)
    changed = validation.check_nodes(changed, m, name="changed")
    if not (
        isinstance(cost, np.ndarray)
        and cost.dtype == np.float64
        and cost.ndim == 2
        and cost.shape[1] == n
        and cost.flags.c_contiguous
        and isinstance(next_edge, np.ndarray)
        and next_edge.dtype == np.int32
        and next_edge.shape == cost.shape
        and next_edge.flags.c_contiguous
    ):
        raise KernelInputError(
            f"cost and next_edge must be C-contiguous float64 and int32 arrays of shape "
            f"(k, {n}), got {getattr(cost, 'dtype', type(cost))}{getattr(cost, 'shape', '')} "
            f"and {getattr(next_edge, 'dtype', type(next_edge))}{getattr(next_edge, 'shape', '')}"
        )
    rows = (
        np.arange(len(cost), dtype=np.int64)
        if rows is None
        else validation.check_nodes(rows, len(cost), name="rows")
    )
    reverse = (
        _reverse_checked(indptr, indices)
        if reverse is None
        else check_reverse(reverse, indptr, indices)
    )
    return update_checked(
        indptr, indices, weights, old_weights, changed, cost, next_edge, rows, reverse
    )


def update_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    old_weights: np.ndarray,
    changed: np.ndarray,
    cost: np.ndarray,
    next_edge: np.ndarray,
    rows: np.ndarray,
    reverse: ReverseCSR,
    tails: np.ndarray | None = None,
    threads: int | None = None,
) -> int:
    """:func:`update_next_hops` on validated input (``tails`` of the edges if known; at
    most ``threads`` threads, all the kernel's by default)."""
    if not len(rows) or not len(changed):
        return 0
    cy = compiled("_next_hop_updates_cy")
    if cy is None:
        return update_next_hops_reference(
            indptr, indices, weights, old_weights, changed, cost, next_edge, rows, reverse
        )
    n = len(indptr) - 1
    if tails is None:
        tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    limit = int(cy.max_threads()) if threads is None else int(threads)
    threads = max(1, min(limit, len(rows)))
    scratch = {
        "stack": np.empty((threads, n), dtype=np.int64),
        "invalid": np.empty((threads, n), dtype=np.int64),
        "mark": np.zeros((threads, n), dtype=np.uint8),
        "heap_key": np.empty((threads, n), dtype=np.float64),
        "heap_node": np.empty((threads, n), dtype=np.int64),
        "heap_pos": np.full((threads, n), -1, dtype=np.int64),
    }
    return int(
        cy.update_rows(
            indptr,
            indices,
            np.ascontiguousarray(tails, dtype=np.int64),
            weights,
            old_weights,
            reverse.indptr,
            reverse.tails,
            reverse.edges,
            np.ascontiguousarray(changed, dtype=np.int64),
            cost,
            next_edge,
            np.ascontiguousarray(rows, dtype=np.int64),
            *scratch.values(),
            threads,
        )
    )
