"""Facts a local knows about Huế, checked on the city built from the real extract.

Way ids come from ``../shared/data/osm/SOURCES.md``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from kernels import dijkstra
from twin.build.summary import city_summary

pytestmark = pytest.mark.hue

#: Bridges over the Perfume River (Sông Hương) and an OSM way of each.
BRIDGES = {
    "Cầu Trường Tiền": 174759688,
    "Cầu Phú Xuân": 39419121,
    "Cầu Dã Viên": 1111678125,
    "Cầu Chợ Dinh": 118537588,
}


def _poi(city, poi_id: str):
    rows = city.pois[city.pois["poi_id"] == poi_id]
    assert len(rows) == 1, f"{poi_id} is not a POI"
    return rows.iloc[0]


def test_the_city_is_hue(hue_city):
    assert hue_city.name == "Huế"
    assert hue_city.crs == "EPSG:32648"
    assert hue_city.meta["source_sha256"]
    summary = city_summary(hue_city)
    assert 10_000 < summary["nodes"] < 40_000
    assert 2_000 < summary["road_km_total"] < 3_000  # pyrosm counts 2,419 km of driving road
    assert summary["road_km"]["residential"] > summary["road_km"]["primary"] > 50
    assert hue_city.population == pytest.approx(652_572)
    bbox = summary["bbox"]
    assert 107.3 < bbox["min_lon"] < 107.6 < 107.65 < bbox["max_lon"] < 107.9
    assert 16.3 < bbox["min_lat"] < 16.45 < 16.5 < bbox["max_lat"] < 16.8


def test_drive_network_is_strongly_connected(hue_city):
    drive = hue_city.drive
    n = drive.n_nodes
    matrix = csr_matrix((np.ones(drive.n_edges), (drive.tail, drive.indices)), shape=(n, n))
    assert connected_components(matrix, directed=True, connection="strong")[0] == 1
    dropped = hue_city.meta["dropped"]["drive"]
    assert 0 < dropped["nodes"] < 0.02 * n  # a few islands at the extract's edge


@pytest.mark.parametrize("name", list(BRIDGES))
def test_perfume_river_bridges_are_drivable_both_ways(hue_city, name):
    drive = hue_city.drive
    edges = np.flatnonzero(drive.name == name)
    assert len(edges) >= 2, f"{name} is not in the drive network"
    assert BRIDGES[name] in set(drive.osm_way[edges].tolist())
    assert drive.bridge[drive.osm_way == BRIDGES[name]].all()
    # travel runs both ways across (a two-way way, or Dã Viên's one-way pair)
    tail, head = drive.tail[edges], drive.indices[edges]
    dx, dy = drive.x[head] - drive.x[tail], drive.y[head] - drive.y[tail]
    along = np.array([dx[0], dy[0]])
    assert (dx * along[0] + dy * along[1] < 0).any()


def test_emergency_services_and_the_imperial_city_are_pois(hue_city):
    hospital = _poi(hue_city, "way/438257497")
    assert hospital["name"] == "Bệnh viện Trung ương Huế"
    assert hospital["category"] == "hospital"
    fire = _poi(hue_city, "way/1174028253")
    assert fire["name"] == "Cảnh sát PC&CC tỉnh Thừa Thiên Huế"
    assert fire["category"] == "fire_station"
    citadel = hue_city.pois[hue_city.pois["name"] == "Hoàng Thành Huế"]
    assert "attraction" in set(citadel["category"])


def test_drive_from_dong_ba_market_to_thien_mu_pagoda(hue_city):
    drive = hue_city.drive
    market = int(_poi(hue_city, "way/161714451")["drive_node"])  # Chợ Đông Ba
    pagoda = int(_poi(hue_city, "way/205794912")["drive_node"])  # Chùa Thiên Mụ
    there, _ = dijkstra(drive.indptr, drive.indices, drive.length, market)
    back, _ = dijkstra(drive.indptr, drive.indices, drive.length, pagoda)
    assert 4_000 < there[pagoda] < 7_000  # metres, along the Perfume River's north bank
    assert 4_000 < back[market] < 7_000
    straight = np.hypot(drive.x[market] - drive.x[pagoda], drive.y[market] - drive.y[pagoda])
    assert there[pagoda] > straight


def test_the_tombs_past_the_edge_are_reachable(hue_city):
    drive, walk = hue_city.drive, hue_city.walk
    market = int(_poi(hue_city, "way/161714451")["drive_node"])
    from_market, _ = dijkstra(drive.indptr, drive.indices, drive.length, market)
    for poi_id, name in (
        ("extra/minh_mang", "Lăng Minh Mạng"),
        ("extra/khai_dinh", "Lăng Khải Định"),
    ):
        tomb = _poi(hue_city, poi_id)
        assert tomb["name"] == name and tomb["category"] == "tomb" and tomb["source"] == "extra"
        node = int(tomb["drive_node"])
        assert drive.node_id[node] < 0
        assert 5_000 < from_market[node] < 30_000
        to_market, _ = dijkstra(drive.indptr, drive.indices, drive.length, node)
        assert np.isfinite(to_market).all()  # the tomb reaches every drive node
        walk_cost, _ = dijkstra(walk.indptr, walk.indices, walk.length, int(tomb["walk_node"]))
        assert np.isfinite(walk_cost).all()
