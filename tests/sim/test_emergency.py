"""Emergency response: exact traces, dispatch, queues, incident sources, outputs, bad input."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
import simpy

from sim.emergency.incidents import expected_incidents, next_arrival, residents_by_node
from sim.emergency.model import Emergency
from sim.emergency.params import EmergencyParams, TimeDist, load_emergency_params
from sim.emergency.records import INCIDENT_COLUMNS, within_share
from sim.emergency.stations import (
    NoUnitsError,
    OffNetworkError,
    Station,
    UnknownUnitTypeError,
    city_stations,
    station_at,
)
from sim.roads import FreeFlowRoads
from twin.errors import ConfigError, TwinError

# No random incidents: tests place them with Emergency.report.
QUIET = {
    "demand": {
        "medical_per_1000_residents_per_day": 0.0,
        "fires_per_100k_residents_per_day": 0.0,
        "crashes_per_million_vehicle_km": 0.0,
    }
}
FIXED = {"dispatch_delay": 60.0, "turnout": 30.0, "scene": 600.0, "handover": 900.0}


def _world(city, params=QUIET, *, seed=0, **kwargs):
    env = simpy.Environment()
    # emergency vehicles at free-flow speed: 20 s a block on the grid
    roads = FreeFlowRoads(env, city.drive, speed_factor={"emergency": 1.0})
    model = Emergency(env, city, roads, rng=np.random.default_rng(seed), params=params, **kwargs)
    model.start()
    return env, model


def _report_at(env, model, t, kind, node, draws):
    def process():
        yield env.timeout(t - env.now)
        model.report(kind, node, draws=draws)

    env.process(process())


def test_single_incident_exact_trace(grid):
    # one ambulance based at the centre (node 12, grid (2, 2)); the hospital is node 0
    base = station_at(grid, "ambulance", node=12, units=1, name="Centre")
    env, model = _world(grid, stations=[base])
    _report_at(env, model, 1000.0, "medical", 24, {**FIXED, "transport": True})
    env.run(until=10_000)
    row = model.incidents_table().iloc[0]
    assert row["call"] == 1000.0
    assert row["dispatch"] == 1060.0  # dispatch delay 60 s
    assert row["depart"] == 1090.0  # turnout 30 s
    assert row["on_scene"] == 1170.0  # (2,2) -> (4,4): 4 blocks × 20 s
    assert row["response_time"] == 170.0
    assert row["left_scene"] == 1770.0  # 600 s on scene
    assert row["hospital"] == 0
    assert row["at_hospital"] == 1930.0  # (4,4) -> (0,0): 8 blocks
    assert row["handover_done"] == 2830.0  # 900 s handover
    assert row["back_at_base"] == 2910.0  # (0,0) -> (2,2): 4 blocks
    assert row["unit"] == "ambulance/Centre/1" and row["station"] == "Centre"
    assert not row["waited"] and row["wait_s"] == 0.0
    units = model.units_table()
    assert units.loc[0, "busy_s"] == 2910.0 - 1060.0
    assert units.loc[0, "calls"] == 1


def test_fire_trace_without_transport(grid):
    # the fire station is the last node (24); a fire at node 0 is 8 blocks away
    env, model = _world(grid)
    _report_at(env, model, 0.0, "fire", 0, {**FIXED, "transport": True})
    env.run(until=5000)
    row = model.incidents_table().iloc[0]
    assert row["unit_type"] == "fire_engine"
    assert row["on_scene"] == 60 + 30 + 160
    assert math.isnan(row["at_hospital"]) and row["hospital"] == -1  # engines carry no one
    assert row["back_at_base"] == 250 + 600 + 160


def test_best_unit_by_travel_time(grid):
    near = station_at(grid, "ambulance", node=24, units=1, name="Near")
    far = station_at(grid, "ambulance", node=0, units=1, name="Far")
    env, model = _world(grid, stations=[far, near])
    _report_at(env, model, 0.0, "medical", 23, {**FIXED, "transport": False})
    _report_at(env, model, 10.0, "medical", 23, {**FIXED, "transport": False})
    env.run(until=5000)
    table = model.incidents_table()
    assert table["station"].tolist() == ["Near", "Far"]  # the second finds Near busy
    assert table["response_time"].tolist() == [90.0 + 20.0, 90.0 + 7 * 20.0]


def test_calls_queue_when_no_unit_is_free(grid):
    only = station_at(grid, "ambulance", node=0, units=1, name="Only")
    env, model = _world(grid, stations=[only])
    for t in (0.0, 5.0):
        _report_at(env, model, t, "medical", 1, {**FIXED, "transport": False})
    env.run(until=5000)
    first, second = model.incidents_table().itertuples()
    assert not first.waited and second.waited
    # the unit is back at base 60 + 30 + 20 + 600 + 20 = 730 s after the first call
    assert first.back_at_base == 730.0
    assert second.dispatch == 730.0
    assert second.wait_s == 730.0 - 65.0
    assert model.kpis()["calls_waited"] == 1


def test_outputs_and_kpis(grid):
    params = {"demand": {"medical_per_1000_residents_per_day": 8.0}}
    env, model = _world(grid, params, seed=3)
    env.run(until=86_400)
    table = model.incidents_table()
    assert tuple(table.columns) == INCIDENT_COLUMNS
    assert len(table) > 40
    done = table.dropna(subset=["back_at_base"])
    # the story is in order
    for a, b in [("call", "dispatch"), ("dispatch", "depart"), ("depart", "on_scene")]:
        assert (done[a] <= done[b]).all()
    assert (done["on_scene"] <= done["left_scene"]).all()
    assert (done["left_scene"] <= done["back_at_base"]).all()
    kpis = model.kpis()
    for key in (
        "incidents_total",
        "response_time_mean_s",
        "response_time_median_s",
        "response_time_p90_s",
        "share_within_8min",
        "share_within_15min",
        "calls_waited",
        "unit_utilisation",
    ):
        assert key in kpis
    assert kpis["incidents_total"] == len(table)
    assert kpis["response_time_median_s"] == pytest.approx(table["response_time"].median())
    assert 0 <= kpis["share_within_8min"] <= kpis["share_within_15min"] <= 1
    assert 0 < kpis["unit_utilisation"]["ambulance"] < 1
    by = model.response_by_zone_hour()
    assert by["incidents"].sum() == len(table)
    assert set(by["zone"]) <= {0, 1, 2, 3}
    assert (by["p90_s"].dropna() >= by["median_s"].dropna()).all()


def test_reproducible_by_seed_and_common_random_numbers(grid):
    params = {"demand": {"medical_per_1000_residents_per_day": 8.0}}

    def table(seed, extra=()):
        env, model = _world(grid, params, seed=seed, extra_stations=extra)
        env.run(until=86_400)
        return model.incidents_table()

    a, b = table(11), table(11)
    pd.testing.assert_frame_equal(a, b)
    assert not table(12)["call"].equals(a["call"])
    # a new station changes the responses, not the incidents
    with_new = table(11, [station_at(grid, "ambulance", node=24, units=2)])
    pd.testing.assert_series_equal(with_new["call"], a["call"])
    pd.testing.assert_series_equal(with_new["node"], a["node"])
    assert with_new["response_time"].mean() < a["response_time"].mean()


def test_medical_calls_follow_residents_and_rate(grid):
    rate = 20.0  # per 1,000 residents per day: 200 a day on 10,000 residents
    params = {
        "demand": {
            "medical_per_1000_residents_per_day": rate,
            "fires_per_100k_residents_per_day": 0,
        },
        "units": {"ambulances_per_hospital": 50},
    }
    env, model = _world(grid, params, seed=5)
    env.run(until=5 * 86_400)
    table = model.incidents_table()
    medical = table[table["kind"] == "medical"]
    expected = rate * grid.population / 1000 * 5
    assert abs(len(medical) - expected) < 4 * math.sqrt(expected)
    # residents are spread evenly, so each zone gets calls in proportion to its nodes (9/6/6/4)
    share = medical["zone"].value_counts(normalize=True).sort_index().to_numpy()
    assert share == pytest.approx(np.array([9, 6, 6, 4]) / 25, abs=0.03)
    # the hourly profile: more calls at 10:00-12:00 than at 02:00-04:00
    hour = (medical["call"] // 3600 % 24).astype(int)
    assert (hour.between(10, 11)).sum() > 2 * (hour.between(2, 3)).sum()


class _CountingRoads(FreeFlowRoads):
    """Free-flow roads that claim all vehicle-km is driven on one edge."""

    def __init__(self, env, network, edge, per_s):
        super().__init__(env, network)
        self.edge, self.per_s = edge, per_s

    def vehicle_km(self):
        out = np.zeros(self.network.n_edges)
        out[self.edge] = self.env.now * self.per_s
        return out


def test_crashes_follow_vehicle_km(grid):
    env = simpy.Environment()
    edge = 7
    roads = _CountingRoads(env, grid.drive, edge, per_s=1000.0 / 3600)  # 1,000 veh-km/h
    params = {
        "demand": {
            "medical_per_1000_residents_per_day": 0.0,
            "fires_per_100k_residents_per_day": 0.0,
            "crashes_per_million_vehicle_km": 500.0,  # 0.5 crash per hour
        }
    }
    model = Emergency(env, grid, roads, rng=np.random.default_rng(2), params=params)
    model.start()
    env.run(until=10 * 86_400)
    crashes = model.incidents_table()
    assert (crashes["kind"] == "crash").all()
    assert (crashes["node"] == grid.drive.indices[edge]).all()
    expected = 0.5 * 24 * 10
    assert abs(len(crashes) - expected) < 4 * math.sqrt(expected)


def test_crashes_fall_back_to_length_weighted_rates(grid):
    params = {
        "demand": {
            "medical_per_1000_residents_per_day": 0.0,
            "fires_per_100k_residents_per_day": 0.0,
            "crashes_per_million_vehicle_km": 1000.0,
            "vehicle_km_per_resident_per_day": 1.0,  # 10,000 veh-km a day -> 10 crashes
        }
    }
    env, model = _world(grid, params, seed=1)
    env.run(until=20 * 86_400)
    n = len(model.incidents_table())
    assert abs(n - 200) < 4 * math.sqrt(200)


class _Tourists:
    def tourists_by_zone(self):
        return np.array([0.0, 0.0, 0.0, 50_000.0])


def test_tourist_calls_happen_where_tourists_are(grid):
    params = {
        "demand": {
            "medical_per_1000_residents_per_day": 0.0,
            "fires_per_100k_residents_per_day": 0.0,
            "crashes_per_million_vehicle_km": 0.0,
            "medical_per_1000_tourists_per_day": 1.0,
        }
    }
    env, model = _world(grid, params, tourists=_Tourists(), seed=4)
    env.run(until=4 * 86_400)
    table = model.incidents_table()
    assert len(table) > 100
    assert (table["zone"] == 3).all() and (table["source"] == "tourist").all()


def test_expected_incidents_table(grid):
    params = load_emergency_params()
    table = expected_incidents(grid, params, tourists_by_zone=np.array([0, 0, 0, 1000.0]))
    medical = table[table["kind"] == "medical"]
    day = params.medical_per_1000_residents_per_day * grid.population / 1000 + 0.3
    assert medical["expected"].sum() == pytest.approx(day)
    assert len(table) == 3 * 4 * 24


def test_next_arrival_respects_hours():
    rng = np.random.default_rng(0)
    rates = np.zeros(24)
    rates[5] = 10 / 3600.0
    t, times = 0.0, []
    while t < 3 * 86_400:
        t = next_arrival(t, rates, rng)
        times.append(t)
    hours = (np.array(times[:-1]) // 3600 % 24).astype(int)
    assert set(hours) == {5}
    assert abs(len(hours) - 30) < 4 * math.sqrt(30)
    assert next_arrival(0.0, np.zeros(24), rng) == math.inf


def test_time_distributions():
    rng = np.random.default_rng(0)
    assert TimeDist(90.0, 0.0).sample(rng) == 90.0
    draws = np.array([TimeDist(100.0, 0.5).sample(rng) for _ in range(20_000)])
    assert draws.mean() == pytest.approx(100.0, rel=0.03)
    assert draws.std() / draws.mean() == pytest.approx(0.5, rel=0.05)


def test_residents_by_node(grid):
    res = residents_by_node(grid)
    assert res.sum() == pytest.approx(grid.population)
    assert np.allclose(res, grid.population / 25)


def test_within_share_counts_overdue_calls_as_failures():
    table = pd.DataFrame(
        {"call": [0.0, 0.0, 900.0, 990.0], "response_time": [300, 600, np.nan, np.nan]}
    )
    # at t = 1000: call 3 has waited 100 s (< 480: unknown), call 4 10 s (unknown)
    assert within_share(table, 480.0, 1000.0) == pytest.approx(1 / 2)
    # at t = 2000 both are overdue
    assert within_share(table, 480.0, 2000.0) == pytest.approx(1 / 4)


# -- bad input -------------------------------------------------------------------------------
def test_zero_units_of_a_needed_type(grid):
    env = simpy.Environment()
    params = {"units": {"ambulances_per_hospital": 0}}
    with pytest.raises(NoUnitsError, match="ambulances_per_hospital") as err:
        Emergency(
            env, grid, FreeFlowRoads(env, grid.drive), rng=np.random.default_rng(0), params=params
        )
    assert isinstance(err.value, ValueError) and isinstance(err.value, TwinError)
    assert "Fix" in str(err.value)
    # no calls that need them: fine
    quiet = {**params, "demand": {**QUIET["demand"]}}
    Emergency(env, grid, FreeFlowRoads(env, grid.drive), rng=np.random.default_rng(0), params=quiet)


def _without(city, *categories):
    from dataclasses import replace

    pois = city.pois[~city.pois["category"].isin(categories)].reset_index(drop=True)
    return replace(city, pois=pois)


def test_city_stations_have_unique_names(grid):
    from dataclasses import replace

    params = load_emergency_params()
    extra = grid.pois[grid.pois["category"] == "hospital"].assign(drive_node=[7])
    unnamed = extra.assign(name="", poi_id="osm/node/9", drive_node=[8])
    city = replace(grid, pois=pd.concat([grid.pois, extra, unnamed], ignore_index=True))
    stations = city_stations(city, params)
    assert [(s.name, s.unit_type, s.node) for s in stations] == [
        ("Hospital A", "ambulance", 0),
        ("Hospital A (2)", "ambulance", 7),
        ("hospital osm/node/9", "ambulance", 8),
        ("Fire station A", "fire_engine", 24),
    ]
    # the names a run specification gives the same stations
    from sim.spec_builder import city_stations as spec_stations

    assert [s.name for s in spec_stations(city, params.raw)] == [s.name for s in stations]
    engines = city_stations(city, params, unit_type="fire_engine")
    assert [s.name for s in engines] == ["Fire station A"]
    with pytest.raises(UnknownUnitTypeError):
        city_stations(city, params, unit_type="boat")


def test_a_city_without_stations_runs_without_emergency_response(grid, caplog):
    city = _without(grid, "hospital", "fire_station")
    params = {"demand": {"medical_per_1000_residents_per_day": 8.0}}
    with caplog.at_level(logging.WARNING):
        env, model = _world(city, params)
    assert [r.getMessage() for r in caplog.records] == [
        "emergency response is not simulated: grid 5x5 has no hospital or fire_station POIs, "
        "so no ambulance or fire_engine units to send; give the run stations of that type "
        "(sim.emergency.stations.station_at)"
    ]
    assert model.skipped == (
        "grid 5x5 has no hospital or fire_station POIs, so no ambulance or fire_engine units "
        "to send"
    )
    assert set(model.skipped_kinds) == {"medical", "fire", "crash"}
    env.run(until=86_400)
    table = model.incidents_table()
    assert len(table) == 0 and tuple(table.columns) == INCIDENT_COLUMNS
    assert table["call"].dtype == np.float64 and table["waited"].dtype == bool
    kpis = model.kpis()
    assert kpis["incidents_total"] == kpis["incidents_reached"] == kpis["calls_waited"] == 0
    assert kpis["incidents_by_kind"] == {"medical": 0, "fire": 0, "crash": 0}
    assert kpis["units_total"] == {"ambulance": 0, "fire_engine": 0}
    for key in ("response_time_mean_s", "share_within_8min", "unit_wait_mean_s"):
        assert math.isnan(kpis[key])
    assert math.isnan(kpis["unit_utilisation"]["ambulance"])
    assert len(model.response_by_zone_hour()) == 0


def test_a_city_without_fire_stations_leaves_fires_out(grid, caplog):
    city = _without(grid, "fire_station")
    params = {
        "demand": {
            "medical_per_1000_residents_per_day": 8.0,
            "fires_per_100k_residents_per_day": 500.0,
        }
    }
    with caplog.at_level(logging.WARNING):
        env, model = _world(city, params, seed=2)
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("fire incidents are not simulated")
    assert model.skipped is None and list(model.skipped_kinds) == ["fire"]
    env.run(until=86_400)
    kinds = model.incidents_table()["kind"]
    assert (kinds == "medical").sum() > 40 and not (kinds == "fire").any()
    # a station given for the missing type puts the fires back
    engine = station_at(city, "fire_engine", node=12, units=1)
    env, model = _world(city, params, seed=2, extra_stations=[engine])
    env.run(until=86_400)
    assert not model.skipped_kinds and (model.incidents_table()["kind"] == "fire").any()


def test_stations_given_without_a_needed_type(grid, caplog):
    env = simpy.Environment()
    roads = FreeFlowRoads(env, grid.drive)
    rng = np.random.default_rng(0)
    engine = station_at(grid, "fire_engine", node=3)
    # no ambulance station at all: the calls ambulances answer are left out
    with caplog.at_level(logging.WARNING):
        model = Emergency(env, grid, roads, rng=rng, stations=[engine])
    assert model.skipped is None
    assert model.skipped_kinds == {
        "medical": "the stations given include no ambulance station",
        "crash": "the stations given include no ambulance station",
    }
    assert (
        caplog.records[0]
        .getMessage()
        .startswith(
            "medical and crash incidents are not simulated: the stations given include no "
            "ambulance station"
        )
    )
    # an ambulance station asked to have no units is a request that cannot be met
    empty = Station("Empty", "ambulance", 4, 0)
    with pytest.raises(NoUnitsError, match=r"ambulance stations given \('Empty'\) have none"):
        Emergency(env, grid, roads, rng=rng, stations=[engine, empty])
    # so are the city's hospitals with no ambulances
    with pytest.raises(NoUnitsError, match="ambulances_per_hospital"):
        Emergency(env, grid, roads, rng=rng, params={"units": {"ambulances_per_hospital": 0}})


def test_a_run_on_a_gmns_city_without_pois(caplog):
    from sim.run_day import run_day
    from tests.conftest import DATA
    from twin.build.gmns import read_gmns

    city = read_gmns(DATA / "gmns_small")
    assert len(city.pois) == 0
    trips = pd.DataFrame(
        {"origin": [0, 1], "destination": [2, 3], "depart": [3600.0, 7200.0]}
    ).assign(vehicle_class="car")
    with caplog.at_level(logging.WARNING):
        result = run_day(city, trips=trips, seed=0, tourists=False, emergency=True)
    assert "emergency response is not simulated" in caplog.text
    assert len(result.incidents) == 0
    assert result.kpis["incidents_total"] == 0 and result.kpis["trips_completed"] == 2


def test_station_off_the_network(grid):
    with pytest.raises(OffNetworkError, match="not in the drive network"):
        station_at(grid, "ambulance", node=25)
    x, y = grid.drive.x[0] - 5_000.0, grid.drive.y[0]
    with pytest.raises(OffNetworkError, match="from the nearest road"):
        station_at(grid, "ambulance", xy=(x, y))
    snapped = station_at(grid, "ambulance", xy=(grid.drive.x[6] + 30.0, grid.drive.y[6]))
    assert snapped.node == 6
    env = simpy.Environment()
    with pytest.raises(OffNetworkError, match="station_at"):
        Emergency(
            env,
            grid,
            FreeFlowRoads(env, grid.drive),
            rng=np.random.default_rng(0),
            params=QUIET,
            extra_stations=[Station("ghost", "ambulance", 99, 1)],
        )


def test_unknown_unit_type(grid):
    with pytest.raises(UnknownUnitTypeError, match="fire_engine"):
        station_at(grid, "helicopter", node=3)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"demand": {"medical_per_1000_residents_per_day": -1.0}}, "at least 0"),
        ({"demand": {"hourly_profile": {"medical": [1.0] * 23}}}, "24 non-negative"),
        ({"response": {"travel": "teleport"}}, "'roads'"),
        ({"response": {"scene_s": {"fire": {"mean": 60.0, "cv": -1}}}}, "non-negative"),
        ({"response": {"transport_share": {"medical": 1.5}}}, "between 0 and 1"),
        ({"response": {"unit_type": {"fire": "boat"}}}, "not a unit type"),
        ({"units": {"fire_engines_per_fire_station": 1.5}}, "whole number"),
        ({"emergency_vehicle": {"congestion_delay_share": 2.0}}, "between 0 and 1"),
    ],
)
def test_bad_parameters(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_emergency_params(overrides=overrides)


def test_parameter_file(tmp_path):
    path = tmp_path / "em.toml"
    path.write_text("[units]\nambulances_per_hospital = 5\n", encoding="utf-8")
    params = load_emergency_params(path)
    assert isinstance(params, EmergencyParams)
    assert params.ambulances_per_hospital == 5
    assert params.fire_engines_per_fire_station == 2  # the rest from the defaults
    with pytest.raises(TwinError, match="does not exist"):
        load_emergency_params(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[units\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_emergency_params(bad)


def test_defaults_are_documented_values():
    p = load_emergency_params()
    assert p.medical_per_1000_residents_per_day == 0.2
    assert p.ambulances_per_hospital == 2 and p.fire_engines_per_fire_station == 2
    assert p.hourly_profile["medical"].mean() == pytest.approx(1.0)
    assert p.unit_type == {"medical": "ambulance", "fire": "fire_engine", "crash": "ambulance"}


@pytest.mark.hue
def test_huế_hour_of_emergency_response(hue_city):
    env = simpy.Environment()
    roads = FreeFlowRoads(env, hue_city.drive)
    params = {"demand": {"medical_per_1000_residents_per_day": 1.0}}
    model = Emergency(env, hue_city, roads, rng=np.random.default_rng(0), params=params)
    model.start()
    env.run(until=8 * 3600)
    kpis = model.kpis()
    assert kpis["incidents_total"] > 0
    assert kpis["response_time_median_s"] > 60
    assert len(model.units["ambulance"]) == 2 * len(hue_city.pois_of("hospital"))
    # every call rises where people live: the zones' populations are the totals
    assert residents_by_node(hue_city).sum() == pytest.approx(hue_city.population)
