"""Junctions and motorbikes against theory: a signal's discharge, gap acceptance at a
priority junction, the node model (a blocked exit, a shared exit) and filtering. Both
kernel backends run these (the second CI pass sets ``TWIN_KERNELS=python``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy

from kernels import traffic as kt
from kernels import traffic_state as kts
from kernels.junctions import gap_capacity, green_after, green_from, in_green
from sim.link_changes import LinkChange
from sim.traffic.engine import Traffic
from sim.traffic.junctions import load_junction_defaults, plan_junctions, street_count
from twin.errors import ConfigError
from twin.network import CONTROL_SIGNAL_CROSSING, CONTROL_SIGNALS, Network

from .test_traffic_theory import chain, trips_frame

ARMS = {"W": (-300.0, 0.0), "E": (300.0, 0.0), "S": (0.0, -300.0), "N": (0.0, 300.0)}


def cross(
    *,
    major="primary",
    minor="residential",
    capacity=7200.0,
    control=0,
    extra=(),
) -> Network:
    """A four-arm junction: node 0 in the middle, arms W (1), E (2), S (3), N (4), a
    two-way link each way; W-E of class ``major``, S-N of class ``minor``. ``extra``:
    more one-way links ``(tail, head, length, capacity, x, y)`` to new nodes 5, 6, …"""
    xy = [(0.0, 0.0), *ARMS.values()] + [(x, y) for *_, x, y in extra]
    n = len(xy)
    tails, heads, length, cls, cap = [], [], [], [], []
    for arm, name in enumerate(ARMS, start=1):
        road = 0 if name in "WE" else 1
        for t, h in ((arm, 0), (0, arm)):
            tails.append(t)
            heads.append(h)
            length.append(300.0)
            cls.append(road)
            cap.append(capacity)
    for t, h, meters, c, _, _ in extra:
        tails.append(t)
        heads.append(h)
        length.append(meters)
        cls.append(0)
        cap.append(c)
    m = len(tails)
    controls = np.zeros(n, dtype=np.int8)
    controls[0] = control
    return Network.from_edges(
        nodes={
            "node_id": np.arange(n) + 100,
            "x": np.array([p[0] for p in xy]),
            "y": np.array([p[1] for p in xy]),
            "lon": np.zeros(n),
            "lat": np.zeros(n),
            "control": controls,
        },
        tail=np.array(tails),
        head=np.array(heads),
        edges={
            "length": np.array(length),
            "speed": np.full(m, 10.0),
            "lanes": np.ones(m),
            "capacity": np.array(cap),
            "jam_density": np.full(m, 150.0),
            "road_class": np.array(cls, dtype=np.int16),
        },
        road_classes=(major, minor),
    )


def edge(net: Network, tail: int, head: int) -> int:
    return int(np.flatnonzero((net.tail == tail) & (net.indices == head))[0])


def exits(traffic, link):
    """Vehicles that have left ``link`` so far (its cumulative metres over its length)."""
    s = traffic.state
    return np.rint(s.cum_len[link] / s.length[link]).astype(np.int64)


def exits_between(traffic, env, link, t0, t1) -> int:
    """Vehicles that left ``link`` between ``t0`` and ``t1`` (step boundaries)."""
    env.run(until=t0)
    before = exits(traffic, link)
    env.run(until=t1)
    return int(exits(traffic, link) - before)


# -- the arithmetic -------------------------------------------------------------------


def test_signal_arithmetic():
    # cycle 60 s, green from 10 s to 40 s of each cycle
    assert in_green(15.0, 60.0, 10.0, 30.0) and not in_green(45.0, 60.0, 10.0, 30.0)
    assert green_from(45.0, 60.0, 10.0, 30.0) == 70.0
    assert green_from(-5.0, 60.0, 10.0, 30.0) == 10.0
    assert green_after(35.0, 4.0, 60.0, 10.0, 30.0) == 39.0
    # 5 s left in this green, 25 s more in the next (from 70 s) and the one after
    assert green_after(35.0, 30.0, 60.0, 10.0, 30.0) == 95.0
    assert green_after(35.0, 65.0, 60.0, 10.0, 30.0) == 70.0 + 60.0 + 60.0 + 0.0


def test_gap_capacity_is_harders_formula():
    tc, tf = 4.0, 2.5
    assert gap_capacity(0.0, tc, tf) == pytest.approx(1.0 / tf)
    q = 1000.0 / 3600.0
    assert gap_capacity(q, tc, tf) == pytest.approx(q * np.exp(-q * tc) / (1 - np.exp(-q * tf)))
    flows = np.linspace(0.0, 0.6, 13)
    assert np.all(np.diff([gap_capacity(f, tc, tf) for f in flows]) < 0)  # falls as q rises


# -- planning -------------------------------------------------------------------------


def test_plan_signals_and_priority_from_the_network():
    table = load_junction_defaults()
    signalised = plan_junctions(cross(control=CONTROL_SIGNALS), table=table)
    net = cross(control=CONTROL_SIGNALS)
    into = [edge(net, arm, 0) for arm in range(1, 5)]
    assert (signalised.ctrl[into] == kts.CTRL_SIGNAL).all()
    assert signalised.signal_nodes.tolist() == [0]
    row = table.loc["primary"]  # the most important approach picks the plan
    effective = row["signal_cycle_s"] - 2 * row["signal_lost_s"]
    green = dict(zip("WESN", signalised.sig_green[into], strict=True))
    start = dict(zip("WESN", signalised.sig_start[into], strict=True))
    assert green["W"] == green["E"] == pytest.approx(row["signal_major_share"] * effective)
    assert green["S"] == green["N"] == pytest.approx((1 - row["signal_major_share"]) * effective)
    assert start["S"] == pytest.approx(green["W"] + row["signal_lost_s"])
    saturation = table.loc[["primary", "primary", "residential", "residential"]]
    np.testing.assert_allclose(  # each approach's own class, one lane each
        signalised.sat_headway[into], 3600.0 / saturation["saturation_pcu_per_lane_h"]
    )
    # without a signal: W-E is the major road, S-N gives way
    priority = plan_junctions(cross(), table=table)
    assert priority.ctrl[into].tolist() == [
        kts.CTRL_MAJOR,
        kts.CTRL_MAJOR,
        kts.CTRL_MINOR,
        kts.CTRL_MINOR,
    ]
    assert priority.priority_nodes.tolist() == [0]
    assert priority.gap_tc[into[2]] == table.loc["residential", "giveway_critical_gap_s"]
    # the arms' far ends are dead ends, not junctions
    assert street_count(net).tolist() == [4, 1, 1, 1, 1]
    # equal classes: no priority
    same = plan_junctions(cross(minor="primary"), table=table)
    assert (same.ctrl == kts.CTRL_FREE).all()
    # switched off
    assert (plan_junctions(net, signals=False, priority=False).ctrl == kts.CTRL_FREE).all()


def test_a_signalised_crossing_has_one_phase_and_timings_override():
    table = load_junction_defaults()
    line = chain([300.0, 300.0])
    line = Network.from_edges(
        nodes={
            "node_id": line.node_id,
            "x": line.x,
            "y": line.y,
            "lon": line.lon,
            "lat": line.lat,
            "control": np.array([0, CONTROL_SIGNAL_CROSSING, 0], dtype=np.int8),
        },
        tail=line.tail,
        head=line.indices,
        edges={"length": line.length, "speed": line.speed, "lanes": line.lanes,
               "capacity": line.capacity, "jam_density": line.jam_density,
               "road_class": line.road_class},
        road_classes=line.road_classes,
    )  # fmt: skip
    plan = plan_junctions(line, table=table)
    row = table.loc["primary"]
    assert plan.ctrl[0] == kts.CTRL_SIGNAL and plan.ctrl[1] == kts.CTRL_FREE
    assert plan.sig_green[0] == pytest.approx(
        row["crossing_green_share"] * (row["signal_cycle_s"] - row["signal_lost_s"])
    )
    # a timing by OSM node id overrides the table, and puts a signal where OSM has none
    plan = plan_junctions(line, table=table, timings={3: {"cycle_s": 40.0, "offset_s": 7.0}})
    assert plan.ctrl[1] == kts.CTRL_SIGNAL
    assert plan.sig_cycle[1] == 40.0 and plan.sig_start[1] == 7.0
    with pytest.raises(ConfigError, match="not a node of the drive network"):
        plan_junctions(line, timings={999: {"cycle_s": 60.0}})
    with pytest.raises(ConfigError, match="unknown keys"):
        plan_junctions(line, timings={2: {"green": 30.0}})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        plan_junctions(line, timings={2: {"major_share": 1.5}})


def test_junction_defaults_overrides(tmp_path):
    path = tmp_path / "junctions.csv"
    path.write_text("highway,signal_cycle_s\nprimary,120\n")
    table = load_junction_defaults(path)
    assert table.loc["primary", "signal_cycle_s"] == 120.0
    assert (
        table.loc["secondary", "signal_cycle_s"]
        == load_junction_defaults().loc["secondary", "signal_cycle_s"]
    )
    path.write_text("highway,signal_major_share\nprimary,1.2\n")
    with pytest.raises(ConfigError, match="share between 0 and 1"):
        load_junction_defaults(path)
    path.write_text("highway,cycle\nprimary,1\n")
    with pytest.raises(ConfigError, match="unknown columns"):
        load_junction_defaults(path)


# -- signals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("origin", "destination"), [(1, 2), (3, 4)])  # W->E major, S->N minor
def test_a_signalised_approach_discharges_green_share_times_saturation_flow(origin, destination):
    net = cross(control=CONTROL_SIGNALS, minor="primary")
    depart = np.arange(0.0, 3600.0, 1.0)  # 3600 veh/h: far above what the green lets out
    env = simpy.Environment()
    traffic = Traffic(
        env, net, trips_frame(origin, destination, depart), rng=np.random.default_rng(0)
    )
    traffic.start(4000.0)
    approach = edge(net, origin, 0)
    plan = traffic.junctions
    cycle, green = plan.sig_cycle[approach], plan.sig_green[approach]
    saturation = 3600.0 / plan.sat_headway[approach]  # PCU/h
    assert cycle == 90.0 and green in (pytest.approx(49.2), pytest.approx(32.8))
    t0, t1 = 900.0, 900.0 + 30 * cycle  # whole cycles, the queue long since formed
    served = exits_between(traffic, env, approach, t0, t1)
    expected = green / cycle * saturation * (t1 - t0) / 3600.0
    assert served == pytest.approx(expected, rel=0.02)
    # vehicles leave only during green
    table = traffic.trips_table()
    left = table["arrive"].dropna().to_numpy() - 300.0 / 10.0  # passed the stop line
    phase = (left - plan.sig_start[approach] + 1e-6) % cycle
    assert (phase <= green + 2e-6).all()


# -- priority junctions -------------------------------------------------------------------


@pytest.mark.parametrize("major_pcu_h", [0.0, 400.0, 800.0, 1200.0, 1600.0])
def test_a_minor_approach_follows_the_gap_acceptance_capacity(major_pcu_h):
    net = cross()  # W-E primary (major), S-N residential (minor); all links 7200 PCU/h
    horizon = 3600.0
    minor = trips_frame(3, 4, np.arange(0.0, horizon, 0.5))  # far more than it can take
    frames = [minor]
    if major_pcu_h:
        frames.append(trips_frame(1, 2, np.arange(0.0, horizon, 3600.0 / major_pcu_h)))
    trips = pd.concat(frames, ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    traffic = Traffic(
        env, net, trips, rng=np.random.default_rng(0), params={"conflict_window_s": 60.0}
    )
    traffic.start(horizon + 100.0)
    approach = edge(net, 3, 0)
    assert traffic.junctions.ctrl[approach] == kts.CTRL_MINOR
    t0, t1 = 600.0, 3600.0
    served = exits_between(traffic, env, approach, t0, t1) / (t1 - t0)  # PCU/s
    tc, tf = traffic.junctions.gap_tc[approach], traffic.junctions.gap_tf[approach]
    assert served == pytest.approx(gap_capacity(major_pcu_h / 3600.0, tc, tf), rel=0.03)


def test_routing_sees_the_gap_acceptance_headway_of_a_minor_approach():
    net = cross()
    trips = pd.concat(
        [trips_frame(1, 2, np.arange(0.0, 1800.0, 3.0)), trips_frame(3, 4, [0.0])],
        ignore_index=True,
    )
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    traffic = Traffic(env, net, trips, rng=np.random.default_rng(0))
    traffic.start(1800.0)
    env.run(until=900.0)
    s = traffic.state
    approach = edge(net, 3, 0)
    q = s.node_q[0] * np.exp(-(traffic.now - s.node_t[0]) / s.clock[kts.T_FLOW_WINDOW])
    assert q == pytest.approx(1 / 3.0, rel=0.05)  # the major flow, one car every 3 s
    gap = 1.0 / gap_capacity(q, s.gap_tc[approach], s.gap_tf[approach])
    traffic._queue_costs()  # as set up: the vectorised estimate reads the same formula
    per_pcu = traffic._per_pcu.copy()
    traffic._link_time_cache = None
    times = traffic.link_times("car")
    queued = kt.queued_pcu(s, traffic.now)[approach]
    assert times[approach] == pytest.approx(
        net.length[approach] / net.speed[approach] + queued * max(per_pcu[approach], gap)
    )


def test_the_major_road_does_not_give_way():
    net = cross()
    trips = trips_frame(1, 2, np.arange(0.0, 1800.0, 1.0))  # 3600 PCU/h on the major road
    minor = trips_frame(3, 4, np.arange(0.0, 1800.0, 0.5))
    trips = pd.concat([trips, minor], ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    traffic = Traffic(env, net, trips, rng=np.random.default_rng(0))
    traffic.start(2000.0)
    served = exits_between(traffic, env, edge(net, 1, 0), 300.0, 1500.0)
    assert served == pytest.approx(1200.0, abs=2)  # every major vehicle, unhindered


# -- the node model ---------------------------------------------------------------------


def blocked_exit_run(lookahead_per_lane: float):
    """W -> 0 -> E is free; W -> 0 -> 5 -> 6 is blocked (5 -> 6 lets nobody through)."""
    net = cross(extra=[(0, 5, 5.0, 7200.0, 0.0, 20.0), (5, 6, 300.0, 7200.0, 0.0, 320.0)])
    to_6 = trips_frame(1, 6, [0.0, 1.0, 2.0, 3.0, 4.0])
    to_e = trips_frame(1, 2, np.arange(5.0, 205.0, 1.0))
    trips = pd.concat([to_6, to_e], ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    traffic = Traffic(
        env,
        net,
        trips,
        rng=np.random.default_rng(0),
        params={
            "node_lookahead_per_lane": lookahead_per_lane,
            "block_relief_s": 0.0,
            "gridlock_s": 1e5,
        },
    )
    # the far exit: closed to flow (its capacity all but nothing)
    traffic.change_links([edge(net, 5, 6)], LinkChange(capacity_pcu_h=1e-6))
    traffic.start(1200.0)
    env.run(until=1200.0)
    return traffic.trips_table()


def test_a_blocked_turn_does_not_block_the_others():
    table = blocked_exit_run(4.0)
    to_e = table[table["destination"] == 2]
    assert (to_e["status"] == "arrived").all()
    # each passes the vehicles waiting for the blocked exit: free flow plus capacity spacing
    assert to_e["delay"].max() < 5.0
    assert (table.loc[table["destination"] == 6, "status"] != "arrived").sum() >= 3
    # strict FIFO (no window): everyone behind the first blocked vehicle waits for good
    fifo = blocked_exit_run(0.0)
    assert (fifo.loc[fifo["destination"] == 2, "status"] == "arrived").sum() == 0


def test_a_shared_exit_is_shared_in_proportion_to_the_approaches_capacities():
    # approaches 0 -> 2 (1800 PCU/h) and 1 -> 2 (900 PCU/h) merge into 2 -> 3 (900 PCU/h)
    nodes = {k: np.zeros(5) for k in ("x", "y", "lon", "lat")}
    nodes["x"] = np.array([-300.0, 0.0, 0.0, 300.0, 600.0])
    nodes["y"] = np.array([0.0, -300.0, 0.0, 0.0, 0.0])
    nodes["node_id"] = np.arange(5) + 1
    net = Network.from_edges(
        nodes=nodes,
        tail=np.array([0, 1, 2, 3]),
        head=np.array([2, 2, 3, 4]),
        edges={
            "length": np.full(4, 300.0),
            "speed": np.full(4, 10.0),
            "lanes": np.ones(4),
            "capacity": np.array([1800.0, 900.0, 900.0, 3600.0]),
            "jam_density": np.full(4, 150.0),
            "road_class": np.zeros(4, dtype=np.int16),
        },
        road_classes=("primary",),
    )
    depart = np.arange(0.0, 2400.0, 1.0)
    trips = pd.concat([trips_frame(0, 4, depart), trips_frame(1, 4, depart)], ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    traffic = Traffic(env, net, trips, rng=np.random.default_rng(0))
    traffic.start(2400.0)
    env.run(until=600.0)
    before = exits(traffic, [0, 1])
    env.run(until=2400.0)
    served = exits(traffic, [0, 1]) - before
    assert served.sum() == pytest.approx(900.0 * 1800.0 / 3600.0, abs=2)  # the exit is full
    assert served[0] / served[1] == pytest.approx(2.0, rel=0.03)


# -- motorbikes -------------------------------------------------------------------------


def queue_of_cars_then_motorbikes(filtering: bool):
    mu = 900.0  # bottleneck PCU/h
    net = chain([500.0, 300.0, 100.0], capacity=[7200.0, mu, 7200.0], jam_density=150.0)
    cars = trips_frame(0, 3, np.arange(0.0, 60.0, 1.0), "car")
    bikes = trips_frame(0, 3, np.arange(60.0, 100.0, 0.2), "motorbike")
    trips = pd.concat([cars, bikes], ignore_index=True)
    trips["trip_id"] = np.arange(len(trips))
    env = simpy.Environment()
    params = {} if filtering else {"motorbike_filtering": False}
    traffic = Traffic(env, net, trips, rng=np.random.default_rng(0), params=params)
    traffic.start(3000.0)
    env.run(until=3000.0)
    table = traffic.trips_table()
    assert (table["status"] == "arrived").all()
    first = 500.0 / 10.0  # the first car reaches the bottleneck
    # when each class is through the bottleneck (its exit is the arrival less 40 s of
    # free flow on the last two links, 300 m and 100 m at the class's speed)
    through = table["arrive"] - np.where(table["vehicle_class"] == "car", 40.0, 40.0 / 0.9)
    return through, table["vehicle_class"], first, mu / 3600.0


def test_motorbikes_behind_a_queue_of_cars_discharge_faster_than_pcu_arithmetic():
    through, classes, first, mu = queue_of_cars_then_motorbikes(filtering=True)
    pcu_fifo = first + (60 * 1.0 + 200 * 0.3) / mu  # all cars, then all motorbikes
    bikes_done = through[classes == "motorbike"].max()
    assert bikes_done < 0.93 * pcu_fifo
    # motorbikes do not overtake for free: they still use the bottleneck's capacity
    # (at least half their PCU each, beside cars) and the cars are not held back for good
    assert through.max() >= first + (60 * 1.0 + 200 * 0.3 * 0.5) / mu - 1.0
    assert through[classes == "car"].max() <= pcu_fifo + 5.0
    # without filtering the queue is plain PCU arithmetic: FIFO, 0.3 PCU a motorbike
    through, classes, first, mu = queue_of_cars_then_motorbikes(filtering=False)
    assert through[classes == "motorbike"].max() == pytest.approx(pcu_fifo, rel=0.01)
