"""The shapes of a city: road polylines, water, and their place in the bundle."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import pytest
import shapely

from twin.build.pipeline import build_city
from twin.build.water import line_width, read_water, water_kind
from twin.bundle import read_bundle, read_bundle_meta, write_bundle
from twin.errors import BundleError, TwinError
from twin.geometry import WATER_COLUMNS, CityGeometry, Polylines
from twin.network import Network
from twin.synthetic import grid_network, lonlat

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "tiny_town.osm"


@pytest.fixture(scope="module")
def town():
    return build_city(TOWN, extra_pois=False)


def _added_edge(network: Network) -> Network:
    """``network`` with one more edge (as a scenario's new road): node 0 to the last node."""
    edges = {k: np.append(v, v[:1]) for k, v in network.arrays().items() if k in _EDGE_KEYS}
    edges["edge_id"][-1] = 999
    tail = np.append(network.tail, 0)
    head = np.append(network.indices, network.n_nodes - 1)
    nodes = {k: getattr(network, k) for k in ("node_id", "x", "y", "lon", "lat")}
    return Network.from_edges(
        nodes=nodes, tail=tail, head=head, edges=edges, road_classes=network.road_classes
    )


_EDGE_KEYS = ("length", "speed", "lanes", "capacity", "jam_density", "road_class", "edge_id")


def test_straight_lines_join_each_edge_s_nodes():
    net = grid_network(3, 2, spacing=100.0)
    lines = Polylines.straight(net)
    assert len(lines) == net.n_edges and np.all(lines.n_points == 2)
    assert np.allclose(lines.lengths(), net.length)
    e = 3
    assert np.allclose(lines.line(e)[0], [net.x[net.tail[e]], net.y[net.tail[e]]])
    assert np.allclose(lines.line(e)[-1], [net.x[net.indices[e]], net.y[net.indices[e]]])


def test_shapes_are_turned_to_run_from_tail_to_head_and_missing_ones_are_straight():
    net = grid_network(2, 1, spacing=100.0)  # two edges: 0 -> 1 and 1 -> 0
    x0, y0, x1, y1 = net.x[0], net.y[0], net.x[1], net.y[1]
    bent = np.array([[x1, y1], [x0 + 50, y0 + 30], [x0, y0]])  # drawn from head to tail
    first = int(np.flatnonzero(net.tail == 0)[0])
    lines = Polylines.from_mapping(net, {int(net.edge_id[first]): bent})
    assert np.allclose(lines.line(first), bent[::-1])
    other = 1 - first
    assert lines.n_points[other] == 2
    assert lines.lengths()[first] == pytest.approx(2 * np.hypot(50, 30))


def test_lines_follow_a_grown_network_by_edge_id():
    net = grid_network(3, 3, spacing=100.0)
    shapes = {int(net.edge_id[0]): np.array([[net.x[0], net.y[0]], [0.0, 0.0], [1.0, 1.0]])}
    lines = Polylines.from_mapping(net, shapes)
    grown = _added_edge(net)
    moved = lines.for_network(grown)
    assert len(moved) == grown.n_edges
    new = int(np.flatnonzero(grown.edge_id == 999)[0])
    assert moved.n_points[new] == 2
    assert moved.lengths()[new] == pytest.approx(np.hypot(200.0, 200.0))
    old = int(np.flatnonzero(grown.edge_id == net.edge_id[0])[0])
    assert np.array_equal(moved.line(old), lines.line(0))
    assert lines.for_network(net) is lines


def test_some_lines_are_taken_in_the_order_asked():
    net = grid_network(3, 3, spacing=100.0)
    tail, head = net.tail[2], net.indices[2]
    bent = np.array([[net.x[tail], net.y[tail]], [7.0, 8.0], [net.x[head], net.y[head]]])
    shapes = {int(net.edge_id[2]): bent}
    lines = Polylines.from_mapping(net, shapes)
    taken = lines.take(np.array([5, 2, 0]))
    assert taken.edge_id.tolist() == [net.edge_id[5], net.edge_id[2], net.edge_id[0]]
    for k, e in enumerate([5, 2, 0]):
        assert np.array_equal(taken.line(k), lines.line(e))
    assert taken.n_points.tolist() == [2, 3, 2]
    assert len(lines.take(np.array([], dtype=np.int64))) == 0


def test_inconsistent_polylines_are_refused():
    with pytest.raises(TwinError, match="indptr"):
        Polylines(edge_id=np.arange(2), indptr=np.array([0, 2]), xy=np.zeros((2, 2)))
    with pytest.raises(TwinError, match="two points"):
        Polylines(edge_id=np.arange(1), indptr=np.array([0, 1]), xy=np.zeros((1, 2)))


def test_an_osm_city_keeps_the_shape_of_each_way(town):
    geometry = town.geometry
    drive = town.drive
    assert len(geometry.drive) == drive.n_edges and len(geometry.walk) == town.walk.n_edges
    starts = geometry.drive.xy[geometry.drive.indptr[:-1]]
    ends = geometry.drive.xy[geometry.drive.indptr[1:] - 1]
    assert np.allclose(starts, np.column_stack([drive.x[drive.tail], drive.y[drive.tail]]))
    assert np.allclose(ends, np.column_stack([drive.x[drive.indices], drive.y[drive.indices]]))
    # the polyline is as long as the edge (osmnx measures on the sphere, we in UTM metres)
    assert np.allclose(geometry.drive.lengths(), drive.length, rtol=0.01)
    assert geometry.drive.n_points.max() > 2  # some ways bend between junctions
    assert town.shapes().drive is geometry.drive


def test_bundle_round_trip_keeps_the_shapes(tmp_path, town):
    path = write_bundle(town, tmp_path / "town.twin")
    city = read_bundle(path)
    for kind in ("drive", "walk"):
        a, b = getattr(town.geometry, kind), getattr(city.geometry, kind)
        assert np.array_equal(a.edge_id, b.edge_id) and np.array_equal(a.indptr, b.indptr)
        assert np.array_equal(a.xy, b.xy)
    assert list(city.geometry.water.columns) == list(WATER_COLUMNS)
    assert read_bundle_meta(path)["geometry"] is True


def test_a_city_without_shapes_round_trips_and_is_drawn_straight(tmp_path, grid):
    path = write_bundle(grid, tmp_path / "grid.twin")
    with zipfile.ZipFile(path) as archive:
        assert not any("shape_" in name for name in archive.namelist())
    city = read_bundle(path)
    assert city.geometry is None
    shapes = city.shapes()
    assert np.all(shapes.drive.n_points == 2) and len(shapes.water) == 0


def test_shapes_that_do_not_match_the_network_are_a_damaged_bundle(tmp_path, grid):
    wrong = CityGeometry.straight(grid_network(2, 2), grid.walk)
    path = write_bundle(replace(grid, geometry=wrong), tmp_path / "grid.twin")
    with pytest.raises(BundleError, match="rebuild"):
        read_bundle(path)


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"natural": "water", "water": "moat"}, "moat"),
        ({"natural": "water", "water": "river"}, "river"),
        ({"waterway": "riverbank"}, "river"),
        ({"natural": "water"}, "water"),
        ({"natural": "wood"}, None),
        ({"waterway": "river"}, None),  # a line, not an area
    ],
)
def test_water_kind(tags, kind):
    assert water_kind(tags) == kind


def test_line_width_reads_the_width_tag_else_a_default():
    assert line_width({"waterway": "canal", "width": "22"}) == 22.0
    assert line_width({"waterway": "canal", "width": "8 m"}) == 8.0
    assert line_width({"waterway": "river", "width": "wide"}) == 40.0
    assert line_width({"waterway": "stream"}) is None


def _water_osm(path: Path, net: Network) -> Path:
    """An OSM file around ``net``: a square moat (closed way), a canal line, a stream."""
    x0, y0 = float(net.x.min()), float(net.y.min())
    square = [(x0 + 100, y0 + 100), (x0 + 300, y0 + 100), (x0 + 300, y0 + 300),
              (x0 + 100, y0 + 300)]  # fmt: skip
    canal = [(x0 - 50, y0 + 500), (x0 + 850, y0 + 500)]
    stream = [(x0, y0 + 700), (x0 + 800, y0 + 700)]
    points = [*square, *canal, *stream]
    lon, lat = lonlat(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    nodes = "".join(
        f'<node id="{i + 1}" lat="{la:.8f}" lon="{lo:.8f}"/>'
        for i, (lo, la) in enumerate(zip(lon, lat, strict=True))
    )

    def way(way_id, refs, tags):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        return f'<way id="{way_id}">{nds}{tag}</way>'

    ways = (
        way(10, [1, 2, 3, 4, 1], {"natural": "water", "water": "moat", "name": "Hào <thành>"})
        + way(11, [5, 6], {"waterway": "canal", "name": "Ngự Hà", "width": "20"})
        + way(12, [7, 8], {"waterway": "stream"})
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}{ways}</osm>',
        encoding="utf-8",
    )
    return path


def test_read_water_areas_and_buffered_lines(tmp_path):
    net = grid_network(5, 5, spacing=200.0)
    table, report = read_water(_water_osm(tmp_path / "w.osm", net), crs="EPSG:32648", drive=net)
    assert list(table.columns) == list(WATER_COLUMNS)
    by_kind = table.set_index("kind")
    assert set(by_kind.index) == {"moat", "canal"}  # streams are not drawn
    assert by_kind.loc["moat", "name"] == "Hào <thành>"
    assert by_kind.loc["moat", "area_m2"] == pytest.approx(200 * 200, rel=0.01)
    # the canal: 20 m wide, 900 m long, clipped to the study area (grown by 1 km: all of it)
    assert by_kind.loc["canal", "area_m2"] == pytest.approx(20 * 900, rel=0.01)
    assert by_kind.loc["canal", "source"] == "line"
    moat = shapely.from_wkb(by_kind.loc["moat", "geometry"])
    assert moat.contains(shapely.Point(float(net.x.min()) + 200, float(net.y.min()) + 200))
    assert report["areas"] == 1 and report["lines"] == 1 and not report["failed_areas"]


def test_a_file_without_water_gives_an_empty_table(town):
    assert isinstance(town.geometry.water, pd.DataFrame)
    assert len(town.geometry.water) == 0
    assert town.meta["water"]["areas"] == 0


@pytest.mark.hue
def test_hue_has_its_river_moats_and_bent_roads(hue_city):
    geometry = hue_city.geometry
    assert geometry is not None
    water = geometry.water
    assert {"moat", "river", "canal"} <= set(water["kind"])
    assert (water["name"] == "Sông Hương").any()
    # the middle of Trường Tiền bridge stands over the water
    bridge = np.flatnonzero(hue_city.drive.name == "Cầu Trường Tiền")
    assert len(bridge)
    span = bridge[np.argmax(hue_city.drive.length[bridge])]
    middle = geometry.drive.line(int(span)).mean(axis=0)
    river = shapely.union_all(shapely.from_wkb(water["geometry"].to_numpy()))
    assert river.contains(shapely.Point(*middle))
    lengths = geometry.drive.lengths()
    osm = hue_city.drive.osm_way >= 0
    close = np.isclose(lengths[osm], hue_city.drive.length[osm], rtol=0.02)
    assert close.mean() > 0.99
    assert (geometry.drive.n_points > 2).mean() > 0.3
