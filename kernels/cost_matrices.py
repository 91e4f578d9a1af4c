"""Many-to-many cost matrices: least costs from every source to every target.

One Dijkstra per source that stops as soon as every target is settled (or the cut-off is
passed). The compiled loop (``kernels._cost_matrices_cy``) spreads the sources over both
cores with OpenMP ``prange`` and releases the GIL; built without OpenMP it runs serially.
"""

from __future__ import annotations

import math

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled
from kernels.shortest_paths import search_reference

__all__ = ["cost_matrix", "cost_matrix_reference"]


def cost_matrix_reference(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    cutoff: float = math.inf,
) -> np.ndarray:
    """Cost matrix in pure Python (a full Dijkstra per source); see :func:`cost_matrix`."""
    out = np.empty((len(sources), len(targets)), dtype=np.float64)
    for row, s in enumerate(sources.tolist()):
        dist, _, _, _ = search_reference(
            indptr, indices, weights, np.array([s], dtype=np.int64), cutoff=cutoff
        )
        out[row] = dist[targets]
    return out


def cost_matrix(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    *,
    cutoff: float | None = None,
) -> np.ndarray:
    """Least cost from each source to each target.

    Parameters
    ----------
    indptr, indices
        CSR graph (``int64``; ``int32`` is converted).
    weights
        ``float64[m]`` edge costs (seconds, metres, …), ``>= 0``; ``inf`` closes an edge.
    sources, targets
        Node ids (``0..n-1``); duplicates are allowed.
    cutoff
        Costs above this read ``inf``; also stops each search early.

    Returns
    -------
    numpy.ndarray
        ``float64[len(sources), len(targets)]``; ``inf`` where a target is unreachable.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    n = len(indptr) - 1
    sources = validation.check_nodes(sources, n, name="sources")
    targets = validation.check_nodes(targets, n, name="targets")
    limit = validation.check_limit(cutoff, name="cutoff", allow_none=True)
    return cost_matrix_checked(indptr, indices, weights, sources, targets, limit)


def cost_matrix_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    cutoff: float = math.inf,
    ws: workspace.Workspace | None = None,
) -> np.ndarray:
    """:func:`cost_matrix` on validated input, optionally in a caller-owned workspace."""
    cy = compiled("_cost_matrices_cy")
    if cy is None:
        return cost_matrix_reference(indptr, indices, weights, sources, targets, cutoff)
    n = len(indptr) - 1
    out = np.empty((len(sources), len(targets)), dtype=np.float64)
    is_target = np.zeros(n, dtype=np.uint8)
    is_target[targets] = 1
    n_unique = int(np.count_nonzero(is_target))
    with workspace.lend(ws, n, cy.max_threads()) as ws:
        threads = workspace.threads_for(len(sources), n, len(indices), ws.threads)
        cy.cost_matrix(
            indptr,
            indices,
            weights,
            sources,
            targets,
            is_target,
            n_unique,
            cutoff,
            out,
            ws,
            threads,
        )
    return out
