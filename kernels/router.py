"""A router bound to one network topology: validated once, buffers reused on every call.

The free functions (:func:`kernels.dijkstra`, :func:`kernels.next_hops` …) check the whole
CSR graph on every call. A simulation that routes thousands of times on one network while
only the weights change (travel times every interval, closures as ``inf``) should hold a
:class:`Router` instead: it checks ``indptr`` / ``indices`` once, builds the reversed graph
once, owns one :class:`~kernels.workspace.Workspace` (one row per thread) and per call only
checks the weights (one vectorised pass) and the node ids.

A router is not thread-safe: give each Python thread its own (the compiled kernels already
use both cores inside one call).
"""

from __future__ import annotations

import numpy as np

from kernels import validation, workspace
from kernels.backend import compiled
from kernels.cost_matrices import cost_matrix_checked
from kernels.errors import KernelInputError
from kernels.isochrones import Isochrone, isochrone_checked
from kernels.next_hop_trees import ReverseCSR, _reverse_checked, check_out, next_hops_checked
from kernels.shortest_paths import (
    Path,
    astar_checked,
    check_max_speed,
    consistent_speed,
    dijkstra_checked,
)

__all__ = ["Router"]


class Router:
    """Shortest-path kernels on one fixed CSR topology.

    Parameters
    ----------
    indptr, indices
        CSR graph (``int64``; ``int32`` is converted once).
    x, y
        Optional projected node coordinates in metres, needed by :meth:`astar`.

    Examples
    --------
    >>> router = Router(net.indptr, net.indices, x=net.x, y=net.y)  # doctest: +SKIP
    >>> cost, next_edge = router.next_hops(travel_time, targets)  # doctest: +SKIP
    """

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        *,
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
    ) -> None:
        self.indptr, self.indices = validation.check_csr(indptr, indices)
        self.n_nodes = len(self.indptr) - 1
        self.n_edges = len(self.indices)
        self.x: np.ndarray | None = None
        self.y: np.ndarray | None = None
        if x is not None or y is not None:
            self.x, self.y = validation.check_coordinates(x, y, self.n_nodes)
        self._reverse: ReverseCSR | None = None
        cy = compiled("_next_hop_trees_cy")
        self._workspace = workspace.Workspace(self.n_nodes, cy.max_threads() if cy else 1)

    @property
    def reverse(self) -> ReverseCSR:
        """The reversed graph (built on first use)."""
        if self._reverse is None:
            self._reverse = _reverse_checked(self.indptr, self.indices)
        return self._reverse

    def weights(self, weights: np.ndarray) -> np.ndarray:
        """Check one weight per edge (``>= 0``, not NaN) and return them as ``float64``."""
        return validation.check_weights(weights, self.n_edges)

    def dijkstra(
        self, weights: np.ndarray, source: int, *, cutoff: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One-to-all costs and predecessors; see :func:`kernels.dijkstra`."""
        w = self.weights(weights)
        source = validation.check_node(source, self.n_nodes, name="source")
        limit = validation.check_limit(cutoff, name="cutoff", allow_none=True)
        return dijkstra_checked(self.indptr, self.indices, w, source, limit, self._workspace)

    def astar(
        self, weights: np.ndarray, source: int, target: int, *, max_speed: float
    ) -> tuple[float, Path]:
        """One-to-one cost and path; see :func:`kernels.astar` (needs ``x``, ``y``)."""
        self._need_coordinates()
        w = self.weights(weights)
        source = validation.check_node(source, self.n_nodes, name="source")
        target = validation.check_node(target, self.n_nodes, name="target")
        speed = check_max_speed(max_speed)
        return astar_checked(
            self.indptr, self.indices, w, source, target, self.x, self.y, speed, self._workspace
        )

    def consistent_speed(self, weights: np.ndarray) -> float:
        """The tightest safe ``max_speed`` for :meth:`astar`; see
        :func:`kernels.consistent_speed` (needs ``x``, ``y``)."""
        self._need_coordinates()
        return consistent_speed(self.indptr, self.indices, weights, x=self.x, y=self.y)

    def _need_coordinates(self) -> None:
        if self.x is None or self.y is None:
            raise KernelInputError(
                "this Router has no node coordinates; create it with Router(indptr, indices, "
                "x=..., y=...) to use A*"
            )

    def cost_matrix(
        self,
        weights: np.ndarray,
        sources: np.ndarray,
        targets: np.ndarray,
        *,
        cutoff: float | None = None,
    ) -> np.ndarray:
        """Many-to-many costs; see :func:`kernels.cost_matrix`."""
        w = self.weights(weights)
        sources = validation.check_nodes(sources, self.n_nodes, name="sources")
        targets = validation.check_nodes(targets, self.n_nodes, name="targets")
        limit = validation.check_limit(cutoff, name="cutoff", allow_none=True)
        return cost_matrix_checked(
            self.indptr, self.indices, w, sources, targets, limit, self._ws_for("_cost_matrices_cy")
        )

    def isochrone(self, weights: np.ndarray, sources: np.ndarray | int, limit: float) -> Isochrone:
        """Nodes and edges within ``limit``; see :func:`kernels.isochrone`."""
        w = self.weights(weights)
        sources = validation.check_nodes(sources, self.n_nodes, name="sources", allow_empty=False)
        limit = validation.check_limit(limit, name="limit")
        return isochrone_checked(self.indptr, self.indices, w, sources, limit, self._workspace)

    def next_hops(
        self,
        weights: np.ndarray,
        targets: np.ndarray,
        *,
        out: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-target costs and next edges; see :func:`kernels.next_hops`.

        Pass the previous call's result as ``out`` to refill it instead of allocating
        ``16 k n`` bytes again (the arrays must be ``(len(targets), n_nodes)``).
        """
        w = self.weights(weights)
        targets = validation.check_nodes(targets, self.n_nodes, name="targets")
        out = check_out(out, len(targets), self.n_nodes)
        return next_hops_checked(
            self.indptr,
            self.indices,
            w,
            targets,
            self.reverse,
            out,
            self._ws_for("_next_hop_trees_cy"),
        )

    def _ws_for(self, module: str) -> workspace.Workspace | None:
        """The router's workspace when it has a row per thread of ``module`` (else pool)."""
        cy = compiled(module)
        if cy is not None and cy.max_threads() > self._workspace.threads:
            return None
        return self._workspace
