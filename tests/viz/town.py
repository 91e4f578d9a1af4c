"""A small synthetic river town for the view's tests: streets on both banks of a river
named Sông Hương, two bridges, a Citadel gate named Ngọ Môn, buildings with footprints,
ward polygons, and names holding markup (as OSM names can)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from twin.city import HUE_CRS, City
from twin.geometry import CityGeometry, Polylines
from twin.network import Network
from twin.synthetic import lonlat

X0, Y0 = 745_000.0, 1_815_000.0
SPACING = 200.0
NX, NY = 6, 6
#: Rows south and north of the river.
SOUTH_ROW, NORTH_ROW = 2, 3
#: Columns of the two bridges.
BRIDGE_COLUMNS = {1: "Cầu Một", 4: "Cầu Hai"}
#: Column where a scenario of the tests builds a third bridge.
NEW_BRIDGE_COLUMN = 2
SCRIPT_NAME = "<script>alert(1)</script>"
MARKUP_ROAD = "<img src=x onerror=alert(2)>"


def node(i: int, j: int) -> int:
    return j * NX + i


def river_polygon() -> shapely.Polygon:
    y_south = Y0 + SOUTH_ROW * SPACING + 40.0
    y_north = Y0 + NORTH_ROW * SPACING - 40.0
    return shapely.box(X0 - 300.0, y_south, X0 + (NX - 1) * SPACING + 300.0, y_north)


def town() -> City:
    """The river town (36 nodes, two bridges, four wards)."""
    ii, jj = np.meshgrid(np.arange(NX), np.arange(NY), indexing="xy")
    x = X0 + ii.ravel() * SPACING
    y = Y0 + jj.ravel() * SPACING
    lon, lat = lonlat(x, y)
    nodes = {"node_id": np.arange(NX * NY, dtype=np.int64) + 1, "x": x, "y": y,
             "lon": lon, "lat": lat}  # fmt: skip
    tails, heads, names, bridges = [], [], [], []
    for j in range(NY):
        for i in range(NX):
            here = node(i, j)
            if i + 1 < NX:
                name = MARKUP_ROAD if j == NORTH_ROW else f"Đường {j}"
                tails += [here, here + 1]
                heads += [here + 1, here]
                names += [name, name]
                bridges += [False, False]
            if j + 1 < NY:
                crossing = j == SOUTH_ROW
                if crossing and i not in BRIDGE_COLUMNS:
                    continue
                name = BRIDGE_COLUMNS[i] if crossing else f"Phố {i}"
                tails += [here, here + NX]
                heads += [here + NX, here]
                names += [name, name]
                bridges += [crossing, crossing]
    m = len(tails)
    edges = {
        "length": np.full(m, SPACING),
        "speed": np.full(m, 10.0),
        "lanes": np.ones(m),
        "capacity": np.full(m, 900.0),
        "jam_density": np.full(m, 150.0),
        "road_class": np.zeros(m, dtype=np.int16),
        "osm_way": np.arange(m, dtype=np.int64) // 2 + 100,
        "bridge": np.array(bridges),
        "name": np.array(names, dtype=object),
    }
    drive = Network.from_edges(nodes=nodes, tail=np.array(tails), head=np.array(heads),
                               edges=edges, road_classes=("secondary",))  # fmt: skip
    walk = Network.from_edges(nodes=nodes, tail=np.array(tails), head=np.array(heads),
                              edges={**edges, "speed": np.full(m, 1.3)},
                              road_classes=("footway",))  # fmt: skip
    col, row = np.arange(NX * NY) % NX, np.arange(NX * NY) // NX
    node_zone = ((row > SOUTH_ROW).astype(np.int32) * 2 + (col >= NX / 2)).astype(np.int32)
    half_x, half_y = X0 + 2.5 * SPACING, Y0 + 2.5 * SPACING
    boxes = [
        shapely.box(X0 - 100, Y0 - 100, half_x, half_y),
        shapely.box(half_x, Y0 - 100, X0 + 5 * SPACING + 100, half_y),
        shapely.box(X0 - 100, half_y, half_x, Y0 + 5 * SPACING + 100),
        shapely.box(half_x, half_y, X0 + 5 * SPACING + 100, Y0 + 5 * SPACING + 100),
    ]
    zones = pd.DataFrame(
        {
            "zone": np.arange(4),
            "name": [f"Phường {k}" for k in range(4)],
            "kind": "ward",
            "x": [b.centroid.x for b in boxes],
            "y": [b.centroid.y for b in boxes],
            "area_km2": [b.area / 1e6 for b in boxes],
            "population": 5000.0,
            "jobs": 9.0,
            "schools": 1.0,
            "markets": 1.0,
            "pois": 1.0,
            "drive_node": [node(1, 1), node(4, 1), node(1, 4), node(4, 4)],
            "geometry": [b.wkb for b in boxes],
        }
    )
    places = [
        ("Bệnh viện", "hospital", node(0, 0)),
        ("Đội cứu hỏa", "fire_station", node(5, 5)),
        ("Khách sạn", "hotel", node(5, 0)),
        ("Nhà nghỉ", "guest_house", node(0, 5)),
        ("Ngọ Môn", "attraction", node(2, 4)),
        (SCRIPT_NAME, "attraction", node(3, 1)),
        ("Chợ", "market", node(1, 0)),
    ]
    pois = pd.DataFrame(
        [
            {"poi_id": f"node/{k + 1}", "name": name, "category": cat, "x": x[n], "y": y[n],
             "lon": lon[n], "lat": lat[n], "drive_node": n, "walk_node": n, "access_m": 0.0,
             "size": np.nan, "source": "synthetic"}
            for k, (name, cat, n) in enumerate(places)
        ]
    )  # fmt: skip
    centres = [(X0 + (i + 0.5) * SPACING, Y0 + (j + 0.5) * SPACING)
               for j in range(NY - 1) for i in range(NX - 1) if j != SOUTH_ROW]  # fmt: skip
    footprints = [shapely.box(cx - 30, cy - 20, cx + 30, cy + 20) for cx, cy in centres]
    buildings = pd.DataFrame(
        {
            "building_id": np.arange(len(centres)),
            "x": [c[0] for c in centres],
            "y": [c[1] for c in centres],
            "footprint_m2": 2400.0,
            "height_m": 6.0 + 3.0 * (np.arange(len(centres)) % 5),
            "height_source": "estimate",
            "levels": 2.0,
            "floor_area_m2": 4800.0,
            "use": "residential",
            "zone": 0,
            "residents": 100.0,
            "geometry": [f.wkb for f in footprints],
        }
    )
    river = river_polygon()
    water = pd.DataFrame(
        {
            "osm_id": ["way/1"],
            "kind": ["river"],
            "name": ["Sông Hương"],
            "source": ["area"],
            "area_m2": [river.area],
            "geometry": [river.wkb],
        }
    )
    geometry = CityGeometry(
        drive=Polylines.straight(drive), walk=Polylines.straight(walk), water=water
    )
    return City(
        name="Thị trấn sông",
        crs=HUE_CRS,
        drive=drive,
        walk=walk,
        pois=pois,
        buildings=buildings,
        zones=zones,
        node_zone=node_zone,
        meta={"source": "synthetic"},
        geometry=geometry,
    )
