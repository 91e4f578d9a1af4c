"""Roads the runs added (``add_road`` interventions), beside the city's own.

A scenario may build a road the city does not have, such as a new bridge; its runs record
the road's traffic under the new road's edge ids (:func:`twin.edits.add_roads`). A view's
road *columns* are the city's drive edges, in the city's order, followed by every road
any of its sides added (:class:`ViewRoads`); a side's own drive network (the city's with
the roads it added) gives its measures, its units' routes and its closures. The added
roads are drawn as straight ribbons between their end nodes, as the runs drove them
(their length is the straight line unless the scenario gave one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyvista as pv

from twin.city import City
from twin.clock import format_clock, parse_clock
from twin.edits import NewRoad, add_roads
from twin.geometry import Polylines
from twin.network import Network
from viz import meshes
from viz.results import Side

__all__ = ["ViewRoads"]

#: Ribbon width of an added road against the view's road width (a main road's).
WIDTH_FACTOR = 1.6
#: Width of the dark outline that marks a road as new, against its ribbon.
OUTLINE_FACTOR = 2.5


class ViewRoads:
    """The road columns of a view: the city's drive edges, then the roads sides added.

    Parameters
    ----------
    city
        The city the results were made on.
    sides
        The view's sides (:class:`viz.results.Side`); a road two sides add between the same
        nodes has the same edge ids and is one column.

    Attributes
    ----------
    edge_ids
        ``int64[n_city + n_added]``: the edge id of each column.
    n_city
        Columns of the city's own edges (the first ones).
    added
        The added links (one per direction), in column order after the city's.
    opening
        Per added edge id, ``(from, until)`` clock text of the road's window when it has one
        (``""`` for an open end).
    """

    def __init__(self, city: City, sides: tuple[Side, ...]) -> None:
        self.city = city
        found: dict[int, NewRoad] = {}
        for side in sides:
            for link in side.added_roads:
                found.setdefault(link.edge_id, link)
        self.opening: dict[int, tuple[str, str]] = {}
        for side in sides:
            for item in side.interventions:
                if item.get("kind") == "add_road" and ("from" in item or "until" in item):
                    window = (_hh_mm(item.get("from")), _hh_mm(item.get("until")))
                    for edge_id in item.get("edge_ids", ()):
                        self.opening.setdefault(int(edge_id), window)
        self.added: list[NewRoad] = list(found.values())
        self.n_city = city.drive.n_edges
        added_ids = np.array([link.edge_id for link in self.added], dtype=np.int64)
        self.edge_ids = np.concatenate([np.asarray(city.drive.edge_id, np.int64), added_ids])
        self._columns = pd.Index(self.edge_ids)
        #: Per set of added edge ids: the network with them, and its edges' index by id.
        self._networks: dict[tuple[int, ...], tuple[Network, pd.Index]] = {}

    def network(self, side: Side) -> Network:
        """The drive network ``side`` ran on: the city's, with the roads it added."""
        return self._network(side)[0]

    def positions(self, side: Side, edge_ids: np.ndarray) -> np.ndarray:
        """Positions of ``edge_ids`` in the network ``side`` ran on (``-1``: not in it)."""
        return self._network(side)[1].get_indexer(np.asarray(edge_ids, dtype=np.int64))

    def city_positions(self, edge_ids: np.ndarray) -> np.ndarray:
        """Positions of ``edge_ids`` among the city's own edges (``-1``: not the city's,
        such as an added road)."""
        columns = self._columns.get_indexer(np.asarray(edge_ids, dtype=np.int64))
        return np.where(columns < self.n_city, columns, -1)

    def _network(self, side: Side) -> tuple[Network, pd.Index]:
        links = side.added_roads
        key = tuple(link.edge_id for link in links)
        if key not in self._networks:
            net = add_roads(self.city, links).drive if links else self.city.drive
            self._networks[key] = net, pd.Index(net.edge_id)
        return self._networks[key]

    def columns_of(self, sides: tuple[Side, ...]) -> np.ndarray:
        """Columns of the roads any of ``sides`` added (``int64``, ascending)."""
        ids = {link.edge_id for side in sides for link in side.added_roads}
        return np.flatnonzero(np.isin(self.edge_ids, list(ids))).astype(np.int64)

    def lines(self, columns: np.ndarray) -> Polylines:
        """Straight lines, metres, from tail to head of the added roads at ``columns``
        (``edge_id`` holds the column of each line)."""
        net = self.city.drive
        position = {int(n): i for i, n in enumerate(net.node_id.tolist())}
        xy = np.empty((2 * len(columns), 2), dtype=np.float64)
        for k, column in enumerate(np.asarray(columns, dtype=np.int64).tolist()):
            link = self.added[column - self.n_city]
            for end, node in enumerate((link.tail_id, link.head_id)):
                xy[2 * k + end] = net.x[position[node]], net.y[position[node]]
        return Polylines(
            edge_id=np.asarray(columns, dtype=np.int64),
            indptr=np.arange(0, 2 * len(columns) + 1, 2, dtype=np.int64),
            xy=xy,
        )

    def meshes(self, columns: np.ndarray, *, road_width: float) -> tuple[pv.PolyData, pv.PolyData]:
        """The ribbons of the added roads at ``columns`` (cell array ``edge``: the column
        each draws) and, under them, the wider dark outline that marks them as new."""
        lines = self.lines(columns)
        width = road_width * WIDTH_FACTOR
        gap = road_width * 0.15
        ribbons = meshes.ribbons(lines, width=width, gap=gap, z=1.9)
        if ribbons.n_cells:
            ribbons.cell_data["edge"] = lines.edge_id[ribbons.cell_data["edge"]]
        outline = meshes.ribbons(
            lines,
            width=width * OUTLINE_FACTOR,
            gap=gap - width * (OUTLINE_FACTOR - 1.0) / 2.0,
            z=1.7,
        )
        return ribbons, outline

    def places(self, columns: np.ndarray) -> list[tuple[str, tuple[str, str] | None, np.ndarray]]:
        """One ``(name, window, end)`` per added road at ``columns`` (its two directions are
        one road): the road's name, its :attr:`opening` window (``None``: open all the
        run) and its eastern end, metres (a label pinned there reads away from the road
        instead of hiding it)."""
        lines = self.lines(columns)
        out: dict[tuple, tuple[str, tuple[str, str] | None, np.ndarray]] = {}
        for k, column in enumerate(lines.edge_id.tolist()):
            link = self.added[column - self.n_city]
            road = (link.name, frozenset((link.tail_id, link.head_id)))
            ends = lines.line(k)
            end = ends[np.lexsort((ends[:, 1], ends[:, 0]))[-1]]
            out.setdefault(road, (link.name, self.opening.get(link.edge_id), end))
        return list(out.values())


def _hh_mm(value: str | float | None) -> str:
    """``"HH:MM"`` of a clock value of the run specification (``""`` for ``None``)."""
    return "" if value is None else format_clock(parse_clock(value))[:5]
