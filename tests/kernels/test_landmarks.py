"""ALT landmarks: exact tables, exact A* costs on both backends, and refusal of unsafe use."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kernels
from kernels.astar_search import LandmarkWeightError
from kernels.errors import KernelInputError
from tests.kernels.graphs import (
    EXACT_WEIGHTS,
    Graph,
    brute_force_costs,
    check_path,
    graphs,
    on_both,
    use_backend,
)


@st.composite
def dense_graphs(draw) -> Graph:
    """Graphs with several routes between most pairs (where a loose bound shows)."""
    n = draw(st.integers(3, 10))
    node = st.integers(0, n - 1)
    weight = st.sampled_from([0.5, 1.0, 2.0, 3.0, 4.5, 10.0])
    edges = draw(st.lists(st.tuples(node, node, weight), min_size=2 * n, max_size=5 * n))
    return Graph.from_edges(n, edges)


#: The shared edge cases (single node, parts, inf, zero cost) and dense graphs.
ALL_GRAPHS = st.one_of(graphs(), dense_graphs())


def _reversed(g: Graph) -> Graph:
    return Graph.from_edges(g.n, list(zip(g.indices, g.tail, g.weights, strict=True)))


def _line(n: int, weight: float = 1.0) -> Graph:
    """0 <-> 1 <-> ... <-> n-1, every edge ``weight``."""
    edges = [(i, i + 1, weight) for i in range(n - 1)] + [(i + 1, i, weight) for i in range(n - 1)]
    return Graph.from_edges(n, edges)


@settings(max_examples=80, deadline=None)
@given(g=ALL_GRAPHS, k=st.integers(1, 5))
def test_tables_are_exact_costs(g, k):
    for lm in on_both(kernels.prepare_landmarks, g.indptr, g.indices, g.weights, k=k).values():
        assert 1 <= lm.k <= min(k, g.n)
        assert len(set(lm.nodes.tolist())) == lm.k  # distinct
        assert lm.from_landmark.shape == lm.to_landmark.shape == (g.n, lm.k)
        back = _reversed(g)
        for i, node in enumerate(lm.nodes.tolist()):
            np.testing.assert_array_equal(lm.from_landmark[:, i], brute_force_costs(g, node))
            np.testing.assert_array_equal(lm.to_landmark[:, i], brute_force_costs(back, node))
        assert not lm.from_landmark.flags.writeable and not lm.weights.flags.writeable


def test_farthest_selection_spreads_out(backend):
    g = _line(9)
    lm = kernels.prepare_landmarks(g.indptr, g.indices, g.weights, k=3)
    # farthest from 0 is 8; farthest from 8 is 0; then the middle
    assert lm.nodes.tolist() == [8, 0, 4]
    # on a line the bound is exact: the two end landmarks pin every distance
    for v in range(9):
        assert lm.bound(v, 2) == abs(v - 2)


@settings(max_examples=150, deadline=None)
@given(g=ALL_GRAPHS, data=st.data())
def test_astar_with_landmarks_is_exact_on_both_backends(g, data):
    """Tables from base weights, routing on weights that are no lower (extra cost, closures);
    every source-target pair, so that the few graphs with alternative routes are searched."""
    k = data.draw(st.integers(1, 4))
    extra = np.array(data.draw(st.lists(EXACT_WEIGHTS, min_size=g.m, max_size=g.m)))
    raise_some = np.array(data.draw(st.lists(st.booleans(), min_size=g.m, max_size=g.m)))
    routed = Graph(g.indptr, g.indices, g.weights + np.where(raise_some, extra, 0.0), g.tail)
    lm = kernels.prepare_landmarks(g.indptr, g.indices, g.weights, k=k)
    xy = st.integers(0, 3).map(float)
    x = np.array(data.draw(st.lists(xy, min_size=g.n, max_size=g.n)))
    y = np.array(data.draw(st.lists(xy, min_size=g.n, max_size=g.n)))
    speed = kernels.consistent_speed(g.indptr, g.indices, g.weights, x=x, y=y)
    max_speed = data.draw(st.sampled_from([np.inf, speed]))
    for source in range(g.n):
        expected = brute_force_costs(routed, source)
        for target in range(g.n):
            results = on_both(
                kernels.astar,
                g.indptr,
                g.indices,
                routed.weights,
                source,
                target,
                x=x,
                y=y,
                max_speed=max_speed,
                landmarks=lm,
            )
            for cost, path in results.values():
                assert cost == expected[target]
                check_path(routed, source, target, cost, path)


@settings(max_examples=60, deadline=None)
@given(g=ALL_GRAPHS, data=st.data())
def test_router_uses_its_landmarks_and_matches_free_function(g, data):
    node = st.integers(0, g.n - 1)
    x = np.zeros(g.n)
    for backend in ("python", "cython"):
        with use_backend(backend):
            router = kernels.Router(g.indptr, g.indices, x=x, y=x)
            lm = router.prepare_landmarks(g.weights, k=data.draw(st.integers(1, 3)))
            assert router.landmarks is lm
            for _ in range(3):
                s, t = data.draw(node), data.draw(node)
                expected = brute_force_costs(g, s)[t]
                cost, path = router.astar(g.weights, s, t, max_speed=np.inf)
                assert cost == expected
                check_path(g, s, t, cost, path)
                free, _ = kernels.astar(
                    g.indptr, g.indices, g.weights, s, t, x=x, y=x, max_speed=1.0, landmarks=lm
                )
                assert free == expected


def test_lower_weights_refused_by_free_function_router_falls_back(backend):
    g = _line(6, weight=2.0)
    x = np.arange(6.0)
    lm = kernels.prepare_landmarks(g.indptr, g.indices, g.weights, k=2)
    lower = g.weights / 2  # landmarks would overestimate by 2x
    with pytest.raises(KernelInputError, match="below"):
        kernels.astar(g.indptr, g.indices, lower, 0, 5, x=x, y=x, max_speed=np.inf, landmarks=lm)
    router = kernels.Router(g.indptr, g.indices, x=x, y=x)
    router.prepare_landmarks(g.weights, k=2)
    cost, path = router.astar(lower, 0, 5, max_speed=np.inf)  # own tables skipped: still exact
    assert cost == 5.0 and path.nodes.tolist() == list(range(6))
    with pytest.raises(KernelInputError, match="below"):
        router.astar(lower, 0, 5, max_speed=np.inf, landmarks=router.landmarks)
    # higher weights (congestion) keep using the tables
    assert router.astar(g.weights * 3, 0, 5, max_speed=np.inf)[0] == 30.0


def test_landmarks_of_another_graph_refused(backend):
    a, b = _line(5), _line(6)
    lm = kernels.prepare_landmarks(a.indptr, a.indices, a.weights, k=2)
    x = np.zeros(6)
    with pytest.raises(KernelInputError, match=r"another graph|not this one"):
        kernels.astar(b.indptr, b.indices, b.weights, 0, 5, x=x, y=x, max_speed=1.0, landmarks=lm)
    # same size, different heads
    c = Graph.from_edges(5, [(0, 2, 1.0)] * 8)
    with pytest.raises(KernelInputError, match="another graph"):
        kernels.astar(
            c.indptr, c.indices, c.weights, 0, 2, x=x[:5], y=x[:5], max_speed=1.0, landmarks=lm
        )
    with pytest.raises(KernelInputError, match="prepare_landmarks"):
        kernels.astar(
            a.indptr, a.indices, a.weights, 0, 1, x=x[:5], y=x[:5], max_speed=1.0, landmarks="no"
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be"),
        ({"k": 65}, "k must be"),
        ({"k": 2.5}, "k must be"),
        ({"nodes": [0, 9]}, "not a node"),
        ({"nodes": []}, "empty"),
    ],
)
def test_prepare_landmarks_bad_arguments(kwargs, message, backend):
    g = _line(4)
    with pytest.raises(KernelInputError, match=message):
        kernels.prepare_landmarks(g.indptr, g.indices, g.weights, **kwargs)
    with pytest.raises(KernelInputError, match=message):
        kernels.Router(g.indptr, g.indices).prepare_landmarks(g.weights, **kwargs)


def test_given_nodes_are_used(backend):
    g = _line(5)
    lm = kernels.prepare_landmarks(g.indptr, g.indices, g.weights, nodes=[2])
    assert lm.nodes.tolist() == [2]
    np.testing.assert_array_equal(lm.from_landmark[:, 0], [2, 1, 0, 1, 2])


def test_in_place_lowering_below_tables_is_caught_by_the_compiled_search():
    """A weight lowered in place where the cached fingerprint does not look is still caught."""
    g = _line(100, weight=2.0)  # 198 edges: the fingerprint samples every third
    x = np.zeros(100)
    lm = kernels.prepare_landmarks(g.indptr, g.indices, g.weights, k=2)
    w = g.weights.copy()
    with use_backend("cython"):
        assert kernels.astar(g.indptr, g.indices, w, 0, 99, x=x, y=x, max_speed=1.0, landmarks=lm)[
            0
        ] == pytest.approx(198.0)
        w[1] = 1.0  # edge 1 -> 2, not a sampled entry
        with pytest.raises(LandmarkWeightError):
            kernels.astar(g.indptr, g.indices, w, 0, 99, x=x, y=x, max_speed=1.0, landmarks=lm)
        router = kernels.Router(g.indptr, g.indices, x=x, y=x)
        router.landmarks = lm
        w2 = g.weights.copy()
        router.astar(w2, 0, 99, max_speed=1.0)
        w2[1] = 1.0
        assert router.astar(w2, 0, 99, max_speed=1.0)[0] == 197.0  # fell back, still exact


def _record_landmarks(monkeypatch) -> list:
    """Record the tables each A* search runs with."""
    from kernels import astar_search

    seen: list = []
    run = astar_search._astar_run

    def spy(*args):
        seen.append(args[-1])
        return run(*args)

    monkeypatch.setattr(astar_search, "_astar_run", spy)
    return seen


def test_free_astar_reuses_live_tables_of_the_same_arrays(backend, monkeypatch):
    import gc

    from kernels.landmarks import find_landmarks

    g = _line(30, weight=2.0)
    x = np.zeros(30)
    seen = _record_landmarks(monkeypatch)
    assert kernels.astar(g.indptr, g.indices, g.weights, 0, 29, x=x, y=x, max_speed=1.0)[0] == 58
    assert seen[-1] is None  # nothing prepared yet
    lm = kernels.prepare_landmarks(g.indptr, g.indices, g.weights, k=2)
    slow = g.weights * 2
    for w, expected in ((g.weights, 58.0), (slow, 116.0)):
        assert kernels.astar(g.indptr, g.indices, w, 0, 29, x=x, y=x, max_speed=1.0)[0] == expected
        assert seen[-1] is lm
    # opting out, lower weights, or a copy of the topology: straight line only
    assert kernels.astar(
        g.indptr, g.indices, slow, 0, 29, x=x, y=x, max_speed=1.0, landmarks=False
    )[0] == pytest.approx(116.0)
    assert seen[-1] is None
    fast = g.weights / 2
    assert kernels.astar(g.indptr, g.indices, fast, 0, 29, x=x, y=x, max_speed=1.0)[0] == 29.0
    assert seen[-1] is None
    kernels.astar(g.indptr.copy(), g.indices, g.weights, 0, 29, x=x, y=x, max_speed=1.0)
    assert seen[-1] is None
    # the registry is weak: dropped tables are not used any more
    seen.clear()
    del lm
    gc.collect()
    assert find_landmarks(g.indptr, g.indices, g.weights) is None


def test_tables_are_not_reused_after_the_topology_is_edited_in_place(backend):
    from kernels.landmarks import find_landmarks

    g = _line(6)
    indices = g.indices.copy()
    lm = kernels.prepare_landmarks(g.indptr, indices, g.weights, k=2)
    assert find_landmarks(g.indptr, indices, g.weights) is lm
    indices[0] = 2  # 0 -> 2 instead of 0 -> 1 (sampled: every entry of a small array)
    assert find_landmarks(g.indptr, indices, g.weights) is None
    with pytest.raises(KernelInputError, match="edited in place"):
        kernels.astar(
            g.indptr,
            indices,
            g.weights,
            0,
            5,
            x=np.zeros(6),
            y=np.zeros(6),
            max_speed=1.0,
            landmarks=lm,
        )


def test_router_landmarks_false_uses_the_straight_line(backend, monkeypatch):
    g = _line(8)
    x = np.zeros(8)
    router = kernels.Router(g.indptr, g.indices, x=x, y=x)
    lm = router.prepare_landmarks(g.weights, k=2)
    seen = _record_landmarks(monkeypatch)
    assert router.astar(g.weights, 0, 7, max_speed=1.0)[0] == 7.0
    assert router.astar(g.weights, 0, 7, max_speed=1.0, landmarks=False)[0] == 7.0
    assert router.astar(g.weights, 0, 7, max_speed=1.0, landmarks=lm)[0] == 7.0
    assert seen == [lm, None, lm]
