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
from kernels.astar_search import (
    LandmarkWeightError,
    Path,
    astar_checked,
    check_max_speed,
    consistent_speed,
)
from kernels.backend import compiled
from kernels.cost_matrices import cost_matrix_checked
from kernels.errors import KernelInputError
from kernels.isochrones import Isochrone, isochrone_checked
from kernels.landmarks import (
    Landmarks,
    check_choice,
    check_landmarks,
    dominates,
    find_landmarks,
    prepare_landmarks_checked,
)
from kernels.next_hop_trees import ReverseCSR, _reverse_checked, check_out, next_hops_checked
from kernels.shortest_paths import dijkstra_checked

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
        #: ALT tables used by :meth:`astar` when they fit the weights
        #: (see :meth:`prepare_landmarks`); ``None`` = straight-line bound only.
        self.landmarks: Landmarks | None = None
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
        self,
        weights: np.ndarray,
        source: int,
        target: int,
        *,
        max_speed: float,
        landmarks: Landmarks | bool | None = None,
    ) -> tuple[float, Path]:
        """One-to-one cost and path; see :func:`kernels.astar` (needs ``x``, ``y``).

        Parameters
        ----------
        weights
            ``float64[m]`` edge costs (seconds), ``>= 0``.
        source, target
            End nodes.
        max_speed
            Straight-line bound's top speed, metres per second (``inf``: no such bound).
        landmarks
            ALT tables to use (they must fit these weights, else
            :class:`~kernels.errors.KernelInputError`). By default (``None``) the router's
            own tables from :meth:`prepare_landmarks` are used whenever ``weights`` are no
            lower than the weights they were prepared with (else other live tables of this
            topology that fit, else the straight-line bound alone); ``False`` keeps the
            straight-line bound alone. The cost is the same either way.
        """
        self._need_coordinates()
        cy = compiled("_shortest_paths_cy")
        w = (
            validation.check_weights_cached(weights, self.n_edges)
            if cy is not None
            else self.weights(weights)
        )
        source = validation.check_node(source, self.n_nodes, name="source")
        target = validation.check_node(target, self.n_nodes, name="target")
        speed = check_max_speed(max_speed)
        explicit = landmarks is not None and landmarks is not False
        if explicit:
            lm = check_landmarks(landmarks, self.indptr, self.indices, w)
        elif landmarks is False:
            lm = None
        elif self.landmarks is not None and dominates(self.landmarks, self.indptr, self.indices, w):
            lm = self.landmarks
        else:
            lm = find_landmarks(self.indptr, self.indices, w)
        try:
            return astar_checked(
                self.indptr,
                self.indices,
                w,
                source,
                target,
                self.x,
                self.y,
                speed,
                self._workspace,
                landmarks=lm,
            )
        except LandmarkWeightError:
            if explicit or lm is None:
                raise
            # weights edited in place below the tables' since the cached verdict: go without
            return astar_checked(
                self.indptr, self.indices, w, source, target, self.x, self.y, speed, self._workspace
            )

    def prepare_landmarks(
        self,
        weights: np.ndarray,
        *,
        k: int = 16,
        nodes: np.ndarray | None = None,
    ) -> Landmarks:
        """Choose ``k`` landmarks, compute their ALT tables and keep them for :meth:`astar`.

        Costs ``2 k`` one-to-all searches (about 40 ms for ``k = 16`` on Huế) and ``16 k n``
        bytes. Prepare them with the lowest weights you will route on (free-flow travel
        times): :meth:`astar` then uses them for any weights no lower (congestion,
        closures), and falls back to the straight-line bound for weights that are lower
        somewhere. See :func:`kernels.prepare_landmarks`.

        Parameters
        ----------
        weights
            ``float64[m]`` edge costs ``>= 0`` (seconds).
        k
            Number of landmarks, ``1..64``.
        nodes
            Use these landmark nodes instead of choosing them.

        Returns
        -------
        Landmarks
            The tables (also stored as ``self.landmarks``; set that to ``None`` to stop
            using them).
        """
        w = self.weights(weights)
        chosen = check_choice(k, nodes, self.n_nodes)
        self.landmarks = prepare_landmarks_checked(
            self.indptr,
            self.indices,
            w,
            int(k) if chosen is None else len(chosen),
            chosen,
            self.reverse,
        )
        return self.landmarks

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
