"""Destination-based routing tables for the traffic engine, kept on current times.

A vehicle carries no path: at node ``u``, bound for destination ``d``, it takes
``table[row(d), u]``. Rows are trees towards each destination on the link times noted at
some *epoch*: each refresh notes the links whose time moved beyond a tolerance
(:meth:`RouteTables.update`, a new epoch) and then brings chosen rows up to it
(:meth:`RouteTables.bring`). A row a few epochs behind is repaired in place
(:func:`kernels.update_next_hops`: only the part of a tree behind a changed link is
searched again, rows in parallel with the GIL released); a row never grown, or older than
the noted history, is grown in full (:func:`kernels.next_hops`). Rows that fall behind
remain valid trees of slightly older times until they are brought up, so the work grows
with the destinations in use and with how much the traffic changes, not with all the
destinations of the day.
"""

from __future__ import annotations

import numpy as np

from kernels import Router
from kernels.next_hop_updates import update_checked
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
        Destinations per kernel call of a full refresh (bounds scratch memory to ``16 ×
        chunk × n`` bytes).
    history
        Epochs whose link times are kept (``8 × m × groups`` bytes each) for repairs; a row
        further behind is grown in full.
    """

    def __init__(
        self,
        network: Network,
        destinations: np.ndarray,
        *,
        chunk: int = 256,
        history: int = 48,
    ) -> None:
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
        #: ``float64[groups × capacity, n]``: cost to go (seconds) on the row's link times.
        self.cost = np.full((capacity, self.n_nodes), np.inf, dtype=np.float64)
        self.tail = network.tail
        self.head = network.indices
        self.epoch_of_row = np.full(capacity, -1, dtype=np.int64)
        #: Rows whose epoch is this one are exact trees for :attr:`weights`.
        self.epoch = 0
        #: Rows of an epoch before this one must be brought up before use (closures).
        self.valid_epoch = 0
        #: Each group's link times as last noted (seconds; ``inf`` = closed).
        self.weights: list[np.ndarray] | None = None
        self.history = int(history)
        self._history: dict[int, list[np.ndarray]] = {}
        #: Rows grown in full and rows repaired so far, and nodes the repairs relabelled.
        self.rows_routed = 0
        self.rows_updated = 0
        self.nodes_updated = 0

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
        """Use ``groups`` blocks of rows; every row must then be grown again."""
        if groups != self.groups:
            self._reallocate(groups, self.capacity, keep=False)
            self.weights = None
            self._history.clear()
        self.epoch_of_row[:] = -1

    def _reallocate(self, groups: int, capacity: int, *, keep: bool) -> None:
        old_capacity, old_groups = self.capacity, self.groups
        table = np.full((groups * capacity, self.n_nodes), -1, dtype=np.int32)
        cost = np.full((groups * capacity, self.n_nodes), np.inf, dtype=np.float64)
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

    def update(
        self, weights: list[np.ndarray], changed: np.ndarray, *, invalidate: bool = False
    ) -> None:
        """Start a new epoch: in each group's link times (seconds; ``inf`` = closed) the
        ``changed`` links take their time in ``weights``, the others keep theirs (all of
        them the first time). ``invalidate`` (a closure) makes every row of an earlier
        epoch unusable until it is brought up."""
        if len(weights) != self.groups:
            raise ValueError(f"{len(weights)} sets of link times for {self.groups} groups")
        weights = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
        if self.weights is None:
            new = [w.copy() for w in weights]
        else:
            changed = np.asarray(changed, dtype=np.int64)
            new = []
            for before, w in zip(self.weights, weights, strict=True):
                noted = before.copy()
                noted[changed] = w[changed]
                new.append(noted)
        self.weights = new
        self.epoch += 1
        self._history[self.epoch] = new
        self._history.pop(self.epoch - self.history, None)
        if invalidate:
            self.valid_epoch = self.epoch

    def due(self, rows: np.ndarray) -> np.ndarray:
        """The ``rows`` that must be brought up before use (never grown, or older than the
        last closure)."""
        rows = np.asarray(rows, dtype=np.int64)
        return rows[(self.epoch_of_row[rows] < 0) | (self.epoch_of_row[rows] < self.valid_epoch)]

    def bring(self, rows: np.ndarray) -> int:
        """Bring ``rows`` (in every group) up to the current epoch: repaired when their
        epoch is in the noted history, grown in full otherwise; returns how many were not
        current."""
        if self.weights is None:
            raise RuntimeError("RouteTables.bring before update")
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[self.epoch_of_row[rows] != self.epoch]
        if not len(rows):
            return 0
        epochs = self.epoch_of_row[rows]
        repairable = np.isin(epochs, list(self._history))
        router = self.router
        for epoch in np.unique(epochs[repairable]).tolist():
            group_rows = rows[repairable & (epochs == epoch)]
            for g, (before, now) in enumerate(zip(self._history[epoch], self.weights, strict=True)):
                changed = np.flatnonzero(before != now)
                self.nodes_updated += update_checked(
                    router.indptr,
                    router.indices,
                    now,
                    before,
                    changed,
                    self.cost,
                    self.table,
                    g * self.capacity + group_rows,
                    router.reverse,
                    tails=self.tail,
                )
            self.rows_updated += len(group_rows)
        full = rows[~repairable]
        for g, weights in enumerate(self.weights):
            for start in range(0, len(full), self.chunk):
                part = full[start : start + self.chunk]
                cost, next_edge = router.next_hops(weights, self.targets[part])
                self.table[g * self.capacity + part] = next_edge
                self.cost[g * self.capacity + part] = cost
        self.rows_routed += len(full)
        self.epoch_of_row[rows] = self.epoch
        return len(rows)
