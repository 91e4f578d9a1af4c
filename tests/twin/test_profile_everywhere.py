"""A city's own profile reaches every command that reads parameters as it reaches
``twin run``: scenarios, comparisons, ``twin coverage`` and ``twin site``; a borrowed one is
named there too."""

from __future__ import annotations

import copy
import json
import textwrap

import pytest

from scenarios.compare import compare_scenarios
from scenarios.compile import compile_scenario
from scenarios.executor import Executor
from scenarios.scenario import load_scenario
from sim.parameters import Layer
from sim.spec_builder import build_spec
from tests.twin.osm_town import write_town
from twin.build.pipeline import build_city
from twin.bundle import write_bundle
from twin.city_profile import load_profile, profile_from_data
from twin.cli import main

SOUTH = (79.09, 21.15)  # a made-up town at 21° N


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """The town with services built twice: with a profile of its own (3.0 trips per
    resident, 1 ambulance per hospital, 0.5 medical calls per 1,000 residents) and with
    Huế's, borrowed."""
    folder = tmp_path_factory.mktemp("own")
    source = write_town(folder / "south.osm", lon=SOUTH[0], lat=SOUTH[1]).path
    data = copy.deepcopy(load_profile().data)
    data["city"].update(name={"vi": "Nam", "en": "South"}, area=[79.0, 21.0, 79.2, 21.3])
    data["population"].update(total=5200, source="a made-up count for the test", year=2024)
    data["demand"]["generation"]["person_trips_per_resident"] = 3.0
    data["emergency"]["units"]["ambulances_per_hospital"] = 1
    data["emergency"]["demand"]["medical_per_1000_residents_per_day"] = 0.5
    del data["tourists"]["attractions"]  # Huế's sites; the town's own sights are the sites
    own = build_city(source, profile=profile_from_data(data, where="south.toml"))
    assert own.meta["profile"]["borrowed"] is False
    write_bundle(own, folder / "own.twin")
    write_bundle(build_city(source), folder / "borrowed.twin")
    return folder, own


def _scenario(folder, name: str, extra: str = ""):
    path = folder / f"{name}.toml"
    text = f"""
        [scenario]
        name = "{name}"
        city = "own.twin"
        window = ["07:00", "08:00"]
        seed = 2
        replications = 1
        [demand]
        scale = 0.5
        """
    path.write_text(textwrap.dedent(text) + textwrap.dedent(extra), encoding="utf-8")
    return path


def test_a_scenario_lays_the_profile_first_as_twin_run_does(town):
    folder, city = town
    path = _scenario(folder, "base", "[emergency.units]\nfire_engines_per_fire_station = 3\n")
    settings = ["traffic.refresh_s=120"]
    spec = compile_scenario(load_scenario(path), city, settings=settings)
    parameters = spec.parameters
    assert parameters["demand"]["generation"]["person_trips_per_resident"] == 3.0  # profile
    assert parameters["demand"]["scale"] == 0.5  # scenario
    assert parameters["emergency"]["units"] == {
        "ambulances_per_hospital": 1,  # profile
        "fire_engines_per_fire_station": 3,  # scenario over the profile
    }
    assert parameters["traffic"]["refresh_s"] == 120  # --set last
    by_hand = build_spec(
        city,
        seed=2,
        start="07:00",
        end="08:00",
        overrides=[
            ("demand", Layer("scenario", {"scale": 0.5})),
            ("emergency", Layer("scenario", {"units": {"fire_engines_per_fire_station": 3}})),
        ],
        settings=settings,
    )
    assert by_hand.parameters == parameters


def test_a_comparison_runs_with_the_profile(town):
    folder, _ = town
    base = _scenario(folder, "base")
    more = _scenario(folder, "more", "[demand.generation]\nperson_trips_per_resident = 3.3\n")
    with Executor(workers=0) as executor:
        result = compare_scenarios(base, [more], out_dir=folder / "cmp", executor=executor)
    assert result.replications == 1
    rates = {}
    for name in ("base", "more"):
        manifest = json.loads(
            (folder / "cmp" / "runs" / name / "r000" / "manifest.json").read_text()
        )
        parameters = manifest["spec"]["parameters"]
        assert parameters["emergency"]["units"]["ambulances_per_hospital"] == 1
        rates[name] = parameters["demand"]["generation"]["person_trips_per_resident"]
    assert rates == {"base": 3.0, "more": 3.3}
    trips = result.kpis.set_index("kpi").loc["trips_total"]
    assert trips["base_mean"] < trips["option_mean"]


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_site_and_coverage_take_the_city_profile(town, capsys):
    folder, _ = town
    site = ["site", "--add", "1", "--free-flow", "--days", "0", "--json"]
    own = _json(capsys, [*site, "--city", str(folder / "own.twin")])
    borrowed = _json(capsys, [*site, "--city", str(folder / "borrowed.twin")])
    assert own["proposed"][0]["units"] == 1 and own["notes"] == []
    assert borrowed["proposed"][0]["units"] == 2  # Huế's 2 ambulances per hospital, named:
    note = borrowed["notes"][0]
    assert note.startswith("south uses values of Huế's city profile")
    assert "emergency call rates and units per station" in note
    assert "trip rate" not in note  # no day was simulated: no trips were made

    params = folder / "units.toml"
    params.write_text(
        "[units]\nambulances_per_hospital = 4\n"
        "[demand]\nmedical_per_1000_residents_per_day = 0.2\n",
        encoding="utf-8",
    )
    given = _json(capsys, [*site, "--city", str(folder / "own.twin"), "--params", str(params)])
    assert given["proposed"][0]["units"] == 4  # --params over the profile
    # the profile's 0.5 medical calls per 1,000 residents, not Huế's 0.2
    assert own["demand_calls_per_day"] > given["demand_calls_per_day"]

    coverage = ["coverage", "--free-flow", "--json", "--minutes", "3"]
    assert _json(capsys, [*coverage, "--city", str(folder / "own.twin")])["notes"] == []
    notes = _json(capsys, [*coverage, "--city", str(folder / "borrowed.twin")])["notes"]
    assert any("population" in n and "estimated" in n for n in notes)
    assert main([*coverage[:-3], "--city", str(folder / "borrowed.twin")]) == 0
    assert "note: " in capsys.readouterr().out


def test_the_shipped_junction_table_is_named_off_hue(town, tmp_path):
    from sim.runner import run

    _, city = town

    def notes(*settings: str) -> list[str]:
        spec = build_spec(
            city, seed=0, start="07:00", end="07:20", tourists=False, emergency=False,
            settings=list(settings),
        )  # fmt: skip
        kpis = run(city, spec).kpis
        return [n for n in kpis.get("notes", []) if "junction control defaults" in n]

    [note] = notes()  # the town's own profile, Huế's junction table
    assert note.startswith("Nam uses the shipped junction control defaults")
    assert "traffic.junction_defaults" in note
    table = tmp_path / "junctions.csv"
    table.write_text("highway,signal_cycle_s\nprimary,80\n", encoding="utf-8")
    assert notes(f"traffic.junction_defaults={table}") == []  # the city's own table
    assert notes("traffic.junctions=false", "traffic.kinematic_waves=false") == []  # unread
