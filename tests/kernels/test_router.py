"""A Router gives the free functions' answers and keeps its buffers across calls."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from tests.kernels.graphs import brute_force_costs, graphs, use_backend


@settings(max_examples=60, deadline=None)
@given(g=graphs(), data=st.data())
def test_router_matches_free_functions(g, data):
    node = st.integers(0, g.n - 1)
    s, t = data.draw(node), data.draw(node)
    nodes = np.array(data.draw(st.lists(node, min_size=1, max_size=4)), dtype=np.int64)
    x = np.zeros(g.n)
    for backend in ("python", "cython"):
        with use_backend(backend):
            router = kernels.Router(g.indptr, g.indices, x=x, y=x)
            w = g.weights
            for _ in range(2):  # the second call reuses the router's buffers
                np.testing.assert_array_equal(
                    router.dijkstra(w, s)[0], kernels.dijkstra(g.indptr, g.indices, w, s)[0]
                )
                assert (
                    router.astar(w, s, t, max_speed=1.0)[0]
                    == kernels.astar(g.indptr, g.indices, w, s, t, x=x, y=x, max_speed=1.0)[0]
                )
                np.testing.assert_array_equal(
                    router.cost_matrix(w, nodes, nodes),
                    kernels.cost_matrix(g.indptr, g.indices, w, nodes, nodes),
                )
                np.testing.assert_array_equal(
                    np.sort(router.isochrone(w, nodes, 3.0).nodes),
                    np.sort(kernels.isochrone(g.indptr, g.indices, w, nodes, 3.0).nodes),
                )
                np.testing.assert_array_equal(
                    router.next_hops(w, nodes)[0],
                    kernels.next_hops(g.indptr, g.indices, w, nodes)[0],
                )
            # with landmarks (kept by the router, or passed to the free function)
            lm = router.prepare_landmarks(w, k=2)
            expected = brute_force_costs(g, s)[t]
            for _ in range(2):
                assert router.astar(w, s, t, max_speed=1.0)[0] == expected
                assert router.astar(w, s, t, max_speed=np.inf, landmarks=lm)[0] == expected
                assert (
                    kernels.astar(
                        g.indptr, g.indices, w, s, t, x=x, y=x, max_speed=1.0, landmarks=lm
                    )[0]
                    == expected
                )


def test_router_next_hops_refills_out_when_weights_change(backend):
    g_indptr = np.array([0, 1, 2, 2])
    g_indices = np.array([1, 2])
    router = kernels.Router(g_indptr, g_indices)
    out = router.next_hops(np.array([1.0, 1.0]), [2])
    again = router.next_hops(np.array([1.0, np.inf]), [2], out=out)
    assert again[0] is out[0]
    np.testing.assert_array_equal(again[0], [[np.inf, np.inf, 0.0]])
    np.testing.assert_array_equal(again[1], [[-1, -1, -1]])
