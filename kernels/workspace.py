"""Reusable work buffers for the routing kernels (heap, labels, predecessors).

A shortest-path search needs a handful of ``O(n)`` scratch arrays per thread: tentative
costs, the heap (keys and nodes), each node's position in the heap, and the
predecessor labels. Allocating them for every call would make the allocator part of the
hot path, so the kernels borrow a :class:`Workspace` sized for the graph and thread count
and give it back afterwards:

- a :class:`kernels.Router` owns one workspace for its graph and reuses it on every call;
- the free functions (``kernels.dijkstra`` …) borrow one from a small pool keyed by
  ``(n, threads)``. Borrowing pops it from the pool, so two Python threads calling kernels
  at once (the compiled loops release the GIL) never share buffers; each gets its own.

The pool holds at most :data:`POOL_PER_SIZE` workspaces per size and
:data:`POOL_SIZES` sizes; it changes no result, only how often memory is allocated.
"""

from __future__ import annotations

import numpy as np

#: Workspaces kept per ``(n, threads)`` key.
POOL_PER_SIZE = 4
#: Different ``(n, threads)`` keys kept before the pool is emptied.
POOL_SIZES = 8

#: Below this much work (searches × (nodes + edges)) a kernel runs on one thread: starting an
#: OpenMP team costs more than it saves on a small job, much more on a busy machine.
PARALLEL_MIN_WORK = 200_000

_POOL: dict[tuple[int, int], list[Workspace]] = {}


class Workspace:
    """Scratch buffers for ``threads`` concurrent searches on an ``n``-node graph.

    Every array attribute is C-contiguous ``(threads, n)``; row ``t`` belongs to thread
    ``t``. Between calls ``dist`` is all ``inf`` and ``heap_pos`` all ``-1`` (every kernel
    restores that before returning, so a short search touches only what it explores); the
    other rows hold leftovers that the kernels overwrite before reading.

    Attributes
    ----------
    dist
        ``float64``: tentative costs.
    heap_key, heap_node
        ``float64`` / ``int64``: the 4-ary heap (key and node of each slot).
    heap_pos
        ``int64``: each node's slot in the heap, ``-1`` when not in it.
    pred_edge
        ``int64``: predecessor edge of each labelled node (A*).
    order
        ``int64``: nodes in the order they were settled (isochrones, path extraction).
    potential
        ``float64``: A*'s heuristic of each touched node, computed once per search.
    """

    __slots__ = (
        "dist",
        "heap_key",
        "heap_node",
        "heap_pos",
        "n",
        "order",
        "potential",
        "pred_edge",
        "threads",
    )

    def __init__(self, n: int, threads: int = 1) -> None:
        self.n = int(n)
        self.threads = max(1, int(threads))
        shape = (self.threads, self.n)
        self.dist = np.full(shape, np.inf, dtype=np.float64)
        self.heap_key = np.empty(shape, dtype=np.float64)
        self.heap_node = np.empty(shape, dtype=np.int64)
        self.heap_pos = np.full(shape, -1, dtype=np.int64)
        self.pred_edge = np.empty(shape, dtype=np.int64)
        self.order = np.empty(shape, dtype=np.int64)
        self.potential = np.empty(shape, dtype=np.float64)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to give back: see :func:`lend`."""

    @property
    def nbytes(self) -> int:
        """Memory held, in bytes."""
        return sum(
            getattr(self, name).nbytes for name in self.__slots__ if name not in ("n", "threads")
        )


def borrow(n: int, threads: int = 1) -> Workspace:
    """A workspace for ``n`` nodes and ``threads`` threads, from the pool when one is free."""
    free = _POOL.get((int(n), max(1, int(threads))))
    if free:
        try:
            return free.pop()
        except IndexError:  # another thread took the last one
            pass
    return Workspace(n, threads)


def give_back(workspace: Workspace) -> None:
    """Return a borrowed workspace to the pool (dropped when the pool is full)."""
    key = (workspace.n, workspace.threads)
    if key not in _POOL and len(_POOL) >= POOL_SIZES:
        _POOL.clear()
    free = _POOL.setdefault(key, [])
    if len(free) < POOL_PER_SIZE:
        free.append(workspace)


class _Loan:
    """What :func:`lend` returns for a pooled workspace: it on entry, given back on exit."""

    __slots__ = ("_workspace",)

    def __init__(self, n: int, threads: int) -> None:
        self._workspace = borrow(n, threads)

    def __enter__(self) -> Workspace:
        return self._workspace

    def __exit__(self, *exc: object) -> None:
        give_back(self._workspace)


def lend(workspace: Workspace | None, n: int, threads: int = 1) -> Workspace | _Loan:
    """``with lend(ws, n, threads) as ws:`` — the caller's workspace, or one from the pool.

    A caller-owned ``workspace`` (a :class:`kernels.Router`'s) is its own context manager
    and is used as is; with ``None`` one for ``n`` nodes and ``threads`` threads is borrowed
    (:func:`borrow`) and given back when the block ends, even when it raises. Small
    classes rather than ``contextlib.contextmanager``: A* calls this once per query, where
    a few hundred nanoseconds show.
    """
    return workspace if workspace is not None else _Loan(n, threads)


def threads_for(searches: int, n: int, m: int, available: int) -> int:
    """Threads worth using for ``searches`` searches on a graph of ``n`` nodes, ``m`` edges."""
    if searches < 2 or searches * (n + m) < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(available, searches))
