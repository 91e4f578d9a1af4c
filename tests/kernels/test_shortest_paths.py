"""One-to-all Dijkstra and one-to-one A*: both backends against each other and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from tests.kernels.graphs import (
    Graph,
    brute_force_costs,
    check_path,
    check_tree_to_source,
    graphs,
    on_both,
    use_backend,
)


def _diamond() -> Graph:
    # 0 -> 1 -> 3 costs 2, 0 -> 2 -> 3 costs 5, plus a closed shortcut 0 -> 3 and node 4 alone
    return Graph.from_edges(5, [(0, 1, 1.0), (1, 3, 1.0), (0, 2, 1.0), (2, 3, 4.0), (0, 3, np.inf)])


def test_dijkstra_by_hand(backend):
    g = _diamond()
    cost, pred = kernels.dijkstra(g.indptr, g.indices, g.weights, 0)
    np.testing.assert_array_equal(cost, [0.0, 1.0, 1.0, 2.0, np.inf])
    np.testing.assert_array_equal(pred, [-1, 0, 0, 1, -1])
    assert cost.dtype == np.float64 and pred.dtype == np.int64


def test_dijkstra_cutoff(backend):
    g = _diamond()
    cost, pred = kernels.dijkstra(g.indptr, g.indices, g.weights, 0, cutoff=1.0)
    np.testing.assert_array_equal(cost, [0.0, 1.0, 1.0, np.inf, np.inf])
    np.testing.assert_array_equal(pred, [-1, 0, 0, -1, -1])


def test_dijkstra_single_node(backend):
    cost, pred = kernels.dijkstra(np.array([0, 0]), np.array([], dtype=np.int64), [], 0)
    np.testing.assert_array_equal(cost, [0.0])
    np.testing.assert_array_equal(pred, [-1])


def test_dijkstra_accepts_int32(backend):
    g = _diamond()
    cost, _ = kernels.dijkstra(g.indptr.astype(np.int32), g.indices.astype(np.int32), g.weights, 0)
    np.testing.assert_array_equal(cost, [0.0, 1.0, 1.0, 2.0, np.inf])


@settings(max_examples=150, deadline=None)
@given(g=graphs(), data=st.data())
def test_dijkstra_backends_agree(g, data):
    source = data.draw(st.integers(0, g.n - 1))
    cutoff = data.draw(st.sampled_from([None, 0.0, 1.0, 3.0, 10.0]))
    results = on_both(kernels.dijkstra, g.indptr, g.indices, g.weights, source, cutoff=cutoff)
    expected = brute_force_costs(g, source)
    if cutoff is not None:
        expected[expected > cutoff] = np.inf
    for cost, pred in results.values():
        np.testing.assert_array_equal(cost, expected)
        check_tree_to_source(g, cost, pred, source)


def _coordinates(g: Graph, data) -> tuple[np.ndarray, np.ndarray, Graph]:
    """Coordinates on a small grid, and weights raised to the straight-line time at 1 m/s so
    that the heuristic is admissible (zero-cost edges survive between coincident nodes)."""
    xy = st.integers(0, 3).map(float)
    x = np.array(data.draw(st.lists(xy, min_size=g.n, max_size=g.n)))
    y = np.array(data.draw(st.lists(xy, min_size=g.n, max_size=g.n)))
    length = np.hypot(x[g.tail] - x[g.indices], y[g.tail] - y[g.indices])
    return x, y, Graph(g.indptr, g.indices, np.maximum(g.weights, length), g.tail)


@settings(max_examples=150, deadline=None)
@given(g=graphs(), data=st.data())
def test_astar_backends_agree(g, data):
    x, y, g = _coordinates(g, data)
    source = data.draw(st.integers(0, g.n - 1))
    target = data.draw(st.integers(0, g.n - 1))
    expected = brute_force_costs(g, source)[target]
    results = on_both(
        kernels.astar, g.indptr, g.indices, g.weights, source, target, x=x, y=y, max_speed=1.0
    )
    for cost, path in results.values():
        assert cost == pytest.approx(expected) or (np.isinf(cost) and np.isinf(expected))
        check_path(g, source, target, cost, path, exact=False)


def test_astar_by_hand(backend):
    g = _diamond()
    x = np.array([0.0, 0.5, 0.5, 1.0, 5.0])
    y = np.zeros(5)
    cost, path = kernels.astar(g.indptr, g.indices, g.weights, 0, 3, x=x, y=y, max_speed=1.0)
    assert cost == 2.0
    np.testing.assert_array_equal(path.nodes, [0, 1, 3])
    np.testing.assert_array_equal(path.edges, [0, 3])  # CSR order: 0->1 is 0, 1->3 is 3
    cost, path = kernels.astar(g.indptr, g.indices, g.weights, 3, 3, x=x, y=y, max_speed=1.0)
    assert cost == 0.0
    np.testing.assert_array_equal(path.nodes, [3])
    assert len(path.edges) == 0
    cost, path = kernels.astar(g.indptr, g.indices, g.weights, 0, 4, x=x, y=y, max_speed=1.0)
    assert np.isinf(cost) and len(path.nodes) == 0


def test_astar_reopens_nodes_for_inconsistent_heuristic(backend):
    # h(2) = 6 is admissible (2 is 12 from the target) but not consistent, so node 1 is
    # first settled through 0 -> 1 (5) and must be reopened when 0 -> 2 -> 3 -> 1 (3) is found.
    g = Graph.from_edges(5, [(0, 1, 5.0), (0, 2, 1.0), (2, 3, 1.0), (3, 1, 1.0), (1, 4, 10.0)])
    x = np.array([0.0, 0.0, 6.0, 1.0, 0.0])
    y = np.zeros(5)
    expected = brute_force_costs(g, 0)[4]
    cost, path = kernels.astar(g.indptr, g.indices, g.weights, 0, 4, x=x, y=y, max_speed=1.0)
    assert cost == expected == 13.0
    np.testing.assert_array_equal(path.nodes, [0, 2, 3, 1, 4])


def test_workspace_pool_is_restored():
    """The compiled kernels leave pooled workspaces with dist = inf and heap_pos = -1."""
    from kernels import workspace

    g = Graph.from_edges(4, [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (0, 3, 10.0)])
    with use_backend("cython"):
        kernels.dijkstra(g.indptr, g.indices, g.weights, 0, cutoff=1.5)
        kernels.astar(
            g.indptr, g.indices, g.weights, 0, 1, x=np.zeros(4), y=np.zeros(4), max_speed=1.0
        )
        kernels.cost_matrix(g.indptr, g.indices, g.weights, [0, 1], [1])
        kernels.isochrone(g.indptr, g.indices, g.weights, [0], 1.0)
    pooled = [ws for free in workspace._POOL.values() for ws in free if ws.n == 4]
    assert pooled
    for ws in pooled:
        assert np.isinf(ws.dist).all()
        assert (ws.heap_pos == -1).all()


@settings(max_examples=100, deadline=None)
@given(g=graphs(), data=st.data())
def test_astar_with_consistent_speed_is_exact(g, data):
    """Any weights and coordinates: the speed from consistent_speed keeps A* exact."""
    xy = st.integers(0, 3).map(float)
    x = np.array(data.draw(st.lists(xy, min_size=g.n, max_size=g.n)))
    y = np.array(data.draw(st.lists(xy, min_size=g.n, max_size=g.n)))
    speed = kernels.consistent_speed(g.indptr, g.indices, g.weights, x=x, y=y)
    length = np.hypot(x[g.tail] - x[g.indices], y[g.tail] - y[g.indices])
    if np.isfinite(speed):
        assert (g.weights * speed >= length * (1 - 1e-12)).all()
    source, target = data.draw(st.integers(0, g.n - 1)), data.draw(st.integers(0, g.n - 1))
    expected = brute_force_costs(g, source)[target]
    for cost, path in on_both(
        kernels.astar, g.indptr, g.indices, g.weights, source, target, x=x, y=y, max_speed=speed
    ).values():
        assert cost == pytest.approx(expected) or (np.isinf(cost) and np.isinf(expected))
        check_path(g, source, target, cost, path, exact=False)


def test_consistent_speed_by_hand():
    # 0 -> 1: 10 m in 2 s (5 m/s); 1 -> 2: 30 m in 3 s (10 m/s); 2 -> 0 closed
    g = Graph.from_edges(3, [(0, 1, 2.0), (1, 2, 3.0), (2, 0, np.inf)])
    x, y = np.array([0.0, 10.0, 10.0]), np.array([0.0, 0.0, 30.0])
    assert kernels.consistent_speed(g.indptr, g.indices, g.weights, x=x, y=y) == 10.0
    free = Graph.from_edges(3, [(0, 1, 0.0)])
    assert np.isinf(kernels.consistent_speed(free.indptr, free.indices, free.weights, x=x, y=y))
    cost, path = kernels.astar(
        free.indptr, free.indices, free.weights, 0, 1, x=x, y=y, max_speed=np.inf
    )
    assert cost == 0.0 and path.nodes.tolist() == [0, 1]


@settings(max_examples=100, deadline=None)
@given(g=graphs(), data=st.data())
def test_astar_without_straight_line_bound_is_exact(g, data):
    """``max_speed=inf`` turns the bound off: A* is Dijkstra stopped at the target."""
    x = np.zeros(g.n)
    source, target = data.draw(st.integers(0, g.n - 1)), data.draw(st.integers(0, g.n - 1))
    expected = brute_force_costs(g, source)[target]
    for cost, path in on_both(
        kernels.astar, g.indptr, g.indices, g.weights, source, target, x=x, y=x, max_speed=np.inf
    ).values():
        assert cost == expected
        check_path(g, source, target, cost, path, exact=False)


def test_astar_repeated_calls_follow_new_weights(backend):
    """Cached checks are per array: a new weights array (or one edited in place) is used."""
    g = _diamond()
    x = np.array([0.0, 0.5, 0.5, 1.0, 5.0])
    y = np.zeros(5)
    w = g.weights.copy()
    assert kernels.astar(g.indptr, g.indices, w, 0, 3, x=x, y=y, max_speed=1.0)[0] == 2.0
    w[3] = 10.0  # 1 -> 3 slower: the route through 2 (cost 5) wins
    cost, path = kernels.astar(g.indptr, g.indices, w, 0, 3, x=x, y=y, max_speed=1.0)
    assert cost == 5.0 and path.nodes.tolist() == [0, 2, 3]
    closed = np.full_like(w, np.inf)
    assert np.isinf(kernels.astar(g.indptr, g.indices, closed, 0, 3, x=x, y=y, max_speed=1.0)[0])
