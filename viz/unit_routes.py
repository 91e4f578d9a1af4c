"""Where an emergency unit is on its way, for drawing: its road route from its station to
the incident and the point it has reached.

A run records when each unit left and reached the scene, not the roads it took. The view
draws the fastest route on the edge times it gives (the speeds the run measured when the
unit left, off the roads closed to it), and the unit on it at the share of its travel time
gone (the same share of the route's length, as if it kept one speed).
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from twin.geometry import Polylines
from twin.network import Network

__all__ = ["UnitRoutes", "point_along"]


class UnitRoutes:
    """Road routes between drive nodes on one network, one shortest-path tree per start and
    set of edge times.

    Parameters
    ----------
    network
        The drive network.
    lines
        Its road lines (``CityGeometry.drive``), metres; put in the network's edge order.
    """

    def __init__(self, network: Network, lines: Polylines) -> None:
        self.network = network
        self.lines = lines.for_network(network)
        #: Seconds to drive each edge at free-flow speed.
        self.free_flow = network.length / network.speed
        self._trees: dict[tuple[int, Hashable], np.ndarray] = {}

    def route(
        self, start: int, end: int, seconds: np.ndarray | None = None, key: Hashable = None
    ) -> np.ndarray | None:
        """``float64[k, 2]``: the vertices, metres, of the fastest road route from node
        position ``start`` to node position ``end`` (two points for ``start == end``);
        ``None`` when no road leads there.

        ``seconds`` are the edge times to route on (``inf``: closed; free-flow times when
        ``None``); ``key`` names them, so that the tree grown on them is kept for the next
        route from ``start`` with the same key.
        """
        net = self.network
        if start == end:
            return np.repeat([[net.x[start], net.y[start]]], 2, axis=0)
        if seconds is None:
            seconds, key = self.free_flow, "free flow"
        pred = self._tree(start, seconds, key)
        edges = []
        node = end
        while node != start:
            before = int(pred[node])
            if before < 0:
                return None
            out = np.arange(net.indptr[before], net.indptr[before + 1])
            out = out[net.indices[out] == node]
            edges.append(int(out[np.argmin(seconds[out])]))
            node = before
        parts = [self.lines.line(e) for e in reversed(edges)]
        # each road line starts where the one before it ends: keep that point once
        return np.concatenate([parts[0], *(p[1:] for p in parts[1:])])

    def _tree(self, start: int, seconds: np.ndarray, key: Hashable) -> np.ndarray:
        """The predecessor tree from ``start`` on ``seconds`` (kept under ``key``)."""
        if key is None:
            return self.network.path_tree(seconds, start)[1]
        if (start, key) not in self._trees:
            self._trees[start, key] = self.network.path_tree(seconds, start)[1]
        return self._trees[start, key]


def point_along(line: np.ndarray, share: float) -> np.ndarray:
    """``float64[2]``: the point ``share`` (0–1, clipped) of the way along ``line``
    (``float64[k, 2]``, metres), by length."""
    steps = np.hypot(*np.diff(line, axis=0).T)
    reached = np.concatenate([[0.0], np.cumsum(steps)])
    at = min(max(float(share), 0.0), 1.0) * reached[-1]
    return np.array([np.interp(at, reached, line[:, 0]), np.interp(at, reached, line[:, 1])])
