"""Zones from admin boundaries (complete and cut by the extract's edge) or a grid."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.twin.test_pois import CRS, X0, Y0, mini, mini_city, no_extras  # noqa: F401
from twin.build.features import city_features
from twin.build.zones import (
    AdminBoundary,
    admin_zone_geometries,
    assign_points,
    grid_geometries,
    rebuild_polygon,
    zone_kind,
)
from twin.city import ZONE_CONTRACT_COLUMNS
from twin.synthetic import grid_network


def test_admin_zones_of_the_fixture_city(mini):  # noqa: F811
    features, drive, _ = mini
    zones = features.zones
    for column in ZONE_CONTRACT_COLUMNS:
        assert column in zones.columns
    assert zones["name"].tolist() == ["Phường Tây", "Xã Đông"]  # admin_level 8, not the province
    assert zones["kind"].tolist() == ["ward", "commune"]
    assert zones["zone"].tolist() == [0, 1]
    assert features.report["zones"]["source"] == "admin_level=8"
    # Clipped to the study area: the drive network's hull grown by 500 m.
    west = shapely.from_wkb(zones["geometry"].iloc[0])
    assert west.bounds[0] == pytest.approx(X0 - 100, abs=0.01)
    assert west.bounds[2] == pytest.approx(X0 + 400, abs=0.01)
    assert zones["area_km2"].iloc[0] == pytest.approx(0.5 * 0.8, rel=1e-4)
    # Every drive node has a zone: west of x = X0 + 400 is Phường Tây, east is Xã Đông; the
    # north row (y = Y0 + 800) lies outside both polygons and goes to the nearest.
    nz = features.node_zone
    assert nz.dtype == np.int32 and len(nz) == drive.n_nodes
    west_nodes = drive.x < X0 + 399
    east_nodes = drive.x > X0 + 401
    assert (nz[west_nodes] == 0).all() and (nz[east_nodes] == 1).all()
    assert features.report["zones"]["drive_nodes_outside"] == 5
    for z, node in zip(zones["zone"], zones["drive_node"], strict=True):
        assert 0 <= node < drive.n_nodes and nz[node] == z
    # Attraction weights: the school and the market sit in the west / east zone.
    assert zones["schools"].tolist() == [1.0, 0.0]
    assert zones["markets"].tolist() == [0.0, 1.0]
    assert zones["pois"].sum() == len(features.pois)
    assert (zones["jobs"] > 0).all()


def test_buildings_and_pois_carry_their_zone(mini):  # noqa: F811
    features, _, _ = mini
    b = features.buildings
    assert (b.loc[b["x"] < X0 + 400, "zone"] == 0).all()
    assert (b.loc[b["x"] > X0 + 400, "zone"] == 1).all()
    p = features.pois
    assert (p.loc[p["x"] < X0 + 399, "zone"] == 0).all()


def test_a_file_without_boundaries_gets_grid_zones(tmp_path):
    path, drive, walk = mini_city(tmp_path, admin=False)
    features = city_features(
        path, drive, walk, crs=CRS, population=500.0, extra_pois=no_extras(), grid_cell_m=400.0
    )
    zones = features.zones
    assert (zones["kind"] == "grid").all()
    assert features.report["zones"]["source"] == "grid 400 m"
    # Nodes at 0, 200, …, 800 m from a 400 m-aligned origin: 3 × 3 cells hold nodes.
    assert len(zones) == 9
    assert zones["name"].is_unique
    assert zones["population"].sum() == pytest.approx(500.0, rel=1e-12)
    for z, geom in enumerate(zones["geometry"]):
        poly = shapely.from_wkb(geom)
        members = np.flatnonzero(features.node_zone == z)
        assert len(members) > 0
        assert all(poly.covers(shapely.Point(drive.x[i], drive.y[i])) for i in members)


def test_grid_geometries_cover_every_node():
    drive = grid_network(3, 3, spacing=300.0)
    names, polys = grid_geometries(drive, cell_m=1000.0)
    assert names == ["grid r00c00"]
    zone, inside = assign_points(polys, drive.x, drive.y)
    assert (zone == 0).all() and inside.all()


def test_assign_points_inside_and_nearest():
    polys = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]
    zone, inside = assign_points(polys, np.array([5.0, 15.0, 30.0, 10.0]), np.array([5.0, 5, 5, 5]))
    # On the shared edge the lower zone wins; a point outside goes to the nearest.
    assert zone.tolist() == [0, 1, 1, 0]
    assert inside.tolist() == [True, True, False, True]


def test_rebuild_polygon_closes_an_open_chain():
    # Three sides of a square, cut by the extract's edge: closed by the chord.
    lines = (
        shapely.LineString([(0, 0), (100, 0)]),
        shapely.LineString([(100, 100), (100, 0)]),  # reversed on purpose
        shapely.LineString([(0, 100), (100, 100)]),
    )
    poly = rebuild_polygon(lines)
    assert poly.area == pytest.approx(100 * 100)
    assert rebuild_polygon(()) is None


def test_complete_boundaries_win_overlaps():
    complete = AdminBoundary(1, "Phường A", 6, shapely.box(0, 0, 100, 100), (), 4)
    partial = AdminBoundary(
        2,
        "Phường B",
        6,
        None,
        (shapely.LineString([(50, 0), (200, 0), (200, 100), (50, 100)]),),
        5,
    )
    kept, polys = admin_zone_geometries([partial, complete], shapely.box(-1000, -1000, 1000, 1000))
    assert [b.name for b in kept] == ["Phường A", "Phường B"]
    assert polys[0].area == pytest.approx(100 * 100)
    assert polys[1].area == pytest.approx(100 * 100)  # 150 × 100 less the 50 × 100 overlap
    assert not polys[0].intersection(polys[1]).area > 1e-6


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Phường Vỹ Dạ", "ward"), ("Xã Phú Hồ", "commune"), ("Thị trấn A", "ward"), ("", "ward")],
)
def test_zone_kind(name, kind):
    assert zone_kind(name) == kind
