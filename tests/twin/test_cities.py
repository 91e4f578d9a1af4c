"""Another city: a synthetic town far from Huế builds in its own zone with an honest
population, runs to completion saying what it borrowed from Huế, and gets a profile of its
own from ``twin profile init`` and one edited file."""

from __future__ import annotations

import json
import re

import pytest

from sim.runner import run
from sim.spec_builder import build_spec
from tests.twin.osm_town import write_town
from twin.bundle import read_bundle
from twin.cli import main

NORTH = (24.94, 60.17)  # a made-up town at Helsinki's latitude and longitude
SOUTH = (79.09, 21.15)  # and one at 21° N


def _twin(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _hue_notes(notes: list[str]) -> list[str]:
    return [n for n in notes if "Huế's city profile" in n]


@pytest.fixture(scope="module")
def north(tmp_path_factory):
    """A town with houses and streets only: no hospital, fire station, hotel or sight."""
    folder = tmp_path_factory.mktemp("north")
    town = write_town(folder / "north.osm", lon=NORTH[0], lat=NORTH[1], services=False)
    return town, folder


@pytest.fixture(scope="module")
def south(tmp_path_factory):
    """A town with a hospital, a fire station, a hotel and two named sights."""
    folder = tmp_path_factory.mktemp("south")
    return write_town(folder / "south.osm", lon=SOUTH[0], lat=SOUTH[1]), folder


@pytest.fixture(scope="module")
def north_bundle(north):
    town, folder = north
    bundle = folder / "north.twin"
    assert main(["build", str(town.path), "-o", str(bundle), "-q"]) == 0
    return read_bundle(bundle)


def test_build_says_once_what_it_took_from_hue(north, capsys):
    town, folder = north
    code, out, _ = _twin(capsys, "build", str(town.path), "-o", str(folder / "again.twin"), "-q")
    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert len(notes) == 3
    borrowed, population, no_pois = notes
    assert no_pois.startswith("note: no POIs")  # the town has houses and streets only
    assert "lies outside the area of Huế's city profile" in borrowed
    assert "road-class defaults" in borrowed and "not its population total" in borrowed
    assert "twin profile init" in borrowed
    assert re.search(r"population 384 estimated from 9,59\d m² .* 25 m² per resident", population)
    assert "2127/QĐ-TTg" in population  # the density's source
    assert out.count("Huế's city profile") == 2  # once per matter, never repeated


def test_population_is_estimated_from_floor_area_not_hue_total(north_bundle):
    city = north_bundle
    floor = city.buildings.loc[city.buildings["use"] == "residential", "floor_area_m2"].sum()
    assert len(city.buildings) == 32 and floor == pytest.approx(9_600, rel=2e-3)
    assert city.population == pytest.approx(floor / 25.0, rel=1e-9)  # 384, not 652,572
    report = city.meta["features"]["population"]
    assert report["estimated"] and report["floor_m2_per_resident"] == 25.0
    assert city.name == "north"  # the file's name, not Huế's
    assert city.crs == "EPSG:32635"


def test_info_shows_the_zone_the_profile_and_the_notes(north_bundle, north, capsys):
    _, folder = north
    code, out, _ = _twin(capsys, "info", str(folder / "north.twin"))
    assert code == 0
    assert out.splitlines()[0] == "north (EPSG:32635)"
    assert "  profile     twin/defaults/hue_profile.toml (borrowed" in out
    assert len([line for line in out.splitlines() if line.startswith("  note  ")]) == 3
    code, out, _ = _twin(capsys, "info", str(folder / "north.twin"), "--json")
    summary = json.loads(out)
    assert summary["crs"] == "EPSG:32635" and summary["profile"]["borrowed"] is True
    assert summary["population"] == 384 and len(summary["notes"]) == 3


def test_a_run_completes_and_notes_what_it_borrowed(north_bundle):
    city = north_bundle
    result = run(city, build_spec(city, seed=0, start="06:00", end="09:00"))
    kpis = result.kpis
    assert kpis["trips_total"] > 100 and kpis["trips_unroutable"] == 0
    assert kpis["trips_completed"] >= kpis["trips_total"] - 3  # a few still on the way at 09:00
    notes = kpis["notes"]
    borrowed = _hue_notes(notes)
    assert len(borrowed) == 2  # what was borrowed; how the population was estimated
    assert borrowed[0].startswith("north uses values of Huế's city profile")
    for label in ("road-class defaults", "trip rate (2.6", "departure profile", "vehicle mix"):
        assert label in borrowed[0]
    # The town has no lodging and no hospital: those parts did not run, so their figures
    # were not used and are not named.
    assert "tourist volume" not in borrowed[0] and "call rates" not in borrowed[0]
    assert any(n.startswith("tourists not simulated") for n in notes)
    assert any(n.startswith("emergency not simulated") for n in notes)
    assert "population 384 estimated" in borrowed[1]
    assert any(n.startswith("north uses the shipped junction control defaults") for n in notes)


def test_a_value_set_for_the_run_is_not_called_borrowed(north_bundle):
    city = north_bundle
    spec = build_spec(
        city,
        seed=0,
        start="06:00",
        end="07:00",
        settings=["demand.generation.person_trips_per_resident=3.1"],
        tourists=False,
        emergency=False,
    )
    borrowed = _hue_notes(run(city, spec).kpis["notes"])[0]
    assert "trip rate" not in borrowed and "trip purposes" in borrowed


def test_a_town_with_services_runs_every_part(south):
    town, _ = south
    from twin.build.pipeline import build_city

    city = build_city(town.path)
    assert city.crs == "EPSG:32644"
    spec = build_spec(city, seed=1, start="00:00", end="24:00")
    assert spec.parameters["tourists"]["attractions"] == ()  # Huế's sites are not this town's
    kpis = run(city, spec).kpis
    assert kpis["trips_completed"] > 0
    assert kpis["visits_total"] > 0  # at the town's own sights, with default hours
    assert kpis["incidents_total"] > 0 and kpis["incidents_reached"] == kpis["incidents_total"]
    borrowed = _hue_notes(kpis["notes"])[0]
    for label in ("tourist volume (10,000 tourists a day)", "emergency call rates"):
        assert label in borrowed
    assert "units per station" in borrowed
    assert not any("not simulated" in n for n in kpis["notes"])


def test_a_new_city_from_profile_init_and_one_edited_file(south, capsys):
    town, folder = south
    profile = folder / "south.toml"
    code, out, _ = _twin(capsys, "profile", "init", str(town.path), "-o", str(profile), "-q")
    assert code == 0 and "values to check" in out
    code, _, err = _twin(capsys, "profile", "init", str(town.path), "-o", str(profile), "-q")
    assert code == 1 and "exists (a profile written by `twin profile init`" in err

    # One edit: the census count, the name, a trip rate, and the list of values checked.
    text = profile.read_text(encoding="utf-8")
    text = text.replace("# total = 384", "total = 5200")
    text = text.replace('# source = "…"', 'source = "a made-up count for the test"')
    text = text.replace(
        'name = { vi = "south", en = "south" }', 'name = { vi = "Nam", en = "South" }'
    )
    text = text.replace("person_trips_per_resident = 2.6", "person_trips_per_resident = 3.0")
    text = re.sub(r"placeholders = \[[^\]]*\]", "placeholders = []", text)
    profile.write_text(text, encoding="utf-8")
    code, out, _ = _twin(capsys, "profile", "check", str(profile))
    assert code == 0 and "nothing (no placeholders)" in out and "5,200" in out

    bundle = folder / "south.twin"
    code, out, _ = _twin(
        capsys, "build", str(town.path), "--profile", str(profile), "-o", str(bundle), "-q"
    )
    assert code == 0 and "note:" not in out
    city = read_bundle(bundle)
    assert city.name == "Nam" and city.population == pytest.approx(5200)
    assert city.meta["profile"]["borrowed"] is False
    spec = build_spec(city, seed=0, start="07:00", end="08:00")
    assert spec.parameters["demand"]["generation"]["person_trips_per_resident"] == 3.0
    assert len(spec.parameters["tourists"]["attractions"]) == 2  # the town's own sights
    kpis = run(city, spec).kpis
    assert not _hue_notes(kpis.get("notes", [])) and kpis["trips_completed"] > 0

    # The same city with Huế's values: another specification, another digest.
    hue_like = profile.with_name("hue-like.toml")
    hue_like.write_text(
        text.replace("person_trips_per_resident = 3.0", "person_trips_per_resident = 2.6"),
        encoding="utf-8",
    )
    other = folder / "hue-like.twin"
    assert main(["build", str(town.path), "--profile", str(hue_like), "-o", str(other), "-q"]) == 0
    capsys.readouterr()
    other_spec = build_spec(read_bundle(other), seed=0, start="07:00", end="08:00")
    assert other_spec.digest != spec.digest


def test_profile_placeholders_are_named_until_checked(south, capsys):
    town, folder = south
    profile = folder / "draft.toml"
    assert main(["profile", "init", str(town.path), "-o", str(profile), "-q"]) == 0
    bundle = folder / "draft.twin"
    code, out, _ = _twin(
        capsys, "build", str(town.path), "--profile", str(profile), "-o", str(bundle), "-q"
    )
    assert code == 0
    assert "still marks as placeholders" in out and "road-class defaults" in out
    city = read_bundle(bundle)
    kpis = run(city, build_spec(city, seed=0, start="07:00", end="09:00")).kpis
    [note] = [n for n in kpis["notes"] if "placeholders" in n]
    assert "trip rate" in note and "remove their keys from [profile] placeholders" in note


def test_build_refuses_a_crs_in_degrees_and_a_bad_profile(south, capsys, tmp_path):
    town, _ = south
    code, _, err = _twin(
        capsys, "build", str(town.path), "--crs", "EPSG:4326", "-o", str(tmp_path / "x.twin")
    )
    assert code == 1 and "not a projected CRS in metres" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[city]\n", encoding="utf-8")
    code, _, err = _twin(
        capsys, "build", str(town.path), "--profile", str(bad), "-o", str(tmp_path / "x.twin")
    )
    assert code == 1 and "bad.toml: [city] name = None" in err


def test_crs_override_is_recorded(south, tmp_path):
    town, _ = south
    from twin.build.pipeline import build_city

    city = build_city(town.path, crs="EPSG:32645")  # the next zone east: allowed, recorded
    assert city.crs == city.meta["params"]["crs"] == "EPSG:32645"


def test_a_profile_crs_applies_only_in_its_area(south, north):
    import copy

    from twin.build.pipeline import build_city
    from twin.city_profile import load_profile, profile_from_data

    data = copy.deepcopy(load_profile().data)
    data["city"].update(name={"vi": "Nam", "en": "South"}, crs="EPSG:32645")
    data["city"]["area"] = [79.0, 21.0, 79.2, 21.3]  # around the southern town
    profile = profile_from_data(data, where="south.toml")
    assert build_city(south[0].path, profile=profile).crs == "EPSG:32645"
    elsewhere = build_city(north[0].path, profile=profile)  # borrowed: its CRS is not used
    assert elsewhere.crs == "EPSG:32635" and elsewhere.meta["profile"]["borrowed"]
