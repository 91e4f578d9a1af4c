"""The run specification: resolved parameters, TOML/JSON round trips, a stable digest."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from sim.interventions import (
    AddStation,
    ChangeLinks,
    ChangeSite,
    CloseLinks,
    EventTrips,
    InterventionError,
    RemoveStation,
    StationSpec,
    intervention_from_dict,
)
from sim.parameters import FAMILIES, Layer, assignment, flat_keys, resolve
from sim.spec import RunSpec, SpecError
from sim.spec_builder import build_spec, closure_from_text
from twin.errors import ConfigError, RoadNotFoundError
from twin.synthetic import grid_city

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec(grid):
    edge = int(grid.drive.edge_id[3])
    return build_spec(
        grid,
        seed=7,
        start="06:00",
        end="10:00",
        settings=["demand.scale=0.5", "emergency.units.ambulances_per_hospital=3"],
        interventions=[
            CloseLinks(edges=(edge,), start=7 * 3600.0, until=8 * 3600.0, classes=("motorbike",)),
            ChangeLinks(edges=(edge,), capacity_factor=0.5, start=6.5 * 3600.0),
            RemoveStation(name="Hospital A", start=9 * 3600.0),
            ChangeSite(site="Citadel", closed=True, start=7 * 3600.0, until=7.5 * 3600.0),
            EventTrips(
                node_id=int(grid.drive.node_id[12]),
                visitors=500,
                drop_nodes=(int(grid.drive.node_id[7]), int(grid.drive.node_id[17])),
                start=8 * 3600.0,
                until=9 * 3600.0,
            ),
        ],
    )


def test_parameters_are_resolved_values(spec):
    assert set(spec.parameters) == set(FAMILIES)
    assert spec.parameters["demand"]["scale"] == 0.5
    # crashes follow simulated vehicle-km: a half demand tells the crash model so
    assert spec.parameters["emergency"]["demand"]["traffic_scale"] == 0.5
    assert spec.parameters["emergency"]["units"]["ambulances_per_hospital"] == 3
    assert spec.parameters["traffic"]["refresh_s"] == 300.0  # a default, written out
    assert [s.units for s in spec.stations if s.unit_type == "ambulance"] == [3]


def test_toml_and_json_round_trip(spec):
    assert spec.interventions[-1].drop_nodes == (8, 18)  # grid node ids are positions + 1
    again = RunSpec.from_toml(spec.to_toml())
    assert again == spec and again.digest == spec.digest
    assert RunSpec.from_json(spec.to_json()) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_digest_changes_when_anything_changes(spec, grid):
    digests = {
        spec.digest,
        spec.replace(seed=8).digest,
        build_spec(grid, seed=7, start="06:00", end="10:00").digest,
        spec.replace(interventions=spec.interventions[:-1]).digest,
        spec.replace(stations=spec.stations[:1]).digest,
    }
    assert len(digests) == 5
    # where the bundle lies on this machine is not part of what the run is
    moved = spec.replace(city=spec.city.__class__(spec.city.name, spec.city.checksum, "/x.twin"))
    assert moved.digest == spec.digest


def test_digest_is_the_same_in_other_processes_and_hash_seeds(spec):
    script = (
        "from sim.spec import RunSpec; import sys; "
        "print(RunSpec.from_toml(sys.stdin.read()).digest)"
    )
    for seed in ("1", "999"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script],
            input=spec.to_toml(),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=env,
        )
        assert out.stdout.strip() == spec.digest
    script = (
        "from twin.synthetic import grid_city; from sim.spec_builder import build_spec; "
        "print(build_spec(grid_city(), seed=7).digest)"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("3", "4242")
    }
    assert digests == {build_spec(grid_city(), seed=7).digest}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("emergency.units.ambulances_per_hospitl=3", "closest|did you mean"),
        ("tourists.demand.tourist_per_day=5", "tourists_per_day"),
        ("vehicles.cars.pcu=1", "'car'"),
        ("traffic.step_s=-1", "> 0"),
        ("emergency.units.ambulances_per_hospital=2.5", "not an integer"),
        ("tourists.demand.festival=yes", "true or false"),
        ("demand.purposes.work.share=0.9", "sum to 1"),
    ],
)
def test_every_family_is_validated_the_same_way(grid, setting, message):
    with pytest.raises(ConfigError, match=message) as info:
        build_spec(grid, seed=0, settings=[setting])
    assert "--set" in str(info.value)


def test_unknown_keys_name_their_source_and_the_closest_key():
    with pytest.raises(ConfigError) as info:
        resolve("emergency", [Layer("scenario a.toml", {"units": {"ambulances_per_hospitl": 3}})])
    text = str(info.value)
    assert "emergency.units.ambulances_per_hospitl" in text and "scenario a.toml" in text
    assert "did you mean 'emergency.units.ambulances_per_hospital'" in text
    assert "emergency.units.ambulances_per_hospital" in flat_keys("emergency")
    assert assignment("vehicles.car.pcu=1.1") == ("vehicles", {"car": {"pcu": 1.1}})
    assert assignment("emergency.response.travel=zero")[1] == {"response": {"travel": "zero"}}


def test_a_spec_file_with_unknown_keys_or_bad_values_is_refused(spec):
    data = spec.to_dict()
    data["parameters"]["traffic"]["refresh"] = 10
    with pytest.raises(SpecError, match=r"traffic\.refresh_s"):
        RunSpec.from_dict(data)
    data = spec.to_dict()
    data["interventions"][0]["until"] = "06:30"
    with pytest.raises(SpecError, match="not after"):
        RunSpec.from_dict(data)
    data = spec.to_dict()
    data["seed"] = -3
    with pytest.raises(SpecError, match="seed"):
        RunSpec.from_dict(data)


def test_interventions_are_checked_against_the_city(grid):
    with pytest.raises(SpecError, match="not edge ids"):
        build_spec(grid, seed=0, interventions=[CloseLinks(edges=(123456789,))])
    with pytest.raises(SpecError, match="no station named"):
        build_spec(grid, seed=0, interventions=[RemoveStation(name="Hospital Z")])
    with pytest.raises(SpecError, match="vehicle classes"):
        build_spec(grid, seed=0, interventions=[CloseLinks(edges=(0,), classes=("tank",))])
    extra = StationSpec("New", "ambulance", 999_999, 1)
    with pytest.raises(SpecError, match="not a drive node"):
        build_spec(grid, seed=0, interventions=[AddStation(station=extra)])
    event = {"node_id": 13, "visitors": 100, "start": 7 * 3600.0, "until": 8 * 3600.0}
    with pytest.raises(SpecError, match="node 999999 is not a drive node"):
        build_spec(grid, seed=0, interventions=[EventTrips(**event, drop_nodes=(8, 999_999))])
    with pytest.raises(InterventionError, match="drop_nodes"):
        EventTrips(**event, drop_nodes=("8",))
    with pytest.raises(InterventionError, match="unknown keys"):
        intervention_from_dict({"kind": "close_links", "edges": [1], "form": "07:00"})
    with pytest.raises(InterventionError, match="changes nothing"):
        ChangeLinks(edges=(1,))


def test_closures_from_text(grid):
    grid.drive.name[:] = ""
    grid.drive.name[:2] = "Lê Lợi"
    from sim.spec import Window

    window = Window(6 * 3600.0, 10 * 3600.0)
    closure = closure_from_text(grid, "Lê Lợi@07:00-09:30", window=window)
    assert (closure.start, closure.until) == (7 * 3600.0, 9.5 * 3600.0)
    assert closure_from_text(grid, "Lê Lợi@07:00", window=window).until is None
    assert closure_from_text(grid, "Lê Lợi", window=window).start == 6 * 3600.0
    with pytest.raises(SpecError, match="before it starts"):
        closure_from_text(grid, "Lê Lợi@09:00-08:00", window=window)
    for empty in ("", " ", "@07:30"):
        with pytest.raises(RoadNotFoundError, match="empty"):
            closure_from_text(grid, empty, window=window)
