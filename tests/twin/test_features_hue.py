"""POIs, buildings, zones and residents of the real Huế extract: facts a local would know."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from twin.build.extras import empty_pois
from twin.build.features import city_features
from twin.city import BUILDING_USES, HUE_CRS, POI_CATEGORIES

pytestmark = pytest.mark.hue

HUE_POPULATION = 652_572.0


@pytest.fixture(scope="module")
def hue_features(hue_osm_path, hue_city):
    """city_features run on the built city's own networks (the shipped extras left out)."""
    return city_features(
        hue_osm_path,
        hue_city.drive,
        hue_city.walk,
        crs=HUE_CRS,
        population=HUE_POPULATION,
        extra_pois=empty_pois(),
    )


def _poi(features, name):
    rows = features.pois[features.pois["name"] == name]
    assert len(rows) == 1, f"{name!r}: {len(rows)} POIs"
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Bệnh viện Trung ương Huế", "hospital"),
        ("Cảnh sát PC&CC tỉnh Thừa Thiên Huế", "fire_station"),
        ("Hoàng Thành Huế", "attraction"),
        ("Tử Cấm Thành", "attraction"),
        ("Chùa Thiên Mụ", "pagoda_temple"),
        ("Chợ Đông Ba", "market"),
        ("Thien Mu Boat Station", "pier"),
        ("Lăng Tự Đức", "tomb"),
        ("Ngọ Môn", "city_gate"),
        ("Bến xe phía Nam", "bus_station"),
        ("Công an tỉnh Thừa Thiên-Huế", "police"),
    ],
)
def test_known_places_are_classified(hue_features, name, category):
    assert _poi(hue_features, name)["category"] == category


def test_every_poi_category_is_present_and_linked(hue_features, hue_city):
    pois = hue_features.pois
    assert set(pois["category"]) == set(POI_CATEGORIES)
    assert len(pois) > 400
    assert pois["poi_id"].is_unique
    assert pois["drive_node"].between(0, hue_city.drive.n_nodes - 1).all()
    assert pois["walk_node"].between(0, hue_city.walk.n_nodes - 1).all()
    # The emergency services sit on the road network, not hundreds of metres from it.
    for name in ("Bệnh viện Trung ương Huế", "Cảnh sát PC&CC tỉnh Thừa Thiên Huế"):
        assert _poi(hue_features, name)["access_m"] < 100.0
    # Lăng Tự Đức is mapped three times (relation, building, node): one POI.
    assert (pois["name"] == "Lăng Tự Đức").sum() == 1
    assert not pois["name"].isin(["Tomb of Emperor Tu Duc"]).any()


def test_wards_and_communes_tile_the_network(hue_features, hue_city):
    zones = hue_features.zones
    assert len(zones) >= 20
    assert hue_features.report["zones"]["source"] == "admin_level=6"
    assert {"Phường Phú Xuân", "Phường Thuận Hóa", "Phường Vỹ Dạ", "Phường An Cựu"} <= set(
        zones["name"]
    )
    assert set(zones["kind"]) == {"ward", "commune"}
    node_zone = hue_features.node_zone
    assert len(node_zone) == hue_city.drive.n_nodes
    assert node_zone.min() >= 0 and node_zone.max() < len(zones)
    # The complete wards are the real polygons: the Citadel is in Phú Xuân, the central
    # hospital south of the river in Thuận Hóa.
    name_of = dict(zip(zones["zone"], zones["name"], strict=True))
    assert name_of[_poi(hue_features, "Hoàng Thành Huế")["zone"]] == "Phường Phú Xuân"
    assert name_of[_poi(hue_features, "Chợ Đông Ba")["zone"]] == "Phường Phú Xuân"
    assert name_of[_poi(hue_features, "Bệnh viện Trung ương Huế")["zone"]] == "Phường Thuận Hóa"
    # Zones do not overlap and their drive nodes lie in them.
    polys = [shapely.from_wkb(g) for g in zones["geometry"]]
    assert shapely.union_all(polys).area == pytest.approx(sum(p.area for p in polys), rel=1e-6)
    for z, node in zip(zones["zone"], zones["drive_node"], strict=True):
        assert node_zone[node] == z or not (node_zone == z).any()


def test_residents_sum_to_the_official_population(hue_features):
    zones = hue_features.zones
    assert zones["population"].sum() == pytest.approx(HUE_POPULATION, rel=1e-12)
    assert hue_features.node_residents.sum() == pytest.approx(HUE_POPULATION, rel=1e-12)
    # Streets fill the wards whose homes are not mapped: every ward with roads has people.
    has_roads = np.bincount(hue_features.node_zone, minlength=len(zones)) > 50
    assert (zones.loc[has_roads, "population"] > 100).all()
    central = zones.set_index("name").loc["Phường Thuận Hóa"]
    assert central["population"] / central["area_km2"] > 2000  # people per km²


def test_buildings_of_hue(hue_features):
    b = hue_features.buildings
    assert len(b) > 6500
    assert set(b["use"]) <= set(BUILDING_USES)
    assert (b["use"] == "residential").mean() > 0.7
    assert (b["height_m"] > 0).all() and (b["levels"] >= 1).all()
    assert (b["height_source"] == "estimate").mean() > 0.9  # heights are rarely tagged
    assert set(b["height_source"]) == {"height", "levels", "estimate"}
    assert b["zone"].between(0, len(hue_features.zones) - 1).all()


def test_the_built_city_holds_the_features(hue_city):
    assert len(hue_city.zones) >= 20
    assert hue_city.population == pytest.approx(HUE_POPULATION, rel=1e-9)
    assert (hue_city.pois["category"] == "hospital").sum() >= 10
