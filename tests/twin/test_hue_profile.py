"""Huế with its own profile: the zone from the data is 48N, nothing is borrowed, and a run
resolves to the values it had before profiles."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.city_profile import profile_layers, profile_notes
from sim.parameters import resolve_all, typed
from sim.spec import thaw
from sim.spec_builder import build_spec
from twin.attractions.sites import resolve_attractions
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
        values = thaw(values)
        if family == "tourists":
            assert len(values.pop("attractions")) == 8 and before[family].pop("attractions") == []
        assert values == before[family], family
    # The attraction table comes as the profile's rows, and places the same sites.
    params = typed(spec, "tourists")
    mine = resolve_attractions(hue_city, params.site_table(), other_sites=params.other_sites)
    shipped = resolve_attractions(hue_city, None, other_sites=params.other_sites)
    pd.testing.assert_frame_equal(mine, shipped)
