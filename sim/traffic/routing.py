"""Destination-based routing tables for the traffic engine, refreshed on current times.

A vehicle carries no path: at node ``u``, bound for destination ``d``, it takes
``table[row(d), u]``. A refresh recomputes rows from the current link times with
:func:`kernels.Router.next_hops` (one reverse Dijkstra per destination, both cores).
Only the rows that someone uses are refreshed (destinations of vehicles on the network or
about to depart); the rest keep the epoch they were last computed at and are refreshed
before anyone needs them, so the work grows with the destinations in use, not with all
the destinations of the day.

Between refreshes only the rows that a change can affect are recomputed
(:meth:`RouteTables.affected`): a row whose tree uses a link whose time changed, or for
which a changed link now offers a shortcut against the row's costs-to-go. Other rows keep
a tree that is still a shortest-path tree for the new times up to the change tolerance.
"""

from __future__ import annotations

import numpy as np

from kernels import Router
from twin.network import Network

__all__ = ["RouteTables"]


class RouteTables:
    """Next-hop rows for a growing set of destination nodes.

    Parameters
    ----------
    network
        The drive network.
    destinations
        Initial destination nodes (duplicates are merged).
    chunk
        Destinations per kernel call (bounds scratch memory to ``16 × chunk × n`` bytes).
    """

    def __init__(self, network: Network, destinations: np.ndarray, *, chunk: int = 256) -> None:
        self.n_nodes = network.n_nodes
        self.router = Router(network.indptr, network.indices)
        self.chunk = int(chunk)
        nodes = np.unique(np.asarray(destinations, dtype=np.int64))
        self._n_sorted = len(nodes)
        self._row_of = {int(node): i for i, node in enumerate(nodes.tolist())}
        capacity = max(len(nodes), 16)
        self.targets = np.full(capacity, -1, dtype=np.int64)
        self.targets[: len(nodes)] = nodes
        self.n_rows = len(nodes)
        #: ``int32[capacity, n]``; rows past ``n_rows`` are spare (``-1``).
        self.table = np.full((capacity, self.n_nodes), -1, dtype=np.int32)
        #: ``float32[capacity, n]``: cost to go (seconds) when the row was computed.
        self.cost = np.full((capacity, self.n_nodes), np.inf, dtype=np.float32)
        self.tail = network.tail
        self.head = network.indices
        self.epoch_of_row = np.full(capacity, -1, dtype=np.int64)
        self.epoch = 0
        #: Rows computed at an epoch before this one must not be followed.
        self.valid_epoch = 0
        self.weights: np.ndarray | None = None
        self.rows_routed = 0

    def rows(self, nodes: np.ndarray) -> np.ndarray:
        """Rows of nodes among the initial destinations (all of them must be there)."""
        return np.searchsorted(self.targets[: self._n_sorted], np.asarray(nodes, dtype=np.int64))

    def row(self, node: int) -> tuple[int, bool]:
        """Row of ``node``, adding it when new; ``(row, grew)``: whether ``table`` was
        reallocated (its capacity doubles when full, so callers rebind rarely)."""
        node = int(node)
        found = self._row_of.get(node)
        if found is not None:
            return found, False
        row = self.n_rows
        grew = row >= len(self.targets)
        if grew:
            capacity = 2 * len(self.targets)
            table = np.full((capacity, self.n_nodes), -1, dtype=np.int32)
            table[:row] = self.table[:row]
            self.table = table
            cost = np.full((capacity, self.n_nodes), np.inf, dtype=np.float32)
            cost[:row] = self.cost[:row]
            self.cost = cost
            self.targets = np.concatenate([self.targets, np.full(capacity - row, -1, np.int64)])
            self.epoch_of_row = np.concatenate(
                [self.epoch_of_row, np.full(capacity - row, -1, np.int64)]
            )
        self._row_of[node] = row
        self.targets[row] = node
        self.n_rows += 1
        return row, grew

    def new_epoch(self, weights: np.ndarray, *, invalidate: bool = False) -> None:
        """Start a refresh epoch with these link times (seconds; ``inf`` = closed).

        ``invalidate`` marks every row computed before as unusable (after a closure):
        such rows must be recomputed before anyone follows them.
        """
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.epoch += 1
        if invalidate:
            self.valid_epoch = self.epoch

    def refresh(self, rows: np.ndarray) -> int:
        """Recompute ``rows`` that are stale in this epoch; returns how many were routed."""
        if self.weights is None:
            raise RuntimeError("RouteTables.refresh before new_epoch")
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[self.epoch_of_row[rows] != self.epoch]
        for start in range(0, len(rows), self.chunk):
            part = rows[start : start + self.chunk]
            cost, next_edge = self.router.next_hops(self.weights, self.targets[part])
            self.table[part] = next_edge
            self.cost[part] = cost
        self.epoch_of_row[rows] = self.epoch
        self.rows_routed += len(rows)
        return len(rows)

    def affected(self, rows: np.ndarray, links: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The ``rows`` whose trees a change of ``links`` to ``weights`` can alter.

        A row is affected when one of the links is in its tree (its time rose or fell)
        or when, at the new time, the link beats the row's cost to go from its tail
        (``w + cost[head] < cost[tail]``): a new shortcut.
        """
        rows = np.asarray(rows, dtype=np.int64)
        links = np.asarray(links, dtype=np.int64)
        hit = np.zeros(len(rows), dtype=bool)
        if not len(rows) or not len(links):
            return rows[hit]
        tails, heads = self.tail[links], self.head[links]
        w = weights[links].astype(np.float32)
        step = max(1, 2_000_000 // max(len(rows), 1))
        for start in range(0, len(links), step):
            sl = slice(start, start + step)
            in_tree = self.table[rows[:, None], tails[None, sl]] == links[None, sl]
            with np.errstate(invalid="ignore"):
                shortcut = (
                    w[None, sl] + self.cost[rows[:, None], heads[None, sl]]
                    < self.cost[rows[:, None], tails[None, sl]]
                )
            hit |= (in_tree | shortcut).any(axis=1)
        return rows[hit]
