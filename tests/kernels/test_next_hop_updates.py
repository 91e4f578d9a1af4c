"""Incremental next-hop updates: a repaired tree is exact, as a fresh one; both backends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from kernels.errors import KernelInputError
from tests.kernels.graphs import EXACT_WEIGHTS, Graph, check_next_hops, graphs, on_both


def _fresh(g: Graph, weights: np.ndarray, targets) -> tuple[np.ndarray, np.ndarray]:
    cost, next_edge = kernels.next_hops(g.indptr, g.indices, weights, targets)
    return cost, next_edge.astype(np.int32)


def test_update_by_hand(backend):
    # 0 -> 1 -> 2 (1 + 1) beats 0 -> 2 (5) until 1 -> 2 becomes dear; then 3 -> 2 gets cheap
    g = Graph.from_edges(
        4, [(0, 1, 1.0), (0, 2, 5.0), (1, 2, 1.0), (3, 2, 9.0), (0, 3, 1.0), (1, 0, 1.0)]
    )
    cost, next_edge = _fresh(g, g.weights, [2])
    np.testing.assert_array_equal(cost, [[2.0, 1.0, 0.0, 9.0]])
    new = g.weights.copy()
    e12 = int(np.flatnonzero((g.tail == 1) & (g.indices == 2))[0])
    e32 = int(np.flatnonzero((g.tail == 3) & (g.indices == 2))[0])
    new[e12], new[e32] = 10.0, 0.5
    settled = kernels.update_next_hops(
        g.indptr, g.indices, new, g.weights, np.array([e12, e32]), cost, next_edge
    )
    np.testing.assert_array_equal(cost, [[1.5, 2.5, 0.0, 0.5]])
    gnew = Graph(g.indptr, g.indices, new, g.tail)
    check_next_hops(gnew, 2, cost[0], next_edge[0])
    assert settled >= 3


def test_an_update_without_effect_changes_nothing(backend):
    g = Graph.from_edges(3, [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 5.0)])
    cost, next_edge = _fresh(g, g.weights, [2])
    before = cost.copy(), next_edge.copy()
    new = g.weights.copy()
    new[1] = 6.0  # 0 -> 2 gets dearer: not in the tree
    assert kernels.update_next_hops(g.indptr, g.indices, new, g.weights, [1], cost, next_edge) == 0
    np.testing.assert_array_equal(cost, before[0])
    np.testing.assert_array_equal(next_edge, before[1])


def test_bad_tables_are_refused():
    g = Graph.from_edges(3, [(0, 1, 1.0), (1, 2, 1.0)])
    cost, next_edge = _fresh(g, g.weights, [2])
    with pytest.raises(KernelInputError, match="int32"):
        kernels.update_next_hops(
            g.indptr, g.indices, g.weights, g.weights, [0], cost, next_edge.astype(np.int64)
        )


@settings(max_examples=150, deadline=None)
@given(g=graphs(), data=st.data())
def test_updated_trees_equal_fresh_trees(g, data):
    targets = data.draw(st.lists(st.integers(0, g.n - 1), min_size=1, max_size=4))
    new = g.weights.copy()
    changed = np.array(
        data.draw(st.lists(st.integers(0, max(g.m - 1, 0)), max_size=g.m, unique=True))
        if g.m
        else [],
        dtype=np.int64,
    )
    for e in changed.tolist():
        new[e] = data.draw(EXACT_WEIGHTS)
    gnew = Graph(g.indptr, g.indices, new, g.tail)

    def run():
        cost, next_edge = _fresh(g, g.weights, targets)
        kernels.update_next_hops(g.indptr, g.indices, new, g.weights, changed, cost, next_edge)
        return cost, next_edge

    results = on_both(run)
    fresh_cost, _ = _fresh(gnew, new, targets)
    for cost, next_edge in results.values():
        np.testing.assert_array_equal(cost, fresh_cost)  # exact: the same sums
        for row, t in enumerate(targets):
            check_next_hops(gnew, t, cost[row], next_edge[row])


def test_updates_follow_many_epochs_on_a_grid():
    """Repeated updates track a weight vector that drifts, on a 12 x 12 grid."""
    rng = np.random.default_rng(5)
    n = 12
    edges = []
    for j in range(n):
        for i in range(n):
            here = j * n + i
            if i + 1 < n:
                edges += [(here, here + 1, 1.0), (here + 1, here, 1.0)]
            if j + 1 < n:
                edges += [(here, here + n, 1.0), (here + n, here, 1.0)]
    g = Graph.from_edges(n * n, edges)
    weights = rng.uniform(10.0, 20.0, g.m)
    targets = rng.choice(n * n, 20, replace=False)
    cost, next_edge = _fresh(Graph(g.indptr, g.indices, weights, g.tail), weights, targets)
    for _ in range(30):
        changed = np.sort(rng.choice(g.m, 15, replace=False))
        new = weights.copy()
        new[changed] *= rng.choice([0.5, 0.9, 1.1, 3.0, np.inf], 15)
        kernels.update_next_hops(g.indptr, g.indices, new, weights, changed, cost, next_edge)
        weights = new
    gnow = Graph(g.indptr, g.indices, weights, g.tail)
    fresh, _ = _fresh(gnow, weights, targets)
    np.testing.assert_allclose(cost, fresh, rtol=1e-12)
    for row, t in enumerate(targets.tolist()):
        check_next_hops(gnow, t, cost[row], next_edge[row])
