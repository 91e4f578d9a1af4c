"""Small synthetic cities for tests, examples and theory checks.

:func:`grid_city` lays a Manhattan grid of two-way streets with a few POIs, one zone per
grid quadrant and a population spread evenly over its nodes, so that simulations can be
checked against hand calculations without the Huế extract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.city import HUE_CRS, City
from twin.network import Network

_ORIGIN_X, _ORIGIN_Y = 745_000.0, 1_815_000.0  # metres, inside UTM 48N near Huế


def _nodes(nx: int, ny: int, spacing: float) -> dict[str, np.ndarray]:
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    x = _ORIGIN_X + ii.ravel() * spacing
    y = _ORIGIN_Y + jj.ravel() * spacing
    lon, lat = lonlat(x, y)
    return {
        "node_id": np.arange(nx * ny, dtype=np.int64) + 1,
        "x": x,
        "y": y,
        "lon": lon,
        "lat": lat,
    }


def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees) of points in Huế's CRS (EPSG:32648, metres)."""
    import pyproj

    transformer = pyproj.Transformer.from_crs(HUE_CRS, "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def grid_network(
    nx: int = 5,
    ny: int = 5,
    *,
    spacing: float = 200.0,
    speed_kmh: float = 36.0,
    lanes: float = 1.0,
    capacity_per_lane: float = 900.0,
    jam_density: float = 150.0,
) -> Network:
    """A grid of ``nx × ny`` nodes joined by two-way streets.

    Parameters
    ----------
    nx, ny
        Nodes along x and y.
    spacing
        Metres between neighbouring nodes (the length of every edge).
    speed_kmh
        Free-flow speed of every edge, km/h.
    lanes, capacity_per_lane, jam_density
        Lanes per direction, PCU/h per lane and PCU/km per lane of every edge.
    """
    nodes = _nodes(nx, ny, spacing)
    tails, heads = [], []
    for j in range(ny):
        for i in range(nx):
            here = j * nx + i
            if i + 1 < nx:
                tails += [here, here + 1]
                heads += [here + 1, here]
            if j + 1 < ny:
                tails += [here, here + nx]
                heads += [here + nx, here]
    m = len(tails)
    edges = {
        "length": np.full(m, float(spacing)),
        "speed": np.full(m, speed_kmh / 3.6),
        "lanes": np.full(m, float(lanes)),
        "capacity": np.full(m, lanes * capacity_per_lane),
        "jam_density": np.full(m, float(jam_density)),
        "road_class": np.zeros(m, dtype=np.int16),
    }
    return Network.from_edges(
        nodes=nodes,
        tail=np.array(tails),
        head=np.array(heads),
        edges=edges,
        road_classes=("residential",),
    )


def grid_city(
    nx: int = 5,
    ny: int = 5,
    *,
    spacing: float = 200.0,
    population: float = 10_000.0,
    speed_kmh: float = 36.0,
) -> City:
    """A small synthetic city on a grid (see :func:`grid_network`).

    It has four zones (the grid's quadrants), residents spread evenly over the nodes, and
    one POI of each emergency and lodging kind plus two attractions, placed on nodes.
    """
    drive = grid_network(nx, ny, spacing=spacing, speed_kmh=speed_kmh)
    walk = grid_network(nx, ny, spacing=spacing, speed_kmh=4.68)
    n = drive.n_nodes
    col = np.arange(n) % nx
    row = np.arange(n) // nx
    node_zone = ((row >= ny / 2).astype(np.int32) * 2 + (col >= nx / 2)).astype(np.int32)
    per_node = population / n
    zone_rows = []
    for z in range(4):
        members = np.flatnonzero(node_zone == z)
        cx, cy = drive.x[members].mean(), drive.y[members].mean()
        centre = members[np.argmin(np.hypot(drive.x[members] - cx, drive.y[members] - cy))]
        zone_rows.append(
            {
                "zone": z,
                "name": f"Zone {z}",
                "kind": "grid",
                "x": cx,
                "y": cy,
                "area_km2": len(members) * (spacing / 1000) ** 2,
                "population": per_node * len(members),
                "jobs": float(len(members)),
                "schools": 1.0,
                "markets": 1.0,
                "pois": 1.0,
                "drive_node": int(centre),
                "geometry": b"",
            }
        )
    zones = pd.DataFrame(zone_rows)
    placements = [
        ("Hospital A", "hospital", 0),
        ("Fire station A", "fire_station", n - 1),
        ("Hotel A", "hotel", nx - 1),
        ("Hostel A", "hostel", n - nx),
        ("Citadel", "attraction", n // 2),
        ("Pagoda", "pagoda_temple", n // 2 + 1),
        ("Market", "market", 1),
        ("Pier", "pier", n - 2),
    ]
    pois = pd.DataFrame(
        [
            {
                "poi_id": f"synthetic/{k}",
                "name": name,
                "category": cat,
                "x": drive.x[node],
                "y": drive.y[node],
                "lon": drive.lon[node],
                "lat": drive.lat[node],
                "drive_node": node,
                "walk_node": node,
                "access_m": 0.0,
                "size": np.nan,
                "source": "synthetic",
            }
            for k, (name, cat, node) in enumerate(placements)
        ]
    )
    buildings = pd.DataFrame(
        {
            "building_id": np.arange(n),
            "x": drive.x,
            "y": drive.y,
            "footprint_m2": 100.0,
            "height_m": 7.0,
            "height_source": "estimate",
            "levels": 2.0,
            "floor_area_m2": 200.0,
            "use": "residential",
            "zone": node_zone,
            "residents": per_node,
            "geometry": [b""] * n,
        }
    )
    return City(
        name=f"grid {nx}x{ny}",
        crs=HUE_CRS,
        drive=drive,
        walk=walk,
        pois=pois,
        buildings=buildings,
        zones=zones,
        node_zone=node_zone,
        meta={"source": "synthetic", "params": {"nx": nx, "ny": ny, "spacing": spacing}},
    )


def city_on(network: Network, *, name: str = "synthetic", population: float = 0.0) -> City:
    """A minimal city around any drive network: the same network to walk, one zone holding
    every node and ``population`` residents, no POIs and no buildings (traffic studies on
    hand-made networks)."""
    n = network.n_nodes
    zones = pd.DataFrame(
        {
            "zone": [0],
            "name": ["Zone 0"],
            "kind": ["grid"],
            "x": [float(network.x.mean()) if n else 0.0],
            "y": [float(network.y.mean()) if n else 0.0],
            "area_km2": [1.0],
            "population": [float(population)],
            "jobs": [1.0],
            "schools": [0.0],
            "markets": [0.0],
            "pois": [0.0],
            "drive_node": [0],
            "geometry": [b""],
        }
    )
    pois = pd.DataFrame(
        {
            "poi_id": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "category": pd.Series([], dtype=object),
            **{c: pd.Series([], dtype=float) for c in ("x", "y", "lon", "lat")},
            "drive_node": pd.Series([], dtype=np.int64),
            "walk_node": pd.Series([], dtype=np.int64),
            "access_m": pd.Series([], dtype=float),
            "size": pd.Series([], dtype=float),
            "source": pd.Series([], dtype=object),
        }
    )
    buildings = pd.DataFrame(
        {
            "building_id": pd.Series([], dtype=np.int64),
            **{c: pd.Series([], dtype=float) for c in ("x", "y", "footprint_m2", "height_m")},
            "height_source": pd.Series([], dtype=object),
            **{c: pd.Series([], dtype=float) for c in ("levels", "floor_area_m2")},
            "use": pd.Series([], dtype=object),
            "zone": pd.Series([], dtype=np.int64),
            "residents": pd.Series([], dtype=float),
            "geometry": pd.Series([], dtype=object),
        }
    )
    return City(
        name=name,
        crs=HUE_CRS,
        drive=network,
        walk=network,
        pois=pois,
        buildings=buildings,
        zones=zones,
        node_zone=np.zeros(n, dtype=np.int32),
        meta={"source": "synthetic"},
    )
