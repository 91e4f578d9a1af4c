"""Shortest travel times for emergency response: from stations to scenes, to hospitals.

:class:`RoadGraph` answers many-source questions (which unit is nearest, which hospital,
which residents a station reaches in time) on one topology with the routing kernels, for
link times given per call (the run's current congested times, or an hour's replayed ones).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kernels import Router
from twin.errors import ConfigError
from twin.network import Network

__all__ = ["RoadGraph"]


class RoadGraph:
    """Many-source shortest travel times over one network topology, with the routing
    kernels (:class:`kernels.Router`: the graph is checked once and its buffers reused).

    Parameters
    ----------
    network
        The drive network; link times are given per call.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self._n = network.n_nodes
        self._router = Router(network.indptr, network.indices)
        self._all_nodes = np.arange(self._n, dtype=np.int64)

    def _weights(self, weights: np.ndarray) -> np.ndarray:
        w = np.asarray(weights, dtype=float)
        if len(w) != self.network.n_edges:
            raise ConfigError(
                f"link times have {len(w)} entries; expected one per drive edge "
                f"({self.network.n_edges})"
            )
        return w

    def times_from(
        self,
        weights: np.ndarray,
        sources: Sequence[int] | np.ndarray,
        *,
        min_only: bool = False,
        limit: float = np.inf,
    ) -> np.ndarray:
        """Seconds from each source to every node (``inf`` beyond ``limit``).

        Returns ``float64[len(sources), n]``, or ``float64[n]`` (the nearest source) when
        ``min_only``.
        """
        w = self._weights(weights)
        sources = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        if len(sources) == 0:
            shape = (self._n,) if min_only else (0, self._n)
            return np.full(shape, np.inf)
        if min_only:
            reach = self._router.isochrone(w, sources, limit)
            out = np.full(self._n, np.inf)
            out[reach.nodes] = reach.costs
            return out
        cutoff = None if np.isinf(limit) else float(limit)
        out = self._router.cost_matrix(w, sources, self._all_nodes, cutoff=cutoff)
        out[out > limit] = np.inf
        return out

    def times_to(self, weights: np.ndarray, target: int, *, limit: float = np.inf) -> np.ndarray:
        """``float64[n]``: seconds from every node to ``target``."""
        w = self._weights(weights)
        cost, _ = self._router.next_hops(w, np.array([int(target)], dtype=np.int64))
        out = np.array(cost[0], dtype=float)
        out[out > limit] = np.inf
        return out
