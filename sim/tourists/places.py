"""Where tourist parties can be: the sites, then the lodgings, numbered as one list of places.

Places ``0 .. n_sites - 1`` are the rows of the resolved site table
(:func:`twin.attractions.sites.resolve_attractions`); places ``n_sites ..`` are the city's
hotels, hostels and guest houses in the order of the lodging table. Each place has a name,
a node on the walk and on the drive network, and a zone; sites also have a position and
may be reached by boat from a pier.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["Places"]


class Places:
    """Names, network nodes, zones and positions of the sites and lodgings of a run.

    Parameters
    ----------
    sites
        The resolved site table (columns ``site``, ``walk_node``, ``drive_node``, ``zone``,
        ``x``, ``y`` in metres, ``boat_from``).
    lodging
        The city's lodging POIs (``name``, ``walk_node``, ``drive_node``).
    node_zone
        Zone of every drive node (``city.node_zone``; a node beyond it has zone -1).

    Attributes
    ----------
    n_sites
        Number of sites (the first places).
    names
        Display name of every place.
    walk_nodes, drive_nodes
        ``(n_places,)`` walk- and drive-network node of every place.
    zones
        ``(n_places,)`` zone of every place.
    """

    def __init__(self, sites: pd.DataFrame, lodging: pd.DataFrame, node_zone: np.ndarray) -> None:
        self.n_sites = len(sites)
        self.names: list[str] = [*map(str, sites["site"]), *map(str, lodging["name"])]
        self.walk_nodes = np.concatenate([sites["walk_node"], lodging["walk_node"]])
        self.drive_nodes = np.concatenate([sites["drive_node"], lodging["drive_node"]])
        lodging_nodes = lodging["drive_node"].to_numpy(np.int64)
        node_zone = np.asarray(node_zone)
        known = lodging_nodes < len(node_zone)
        lodging_zones = np.full(len(lodging_nodes), -1, dtype=node_zone.dtype)
        lodging_zones[known] = node_zone[lodging_nodes[known]]
        self.zones = np.concatenate([sites["zone"].to_numpy(int), lodging_zones])
        self._x: list[float] = [*sites["x"].to_numpy().tolist(), *lodging["x"].to_numpy().tolist()]
        self._y: list[float] = [*sites["y"].to_numpy().tolist(), *lodging["y"].to_numpy().tolist()]
        self._boat_from: list[int] = sites["boat_from"].to_numpy().tolist()

    def __len__(self) -> int:
        return len(self.names)

    def lodging_place(self, row: int) -> int:
        """The place of the lodging at ``row`` of the lodging table."""
        return self.n_sites + int(row)

    def is_site(self, place: int) -> bool:
        """Whether ``place`` is a site (not a lodging)."""
        return place < self.n_sites

    def name(self, place: int) -> str:
        """Display name of a place."""
        return self.names[place]

    def drive_node(self, place: int) -> int:
        """Drive-network node of a place."""
        return int(self.drive_nodes[place])

    def zone(self, place: int) -> int:
        """Zone of a place (-1 when its node has none)."""
        return int(self.zones[place])

    def pier(self, place: int) -> int:
        """The site whose boats serve ``place`` (a site), or -1 (no boat, or a lodging)."""
        return int(self._boat_from[place]) if self.is_site(place) else -1

    def straight_m(self, a: int, b: int) -> float:
        """Straight-line metres between two places."""
        return math.hypot(self._x[b] - self._x[a], self._y[b] - self._y[a])

    def river_m(self, pier: int, site: int) -> float:
        """Straight-line metres from a pier to a site (both sites); the boat's route is this
        times the river's winding factor."""
        return math.hypot(self._x[site] - self._x[pier], self._y[site] - self._y[pier])
