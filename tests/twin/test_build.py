"""Building a city from a small OSM file: networks, road defaults, extras, CLI.

``tests/data/tiny_town.osm`` is a hand-made town of nine junctions about a kilometre from
Lăng Minh Mạng: a two-way primary with ``lanes=4`` and ``maxspeed=40``, a one-way
tertiary, a bridge, a footway, a driveway, an island road, a one-way dead end, a lane
closed to motor vehicles, one closed to all but motorcycles, and a way cut by the
extract's edge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from twin.build.graph import WALK_SPEED, along_hilbert_curve
from twin.build.osm import way_in_network
from twin.build.pipeline import HUE_POPULATION, build_city
from twin.build.road_classes import (
    impute_edge_attributes,
    load_road_defaults,
    parse_lanes,
    parse_maxspeed,
    pick_class,
)
from twin.build.summary import city_summary
from twin.bundle import read_bundle
from twin.city_profile import load_profile
from twin.cli import main
from twin.errors import ConfigError, SourceNotFoundError

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "tiny_town.osm"


@pytest.fixture(scope="module")
def town():
    return build_city(TOWN, population=1000)


def _edges(net, way):
    """(tail OSM id, head OSM id) of the edges of one OSM way."""
    idx = np.flatnonzero(net.osm_way == way)
    return {(int(net.node_id[net.tail[e]]), int(net.node_id[net.indices[e]])) for e in idx}


def _edge(net, tail_id, head_id):
    pos = {int(n): i for i, n in enumerate(net.node_id)}
    t, h = pos[tail_id], pos[head_id]
    edges = [e for e in range(net.indptr[t], net.indptr[t + 1]) if net.indices[e] == h]
    assert len(edges) == 1, (tail_id, head_id, edges)
    return edges[0]


def _strongly_connected(net) -> bool:
    n = net.n_nodes
    matrix = csr_matrix((np.ones(net.n_edges), (net.tail, net.indices)), shape=(n, n))
    return connected_components(matrix, directed=True, connection="strong")[0] == 1


# -- node numbering ---------------------------------------------------------------------
def test_nodes_near_each_other_on_the_ground_are_near_in_the_arrays():
    # a 64 × 64 grid of points, shuffled: along the curve, grid neighbours are a few
    # places apart; in the shuffled order, a third of the grid apart
    side = 64
    gx, gy = np.meshgrid(np.arange(side, dtype=float), np.arange(side, dtype=float))
    shuffle = np.random.default_rng(7).permutation(side * side)
    x, y = gx.ravel()[shuffle] * 25.0, gy.ravel()[shuffle] * 25.0
    order = along_hilbert_curve(x, y)
    assert sorted(order.tolist()) == list(range(side * side))
    rank = np.empty(side * side, dtype=np.int64)
    rank[order] = np.arange(side * side)
    cell = np.empty(side * side, dtype=np.int64)
    cell[shuffle] = np.arange(side * side)  # input position of each grid cell
    by_cell = rank[cell].reshape(side, side)
    along = np.median(np.abs(np.diff(by_cell, axis=1)))
    shuffled = np.median(np.abs(np.diff(cell.reshape(side, side), axis=1)))
    assert along <= 3 < side * side / 10 < shuffled


def test_points_in_one_place_or_on_one_line_keep_their_input_order():
    same = along_hilbert_curve(np.full(5, 3.0), np.full(5, 7.0))
    assert same.tolist() == [0, 1, 2, 3, 4]
    line = along_hilbert_curve(np.array([40.0, 10.0, 30.0, 20.0]), np.zeros(4))
    assert sorted(line.tolist()) == [0, 1, 2, 3]
    assert along_hilbert_curve(np.array([1.0]), np.array([2.0])).tolist() == [0]
    assert along_hilbert_curve(np.array([]), np.array([])).tolist() == []


@pytest.mark.hue
def test_hue_links_join_nodes_numbered_close_together(hue_city):
    # numbered by OSM id, half of Huế's links joined nodes 16 or more places apart (the
    # median 26); along the curve four in five are within one cache line of int32 values
    for net in (hue_city.drive, hue_city.walk):
        gap = np.abs(net.tail - net.indices)
        assert np.median(gap) <= 4
        assert (gap < 16).mean() > 0.75


# -- the drive network ------------------------------------------------------------------
def test_drive_network_is_simplified_and_strongly_connected(town):
    drive = town.drive
    assert _strongly_connected(drive)
    ids = set(drive.node_id.tolist())
    assert set(range(10, 19)) <= ids  # the nine junctions
    assert 51 not in ids  # the bend inside Lê Lợi is simplified away
    # Lê Lợi runs 10-51-11-12: its first edge keeps the bend's length (> straight 10-11)
    e = _edge(drive, 10, 11)
    a, b = drive.tail[e], drive.indices[e]
    assert drive.length[e] > 1.01 * np.hypot(drive.x[b] - drive.x[a], drive.y[b] - drive.y[a])
    assert town.crs == "EPSG:32648"
    assert 700_000 < drive.x.min() < drive.x.max() < 800_000  # UTM 48N metres


def test_drive_filter_follows_osm_access_rules(town):
    drive = town.drive
    assert not _edges(drive, 108)  # footway
    assert not _edges(drive, 109)  # driveway (service)
    assert not _edges(drive, 113)  # motor_vehicle=no
    assert _edges(drive, 103)  # motor_vehicle=no but motorcycle=yes: motorbikes drive it
    assert way_in_network(
        {"highway": "secondary", "motor_vehicle": "no", "motorcar": "yes"}, "drive"
    )
    assert not way_in_network(
        {"highway": "residential", "motorcar": "no", "motorcycle": "no"}, "drive"
    )
    assert way_in_network({"highway": "service"}, "drive_service")
    assert not way_in_network({"highway": "motorway"}, "walk")


def test_oneway_and_two_way_edges(town):
    assert _edges(town.drive, 105) == {(11, 14)}  # oneway=yes
    assert _edges(town.drive, 102) == {(13, 14), (14, 13), (14, 15), (15, 14)}


def test_components_outside_the_largest_are_dropped_and_reported(town):
    ids = set(town.drive.node_id.tolist())
    assert not {60, 61, 62, 56, 57} & ids  # island road, one-way dead end, cut piece
    dropped = town.meta["dropped"]["drive"]
    assert dropped["nodes"] == 5
    assert dropped["edges"] == 5  # 60<->61, 56<->57, 18->62
    assert dropped["km"] == pytest.approx(0.881, abs=0.01)
    assert dropped["components"] == 4


def test_tags_win_over_defaults(town):
    drive = town.drive
    lele = _edge(drive, 10, 11)  # primary, lanes=4 two-way, maxspeed=40
    assert drive.speed[lele] == pytest.approx(40 / 3.6)
    assert drive.lanes[lele] == 2.0
    assert drive.capacity[lele] == pytest.approx(2 * 1400)
    mph = _edge(drive, 12, 15)  # maxspeed=20 mph
    assert drive.speed[mph] == pytest.approx(20 * 1.609344 / 3.6)
    plain = _edge(drive, 10, 13)  # residential, untagged
    assert drive.speed[plain] == pytest.approx(25 / 3.6)
    assert (drive.lanes[plain], drive.capacity[plain]) == (1.0, 700.0)
    assert drive.jam_density[plain] == 375.0
    assert drive.class_name(plain) == "residential"
    bridge = _edge(drive, 14, 17)
    assert drive.bridge[bridge] and drive.name[bridge] == "Cầu Nhỏ"
    assert drive.osm_way[bridge] == 106
    assert not drive.bridge[plain] and drive.name[plain] == ""


def test_walk_network_runs_both_ways_at_walking_speed(town):
    walk = town.walk
    assert _strongly_connected(walk)
    assert np.all(walk.speed == WALK_SPEED)
    assert _edges(walk, 105) == {(11, 14), (14, 11)}  # one-way for cars, not for walkers
    assert _edges(walk, 108) == {(13, 17), (17, 13)}  # the footway, bend simplified
    assert {62, 64, 53} <= set(walk.node_id.tolist())
    assert "footway" in walk.road_classes


# -- extra POIs -------------------------------------------------------------------------
def test_extra_tombs_are_joined_both_ways(town):
    extras = town.pois[town.pois["source"] == "extra"]
    assert set(extras["name"]) == {"Lăng Minh Mạng", "Lăng Khải Định"}
    assert set(extras["category"]) == {"tomb"}
    drive, walk = town.drive, town.walk
    for row in extras.itertuples():
        node = int(row.drive_node)
        assert drive.node_id[node] < 0
        assert drive.x[node] == pytest.approx(row.x) and drive.lat[node] == pytest.approx(row.lat)
        out = range(drive.indptr[node], drive.indptr[node + 1])
        assert len(out) == 1
        near = int(drive.indices[out[0]])
        back = _edge(drive, int(drive.node_id[near]), int(drive.node_id[node]))
        straight = np.hypot(drive.x[near] - row.x, drive.y[near] - row.y)
        assert drive.length[out[0]] == pytest.approx(1.4 * straight)
        assert drive.length[back] == drive.length[out[0]]
        assert drive.speed[back] == pytest.approx(30 / 3.6)
        assert walk.node_id[int(row.walk_node)] < 0
    report = {r["poi_id"]: r for r in town.meta["extras"]}
    assert report["extra/minh_mang"]["added"]
    assert report["extra/minh_mang"]["drive_link_m"] == pytest.approx(
        1.4 * report["extra/minh_mang"]["drive_straight_m"], rel=1e-3
    )


def test_extras_beyond_reach_are_skipped(tmp_path):
    table = tmp_path / "far.csv"
    table.write_text(
        "poi_id,name,category,lon,lat,detour_factor,access_class,max_access_m\n"
        "extra/far,Far Away,attraction,107.7,16.5,1.3,unclassified,5000\n"
        "extra/near,Near,museum,107.577,16.399,1.2,residential,5000\n",
        encoding="utf-8",
    )
    city = build_city(TOWN, extra_pois=table)
    extras = city.pois[city.pois["source"] == "extra"]
    assert list(extras["name"]) == ["Near"]
    near = int(extras["drive_node"].iloc[0])
    assert city.drive.speed[city.drive.indptr[near]] == pytest.approx(25 / 3.6)
    skipped = [r for r in city.meta["extras"] if not r["added"]]
    assert [r["poi_id"] for r in skipped] == ["extra/far"]
    none = build_city(TOWN, extra_pois=False)
    assert (none.drive.node_id >= 0).all() and not (none.pois["source"] == "extra").any()


# -- the road defaults table ------------------------------------------------------------
def test_shipped_defaults_are_complete():
    table = load_road_defaults()
    assert list(table.index[:3]) == ["motorway", "motorway_link", "trunk"]
    assert (table > 0).all().all()
    assert table.loc["primary", "capacity_pcu_per_lane_h"] == 1400


def test_override_file_replaces_only_what_it_names(tmp_path, town):
    override = tmp_path / "roads.csv"
    override.write_text(
        "# slower lanes\nhighway,speed_kmh,capacity_pcu_per_lane_h\nresidential,18,\n"
        "track,10,400\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="track"):
        load_road_defaults(override)  # a new class needs every column
    override.write_text("highway,speed_kmh,capacity_pcu_per_lane_h\nresidential,18,\n")
    table = load_road_defaults(override)
    assert table.loc["residential", "speed_kmh"] == 18
    assert table.loc["residential", "capacity_pcu_per_lane_h"] == 700  # empty cell: default
    assert table.loc["primary", "speed_kmh"] == 50
    city = build_city(TOWN, road_defaults=override, extra_pois=False)
    assert city.drive.speed[_edge(city.drive, 10, 13)] == pytest.approx(18 / 3.6)
    sha = city.meta["params"]["road_defaults_sha256"]
    assert sha != town.meta["params"]["road_defaults_sha256"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("highway,speed\nresidential,20\n", "unknown columns"),
        ("speed_kmh\n20\n", "no 'highway' column"),
        ("highway,speed_kmh\nresidential,-5\n", "positive number"),
        ("highway,lanes\nresidential,many\n", "positive number"),
        ("highway,lanes\nresidential,1\nresidential,2\n", "listed twice"),
    ],
)
def test_bad_override_files(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_road_defaults(path)


def test_missing_override_file(tmp_path):
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        load_road_defaults(tmp_path / "nope.csv")


def test_tag_parsing():
    assert parse_maxspeed("50") == 50
    assert parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed("VN:urban") == 50
    assert parse_maxspeed(["60", "40"]) == 40
    assert parse_maxspeed("50;40") == 40
    assert parse_maxspeed("none") is None and parse_maxspeed(None) is None
    assert parse_lanes("2") == 2 and parse_lanes(["3", "2"]) == 2
    assert parse_lanes("0") is None and parse_lanes("wide") is None
    order = list(load_road_defaults().index)
    assert pick_class(["residential", "primary"], order) == "primary"
    assert pick_class(["zebra", "aardvark"], order) == "aardvark"
    assert pick_class(None, order) == "road"


def test_merged_lists_are_reduced_whatever_their_order():
    defaults = load_road_defaults()
    a = {
        "highway": ["residential", "tertiary"],
        "name": ["Lê Lợi", "Hà Nội"],
        "osmid": [7, 3],
        "maxspeed": ["50", "30"],
        "lanes": ["3", "2"],
        "bridge": ["yes", None],
        "oneway": False,
        "reversed": [True, False],
        "length": 100.0,
    }
    b = {k: (list(reversed(v)) if isinstance(v, list) else v) for k, v in a.items()}
    arrays_a, classes, _ = impute_edge_attributes([a], defaults)
    arrays_b, _, _ = impute_edge_attributes([b], defaults)
    for key in arrays_a:
        assert arrays_a[key].tolist() == arrays_b[key].tolist(), key
    assert classes[arrays_a["road_class"][0]] == "tertiary"
    assert arrays_a["name"][0] == "Hà Nội; Lê Lợi"
    assert arrays_a["osm_way"][0] == 3 and arrays_a["bridge"][0]
    assert arrays_a["speed"][0] == pytest.approx(30 / 3.6)


def test_unlisted_road_class_takes_the_road_defaults():
    defaults = load_road_defaults()
    arrays, classes, report = impute_edge_attributes(
        [{"highway": "bus_stop_lane", "length": 10.0}], defaults
    )
    assert classes[arrays["road_class"][0]] == "bus_stop_lane"
    assert arrays["speed"][0] == pytest.approx(defaults.loc["road", "speed_kmh"] / 3.6)
    assert report["unlisted_classes"] == ["bus_stop_lane"]


# -- formats, determinism, parameters ---------------------------------------------------
def _network_arrays(city):
    return {f"{k}.{n}": v for k in ("drive", "walk") for n, v in getattr(city, k).arrays().items()}


def test_pbf_and_bz2_give_the_same_city(tmp_path, town):
    import bz2

    import osmium

    pbf = tmp_path / "town.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(TOWN)):
            writer.add(obj)
    packed = tmp_path / "town.osm.bz2"
    packed.write_bytes(bz2.compress(TOWN.read_bytes()))
    for source in (pbf, packed):
        city = build_city(source, population=1000)
        for key, value in _network_arrays(town).items():
            assert np.array_equal(value, _network_arrays(city)[key]), (source, key)


def test_build_is_identical_under_any_hash_seed(tmp_path, town):
    from twin.bundle import write_bundle

    here = write_bundle(town, tmp_path / "here.twin")
    there = tmp_path / "there.twin"
    script = (
        "import sys; from twin.build.pipeline import build_city; "
        "from twin.bundle import write_bundle; "
        "write_bundle(build_city(sys.argv[1], population=1000), sys.argv[2])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(TOWN), str(there)], check=True, env=env)
    a, b = read_bundle(here), read_bundle(there)
    for key, value in _network_arrays(a).items():
        assert np.array_equal(value, _network_arrays(b)[key]), key
    pd.testing.assert_frame_equal(a.pois, b.pois)
    # and the bundles are the same bytes (tests/twin/test_reproducible.py)
    assert here.read_bytes() == there.read_bytes()


def test_population_parameter(town):
    assert town.population == pytest.approx(1000)
    # No default total: the profile's (Huế's 652,572 for Huế), else an estimate.
    assert build_city.__kwdefaults__["population"] is None
    assert load_profile().population_total == HUE_POPULATION == 652_572
    for bad in (0, -5, float("nan"), float("inf"), 1e15):
        with pytest.raises(ConfigError, match="population"):
            build_city(TOWN, population=bad)


def test_source_xor_place():
    with pytest.raises(ConfigError, match="either"):
        build_city()
    with pytest.raises(ConfigError, match="either"):
        build_city(TOWN, place="Huế")


def test_meta_records_the_build(town):
    meta = town.meta
    assert len(meta["source_sha256"]) == 64
    assert meta["source_format"] == "osm"
    assert meta["params"]["population"] == 1000
    assert {"osmnx", "osmium", "numpy", "python"} <= set(meta["versions"])
    assert meta["source_date"].endswith("+00:00")
    assert meta["source_date_from"] == "file modification time"  # tiny_town has no header date
    assert "built_at" not in meta and "build_seconds" not in meta
    assert meta["tags"]["speed_tagged_km"] > 0
    # the way cut by the extract's edge is counted, and said
    assert meta["missing_nodes"] == {"ways": 1, "nodes": 1}
    assert any("1 road references 1 node the file does not hold" in n for n in meta["notes"])


def test_city_summary_counts_two_way_roads_once(town):
    summary = city_summary(town)
    assert summary["nodes"] == town.drive.n_nodes and summary["edges"] == town.drive.n_edges
    lele_km = town.drive.length[np.flatnonzero(town.drive.osm_way == 101)].sum() / 2000
    assert summary["road_km"]["primary"] == pytest.approx(lele_km, abs=0.05)
    oneway_km = town.drive.length[np.flatnonzero(town.drive.osm_way == 105)].sum() / 1000
    assert summary["road_km"]["tertiary"] == pytest.approx(oneway_km, abs=0.05)
    assert summary["pois"]["tomb"] == 2 and "hotel" in summary["pois"]
    assert summary["population"] == 1000
    bbox = summary["bbox"]
    assert bbox["min_lon"] < 107.58 < bbox["max_lon"] and bbox["min_lat"] < 16.397 < bbox["max_lat"]


# -- the command line -------------------------------------------------------------------
def test_cli_build_and_info(tmp_path, capsys, monkeypatch):
    out = tmp_path / "town.twin"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["build", str(TOWN), "-o", str(out), "--population", "5000"]) == 0
    captured = capsys.readouterr()
    assert "built" in captured.out and "[" in captured.err  # progress on a terminal
    assert out.is_file()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert main(["build", str(TOWN), "-o", str(out), "--population", "5000", "--force"]) == 0
    assert capsys.readouterr().err == ""  # a log or a pipe gets no progress
    assert main(["build", str(TOWN), "-o", str(out), "--population", "5000"]) == 0
    assert "up to date" in capsys.readouterr().out

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("nodes", "edges", "km of road", "residential", "POIs", "buildings", "zones"):
        assert word in text
    assert "5,000" in text

    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"nodes", "edges", "road_km", "pois", "buildings", "population", "zones", "bbox"} <= set(
        info
    )
    assert isinstance(info["road_km"], dict) and isinstance(info["pois"], dict)
    assert info["population"] == 5000
    assert info["pois"]["tomb"] == 2


def test_cli_road_defaults_option(tmp_path, capsys):
    override = tmp_path / "roads.csv"
    override.write_text("highway,speed_kmh\nsecondary,33\n", encoding="utf-8")
    out = tmp_path / "town.twin"
    args = ["build", str(TOWN), "-o", str(out), "--road-defaults", str(override), "-q"]
    assert main(args) == 0
    city = read_bundle(out)
    assert city.drive.speed[city.drive.osm_way == 102].max() == pytest.approx(33 / 3.6)
    assert capsys.readouterr().err == ""  # -q: no progress


def test_cli_gmns_option(tmp_path, capsys, grid):
    from twin.build.gmns import write_gmns

    folder, _ = write_gmns(grid, tmp_path / "gmns")
    out = tmp_path / "grid.twin"
    assert main(["build", "--gmns", str(folder), "-o", str(out)]) == 0
    city = read_bundle(out)
    assert city.drive.n_nodes == grid.drive.n_nodes
    assert city.drive.n_edges == grid.drive.n_edges


def test_cli_default_city_uses_the_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TWIN_OSM_PATH", str(TOWN))
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["build", "-q"]) == 0
    assert (tmp_path / "cache" / "hue.twin").is_file()
    assert read_bundle(tmp_path / "cache" / "hue.twin").name == "Huế"
