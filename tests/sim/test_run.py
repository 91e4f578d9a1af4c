"""run_day: one clock, one seed, reproducible runs, merged KPIs and a manifest."""

from __future__ import annotations

import itertools
import sys
import types

import numpy as np
import pandas as pd
import pytest

from sim.roads import FreeFlowRoads
from sim.runner import STREAMS, TRAFFIC_KPIS, TRIP_COLUMNS, RunError, RunResult, run_day
from twin.errors import TripsError, TwinError


# -- a free-flow stand-in, used only while sim.traffic.engine is not in the tree ------------
class FreeFlowTraffic(FreeFlowRoads):
    """The Traffic contract on free-flow roads, with a random departure jitter so that the
    seed matters. Only for these tests, until ``sim.traffic.engine`` lands."""

    def __init__(self, env, network, trips, *, vehicles=None, rng, params=None):
        factor = {} if vehicles is None else vehicles["speed_factor"].to_dict()
        super().__init__(env, network, speed_factor=factor)
        self.trips = trips.reset_index(drop=True)
        self.rng = rng
        self.records = []
        self.closed = []

    def start(self, until):
        return self.env.process(self._run(until))

    def _run(self, until):
        for row in self.trips.itertuples(index=False):
            depart = row.depart + self.rng.uniform(0, 30)
            if depart > self.env.now:
                yield self.env.timeout(depart - self.env.now)
            self.env.process(self._one(row, until))

    def _one(self, row, until):
        journey = yield self.drive(row.origin, row.destination, vehicle_class=row.vehicle_class)
        free = float(journey.travel_time)
        self.records.append((row.trip_id, row.origin, row.destination, journey, free))

    def close_edges(self, edges, *, at=None):
        self.closed.append((list(edges), at))

    def vehicle_km(self):
        return sum(j.distance for *_, j, _ in self.records) / 1000

    def trips_table(self):
        done = {r[0]: r for r in self.records}
        rows = []
        for t in self.trips.itertuples(index=False):
            r = done.get(t.trip_id)
            rows.append(
                {
                    "trip_id": t.trip_id,
                    "origin": t.origin,
                    "destination": t.destination,
                    "depart": r[3].depart if r else t.depart,
                    "arrive": r[3].arrive if r else np.nan,
                    "travel_time": r[3].travel_time if r else np.nan,
                    "distance": r[3].distance if r else np.nan,
                    "delay": 0.0 if r else np.nan,
                    "vehicle_class": t.vehicle_class,
                    "source": "demand",
                }
            )
        return pd.DataFrame(rows)

    def links_table(self, interval=900):
        return pd.DataFrame(
            {
                "edge": np.arange(self.network.n_edges),
                "interval_start": 0.0,
                "entries": 0,
                "mean_speed_kmh": self.network.speed * 3.6,
                "density_pcu_per_km": 0.0,
                "queue_pcu": 0.0,
            }
        )

    def kpis(self):
        t = self.trips_table()
        done = t["arrive"].notna()
        hours = t.loc[done, "travel_time"].sum() / 3600
        return {
            "trips_total": len(t),
            "trips_completed": int(done.sum()),
            "trips_unfinished": int((~done).sum()),
            "trips_unroutable": 0,
            "vehicle_km": self.vehicle_km(),
            "vehicle_hours": hours,
            "mean_speed_kmh": self.vehicle_km() / hours if hours else float("nan"),
            "total_delay_h": 0.0,
            "co2_kg": 0.0,
            "co2_kg_by_class": {},
            "gridlock": False,
        }


@pytest.fixture
def traffic_engine(monkeypatch):
    """The real ``sim.traffic.engine.Traffic`` when it exists, else the free-flow stand-in."""
    try:
        import sim.traffic.engine  # noqa: F401
    except ModuleNotFoundError:
        module = types.ModuleType("sim.traffic.engine")
        module.Traffic = FreeFlowTraffic
        monkeypatch.setitem(sys.modules, "sim.traffic.engine", module)
    return sys.modules["sim.traffic.engine"].Traffic


def grid_trips(city, n=40, *, start=6 * 3600.0, end=6.5 * 3600.0, seed=3):
    rng = np.random.default_rng(seed)
    origin = rng.integers(0, city.drive.n_nodes, n)
    destination = (origin + rng.integers(1, city.drive.n_nodes, n)) % city.drive.n_nodes
    return pd.DataFrame(
        {
            "trip_id": np.arange(n, dtype=np.int64),
            "origin": origin,
            "destination": destination,
            "depart": np.sort(rng.uniform(start, end - 600, n)),
            "vehicle_class": rng.choice(["motorbike", "car"], n, p=[0.8, 0.2]),
        }
    )


def _run(city, trips, seed, **kw):
    kw.setdefault("tourists", False)
    kw.setdefault("emergency", False)
    return run_day(city, trips=trips, seed=seed, start=6 * 3600.0, end=7 * 3600.0, **kw)


def test_same_seed_same_outputs_other_seed_differs(grid, traffic_engine):
    # synthesised demand: the whole run is a function of (city, seed)
    a = _run(grid, None, seed=7, scale=0.2)
    b = _run(grid, None, seed=7, scale=0.2)
    c = _run(grid, None, seed=8, scale=0.2)
    assert len(a.trips) > 50
    pd.testing.assert_frame_equal(a.trips, b.trips)
    pd.testing.assert_frame_equal(a.links, b.links)
    assert a.kpis == b.kpis
    assert a.manifest["trips"]["sha256"] == b.manifest["trips"]["sha256"]
    assert a.manifest["trips"]["sha256"] != c.manifest["trips"]["sha256"]
    assert not a.trips.equals(c.trips)


def test_given_trips_seed_drives_the_engine(grid, traffic_engine):
    trips = grid_trips(grid)
    params = {"depart_jitter_s": 30.0}
    a = _run(grid, trips, seed=7, traffic_params=params)
    b = _run(grid, trips, seed=7, traffic_params=params)
    c = _run(grid, trips, seed=8, traffic_params=params)
    pd.testing.assert_frame_equal(a.trips, b.trips)
    assert not np.allclose(a.trips["arrive"], c.trips["arrive"])


def test_output_contract_is_the_one_issue_4_states():
    """The one place the contract is written out; other tests use the constants."""
    trips_parquet = [
        "trip_id",
        "origin",
        "destination",
        "depart",
        "arrive",
        "travel_time",
        "distance",
        "delay",
        "vehicle_class",
    ]
    assert tuple(trips_parquet) == TRIP_COLUMNS
    kpis_json = [
        "trips_total",
        "trips_completed",
        "trips_unfinished",
        "vehicle_km",
        "vehicle_hours",
        "mean_speed_kmh",
        "total_delay_h",
    ]
    assert set(kpis_json) == set(TRAFFIC_KPIS)


def test_result_has_contract_columns_and_node_ids(grid, traffic_engine):
    trips = grid_trips(grid)
    result = _run(grid, trips, seed=1)
    assert isinstance(result, RunResult)
    assert tuple(result.trips.columns) == TRIP_COLUMNS
    assert len(result.trips) == len(trips)
    # origins are reported as the network's node ids (grid ids are positions + 1)
    assert set(result.trips["origin"]) <= set(grid.drive.node_id.tolist())
    np.testing.assert_array_equal(
        np.sort(result.trips["origin"].to_numpy()),
        np.sort(grid.drive.node_id[trips["origin"].to_numpy()]),
    )
    done = result.trips["arrive"].notna()
    assert done.all()  # an hour is ample for a 1 km grid
    np.testing.assert_allclose(
        result.trips["travel_time"], result.trips["arrive"] - result.trips["depart"]
    )
    for key in TRAFFIC_KPIS:
        assert key in result.kpis
    assert result.kpis["trips_total"] == len(trips)
    assert result.kpis["trips_completed"] + result.kpis["trips_unfinished"] == len(trips)


def test_manifest_records_seed_window_city_and_code(grid, traffic_engine):
    trips = grid_trips(grid)
    result = _run(grid, trips, seed=5, traffic_params={"reroute_s": 300.0})
    m = result.manifest
    assert m["seed"] == 5
    assert m["window"]["start"] == 6 * 3600.0 and m["window"]["end"] == 7 * 3600.0
    assert m["window"]["start_clock"] == "06:00:00"
    assert len(m["city"]["network_sha256"]) == 64
    assert m["city"]["drive_edges"] == grid.drive.n_edges
    assert m["parts"] == {"traffic": True, "tourists": False, "emergency": False}
    assert m["parameters"]["traffic"] == {"reroute_s": 300.0}
    assert m["trips"]["count"] == len(trips) and len(m["trips"]["sha256"]) == 64
    assert m["code"]["package"] == "hue-twin" and m["code"]["version"]
    # another trips table → another checksum
    other = _run(grid, grid_trips(grid, seed=4), seed=5)
    assert other.manifest["trips"]["sha256"] != m["trips"]["sha256"]
    assert other.manifest["city"]["network_sha256"] == m["city"]["network_sha256"]


def test_progress_reports_the_simulated_clock(grid, traffic_engine):
    seen = []
    _run(grid, grid_trips(grid), seed=1, progress=seen.append)
    assert seen[0] == 6 * 3600.0
    assert seen[-1] == 7 * 3600.0
    assert all(b > a for a, b in itertools.pairwise(seen))
    assert len(seen) >= 12  # every 5 simulated minutes over an hour


def test_closures_are_handed_to_the_engine(grid, traffic_engine, monkeypatch):
    calls = []
    original = traffic_engine.close_edges

    def spy(self, edges, *, at=None):
        calls.append((list(np.asarray(edges)), at))
        return original(self, edges, at=at)

    monkeypatch.setattr(traffic_engine, "close_edges", spy)
    result = _run(grid, grid_trips(grid), seed=1, closures=[([0, 1], 6.25 * 3600), ([5], None)])
    assert calls == [([0, 1], 6.25 * 3600), ([5], None)]
    assert result.manifest["closures"][0] == {"edges": [0, 1], "at": 6.25 * 3600}


def test_streams_are_spawned_in_a_fixed_order():
    assert STREAMS == ("demand", "traffic", "tourists", "emergency")


@pytest.mark.parametrize(
    ("start", "end"),
    [(7 * 3600.0, 6 * 3600.0), (6 * 3600.0, 6 * 3600.0), (-5.0, 3600.0), (0.0, 3 * 86400.0)],
)
def test_bad_window_is_a_clear_error(grid, start, end):
    with pytest.raises(RunError, match="window"):
        run_day(grid, trips=grid_trips(grid), seed=1, start=start, end=end)


def test_bad_scale_and_closures(grid):
    with pytest.raises(RunError, match="scale"):
        run_day(grid, seed=1, scale=0.0)
    with pytest.raises(RunError, match="outside the drive network"):
        run_day(grid, trips=grid_trips(grid), seed=1, closures=[([10_000], None)])


def test_trips_outside_the_window_or_network(grid, traffic_engine):
    trips = grid_trips(grid)
    late = trips.assign(depart=trips["depart"] + 2 * 3600)
    with pytest.raises(TripsError, match="departures outside"):
        _run(grid, late, seed=1)
    bad = trips.assign(origin=trips["origin"] + 1000)
    with pytest.raises(TripsError, match="outside the drive network"):
        _run(grid, bad, seed=1)
    with pytest.raises(TripsError, match="lacks columns"):
        _run(grid, trips.drop(columns="vehicle_class"), seed=1)
    assert issubclass(TripsError, TwinError) and issubclass(TripsError, ValueError)


def test_extra_stations_reach_the_emergency_model(grid, traffic_engine):
    from sim.emergency.stations import station_at

    station = station_at(grid, "ambulance", node=12, units=1, name="New station")
    result = _run(grid, grid_trips(grid), seed=1, emergency=True, extra_stations=[station])
    assert result.incidents is not None
    assert result.kpis["units_total"]["ambulance"] >= 1
    assert result.manifest["extra_stations"][0]["name"] == "New station"
    assert result.manifest["parts"]["emergency"] is True


def test_parameter_objects_are_passed_through_and_recorded(grid, traffic_engine):
    from sim.traffic.params import TrafficParams

    params = TrafficParams(reroute_s=120.0)
    result = _run(grid, grid_trips(grid), seed=1, traffic_params=params)
    assert result.manifest["parameters"]["traffic"]["reroute_s"] == 120.0
    assert result.kpis["trips_total"] == 40


def test_scaled_demand_tells_the_crash_model_its_scale(grid, monkeypatch):
    import sim.emergency.model
    from sim.runner import run_day

    seen = []
    original = sim.emergency.model.Emergency.__init__

    def spy(self, *args, params=None, **kwargs):
        seen.append(params)
        original(self, *args, params=params, **kwargs)

    monkeypatch.setattr(sim.emergency.model.Emergency, "__init__", spy)
    run_day(grid, seed=3, scale=0.25, start=6 * 3600, end=7 * 3600, tourists=False)
    run_day(
        grid,
        seed=3,
        scale=0.25,
        start=6 * 3600,
        end=7 * 3600,
        tourists=False,
        emergency_params={"demand": {"traffic_scale": 0.5}},
    )
    assert seen[0]["demand"]["traffic_scale"] == 0.25
    assert seen[1]["demand"]["traffic_scale"] == 0.5  # the caller's value wins
