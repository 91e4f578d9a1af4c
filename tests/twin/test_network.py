"""Network: least-cost trees on its edges."""

from __future__ import annotations

import numpy as np

from twin.network import Network


def _square() -> Network:
    """Four nodes on a 100 m square; 0 -> 1 -> 3 is short, 0 -> 2 -> 3 long."""
    nodes = {
        "node_id": np.array([10, 11, 12, 13]),
        "x": np.array([0.0, 100.0, 0.0, 100.0]),
        "y": np.array([0.0, 0.0, 100.0, 100.0]),
        "lon": np.zeros(4),
        "lat": np.zeros(4),
    }
    tail, head = np.array([0, 1, 0, 2]), np.array([1, 3, 2, 3])
    edges = {
        "length": np.array([100.0, 100.0, 300.0, 300.0]),
        "speed": np.full(4, 10.0),
        "lanes": np.ones(4),
        "capacity": np.full(4, 1800.0),
        "jam_density": np.full(4, 150.0),
        "road_class": np.zeros(4, dtype=np.int16),
    }
    return Network.from_edges(nodes=nodes, tail=tail, head=head, edges=edges,
                              road_classes=("residential",))  # fmt: skip


def test_the_path_tree_takes_the_cheapest_way_and_keeps_off_closed_edges():
    net = _square()
    seconds = net.free_flow_time
    cost, pred = net.path_tree(seconds, 0)
    assert cost.tolist() == [0.0, 10.0, 30.0, 20.0]
    assert pred.tolist() == [-1, 0, 0, 1]
    closed = seconds.copy()
    closed[(net.tail == 1) & (net.indices == 3)] = np.inf
    cost, pred = net.path_tree(closed, 0)
    assert cost[3] == 60.0 and pred[3] == 2
    cost, pred = net.path_tree(seconds, 3)
    assert np.isinf(cost[:3]).all() and pred.tolist() == [-1, -1, -1, -1]
