"""Next-hop trees: for each target, the cost from every node and the edge to take next.

This is what a traffic simulation routes with: a vehicle at node ``v`` heading for ``t``
takes edge ``next_edge[t_row, v]``, arrives at ``indices[that edge]`` and looks again. One
tree per target is a Dijkstra from the target over the *reversed* graph (edge ``u → v`` of
cost ``w`` becomes ``v → u``). The reversed CSR depends only on the topology, so it can be
built once (:func:`reverse_csr`) and handed in while the weights change every interval.

The compiled loop (``kernels._next_hop_trees_cy``) runs the targets in parallel (OpenMP
``prange``, GIL released), each thread with its own heap from a reusable
:class:`~kernels.workspace.Workspace`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled
from kernels.errors import KernelInputError
from kernels.shortest_paths import search_reference

__all__ = ["ReverseCSR", "next_hops", "next_hops_reference", "reverse_csr"]


class ReverseCSR(NamedTuple):
    """The reversed graph in CSR form, pointing back into the original edge numbering.

    Attributes
    ----------
    indptr
        ``int64[n + 1]``: node ``v``'s in-edges are ``indptr[v]:indptr[v+1]``.
    tails
        ``int64[m]``: the tail (original start node) of each in-edge.
    edges
        ``int64[m]``: the original edge number of each in-edge, so reversed weights are
        ``weights[edges]``.
    """

    indptr: np.ndarray
    tails: np.ndarray
    edges: np.ndarray


def reverse_csr(indptr: np.ndarray, indices: np.ndarray) -> ReverseCSR:
    """Reverse a CSR graph (``O(m log m)``; build once per topology and reuse it).

    Parameters
    ----------
    indptr, indices
        The forward CSR graph.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    return _reverse_checked(indptr, indices)


def _reverse_checked(indptr: np.ndarray, indices: np.ndarray) -> ReverseCSR:
    n = len(indptr) - 1
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable").astype(np.int64, copy=False)
    rev_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n), out=rev_indptr[1:])
    return ReverseCSR(rev_indptr, np.ascontiguousarray(tails[order]), np.ascontiguousarray(order))


def check_reverse(reverse: object, indptr: np.ndarray, indices: np.ndarray) -> ReverseCSR:
    """Check that ``reverse`` is a :class:`ReverseCSR` of this graph's size (cheap checks)."""
    if not isinstance(reverse, ReverseCSR):
        raise KernelInputError(
            f"reverse must be a ReverseCSR from kernels.reverse_csr(indptr, indices), "
            f"got {type(reverse).__name__}"
        )
    n, m = len(indptr) - 1, len(indices)
    ok = (
        len(reverse.indptr) == n + 1
        and len(reverse.tails) == m
        and len(reverse.edges) == m
        and all(a.dtype == np.int64 and a.flags.c_contiguous for a in reverse)
    )
    if not ok:
        raise KernelInputError(
            f"reverse does not match this graph ({n} nodes, {m} edges); "
            "build it with kernels.reverse_csr(indptr, indices) for the same topology"
        )
    return reverse


def next_hops_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    reverse: ReverseCSR | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Next-hop trees in pure Python; see :func:`next_hops`."""
    if reverse is None:
        reverse = _reverse_checked(indptr, indices)
    n = len(indptr) - 1
    rev_weights = weights[reverse.edges]
    cost = np.empty((len(targets), n), dtype=np.float64)
    next_edge = np.empty((len(targets), n), dtype=np.int64)
    for row, t in enumerate(targets.tolist()):
        dist, _, pred_edge, _ = search_reference(
            reverse.indptr,
            reverse.tails,
            rev_weights,
            np.array([t], dtype=np.int64),
            edge_ids=reverse.edges,
        )
        cost[row] = dist
        next_edge[row] = pred_edge
    return cost, next_edge


def next_hops(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    *,
    reverse: ReverseCSR | None = None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cost to each target from every node, and the edge to take next towards it.

    Parameters
    ----------
    indptr, indices
        CSR graph (``int64``; ``int32`` is converted).
    weights
        ``float64[m]`` edge costs (seconds of travel time, typically), ``>= 0``; ``inf``
        closes an edge.
    targets
        ``int64[k]`` destination nodes (duplicates allowed; each gets its own row).
    reverse
        The reversed graph from :func:`reverse_csr`, to skip rebuilding it on every call
        when the topology is fixed and only the weights change.
    out
        Preallocated ``(cost, next_edge)`` arrays of shapes ``(k, n)`` (``float64``,
        ``int64``, C-contiguous) to fill instead of allocating; they are returned.

    Returns
    -------
    cost : numpy.ndarray
        ``float64[k, n]``: ``cost[i, v]`` is the least cost from ``v`` to ``targets[i]``
        (``inf`` where ``targets[i]`` cannot be reached from ``v``).
    next_edge : numpy.ndarray
        ``int64[k, n]``: ``next_edge[i, v]`` is the edge (position in ``indices``) to take
        from ``v`` on a least-cost path to ``targets[i]``; ``-1`` at the target itself and
        where it is unreachable. Following it, ``v = indices[next_edge[i, v]]``, reaches
        the target with cost ``cost[i, v]``.

    Notes
    -----
    Memory: the outputs hold ``16 k n`` bytes (1,000 targets on a 15,000-node network is
    240 MB); reuse them with ``out`` or a :class:`kernels.Router`.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    n = len(indptr) - 1
    targets = validation.check_nodes(targets, n, name="targets")
    if reverse is not None:
        reverse = check_reverse(reverse, indptr, indices)
    out = check_out(out, len(targets), n)
    return next_hops_checked(indptr, indices, weights, targets, reverse, out)


def check_out(out: object, k: int, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Check caller-provided ``(cost, next_edge)`` output arrays of shape ``(k, n)``."""
    if out is None:
        return None
    try:
        cost, next_edge = out  # type: ignore[misc]
    except (TypeError, ValueError):
        raise KernelInputError("out must be a (cost, next_edge) pair of arrays") from None
    for name, arr, dtype in (("cost", cost, np.float64), ("next_edge", next_edge, np.int64)):
        if not (
            isinstance(arr, np.ndarray)
            and arr.dtype == dtype
            and arr.shape == (k, n)
            and arr.flags.c_contiguous
            and arr.flags.writeable
        ):
            got = f"{arr.dtype}{arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
            raise KernelInputError(
                f"out {name} must be a writeable C-contiguous {np.dtype(dtype)} array of "
                f"shape ({k}, {n}), got {got}"
            )
    return cost, next_edge


def next_hops_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    targets: np.ndarray,
    reverse: ReverseCSR | None,
    out: tuple[np.ndarray, np.ndarray] | None,
    ws: workspace.Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`next_hops` on validated input, optionally in a caller-owned workspace."""
    n, k = len(indptr) - 1, len(targets)
    if reverse is None:
        reverse = _reverse_checked(indptr, indices)
    cy = compiled("_next_hop_trees_cy")
    if cy is None:
        cost, next_edge = next_hops_reference(indptr, indices, weights, targets, reverse)
        if out is None:
            return cost, next_edge
        out[0][...] = cost
        out[1][...] = next_edge
        return out
    if out is None:
        out = (np.empty((k, n), dtype=np.float64), np.empty((k, n), dtype=np.int64))
    with workspace.lend(ws, n, cy.max_threads()) as ws:
        rev_weights = weights[reverse.edges]
        threads = workspace.threads_for(k, n, len(indices), ws.threads)
        cy.next_hops(
            reverse.indptr,
            reverse.tails,
            rev_weights,
            reverse.edges,
            targets,
            out[0],
            out[1],
            ws,
            threads,
        )
    return out
