"""The projection: the UTM zone of the extract's centre keeps lengths and areas true.

Synthetic towns (``tests/twin/osm_town.py``, laid out on the WGS 84 ellipsoid) at 21° N
and 60° N and south of the equator are built and their projected distances and building
areas compared with ``pyproj.Geod``'s geodesic ones.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely

from tests.twin.osm_town import GEOD, write_town
from twin.build.pipeline import build_city
from twin.build.projection import check_projected_crs, extract_extent, utm_crs, utm_zone_name
from twin.errors import ConfigError, EmptyNetworkError

#: Places of the synthetic towns: (lon, lat, the UTM zone they lie in).
PLACES = {
    "21N": (79.09, 21.15, "EPSG:32644"),
    "60N": (24.94, 60.17, "EPSG:32635"),
    "34S": (18.42, -33.92, "EPSG:32734"),
}


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (107.58, 16.46, "EPSG:32648"),  # Huế
        (105.85, 21.03, "EPSG:32648"),  # Hà Nội, the same zone
        (108.22, 16.05, "EPSG:32649"),  # Đà Nẵng, just east of 108° E
        (24.94, 60.17, "EPSG:32635"),
        (-0.13, 51.51, "EPSG:32630"),
        (0.0, 0.0, "EPSG:32631"),  # the equator counts as north
        (18.42, -33.92, "EPSG:32734"),
        (-180.0, 10.0, "EPSG:32601"),
        (180.0, 10.0, "EPSG:32601"),  # 180° E is 180° W
        (179.99, -45.0, "EPSG:32760"),
    ],
)
def test_utm_zone_of_a_point(lon, lat, crs):
    assert utm_crs(lon, lat) == crs


def test_no_utm_zone_near_the_poles_or_off_the_globe():
    with pytest.raises(ConfigError, match=r"outside the UTM latitudes.*--crs"):
        utm_crs(10.0, 85.0)
    with pytest.raises(ConfigError, match="not a longitude/latitude"):
        utm_crs(500_000.0, 1_800_000.0)  # metres passed as degrees


def test_zone_names():
    assert utm_zone_name("EPSG:32648") == "UTM 48N"
    assert utm_zone_name("EPSG:32734") == "UTM 34S"
    assert utm_zone_name("EPSG:3857") is None


def test_a_crs_must_be_projected_in_metres():
    assert check_projected_crs("EPSG:32635") == "EPSG:32635"
    with pytest.raises(ConfigError, match=r"not a projected CRS in metres.*UTM zone"):
        check_projected_crs("EPSG:4326")
    with pytest.raises(ConfigError, match="not a CRS PROJ knows"):
        check_projected_crs("EPSG:99999999")
    with pytest.raises(ConfigError, match="not a projected CRS in metres"):
        check_projected_crs("EPSG:2263")  # New York State Plane, US feet


def test_extent_is_the_middle_of_the_bounding_box():
    centre, bbox = extract_extent([(10.0, 50.0), (12.0, 51.0), (10.5, 50.2)])
    assert centre == (11.0, 50.5)
    assert bbox == (10.0, 50.0, 12.0, 51.0)
    with pytest.raises(EmptyNetworkError, match="no drivable road"):
        extract_extent([])


@pytest.fixture(scope="module", params=list(PLACES))
def town(request, tmp_path_factory):
    lon, lat, crs = PLACES[request.param]
    path = tmp_path_factory.mktemp(request.param) / f"town-{request.param}.osm"
    made = write_town(path, lon=lon, lat=lat)
    return made, build_city(path), crs


def test_the_build_picks_the_zone_of_the_extract(town):
    _, city, crs = town
    assert city.crs == crs
    assert city.meta["params"]["crs"] == crs
    assert city.meta["profile"]["borrowed"]  # not Huế
    lon, lat = city.meta["profile"]["centre"]
    assert utm_crs(lon, lat) == crs


def _relative_errors(city, made):
    """Projected over geodesic distance - 1, for every pair of street junctions."""
    drive = city.drive
    position = {int(n): i for i, n in enumerate(drive.node_id)}
    errors = []
    for a, b in itertools.combinations(sorted(made.junctions), 2):
        i, j = position[a], position[b]
        projected = np.hypot(drive.x[j] - drive.x[i], drive.y[j] - drive.y[i])
        (lon1, lat1), (lon2, lat2) = made.junctions[a], made.junctions[b]
        geodesic = GEOD.inv(lon1, lat1, lon2, lat2)[2]
        errors.append(projected / geodesic - 1.0)
    return np.array(errors)


def test_projected_lengths_are_within_a_tenth_of_a_percent_of_geodesic(town):
    made, city, _ = town
    errors = _relative_errors(city, made)
    assert len(errors) == 300  # 25 junctions, every pair (lengths 200 m to 1.1 km)
    assert np.abs(errors).max() < 1e-3


def test_building_areas_are_within_a_fifth_of_a_percent_of_geodesic(town):
    made, city, _ = town
    projected = shapely.area(shapely.from_wkb(city.buildings["geometry"].to_numpy()))
    geodesic = np.array(
        [abs(GEOD.polygon_area_perimeter(*zip(*ring, strict=True))[0]) for ring, _ in made.houses]
    )
    assert len(projected) == len(geodesic) == 32
    assert np.abs(np.sort(projected) / np.sort(geodesic) - 1).max() < 2e-3


def test_edge_lengths_are_great_circle_lengths(town):
    """Edge lengths come from osmnx, on a sphere of radius 6,371,009 m, whatever the CRS:
    against the ellipsoid they err by up to +0.56 % north-south at the equator (+0.43 %
    north-south, -0.16 % east-west at 21° N; -0.20 % and -0.36 % at 60° N). Huế's lengths
    are kept as they are (see the README's "Another city")."""
    made, city, _ = town
    drive = city.drive
    lengths = {}
    for e in range(drive.n_edges):
        tail, head = int(drive.node_id[drive.tail[e]]), int(drive.node_id[drive.indices[e]])
        if tail in made.junctions and head in made.junctions:
            lengths[tail, head] = drive.length[e]
    assert len(lengths) > 60
    for (a, b), length in lengths.items():
        (lon1, lat1), (lon2, lat2) = made.junctions[a], made.junctions[b]
        p1, p2 = np.radians([lat1, lon1]), np.radians([lat2, lon2])
        h = (
            np.sin((p2[0] - p1[0]) / 2) ** 2
            + np.cos(p1[0]) * np.cos(p2[0]) * np.sin((p2[1] - p1[1]) / 2) ** 2
        )
        sphere = 2 * 6_371_009 * np.arcsin(np.sqrt(h))
        assert length == pytest.approx(sphere, rel=1e-4)  # coordinates kept to 1e-7°
        assert length == pytest.approx(GEOD.inv(lon1, lat1, lon2, lat2)[2], rel=6e-3)


def test_hue_zone_would_distort_a_city_elsewhere(tmp_path):
    """What the build did before the zone came from the data (EPSG:32648 for every city)."""
    lon, lat, _ = PLACES["60N"]
    made = write_town(tmp_path / "north.osm", lon=lon, lat=lat, blocks=2)
    wrong = build_city(made.path, crs="EPSG:32648")
    assert wrong.crs == "EPSG:32648"
    assert np.abs(_relative_errors(wrong, made)).min() > 0.1  # stretched by more than 10 %
