"""Closures and changes of links during a run, with windows that may overlap.

:class:`LinkChanges` keeps the links' base values (speed, capacity, lanes, storage) and the
closures and changes in force, each under a handle. A link's effective values are its base
values with every change in force applied in the order they were made, and it is closed to
a vehicle class while any closure in force names that class, so changes undone in any order
leave the right values. The traffic engine and the free-flow roads both keep one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kernels.traffic_state import ALL_CLASSES
from twin.errors import TwinError
from twin.network import Network

__all__ = ["LinkChange", "LinkChanges"]


@dataclass(frozen=True)
class LinkChange:
    """New values for links (``None``: unchanged).

    Attributes
    ----------
    speed_ms, speed_factor
        Free-flow speed (m/s), or a multiplier on it.
    capacity_pcu_h, capacity_factor
        Outflow capacity of the link (PCU/h), or a multiplier on it.
    lanes
        Lanes: capacity and storage scale by ``lanes / lanes before``.
    storage_factor
        Multiplier on the PCU the link holds.
    """

    speed_ms: float | None = None
    speed_factor: float | None = None
    capacity_pcu_h: float | None = None
    capacity_factor: float | None = None
    lanes: float | None = None
    storage_factor: float | None = None


class LinkChanges:
    """The closures and changes in force on a network's links.

    Parameters
    ----------
    network
        The drive network (its ``speed``, ``capacity``, ``lanes`` are the base values).
    class_names
        Vehicle classes, in the order of the class indices (at most 32).
    storage
        Base storage of each link, PCU (default: the network's).
    """

    def __init__(
        self,
        network: Network,
        class_names: Sequence[str],
        *,
        storage: np.ndarray | None = None,
    ) -> None:
        self.class_names = tuple(class_names)
        if len(self.class_names) > 32:
            raise TwinError("at most 32 vehicle classes can be closed out of links separately")
        self.n_links = network.n_edges
        self.base_speed = np.asarray(network.speed, dtype=np.float64).copy()
        self.base_capacity = np.asarray(network.capacity, dtype=np.float64).copy()
        self.base_lanes = np.asarray(network.lanes, dtype=np.float64).copy()
        self.base_storage = (
            network.storage.astype(np.float64)
            if storage is None
            else np.asarray(storage, np.float64).copy()
        )
        self.speed = self.base_speed.copy()
        self.capacity = self.base_capacity.copy()
        self.storage = self.base_storage.copy()
        #: ``uint32[m]``: bit ``c`` set = closed to class ``c``.
        self.closed = np.zeros(self.n_links, dtype=np.uint32)
        self._closures: dict[int, tuple[np.ndarray, np.uint32]] = {}
        self._changes: dict[int, tuple[np.ndarray, LinkChange]] = {}
        self._next_handle = 0

    # -- closures --------------------------------------------------------------------------
    def mask(self, classes: Sequence[str] | None) -> np.uint32:
        """The closure mask of ``classes`` (every class for ``None`` or empty)."""
        if not classes:
            return ALL_CLASSES
        unknown = [c for c in classes if c not in self.class_names]
        if unknown:
            raise TwinError(
                f"vehicle classes {unknown} are not among the run's {list(self.class_names)}"
            )
        bits = 0
        for c in classes:
            bits |= 1 << self.class_names.index(c)
        return np.uint32(bits)

    def close(self, edges: np.ndarray, classes: Sequence[str] | None = None) -> int:
        """Close ``edges`` (positions) to ``classes``; returns the closure's handle."""
        edges = self._edges(edges)
        handle = self._handle()
        self._closures[handle] = (edges, self.mask(classes))
        self._recompute_closed(edges)
        return handle

    def reopen(self, handle: int) -> np.ndarray:
        """End a closure; returns the edges it covered."""
        edges, _ = self._pop(self._closures, handle, "closure")
        self._recompute_closed(edges)
        return edges

    def _recompute_closed(self, edges: np.ndarray) -> None:
        mask = np.zeros(len(edges), dtype=np.uint32)
        for closed_edges, bits in self._closures.values():
            mask[np.isin(edges, closed_edges)] |= bits
        self.closed[edges] = mask

    def closed_to(self, class_index: int) -> np.ndarray:
        """``bool[m]``: links closed to class ``class_index`` now."""
        return ((self.closed >> np.uint32(class_index)) & np.uint32(1)).astype(bool)

    def groups(self) -> np.ndarray:
        """``int64[c]``: classes that are closed out of the same links share a group
        (numbered in class order, from 0); one group while no closure names classes."""
        signature = [
            tuple(sorted(h for h, (_, bits) in self._closures.items() if (int(bits) >> c) & 1))
            for c in range(len(self.class_names))
        ]
        seen: dict[tuple[int, ...], int] = {}
        return np.array([seen.setdefault(s, len(seen)) for s in signature], dtype=np.int64)

    # -- changes ---------------------------------------------------------------------------
    def change(self, edges: np.ndarray, change: LinkChange) -> int:
        """Apply ``change`` to ``edges`` (positions); returns its handle."""
        edges = self._edges(edges)
        handle = self._handle()
        self._changes[handle] = (edges, change)
        self._recompute_values(edges)
        return handle

    def undo(self, handle: int) -> np.ndarray:
        """End a change; returns the edges it covered."""
        edges, _ = self._pop(self._changes, handle, "change")
        self._recompute_values(edges)
        return edges

    def _recompute_values(self, edges: np.ndarray) -> None:
        speed = self.base_speed[edges].copy()
        capacity = self.base_capacity[edges].copy()
        lanes = self.base_lanes[edges].copy()
        storage = self.base_storage[edges].copy()
        for changed_edges, c in self._changes.values():
            hit = np.isin(edges, changed_edges)
            if c.speed_ms is not None:
                speed[hit] = c.speed_ms
            if c.speed_factor is not None:
                speed[hit] *= c.speed_factor
            if c.lanes is not None:
                ratio = c.lanes / np.maximum(lanes[hit], 1e-9)
                capacity[hit] *= ratio
                storage[hit] *= ratio
                lanes[hit] = c.lanes
            if c.capacity_pcu_h is not None:
                capacity[hit] = c.capacity_pcu_h
            if c.capacity_factor is not None:
                capacity[hit] *= c.capacity_factor
            if c.storage_factor is not None:
                storage[hit] *= c.storage_factor
        self.speed[edges] = speed
        self.capacity[edges] = capacity
        self.storage[edges] = storage

    # -- helpers ---------------------------------------------------------------------------
    def _edges(self, edges: np.ndarray) -> np.ndarray:
        edges = np.unique(np.asarray(edges, dtype=np.int64))
        if len(edges) and (edges.min() < 0 or edges.max() >= self.n_links):
            raise TwinError(f"links must be edge positions 0..{self.n_links - 1}")
        return edges

    def _handle(self) -> int:
        self._next_handle += 1
        return self._next_handle

    @staticmethod
    def _pop(store: dict, handle: int, what: str):
        try:
            return store.pop(handle)
        except KeyError:
            raise TwinError(f"no {what} with handle {handle} is in force") from None
