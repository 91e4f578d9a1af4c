"""Where an emergency unit is on its way, for drawing: its road route from its station to
the incident and the point it has reached.

A run records when each unit left and reached the scene, not the roads it took; the route
drawn is the fastest one at free-flow speed on the roads open to it when it left, and the
unit stands on it at the share of its travel time gone (the same share of the route's
length, as if it kept one speed).
"""

from __future__ import annotations

import numpy as np

from kernels.shortest_paths import dijkstra
from twin.geometry import Polylines
from twin.network import Network

__all__ = ["UnitRoutes", "point_along"]


class UnitRoutes:
    """Road routes between drive nodes on one network, one shortest-path tree per start.

    Parameters
    ----------
    network
        The drive network.
    lines
        Its road lines, one per edge in the network's edge order (``CityGeometry.drive``
        after :meth:`Polylines.for_network`), metres.
    """

    def __init__(self, network: Network, lines: Polylines) -> None:
        self.network = network
        self.lines = lines.for_network(network)
        self._seconds = network.length / network.speed
        self._trees: dict[tuple[int, frozenset[int]], tuple[np.ndarray, np.ndarray]] = {}

    def route(
        self, start: int, end: int, closed: frozenset[int] = frozenset()
    ) -> np.ndarray | None:
        """``float64[k, 2]``: the vertices, metres, of the fastest road route from node
        position ``start`` to node position ``end`` (two points for ``start == end``),
        keeping off the ``closed`` edges (positions); ``None`` when no road leads there."""
        net = self.network
        if start == end:
            return np.repeat([[net.x[start], net.y[start]]], 2, axis=0)
        pred, seconds = self._tree(start, closed)
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

    def _tree(self, start: int, closed: frozenset[int]) -> tuple[np.ndarray, np.ndarray]:
        """The predecessor tree from ``start`` and the edge times it was grown on."""
        key = (start, closed)
        if key not in self._trees:
            net = self.network
            seconds = self._seconds
            if closed:
                seconds = seconds.copy()
                seconds[list(closed)] = np.inf
            _, pred = dijkstra(net.indptr, net.indices, seconds, start)
            self._trees[key] = pred, seconds
        return self._trees[key]


def point_along(line: np.ndarray, share: float) -> np.ndarray:
    """``float64[2]``: the point ``share`` (0–1, clipped) of the way along ``line``
    (``float64[k, 2]``, metres), by length."""
    steps = np.hypot(*np.diff(line, axis=0).T)
    reached = np.concatenate([[0.0], np.cumsum(steps)])
    at = min(max(float(share), 0.0), 1.0) * reached[-1]
    return np.array([np.interp(at, reached, line[:, 0]), np.interp(at, reached, line[:, 1])])
