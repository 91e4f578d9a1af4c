"""The routing kernels on Huế's drive network agree with scipy.sparse.csgraph and networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra as scipy_dijkstra

import kernels

pytestmark = pytest.mark.hue


@pytest.fixture(scope="module")
def drive(hue_city):
    """Huế's drive network, its free-flow times (s) and a scipy matrix of the cheapest
    edge between each pair of nodes (scipy would add up parallel edges)."""
    net = hue_city.drive
    w = np.ascontiguousarray(net.free_flow_time, dtype=np.float64)
    tail = net.tail
    keep = np.lexsort((w, net.indices, tail))
    first = np.ones(len(keep), dtype=bool)
    first[1:] = (tail[keep][1:] != tail[keep][:-1]) | (
        net.indices[keep][1:] != net.indices[keep][:-1]
    )
    sel = keep[first]
    matrix = sp.csr_matrix((w[sel], (tail[sel], net.indices[sel])), shape=(net.n_nodes,) * 2)
    return net, w, matrix


def _tree_realises_costs(net, w, cost, pred):
    """Every labelled non-root node's pred edge realises its cost."""
    tail = net.tail
    ok = np.isclose(cost[tail] + w, cost[net.indices], rtol=1e-12, atol=1e-9)
    good = set(zip(tail[ok].tolist(), net.indices[ok].tolist(), strict=True))
    nodes = np.flatnonzero(pred >= 0)
    assert all((p, v) in good for p, v in zip(pred[nodes].tolist(), nodes.tolist(), strict=True))


def test_dijkstra_matches_scipy(drive, backend):
    net, w, matrix = drive
    rng = np.random.default_rng(3)
    sources = rng.choice(net.n_nodes, size=3 if backend == "python" else 10, replace=False)
    for s in sources:
        cost, pred = kernels.dijkstra(net.indptr, net.indices, w, int(s))
        np.testing.assert_allclose(cost, scipy_dijkstra(matrix, indices=int(s)), rtol=1e-12)
        assert pred[s] == -1
        _tree_realises_costs(net, w, cost, pred)


def test_dijkstra_matches_networkx(drive):
    net, w, matrix = drive
    coo = matrix.tocoo()
    G = nx.DiGraph()
    G.add_nodes_from(range(net.n_nodes))
    G.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
    )
    source = int(np.random.default_rng(5).integers(net.n_nodes))
    expected = np.full(net.n_nodes, np.inf)
    for v, c in nx.single_source_dijkstra_path_length(G, source).items():
        expected[v] = c
    cost, _ = kernels.dijkstra(net.indptr, net.indices, w, source)
    np.testing.assert_allclose(cost, expected, rtol=1e-12)


def test_astar_matches_dijkstra(drive, backend):
    net, w, _ = drive
    rng = np.random.default_rng(11)
    router = kernels.Router(net.indptr, net.indices, x=net.x, y=net.y)
    top = router.consistent_speed(w)
    assert top == pytest.approx(net.speed.max(), rel=0.01)
    for s, t in rng.choice(net.n_nodes, size=(10 if backend == "python" else 40, 2)):
        cost, path = router.astar(w, int(s), int(t), max_speed=top)
        full, _ = router.dijkstra(w, int(s))
        assert cost == pytest.approx(full[t], rel=1e-12)
        assert path.nodes[0] == s and path.nodes[-1] == t
        assert w[path.edges].sum() == pytest.approx(cost, rel=1e-12)
        np.testing.assert_array_equal(net.indices[path.edges], path.nodes[1:])


def test_zone_matrix_matches_scipy(hue_city, drive):
    net, w, matrix = drive
    zones = hue_city.zones["drive_node"].to_numpy(dtype=np.int64)
    out = kernels.cost_matrix(net.indptr, net.indices, w, zones, zones)
    expected = scipy_dijkstra(matrix, indices=zones)[:, zones]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert np.isfinite(out).all(), "the drive network is strongly connected"


def test_isochrones_match_scipy(hue_city, drive, backend):
    net, w, matrix = drive
    hospitals = hue_city.pois_of("hospital")["drive_node"].to_numpy(dtype=np.int64)[:3]
    for limit in (300.0, 900.0):
        expected = scipy_dijkstra(matrix, indices=hospitals, min_only=True, limit=limit)
        iso = kernels.isochrone(net.indptr, net.indices, w, hospitals, limit)
        np.testing.assert_array_equal(np.sort(iso.nodes), np.flatnonzero(np.isfinite(expected)))
        np.testing.assert_allclose(iso.costs, expected[iso.nodes], rtol=1e-12)


def test_next_hops_match_scipy(drive, backend):
    net, w, matrix = drive
    rng = np.random.default_rng(17)
    targets = rng.choice(net.n_nodes, size=2 if backend == "python" else 20, replace=False)
    cost, next_edge = kernels.next_hops(net.indptr, net.indices, w, targets)
    expected = scipy_dijkstra(matrix.T.tocsr(), indices=targets)
    np.testing.assert_allclose(cost, expected, rtol=1e-12)
    for row, t in enumerate(targets):
        e = next_edge[row]
        moving = np.flatnonzero(e >= 0)
        assert (next_edge[row, t] == -1) and len(moving) == np.isfinite(cost[row]).sum() - 1
        np.testing.assert_array_equal(net.tail[e[moving]], moving)
        np.testing.assert_allclose(
            w[e[moving]] + cost[row, net.indices[e[moving]]], cost[row, moving], rtol=1e-12
        )
