"""POI classification, deduplication and network links; the small OSM fixture city."""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from twin.build.features import city_features
from twin.build.pois import (
    classify,
    deduplicate,
    load_poi_rules,
    normalise_name,
    parse_size,
    poi_candidates,
)
from twin.city import POI_CATEGORIES, POI_CONTRACT_COLUMNS
from twin.errors import ConfigError
from twin.synthetic import grid_network

CRS = "EPSG:32648"
# grid_network(5, 5): nodes at x 745000..745800, y 1815000..1815800 (200 m apart).
X0, Y0 = 745_000.0, 1_815_000.0
_TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


class MiniOsm:
    """Writes a small OSM XML file from features given in UTM 48N metres."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, float, float, dict]] = []
        self.ways: list[tuple[int, list[int], dict]] = []
        self.relations: list[tuple[int, list[tuple[str, int, str]], dict]] = []
        self._way_nodes: dict[tuple[float, float], int] = {}

    def node(self, x: float, y: float, **tags: str) -> int:
        lon, lat = _TO_LONLAT.transform(x, y)
        nid = len(self.nodes) + 1
        self.nodes.append((nid, lon, lat, tags))
        return nid

    def way(self, points: list[tuple[float, float]], *, closed: bool = False, **tags) -> int:
        refs = []
        for x, y in points:  # ways meeting at a point share its node
            if (x, y) not in self._way_nodes:
                self._way_nodes[(x, y)] = self.node(x, y)
            refs.append(self._way_nodes[(x, y)])
        if closed:
            refs.append(refs[0])
        wid = 1000 + len(self.ways)
        self.ways.append((wid, refs, tags))
        return wid

    def box(self, x0: float, y0: float, x1: float, y1: float, **tags: str) -> int:
        return self.way([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], closed=True, **tags)

    def relation(self, ways: list[int], **tags: str) -> int:
        rid = 5000 + len(self.relations)
        self.relations.append((rid, [("way", w, "outer") for w in ways], tags))
        return rid

    @staticmethod
    def _tags(tags: dict) -> str:
        return "".join(
            f"<tag k={quoteattr(k.replace('__', ':'))} v={quoteattr(str(v))}/>"
            for k, v in tags.items()
        )

    def write(self, path: Path) -> Path:
        out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
        for nid, lon, lat, tags in self.nodes:
            out.append(
                f'<node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}">'
                f"{self._tags(tags)}</node>"
            )
        for wid, refs, tags in self.ways:
            nds = "".join(f'<nd ref="{r}"/>' for r in refs)
            out.append(f'<way id="{wid}" version="1">{nds}{self._tags(tags)}</way>')
        for rid, members, tags in self.relations:
            mem = "".join(f'<member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members)
            out.append(f'<relation id="{rid}" version="1">{mem}{self._tags(tags)}</relation>')
        out.append("</osm>")
        path.write_text("\n".join(out), encoding="utf-8")
        return path


def add_pois(osm: MiniOsm) -> None:
    """A few POIs of every class (and some that are not POIs)."""
    x, y = X0 + 100, Y0 + 100
    osm.node(x, y, tourism="attraction", name="Hoàng Thành", historic="castle")
    osm.node(x + 20, y, tourism="museum", name="Bảo tàng A")
    osm.node(x + 40, y, historic="tomb", name="Lăng A")
    osm.node(x + 60, y, historic="city_gate", name="Cửa Đông")
    osm.node(x + 80, y, amenity="place_of_worship", religion="buddhist", name="Chùa Một")
    osm.node(x + 100, y, amenity="place_of_worship", name="Chùa Hai")
    osm.node(x + 120, y, amenity="place_of_worship", religion="christian", name="Nhà thờ Ba")
    osm.node(x, y + 300, tourism="hotel", name="Hotel A", rooms="40")
    osm.node(x + 20, y + 300, tourism="motel", name="Motel B")
    osm.node(x + 40, y + 300, tourism="hostel", name="Hostel C", beds="20")
    osm.node(x + 60, y + 300, tourism="guest_house", name="Nhà nghỉ D")
    osm.box(x + 300, y + 300, x + 380, y + 380, amenity="hospital", name="Bệnh viện A")
    osm.node(x + 80, y + 300, healthcare="hospital", name="Bệnh viện B")
    osm.node(x + 100, y + 300, amenity="hospital", name="Nhà thuốc C")
    osm.node(x + 120, y + 300, amenity="fire_station", name="PCCC")
    osm.node(x + 140, y + 300, amenity="police", name="Công an")
    osm.box(x + 500, y + 500, x + 560, y + 560, amenity="marketplace", name="Chợ Đông Ba")
    osm.node(x + 530, y + 530, amenity="marketplace", name="Chợ Đông Ba")
    osm.node(x + 160, y + 300, amenity="bus_station", name="Bến xe")
    osm.node(x + 180, y + 300, amenity="ferry_terminal", name="Boat A")
    osm.way([(x + 600, y), (x + 600, y + 40)], man_made="pier")
    osm.node(x + 200, y + 300, name="Bến thuyền Tòa Khâm")
    osm.node(x + 220, y + 300, amenity="cafe", name="Café")


def mini_city(
    tmp_path: Path, *, admin: bool = True, name: str = "mini.osm"
) -> tuple[Path, object, object]:
    """The fixture city: its OSM file and a 5 × 5 grid drive and walk network under it.

    With ``admin``, two admin_level-8 relations tile the south four rows of the grid
    (west "Phường Tây", east "Xã Đông", split at x = X0 + 400); the north row lies outside.
    """
    osm = MiniOsm()
    add_pois(osm)
    # Buildings (see test_buildings).
    osm.box(X0 + 10, Y0 + 410, X0 + 30, Y0 + 430, building="yes", height="12 m")
    osm.box(X0 + 50, Y0 + 410, X0 + 70, Y0 + 430, building="yes", **{"building:levels": "4"})
    osm.box(X0 + 90, Y0 + 410, X0 + 100, Y0 + 420, building="house")
    osm.box(X0 + 110, Y0 + 410, X0 + 122, Y0 + 420, building="yes")  # 120 m², residential
    osm.box(X0 + 130, Y0 + 410, X0 + 133, Y0 + 413, building="yes")  # 9 m² shed
    osm.box(X0 + 600, Y0 + 400, X0 + 790, Y0 + 590, landuse="industrial")
    osm.box(X0 + 650, Y0 + 450, X0 + 700, Y0 + 500, building="yes")  # industrial
    osm.box(X0 + 200, Y0 + 600, X0 + 240, Y0 + 640, building="yes")  # school
    osm.node(X0 + 220, Y0 + 620, amenity="school", name="Trường A")
    osm.box(X0 + 620, Y0 + 10, X0 + 660, Y0 + 40, building="yes")  # east residential
    if admin:
        south, split, mid, north, west, east = (
            Y0 - 100,
            X0 + 400,
            Y0 + 300,
            Y0 + 700,
            X0 - 100,
            X0 + 900,
        )
        shared = osm.way([(split, south), (split, mid), (split, north)])
        west_ring = osm.way([(split, north), (west, north), (west, south), (split, south)])
        east_ring = osm.way([(split, north), (east, north), (east, south), (split, south)])
        tags = {"type": "boundary", "boundary": "administrative", "admin_level": "8"}
        osm.relation([shared, west_ring], name="Phường Tây", **tags)
        osm.relation([shared, east_ring], name="Xã Đông", **tags)
        tags4 = {**tags, "admin_level": "4", "name": "Tỉnh"}
        osm.relation([west_ring, east_ring], **tags4)
    path = osm.write(tmp_path / name)
    return path, grid_network(5, 5), grid_network(5, 5, speed_kmh=4.7)


def no_extras() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["name", "category", "lon", "lat", "x", "y", "drive_node", "walk_node", "access_m"]
    )


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    path, drive, walk = mini_city(tmp_path_factory.mktemp("mini"))
    features = city_features(path, drive, walk, crs=CRS, population=1000.0, extra_pois=no_extras())
    return features, drive, walk


# -- rules ------------------------------------------------------------------------------
RULES = load_poi_rules()


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"tourism": "attraction"}, "attraction"),
        ({"tourism": "museum"}, "museum"),
        ({"historic": "castle", "tourism": "museum", "name": "Hoàng Thành Huế"}, "attraction"),
        ({"historic": "tomb"}, "tomb"),
        ({"tourism": "attraction", "name": "Lăng Tự Đức"}, "tomb"),
        ({"historic": "city_gate"}, "city_gate"),
        ({"amenity": "place_of_worship", "religion": "buddhist"}, "pagoda_temple"),
        ({"amenity": "place_of_worship", "name": "Chùa Từ Đàm"}, "pagoda_temple"),
        ({"amenity": "place_of_worship", "name:en": "Hon Chen Temple"}, "pagoda_temple"),
        ({"building": "temple", "name": "Điện Hòn Chén"}, "pagoda_temple"),
        ({"tourism": "hotel"}, "hotel"),
        ({"tourism": "motel"}, "hotel"),
        ({"tourism": "hostel"}, "hostel"),
        ({"tourism": "guest_house"}, "guest_house"),
        ({"amenity": "hospital", "name": "Bệnh viện Trung ương Huế"}, "hospital"),
        ({"healthcare": "hospital"}, "hospital"),
        ({"amenity": "fire_station", "name": "Cảnh sát PC&CC"}, "fire_station"),
        ({"amenity": "police"}, "police"),
        ({"amenity": "marketplace", "tourism": "attraction"}, "market"),
        ({"amenity": "bus_station"}, "bus_station"),
        ({"amenity": "ferry_terminal", "name": "Thien Mu Boat Station"}, "pier"),
        ({"man_made": "pier"}, "pier"),
        ({"name": "Bến thuyền Tòa Khâm"}, "pier"),
    ],
)
def test_classify_gives_the_expected_category(tags, expected):
    assert classify(tags, RULES)[0] == expected


@pytest.mark.parametrize(
    "tags",
    [
        {"amenity": "place_of_worship", "religion": "christian", "name": "Nhà thờ Phủ Cam"},
        {"amenity": "hospital", "name": "Nhà thuốc Thanh Nhàn"},
        {"amenity": "fire_station", "name": "Trạm Nước PCCC"},
        {"amenity": "cafe", "name": "Café"},
        {"building": "yes", "name": "Điện Thọ Ninh"},
        {},
    ],
)
def test_classify_rejects_what_is_not_a_poi(tags):
    assert classify(tags, RULES) == []


def test_classify_keeps_every_matching_category_in_priority_order():
    tags = {"amenity": "marketplace", "tourism": "attraction", "name": "Chợ Đông Ba"}
    assert classify(tags, RULES) == ["market", "attraction"]


def test_every_category_has_a_rule():
    assert {r.category for r in RULES} == set(POI_CATEGORIES)


def test_a_rule_with_an_unknown_category_is_a_config_error(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_text(
        "priority,category,key,value,if_key,if_value,name_regex,not_name_regex,note\n"
        "1,zoo,tourism,zoo,,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="zoo"):
        load_poi_rules(path)


def test_a_rules_file_missing_columns_is_a_config_error(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_text("priority,category\n1,hotel\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing columns"):
        load_poi_rules(path)


def test_normalise_name_ignores_case_diacritics_and_d():
    assert normalise_name("Chùa Từ Đàm") == normalise_name("chua tu dam")
    assert normalise_name("  Chợ  Đông-Ba ") == "cho dong ba"


def test_parse_size_reads_rooms_then_beds():
    assert parse_size({"rooms": "40", "beds": "80"}) == 40.0
    assert parse_size({"beds": "120 beds"}) == 120.0
    assert math.isnan(parse_size({"name": "x"}))


# -- deduplication ----------------------------------------------------------------------
def _candidates(rows):
    frame = pd.DataFrame(
        {
            "osm_kind": [r[0] for r in rows],
            "osm_id": np.arange(len(rows)),
            "tags": [r[1] for r in rows],
            "geometry": [r[2] for r in rows],
        }
    )
    return poi_candidates(frame, RULES)


def test_a_node_and_an_area_with_one_name_are_one_poi():
    area = shapely.box(0, 0, 60, 60)
    pois = _candidates(
        [
            ("way", {"amenity": "marketplace", "name": "Chợ Tây Lộc"}, area),
            ("node", {"amenity": "marketplace", "name": "Cho Tay Loc"}, shapely.Point(10, 10)),
            ("node", {"amenity": "marketplace", "name": "Chợ Tây Lộc"}, shapely.Point(900, 0)),
        ]
    )
    kept, merged = deduplicate(pois)
    assert kept["poi_id"].tolist() == ["way/0", "node/2"]
    assert merged == [("node/1", "way/0")]


def test_a_hospital_on_another_hospitals_campus_is_kept():
    campus = shapely.box(0, 0, 300, 300)
    pois = _candidates(
        [
            ("way", {"amenity": "hospital", "name": "Bệnh viện Trung ương Huế"}, campus),
            (
                "way",
                {"amenity": "hospital", "name": "Bệnh viện Quốc tế"},
                shapely.box(10, 10, 50, 50),
            ),
        ]
    )
    kept, merged = deduplicate(pois)
    assert len(kept) == 2
    assert merged == []


def test_a_hall_inside_a_pagoda_complex_merges_into_it():
    grounds = shapely.box(0, 0, 200, 200)
    pois = _candidates(
        [
            (
                "way",
                {"amenity": "place_of_worship", "religion": "buddhist", "name": "Chùa Thiên Mụ"},
                grounds,
            ),
            (
                "way",
                {"amenity": "place_of_worship", "religion": "buddhist", "name": "Tháp"},
                shapely.box(90, 90, 110, 110),
            ),
        ]
    )
    kept, merged = deduplicate(pois)
    assert kept["name"].tolist() == ["Chùa Thiên Mụ"]
    assert merged == [("way/1", "way/0")]


# -- the fixture city ---------------------------------------------------------------------
def test_fixture_city_pois_are_classified(mini):
    features, _, _ = mini
    pois = features.pois.set_index("name")
    expected = {
        "Hoàng Thành": "attraction",
        "Bảo tàng A": "museum",
        "Lăng A": "tomb",
        "Cửa Đông": "city_gate",
        "Chùa Một": "pagoda_temple",
        "Chùa Hai": "pagoda_temple",
        "Hotel A": "hotel",
        "Motel B": "hotel",
        "Hostel C": "hostel",
        "Nhà nghỉ D": "guest_house",
        "Bệnh viện A": "hospital",
        "Bệnh viện B": "hospital",
        "PCCC": "fire_station",
        "Công an": "police",
        "Chợ Đông Ba": "market",
        "Bến xe": "bus_station",
        "Boat A": "pier",
        "Bến thuyền Tòa Khâm": "pier",
    }
    for name, category in expected.items():
        assert pois.loc[name, "category"] == category, name
    assert "Nhà thờ Ba" not in pois.index
    assert "Nhà thuốc C" not in pois.index
    assert "Café" not in pois.index
    assert set(features.pois["category"]) == set(POI_CATEGORIES)
    # The market is mapped as an area and as a node inside it: one POI, the area.
    market = features.pois[features.pois["name"] == "Chợ Đông Ba"]
    assert market["poi_id"].tolist()[0].startswith("way/") and len(market) == 1
    assert pois.loc["Hotel A", "size"] == 40.0
    assert pois.loc["Hostel C", "size"] == 20.0


def test_fixture_city_pois_have_stable_ids_and_the_contract_columns(mini):
    features, _, _ = mini
    pois = features.pois
    for column in POI_CONTRACT_COLUMNS:
        assert column in pois.columns
    assert pois["poi_id"].is_unique
    assert pois["poi_id"].str.match(r"^(node|way|relation)/\d+$").all()
    assert (pois["source"] == "osm").all()
    # The area POI stands at its centroid: Bệnh viện A's box is 300..380 m from the corner.
    hospital = pois[pois["name"] == "Bệnh viện A"].iloc[0]
    assert hospital["x"] == pytest.approx(X0 + 440, abs=0.5)
    assert hospital["y"] == pytest.approx(Y0 + 440, abs=0.5)
    lon, lat = _TO_LONLAT.transform(X0 + 440, Y0 + 440)
    assert hospital["lon"] == pytest.approx(lon, abs=1e-6)
    assert hospital["lat"] == pytest.approx(lat, abs=1e-6)


def test_fixture_city_pois_link_to_their_nearest_nodes(mini):
    features, drive, walk = mini
    areas = {"Bệnh viện A", "Chợ Đông Ba"}
    for _, poi in features.pois[~features.pois["name"].isin(areas)].iterrows():
        d_drive = np.hypot(drive.x - poi["x"], drive.y - poi["y"])
        d_walk = np.hypot(walk.x - poi["x"], walk.y - poi["y"])
        assert d_drive[poi["drive_node"]] == pytest.approx(d_drive.min())
        assert d_walk[poi["walk_node"]] == pytest.approx(d_walk.min())
        assert poi["access_m"] == pytest.approx(d_drive.min())


def test_fixture_city_area_pois_link_to_the_node_nearest_their_outline(mini):
    features, drive, _ = mini
    pois = features.pois.set_index("name")
    # The hospital's box spans 400..480 m east and north of the grid's corner: its south-west
    # corner touches the node at (400, 400), though its centre is nearer none in particular.
    hospital = pois.loc["Bệnh viện A"]
    node = int(hospital["drive_node"])
    assert (drive.x[node] - X0, drive.y[node] - Y0) == pytest.approx((400.0, 400.0), abs=0.01)
    assert hospital["access_m"] == pytest.approx(0.0, abs=0.05)
    # The market (600..660 m) holds the node at (600, 600) on its corner too; a point POI at
    # its centre would have been 42 m away.
    market = pois.loc["Chợ Đông Ba"]
    node = int(market["drive_node"])
    assert (drive.x[node] - X0, drive.y[node] - Y0) == pytest.approx((600.0, 600.0), abs=0.01)
    assert market["access_m"] < 1.0


def test_extra_pois_are_appended(tmp_path):
    path, drive, walk = mini_city(tmp_path)
    extra = pd.DataFrame(
        [
            {
                "poi_id": "extra/minh_mang",
                "name": "Lăng Minh Mạng",
                "category": "tomb",
                "lon": 107.571,
                "lat": 16.387,
                "x": X0,
                "y": Y0 - 900,
                "drive_node": 0,
                "walk_node": 0,
                "access_m": 900.0,
                "source": "extra",
            }
        ]
    )
    features = city_features(path, drive, walk, crs=CRS, population=10.0, extra_pois=extra)
    row = features.pois[features.pois["poi_id"] == "extra/minh_mang"].iloc[0]
    assert row["category"] == "tomb" and row["source"] == "extra" and row["access_m"] == 900.0
    assert math.isnan(row["size"])


def test_a_bzip2_file_reads_like_the_xml(tmp_path, mini):
    import bz2

    path, drive, walk = mini_city(tmp_path)
    packed = tmp_path / "mini.osm.bz2"
    packed.write_bytes(bz2.compress(path.read_bytes()))
    features = city_features(
        packed, drive, walk, crs=CRS, population=1000.0, extra_pois=no_extras()
    )
    assert features.pois["poi_id"].tolist() == mini[0].pois["poi_id"].tolist()
    assert len(features.buildings) == len(mini[0].buildings)


def test_unreadable_files_raise_clear_errors(tmp_path):
    from twin.build.features import read_osm_objects
    from twin.errors import OSMReadError, SourceNotFoundError

    with pytest.raises(SourceNotFoundError, match="does not exist"):
        read_osm_objects(tmp_path / "missing.osm")
    page = tmp_path / "page.osm"
    page.write_text("<html><body>not OSM</body></html>", encoding="utf-8")
    with pytest.raises(OSMReadError, match="not OpenStreetMap"):
        read_osm_objects(page)
    path, _, _ = mini_city(tmp_path)
    cut = tmp_path / "cut.osm"
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(OSMReadError, match="cannot be read as OSM"):
        read_osm_objects(cut)
