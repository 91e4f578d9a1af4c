"""Graph strategies and tree checks shared by the routing-kernel tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

BACKENDS = ("python", "cython")

# Weights that add up exactly in float64, so both backends must agree to the last bit.
EXACT_WEIGHTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 4.5, 10.0, 100.0, np.inf])


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the block with ``TWIN_KERNELS=name`` (restored afterwards)."""
    old = os.environ.get("TWIN_KERNELS")
    os.environ["TWIN_KERNELS"] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ["TWIN_KERNELS"]
        else:
            os.environ["TWIN_KERNELS"] = old


def on_both(fn: Callable, *args, **kwargs) -> dict[str, object]:
    """``fn(*args, **kwargs)`` under each backend, keyed by backend name."""
    out = {}
    for name in BACKENDS:
        with use_backend(name):
            out[name] = fn(*args, **kwargs)
    return out


@dataclass
class Graph:
    """A CSR test graph with its edge list."""

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    tail: np.ndarray

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    @property
    def m(self) -> int:
        return len(self.indices)

    @classmethod
    def from_edges(cls, n: int, edges: list[tuple[int, int, float]]) -> Graph:
        tail = np.array([e[0] for e in edges], dtype=np.int64)
        head = np.array([e[1] for e in edges], dtype=np.int64)
        w = np.array([e[2] for e in edges], dtype=np.float64)
        order = np.argsort(tail, kind="stable")  # keeps parallel edges in drawn order
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
        return cls(indptr, head[order], w[order], tail[order])


@st.composite
def graphs(draw, max_nodes: int = 12, max_edges: int = 40, weights=EXACT_WEIGHTS) -> Graph:
    """Directed multigraphs with self-loops, parallel and zero-cost edges, closed (inf)
    edges, several components and isolated nodes; a single node included."""
    n = draw(st.integers(1, max_nodes))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node, weights), max_size=max_edges))
    # sometimes split the graph in two parts with no edge between them
    if n > 3 and draw(st.booleans()):
        cut = draw(st.integers(1, n - 1))
        edges = [e for e in edges if (e[0] < cut) == (e[1] < cut)]
    return Graph.from_edges(n, edges)


def check_tree_to_source(g: Graph, source_cost: np.ndarray, pred: np.ndarray, sources) -> None:
    """``pred`` is a valid shortest-path tree for ``source_cost`` (from ``sources``)."""
    sources = set(np.atleast_1d(sources).tolist())
    for v in range(g.n):
        if not np.isfinite(source_cost[v]) or v in sources:
            assert pred[v] == -1, f"pred[{v}] should be -1"
            continue
        u = pred[v]
        assert 0 <= u < g.n
        lo, hi = g.indptr[u], g.indptr[u + 1]
        # some edge u -> v realises cost[v]
        ok = [
            e
            for e in range(lo, hi)
            if g.indices[e] == v and source_cost[u] + g.weights[e] == source_cost[v]
        ]
        assert ok, f"no edge {u}->{v} gives cost {source_cost[v]}"
        # following pred reaches a source without a cycle
        steps, w = 0, v
        while w not in sources:
            w = pred[w]
            steps += 1
            assert w >= 0 and steps <= g.n, f"pred chain from {v} does not reach a source"


def check_path(
    g: Graph, source: int, target: int, cost: float, path, *, exact: bool = True
) -> None:
    """``path`` (a :class:`kernels.Path`) runs ``source`` → ``target`` along edges of ``g``
    whose weights add up to ``cost`` (``exact=False``: up to float rounding); empty when
    ``cost`` is ``inf``."""
    if not np.isfinite(cost):
        assert len(path.nodes) == 0 and len(path.edges) == 0
        return
    assert path.nodes[0] == source and path.nodes[-1] == target
    assert len(path.edges) == len(path.nodes) - 1
    np.testing.assert_array_equal(g.tail[path.edges], path.nodes[:-1])
    np.testing.assert_array_equal(g.indices[path.edges], path.nodes[1:])
    if exact:
        assert g.weights[path.edges].sum() == cost
    else:
        assert np.isclose(g.weights[path.edges].sum(), cost)


def check_next_hops(g: Graph, target: int, cost: np.ndarray, next_edge: np.ndarray) -> None:
    """``next_edge`` leads every node to ``target`` along edges that realise ``cost``."""
    assert cost[target] == 0.0
    for v in range(g.n):
        if v == target or not np.isfinite(cost[v]):
            assert next_edge[v] == -1, f"next_edge[{v}] should be -1"
            continue
        e = next_edge[v]
        assert g.tail[e] == v, f"edge {e} does not start at {v}"
        assert g.weights[e] + cost[g.indices[e]] == cost[v]
        steps, w = 0, v
        while w != target:
            w = g.indices[next_edge[w]]
            steps += 1
            assert steps <= g.n, f"next edges from {v} loop without reaching {target}"


def brute_force_costs(g: Graph, sources) -> np.ndarray:
    """Least costs by Bellman-Ford relaxation (independent of any heap)."""
    cost = np.full(g.n, np.inf)
    cost[np.atleast_1d(sources)] = 0.0
    for _ in range(g.n):
        changed = False
        for e in range(g.m):
            c = cost[g.tail[e]] + g.weights[e]
            if c < cost[g.indices[e]]:
                cost[g.indices[e]] = c
                changed = True
        if not changed:
            break
    return cost
