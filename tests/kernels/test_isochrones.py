"""Isochrones: reachable nodes, their costs and the edges travelled within the limit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from tests.kernels.graphs import Graph, brute_force_costs, graphs, on_both


def test_isochrone_by_hand(backend):
    #  0 -1-> 1 -2-> 2 -5-> 3 ; 4 -1-> 0 (4 cannot be reached)
    g = Graph.from_edges(5, [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 5.0), (4, 0, 1.0)])
    iso = kernels.isochrone(g.indptr, g.indices, g.weights, 0, 3.0)
    np.testing.assert_array_equal(iso.nodes, [0, 1, 2])
    np.testing.assert_array_equal(iso.costs, [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(np.sort(iso.edges), [0, 1])  # 2 -> 3 would end at 8 s


def test_isochrone_several_sources(backend):
    g = Graph.from_edges(4, [(0, 1, 4.0), (2, 1, 1.0), (1, 3, 1.0)])
    iso = kernels.isochrone(g.indptr, g.indices, g.weights, [0, 2], 2.0)
    assert dict(zip(iso.nodes.tolist(), iso.costs.tolist(), strict=True)) == {
        0: 0.0,
        2: 0.0,
        1: 1.0,
        3: 2.0,
    }


@settings(max_examples=150, deadline=None)
@given(g=graphs(), data=st.data())
def test_isochrone_backends_agree(g, data):
    node = st.integers(0, g.n - 1)
    sources = np.array(data.draw(st.lists(node, min_size=1, max_size=3)), dtype=np.int64)
    limit = data.draw(st.sampled_from([0.0, 1.0, 2.5, 10.0, np.inf]))
    cost = brute_force_costs(g, sources)
    inside = np.flatnonzero((cost <= limit) & np.isfinite(cost))
    ends = cost[g.tail] + g.weights
    edges = np.flatnonzero((ends <= limit) & np.isfinite(ends))
    for iso in on_both(kernels.isochrone, g.indptr, g.indices, g.weights, sources, limit).values():
        np.testing.assert_array_equal(np.sort(iso.nodes), inside)
        np.testing.assert_array_equal(iso.costs, cost[iso.nodes])
        assert (np.diff(iso.costs) >= 0).all(), "nodes come in order of cost"
        np.testing.assert_array_equal(np.sort(iso.edges), edges)
