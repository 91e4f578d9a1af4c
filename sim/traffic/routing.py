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
    """Next-hop rows for a growing set of destination nodes, one block per class group.

    Vehicle classes that may use the same links share a *group* (one group while no closure
    names classes); each group has its own rows, computed on its own link times, so a link
    closed to motorbikes and cars by a flood stays in the routes of buses and ambulances.
    Group ``g``'s row for destination row ``r`` is ``g × capacity + r`` of :attr:`table`.

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
        self.groups = 1
        #: ``int32[groups × capacity, n]``; rows past ``n_rows`` in a block are spare (``-1``).
        self.table = np.full((capacity, self.n_nodes), -1, dtype=np.int32)
        #: ``float32[groups × capacity, n]``: cost to go (seconds) when the row was computed.
        self.cost = np.full((capacity, self.n_nodes), np.inf, dtype=np.float32)
        self.tail = network.tail
        self.head = network.indices
        self.epoch_of_row = np.full(capacity, -1, dtype=np.int64)
        self.epoch = 0
        #: Rows computed at an epoch before this one must not be followed.
        self.valid_epoch = 0
        self.weights: list[np.ndarray] | None = None
        self.rows_routed = 0

    @property
    def capacity(self) -> int:
        """Destination rows each group's block holds."""
        return len(self.targets)

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
        grew = row >= self.capacity
        if grew:
            self._reallocate(self.groups, 2 * self.capacity, keep=True)
        self._row_of[node] = row
        self.targets[row] = node
        self.n_rows += 1
        return row, grew

    def set_groups(self, groups: int) -> None:
        """Use ``groups`` blocks of rows; every row must then be computed again."""
        if groups != self.groups:
            self._reallocate(groups, self.capacity, keep=False)
        self.epoch_of_row[:] = -1

    def _reallocate(self, groups: int, capacity: int, *, keep: bool) -> None:
        old_capacity, old_groups = self.capacity, self.groups
        table = np.full((groups * capacity, self.n_nodes), -1, dtype=np.int32)
        cost = np.full((groups * capacity, self.n_nodes), np.inf, dtype=np.float32)
        if keep:
            n = self.n_rows
            for g in range(min(groups, old_groups)):
                table[g * capacity : g * capacity + n] = self.table[
                    g * old_capacity : g * old_capacity + n
                ]
                cost[g * capacity : g * capacity + n] = self.cost[
                    g * old_capacity : g * old_capacity + n
                ]
        self.table, self.cost, self.groups = table, cost, groups
        if capacity != old_capacity:
            self.targets = np.concatenate(
                [self.targets, np.full(capacity - old_capacity, -1, np.int64)]
            )
            self.epoch_of_row = np.concatenate(
                [self.epoch_of_row, np.full(capacity - old_capacity, -1, np.int64)]
            )

    def new_epoch(self, weights: list[np.ndarray], *, invalidate: bool = False) -> None:
        """Start a refresh epoch with each group's link times (seconds; ``inf`` = closed).

        ``invalidate`` marks every row computed before as unusable (after a closure):
        such rows must be recomputed before anyone follows them.
        """
        if len(weights) != self.groups:
            raise ValueError(f"{len(weights)} sets of link times for {self.groups} groups")
        self.weights = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
        self.epoch += 1
        if invalidate:
            self.valid_epoch = self.epoch

    def refresh(self, rows: np.ndarray) -> int:
        """Recompute ``rows`` (in every group) that are stale in this epoch; returns how many
        destination rows were routed."""
        if self.weights is None:
            raise RuntimeError("RouteTables.refresh before new_epoch")
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[self.epoch_of_row[rows] != self.epoch]
        for g, weights in enumerate(self.weights):
            for start in range(0, len(rows), self.chunk):
                part = rows[start : start + self.chunk]
                cost, next_edge = self.router.next_hops(weights, self.targets[part])
                self.table[g * self.capacity + part] = next_edge
                self.cost[g * self.capacity + part] = cost
        self.epoch_of_row[rows] = self.epoch
        self.rows_routed += len(rows)
        return len(rows)

    def affected(
        self, rows: np.ndarray, links: np.ndarray, weights: list[np.ndarray]
    ) -> np.ndarray:
        """The ``rows`` whose trees (in any group) a change of ``links`` to ``weights`` can
        alter.

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
        step = max(1, 2_000_000 // max(len(rows), 1))
        for g, group_weights in enumerate(weights):
            block = g * self.capacity + rows
            w = group_weights[links].astype(np.float32)
            for start in range(0, len(links), step):
                sl = slice(start, start + step)
                in_tree = self.table[block[:, None], tails[None, sl]] == links[None, sl]
                with np.errstate(invalid="ignore"):
                    shortcut = (
                        w[None, sl] + self.cost[block[:, None], heads[None, sl]]
                        < self.cost[block[:, None], tails[None, sl]]
                    )
                hit |= (in_tree | shortcut).any(axis=1)
        return rows[hit]
