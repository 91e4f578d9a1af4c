"""City profiles: Huế's is today's defaults, a profile is checked, a template reads back."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest

from sim.city_profile import check_profile
from sim.parameters import FAMILIES, Layer, defaults, resolve
from tests.twin.osm_town import write_town
from twin.attractions.table import load_attraction_table
from twin.build.pipeline import HUE_POPULATION, build_city
from twin.build.road_classes import load_road_defaults
from twin.city_profile import (
    DEFAULT_PROFILE,
    PROFILE_FAMILIES,
    PROFILE_PARTS,
    borrowed_parts,
    load_profile,
    profile_from_data,
)
from twin.errors import ConfigError, SourceNotFoundError
from twin.profile_template import profile_template


@pytest.fixture(scope="module")
def hue():
    return load_profile()


def test_hue_profile_is_the_default_and_names_the_city(hue):
    assert hue.where == DEFAULT_PROFILE and hue.is_default
    assert (hue.name_vi, hue.name_en, hue.name) == ("Huế", "Hue", "Huế")
    assert hue.population_total == HUE_POPULATION == 652_572
    assert hue.population_year == 2019 and "1264/NQ-UBTVQH14" in hue.population_source
    assert hue.floor_m2_per_resident == 25.0 and "2127/QĐ-TTg" in hue.floor_source
    assert hue.placeholders == ()
    assert hue.covers(107.5962, 16.5339)  # the Huế extract's centre
    assert not hue.covers(108.22, 16.05)  # Đà Nẵng
    assert set(PROFILE_FAMILIES) == set(FAMILIES)


def test_hue_profile_families_are_the_engine_defaults(hue):
    """A run on Huế resolves to the values it had before profiles, bar the attraction
    table, which the profile gives as rows instead of the shipped CSV."""
    for family in FAMILIES:
        if family not in hue.families:
            continue
        resolved = resolve(family, [Layer("city profile Huế", hue.families[family])])
        expected = defaults(family)
        if family == "tourists":
            assert len(resolved.pop("attractions")) == 8
            assert expected.pop("attractions") == []
        assert resolved == expected, family


def test_hue_profile_roads_are_the_shipped_table(hue):
    shipped = load_road_defaults()
    assert list(hue.roads) == list(shipped.index)
    assert load_road_defaults(classes=hue.roads).equals(shipped)


def test_hue_profile_attraction_rows_are_the_shipped_table(hue):
    params = resolve("tourists", [Layer("p", hue.families["tourists"])])
    from sim.tourists.params import tourist_params_from_data

    mine = tourist_params_from_data(params, where="t").site_table()
    shipped = load_attraction_table()
    derived = ["popularity_w", "opens_s", "closes_s", "last_entry_s", "visit_s", "gate_rate"]
    derived += ["capacity_n", "lon_f", "lat_f"]
    assert list(mine["site"]) == list(shipped["site"])
    for column in ("names", "poi_id", "category", "boat_from"):
        assert list(mine[column]) == list(shipped[column]), column
    for column in derived:
        np.testing.assert_array_equal(mine[column].to_numpy(float), shipped[column].to_numpy(float))


def _data(hue, **changes):
    """Huế's profile data with dotted keys replaced (``None`` removes one)."""
    data = copy.deepcopy(hue.data)
    for key, value in changes.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("citty", {}, r"unknown section \[citty\]; did you mean 'city'\?"),
        ("city.name", "Huế", r"name in Vietnamese and English"),
        ("city.area", [107.8, 16.3, 107.4, 16.7], "each minimum below its maximum"),
        ("city.area", [107.4, 16.3], r"\[min_lon, min_lat, max_lon, max_lat\]"),
        ("city.crs", "EPSG:4326", "not a projected CRS in metres"),
        ("population.total", -5, "positive number of residents"),
        ("population.source", "", "say where the total comes from"),
        ("population.floor_m2_per_resident", 0, r"number in \[1, 1000\]"),
        ("population.totl", 5, "unknown key population.totl; did you mean 'total'"),
        ("roads.primary", {"speed_kmh": -50}, "roads.primary.speed_kmh = -50"),
        ("roads.primary", {"sped_kmh": 50}, "did you mean 'speed_kmh'"),
        ("profile.placeholders", ["demand.generaton"], "did you mean 'demand.generation'"),
        ("profile.format", "hue-twin-profile/9", "this Huế Twin reads"),
        ("vehicles", {"car": {"share": 0.2}}, r"\[vehicles\] is dict; expected an array"),
    ],
)
def test_a_bad_profile_says_what_and_where(hue, key, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        profile_from_data(_data(hue, **{key: value}), where="my.toml")
    assert str(error.value).startswith("my.toml: ")


def test_family_sections_are_checked_like_any_layer(hue):
    data = _data(hue, **{"demand.generation": {"person_trips_per_resdent": 3.0}})
    profile = profile_from_data(data, where="my.toml")  # the shape is fine
    with pytest.raises(ConfigError, match=r"did you mean 'demand.generation.person_trips"):
        check_profile(profile)
    data = _data(hue, **{"emergency.units": {"ambulances_per_hospital": "two"}})
    with pytest.raises(ConfigError, match=r"\(from city profile my.toml\) is not an integer"):
        check_profile(profile_from_data(data, where="my.toml"))
    rows = [dict(hue.data["tourists"]["attractions"][0], capacty=10)]
    data = _data(hue, **{"tourists.attractions": rows})
    with pytest.raises(ConfigError, match=r"unknown column 'capacty'; did you mean 'capacity'"):
        check_profile(profile_from_data(data, where="my.toml"))


def test_missing_or_broken_profile_files(tmp_path):
    with pytest.raises(SourceNotFoundError, match="twin profile init"):
        load_profile(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[city\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile(broken)


def test_borrowed_parts_are_all_or_the_placeholders(hue):
    meta = hue.to_meta(borrowed=True, centre=(24.9, 60.2))
    assert [p.key for p in borrowed_parts(meta)] == [p.key for p in PROFILE_PARTS]
    assert borrowed_parts(hue.to_meta(borrowed=False, centre=(107.6, 16.5))) == []
    data = _data(
        hue, **{"profile.placeholders": ["roads", "emergency.units.ambulances_per_hospital"]}
    )
    meta = profile_from_data(data, where="x").to_meta(borrowed=False, centre=(0, 0))
    assert [p.key for p in borrowed_parts(meta)] == ["roads", "emergency.units"]
    assert borrowed_parts(None) == []


def test_template_of_a_new_town_reads_back_with_hue_values_as_placeholders(tmp_path, hue):
    town = write_town(tmp_path / "north.osm", lon=24.94, lat=60.17)
    city = build_city(town.path)
    text = profile_template(city, source=str(town.path))
    path = tmp_path / "north.toml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    check_profile(profile)
    assert all(len(line) <= 100 or not line.startswith("#") for line in text.splitlines())
    assert profile.covers(*city.meta["profile"]["centre"])
    assert profile.population_total is None  # estimated until a count is given
    assert "# total = 384" in text  # the estimate, 9,593 m² / 25 m², as a hint
    assert "EPSG:32635 (UTM 35N)" in text
    sites = profile.families["tourists"]["attractions"]
    assert [s["site"] for s in sites] == ["Town Museum", "Old Town Square"]  # museums first
    assert {s["poi_id"] for s in sites} == {"node/900004", "node/900005"}
    assert "1 hospital and 1 fire station" in text
    # Every value the data cannot give is Huế's and listed to be checked.
    for part in PROFILE_PARTS:
        if part.key not in ("population.total",):
            assert profile.is_placeholder(part.key), part.key
    for family in ("demand", "vehicles", "emergency"):
        assert profile.families[family] == hue.families[family]
    assert profile.roads == hue.roads


def test_template_lists_the_sights_it_leaves_out(monkeypatch, grid):
    import twin.profile_template as template

    monkeypatch.setattr(template, "MAX_SITES", 2)
    text = template.profile_template(grid, source="grid.osm")
    profile = profile_from_data(tomllib.loads(text), where="grid.toml")
    rows = profile.families["tourists"]["attractions"]
    assert [r["site"] for r in rows] == ["Citadel", "Pagoda"]  # attraction, then pagoda
    assert "Other named sights of the extract" in text and "Market; Pier." in text
