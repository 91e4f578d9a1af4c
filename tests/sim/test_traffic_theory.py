"""The traffic engine against theory: free flow, conservation, deterministic queueing,
spillback, gridlock and reproducibility. Both kernel backends run these (the second CI
pass sets ``TWIN_KERNELS=python``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy

from kernels import traffic as kt
from kernels import traffic_state as kts
from sim.traffic.engine import Traffic
from twin.network import Network
from twin.synthetic import grid_network


def chain(lengths, *, speed=10.0, capacity=3600.0, lanes=1.0, jam_density=150.0) -> Network:
    """Nodes 0..k in a line joined by one-way links 0->1->…->k (edge i: i -> i+1)."""
    k = len(lengths)
    n = k + 1

    def per_edge(value):
        return np.broadcast_to(np.asarray(value, dtype=float), (k,)).copy()

    nodes = {
        "node_id": np.arange(n) + 1,
        "x": np.arange(n) * 100.0,
        "y": np.zeros(n),
        "lon": np.zeros(n),
        "lat": np.zeros(n),
    }
    return Network.from_edges(
        nodes=nodes,
        tail=np.arange(k),
        head=np.arange(1, n),
        edges={
            "length": per_edge(lengths),
            "speed": per_edge(speed),
            "lanes": per_edge(lanes),
            "capacity": per_edge(capacity),
            "jam_density": per_edge(jam_density),
            "road_class": np.zeros(k, dtype=np.int16),
        },
        road_classes=("primary",),
    )


def trips_frame(origin, destination, depart, vehicle_class="car") -> pd.DataFrame:
    depart = np.asarray(depart, dtype=float)
    k = len(depart)
    return pd.DataFrame(
        {
            "trip_id": np.arange(k, dtype=np.int64),
            "origin": np.broadcast_to(origin, (k,)).astype(np.int64),
            "destination": np.broadcast_to(destination, (k,)).astype(np.int64),
            "depart": depart,
            "vehicle_class": np.broadcast_to(np.asarray(vehicle_class, dtype=object), (k,)),
        }
    )


def close_at(traffic, edges, at, *, classes=()):
    """Close ``edges`` (positions) on the run's clock at ``at`` seconds."""

    def later():
        yield traffic.env.timeout(at - traffic.env.now)
        traffic.close_links(edges, classes=classes)

    traffic.env.process(later())


#: The plain link queue: no kinematic waves, no junction control, no filtering.
PLAIN = {"kinematic_waves": False, "junctions": False, "motorbike_filtering": False}


def run(network, trips, *, until, seed=0, **params):
    env = simpy.Environment()
    traffic = Traffic(env, network, trips, rng=np.random.default_rng(seed), params=params)
    traffic.start(until)
    env.run(until=until)
    return traffic


# -- free flow -------------------------------------------------------------------------


@pytest.mark.parametrize("vehicle_class", ["car", "motorbike", "bus"])
def test_free_flow_time_is_length_over_speed(vehicle_class):
    lengths = [137.0, 59.5, 412.25, 80.0]
    net = chain(lengths, speed=[11.1, 8.3, 16.7, 13.9])
    traffic = run(net, trips_frame(0, 4, [100.0], vehicle_class), until=600)
    trip = traffic.trips_table().iloc[0]
    factor = traffic.vehicles.loc[vehicle_class, "speed_factor"]
    expected = sum(
        length / (speed * factor) for length, speed in zip(lengths, net.speed, strict=True)
    )
    assert trip["status"] == "arrived"
    assert trip["travel_time"] == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert trip["distance"] == pytest.approx(sum(lengths))
    assert trip["delay"] == pytest.approx(0.0, abs=1e-9)


def test_free_flow_on_a_grid_is_manhattan_distance_over_speed():
    net = grid_network(5, 5)  # 200 m blocks at 36 km/h: 20 s a block
    trips = trips_frame([0, 24, 4], [24, 0, 20], [0.0, 500.0, 1000.0])
    table = run(net, trips, until=2000).trips_table()
    np.testing.assert_allclose(table["travel_time"], 8 * 20.0, rtol=1e-12)
    np.testing.assert_allclose(table["distance"], 8 * 200.0)


# -- conservation ------------------------------------------------------------------------


def test_vehicles_are_conserved_at_every_step():
    net = grid_network(6, 6, capacity_per_lane=400.0, jam_density=100.0)
    rng = np.random.default_rng(3)
    k = 3000
    trips = pd.DataFrame(
        {
            "trip_id": np.arange(k),
            "origin": rng.integers(0, net.n_nodes, k),
            "destination": rng.integers(0, net.n_nodes, k),
            "depart": np.sort(rng.uniform(0, 1800, k)).round(),
            "vehicle_class": rng.choice(["motorbike", "car", "bus", "emergency"], k),
        }
    )
    env = simpy.Environment()
    traffic = Traffic(
        env,
        net,
        trips,
        rng=np.random.default_rng(0),
        params={"step_s": 5.0, "block_relief_s": 0.0},  # storage is never exceeded
    )
    close_at(traffic, [10, 11], 900.0)
    traffic.start(5400)
    checks = []

    def audit():
        while True:
            yield env.timeout(5.0)
            s = traffic.state
            n = s.n_vehicles
            state = s.v_state[:n]
            departed = int((s.v_depart[:n] < traffic.now).sum())
            by_state = {code: int((state == code).sum()) for code in range(6)}
            c = s.counts
            assert by_state[kts.PENDING] == n - departed
            assert c[kts.C_DEPARTED] == departed
            assert c[kts.C_ARRIVED] == by_state[kts.ARRIVED]
            assert c[kts.C_ON_NETWORK] == by_state[kts.ON_NETWORK]
            assert c[kts.C_WAITING] == by_state[kts.WAITING]
            assert c[kts.C_UNROUTABLE] == by_state[kts.UNROUTABLE] + by_state[kts.STRANDED]
            assert departed == (
                c[kts.C_ARRIVED] + c[kts.C_ON_NETWORK] + c[kts.C_WAITING] + c[kts.C_UNROUTABLE]
            )
            # the vehicles in the link queues are exactly the non-emergency ones on the network
            on_links = state == kts.ON_NETWORK
            queued = on_links & (s.v_class[:n] != s.emergency_class)
            charge = s.v_charge[:n]
            np.testing.assert_allclose(s.occ.sum(), charge[queued].sum(), rtol=1e-9, atol=1e-6)
            per_link = np.bincount(
                s.v_link[:n][queued], weights=charge[queued], minlength=s.n_links
            )
            np.testing.assert_allclose(s.occ, per_link, rtol=1e-9, atol=1e-6)
            # a motorbike's charge is its PCU, less beside larger vehicles
            pcu = s.class_pcu[s.v_class[:n]]
            assert (charge[queued] <= pcu[queued] + 1e-12).all()
            assert (charge[queued] >= 0.5 * pcu[queued] - 1e-12).all()
            # storage holds what is on the link plus the space still travelling back
            assert (s.occ + s.tok_pcu <= np.maximum(s.storage, s.class_pcu.max()) + 1e-6).all()
            checks.append(departed)

    env.process(audit())
    env.run(until=5400)
    assert len(checks) > 1000 and checks[-1] == k
    kpis = traffic.kpis()
    assert kpis["gridlock"] is None
    assert kpis["trips_completed"] + kpis["trips_unroutable"] == k
    assert kpis["total_delay_h"] > 10  # it was congested


# -- deterministic queueing at a bottleneck ----------------------------------------------


@pytest.mark.parametrize("waves", [False, True])
@pytest.mark.parametrize("vehicle_class", ["car", "motorbike"])
def test_bottleneck_queue_and_delay_match_deterministic_queueing(vehicle_class, waves):
    mu_pcu_h = 900.0  # bottleneck capacity, PCU/h
    lam = 0.5  # arrivals, vehicles/s
    duration = 1200.0  # s of arrivals
    net = chain([500.0, 500.0, 500.0], capacity=[7200.0, mu_pcu_h, 7200.0], jam_density=2000.0)
    pcu = {"car": 1.0, "motorbike": 0.3}[vehicle_class]
    mu = mu_pcu_h / 3600.0 / pcu  # vehicles/s through the bottleneck
    if vehicle_class == "motorbike":
        lam = 1.2 * mu
    depart = np.arange(0.0, duration, 1.0 / lam)
    n = len(depart)
    env = simpy.Environment()
    traffic = Traffic(
        env,
        net,
        trips_frame(0, 3, depart, vehicle_class),
        rng=np.random.default_rng(0),
        params={**PLAIN, "kinematic_waves": waves},
    )
    traffic.start(20000)
    sf = traffic.vehicles.loc[vehicle_class, "speed_factor"]
    # the queue waits at the bottleneck's exit (its mid-block capacity is the saturation
    # flow of its class, above its exit's), with or without waves
    queue_link = 1
    ff_to_queue = 1000.0 / (10.0 * sf)
    peak = duration + ff_to_queue
    env.run(until=peak)
    queue = kt.queued_pcu(traffic.state, traffic.now)[queue_link] / pcu
    theory_queue = (lam - mu) * (traffic.now - ff_to_queue)
    assert queue == pytest.approx(theory_queue, rel=0.02)
    env.run(until=20000)
    table = traffic.trips_table()
    assert (table["status"] == "arrived").all()
    theory_delay = (1.0 / mu - 1.0 / lam) * n * (n - 1) / 2.0
    assert table["delay"].sum() == pytest.approx(theory_delay, rel=0.02)
    # the last vehicle leaves the bottleneck (n-1)/mu after the first reached it
    last = table["arrive"].max() - 500.0 / (10.0 * sf)
    assert last == pytest.approx(1000.0 / (10.0 * sf) + (n - 1) / mu, rel=0.02)


# -- spillback ---------------------------------------------------------------------------


def test_a_full_link_blocks_its_upstream_link():
    # link 1 is short (15 PCU) and slow to discharge; fed at 1800/h it fills and the
    # queue spills back onto link 0, which on its own would never queue (7200 PCU/h)
    lengths = [1000.0, 100.0, 500.0]
    caps = [7200.0, 900.0, 7200.0]
    depart = np.arange(0.0, 900.0, 2.0)

    def simulate(jam):
        net = chain(lengths, capacity=caps, jam_density=jam)
        env = simpy.Environment()
        traffic = Traffic(
            env, net, trips_frame(0, 3, depart), rng=np.random.default_rng(0), params=PLAIN
        )
        traffic.start(6000)
        record = []

        def watch():
            while True:
                yield env.timeout(2.0)
                s = traffic.state
                record.append((s.occ[1], kt.queued_pcu(s, traffic.now)[0], bool(s.w_head[1] == 0)))

        env.process(watch())
        env.run(until=6000)
        return traffic, np.array(record)

    traffic, record = simulate(jam=[150.0, 150.0, 150.0])
    storage = traffic.state.storage[1]
    assert storage == pytest.approx(15.0)
    assert record[:, 0].max() <= storage + 1e-9  # never over-full
    assert record[:, 0].max() == pytest.approx(storage)  # it does fill
    assert record[:, 2].any()  # link 0 waited for link 1
    assert record[:, 1].max() > 50  # a queue on link 0
    # with room on link 1 the queue stays on link 1 and link 0 never queues
    _, roomy = simulate(jam=[150.0, 5000.0, 150.0])
    assert roomy[:, 1].max() <= 1.0  # at most a vehicle due to leave this instant
    assert roomy[:, 0].max() > 50
    # both still serve everyone at the bottleneck's rate
    assert (traffic.trips_table()["status"] == "arrived").all()


def test_intersection_shares_a_full_link_between_approaches():
    # two approaches (0->2 and 1->2) merge into 2->3, a 600 PCU/h bottleneck, then 3->4
    nodes = {k: np.zeros(5) for k in ("x", "y", "lon", "lat")}
    nodes["node_id"] = np.arange(5) + 1
    net = Network.from_edges(
        nodes=nodes,
        tail=np.array([0, 1, 2, 3]),
        head=np.array([2, 2, 3, 4]),
        edges={
            "length": np.array([300.0, 300.0, 100.0, 100.0]),
            "speed": np.full(4, 10.0),
            "lanes": np.ones(4),
            "capacity": np.array([3600.0, 3600.0, 600.0, 3600.0]),
            "jam_density": np.array([500.0, 500.0, 100.0, 100.0]),
            "road_class": np.zeros(4, dtype=np.int16),
        },
        road_classes=("primary",),
    )
    depart = np.arange(0.0, 1200.0, 2.0)
    trips = pd.concat([trips_frame(0, 4, depart), trips_frame(1, 4, depart)], ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    traffic = run(net, trips, until=2400)
    table = traffic.trips_table()
    done = table[table["status"] == "arrived"]
    by_origin = done.groupby("origin").size()
    # both approaches saturated: they take turns, so each gets half the bottleneck
    assert abs(by_origin[0] - by_origin[1]) <= 2
    assert len(done) == pytest.approx(600.0 / 3600.0 * (2400 - 50), rel=0.02)


# -- gridlock ----------------------------------------------------------------------------


def ring(k=4, length=20.0):
    """A one-way ring of ``k`` links of ``length`` metres (2 PCU each at 100 PCU/km)."""
    nodes = {name: np.zeros(k) for name in ("x", "y", "lon", "lat")}
    nodes["node_id"] = np.arange(k) + 1
    return Network.from_edges(
        nodes=nodes,
        tail=np.arange(k),
        head=(np.arange(k) + 1) % k,
        edges={
            "length": np.full(k, length),
            "speed": np.full(k, 10.0),
            "lanes": np.ones(k),
            "capacity": np.full(k, 1800.0),
            "jam_density": np.full(k, 100.0),
            "road_class": np.zeros(k, dtype=np.int16),
        },
        road_classes=("primary",),
    )


def test_gridlock_is_detected_and_reported():
    # everyone drives three links on round a ring, so every link fills with vehicles that
    # want the next full link: a circular jam that nothing resolves without relief
    origin = np.tile(np.arange(4), 10)
    trips = trips_frame(origin, (origin + 3) % 4, np.zeros(40))
    env = simpy.Environment()
    traffic = Traffic(
        env,
        ring(),
        trips,
        rng=np.random.default_rng(0),
        params={**PLAIN, "gridlock_s": 600.0, "block_relief_s": 0.0},
    )
    process = traffic.start(86_400.0)
    env.run(until=process)
    kpis = traffic.kpis()
    assert env.now < 1000.0  # stopped early, not at the end of the day
    assert isinstance(kpis["gridlock"], str) and "gridlock" in kpis["gridlock"]
    assert kpis["trips_unfinished"] > 0
    assert kpis["trips_completed"] + kpis["trips_unfinished"] == 40
    assert kpis["forced_entries"] == 0


def test_gridlock_relief_unlocks_a_circular_jam():
    origin = np.tile(np.arange(4), 10)
    trips = trips_frame(origin, (origin + 3) % 4, np.zeros(40))
    traffic = run(ring(), trips, until=86_400.0, block_relief_s=120.0, **PLAIN)
    kpis = traffic.kpis()
    assert kpis["gridlock"] is None
    assert kpis["trips_completed"] == 40
    assert kpis["forced_entries"] > 0
    # each forced entry comes between 120 s and 144 s after the block
    assert traffic.trips_table()["arrive"].max() < 40 * 144.0


def test_no_gridlock_reported_in_normal_traffic():
    net = grid_network(4, 4)
    trips = trips_frame(0, 15, np.arange(0.0, 600.0, 10.0))
    assert run(net, trips, until=3600).kpis()["gridlock"] is None


# -- reproducibility -----------------------------------------------------------------------


def _tied_day(seed):
    # many equal departures from a few origins, through congested streets: the order in
    # which tied vehicles leave is drawn from the generator
    net = grid_network(5, 5, capacity_per_lane=300.0, jam_density=40.0)
    rng = np.random.default_rng(11)
    k = 1500
    trips = pd.DataFrame(
        {
            "trip_id": np.arange(k),
            "origin": rng.integers(0, 5, k),
            "destination": rng.integers(20, 25, k),
            "depart": np.sort(rng.integers(0, 20, k) * 30.0),
            "vehicle_class": rng.choice(["motorbike", "car", "bus"], k),
        }
    )
    traffic = run(net, trips, until=7200, seed=seed, depart_jitter_s=5.0)
    table = traffic.trips_table().sort_values("trip_id").reset_index(drop=True)
    return table, traffic.links_table(), traffic.kpis()


def test_same_seed_same_outputs_other_seed_differs():
    a_trips, a_links, a_kpis = _tied_day(1)
    b_trips, b_links, b_kpis = _tied_day(1)
    c_trips, _, _ = _tied_day(2)
    pd.testing.assert_frame_equal(a_trips, b_trips)
    pd.testing.assert_frame_equal(a_links, b_links)
    assert a_kpis == b_kpis
    assert not np.array_equal(a_trips["arrive"].to_numpy(), c_trips["arrive"].to_numpy())
