"""The Traffic API: records, injected vehicles, emergency vehicles, closures, bad input,
and agreement of the compiled and reference movement kernels."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
import simpy

import kernels.traffic as kt
from sim.roads import Journey, UnreachableError
from sim.traffic.engine import Traffic
from twin.errors import ConfigError, TripsError, TwinError
from twin.synthetic import grid_network

from .test_traffic_theory import chain, close_at, run, trips_frame


def random_trips(net, k, *, seed=0, horizon=1800.0, classes=("motorbike", "car", "bus")):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "trip_id": np.arange(k) + 100,
            "origin": rng.integers(0, net.n_nodes, k),
            "destination": rng.integers(0, net.n_nodes, k),
            "depart": np.sort(rng.uniform(0, horizon, k)).round(),
            "vehicle_class": rng.choice(list(classes), k),
        }
    )


# -- records ---------------------------------------------------------------------------


def test_records_and_kpis_are_consistent():
    net = grid_network(5, 5, capacity_per_lane=600.0)
    trips = random_trips(net, 1500)
    traffic = run(net, trips, until=5400)
    table = traffic.trips_table()
    kpis = traffic.kpis()
    assert list(table.columns[:5]) == ["trip_id", "origin", "destination", "depart", "arrive"]
    assert sorted(table["trip_id"]) == sorted(trips["trip_id"])
    assert kpis["trips_total"] == 1500
    assert kpis["trips_completed"] == (table["status"] == "arrived").sum() == 1500
    assert kpis["vehicle_km"] == pytest.approx(table["distance"].sum() / 1000.0)
    assert kpis["vehicle_km"] == pytest.approx(traffic.vehicle_km().sum())
    assert kpis["vehicle_hours"] == pytest.approx(table["travel_time"].sum() / 3600.0)
    assert kpis["total_delay_h"] == pytest.approx(table["delay"].sum() / 3600.0)
    assert (table["delay"] >= -1e-9).all()
    assert kpis["mean_speed_kmh"] == pytest.approx(kpis["vehicle_km"] / kpis["vehicle_hours"])
    by_class = table.groupby("vehicle_class")["distance"].sum() / 1000.0
    factors = traffic.vehicles["co2_g_per_km"]
    for name, vkm in by_class.items():
        assert kpis["co2_kg_by_class"][name] == pytest.approx(vkm * factors[name] / 1000.0)
    assert kpis["co2_kg"] == pytest.approx(sum(kpis["co2_kg_by_class"].values()))
    # links: entries add up to the link traversals, speeds never beat free flow
    links = traffic.links_table()
    assert links["entries"].sum() == kpis["link_traversals"]
    assert (links["interval_start"] % 900 == 0).all()
    assert (links["mean_speed_kmh"].dropna() <= 36.0 + 1e-9).all()
    assert (links["density_pcu_per_km"] >= 0).all()
    half_hours = traffic.links_table(interval=1800.0)
    assert half_hours["entries"].sum() == links["entries"].sum()
    assert set(half_hours["interval_start"] % 1800) == {0.0}
    with pytest.raises(ValueError, match="multiple"):
        traffic.links_table(interval=600.0)


def test_released_routes_keep_the_records_and_refuse_to_move():
    net = grid_network(5, 5, capacity_per_lane=600.0)
    traffic = run(net, random_trips(net, 400), until=3600)
    before = (traffic.trips_table(), traffic.links_table(), traffic.kpis())
    traffic.release_routes()
    assert traffic.routes is None and traffic.state.next_edge.size == 0
    pd.testing.assert_frame_equal(traffic.trips_table(), before[0])
    pd.testing.assert_frame_equal(traffic.links_table(), before[1])
    assert traffic.kpis() == before[2]
    with pytest.raises(TwinError, match="released"):
        traffic.drive(0, 24)
    with pytest.raises(TwinError, match="released"):
        traffic._advance(traffic.now + 10.0)


def test_density_matches_little_law_on_one_link():
    # one vehicle every 10 s on a 1 km link at 10 m/s: 10 vehicles on it, 10 PCU/km
    net = chain([1000.0, 100.0])
    depart = np.arange(0.0, 3600.0, 10.0)
    links = run(net, trips_frame(0, 2, depart), until=3600.0).links_table()
    steady = links[(links["edge"] == 0) & (links["interval_start"] >= 900)]
    np.testing.assert_allclose(steady["density_pcu_per_km"], 10.0, rtol=0.02)
    np.testing.assert_allclose(steady["mean_speed_kmh"], 36.0, rtol=1e-9)
    assert (steady["entries"] == 90).all()


def test_unfinished_trips_and_window():
    net = chain([2000.0])
    trips = trips_frame(0, 1, [0.0, 100.0, 5000.0])
    kpis = (traffic := run(net, trips, until=150.0)).kpis()
    assert kpis["trips_completed"] == 0
    assert kpis["trips_unfinished"] == 3
    assert kpis["trips_on_network"] == 2
    assert kpis["vehicle_hours"] == pytest.approx((150.0 + 50.0) / 3600.0)
    table = traffic.trips_table()
    assert table["arrive"].isna().all()


# -- closures and unreachable trips --------------------------------------------------


@pytest.mark.parametrize("budget", [0, 1])
def test_closure_reroutes_everyone_at_once(budget):
    net = grid_network(3, 3)  # 0-1-2 / 3-4-5 / 6-7-8, 20 s a block
    tail = net.tail
    direct = int(np.flatnonzero((tail == 0) & (net.indices == 1))[0])
    depart = np.arange(0.0, 1200.0, 10.0)
    trips = pd.concat([trips_frame(0, 2, depart), trips_frame(3, 8, depart)], ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    traffic = Traffic(
        env, net, trips, rng=np.random.default_rng(0), params={"refresh_max_rows": budget}
    )
    close_at(traffic, [direct], 600.0)
    traffic.start(2400)
    env.run(until=2400)
    table = traffic.trips_table()
    assert (table["status"] == "arrived").all()
    table = table[table["origin"] == 0]
    before = table[table["depart"] < 600.0]
    after = table[table["depart"] >= 600.0]
    assert (before["distance"] == 400.0).all()
    assert (after["distance"] == 800.0).all()  # the detour 0-3-4-1-2 or 0-3-4-5-2
    assert traffic.link_times()[direct] == np.inf


def test_unreachable_destinations_are_counted_not_a_crash():
    net = chain([100.0, 100.0])  # one way: 0 -> 1 -> 2
    trips = trips_frame([0, 2, 1], [2, 0, 2], [0.0, 0.0, 0.0])
    kpis = run(net, trips, until=600.0).kpis()
    assert kpis["trips_unroutable"] == 1
    assert kpis["trips_completed"] == 2


def test_closing_the_only_road_strands_vehicles_on_the_way():
    net = chain([100.0, 100.0, 100.0])
    env = simpy.Environment()
    traffic = Traffic(env, net, trips_frame(0, 3, [0.0, 100.0]), rng=np.random.default_rng(0))
    close_at(traffic, [2], 5.0)
    traffic.start(600)
    env.run(until=600)
    table = traffic.trips_table()
    assert list(table["status"]) == ["stranded", "unroutable"]
    assert traffic.kpis()["trips_unroutable"] == 2


# -- injected vehicles ----------------------------------------------------------------


def test_drive_returns_a_journey_at_arrival():
    net = grid_network(4, 4)
    env = simpy.Environment()
    traffic = Traffic(env, net, trips_frame(0, 0, []), rng=np.random.default_rng(0))
    traffic.start(3600)
    seen = []

    def taxi():
        yield env.timeout(100.0)
        journey = yield traffic.drive(0, 15, vehicle_class="car")
        seen.append((journey, env.now))

    env.process(taxi())
    env.run(until=3600)
    ((journey, when),) = seen
    assert isinstance(journey, Journey)
    assert journey.depart == 100.0
    assert journey.travel_time == pytest.approx(6 * 20.0, rel=1e-12)
    assert journey.distance == 1200.0
    assert journey.arrive <= when <= journey.arrive + traffic.params.step_s
    table = traffic.trips_table()
    assert list(table["source"]) == ["injected"]
    assert traffic.kpis()["injected_completed"] == 1


def test_drive_to_an_unreachable_node_fails_the_event():
    net = chain([100.0])
    env = simpy.Environment()
    traffic = Traffic(env, net, trips_frame(0, 0, []), rng=np.random.default_rng(0))
    traffic.start(600)
    caught = []

    def go():
        try:
            yield traffic.drive(1, 0)
        except UnreachableError as exc:
            caught.append(exc)

    env.process(go())
    env.run(until=600)
    assert len(caught) == 1 and isinstance(caught[0], TwinError)


def test_emergency_vehicles_pass_queues_but_are_slowed_by_density():
    # a long queue at a 600 PCU/h bottleneck; an ambulance and a car join it at t=600
    net = chain([500.0, 500.0, 100.0], capacity=[7200.0, 600.0, 7200.0], jam_density=1000.0)
    depart = np.arange(0.0, 600.0, 2.0)
    env = simpy.Environment()
    traffic = Traffic(env, net, trips_frame(0, 3, depart), rng=np.random.default_rng(0))
    traffic.start(20000)
    journeys = {}

    def send(kind):
        yield env.timeout(600.0)
        journeys[kind] = yield traffic.drive(0, 3, vehicle_class=kind)

    env.process(send("emergency"))
    env.process(send("car"))
    env.run(until=20000)
    sf = traffic.vehicles.loc["emergency", "speed_factor"]
    free = 1100.0 / (10.0 * sf)
    ambulance, car = journeys["emergency"], journeys["car"]
    assert car.travel_time > 1000.0  # stuck behind ~300 vehicles at 10 per minute
    assert free < ambulance.travel_time <= 2 * free  # slowed, at most twice free flow
    assert ambulance.travel_time < car.travel_time / 5


# -- link times -----------------------------------------------------------------------


@pytest.mark.parametrize("waves", [False, True])
def test_link_times_add_queue_delay_to_free_flow(waves):
    net = chain([500.0, 500.0, 100.0], capacity=[7200.0, 360.0, 7200.0], jam_density=1000.0)
    depart = np.arange(0.0, 600.0, 2.5)  # 1440 veh/h: below link 1's mid-block 1800
    env = simpy.Environment()
    traffic = Traffic(
        env,
        net,
        trips_frame(0, 3, depart),
        rng=np.random.default_rng(0),
        params={"kinematic_waves": waves},
    )
    traffic.start(5000)
    free = traffic.link_times("car").copy()
    np.testing.assert_allclose(free, net.length / net.speed)
    env.run(until=400)
    times = traffic.link_times("car")
    # the queue stands at link 1's exit and moves at its 10 s per PCU
    queued = kt.queued_pcu(traffic.state, traffic.now)
    assert queued[1] > 50
    assert queued[0] <= 1.0
    assert times[1] == pytest.approx(free[1] + queued[1] * 10.0)
    assert traffic.link_times("motorbike")[2] == pytest.approx(free[2] / 0.9)


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"origin": 99}, "drive node positions"),
        ({"destination": -1}, "drive node positions"),
        ({"vehicle_class": "tuk-tuk"}, "no PCU"),
        ({"depart": -5.0}, "not before the simulation start"),
        ({"depart": np.nan}, "not before the simulation start"),
    ],
)
def test_bad_trips_raise_trips_error(change, message):
    net = grid_network(3, 3)
    trips = trips_frame(0, 8, [10.0])
    for column, value in change.items():
        trips[column] = value
    with pytest.raises(TripsError, match=message):
        Traffic(simpy.Environment(), net, trips, rng=np.random.default_rng(0))


def test_missing_columns_and_bad_params():
    net = grid_network(3, 3)
    with pytest.raises(TripsError, match="lack the columns"):
        Traffic(
            simpy.Environment(), net, pd.DataFrame({"origin": [0]}), rng=np.random.default_rng(0)
        )
    with pytest.raises(ConfigError, match="unknown traffic parameters"):
        Traffic(
            simpy.Environment(),
            net,
            trips_frame(0, 1, []),
            rng=np.random.default_rng(0),
            params={"step": 1},
        )
    with pytest.raises(ConfigError, match="step_s"):
        Traffic(
            simpy.Environment(),
            net,
            trips_frame(0, 1, []),
            rng=np.random.default_rng(0),
            params={"step_s": 0},
        )
    env = simpy.Environment()
    traffic = Traffic(env, net, trips_frame(0, 1, []), rng=np.random.default_rng(0))
    with pytest.raises(TwinError, match="edge positions"):
        traffic.close_links([net.n_edges])
    with pytest.raises(TripsError, match="no PCU"):
        traffic.drive(0, 1, vehicle_class="rickshaw")


def test_empty_trips_run():
    kpis = run(grid_network(3, 3), trips_frame(0, 1, []), until=600.0).kpis()
    assert kpis["trips_total"] == 0 and kpis["vehicle_km"] == 0.0


# -- backends ---------------------------------------------------------------------------


def _small_day(monkeypatch, backend):
    module = None if backend == "python" else importlib.import_module("kernels._traffic_cy")
    monkeypatch.setattr(kt, "compiled", lambda name: module)
    net = grid_network(6, 6, capacity_per_lane=300.0, jam_density=100.0)
    trips = random_trips(
        net, 2500, seed=4, horizon=1200.0, classes=("motorbike", "car", "bus", "emergency")
    )
    env = simpy.Environment()
    traffic = Traffic(env, net, trips, rng=np.random.default_rng(5), params={"refresh_s": 120.0})
    close_at(traffic, [3, 5, 7], 600.0)
    traffic.start(4000)

    def taxis():
        for k in range(10):
            yield env.timeout(50.0)
            env.process(_ride(traffic, k))

    env.process(taxis())
    env.run(until=4000)
    return traffic.trips_table(), traffic.links_table(), traffic.kpis()


def _ride(traffic, k):
    yield traffic.drive(k, 35 - k, vehicle_class="car" if k % 2 else "emergency")


def test_compiled_and_reference_kernels_agree(monkeypatch):
    pytest.importorskip("kernels._traffic_cy")
    compiled_run = _small_day(monkeypatch, "compiled")
    reference_run = _small_day(monkeypatch, "python")
    pd.testing.assert_frame_equal(compiled_run[0], reference_run[0])
    pd.testing.assert_frame_equal(compiled_run[1], reference_run[1])
    assert compiled_run[2] == reference_run[2]
    assert compiled_run[2]["injected_completed"] == 10


# -- routing refreshes ------------------------------------------------------------------


def test_quiet_roads_skip_route_refreshes():
    net = grid_network(4, 4)
    trips = trips_frame(0, 15, np.arange(0.0, 3600.0, 60.0))
    traffic = run(net, trips, until=3600.0, refresh_s=300.0)
    assert traffic.refreshes == 1  # the initial one; free-flowing traffic changes nothing
    assert traffic.refreshes_skipped == 11


def test_route_tables_stay_exact_trees_of_the_noted_times():
    """Rows repaired refresh after refresh equal rows grown afresh on the same weights."""
    import kernels

    net = grid_network(6, 6, capacity_per_lane=300.0, jam_density=100.0)
    trips = random_trips(net, 2500, seed=4, horizon=1800.0)
    traffic = run(net, trips, until=2400.0, refresh_s=60.0, refresh_max_rows=0)
    r = traffic.routes
    assert traffic.refreshes > 10 and r.rows_updated > 0 and r.nodes_updated > 0
    epochs = r.epoch_of_row[: r.n_rows]
    checked = 0
    for epoch in np.unique(epochs).tolist():
        if epoch not in r._history:
            continue
        rows = np.flatnonzero(epochs == epoch)
        weights = r._history[epoch][0]
        fresh, _ = kernels.next_hops(net.indptr, net.indices, weights, r.targets[rows])
        np.testing.assert_allclose(r.cost[rows], fresh, rtol=1e-12)
        checked += len(rows)
    assert checked == r.n_rows
    assert traffic.kpis()["trips_completed"] == 2500


def test_rows_behind_are_repaired_and_closures_make_them_due():
    from sim.traffic.routing import RouteTables

    net = grid_network(3, 3)
    tables = RouteTables(net, np.array([2, 6]), history=2)
    base = net.free_flow_time.copy()
    tables.update([base], np.arange(net.n_edges))
    assert tables.bring(np.arange(2)) == 2 and tables.rows_routed == 2
    edge = int(np.flatnonzero((net.tail == 0) & (net.indices == 1))[0])
    assert tables.table[0, 0] == edge
    slower = base.copy()
    slower[edge] = 1000.0
    tables.update([slower], np.array([edge]))
    assert tables.bring(np.array([0])) == 1  # repaired, not grown
    assert tables.rows_routed == 2 and tables.rows_updated == 1
    assert tables.table[0, 0] != edge
    assert tables.epoch_of_row[1] < tables.epoch and len(tables.due([1])) == 0
    # two epochs on, both rows are older than a history of two: grown again in full
    tables.update([slower * 1.5], np.arange(net.n_edges))
    tables.update([slower * 2.0], np.arange(net.n_edges))
    assert tables.bring(np.arange(2)) == 2
    assert tables.rows_routed == 4 and tables.rows_updated == 1
    # a closure makes every older row due
    closed = slower * 2.0
    closed[edge] = np.inf
    tables.update([closed], np.array([edge]), invalidate=True)
    assert tables.due(np.arange(2)).tolist() == [0, 1]


def test_routing_budget_bounds_the_rows_brought_up():
    net = grid_network(6, 6, capacity_per_lane=300.0, jam_density=100.0)
    trips = random_trips(net, 2500, seed=4, horizon=1800.0)
    free = run(net, trips, until=5400.0, refresh_s=60.0, refresh_max_rows=0)
    tight = run(net, trips, until=5400.0, refresh_s=60.0, refresh_max_rows=2)
    n_rows = free.routes.n_rows

    def brought(traffic):
        return traffic.routes.rows_routed + traffic.routes.rows_updated

    assert brought(free) > n_rows + 2 * free.refreshes  # congestion reroutes
    assert brought(tight) <= n_rows + 2 * (tight.refreshes - 1)
    assert tight.kpis()["trips_completed"] == free.kpis()["trips_completed"] == 2500


def test_repairs_on_copies_equal_repairs_in_place():
    from sim.traffic.routing import RouteTables

    net = grid_network(5, 5)
    base = net.free_flow_time.copy()
    slower = base.copy()
    slower[np.arange(0, net.n_edges, 3)] *= 4.0
    pair = [RouteTables(net, np.array([0, 7, 12, 24]), history=4) for _ in range(2)]
    for tables in pair:
        tables.update([base], np.arange(net.n_edges))
        tables.bring(np.arange(3))  # row 3 stays never grown: grown in full below
        tables.update([slower], np.arange(net.n_edges))
    in_place, on_copies = pair
    assert in_place.bring(np.arange(4)) == 4
    job = on_copies.start(np.arange(4))
    before = on_copies.table.copy()
    on_copies.run_job(job)
    np.testing.assert_array_equal(on_copies.table, before)  # nothing changes until installed
    assert on_copies.install(job) == 4
    np.testing.assert_array_equal(on_copies.table, in_place.table)
    np.testing.assert_array_equal(on_copies.cost, in_place.cost)
    assert (on_copies.rows_updated, on_copies.rows_routed) == (3, 3 + 1)
    assert (on_copies.rows_updated, on_copies.rows_routed) == (
        in_place.rows_updated,
        in_place.rows_routed,
    )
    # a row brought up by other means while a job ran keeps what it has
    on_copies.update([base], np.arange(net.n_edges))
    job = on_copies.start(np.arange(2))
    on_copies.run_job(job)
    on_copies.bring(np.array([0]))
    assert on_copies.install(job) == 1


def _lagged_day(lag, *, slow_thread=False, monkeypatch=None):
    if slow_thread:
        import time as _time

        from sim.traffic.routing import RouteTables

        run_job = RouteTables.run_job

        def slow(self, job, **kw):
            _time.sleep(0.02)
            run_job(self, job, **kw)

        monkeypatch.setattr(RouteTables, "run_job", slow)
    net = grid_network(6, 6, capacity_per_lane=300.0, jam_density=100.0)
    trips = random_trips(net, 2500, seed=4, horizon=1800.0)
    return run(net, trips, until=4000.0, refresh_s=120.0, route_lag_s=lag, refresh_max_rows=4)


def test_background_routes_take_effect_at_a_fixed_time(monkeypatch):
    """A lagged run does not depend on how fast the routing thread is."""
    quick = _lagged_day(60.0)
    slow = _lagged_day(60.0, slow_thread=True, monkeypatch=monkeypatch)
    at_once = _lagged_day(0.0)
    assert quick.timers["routing_background"] > 0 and quick.routes.rows_updated > 0
    pd.testing.assert_frame_equal(quick.trips_table(), slow.trips_table())
    assert quick.kpis() == slow.kpis()
    assert not quick.trips_table().equals(at_once.trips_table())  # the lag is real
    assert quick.kpis()["trips_completed"] == at_once.kpis()["trips_completed"] == 2500


def test_alternates_keep_the_replaced_tree_except_across_closures():
    from sim.traffic.routing import RouteTables

    net = grid_network(3, 3)
    tables = RouteTables(net, np.array([2]), alternates=True)
    base = net.free_flow_time.copy()
    tables.update([base], np.arange(net.n_edges))
    tables.bring(np.array([0]))
    first = tables.table[0].copy()
    np.testing.assert_array_equal(tables.alternate[0], first)  # never grown before: the same
    edge = int(first[0])
    slower = base.copy()
    slower[edge] = 1000.0
    tables.update([slower], np.array([edge]))
    job = tables.start(np.array([0]))
    tables.run_job(job)
    tables.install(job)
    assert tables.table[0, 0] != edge
    np.testing.assert_array_equal(tables.alternate[0], first)  # the tree it replaced
    closed = slower.copy()
    closed[edge] = np.inf
    tables.update([closed], np.array([edge]), invalidate=True)
    tables.bring(np.array([0]))
    np.testing.assert_array_equal(tables.alternate[0], tables.table[0])  # not across a closure


def _lagged_kpis(queue):
    queue.put(_lagged_day(60.0).kpis()["trips_completed"])


def test_a_forked_child_routes_in_the_background_too():
    """The parent's routing thread does not survive a fork; the child starts its own."""
    import multiprocessing

    assert _lagged_day(60.0).timers["routing_background"] > 0  # the parent's thread exists
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_lagged_kpis, args=(queue,))
    child.start()
    child.join(timeout=120)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0
    assert queue.get(timeout=5) == 2500
