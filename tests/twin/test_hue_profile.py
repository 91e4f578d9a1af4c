"""Huế with its own profile: the zone from the data is 48N, nothing is borrowed, and a run
resolves to the values it had before profiles."""

from __future__ import annotations

import pytest

from sim.city_profile import profile_layers, profile_notes
from sim.parameters import resolve_all
from sim.spec import thaw
from sim.spec_builder import build_spec
from twin.build.pipeline import build_city
from twin.build.projection import utm_crs
from twin.city_profile import DEFAULT_PROFILE

pytestmark = pytest.mark.hue


def test_hue_is_projected_to_utm_48n_picked_from_the_data(hue_city):
    assert hue_city.crs == "EPSG:32648"
    assert hue_city.meta["params"]["crs"] == "EPSG:32648"
    # Given by neither the build (default_city passes no crs) nor the profile: from the data.
    assert build_city.__kwdefaults__["crs"] is None
    assert "crs" not in hue_city.meta["profile"]["data"]["city"]
    lon, lat = hue_city.meta["profile"]["centre"]
    assert 107.5 < lon < 107.7 and 16.4 < lat < 16.6
    assert utm_crs(lon, lat) == "EPSG:32648"


def test_hue_borrows_nothing(hue_city):
    profile = hue_city.meta["profile"]
    assert profile["file"] == DEFAULT_PROFILE and profile["borrowed"] is False
    assert hue_city.meta["notes"] == []
    assert not hue_city.meta["features"]["population"]["estimated"]
    spec = build_spec(hue_city, seed=0, start="06:00", end="07:00")
    used = {"demand", "traffic", "tourists", "emergency"}
    assert profile_notes(hue_city, spec.parameters, used=used) == []


def test_a_hue_run_resolves_to_the_values_it_had_before_profiles(hue_city):
    spec = build_spec(hue_city, seed=0, start="06:00", end="07:00")
    assert [f for f, _ in profile_layers(hue_city)] == [
        "demand",
        "tourists",
        "emergency",
        "vehicles",
    ]
    before = resolve_all()
    before["emergency"]["demand"]["traffic_scale"] = 1.0  # derived from demand.scale
    for family, values in spec.parameters.items():
        # the attraction rows are left to the shipped table, which holds the same rows
        assert thaw(values) == before[family], family


def test_a_part_of_hue_without_the_sites_runs_without_tourists(tmp_path):
    """Huế's attraction rows are matched as the shipped table's: an extract in Huế's area
    that lacks the sites (here: streets only) runs, its tourists skipped with a note."""
    from sim.runner import run
    from tests.cli.workspace import roads_osm

    source = tmp_path / "streets.osm"
    source.write_text(roads_osm(), encoding="utf-8")  # 3 × 3 streets in Huế, nothing else
    city = build_city(source, population=500)
    assert city.meta["profile"]["borrowed"] is False
    kpis = run(city, build_spec(city, seed=0, start="07:00", end="07:15")).kpis
    assert kpis["trips_total"] > 0
    assert any(n.startswith("tourists not simulated") for n in kpis["notes"])
