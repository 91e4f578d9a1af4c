"""Tourists: exact traces of gates, waits and trips; crowding limits; reproducibility."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import simpy

from sim.roads import FreeFlowRoads, Journey, UnreachableError
from sim.runner import run
from sim.spec_builder import build_spec
from sim.tourists.errors import TouristsError
from sim.tourists.itinerary import PlaceTimes, plan_itinerary, reverse_csr
from sim.tourists.model import Tourists
from sim.tourists.params import load_tourist_params
from sim.tourists.records import TRIP_COLUMNS, VISIT_COLUMNS
from twin.attractions.sites import resolve_attractions
from twin.errors import ConfigError

HEADER = (
    "site,poi_id,names,category,lon,lat,popularity,opens,closes,last_entry_min,visit_min,"
    "gate_per_min,capacity,boat_from"
)
# Grid city (tests/conftest.py `grid`): 200 m blocks, cars at 10 m/s (20 s a block).
# Hotel A at node 4 (x=800, y=0), Hostel A at node 20 (0, 800), Citadel at node 12
# (400, 400), Pagoda at 13 (600, 400), Market at 1 (200, 0), Pier at 23 (600, 800).
TABLE = [
    "Citadel,,Citadel,attraction,,,100,08:00,17:00,0,60,2,100,",
    "Pagoda,,Pagoda,pagoda_temple,,,50,07:00,17:30,0,20,,,",
    "Market,,Market,market,,,40,06:00,18:00,0,240,,,Boats",
    "Boats,,Pier,pier,,,20,07:00,21:00,0,60,10,,",
]
# Deterministic behaviour: no draws matter, walking at 1 m/s up to 500 m, taxis only.
EXACT = {
    "tourists_per_day": 0,
    "visit_cv": 0.0,
    "walk_max_m": 500.0,
    "walk_speed_ms": 1.0,
    "taxi_wait_s": 300.0,
    "xe_om_share": 0.0,
    "boat_share": 0.0,
    "rest_gap_s": 1e6,
    "other_sites": None,
}


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + "\n" + "\n".join(TABLE) + "\n", encoding="utf-8")
    return path


def make(grid, table, *, seed=0, roads=None, start=0.0, **params):
    env = roads.env if roads is not None else simpy.Environment(initial_time=start)
    roads = roads or FreeFlowRoads(env, grid.drive)
    prm = load_tourist_params(**{**EXACT, **params})
    model = Tourists(
        env, grid, roads, rng=np.random.default_rng(seed), params=prm, attractions=table
    )
    return env, model


class RecordingRoads(FreeFlowRoads):
    """Free-flow roads that remember every vehicle and can add a fixed delay (traffic)."""

    def __init__(self, env, network, *, delay=0.0):
        super().__init__(env, network)
        self.sent: list[tuple[int, int, str]] = []
        self.delay = delay

    def drive(self, origin, destination, *, vehicle_class="car"):
        self.sent.append((origin, destination, vehicle_class))
        return self.env.process(self._late(origin, destination, vehicle_class))

    def _late(self, origin, destination, vehicle_class):
        journey = yield self.env.process(self._drive(origin, destination, vehicle_class))
        yield self.env.timeout(self.delay)
        return Journey(origin, destination, journey.depart, self.env.now, 0.0, vehicle_class)


# -- exact traces ----------------------------------------------------------------------------


def test_one_tourists_day_is_an_exact_trace(grid, table):
    env, model = make(grid, table)
    model.add_party("Hotel A", depart="07:30", wishlist=["Citadel", "Pagoda", "Market"])
    model.start()
    env.run()
    # Plan from 07:30 (27000 s), greedy by earliest finish:
    #   Pagoda first (taxi: 300 s wait + 3 blocks x 20 s = 360 s; 20 min visit, done 28560);
    #   then the Citadel, a 200 m walk (200 s) that should arrive as it opens at 08:00, so
    #   the party leaves the pagoda at 28600; its gate takes 30 s a visitor; 60 min inside;
    #   then the Market by taxi (3 blocks, 360 s) for 240 min; home by taxi (3 blocks).
    trips = model.trips_table()
    assert list(trips.columns) == list(TRIP_COLUMNS)
    assert trips[["origin", "destination", "mode", "depart", "arrive", "vehicles"]].to_dict(
        "records"
    ) == [
        {"origin": "Hotel A", "destination": "Pagoda", "mode": "taxi", "depart": 27000.0,
         "arrive": 27360.0, "vehicles": 1},
        {"origin": "Pagoda", "destination": "Citadel", "mode": "walk", "depart": 28600.0,
         "arrive": 28800.0, "vehicles": 0},
        {"origin": "Citadel", "destination": "Market", "mode": "taxi", "depart": 32430.0,
         "arrive": 32790.0, "vehicles": 1},
        {"origin": "Market", "destination": "Hotel A", "mode": "taxi", "depart": 47190.0,
         "arrive": 47550.0, "vehicles": 1},
    ]  # fmt: skip
    visits = model.visits_table()
    assert list(visits.columns) == list(VISIT_COLUMNS)
    got = visits[["site", "arrive", "gate_wait", "enter", "leave", "mode_in", "missed"]]
    assert got.to_dict("records") == [
        {"site": "Pagoda", "arrive": 27360.0, "gate_wait": 0.0, "enter": 27360.0,
         "leave": 28560.0, "mode_in": "taxi", "missed": False},
        {"site": "Citadel", "arrive": 28800.0, "gate_wait": 0.0, "enter": 28830.0,
         "leave": 32430.0, "mode_in": "walk", "missed": False},
        {"site": "Market", "arrive": 32790.0, "gate_wait": 0.0, "enter": 32790.0,
         "leave": 47190.0, "mode_in": "taxi", "missed": False},
    ]  # fmt: skip
    kpis = model.kpis()
    travel = 360 + 200 + 360 + 360
    at_sites = 1200 + 3630 + 14400
    assert kpis["travel_time_share"] == pytest.approx(travel / (travel + at_sites))
    assert kpis["tourists_total"] == 1 and kpis["visits_total"] == 3
    assert kpis["visits_missed"] == 0 and kpis["tourist_vehicle_trips"] == 3
    assert kpis["gate_wait_mean_s"] == 0.0  # only the Citadel has a gate
    assert kpis["trip_share_taxi"] == pytest.approx(0.75)


def test_simultaneous_arrivals_queue_at_the_gate(grid, table):
    # Five lone tourists leave Hotel A at 08:00 and walk 800 m (800 s) to the Citadel,
    # arriving together at 29600; its gate passes 2 visitors a minute, so the k-th waits
    # k x 30 s and the last (N - 1) / r = 120 s.
    env, model = make(grid, table, walk_max_m=1000.0)
    for _ in range(5):
        model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"])
    model.start()
    env.run()
    visits = model.visits_table()
    assert (visits["arrive"] == 29600.0).all()
    assert visits["gate_wait"].tolist() == [0.0, 30.0, 60.0, 90.0, 120.0]
    assert visits["enter"].tolist() == [29630.0, 29660.0, 29690.0, 29720.0, 29750.0]
    assert model.kpis()["gate_wait_p90_s"] == pytest.approx(108.0)


def test_a_party_passes_the_gate_one_member_after_another(grid, table):
    env, model = make(grid, table, walk_max_m=1000.0)
    model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"])
    model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"], size=3)
    model.start()
    env.run()
    visits = model.visits_table()
    assert visits["gate_wait"].tolist() == [0.0, 30.0, 60.0, 90.0]
    # the party goes in together once its last member is through, and leaves together
    party = visits[visits["party_id"] == 1]
    assert party["enter"].tolist() == [29660.0, 29690.0, 29720.0]
    assert (party["leave"] == 29720.0 + 3600.0).all()


def test_a_party_rests_at_its_lodging_before_an_evening_site(grid, tmp_path):
    path = tmp_path / "evening.csv"
    rows = [
        "Pagoda,,Pagoda,pagoda_temple,,,50,07:00,17:30,0,20,,,",
        "Night market,,Market,market,,,40,18:00,23:00,0,60,,,",
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    env, model = make(grid, path, rest_gap_s=3600.0)
    model.add_party("Hotel A", depart="08:00", wishlist=["Night market", "Pagoda"])
    model.start()
    env.run()
    # taxis: hotel-pagoda 3 blocks (360 s), pagoda-market 4 blocks (380 s), hotel-market 3
    # blocks (360 s). Done at the pagoda at 08:26, the party would wait 9 h for the market:
    # it goes home first and leaves again at 17:54 to arrive as the market opens.
    trips = model.trips_table()[["origin", "destination", "depart", "arrive"]]
    assert trips.values.tolist() == [
        ["Hotel A", "Pagoda", 28800.0, 29160.0],
        ["Pagoda", "Hotel A", 30360.0, 30720.0],
        ["Hotel A", "Night market", 64440.0, 64800.0],
        ["Night market", "Hotel A", 68400.0, 68760.0],
    ]


def test_the_boat_carries_tourists_from_the_pier(grid, table):
    # Hostel A (0, 800) to the Market (200, 0): 1000 m on foot, too far; the pier (600, 800)
    # is 600 m away, so the party walks there (600 s), boards through the pier's gate (10
    # a minute: 6 s) and cruises the straight line x river_factor at 2 m/s.
    env, model = make(grid, table, walk_max_m=700.0, boat_share=1.0, river_factor=1.0,
                      boat_speed_ms=2.0)  # fmt: skip
    model.add_party("Hostel A", depart="09:00", wishlist=["Market"])
    model.start()
    env.run()
    trip = model.trips_table().iloc[0]
    assert trip["mode"] == "boat" and trip["vehicles"] == 0
    expected = 600.0 + 6.0 + math.hypot(400.0, 800.0) / 2.0
    assert trip["arrive"] - trip["depart"] == pytest.approx(expected)
    assert model.visits_table().iloc[0]["mode_in"] == "boat"


def test_vehicles_enter_the_roads_by_class(grid, table):
    env = simpy.Environment()
    roads = RecordingRoads(env, grid.drive)
    _, model = make(grid, table, roads=roads, taxi_seats=2, xe_om_share=1.0, xe_om_max_party=2)
    model.add_party("Hotel A", depart="09:00", wishlist=["Citadel"], size=25, tour=True)
    model.add_party("Hotel A", depart="09:00", wishlist=["Citadel"], size=3)  # 2 taxis
    model.add_party("Hotel A", depart="09:00", wishlist=["Citadel"], size=2)  # 2 xe ôm
    model.start()
    env.run()
    classes = [c for *_, c in roads.sent]
    # there and back again for each party
    assert classes.count("bus") == 2 and classes.count("car") == 4
    assert classes.count("motorbike") == 4
    modes = model.trips_table().groupby("party_id")["mode"].first().tolist()
    assert modes == ["tour_bus", "taxi", "xe_om"]


class FloodedRoads(FreeFlowRoads):
    """Roads on which no vehicle can reach its destination; each finds out after its own
    delay (seconds), as vehicles of one party do on a congested road."""

    def __init__(self, env, network, *, delays):
        super().__init__(env, network)
        self.delays = list(delays)

    def drive(self, origin, destination, *, vehicle_class="car"):
        return self.env.process(self._fail(self.delays.pop(0), origin, destination))

    def _fail(self, delay, origin, destination):
        yield self.env.timeout(delay)
        raise UnreachableError(f"no open road from {origin} to {destination}")


def test_a_party_whose_vehicles_cannot_get_there_walks_instead(grid, table):
    # two xe ôm for a party of two; the second finds the road cut a minute after the first
    env = simpy.Environment()
    roads = FloodedRoads(env, grid.drive, delays=[10.0, 70.0, 10.0, 70.0])
    _, model = make(grid, table, roads=roads, xe_om_share=1.0, xe_om_max_party=2)
    model.add_party("Hotel A", depart="09:00", wishlist=["Citadel"], size=2)
    model.start()
    env.run()  # the second failure is nobody's to handle: it must not stop the run
    trips = model.trips_table()
    assert trips["mode"].tolist() == ["walk", "walk"] and trips["vehicles"].sum() == 0
    visits = model.visits_table()
    assert visits["site"].tolist() == ["Citadel", "Citadel"] and not visits["missed"].any()


# -- closing time and crowding ---------------------------------------------------------------


def test_a_party_delayed_past_last_entry_misses_the_site(grid, tmp_path):
    path = tmp_path / "late.csv"
    path.write_text(HEADER + "\nCitadel,,Citadel,attraction,,,1,08:00,17:00,30,20,2,100,\n")
    env = simpy.Environment()
    roads = RecordingRoads(env, grid.drive, delay=1800.0)
    _, model = make(grid, path, roads=roads)
    # planned: leave 16:00, taxi 380 s, in by 16:06:20 (last entry 16:30); traffic adds 30 min
    model.add_party("Hotel A", depart="16:00", wishlist=["Citadel"])
    model.start()
    env.run()
    visit = model.visits_table().iloc[0]
    assert visit["missed"] and visit["missed_reason"] == "closed"
    assert visit["arrive"] == 16 * 3600 + 380 + 1800 and np.isnan(visit["enter"])
    assert model.kpis()["visits_missed_closed"] == 1


def test_crowding_limits_are_never_exceeded(grid, tmp_path):
    rows = [
        "Citadel,,Citadel,attraction,,,100,07:00,17:00,0,15,6,4,",
        "Pagoda,,Pagoda,pagoda_temple,,,80,07:00,17:00,0,10,,3,",
    ]
    path = tmp_path / "tiny.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    env, model = make(
        grid, path, seed=4, tourists_per_day=120, tour_group_share=0.0, party_size_max=3,
        depart_sd_min=20.0, patience_s=900.0, walk_max_m=2000.0, sites_min=1, sites_max=2,
    )  # fmt: skip
    model.start()
    env.run()
    occupancy = model.occupancy_table()
    assert len(occupancy) > 50
    limits = {"Citadel": 4, "Pagoda": 3}
    for site, limit in limits.items():
        series = occupancy.loc[occupancy["site"] == site, "occupancy"]
        assert series.max() == limit  # the limit is reached ...
        assert (series <= limit).all()  # ... and never exceeded
        assert (series >= 0).all()
    visits = model.visits_table()
    crowded = visits[visits["missed_reason"] == "crowded"]
    assert len(crowded) > 0
    assert np.allclose(crowded["crowd_wait"], 900.0)  # they waited their full patience
    entered = visits[~visits["missed"]]
    assert (entered["crowd_wait"] <= 900.0).all() and (entered["crowd_wait"] > 0).any()
    summary = model.site_summary().set_index("site")
    assert summary.loc["Citadel", "peak_occupancy"] == 4
    assert summary.loc["Citadel", "peak_occupancy_share"] == 1.0
    assert summary["missed_crowded"].sum() == len(crowded)


def test_a_party_larger_than_the_site_gives_up_and_does_not_block_others(grid, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(HEADER + "\nCitadel,,Citadel,attraction,,,1,08:00,17:00,0,30,,2,\n")
    env, model = make(grid, path, walk_max_m=1000.0, patience_s=600.0)
    model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"], size=3)
    model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"], size=2)
    model.start()
    env.run()
    visits = model.visits_table()
    big, small = visits[visits["party_id"] == 0], visits[visits["party_id"] == 1]
    assert (big["missed_reason"] == "crowded").all() and (big["leave"] == 29600 + 600).all()
    # the pair waits behind the big party (first come, first served) until it gives up
    assert (~small["missed"]).all() and (small["enter"] == 29600 + 600).all()


# -- population, reproducibility, outputs ----------------------------------------------------


def test_runs_are_reproducible_by_seed(grid, table):
    def run(seed):
        env, model = make(
            grid, table, seed=seed, tourists_per_day=150, visit_cv=0.3, xe_om_share=0.4,
            boat_share=0.5,
        )  # fmt: skip
        model.start()
        env.run()
        return model.visits_table(), model.trips_table()

    a, b, c = run(11), run(11), run(12)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[0].equals(c[0])


def test_the_day_population_is_drawn_from_lodging_by_type_and_size(grid, table):
    env, model = make(grid, table, seed=2, tourists_per_day=2000, tour_group_share=0.0)
    model.start()
    parties = model.population.parties
    assert sum(p.size for p in parties) == 2000
    from_hotel = np.mean([p.home == model.places.lodging_place(0) for p in parties])
    # the hotel weighs 1.3 x 40 rooms, the hostel 0.7 x 24 beds
    expected = 52.0 / (52.0 + 16.8)
    assert from_hotel == pytest.approx(expected, abs=0.04)
    by_zone = model.tourists_by_zone(now=False)
    assert by_zone.sum() == 2000 and list(by_zone.index) == [0, 1, 2, 3]
    env.run(until=9 * 3600)
    now = model.tourists_by_zone()
    assert now.sum() == 2000 and not now.equals(
        by_zone
    )  # some are out sightseeing  # wherever they are, all are counted


def test_festival_and_scale_multiply_the_days_tourists(grid, table):
    _, model = make(
        grid, table, tourists_per_day=400, scale=0.5, festival=True, festival_multiplier=2.0,
        tour_group_size=20, tour_group_share=0.5,
    )  # fmt: skip
    model.start()
    kinds = [(p.tour, p.size) for p in model.population.parties]
    assert sum(size for _, size in kinds) == 400
    assert sum(1 for tour, _ in kinds if tour) == 10  # 200 of 400 in groups of 20


def test_kpi_keys_and_table_columns(grid, table):
    env, model = make(grid, table, seed=5, tourists_per_day=60)
    model.start()
    env.run()
    kpis = model.kpis()
    required = {
        "tourists_total", "visits_total", "gate_wait_mean_s", "gate_wait_p90_s",
        "visits_missed", "travel_time_share",
    }  # fmt: skip
    assert required <= set(kpis)
    assert all(isinstance(v, int | float) and np.isfinite(v) for v in kpis.values())
    assert kpis["tourists_total"] == 60 and 0 < kpis["travel_time_share"] < 1
    visits = model.visits_table()
    assert list(visits.columns) == list(VISIT_COLUMNS)
    assert visits["tourist_id"].between(0, 59).all()
    assert set(visits["missed_reason"].dropna()) <= {"closed", "crowded"}
    done = visits[~visits["missed"]]
    assert (done["arrive"] <= done["enter"]).all() and (done["enter"] <= done["leave"]).all()
    summary = model.site_summary()
    assert {"visits_per_hour", "peak_occupancy", "capacity"} <= set(summary.columns)
    hourly = model.visits_by_hour()
    assert hourly["visits"].sum() == len(done)


def test_a_window_that_starts_late_starts_tourists_then(grid, table):
    env, model = make(grid, table, start=10 * 3600)
    model.add_party("Hotel A", depart="08:00", wishlist=["Pagoda"])
    model.start()
    env.run()
    assert model.trips_table().iloc[0]["depart"] == 10 * 3600


# -- the planner -----------------------------------------------------------------------------


def test_the_planner_orders_by_earliest_finish_and_drops_what_does_not_fit():
    # three sites; site 2 opens at 18:00 (an evening site), site 1 closes early
    opens = np.array([8 * 3600.0, 7 * 3600.0, 18 * 3600.0])
    closes = np.array([17 * 3600.0, 9 * 3600.0, 23 * 3600.0])
    visit = np.array([3600.0, 1800.0, 3600.0])
    to_site = np.full((4, 3), 600.0)
    to_site[[0, 1, 2], [0, 1, 2]] = 0.0
    plan = plan_itinerary(
        [2, 0, 1], start=8 * 3600, return_by=22 * 3600, to_site=to_site,
        to_home=np.full(3, 600.0), opens=opens, last_entry=closes, closes=closes, visit=visit,
    )  # fmt: skip
    assert [s.site for s in plan] == [1, 0, 2]
    assert plan[0].start == 8 * 3600 + 600 and plan[1].start == plan[0].finish + 600
    assert plan[2].start == 18 * 3600 and plan[2].depart == 18 * 3600 - 600
    late = plan_itinerary(
        [2, 0, 1], start=8 * 3600, return_by=19 * 3600, to_site=to_site,
        to_home=np.full(3, 600.0), opens=opens, last_entry=closes, closes=closes, visit=visit,
    )  # fmt: skip
    assert [s.site for s in late] == [1, 0]  # the evening site ends after return_by


def test_reverse_csr_reverses_every_edge(grid):
    net = grid.drive
    indptr, indices, weights = reverse_csr(net.indptr, net.indices, np.arange(net.n_edges))
    forward = {
        (int(t), int(h), int(w))
        for t, h, w in zip(net.tail, net.indices, range(net.n_edges), strict=True)
    }
    tails = np.repeat(np.arange(net.n_nodes), np.diff(indptr))
    backward = {(int(h), int(t), int(w)) for t, h, w in zip(tails, indices, weights, strict=True)}
    assert forward == backward


def test_place_times_are_network_distances(grid):
    times = PlaceTimes.build(
        walk=grid.walk, drive=grid.drive, drive_times=grid.drive.free_flow_time,
        walk_nodes=np.array([12, 1, 4]), drive_nodes=np.array([12, 1, 4]), n_sites=2,
        walk_cutoff_m=700.0,
    )  # fmt: skip
    assert times.walk_m(2, 0) == 800.0 or np.isinf(times.walk_m(2, 0))
    assert np.isinf(times.walk_m(2, 0))  # beyond the 700 m cut-off
    assert times.walk_m(1, 0) == 600.0 and times.walk_m(0, 2) == np.inf
    assert times.drive_s(2, 0) == 80.0 and times.drive_s(0, 2) == 80.0
    assert times.drive_s(1, 1) == 0.0


# -- bad input -------------------------------------------------------------------------------


def test_parameters_match_their_documented_defaults():
    prm = load_tourist_params()
    assert prm == replace(prm)  # loads
    from sim.tourists.params import TouristParams

    assert prm == TouristParams()
    assert prm.tourists_today == 10000
    assert load_tourist_params(festival=True).tourists_today == 20000


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"tour_group_share": 1.5}, "tour_group_share is 1.5"),
        ({"walk_speed_ms": 0}, "walk_speed_ms is 0"),
        ({"sites_min": 3, "sites_max": 2}, "sites_max (2) is below sites_min (3)"),
        ({"return_by": "25:00"}, "later than 24:00:00"),
        ({"walking_speed": 1.0}, "unknown parameters ['walking_speed']"),
    ],
)
def test_bad_parameters_are_refused(override, fragment):
    with pytest.raises(ConfigError) as info:
        load_tourist_params(**override)
    assert fragment in str(info.value)


def test_a_parameter_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "tourists.toml"
    path.write_text("[demand]\nscale = 0.25\n[other_sites]\nenabled = false\n")
    prm = load_tourist_params(path)
    assert prm.scale == 0.25 and prm.other_sites is None and prm.walk_max_m == 1000
    path.write_text("[other_sites]\nmax_sites = 3\n")
    other = load_tourist_params(path).other_sites
    assert other.max_sites == 3 and "pagoda_temple" in other.categories


def test_bad_parties_are_refused(grid, table):
    _, model = make(grid, table)
    assert model.skipped is None
    with pytest.raises(TouristsError, match="not a hotel, hostel or guest house"):
        model.add_party("Hotel Z", depart="08:00", wishlist=["Citadel"])
    with pytest.raises(TouristsError, match=r"not among the simulated sites; did you mean"):
        model.add_party("Hotel A", depart="08:00", wishlist=["Citadell"])


def _no_lodging(grid):
    """The grid without its hotel and hostel (a GMNS network has no POIs at all)."""
    return replace(grid, pois=grid.pois[~grid.pois["category"].isin(["hotel", "hostel"])])


@pytest.mark.parametrize(
    ("city", "without", "fragment"),
    [
        (_no_lodging, "nothing", "no hotel, hostel or guest house POIs"),
        (lambda grid: grid, "sites", "no tourist sites"),
        (_no_lodging, "sites", "no hotel, hostel or guest house POIs and no tourist sites"),
    ],
    ids=["no lodging", "no sites", "neither"],
)
def test_a_city_with_nothing_for_tourists_is_skipped_with_one_warning(
    grid, table, caplog, city, without, fragment
):
    city = city(grid)
    attractions = table
    if without == "sites":  # a resolved site table with no rows
        attractions = resolve_attractions(grid, table).iloc[0:0]
    with caplog.at_level(logging.WARNING):
        env, model = make(city, attractions, tourists_per_day=500)
        with pytest.raises(TouristsError, match="cannot add a party: city 'grid 5x5' has no"):
            model.add_party(0, depart="08:00", wishlist=[])
        model.start()
        env.run()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and fragment in warnings[0].getMessage()
    assert model.skipped is not None and fragment in model.skipped
    assert "no tourists are simulated: city 'grid 5x5' has no" in warnings[0].getMessage()
    kpis = model.kpis()
    counts = {k: v for k, v in kpis.items() if k.endswith(("_total", "_trips")) or "missed" in k}
    assert len(counts) == 7
    assert counts and all(v == 0 and isinstance(v, int) for v in counts.values())
    assert all(np.isfinite(v) for v in kpis.values())
    assert model.visits_table().empty and model.trips_table().empty
    assert model.tourists_by_zone().sum() == 0


def test_a_run_notes_that_its_tourists_were_skipped(grid):
    city = _no_lodging(grid)
    spec = build_spec(
        city, seed=1, start="06:00", end="12:00", traffic="free_flow", emergency=False
    )
    result = run(city, spec)
    assert "tourists not simulated: city 'grid 5x5' has no hotel" in " ".join(result.kpis["notes"])
    assert result.kpis["tourists_total"] == 0 and result.visits.empty


def test_the_attraction_table_can_come_from_the_parameters(grid, table):
    env = simpy.Environment()
    roads = FreeFlowRoads(env, grid.drive)
    model = Tourists(
        env, grid, roads, rng=np.random.default_rng(0),
        params={"attractions_table": str(table), "tourists_per_day": 0},
    )  # fmt: skip
    assert list(model.sites.table["site"]) == ["Citadel", "Pagoda", "Market", "Boats"]


@pytest.mark.hue
def test_a_small_tourist_day_in_hue(hue_city):
    env = simpy.Environment(initial_time=6 * 3600)
    roads = FreeFlowRoads(env, hue_city.drive)
    model = Tourists(
        env, hue_city, roads, rng=np.random.default_rng(1),
        params={"tourists_per_day": 60, "other_sites": None},
    )  # fmt: skip
    model.start()
    env.run(until=24 * 3600)
    kpis = model.kpis()
    assert kpis["tourists_total"] == 60 and kpis["visits_total"] > 60
    assert 0 < kpis["travel_time_share"] < 0.5
    summary = model.site_summary().set_index("site")
    assert summary.loc["Imperial City", "visits"] > 0
    assert (summary["peak_occupancy"] <= summary["capacity"]).all()
    assert model.tourists_by_zone().sum() == 60
