"""Building heights, levels, floor areas and use classes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from tests.twin.test_pois import X0, Y0, mini  # noqa: F401  (fixture)
from twin.build.buildings import (
    ROOF_M,
    STOREY_M,
    building_table,
    building_uses,
    estimate_levels,
    parse_height,
    parse_levels,
)
from twin.city import BUILDING_CONTRACT_COLUMNS, BUILDING_USES


@pytest.mark.parametrize(
    ("text", "metres"),
    [("12", 12.0), ("12 m", 12.0), ("12.5", 12.5), ("12,5 m", 12.5), ("40 ft", 12.192)],
)
def test_parse_height(text, metres):
    assert parse_height(text) == pytest.approx(metres)


@pytest.mark.parametrize("text", [None, "", "tall", "0", "-3"])
def test_parse_height_unreadable_is_nan(text):
    assert math.isnan(parse_height(text))


@pytest.mark.parametrize(("text", "levels"), [("3", 3.0), ("2.5", 2.5), ("2;3", 3.0)])
def test_parse_levels(text, levels):
    assert parse_levels(text) == levels


def test_estimate_levels_grows_with_footprint_and_depends_on_use():
    assert estimate_levels("residential", 30.0) == 1
    assert estimate_levels("residential", 100.0) == 2
    assert estimate_levels("residential", 300.0) == 3
    assert estimate_levels("residential", 1000.0) == 5
    assert estimate_levels("industrial", 5000.0) == 1
    assert estimate_levels("commercial", 2000.0) == 6
    assert estimate_levels("residential", 30.0, "apartments") == 6


def _box(x, y, side):
    return shapely.box(x, y, x + side, y + side)


def test_building_table_heights_from_tags_levels_or_estimate():
    tags = [
        {"building": "yes", "height": "12 m"},
        {"building": "yes", "building:levels": "4"},
        {"building": "yes", "building:levels": "3", "roof:levels": "1"},
        {"building": "yes"},
        {"building": "yes", "height": "10", "building:levels": "2"},
    ]
    geoms = np.array(
        [_box(0, 0, 10), _box(20, 0, 10), _box(40, 0, 10), _box(60, 0, 10), _box(80, 0, 10)]
    )
    uses = np.array(["residential"] * 5, dtype=object)
    table = building_table([f"way/{i}" for i in range(5)], tags, geoms, uses)
    assert table["height_source"].tolist() == ["height", "levels", "levels", "estimate", "height"]
    assert table["height_m"].tolist() == pytest.approx(
        [12.0, 4 * STOREY_M + ROOF_M, 4 * STOREY_M + ROOF_M, 2 * STOREY_M + ROOF_M, 10.0]
    )
    assert table["levels"].tolist() == [4.0, 4.0, 4.0, 2.0, 2.0]
    assert table["floor_area_m2"].tolist() == pytest.approx([400.0, 400.0, 400.0, 200.0, 200.0])
    assert table["footprint_m2"].tolist() == pytest.approx([100.0] * 5)
    assert shapely.from_wkb(table["geometry"].iloc[0]).equals(geoms[0])
    assert table["x"].iloc[1] == pytest.approx(25.0)


def test_building_uses_follow_tags_pois_and_land_use():
    tags = [
        {"building": "house"},  # the tag says it
        {"building": "yes", "amenity": "place_of_worship"},  # its own tags say it
        {"building": "yes"},  # a school node inside
        {"building": "yes"},  # inside industrial land use
        {"building": "yes"},  # inside a residential area inside a commercial one: smallest wins
        {"building": "yes"},  # inside the commercial area only
        {"building": "yes"},  # a 9 m² shed
    ]
    geoms = np.array(
        [
            _box(0, 0, 10),
            _box(100, 0, 10),
            _box(200, 0, 10),
            _box(300, 0, 10),
            _box(400, 0, 10),
            _box(500, 0, 10),
            _box(600, 0, 3),
        ]
    )
    uses = building_uses(
        tags,
        geoms,
        poi_points=np.array([shapely.Point(205, 5)]),
        poi_uses=np.array(["education"], dtype=object),
        context_geoms=np.array([_box(290, -10, 40), _box(350, -50, 200), _box(390, -10, 30)]),
        context_uses=np.array(["industrial", "commercial", "residential"], dtype=object),
    )
    assert uses.tolist() == [
        "residential",
        "religious",
        "education",
        "industrial",
        "residential",
        "commercial",
        "other",
    ]


def test_fixture_city_buildings(mini):  # noqa: F811
    features, _, _ = mini
    b = features.buildings
    for column in BUILDING_CONTRACT_COLUMNS:
        assert column in b.columns
    assert b["building_id"].str.match(r"^(way|relation)/\d+$").all()
    assert set(b["use"]) <= set(BUILDING_USES)
    assert b["floor_area_m2"].to_numpy() == pytest.approx(
        (b["footprint_m2"] * b["levels"]).to_numpy()
    )

    def at(x, y):
        d = np.hypot(b["x"] - x, b["y"] - y)
        return b.iloc[int(np.argmin(d))]

    tall = at(X0 + 20, Y0 + 420)
    assert tall["height_source"] == "height" and tall["height_m"] == 12.0
    four = at(X0 + 60, Y0 + 420)
    assert four["height_source"] == "levels" and four["levels"] == 4.0
    house = at(X0 + 95, Y0 + 415)
    assert house["height_source"] == "estimate" and house["use"] == "residential"
    assert at(X0 + 131.5, Y0 + 411.5)["use"] == "other"
    assert at(X0 + 675, Y0 + 475)["use"] == "industrial"
    assert at(X0 + 220, Y0 + 620)["use"] == "education"
    assert at(X0 + 640, Y0 + 25)["use"] == "residential"
    # Only residential buildings house residents.
    assert (b.loc[b["use"] != "residential", "residents"] == 0).all()
    assert (b.loc[b["use"] == "residential", "residents"] > 0).all()
