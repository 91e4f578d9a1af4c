"""The link-queue movement kernel on its own: hand-made states, both backends side by side."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels.traffic as kt
from kernels import traffic_state as kts
from kernels.errors import KernelInputError

compiled_module = importlib.import_module("kernels._traffic_cy")


def line_state(k=3, *, length=100.0, speed=10.0, headway=1.0, storage=50.0, classes=(1.0,)):
    """Links 0..k-1 along nodes 0..k; next-hop table row 0 heads for node k."""
    heads = np.arange(1, k + 1)
    state = kts.LinkQueueState(
        heads=heads,
        n_nodes=k + 1,
        free_flow=np.full((len(classes), k), length / speed),
        headway=np.full(k, headway),
        storage=np.full(k, storage),
        length=np.full(k, length),
        class_pcu=np.array(classes),
    )
    table = np.full((1, k + 1), -1, dtype=np.int64)
    table[0, :k] = np.arange(k)
    state.set_table(table)
    return state


def add(state, depart, *, origin=0, dest=None, cls=0):
    depart = np.asarray(depart, dtype=float)
    dest = state.n_nodes - 1 if dest is None else dest
    return state.add_vehicles(
        origin=np.full(len(depart), origin),
        dest=np.full(len(depart), dest),
        row=np.zeros(len(depart), dtype=np.int64),
        vehicle_class=np.full(len(depart), cls),
        depart=depart,
    )


@pytest.fixture(params=["reference", "compiled"])
def backend(request, monkeypatch):
    module = None if request.param == "reference" else compiled_module
    monkeypatch.setattr(kt, "compiled", lambda name: module)
    return request.param


def test_one_vehicle_free_flow(backend):
    state = line_state(3)
    add(state, [5.0])
    assert kt.advance(state, 100.0) == 3
    assert state.v_arrive[0] == 35.0
    assert state.v_dist[0] == 300.0
    assert state.counts[kts.C_ARRIVED] == 1


def test_capacity_spaces_departures_by_the_headway(backend):
    state = line_state(2, headway=4.0)
    add(state, np.zeros(5))
    kt.advance(state, 1000.0)
    # served every 4 s at the end of link 0; arrivals leave link 1 without its server
    np.testing.assert_allclose(state.v_arrive[:5], 20.0 + 4.0 * np.arange(5))


def test_fractional_pcu_use_a_fraction_of_the_headway(backend):
    state = line_state(2, headway=4.0, classes=(0.25,))
    add(state, np.zeros(5))
    kt.advance(state, 1000.0)
    np.testing.assert_allclose(state.v_arrive[:5], 20.0 + 1.0 * np.arange(5))


def test_arrivals_do_not_use_the_exit_server(backend):
    state = line_state(1, headway=100.0)
    add(state, np.zeros(3))
    kt.advance(state, 1000.0)
    np.testing.assert_allclose(state.v_arrive[:3], 10.0)


def test_storage_holds_back_departures(backend):
    state = line_state(2, storage=2.0, headway=10.0)
    add(state, np.zeros(4))
    kt.advance(state, 5.0)
    assert state.counts[kts.C_ON_NETWORK] == 2
    assert state.counts[kts.C_WAITING] == 2
    kt.advance(state, 1000.0)
    # the third enters link 0 when the first leaves it (t=10) and leaves at 30, behind
    # the second (20); the fourth enters at 20 and leaves at 40
    np.testing.assert_allclose(state.v_arrive[:4], [20.0, 30.0, 40.0, 50.0])


def test_records_fill_whole_cache_lines_and_vehicles_survive_growth(backend):
    state = line_state()
    assert kts.VEHICLE.itemsize == 64 and kts.LINK_HOT.itemsize == 128
    assert state.link_hot.ctypes.data % 64 == 0
    first = add(state, [0.0, 5.0])
    kt.advance(state, 200.0)
    arrive = state.v_arrive[first].copy()
    assert np.isfinite(arrive).all()
    more = add(state, 200.0 + np.arange(2 * state.capacity, dtype=float))  # grows the arrays
    assert state.vehicles.ctypes.data % 64 == 0
    assert state.v_arrive[first].tolist() == arrive.tolist()
    assert state.v_depart[first].tolist() == [0.0, 5.0]
    assert np.isnan(state.v_arrive[more]).all()
    kt.advance(state, 10_000.0)
    assert (state.v_arrive[more] - state.v_depart[more] >= 30.0).all()


def test_advance_refuses_to_go_back_in_time(backend):
    state = line_state(1)
    kt.advance(state, 50.0)
    with pytest.raises(KernelInputError, match="before the traffic clock"):
        kt.advance(state, 10.0)


def test_state_validation():
    with pytest.raises(KernelInputError, match="headway"):
        kts.LinkQueueState(
            heads=np.array([1]),
            n_nodes=2,
            free_flow=np.ones((1, 1)),
            headway=np.array([np.inf]),
            storage=np.ones(1),
            length=np.ones(1),
            class_pcu=np.ones(1),
        )
    with pytest.raises(KernelInputError, match="shape"):
        kts.LinkQueueState(
            heads=np.array([1]),
            n_nodes=2,
            free_flow=np.ones((2, 1)),
            headway=np.ones(1),
            storage=np.ones(1),
            length=np.ones(1),
            class_pcu=np.ones(1),
        )
    state = line_state(2)
    add(state, [10.0])
    with pytest.raises(KernelInputError, match="departure order"):
        add(state, [5.0])


def _random_case(seed, n_nodes, n_edges, n_vehicles, physics=False):
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n_nodes, n_edges)
    head = (tail + rng.integers(1, n_nodes, n_edges)) % n_nodes
    order = np.lexsort((head, tail))
    tail, head = tail[order], head[order]
    classes = np.array([0.3, 1.0, 2.5, 1.0])
    free = rng.uniform(1.0, 30.0, n_edges)
    headway = rng.choice([0.5, 2.0, 6.0], n_edges)
    extra = {}
    if physics:
        extra = {
            "wave": rng.choice([0.0, 3.0, 40.0], n_edges),
            "in_headway": rng.choice([0.0, 0.5, 2.0], n_edges) * (rng.random(n_edges) < 0.7),
            "class_filters": np.array([True, False, False, False]),
            "filter_gain": 0.5,
            "flow_window": 30.0,
            "tokens": 16,  # small: the pool must grow during the run
        }
    state = kts.LinkQueueState(
        heads=head,
        n_nodes=n_nodes,
        free_flow=np.stack([free / f for f in (0.9, 1.0, 0.8, 1.2)]),
        headway=headway,
        storage=rng.choice([1.0, 3.0, 20.0], n_edges),
        length=free * 10.0,
        class_pcu=classes,
        emergency_class=3,
        block_relief=(None, 50.0)[seed % 2],
        capacity=4,
        **extra,
    )
    if physics:
        ctrl = rng.integers(0, 4, n_edges)
        cycle = rng.choice([30.0, 60.0], n_edges)
        state.set_junctions(
            ctrl=ctrl,
            lookahead=rng.integers(0, 4, n_edges),
            sig_cycle=cycle,
            sig_start=rng.uniform(0.0, 60.0, n_edges),
            sig_green=cycle * rng.uniform(0.2, 0.8, n_edges),
            sat_headway=headway * rng.uniform(0.3, 1.0, n_edges),
            gap_tc=np.full(n_edges, 5.0),
            gap_tf=np.full(n_edges, 3.0),
        )
    # random next hops (not shortest paths: the kernel must follow any table); with the
    # physics, a second random table for the vehicles that follow alternates
    tables = []
    for _ in range(2 if physics else 1):
        table = np.full((n_nodes, n_nodes), -1, dtype=np.int32)
        for d in range(n_nodes):
            for u in range(n_nodes):
                out = np.flatnonzero(tail == u)
                if u != d and len(out) and rng.random() < 0.9:
                    table[d, u] = rng.choice(out)
        tables.append(table)
    state.set_table(tables[0], alternate=tables[1] if physics else None)
    depart = np.sort(rng.integers(0, 60, n_vehicles) * 5.0)
    dest = rng.integers(0, n_nodes, n_vehicles)
    state.add_vehicles(
        origin=rng.integers(0, n_nodes, n_vehicles),
        dest=dest,
        row=dest,
        vehicle_class=rng.integers(0, 4, n_vehicles),
        depart=depart,
    )
    return state


def _run_random_case(module, seed, n_nodes, n_edges, n_vehicles, physics):
    """Run one random case on a backend through the public wrapper; the final arrays."""
    saved = kt.compiled
    kt.compiled = lambda name: module
    try:
        state = _random_case(seed, n_nodes, n_edges, n_vehicles, physics)
        for t_end in (7.0, 100.0, 333.0, 2000.0):
            kt.advance(state, t_end)
            if t_end == 100.0:
                state.closed[: n_edges // 3] = 1
            if t_end == 333.0 and physics:
                # an intervention: the first links lose half their capacity and storage
                edges = np.arange(min(3, n_edges))
                state.set_links(
                    edges,
                    headway=state.headway[edges] * 2.0,
                    storage=state.storage[edges] / 2.0,
                    free_flow=state.free_flow[:, edges] * 1.5,
                )
                kt.wake(state, edges, t_end)
            kt.wake_all(state, t_end)
        queue = kt.queued_pcu(state, 2000.0)
    finally:
        kt.compiled = saved
    return state.__dict__ | {"queue": queue}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n_nodes=st.integers(2, 8),
    n_edges=st.integers(1, 20),
    n_vehicles=st.integers(0, 80),
    physics=st.booleans(),
)
def test_backends_agree_on_random_states(seed, n_nodes, n_edges, n_vehicles, physics):
    ref, comp = (
        _run_random_case(module, seed, n_nodes, n_edges, n_vehicles, physics)
        for module in (None, compiled_module)
    )
    for name, value in ref.items():
        if isinstance(value, np.ndarray) and value.dtype.names is None:  # records via views
            np.testing.assert_array_equal(value, comp[name], err_msg=name)
    assert ref["version"] == comp["version"]  # the token pool grew at the same points


def test_random_states_with_physics_exercise_every_rule():
    """The random cases above reach waves, windows, filtering and forced entries."""
    totals = np.zeros(kts.N_COUNTS, dtype=np.int64)
    for seed in range(40):
        state = _run_random_case(compiled_module, seed, 6, 16, 80, True)
        totals += state["counts"]
    assert totals[kts.C_BYPASSED] > 0
    assert totals[kts.C_FILTERED] > 0
    assert totals[kts.C_FORCED] > 0


def test_odd_vehicles_follow_the_alternate_tree():
    """Two ways from node 0 to node 3: the table's via node 1, the alternate's via node 2;
    vehicles of odd id take the alternate, except emergency vehicles."""
    heads = np.array([1, 2, 3, 3])  # links 0→1, 0→2, 1→3, 2→3
    lengths = np.array([100.0, 300.0, 100.0, 300.0])
    state = kts.LinkQueueState(
        heads=heads,
        n_nodes=4,
        free_flow=np.tile(lengths / 10.0, (2, 1)),
        headway=np.full(4, 1.0),
        storage=np.full(4, 50.0),
        length=lengths,
        class_pcu=np.array([1.0, 1.0]),
        emergency_class=1,
    )
    table = np.array([[0, 2, -1, -1]], dtype=np.int32)
    alternate = np.array([[1, -1, 3, -1]], dtype=np.int32)
    state.set_table(table, alternate=alternate)
    state.add_vehicles(
        origin=np.zeros(4, dtype=np.int64),
        dest=np.full(4, 3),
        row=np.zeros(4, dtype=np.int64),
        vehicle_class=np.array([0, 0, 0, 1]),
        depart=np.array([0.0, 10.0, 20.0, 30.0]),
    )
    kt.advance(state, 500.0)
    assert state.v_state[:4].tolist() == [kts.ARRIVED] * 4
    assert state.v_dist[:4].tolist() == [200.0, 600.0, 200.0, 200.0]
    with pytest.raises(KernelInputError, match="alternate"):
        state.set_table(table, alternate=np.zeros((2, 4), dtype=np.int32))
