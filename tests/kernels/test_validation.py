"""Bad input raises KernelInputError (a TwinError and a ValueError) with a clear message."""

from __future__ import annotations

import numpy as np
import pytest

import kernels
from kernels import validation
from kernels.errors import KernelInputError, TwinError
from tests.kernels.graphs import use_backend

INDPTR = np.array([0, 2, 3, 3], dtype=np.int64)
INDICES = np.array([1, 2, 2], dtype=np.int64)
WEIGHTS = np.array([1.0, 5.0, 1.0])
XY = np.zeros(3)


def _all_kernels(indptr=INDPTR, indices=INDICES, weights=WEIGHTS, node=0):
    """Call every public kernel with these arguments."""
    return [
        lambda: kernels.dijkstra(indptr, indices, weights, node),
        lambda: kernels.astar(indptr, indices, weights, node, 0, x=XY, y=XY, max_speed=1.0),
        lambda: kernels.cost_matrix(indptr, indices, weights, [node], [0]),
        lambda: kernels.isochrone(indptr, indices, weights, [node], 10.0),
        lambda: kernels.next_hops(indptr, indices, weights, [node]),
        lambda: kernels.Router(indptr, indices).dijkstra(weights, node),
    ]


BAD = {
    "negative weight": ({"weights": np.array([1.0, -1.0, 1.0])}, "must be >= 0"),
    "NaN weight": ({"weights": np.array([1.0, np.nan, 1.0])}, "not NaN"),
    "short weights": ({"weights": np.array([1.0, 1.0])}, "one weight per edge"),
    "2-D weights": ({"weights": np.ones((3, 1))}, "1-D"),
    "string weights": ({"weights": np.array(["a", "b", "c"])}, "real numbers"),
    "float indptr": ({"indptr": INDPTR.astype(float)}, "integers"),
    "2-D indices": ({"indices": INDICES.reshape(1, 3)}, "1-D"),
    "head out of range": ({"indices": np.array([1, 7, 2])}, r"indices\[1\] = 7"),
    "negative head": ({"indices": np.array([1, -1, 2])}, r"indices\[1\] = -1"),
    "indptr too long": ({"indptr": np.array([0, 2, 3, 3, 3, 4])}, "end at len"),
    "indptr decreasing": ({"indptr": np.array([0, 2, 1, 3])}, "non-decreasing"),
    "empty indptr": ({"indptr": np.array([0])}, "n \\+ 1 >= 2"),
    "node out of range": ({"node": 3}, "not a node"),
    "negative node": ({"node": -1}, "not a node"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_raises(case, backend):
    kwargs, message = BAD[case]
    for call in _all_kernels(**kwargs):
        with pytest.raises(KernelInputError, match=message):
            call()


def test_error_is_twin_error_and_value_error():
    with pytest.raises(TwinError):
        kernels.dijkstra(INDPTR, INDICES, -WEIGHTS, 0)
    with pytest.raises(ValueError, match=r"expected 0\.\.2"):
        kernels.dijkstra(INDPTR, INDICES, WEIGHTS, 5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: kernels.dijkstra(INDPTR, INDICES, WEIGHTS, 1.5), "one integer node id"),
        (lambda: kernels.dijkstra(INDPTR, INDICES, WEIGHTS, True), "one integer node id"),
        (lambda: kernels.dijkstra(INDPTR, INDICES, WEIGHTS, 0, cutoff=-1), "cutoff"),
        (lambda: kernels.isochrone(INDPTR, INDICES, WEIGHTS, [], 5.0), "sources is empty"),
        (lambda: kernels.isochrone(INDPTR, INDICES, WEIGHTS, 0, float("nan")), "limit"),
        (lambda: kernels.cost_matrix(INDPTR, INDICES, WEIGHTS, [[0]], [0]), "1-D"),
        (lambda: kernels.next_hops(INDPTR, INDICES, WEIGHTS, [0.5]), "integers"),
        (
            lambda: kernels.astar(INDPTR, INDICES, WEIGHTS, 0, 2, x=XY, y=XY, max_speed=0),
            "max_speed",
        ),
        (
            lambda: kernels.astar(INDPTR, INDICES, WEIGHTS, 0, 2, x=XY[:2], y=XY, max_speed=1),
            "one projected coordinate",
        ),
        (
            lambda: kernels.astar(
                INDPTR, INDICES, WEIGHTS, 0, 2, x=np.array([0, np.nan, 0]), y=XY, max_speed=1
            ),
            "non-finite",
        ),
        (lambda: kernels.Router(INDPTR, INDICES).astar(WEIGHTS, 0, 2, max_speed=1), "coordinates"),
    ],
)
def test_bad_arguments_raise(call, message):
    with pytest.raises(KernelInputError, match=message):
        call()


def test_int64_is_not_copied_and_int32_is_converted():
    indptr, indices = validation.check_csr(INDPTR, INDICES)
    assert np.shares_memory(indptr, INDPTR) and np.shares_memory(indices, INDICES)
    weights = validation.check_weights(WEIGHTS, 3)
    assert np.shares_memory(weights, WEIGHTS)
    indptr, indices = validation.check_csr(INDPTR.astype(np.int32), INDICES.astype(np.int32))
    assert indptr.dtype == indices.dtype == np.int64
    np.testing.assert_array_equal(indices, INDICES)


def test_infinite_weights_are_closed_edges(backend):
    cost, pred = kernels.dijkstra(INDPTR, INDICES, np.array([np.inf, 5.0, 1.0]), 0)
    np.testing.assert_array_equal(cost, [0.0, np.inf, 5.0])
    np.testing.assert_array_equal(pred, [-1, -1, 0])


def test_read_only_strided_and_big_endian_inputs_work(backend):
    indptr = INDPTR.astype(">i8")
    indices = np.repeat(INDICES, 2)[::2]  # strided view
    weights = WEIGHTS.copy()
    weights.flags.writeable = False
    x = np.zeros(3)
    x.flags.writeable = False
    cost, pred = kernels.dijkstra(indptr, indices, weights, 0)
    np.testing.assert_array_equal(cost, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(pred, [-1, 0, 1])
    cost, path = kernels.astar(indptr, indices, weights, 0, 2, x=x, y=x, max_speed=1.0)
    assert cost == 2.0 and path.nodes.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(
        kernels.next_hops(indptr, indices, weights, [2])[0], [[2.0, 1.0, 0.0]]
    )


# -- cached verdicts (A*'s hot path) ----------------------------------------------------------
def _chain(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """0 -> 1 -> … -> n-1 plus every reverse edge: 2(n-1) edges, each 1.0; coordinates 0."""
    tails = np.concatenate([np.arange(n - 1), np.arange(1, n)])
    heads = np.concatenate([np.arange(1, n), np.arange(n - 1)])
    order = np.argsort(tails, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n), out=indptr[1:])
    return indptr, heads[order].astype(np.int64), np.ones(2 * (n - 1)), np.zeros(n)


def test_remember_computes_once_per_identity_and_fingerprint():
    calls = []
    a = np.arange(1000, dtype=np.int64)
    b = np.arange(1000, dtype=np.int64)

    def check():
        calls.append(1)
        return len(calls)

    assert validation.remember("test", (a,), check) == 1
    assert validation.remember("test", (a,), check) == 1  # cached
    assert validation.remember("other", (a,), check) == 2  # another check
    assert validation.remember("test", (b,), check) == 3  # equal content, other array
    a[0] = 7  # a sampled entry changed: checked again
    assert validation.remember("test", (a,), check) == 4
    a[1] = 7  # not sampled (every 15th of 1000): the verdict stands
    assert validation.remember("test", (a,), check) == 4
    assert validation.remember("test", (a[:999],), check) == 5  # a view is another array


def test_remember_does_not_cache_failures():
    a = np.arange(10, dtype=np.int64)

    def fail():
        raise KernelInputError("bad")

    for _ in range(2):
        with pytest.raises(KernelInputError):
            validation.remember("fail", (a,), fail)


def test_freed_arrays_are_not_mistaken_for_new_ones():
    calls = []
    for _ in range(20):  # ids of freed arrays are reused; the weak reference tells them apart
        a = np.arange(100, dtype=np.int64)
        validation.remember("freed", (a,), lambda: calls.append(1))
        del a
    assert len(calls) == 20


def test_astar_rechecks_an_array_changed_in_place_at_a_sampled_entry(backend):
    indptr, indices, weights, x = _chain(50)
    assert kernels.astar(indptr, indices, weights, 0, 49, x=x, y=x, max_speed=1.0)[0] == 49.0
    weights[0] = -1.0  # sampled: the full check runs again
    with pytest.raises(KernelInputError, match=r"weights\[0\] = .*-1\.0"):
        kernels.astar(indptr, indices, weights, 0, 49, x=x, y=x, max_speed=1.0)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda ip, ix, w: ix.__setitem__(1, 10**9), r"indices\[1\] is not a node"),
        (lambda ip, ix, w: ix.__setitem__(1, -5), r"indices\[1\] is not a node"),
        (lambda ip, ix, w: w.__setitem__(1, -1.0), r"weights\[1\] is negative or NaN"),
        (lambda ip, ix, w: w.__setitem__(1, np.nan), r"weights\[1\] is negative or NaN"),
        (lambda ip, ix, w: ip.__setitem__(2, 10**9), r"indptr\[1\] \.\. indptr\[2\]"),
    ],
)
def test_compiled_astar_checks_every_edge_it_relaxes(edit, message):
    """An in-place edit the fingerprint misses never reads out of bounds: the compiled
    search checks each expanded node's range and each relaxed edge's head and weight."""
    indptr, indices, weights, x = _chain(200)  # 398 edges: entries 1, 2 are not sampled
    with use_backend("cython"):
        assert kernels.astar(indptr, indices, weights, 0, 199, x=x, y=x, max_speed=1.0)[0] == 199
        edit(indptr, indices, weights)
        with pytest.raises(KernelInputError, match=message):
            kernels.astar(indptr, indices, weights, 0, 199, x=x, y=x, max_speed=1.0)


def test_router_astar_refuses_bad_weights_on_every_backend(backend):
    indptr, indices, weights, x = _chain(5)
    router = kernels.Router(indptr, indices, x=x, y=x)
    for bad in (-weights, np.full_like(weights, np.nan), weights[:-1]):
        with pytest.raises(KernelInputError):
            router.astar(bad, 0, 4, max_speed=1.0)


def test_cached_verdicts_do_not_keep_arrays_alive():
    import gc
    import weakref

    indptr, indices, weights, x = _chain(100)
    kernels.astar(indptr, indices, weights, 0, 99, x=x, y=x, max_speed=1.0)
    refs = [weakref.ref(a) for a in (indptr, indices, weights, x)]
    del indptr, indices, weights, x
    gc.collect()
    assert all(r() is None for r in refs)
