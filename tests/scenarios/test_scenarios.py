"""The scenario language: files, extends, every validation problem at once, compiling."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from scenarios.compile import compile_scenario
from scenarios.files import library_names
from scenarios.flood import classes_stopped, depth_limits
from scenarios.problems import ScenarioError
from scenarios.scenario import FAMILY_OF_SECTION, load_scenario
from sim.interventions import AddRoad, AddStation, ChangeLinks, CloseLinks, EventTrips
from sim.parameters import FAMILIES
from twin.bundle import write_bundle
from twin.synthetic import grid_city

#: Longitude/latitude of the 5 × 5 grid city's corners (EPSG:32648 around 745,000 m E).
WEST, EAST, SOUTH, NORTH = 107.29404, 107.30162, 16.40382, 16.41114


@pytest.fixture
def folder(tmp_path):
    write_bundle(grid_city(), tmp_path / "grid.twin")
    return tmp_path


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def base_file(folder):
    return write(
        folder,
        "base.toml",
        """
        [scenario]
        name = "base"
        title = { vi = "Cơ sở", en = "Base" }
        city = "grid.twin"
        window = ["06:00", "09:00"]
        seed = 3
        replications = 2
        [demand]
        scale = 0.5
        [tourism.demand]
        tourists_per_day = 400
        [emergency.units]
        ambulances_per_hospital = 3
        """,
    )


def test_sections_feed_every_parameter_family():
    assert set(FAMILY_OF_SECTION.values()) == set(FAMILIES)
    assert {"hue/baseline", "hue/truong-tien-closed"} <= set(library_names())


def test_extends_lays_a_child_over_its_parent(folder):
    base_file(folder)
    write(
        folder,
        "child.toml",
        """
        [scenario]
        extends = "base.toml"
        title.en = "Child"
        window = ["07:00", "09:00"]
        [emergency.units]
        fire_engines_per_fire_station = 1
        [[intervention]]
        type = "close_road"
        way = 5
        """,
    )
    child = load_scenario(folder / "child.toml")
    assert child.name == "child"  # a name is never inherited
    assert (child.start, child.end, child.seed) == (7 * 3600, 9 * 3600, 3)
    assert child.section("demand") == {"scale": 0.5}
    assert child.section("emergency")["units"] == {
        "ambulances_per_hospital": 3,
        "fire_engines_per_fire_station": 1,
    }
    assert child.title == {"en": "Child"}  # titles and descriptions are not inherited
    assert len(child.interventions) == 1


def test_extends_cycles_and_missing_parents(folder):
    write(folder, "a.toml", '[scenario]\nextends = "b.toml"\n')
    write(folder, "b.toml", '[scenario]\nextends = "a.toml"\n')
    with pytest.raises(ScenarioError, match=r"cycle \(.*a.toml -> .*b.toml -> .*a.toml\)"):
        load_scenario(folder / "a.toml")
    write(folder, "c.toml", '[scenario]\nextends = "nowhere.toml"\n')
    with pytest.raises(ScenarioError, match=r"the parent 'nowhere\.toml' does not exist"):
        load_scenario(folder / "c.toml")
    with pytest.raises(ScenarioError, match="hue/baseline"):
        load_scenario("hue/no-such-scenario")


def test_every_problem_of_a_file_is_reported_together(folder):
    path = write(
        folder,
        "bad.toml",
        """
        [scenario]
        name = "bad"
        window = ["06:00", "09:00"]
        seeds = 4
        [demand]
        scal = 1.2
        [emergency.units]
        ambulances_per_hospital = "three"
        [tourist]
        festival = true
        [[intervention]]
        type = "close_road"
        road = "Lê Lợi"
        from = "05:00"
        [[intervention]]
        type = "close_road"
        road = "Lê Lợi"
        from = "08:00"
        until = "07:00"
        [[intervention]]
        type = "shut_road"
        [[intervention]]
        type = "flood"
        depth = 0.3
        """,
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    found = {(p.key, p.message) for p in info.value.problems}
    keys = {key for key, _ in found}
    assert {
        "scenario.seeds",
        "demand",
        "emergency",
        "tourist",
        "intervention[1].from",
        "intervention[2].until",
        "intervention[3].type",
        "intervention[4].depth",
    } <= keys
    text = str(info.value)
    assert text.startswith(f"{len(info.value.problems)} problems in {path}")
    assert "did you mean 'demand.scale'" in text
    assert "did you mean 'tourism'" in text
    assert "(did you mean 'seed'?)" in text
    assert "outside the scenario's window" in text and "is not after from" in text


def test_city_problems_are_reported_together(folder):
    base_file(folder)
    city = grid_city()
    city.drive.name[:] = ""
    city.drive.name[:4] = "Lê Lợi"
    write_bundle(city, folder / "grid.twin")
    bowtie = [[WEST, SOUTH], [EAST, NORTH], [EAST, SOUTH], [WEST, NORTH]]
    far = [[106.0, 10.0], [106.01, 10.0], [106.01, 10.01]]
    empty = [[WEST + 0.0001, SOUTH + 0.0001], [WEST + 0.0003, SOUTH + 0.0001],
             [WEST + 0.0003, SOUTH + 0.0003]]  # fmt: skip
    path = write(
        folder,
        "wrong.toml",
        f"""
        [scenario]
        extends = "base.toml"
        [[intervention]]
        type = "close_road"
        road = "Le Loi"
        [[intervention]]
        type = "flood"
        area = {bowtie}
        depth_m = 0.3
        [[intervention]]
        type = "flood"
        area = {far}
        depth_m = 0.3
        [[intervention]]
        type = "close_road"
        area = {empty}
        [[intervention]]
        type = "add_station"
        name = "Trạm mới"
        point = [106.0, 10.0]
        [[intervention]]
        type = "remove_station"
        name = "Hospital Z"
        [[intervention]]
        type = "close_site"
        site = "Citadell"
        """,
    )
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError) as info:
        compile_scenario(scenario, city)
    by_key = {p.key: p.message for p in info.value.problems}
    assert "did you mean 'Lê Lợi'" in by_key["intervention[1].road"]
    assert "not valid" in by_key["intervention[2].area"]
    assert "outside" in by_key["intervention[3].area"]
    assert "contains no road" in by_key["intervention[4].area"]
    assert "from the nearest road" in by_key["intervention[5].point"]
    assert "Hospital A" in by_key["intervention[6].name"]
    assert "did you mean 'Citadel'" in by_key["intervention[7].site"]


def test_a_scenario_compiles_to_a_run_specification(folder):
    base_file(folder)
    path = write(
        folder,
        "option.toml",
        f"""
        [scenario]
        extends = "base.toml"
        [[intervention]]
        type = "change_road"
        area = [[{WEST}, {SOUTH}], [{EAST}, {SOUTH}], [{EAST}, {SOUTH + 0.0005}]]
        speed_kmh = 20
        from = "07:00"
        until = "08:00"
        [[intervention]]
        type = "add_road"
        from_point = [{WEST}, {SOUTH}]
        to_point = [{EAST}, {NORTH}]
        road_class = "residential"
        lanes = 2
        name = "Cầu mới"
        bridge = true
        [[intervention]]
        type = "add_station"
        name = "Trạm mới"
        point = [{EAST}, {NORTH}]
        units = 2
        from = "07:30"
        [[intervention]]
        type = "event"
        place = "Citadel"
        visitors = 3000
        close_radius_m = 150
        from = "07:00"
        until = "08:00"
        """,
    )
    city = grid_city()
    spec = compile_scenario(load_scenario(path), city, bundle=folder / "grid.twin")
    assert spec.parameters["demand"]["scale"] == 0.5
    assert spec.parameters["emergency"]["demand"]["traffic_scale"] == 0.5
    kinds = [type(item) for item in spec.interventions]
    assert kinds == [ChangeLinks, AddRoad, AddStation, EventTrips, CloseLinks]
    change, road, station, event, closed = spec.interventions
    assert change.speed_kmh == 20 and len(change.edges) >= 4
    assert road.from_node == city.drive.node_id[0] and road.to_node == city.drive.node_id[-1]
    assert len(road.edge_ids) == 2 and road.bridge
    assert station.station.units == 2 and station.start == 7.5 * 3600
    assert event.visitors == 3000 and event.node_id == city.drive.node_id[12]
    # the visitors stop where the closed streets begin: the four crossings around the Citadel
    around = {int(city.drive.node_id[i]) for i in (7, 11, 13, 17)}
    assert set(event.drop_nodes) == around
    assert closed.label == "Citadel: roads closed" and len(closed.edges) == 8  # 4 streets x 2
    assert compile_scenario(load_scenario(path), city).digest == spec.digest
    # and the run carries out every kind (an event's visitors come as trips of the demand)
    from sim.runner import run

    result = run(city, spec)
    trips = result.trips
    visitors = trips["destination"].isin(around) & trips["depart"].between(6 * 3600, 7 * 3600)
    assert visitors.sum() >= 0.75 * 3000 / 1.5  # but those who live there


def test_flood_depths_stop_motorbikes_first_and_emergency_last():
    limits = depth_limits()
    assert list(limits.index) == ["motorbike", "car", "bus", "truck", "emergency"]
    classes = list(limits.index)
    assert classes_stopped(0.1, classes) == ()
    assert classes_stopped(0.3, classes) == ("motorbike", "car")
    assert classes_stopped(0.6, classes) == tuple(classes)


def test_a_flood_sends_motorbikes_round_while_ambulances_drive_through(tmp_path):
    from sim.runner import run
    from tests.sim.networks import trips
    from twin.network import Network
    from twin.synthetic import city_on, lonlat

    # A (0,0) to B (200,0) by a low street, or round by C (100,300) on higher ground
    x, y = np.array([745_000.0, 745_200.0, 745_100.0]), np.array([1_815_000.0] * 2 + [1_815_300])
    lon, lat = lonlat(x, y)
    net = Network.from_edges(
        nodes={"node_id": np.array([1, 2, 3]), "x": x, "y": y, "lon": lon, "lat": lat},
        tail=np.array([0, 0, 2, 1, 1, 2]),
        head=np.array([1, 2, 1, 0, 2, 0]),
        edges={
            "length": np.array([200.0, 400.0, 400.0, 200.0, 400.0, 400.0]),
            "speed": np.full(6, 10.0),
            "lanes": np.ones(6),
            "capacity": np.full(6, 3600.0),
            "jam_density": np.full(6, 150.0),
            "road_class": np.zeros(6, dtype=np.int16),
        },
        road_classes=("residential",),
    )
    city = city_on(net, name="riverside")
    write_bundle(city, tmp_path / "riverside.twin")
    box_lon, box_lat = lonlat(np.array([745_070.0, 745_130.0]), np.array([1_814_970.0, 1_815_030]))
    box_lon, box_lat = box_lon.tolist(), box_lat.tolist()
    area = [[box_lon[0], box_lat[0]], [box_lon[1], box_lat[0]], [box_lon[1], box_lat[1]],
            [box_lon[0], box_lat[1]]]  # fmt: skip
    path = write(
        tmp_path,
        "flood.toml",
        f"""
        [scenario]
        name = "flood"
        city = "riverside.twin"
        window = ["00:00", "01:00"]
        [[intervention]]
        type = "flood"
        area = {area}
        depth_m = 0.35
        """,
    )
    scenario = load_scenario(path)
    table = trips(0, 1, 60.0 * np.arange(6), ["motorbike", "emergency"] * 3)
    spec = compile_scenario(scenario, city)
    (flood,) = spec.interventions
    assert set(flood.classes) == {"motorbike", "car"} and len(flood.edges) == 2
    from sim.spec_builder import build_spec

    spec = build_spec(
        city, seed=0, start=0.0, end=3600.0, tourists=False, emergency=False, trips=table,
        interventions=spec.interventions,
    )  # fmt: skip
    done = run(city, spec, trips=table).trips
    by_class = done.groupby("vehicle_class")["distance"].max()
    assert by_class["motorbike"] == 800.0 and by_class["emergency"] == 200.0


def test_library_scenarios_read_and_say_their_assumptions_in_both_languages():
    for name in library_names():
        scenario = load_scenario(name)
        for what in ("title", "description", "assumptions"):
            texts = getattr(scenario, what)
            assert texts.get("vi") and texts.get("en"), (name, what)
            assert texts["vi"] != texts["en"], (name, what)


@pytest.mark.hue
def test_library_scenarios_compile_on_hue(hue_city):
    digests = {}
    for name in library_names():
        spec = compile_scenario(load_scenario(name), hue_city)
        digests[name] = spec.digest
    assert len(set(digests.values())) == len(digests)
    closed = compile_scenario(load_scenario("hue/truong-tien-closed"), hue_city)
    (bridge,) = closed.interventions
    # both directions of the bridge's five stretches (a traffic signal splits one of them)
    assert len(bridge.edges) == 10 and not bridge.classes


def test_scenario_commands(folder, capsys):
    from twin.cli import main

    base_file(folder)
    assert main(["scenario", "list"]) == 0
    assert "hue/truong-tien-closed" in capsys.readouterr().out
    assert main(["scenario", "show", str(folder / "base.toml")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("digest: ")
    assert 'title = { vi = "Cơ sở", en = "Base" }' in out or "[scenario.title]" in out
    run_dir = folder / "run"
    argv = ["run", str(folder / "base.toml"), "--set", "demand.scale=0.2", "-o", str(run_dir)]
    assert main([*argv, "--no-progress"]) == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["spec"]["parameters"]["demand"]["scale"] == 0.2
    assert manifest["spec"]["seed"] == 3
    assert (
        main(["run", str(folder / "base.toml"), "--start", "07:00", "-o", str(folder / "x")]) == 1
    )
    assert "--start cannot change it" in capsys.readouterr().err
