"""Changing a city's road network: new roads and bridges built through the network builder.

:func:`add_roads` returns a copy of a city whose drive network has extra links between
existing nodes. The links are put into CSR order by :meth:`twin.network.Network.from_edges`,
like every network, and carry the edge ids they are given (stable ids, see
:func:`twin.network.stable_edge_ids`), so every table keyed by ``edge_id`` still joins; edge
*positions* may shift. The footpath network, POIs, buildings and zones are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from twin.city import City
from twin.errors import ConfigError
from twin.network import EDGE_ARRAYS, NODE_ARRAYS, Network

__all__ = ["NewRoad", "add_roads", "road_links"]


@dataclass(frozen=True)
class NewRoad:
    """One directed link to add.

    Attributes
    ----------
    tail_id, head_id
        Its ends, by node id (existing drive nodes).
    edge_id
        Its stable id (must not be taken).
    road_class
        A road class of the network; the defaults table gives capacity per lane, jam
        density and (when ``speed_kmh`` is ``None``) speed.
    lanes
        Lanes in its direction.
    speed_kmh
        Free-flow speed; ``None`` for the class default.
    length_m
        Metres; ``None`` for the straight line between the ends.
    name
        Street name.
    bridge
        Whether it is a bridge.
    """

    tail_id: int
    head_id: int
    edge_id: int
    road_class: str
    lanes: float = 1.0
    speed_kmh: float | None = None
    length_m: float | None = None
    name: str = ""
    bridge: bool = False


def road_links(
    from_node: int,
    to_node: int,
    edge_ids: Sequence[int],
    *,
    road_class: str,
    lanes: float = 1.0,
    speed_kmh: float | None = None,
    length_m: float | None = None,
    both_ways: bool = True,
    name: str = "",
    bridge: bool = False,
) -> list[NewRoad]:
    """The directed links of one new road (an ``add_road`` intervention): from
    ``from_node`` to ``to_node``, and back when ``both_ways``, taking ``edge_ids`` in that
    order.

    Raises
    ------
    ConfigError
        ``edge_ids`` does not hold one id per direction.
    """
    ends = [(int(from_node), int(to_node))]
    if both_ways:
        ends.append((int(to_node), int(from_node)))
    if len(edge_ids) != len(ends):
        raise ConfigError(
            f"new road {name!r}: {len(edge_ids)} edge ids for {len(ends)} directions; "
            "make the run specification again (it fills them in)"
        )
    return [
        NewRoad(
            tail,
            head,
            int(edge_id),
            road_class,
            lanes=float(lanes),
            speed_kmh=speed_kmh,
            length_m=length_m,
            name=name,
            bridge=bool(bridge),
        )
        for (tail, head), edge_id in zip(ends, edge_ids, strict=True)
    ]


def add_roads(
    city: City, roads: Sequence[NewRoad], *, road_defaults: pd.DataFrame | None = None
) -> City:
    """A copy of ``city`` with ``roads`` added to its drive network.

    Parameters
    ----------
    city
        The city.
    roads
        The links to add.
    road_defaults
        The road-class table (:func:`twin.build.road_classes.load_road_defaults`); ``None``
        for that of the city's profile, so that a new road takes the defaults of its
        class as the city's own roads did.

    Raises
    ------
    ConfigError
        An end that is not a drive node, a taken edge id, or an unknown road class.
    """
    if not roads:
        return city
    if road_defaults is None:
        from twin.build.road_classes import load_road_defaults

        classes = (city.meta.get("profile") or {}).get("data", {}).get("roads")
        road_defaults = load_road_defaults(classes=classes)
    net = city.drive
    position = {int(n): i for i, n in enumerate(net.node_id.tolist())}
    taken = set(net.edge_id.tolist())
    tails, heads, added = [], [], {name: [] for name in EDGE_ARRAYS if name != "indices"}
    for road in roads:
        for end in (road.tail_id, road.head_id):
            if end not in position:
                raise ConfigError(f"new road {road.name!r}: node {end} is not a drive node")
        if road.edge_id in taken:
            raise ConfigError(f"new road {road.name!r}: edge id {road.edge_id} is taken")
        if road.road_class not in road_defaults.index or road.road_class not in net.road_classes:
            raise ConfigError(
                f"new road {road.name!r}: road class {road.road_class!r} is not one of "
                f"{list(net.road_classes)}"
            )
        taken.add(road.edge_id)
        u, v = position[road.tail_id], position[road.head_id]
        row = road_defaults.loc[road.road_class]
        straight = float(np.hypot(net.x[v] - net.x[u], net.y[v] - net.y[u]))
        speed = row["speed_kmh"] if road.speed_kmh is None else road.speed_kmh
        tails.append(u)
        heads.append(v)
        added["length"].append(straight if road.length_m is None else road.length_m)
        added["speed"].append(float(speed) / 3.6)
        added["lanes"].append(float(road.lanes))
        added["capacity"].append(float(road.lanes) * float(row["capacity_pcu_per_lane_h"]))
        added["jam_density"].append(float(row["jam_density_pcu_per_km_lane"]))
        added["road_class"].append(net.road_classes.index(road.road_class))
        added["edge_id"].append(road.edge_id)
        added["osm_way"].append(-1)
        added["bridge"].append(bool(road.bridge))
        added["name"].append(road.name)
    edges = {
        name: np.concatenate(
            [getattr(net, name), np.asarray(values, dtype=getattr(net, name).dtype)]
        )
        for name, values in added.items()
    }
    drive = Network.from_edges(
        nodes={name: getattr(net, name) for name in NODE_ARRAYS},
        tail=np.concatenate([net.tail, tails]),
        head=np.concatenate([net.indices, heads]),
        edges=edges,
        road_classes=net.road_classes,
        node_tags=net.node_tags,
    )
    meta = {**city.meta, "added_roads": [road.edge_id for road in roads]}
    return replace(city, drive=drive, meta=meta)
