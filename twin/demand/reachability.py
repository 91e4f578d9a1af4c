"""Reachability of trips on the drive network: which trips no path serves.

:func:`check_reachability` reports (it does not raise) the trips of a trips table (see
:mod:`twin.demand.trips`) whose destination cannot be reached from their origin, using the strongly
connected components of the drive network (:func:`strong_components`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from twin.city import City
from twin.errors import TripsError

__all__ = ["ReachabilityReport", "check_reachability", "strong_components"]

log = logging.getLogger(__name__)

#: Unreachable trips listed in a report, and rows named in an error.
_EXAMPLES = 5


@dataclass(frozen=True)
class ReachabilityReport:
    """Which trips cannot reach their destination on the drive network.

    Attributes
    ----------
    n_trips
        Trips checked.
    n_unreachable
        Trips whose destination no path reaches from their origin.
    unreachable
        ``bool[n_trips]``, in the order of the trips table.
    n_components
        Strongly connected components of the drive network (1 for built cities).
    largest_component_nodes
        Nodes in the largest one.
    examples
        Up to a few unreachable trips: ``trip_id``, ``origin``, ``destination`` (positions)
        and ``origin_node_id``, ``destination_node_id`` (the city's ids).
    """

    n_trips: int
    n_unreachable: int
    unreachable: np.ndarray = field(repr=False)
    n_components: int
    largest_component_nodes: int
    examples: pd.DataFrame = field(repr=False)

    @property
    def ok(self) -> bool:
        """Every trip can reach its destination."""
        return self.n_unreachable == 0

    def __str__(self) -> str:
        head = (
            f"{self.n_unreachable:,} of {self.n_trips:,} trips cannot reach their destination "
            f"(the drive network has {self.n_components:,} strongly connected components; "
            f"the largest holds {self.largest_component_nodes:,} nodes)"
        )
        if self.ok:
            return head
        rows = [
            f"  trip {r.trip_id}: node {r.origin_node_id} -> node {r.destination_node_id}"
            for r in self.examples.itertuples()
        ]
        return "\n".join([head, "for example:", *rows])


def strong_components(city: City) -> tuple[int, np.ndarray]:
    """Strongly connected components of the drive network: ``(count, label per node)``."""
    net = city.drive
    graph = csr_matrix(
        (np.ones(net.n_edges, dtype=np.int8), net.indices, net.indptr),
        shape=(net.n_nodes, net.n_nodes),
    )
    count, labels = connected_components(graph, directed=True, connection="strong")
    return int(count), labels.astype(np.int64)


def check_reachability(
    city: City, trips: pd.DataFrame, *, max_examples: int = _EXAMPLES
) -> ReachabilityReport:
    """Count the trips whose destination cannot be reached from their origin.

    Trips inside one strongly connected component are reachable; for the others the
    condensation of the network (one node per component) is searched from each origin
    component. Unreachable trips are reported, not raised: the caller decides whether to
    drop them (``trips[~report.unreachable]``) or stop.
    """
    net = city.drive
    origin = trips["origin"].to_numpy(dtype=np.int64)
    destination = trips["destination"].to_numpy(dtype=np.int64)
    outside = (np.minimum(origin, destination) < 0) | (
        np.maximum(origin, destination) >= net.n_nodes
    )
    if outside.any():
        raise TripsError(
            f"{int(outside.sum())} trips name node positions outside 0..{net.n_nodes - 1} "
            f"(rows {np.flatnonzero(outside)[:_EXAMPLES].tolist()}); check_reachability takes a "
            "trips table of positions (read_trips or synthesise_trips), not node ids"
        )
    n_comp, labels = strong_components(city)
    unreachable = np.zeros(len(trips), dtype=bool)
    if n_comp > 1 and len(trips):
        lo, ld = labels[origin], labels[destination]
        cross = np.flatnonzero(lo != ld)
        if len(cross):
            tail_c, head_c = labels[net.tail], labels[net.indices]
            between = tail_c != head_c
            cond = csr_matrix(
                (np.ones(int(between.sum()), dtype=np.int8), (tail_c[between], head_c[between])),
                shape=(n_comp, n_comp),
            )
            sources, group = np.unique(lo[cross], return_inverse=True)
            for g, comp in enumerate(sources):
                reach = np.zeros(n_comp, dtype=bool)
                reach[
                    breadth_first_order(cond, int(comp), directed=True, return_predecessors=False)
                ] = True
                members = cross[group == g]
                unreachable[members] = ~reach[ld[members]]
    sizes = np.bincount(labels, minlength=n_comp) if len(labels) else np.zeros(1, dtype=int)
    bad = np.flatnonzero(unreachable)[:max_examples]
    examples = pd.DataFrame(
        {
            "trip_id": trips["trip_id"].to_numpy()[bad] if "trip_id" in trips else bad,
            "origin": origin[bad],
            "destination": destination[bad],
            "origin_node_id": net.node_id[origin[bad]],
            "destination_node_id": net.node_id[destination[bad]],
        }
    )
    report = ReachabilityReport(
        n_trips=len(trips),
        n_unreachable=int(unreachable.sum()),
        unreachable=unreachable,
        n_components=n_comp,
        largest_component_nodes=int(sizes.max()),
        examples=examples,
    )
    if not report.ok:
        log.warning("%s", report)
    return report
