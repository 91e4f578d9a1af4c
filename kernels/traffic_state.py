"""The arrays of one link-queue traffic run: :class:`LinkQueueState` and its constants.

Everything both movement backends read and write lives here, in flat numpy arrays (links,
departure queues, vehicles, the event heap, counters, clocks and statistics); the model
they implement is described in :mod:`kernels.traffic`. The record dtypes mirror the C
structs declared in ``kernels/_traffic_cy.pyx`` field for field, and the integer constants
mirror its enums: change one side, change the other.
"""

from __future__ import annotations

import numpy as np

from kernels.errors import KernelInputError

__all__ = [
    "ALL_CLASSES",
    "ARRIVED",
    "MAX_CLASSES",
    "ON_NETWORK",
    "PENDING",
    "STRANDED",
    "UNROUTABLE",
    "WAITING",
    "LinkQueueState",
]

#: Most vehicle classes a run may have (``LinkQueueState.closed`` is a bit mask per link).
MAX_CLASSES = 32
#: A ``closed`` mask that shuts a link to every class.
ALL_CLASSES = np.uint32(0xFFFFFFFF)
# Vehicle states (``LinkQueueState.v_state``).
PENDING, WAITING, ON_NETWORK, ARRIVED, UNROUTABLE, STRANDED = 0, 1, 2, 3, 4, 5
# Heap item states (``LinkQueueState.item_state``).
IDLE, IN_HEAP, BLOCKED = 0, 1, 2
# Integer counters (``LinkQueueState.counts``).
C_DEPARTED, C_WAITING, C_ON_NETWORK, C_ARRIVED, C_UNROUTABLE = 0, 1, 2, 3, 4
C_HEAP_SIZE, C_SEQ, C_RELEASED, C_ORDER, C_TRAVERSALS, C_VEHICLES, C_FORCED = 5, 6, 7, 8, 9, 10, 11
N_COUNTS = 12
# Float clocks (``LinkQueueState.clock``).
T_LAST_MOVE, T_NOW, T_EMERGENCY_CONGESTION, T_RELIEF = 0, 1, 2, 3

# Records laid out as C structs (``kernels/_traffic_cy.pyx`` declares the same): the fields
# one event touches share a cache line or two instead of one array each. The familiar
# names (``state.occ``, ``state.v_ready`` …) are views into these records.
LINK_HOT = np.dtype(
    [
        ("q_head", np.int64),
        ("q_tail", np.int64),
        ("w_head", np.int64),
        ("head", np.int64),
        ("occ", np.float64),
        ("next_free", np.float64),
        ("headway", np.float64),
        ("storage", np.float64),
    ]
)
LINK_COLD = np.dtype(
    [
        ("w_tail", np.int64),
        ("st_entries", np.int64),
        ("st_exits", np.int64),
        ("length", np.float64),
        ("st_len", np.float64),
        ("st_time", np.float64),
        ("occ_int", np.float64),
        ("occ_last", np.float64),
        ("cum_len", np.float64),
    ]
)
VEHICLE = np.dtype(
    [
        ("next", np.int64),
        ("cls", np.int64),
        ("dest", np.int64),
        ("row", np.int64),
        ("link", np.int64),
        ("origin", np.int64),
        ("ready", np.float64),
        ("enter", np.float64),
        ("dist", np.float64),
        ("fftime", np.float64),
        ("depart", np.float64),
        ("arrive", np.float64),
    ]
)
HEAP = np.dtype([("time", np.float64), ("seq", np.int64), ("item", np.int64)])
_VEHICLE_FILL = {
    "next": -1,
    "cls": 0,
    "dest": -1,
    "row": -1,
    "link": -1,
    "origin": -1,
    "ready": 0.0,
    "enter": 0.0,
    "dist": 0.0,
    "fftime": 0.0,
    "depart": np.nan,
    "arrive": np.nan,
}
_VEHICLE_VIEWS = {
    "v_next": "next",
    "v_class": "cls",
    "v_origin": "origin",
    "v_dest": "dest",
    "v_row": "row",
    "v_link": "link",
    "v_depart": "depart",
    "v_arrive": "arrive",
    "v_ready": "ready",
    "v_enter": "enter",
    "v_dist": "dist",
    "v_fftime": "fftime",
}


class LinkQueueState:
    """All arrays of one link-queue run (links, nodes, vehicles, heap, statistics).

    Parameters
    ----------
    heads
        ``int64[m]``: head node of each link (the network's ``indices``).
    n_nodes
        Number of nodes.
    free_flow
        ``float64[c, m]``: free-flow traversal time of each link by vehicle class, seconds.
    headway
        ``float64[m]``: seconds per PCU at the link's exit (3600 / capacity in PCU/h).
    storage
        ``float64[m]``: PCU the link holds at jam density.
    length
        ``float64[m]``: metres.
    class_pcu
        ``float64[c]``: passenger-car units of each class.
    emergency_class
        Class index that passes queues (see :mod:`kernels.traffic`), ``-1`` for none.
    emergency_congestion
        Slow-down factor of emergency vehicles per unit of occupancy / storage.
    block_relief
        Seconds after which a vehicle held at the head of a link (or departure queue) by
        a full next link enters it anyway, over its storage (``None``: never). See the
        notes in :mod:`kernels.traffic`.
    capacity
        Vehicles to preallocate (more are added by :meth:`add_vehicles` as needed).
    """

    def __init__(
        self,
        *,
        heads: np.ndarray,
        n_nodes: int,
        free_flow: np.ndarray,
        headway: np.ndarray,
        storage: np.ndarray,
        length: np.ndarray,
        class_pcu: np.ndarray,
        emergency_class: int = -1,
        emergency_congestion: float = 1.0,
        block_relief: float | None = None,
        capacity: int = 1024,
    ) -> None:
        self.heads = _array(heads, np.int64, "heads", ndim=1)
        m = len(self.heads)
        self.n_links, self.n_nodes = m, int(n_nodes)
        if m and (self.heads.min() < 0 or self.heads.max() >= self.n_nodes):
            raise KernelInputError(f"heads must be node positions in 0..{self.n_nodes - 1}")
        self.free_flow = _array(free_flow, np.float64, "free_flow", ndim=2)
        self.class_pcu = _array(class_pcu, np.float64, "class_pcu", ndim=1)
        if self.free_flow.shape != (len(self.class_pcu), m):
            raise KernelInputError(
                f"free_flow has shape {self.free_flow.shape}, expected "
                f"({len(self.class_pcu)}, {m}) (vehicle classes × links)"
            )
        if not (self.class_pcu > 0).all():
            raise KernelInputError(f"class_pcu must be > 0, got {self.class_pcu.tolist()}")
        if m and not (self.free_flow > 0).all():
            raise KernelInputError("free_flow times must be > 0 seconds on every link")
        headway = _array(headway, np.float64, "headway", ndim=1, length=m)
        storage = _array(storage, np.float64, "storage", ndim=1, length=m)
        length = _array(length, np.float64, "length", ndim=1, length=m)
        if m and not ((headway > 0).all() and np.isfinite(headway).all()):
            raise KernelInputError("headway must be finite and > 0 (capacity > 0 PCU/h)")
        if m and not (storage > 0).all():
            raise KernelInputError("storage must be > 0 PCU on every link")
        self.emergency_class = int(emergency_class)
        if len(self.class_pcu) > MAX_CLASSES:
            raise KernelInputError(
                f"{len(self.class_pcu)} vehicle classes; the engine supports at most {MAX_CLASSES}"
            )
        #: ``uint32[m]``: bit ``c`` set = the link is closed to vehicle class ``c``.
        self.closed = np.zeros(m, dtype=np.uint32)
        # links
        self.link_hot = np.zeros(m, dtype=LINK_HOT)
        self.link_cold = np.zeros(m, dtype=LINK_COLD)
        for name in LINK_HOT.names:
            setattr(self, name, self.link_hot[name])
        for name in LINK_COLD.names:
            setattr(self, name, self.link_cold[name])
        self.q_head[:] = -1
        self.q_tail[:] = -1
        self.w_head[:] = -1
        self.w_tail[:] = -1
        self.next_free[:] = -np.inf
        self.head[:] = self.heads
        self.headway[:] = headway
        self.storage[:] = storage
        self.length[:] = length
        # departure queues per node
        self.s_head = np.full(self.n_nodes, -1, dtype=np.int64)
        self.s_tail = np.full(self.n_nodes, -1, dtype=np.int64)
        # counters and clocks
        self.counts = np.zeros(N_COUNTS, dtype=np.int64)
        self.clock = np.zeros(4, dtype=np.float64)
        self.clock[T_EMERGENCY_CONGESTION] = float(emergency_congestion)
        self.clock[T_RELIEF] = np.inf if block_relief is None else float(block_relief)
        # when the head of each link / departure queue first found its next link full
        self.block_t = np.full(m + self.n_nodes, -1.0, dtype=np.float64)
        # routing table (replaced by set_table)
        self.next_edge = np.full((0, self.n_nodes), -1, dtype=np.int32)
        self.row_active = np.zeros(0, dtype=np.int64)
        #: ``int64[c]``: routing group of each class (its rows start at group × row_stride).
        self.class_group = np.zeros(len(self.class_pcu), dtype=np.int64)
        self.row_stride = 0
        self.capacity = 0
        self.version = 0
        self._grow(max(int(capacity), 16))

    # -- sizes ----------------------------------------------------------------------------
    @property
    def n_vehicles(self) -> int:
        """Vehicles added so far."""
        return int(self.counts[C_VEHICLES])

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        vehicles = np.zeros(capacity, dtype=VEHICLE)
        for name, fill in _VEHICLE_FILL.items():
            vehicles[name] = fill
        v_state = np.full(capacity, PENDING, dtype=np.int8)
        order = np.full(capacity, -1, dtype=np.int64)
        items = self.n_links + self.n_nodes + capacity
        item_state = np.zeros(items, dtype=np.int8)
        w_next = np.full(items, -1, dtype=np.int64)
        heap = np.zeros(items, dtype=HEAP)
        if old:
            vehicles[:old] = self.vehicles
            v_state[:old] = self.v_state
            order[:old] = self.order
            base = self.n_links + self.n_nodes + old
            item_state[:base] = self.item_state
            w_next[:base] = self.w_next
            size = int(self.counts[C_HEAP_SIZE])
            heap[:size] = self.heap[:size]
        self.vehicles, self.v_state, self.order = vehicles, v_state, order
        for name, field in _VEHICLE_VIEWS.items():
            setattr(self, name, vehicles[field])
        self.item_state, self.w_next, self.heap = item_state, w_next, heap
        self.heap_time, self.heap_seq, self.heap_item = heap["time"], heap["seq"], heap["item"]
        self.capacity = capacity
        self.version += 1

    def add_vehicles(
        self,
        *,
        origin: np.ndarray,
        dest: np.ndarray,
        row: np.ndarray,
        vehicle_class: np.ndarray,
        depart: np.ndarray,
        scheduled: bool = True,
    ) -> np.ndarray:
        """Append vehicles and return their ids.

        Parameters
        ----------
        origin, dest
            Node positions.
        row
            Row of ``dest`` in the next-hop table.
        vehicle_class
            Class index of each vehicle.
        depart
            Departure times, seconds.
        scheduled
            ``True``: append them to the release order (they must come in departure order
            after every scheduled vehicle so far). ``False``: the caller releases them by
            passing their ids to :func:`advance` (injected vehicles).
        """
        origin = np.asarray(origin, dtype=np.int64)
        k = len(origin)
        start = self.n_vehicles
        if start + k > self.capacity:
            self._grow(max(2 * self.capacity, start + k))
        ids = np.arange(start, start + k, dtype=np.int64)
        sl = slice(start, start + k)
        self.v_origin[sl] = origin
        self.v_dest[sl] = dest
        self.v_row[sl] = row
        self.v_class[sl] = vehicle_class
        self.v_depart[sl] = depart
        if k:
            if self.n_nodes and (
                min(origin.min(), np.min(dest)) < 0
                or max(origin.max(), np.max(dest)) >= self.n_nodes
            ):
                raise KernelInputError(
                    f"vehicle origins and destinations must be nodes 0..{self.n_nodes - 1}"
                )
            if np.min(vehicle_class) < 0 or np.max(vehicle_class) >= len(self.class_pcu):
                raise KernelInputError("vehicle class index out of range")
        if scheduled:
            n_order = int(self.counts[C_ORDER])
            if k and n_order:
                last = self.v_depart[self.order[n_order - 1]]
                if np.min(depart) < last:
                    raise KernelInputError("scheduled vehicles must be added in departure order")
            self.order[n_order : n_order + k] = ids
            self.counts[C_ORDER] += k
        self.counts[C_VEHICLES] += k
        return ids

    def set_table(
        self,
        next_edge: np.ndarray,
        row_active: np.ndarray | None = None,
        *,
        class_group: np.ndarray | None = None,
    ) -> None:
        """Install a (possibly larger) next-hop table ``int32[g × k, n_nodes]``: ``g``
        groups of classes (each routes on the links open to it) of ``k`` destination rows;
        a vehicle of class ``c`` bound for row ``r`` follows row ``class_group[c] × k + r``.

        Parameters
        ----------
        next_edge
            The table; other integer types are converted, which copies (pass ``int32`` to
            share the caller's array, which the caller then refreshes in place).
        row_active
            Vehicles bound for each destination row (``int64[k]``); ``None`` keeps the
            current counts.
        class_group
            ``int64[c]``: group of each vehicle class (``None``: keep the current groups).
        """
        table = np.ascontiguousarray(next_edge, dtype=np.int32)
        if table.ndim != 2 or table.shape[1] != self.n_nodes:
            raise KernelInputError(
                f"next_edge must have shape (k, {self.n_nodes}), got {table.shape}"
            )
        if table.size and table.max() >= self.n_links:
            raise KernelInputError(f"next_edge holds edges beyond 0..{self.n_links - 1}")
        groups = self.class_group if class_group is None else np.asarray(class_group, np.int64)
        if groups.shape != (len(self.class_pcu),) or (groups < 0).any():
            raise KernelInputError(
                f"class_group must hold a group >= 0 for each of the {len(self.class_pcu)} classes"
            )
        n_groups = int(groups.max()) + 1 if len(groups) else 1
        if table.shape[0] % n_groups:
            raise KernelInputError(
                f"next_edge has {table.shape[0]} rows, not a multiple of the {n_groups} groups"
            )
        stride = table.shape[0] // n_groups
        active = np.zeros(stride, dtype=np.int64)
        if row_active is not None:
            active[: len(row_active)] = row_active
        else:
            keep = min(stride, len(self.row_active))
            active[:keep] = self.row_active[:keep]
        self.next_edge, self.row_active = table, active
        self.class_group = np.ascontiguousarray(groups, dtype=np.int64)
        self.row_stride = stride
        self.version += 1


def _array(value, dtype, name, *, ndim, length=None):
    arr = np.ascontiguousarray(value, dtype=dtype)
    if arr.ndim != ndim:
        raise KernelInputError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if length is not None and len(arr) != length:
        raise KernelInputError(f"{name} has {len(arr)} entries, expected {length} (one per link)")
    return arr
