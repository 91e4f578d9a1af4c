"""Small hand-made networks and cities for simulation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.city import City
from twin.network import Network
from twin.synthetic import city_on, lonlat


def network(tails, heads, *, length, speed=10.0, capacity=3600.0, jam_density=150.0, ids=None):
    """A network on nodes ``0..max`` (100 m apart on a line) with the given edges."""
    tails, heads = np.asarray(tails), np.asarray(heads)
    n = int(max(tails.max(), heads.max())) + 1
    m = len(tails)

    def per_edge(value):
        return np.broadcast_to(np.asarray(value, dtype=float), (m,)).copy()

    x = 745_000.0 + 100.0 * np.arange(n)
    lon, lat = lonlat(x, np.full(n, 1_815_000.0))
    edges = {
        "length": per_edge(length),
        "speed": per_edge(speed),
        "lanes": np.ones(m),
        "capacity": per_edge(capacity),
        "jam_density": per_edge(jam_density),
        "road_class": np.zeros(m, dtype=np.int16),
    }
    if ids is not None:
        edges["edge_id"] = np.asarray(ids, dtype=np.int64)
    return Network.from_edges(
        nodes={
            "node_id": np.arange(n, dtype=np.int64) + 1000,
            "x": x,
            "y": np.full(n, 1_815_000.0),
            "lon": lon,
            "lat": lat,
        },
        tail=tails,
        head=heads,
        edges=edges,
        road_classes=("residential",),
    )


def two_routes_city() -> City:
    """A (node 0) to B (node 1) by a short street (edge id 101, 200 m) or a detour through
    node 2 (two links of 400 m: ids 102, 103); every link also runs back. 10 m/s."""
    net = network(
        [0, 0, 2, 1, 1, 2],
        [1, 2, 1, 0, 2, 0],
        length=[200.0, 400.0, 400.0, 200.0, 400.0, 400.0],
        ids=[101, 102, 103, 201, 202, 203],
    )
    return city_on(net, name="two routes")


def bottleneck_city(capacity: float = 600.0) -> City:
    """A line 0 → 1 → 2 → 3: a long feeder (5 km, 3600 PCU/h), a bottleneck (edge id 12,
    100 m, ``capacity`` PCU/h) and an exit link (3600 PCU/h); and the way back."""
    net = network(
        [0, 1, 2, 3, 2, 1],
        [1, 2, 3, 2, 1, 0],
        length=[5000.0, 100.0, 100.0, 100.0, 100.0, 5000.0],
        capacity=[3600.0, capacity, 3600.0, 3600.0, 3600.0, 3600.0],
        ids=[11, 12, 13, 31, 32, 33],
    )
    return city_on(net, name="bottleneck")


def trips(origin, destination, depart, vehicle_class="car") -> pd.DataFrame:
    """A trips table (node positions, seconds after midnight)."""
    depart = np.asarray(depart, dtype=float)
    k = len(depart)
    return pd.DataFrame(
        {
            "trip_id": np.arange(k, dtype=np.int64),
            "origin": np.broadcast_to(origin, (k,)).astype(np.int64),
            "destination": np.broadcast_to(destination, (k,)).astype(np.int64),
            "depart": depart,
            "vehicle_class": np.broadcast_to(np.asarray(vehicle_class, dtype=object), (k,)),
        }
    )
