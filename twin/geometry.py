"""What a city looks like: the shape of every road and footpath, and the water.

The simulation needs only the networks' arrays; the 3D view and maps need the shapes too. A
:class:`CityGeometry` holds them, in the city's projected CRS (metres):

``drive``, ``walk``
    :class:`Polylines`: one polyline per edge of the network, from its tail node to its head
    node, following the OSM way (the shape osmnx keeps when it simplifies a graph); a
    straight line where the source has no shape (a GMNS link, an access link).
``water``
    A table of water areas: ``osm_id`` (``"way/123"``, ``"relation/456"``), ``kind``
    (``"river"``, ``"canal"``, ``"moat"``, ``"lake"``, …), ``name``, ``source`` (``"area"``: an
    OSM water polygon; ``"line"``: a ``waterway`` line buffered by its width), ``area_m2``
    and ``geometry`` (WKB, projected polygons).

Building footprints and zone polygons are columns of the city's tables (``geometry``, WKB).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin.errors import TwinError
from twin.network import Network

__all__ = ["WATER_COLUMNS", "CityGeometry", "Polylines", "empty_water"]

#: Columns of the water table, in order.
WATER_COLUMNS: tuple[str, ...] = ("osm_id", "kind", "name", "source", "area_m2", "geometry")


@dataclass(frozen=True, eq=False)
class Polylines:
    """Polylines in one flat array, as CSR: line ``i`` is ``xy[indptr[i]:indptr[i+1]]``.

    Attributes
    ----------
    edge_id
        ``int64[m]``: the stable id of the edge each line draws (:attr:`Network.edge_id`).
    indptr
        ``int64[m + 1]``: where each line starts in ``xy``; every line has two points or more.
    xy
        ``float64[k, 2]``: easting and northing of the vertices, metres.
    """

    edge_id: np.ndarray
    indptr: np.ndarray
    xy: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.edge_id)
        if len(self.indptr) != m + 1 or (self.indptr[-1] if m else 0) != len(self.xy):
            raise TwinError(
                f"polylines: indptr has {len(self.indptr)} entries for {m} lines and "
                f"{len(self.xy)} points; expected {m + 1} entries ending at {len(self.xy)}"
            )
        if m and int(np.diff(self.indptr).min()) < 2:
            raise TwinError("polylines: every line needs two points or more")
        if self.xy.ndim != 2 or self.xy.shape[1] != 2:
            raise TwinError(f"polylines: xy must have shape (k, 2), got {self.xy.shape}")

    def __len__(self) -> int:
        return len(self.edge_id)

    @property
    def n_points(self) -> np.ndarray:
        """``int64[m]``: vertices of each line."""
        return np.diff(self.indptr)

    def line(self, i: int) -> np.ndarray:
        """The vertices of line ``i`` (a view, ``float64[n, 2]``)."""
        return self.xy[self.indptr[i] : self.indptr[i + 1]]

    def take(self, positions: np.ndarray) -> Polylines:
        """The lines at ``positions`` (``int64``), in that order."""
        positions = np.asarray(positions, dtype=np.int64)
        counts = self.n_points[positions]
        indptr = np.zeros(len(positions) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        points = np.repeat(self.indptr[positions] - indptr[:-1], counts) + np.arange(indptr[-1])
        return Polylines(edge_id=self.edge_id[positions], indptr=indptr, xy=self.xy[points])

    def lengths(self) -> np.ndarray:
        """``float64[m]``: length of each line along its vertices, metres."""
        if not len(self):
            return np.zeros(0)
        steps = np.hypot(*np.diff(self.xy, axis=0).T)
        line_of_step = np.repeat(np.arange(len(self)), self.n_points - 1)
        # steps that join the end of one line to the start of the next are left out
        inside = np.ones(len(steps), dtype=bool)
        inside[self.indptr[1:-1] - 1] = False
        return np.bincount(line_of_step, weights=steps[inside], minlength=len(self))

    def for_network(self, network: Network) -> Polylines:
        """These lines in the order of ``network``'s edges (joined by ``edge_id``); a straight
        line between the edge's nodes for an edge without one (a road a scenario added)."""
        if len(self) == network.n_edges and np.array_equal(self.edge_id, network.edge_id):
            return self
        position = pd.Series(np.arange(len(self)), index=self.edge_id)
        if position.index.has_duplicates:
            raise TwinError("polylines: two lines draw the same edge_id")
        found = position.reindex(network.edge_id).to_numpy()
        have = np.isfinite(found)
        counts = np.where(have, 0, 2)
        counts[have] = self.n_points[found[have].astype(np.int64)]
        indptr = np.zeros(network.n_edges + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        xy = np.empty((int(indptr[-1]), 2), dtype=np.float64)
        tail, head = network.tail, network.indices
        for e in np.flatnonzero(have):
            xy[indptr[e] : indptr[e + 1]] = self.line(int(found[e]))
        missing = np.flatnonzero(~have)
        xy[indptr[missing]] = np.column_stack([network.x[tail[missing]], network.y[tail[missing]]])
        xy[indptr[missing] + 1] = np.column_stack(
            [network.x[head[missing]], network.y[head[missing]]]
        )
        return Polylines(edge_id=np.asarray(network.edge_id, np.int64), indptr=indptr, xy=xy)

    @classmethod
    def straight(cls, network: Network) -> Polylines:
        """Straight lines from each edge's tail node to its head node."""
        m = network.n_edges
        xy = np.empty((2 * m, 2), dtype=np.float64)
        tail, head = network.tail, network.indices
        xy[0::2, 0], xy[0::2, 1] = network.x[tail], network.y[tail]
        xy[1::2, 0], xy[1::2, 1] = network.x[head], network.y[head]
        return cls(
            edge_id=np.asarray(network.edge_id, np.int64),
            indptr=np.arange(0, 2 * m + 1, 2, dtype=np.int64),
            xy=xy,
        )

    @classmethod
    def from_mapping(cls, network: Network, shapes: Mapping[int, np.ndarray]) -> Polylines:
        """Lines for ``network``'s edges from ``edge_id -> float64[n, 2]`` (metres), each
        turned, when needed, to run from the edge's tail to its head; a straight line for an
        edge missing from ``shapes`` or whose shape has fewer than two points."""
        m = network.n_edges
        tail, head = network.tail, network.indices
        lines: list[np.ndarray] = []
        for e in range(m):
            start = (network.x[tail[e]], network.y[tail[e]])
            end = (network.x[head[e]], network.y[head[e]])
            shape = shapes.get(int(network.edge_id[e]))
            if shape is None or len(shape) < 2:
                lines.append(np.array([start, end], dtype=np.float64))
                continue
            shape = np.asarray(shape, dtype=np.float64)
            forward = np.hypot(*(shape[0] - start)) + np.hypot(*(shape[-1] - end))
            backward = np.hypot(*(shape[-1] - start)) + np.hypot(*(shape[0] - end))
            lines.append(shape[::-1] if backward < forward else shape)
        counts = np.array([len(line) for line in lines], dtype=np.int64)
        indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        xy = np.concatenate(lines) if lines else np.zeros((0, 2))
        return cls(edge_id=np.asarray(network.edge_id, np.int64), indptr=indptr, xy=xy)


def empty_water() -> pd.DataFrame:
    """A water table with no rows (:data:`WATER_COLUMNS`)."""
    return pd.DataFrame(
        {
            "osm_id": pd.Series([], dtype=object),
            "kind": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "source": pd.Series([], dtype=object),
            "area_m2": pd.Series([], dtype=float),
            "geometry": pd.Series([], dtype=object),
        }
    )


@dataclass(frozen=True, eq=False)
class CityGeometry:
    """The shapes of a city (see the module docstring).

    Attributes
    ----------
    drive, walk
        One polyline per edge of each network.
    water
        Water areas (:data:`WATER_COLUMNS`).
    """

    drive: Polylines
    walk: Polylines
    water: pd.DataFrame = field(default_factory=empty_water)

    @classmethod
    def straight(cls, drive: Network, walk: Network) -> CityGeometry:
        """Straight edges and no water: what a city without shapes is drawn with."""
        return cls(drive=Polylines.straight(drive), walk=Polylines.straight(walk))
