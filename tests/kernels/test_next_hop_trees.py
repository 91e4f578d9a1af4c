"""Next-hop trees: cost to each target and the edge to take next, both backends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from kernels.errors import KernelInputError
from tests.kernels.graphs import Graph, brute_force_costs, check_next_hops, graphs, on_both


def _costs_to(g: Graph, target: int) -> np.ndarray:
    reverse = Graph.from_edges(
        g.n, list(zip(g.indices.tolist(), g.tail.tolist(), g.weights.tolist(), strict=True))
    )
    return brute_force_costs(reverse, target)


def test_next_hops_by_hand(backend):
    # 0 -> 1 -> 2 (1 + 1) beats 0 -> 2 (5); 3 is cut off; the self-loop is never taken
    g = Graph.from_edges(4, [(0, 1, 1.0), (0, 2, 5.0), (1, 2, 1.0), (2, 2, 0.0), (2, 0, 1.0)])
    cost, next_edge = kernels.next_hops(g.indptr, g.indices, g.weights, [2, 0])
    np.testing.assert_array_equal(cost, [[2.0, 1.0, 0.0, np.inf], [0.0, 2.0, 1.0, np.inf]])
    # edges in CSR order: 0:(0->1) 1:(0->2) 2:(1->2) 3:(2->2) 4:(2->0)
    np.testing.assert_array_equal(next_edge, [[0, 2, -1, -1], [-1, 2, 4, -1]])


def test_next_hops_reuses_out_and_reverse(backend):
    g = Graph.from_edges(3, [(0, 1, 1.0), (1, 2, 1.0)])
    reverse = kernels.reverse_csr(g.indptr, g.indices)
    out = (np.full((2, 3), -7.0), np.full((2, 3), -7, dtype=np.int64))
    cost, next_edge = kernels.next_hops(
        g.indptr, g.indices, g.weights, [2, 1], reverse=reverse, out=out
    )
    assert cost is out[0] and next_edge is out[1]
    np.testing.assert_array_equal(cost, [[2.0, 1.0, 0.0], [1.0, 0.0, np.inf]])
    np.testing.assert_array_equal(next_edge, [[0, 1, -1], [0, -1, -1]])


def test_next_hops_rejects_bad_out_and_reverse():
    g = Graph.from_edges(3, [(0, 1, 1.0), (1, 2, 1.0)])
    with pytest.raises(KernelInputError, match="shape"):
        kernels.next_hops(
            g.indptr,
            g.indices,
            g.weights,
            [2],
            out=(np.zeros((2, 3)), np.zeros((2, 3), dtype=np.int64)),
        )
    other = kernels.reverse_csr(np.array([0, 0]), np.array([], dtype=np.int64))
    with pytest.raises(KernelInputError, match="does not match"):
        kernels.next_hops(g.indptr, g.indices, g.weights, [2], reverse=other)


@settings(max_examples=150, deadline=None)
@given(g=graphs(), data=st.data())
def test_next_hops_backends_agree(g, data):
    targets = np.array(data.draw(st.lists(st.integers(0, g.n - 1), max_size=5)), dtype=np.int64)
    for cost, next_edge in on_both(
        kernels.next_hops, g.indptr, g.indices, g.weights, targets
    ).values():
        assert cost.shape == next_edge.shape == (len(targets), g.n)
        for row, t in enumerate(targets):
            np.testing.assert_array_equal(cost[row], _costs_to(g, t))
            check_next_hops(g, int(t), cost[row], next_edge[row])
