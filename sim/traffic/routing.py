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

Rows can also be brought up off the tables (:meth:`RouteTables.start`, ``run_job`` in
another thread, ``install`` later): the traffic keeps reading the tables meanwhile. With
``alternates`` each row keeps the tree it replaced, which every other vehicle follows
(route smoothing, :mod:`sim.traffic.engine`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from kernels import Router
from kernels.next_hop_updates import update_checked
from twin.network import Network

__all__ = ["RouteTables", "RowJob", "RowPlan"]

#: Rows a thread takes at a time from a :class:`RowJob`.
JOB_ROWS = 4


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
    alternates
        Keep beside each row the tree it replaced (:attr:`alternate`), for the vehicles
        that follow the tree before the latest (route smoothing). Where the replaced tree
        was never grown or is older than a closure, the alternate is the new tree.
    """

    def __init__(
        self,
        network: Network,
        destinations: np.ndarray,
        *,
        chunk: int = 256,
        history: int = 48,
        alternates: bool = False,
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
        #: ``int32``, the shape of :attr:`table`, or ``None``: the trees the rows replaced.
        self.alternate = self.table.copy() if alternates else None
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
        self._job_router: Router | None = None

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
        alternate = None if self.alternate is None else table.copy()
        if keep:
            n = self.n_rows
            for g in range(min(groups, old_groups)):
                new, old = (
                    slice(g * capacity, g * capacity + n),
                    slice(g * old_capacity, g * old_capacity + n),
                )
                table[new], cost[new] = self.table[old], self.cost[old]
                if alternate is not None:
                    alternate[new] = self.alternate[old]
        self.table, self.cost, self.alternate, self.groups = table, cost, alternate, groups
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
        """Bring ``rows`` (in every group) up to the current epoch, in place: repaired when
        their epoch is in the noted history, grown in full otherwise; returns how many were
        not current."""
        if self.weights is None:
            raise RuntimeError("RouteTables.bring before update")
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[self.epoch_of_row[rows] != self.epoch]
        if not len(rows):
            return 0
        plan = self._plan(rows)
        capacity = self.capacity

        def where(g, i):
            return g * capacity + rows[i]

        index = self._index(rows)
        replaced = None if self.alternate is None else self.table[index]
        self._count(self._work(plan, self.cost, self.table, where, self.router))
        if replaced is not None:
            self._keep_replaced(rows, plan.was, replaced)
        self.epoch_of_row[rows] = self.epoch
        return len(rows)

    def start(self, rows: np.ndarray) -> RowJob | None:
        """A job that brings ``rows`` up to the current epoch on copies of their trees, to
        :meth:`run_job` in another thread while the tables stay in use, then
        :meth:`install`; ``None`` when they are all current."""
        if self.weights is None:
            raise RuntimeError("RouteTables.start before update")
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[self.epoch_of_row[rows] != self.epoch]
        if not len(rows):
            return None
        plan = self._plan(rows)
        index = self._index(rows)
        return RowJob(plan, self.cost[index], self.table[index])

    def run_job(self, job: RowJob, *, threads: int | None = 1, helper: bool = False) -> None:
        """Compute ``job``'s rows a few at a time until none is left to start. Safe beside
        the traffic: it reads only what it holds and the graph. Two threads may run the
        same job, each taking the next rows: the background thread, with a router of its
        own, and (``helper``) the traffic's thread on :attr:`router` when it must wait for
        the job anyway. Every row is computed once, from the same inputs whoever computes
        it, so the result does not depend on the split."""
        if helper:
            router = self.router
        else:
            if self._job_router is None:
                self._job_router = Router(self.router.indptr, self.router.indices)
            router = self._job_router
        k = len(job.plan.rows)
        while True:
            with job.lock:
                begin = job.cursor
                job.cursor = begin + JOB_ROWS
            if begin >= k:
                return
            positions = np.arange(begin, min(begin + JOB_ROWS, k))
            work = self._work(
                job.plan, job.cost, job.table, lambda g, i: g * k + i, router, threads, positions
            )
            with job.lock:
                job.parts.append(work)
                job.rows_done += len(positions)

    def install(self, job: RowJob) -> int:
        """Write a computed ``job``'s rows into the tables; rows brought up meanwhile by
        other means (or reset by a change of groups) keep what they have. Returns the
        rows installed."""
        if job.work is None:
            raise RuntimeError("RouteTables.install of a job not run")
        plan = job.plan
        if job.groups != self.groups:
            return 0
        keep = self.epoch_of_row[plan.rows] == plan.was
        if not keep.any():
            return 0
        k, rows, mine = len(plan.rows), plan.rows[keep], np.flatnonzero(keep)
        replaced = None if self.alternate is None else self.table[self._index(rows)]
        for g in range(self.groups):
            # a slice (no copy) of the job's rows when all are kept, as they usually are
            src = slice(g * k, (g + 1) * k) if len(mine) == k else g * k + mine
            self.table[g * self.capacity + rows] = job.table[src]
            self.cost[g * self.capacity + rows] = job.cost[src]
        if replaced is not None:
            self._keep_replaced(rows, plan.was[keep], replaced)
        self.epoch_of_row[rows] = plan.epoch
        self._count(job.work)
        return int(keep.sum())

    # -- the work of bringing rows up ---------------------------------------------------------
    def _index(self, rows: np.ndarray) -> np.ndarray:
        """Table rows of ``rows`` in every group, group-major."""
        return (np.arange(self.groups)[:, None] * self.capacity + rows[None, :]).ravel()

    def _keep_replaced(self, rows: np.ndarray, was: np.ndarray, replaced: np.ndarray) -> None:
        """Make the trees ``rows`` had (``replaced``, group-major; of epochs ``was``) their
        alternates, or their new trees where the old ones were never grown or are older
        than a closure."""
        index = self._index(rows)
        usable = np.tile((was >= 0) & (was >= self.valid_epoch), self.groups)
        if usable.all():
            self.alternate[index] = replaced
        else:
            self.alternate[index[usable]] = replaced[usable]
            self.alternate[index[~usable]] = self.table[index[~usable]]

    def _plan(self, rows: np.ndarray) -> RowPlan:
        was = self.epoch_of_row[rows].copy()
        repairable = np.isin(was, list(self._history))
        history = {e: self._history[e] for e in np.unique(was[repairable]).tolist()}
        changed = {
            e: [np.flatnonzero(b != w) for b, w in zip(before, self.weights, strict=True)]
            for e, before in history.items()
        }
        return RowPlan(
            rows,
            was,
            repairable,
            self.epoch,
            list(self.weights),
            history,
            self.targets[rows],
            changed,
        )

    def _work(
        self, plan, cost, table, where, router, threads=None, positions=None
    ) -> tuple[int, int, int]:
        """Bring the plan's rows (those at ``positions`` in it, all by default) up in
        ``cost`` / ``table``, group ``g``'s ``i``-th row being row ``where(g, i)`` of them;
        returns (rows repaired, rows grown, nodes relabelled)."""
        nodes = 0
        if positions is None:
            positions = np.arange(len(plan.rows))
        repairable = plan.repairable[positions]
        for epoch, before_all in plan.history.items():
            local = positions[repairable & (plan.was[positions] == epoch)]
            if not len(local):
                continue
            for g, (before, now) in enumerate(zip(before_all, plan.weights, strict=True)):
                nodes += update_checked(
                    router.indptr,
                    router.indices,
                    now,
                    before,
                    plan.changed[epoch][g],
                    cost,
                    table,
                    np.asarray(where(g, local), dtype=np.int64),
                    router.reverse,
                    tails=self.tail,
                    threads=threads,
                )
        full = positions[~repairable]
        for g, weights in enumerate(plan.weights):
            for begin in range(0, len(full), self.chunk):
                part = full[begin : begin + self.chunk]
                row_cost, next_edge = router.next_hops(weights, plan.targets[part])
                table[where(g, part)] = next_edge
                cost[where(g, part)] = row_cost
        return int(repairable.sum()), len(full), nodes

    def _count(self, work: tuple[int, int, int]) -> None:
        repaired, grown, nodes = work
        self.rows_updated += repaired
        self.rows_routed += grown
        self.nodes_updated += nodes


@dataclass(frozen=True)
class RowPlan:
    """What bringing some rows up needs, noted at one epoch: the rows, their epochs then
    (``was``), which of them can be repaired, the link times of each group at ``epoch``,
    those of the earlier epochs to repair from, the rows' destination nodes, and the links
    each earlier epoch's times differ on (noted once, not per few rows)."""

    rows: np.ndarray
    was: np.ndarray
    repairable: np.ndarray
    epoch: int
    weights: list[np.ndarray]
    history: dict[int, list[np.ndarray]]
    targets: np.ndarray
    #: Per epoch of ``history``, each group's links whose time differs from ``weights``.
    changed: dict[int, list[np.ndarray]]


@dataclass
class RowJob:
    """A :class:`RowPlan` and copies of its rows' trees (group-major), brought up by
    :meth:`RouteTables.run_job` a few rows at a time (``cursor``: the next row to start)."""

    plan: RowPlan
    cost: np.ndarray
    table: np.ndarray
    cursor: int = 0
    rows_done: int = 0
    parts: list[tuple[int, int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def work(self) -> tuple[int, int, int] | None:
        """(rows repaired, rows grown, nodes relabelled) once every row is done, else
        ``None``."""
        with self.lock:
            if self.rows_done < len(self.plan.rows):
                return None
            return tuple(int(sum(column)) for column in zip(*self.parts, strict=True))

    @property
    def groups(self) -> int:
        """Class groups the job was planned for."""
        return len(self.plan.weights)
