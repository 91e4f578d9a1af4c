"""Many-to-many cost matrices: both backends, by hand and against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from tests.kernels.graphs import Graph, brute_force_costs, graphs, on_both


def test_cost_matrix_by_hand(backend):
    g = Graph.from_edges(4, [(0, 1, 1.0), (1, 2, 2.0), (2, 0, 3.0), (0, 0, 0.0)])
    out = kernels.cost_matrix(g.indptr, g.indices, g.weights, [0, 2, 3], [2, 0, 3, 2])
    np.testing.assert_array_equal(
        out,
        [
            [3.0, 0.0, np.inf, 3.0],
            [0.0, 3.0, np.inf, 0.0],
            [np.inf, np.inf, 0.0, np.inf],
        ],
    )


def test_cost_matrix_empty_sides(backend):
    g = Graph.from_edges(2, [(0, 1, 1.0)])
    assert kernels.cost_matrix(g.indptr, g.indices, g.weights, [], [0, 1]).shape == (0, 2)
    assert kernels.cost_matrix(g.indptr, g.indices, g.weights, [0], []).shape == (1, 0)


@settings(max_examples=150, deadline=None)
@given(g=graphs(), data=st.data())
def test_cost_matrix_backends_agree(g, data):
    node = st.integers(0, g.n - 1)
    sources = np.array(data.draw(st.lists(node, max_size=6)), dtype=np.int64)
    targets = np.array(data.draw(st.lists(node, max_size=6)), dtype=np.int64)
    cutoff = data.draw(st.sampled_from([None, 2.0, 10.0]))
    expected = np.empty((len(sources), len(targets)))
    for i, s in enumerate(sources):
        expected[i] = brute_force_costs(g, s)[targets]
    if cutoff is not None:
        expected[expected > cutoff] = np.inf
    results = on_both(
        kernels.cost_matrix, g.indptr, g.indices, g.weights, sources, targets, cutoff=cutoff
    )
    for out in results.values():
        np.testing.assert_array_equal(out, expected)
