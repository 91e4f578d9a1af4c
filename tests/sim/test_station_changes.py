"""Station changes during a run: exact traces of opening, closing, moving and resizing
stations on the 5 × 5 grid (20 s a block), and what they must never do."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import simpy

from sim.emergency.model import Emergency
from sim.emergency.stations import (
    OffNetworkError,
    Station,
    StationError,
    UnknownStationError,
    UnknownUnitTypeError,
)
from sim.roads import FreeFlowRoads
from twin.errors import TwinError

QUIET = {
    "demand": {
        "medical_per_1000_residents_per_day": 0.0,
        "fires_per_100k_residents_per_day": 0.0,
        "crashes_per_million_vehicle_km": 0.0,
    }
}
# 60 s to dispatch, 30 s to turn out, 600 s on scene, nobody to hospital
FIXED = {"dispatch_delay": 60.0, "turnout": 30.0, "scene": 600.0, "transport": False}
T = 36_000.0  # 10:00


def _world(city, stations, params=QUIET, *, seed=0):
    env = simpy.Environment()
    roads = FreeFlowRoads(env, city.drive, speed_factor={"emergency": 1.0})
    model = Emergency(
        env, city, roads, rng=np.random.default_rng(seed), params=params, stations=stations
    )
    model.start()
    return env, model


def _at(env, t, action):
    def process():
        yield env.timeout(t - env.now)
        action()

    env.process(process())


def _call(env, model, t, node, **draws):
    _at(env, t, lambda: model.report("medical", node, draws={**FIXED, **draws}))


def _ambulance(name, node, units=1):
    return Station(name, "ambulance", node, units)


def test_a_closed_station_sends_no_unit_after_it_closes(grid):
    env, model = _world(grid, [_ambulance("A", 0), _ambulance("B", 24)])
    _call(env, model, T - 300, 1)  # A, one block away; busy until T + 430
    _call(env, model, T - 200, 23)  # B, one block away; busy until T + 530
    _call(env, model, T + 100, 1)  # waits from T + 160: A comes back first but is closed
    _call(env, model, T + 3600, 0)  # on A's doorstep: B drives 8 blocks
    closed = []
    _at(env, T, lambda: closed.append(model.remove_station("A")))
    env.run(until=T + 7200)
    c0, c1, c2, c3 = model.incidents_table().itertuples()
    assert closed == [_ambulance("A", 0)]
    assert (c0.station, c1.station) == ("A", "B")
    assert c0.back_at_base == T + 430  # A finishes the call it had
    assert c1.back_at_base == T + 530
    assert c2.station == "B" and c2.waited
    assert c2.dispatch == T + 530 and c2.wait_s == 370.0
    assert c2.on_scene == T + 530 + 30 + 7 * 20
    assert c3.station == "B" and c3.response_time == 60 + 30 + 8 * 20
    table = model.incidents_table()
    assert (table.loc[table["dispatch"] > T, "station"] == "B").all()
    units = model.units_table().set_index("unit")
    assert not units.loc["ambulance/A/1", "in_service"]
    assert units.loc["ambulance/A/1", "calls"] == 1
    assert [s.name for s in model.stations] == ["B"]
    assert model.kpis()["units_total"]["ambulance"] == 1


def test_a_closed_station_opens_again_with_its_units(grid):
    env, model = _world(grid, [_ambulance("A", 0), _ambulance("B", 24)])
    closed = []
    _at(env, T, lambda: closed.append(model.remove_station("A")))
    _at(env, T + 3600, lambda: model.add_station(closed[0]))
    _call(env, model, T + 1800, 1)  # A is closed: B, 7 blocks
    _call(env, model, T + 5400, 1)  # A again, 1 block
    env.run(until=T + 9000)
    first, second = model.incidents_table().itertuples()
    assert (first.station, first.response_time) == ("B", 90.0 + 7 * 20)
    assert (second.unit, second.response_time) == ("ambulance/A/1", 90.0 + 20)
    units = model.units_table().set_index("unit")
    assert len(units) == 2 and units["in_service"].all()


def test_an_opened_station_answers_the_call_next_to_it(grid):
    env, model = _world(grid, [_ambulance("Far", 24)])
    _call(env, model, T - 3600, 1)  # before: Far, 7 blocks
    _at(env, T, lambda: model.add_station(_ambulance("New", 0)))
    _call(env, model, T + 1800, 1)  # after: New, 1 block
    env.run(until=T + 7200)
    before, after = model.incidents_table().itertuples()
    assert (before.station, before.response_time) == ("Far", 90.0 + 7 * 20)
    assert (after.station, after.unit) == ("New", "ambulance/New/1")
    assert after.response_time == 90.0 + 20
    assert [s.name for s in model.stations] == ["Far", "New"]


def test_an_opened_station_serves_a_waiting_call_at_once(grid):
    env, model = _world(grid, [_ambulance("Far", 24)])
    _call(env, model, T - 400, 23)  # Far is busy until T + 330
    _call(env, model, T - 300, 2)  # waits from T - 240
    _at(env, T, lambda: model.add_station(_ambulance("New", 0)))
    env.run(until=T + 3600)
    _, waiting = model.incidents_table().itertuples()
    assert waiting.waited and waiting.station == "New"
    assert waiting.dispatch == T and waiting.wait_s == 240.0
    assert waiting.on_scene == T + 30 + 2 * 20


def test_moving_a_station_changes_which_unit_is_nearest(grid):
    env, model = _world(grid, [_ambulance("P", 0), _ambulance("Q", 24)])
    _call(env, model, T - 3600, 3)  # P: 3 blocks, Q: 5
    moved = []
    _at(env, T, lambda: moved.append(model.move_station("P", 20)))
    _call(env, model, T + 1800, 3)  # P now 7 blocks away, Q still 5
    _call(env, model, T + 1810, 21)  # P, already free at its new base: 1 block
    env.run(until=T + 7200)
    before, after, beside = model.incidents_table().itertuples()
    assert moved == [0]
    assert (before.station, before.response_time) == ("P", 90.0 + 3 * 20)
    assert (after.station, after.response_time) == ("Q", 90.0 + 5 * 20)
    assert (beside.station, beside.response_time) == ("P", 90.0 + 20)
    assert beside.back_at_base == beside.left_scene + 20  # home is node 20 now
    assert [(s.name, s.node) for s in model.stations] == [("P", 20), ("Q", 24)]


def test_a_unit_on_a_call_returns_to_the_new_base(grid):
    env, model = _world(grid, [_ambulance("P", 0)])
    _call(env, model, T - 120, 1)  # on scene T - 10 .. T + 590
    _at(env, T, lambda: model.move_station("P", 20))
    _call(env, model, T + 3600, 21)
    env.run(until=T + 7200)
    call, later = model.incidents_table().itertuples()
    assert call.depart == T - 30 and call.on_scene == T - 10  # left from the old base
    assert call.back_at_base == T + 590 + 5 * 20  # node 1 -> node 20
    assert later.response_time == 90.0 + 20
    assert model.units_table().loc[0, "node"] == 20


def test_a_unit_driving_back_drives_on_to_the_new_base(grid):
    env, model = _world(grid, [_ambulance("P", 0)])
    _call(env, model, 0.0, 4)  # on scene 170 .. 770, drives back 4 blocks until 850
    _at(env, 800.0, lambda: model.move_station("P", 20))
    env.run(until=5000)
    row = model.incidents_table().iloc[0]
    assert row["left_scene"] == 770.0
    assert row["back_at_base"] == 850.0 + 4 * 20  # to node 0, then on to node 20


def test_no_units_left_leaves_a_waiting_call_for_another_station(grid, caplog):
    env, model = _world(grid, [_ambulance("A", 0), _ambulance("B", 24)])
    _call(env, model, T - 300, 1)  # A until T + 430
    _call(env, model, T - 200, 23)  # B until T + 530
    _call(env, model, T - 100, 1)  # waits from T - 40
    previous = []
    _at(env, T, lambda: previous.append(model.set_station_units("A", 0)))
    with caplog.at_level(logging.INFO, logger="sim.emergency.model"):
        env.run(until=T + 3600)
    *_, waiting = model.incidents_table().itertuples()
    assert previous == [1]
    assert waiting.station == "B" and waiting.dispatch == T + 530
    assert waiting.wait_s == 570.0
    assert [(s.name, s.units) for s in model.stations] == [("A", 0), ("B", 1)]
    assert not model.units_table().set_index("unit").loc["ambulance/A/1", "in_service"]
    assert "'A' has 0 unit(s) instead of 1" in caplog.text


def test_more_units_serve_waiting_calls_at_once(grid):
    env, model = _world(grid, [_ambulance("A", 0)])
    _call(env, model, T - 300, 1)  # A/1 until T + 430
    _call(env, model, T - 200, 2)  # waits from T - 140
    _call(env, model, T - 100, 3)  # waits from T - 40
    previous = []
    _at(env, T, lambda: previous.append(model.set_station_units("A", 3)))
    env.run(until=T + 3600)
    _, second, third = model.incidents_table().itertuples()
    assert previous == [1]
    assert (second.unit, second.dispatch, second.wait_s) == ("ambulance/A/2", T, 140.0)
    assert (third.unit, third.dispatch, third.wait_s) == ("ambulance/A/3", T, 40.0)
    assert second.on_scene == T + 30 + 2 * 20 and third.on_scene == T + 30 + 3 * 20
    assert model.kpis()["units_total"]["ambulance"] == 3


def test_fewer_units_retire_free_ones_first(grid):
    env, model = _world(grid, [_ambulance("A", 0, units=2)])
    _call(env, model, T - 300, 1)  # A/1 (ties go to the lower id) until T + 430
    _at(env, T, lambda: model.set_station_units("A", 1))
    _call(env, model, T + 100, 2)  # A/2 is gone: waits for A/1
    env.run(until=T + 3600)
    first, second = model.incidents_table().itertuples()
    assert first.unit == "ambulance/A/1"
    assert (second.unit, second.dispatch) == ("ambulance/A/1", T + 430)
    units = model.units_table().set_index("unit")
    assert units["in_service"].to_dict() == {"ambulance/A/1": True, "ambulance/A/2": False}


def test_time_out_of_service_is_not_counted_in_utilisation(grid):
    env, model = _world(grid, [_ambulance("A", 0, units=2), _ambulance("B", 24)])
    _call(env, model, 0.0, 1)  # A/1 busy from 60 to 730
    _at(env, 1000.0, lambda: model.remove_station("A"))
    env.run(until=2000.0)
    units = model.units_table().set_index("unit")
    assert units.loc["ambulance/A/1", "busy_s"] == 670.0
    assert units.loc["ambulance/A/1", "utilisation"] == pytest.approx(670.0 / 1000.0)
    assert units.loc["ambulance/A/2", "utilisation"] == 0.0
    assert units.loc["ambulance/B/1", "utilisation"] == 0.0
    kpis = model.kpis()
    assert kpis["units_total"] == {"ambulance": 1, "fire_engine": 0}
    assert kpis["unit_utilisation"]["ambulance"] == pytest.approx(0.67 / 3)


def test_changes_keep_the_incidents_common_random_numbers(grid):
    params = {
        "demand": {
            "medical_per_1000_residents_per_day": 8.0,
            "fires_per_100k_residents_per_day": 0.0,
        }
    }
    stations = [_ambulance("A", 0, units=2), _ambulance("B", 24, units=2)]

    def day(change=None):
        env, model = _world(grid, stations, params, seed=21)
        if change:
            _at(env, T, lambda: change(model))
        env.run(until=86_400.0)
        return model.incidents_table()

    base = day()
    closed = day(lambda m: m.remove_station("A"))
    assert len(base) > 40
    pd.testing.assert_frame_equal(base[["kind", "node", "call"]], closed[["kind", "node", "call"]])
    late = closed["dispatch"] > T
    assert late.sum() > 10
    assert (closed.loc[late, "station"] == "B").all()
    assert (base.loc[base["dispatch"] > T, "station"] == "A").any()


# -- bad changes -------------------------------------------------------------------------------
def test_an_unknown_station_names_the_closest(grid):
    hue = Station("Bệnh viện Trung ương Huế", "ambulance", 3, 1)
    _env, model = _world(grid, [_ambulance("Hospital A", 0), hue])
    with pytest.raises(UnknownStationError, match="did you mean 'Hospital A'") as err:
        model.remove_station("Hospitl A")
    assert isinstance(err.value, LookupError) and isinstance(err.value, TwinError)
    with pytest.raises(UnknownStationError, match="did you mean 'Bệnh viện Trung ương Huế'"):
        model.set_station_units("Benh vien Trung uong Hue", 2)
    with pytest.raises(UnknownStationError, match="stations in service are 'Hospital A'"):
        model.move_station("Fire station Z", 3)
    model.remove_station("Hospital A")
    with pytest.raises(UnknownStationError, match="stations in service are 'Bệnh viện"):
        model.remove_station("Hospital A")  # closed already: no longer in service


@pytest.mark.parametrize("units", [-1, 1.5, True, "2"])
def test_units_must_be_a_whole_number_not_below_zero(grid, units):
    _env, model = _world(grid, [_ambulance("A", 0)])
    with pytest.raises(StationError, match="whole number 0 or more"):
        model.set_station_units("A", units)
    with pytest.raises(StationError, match="whole number 0 or more"):
        model.add_station(_ambulance("B", 3, units=units))
    assert [(s.name, s.units) for s in model.stations] == [("A", 1)]


def test_bad_stations_and_nodes(grid):
    env, model = _world(grid, [_ambulance("A", 0)])
    with pytest.raises(OffNetworkError, match=r"node 25, not in the drive network \(0..24\)"):
        model.move_station("A", 25)
    with pytest.raises(OffNetworkError, match="not in the drive network"):
        model.move_station("A", -1)
    with pytest.raises(OffNetworkError, match="station_at"):
        model.add_station(_ambulance("Ghost", 99))
    with pytest.raises(StationError, match="'A' is already in service"):
        model.add_station(_ambulance("A", 5))
    with pytest.raises(UnknownUnitTypeError, match="helicopter"):
        model.add_station(Station("Pad", "helicopter", 5, 1))
    with pytest.raises(StationError, match="expected a Station"):
        model.add_station(("A2", "ambulance", 5, 1))
    assert [(s.name, s.node) for s in model.stations] == [("A", 0)]
    with pytest.raises(StationError, match="already in service"):
        Emergency(
            env,
            grid,
            FreeFlowRoads(env, grid.drive),
            rng=np.random.default_rng(0),
            params=QUIET,
            extra_stations=[_ambulance("Hospital A", 5)],  # the grid's own hospital's name
        )


def test_a_run_specification_closes_a_station_for_a_window(grid):
    from sim.interventions import RemoveStation, StationSpec
    from sim.runner import run
    from sim.spec_builder import build_spec

    node_id = grid.drive.node_id
    stations = [
        StationSpec("West", "ambulance", int(node_id[0]), 2),
        StationSpec("East", "ambulance", int(node_id[24]), 2),
        StationSpec("Fire", "fire_engine", int(node_id[24]), 1),
    ]
    closed = RemoveStation(name="West", start=T, until=T + 4 * 3600)
    spec = build_spec(
        grid,
        seed=5,
        traffic="free_flow",
        tourists=False,
        stations=stations,
        interventions=[closed],
        settings=["emergency.demand.medical_per_1000_residents_per_day=8"],
    )
    table = run(grid, spec).incidents
    during = table["dispatch"].between(T, T + 4 * 3600, inclusive="left")
    after = table["dispatch"] >= T + 4 * 3600 + 1800  # the units are back in service
    assert during.sum() > 5 and after.sum() > 5
    assert not (table.loc[during, "station"] == "West").any()
    assert (table.loc[after, "station"] == "West").any()
    assert (table.loc[table["dispatch"] < T, "station"] == "West").any()
