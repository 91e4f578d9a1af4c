"""The arrays of one link-queue traffic run: :class:`LinkQueueState` and its constants.

Everything both movement backends read and write lives here, in flat numpy arrays (links,
departure queues, vehicles, freed-space tokens, the event heap, counters, clocks and
statistics); the model they implement is described in :mod:`kernels.traffic`. The record
dtypes mirror the C structs declared in ``kernels/_traffic_cy.pyx`` field for field, and
the integer constants mirror its enums: change one side, change the other.
"""

from __future__ import annotations

import numpy as np

from kernels.errors import KernelInputError

__all__ = [
    "ALL_CLASSES",
    "ARRIVED",
    "CTRL_FREE",
    "CTRL_MAJOR",
    "CTRL_MINOR",
    "CTRL_SIGNAL",
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
# Junction control of a link's exit (``LinkQueueState.ctrl``): none; a fixed-time signal;
# the major road of a priority junction (its exits are the conflicting flow); a minor road
# that gives way (its exit capacity falls with the conflicting flow).
CTRL_FREE, CTRL_SIGNAL, CTRL_MAJOR, CTRL_MINOR = 0, 1, 2, 3
# Integer counters (``LinkQueueState.counts``).
C_DEPARTED, C_WAITING, C_ON_NETWORK, C_ARRIVED, C_UNROUTABLE = 0, 1, 2, 3, 4
C_HEAP_SIZE, C_SEQ, C_RELEASED, C_ORDER, C_TRAVERSALS, C_VEHICLES, C_FORCED = 5, 6, 7, 8, 9, 10, 11
C_TK_FREE, C_TK_NFREE, C_BYPASSED, C_FILTERED = 12, 13, 14, 15
N_COUNTS = 16
# Float clocks and model constants (``LinkQueueState.clock``).
T_LAST_MOVE, T_NOW, T_EMERGENCY_CONGESTION, T_RELIEF, T_FILTER_GAIN, T_FLOW_WINDOW = range(6)
N_CLOCKS = 6
#: Return code of a backend's ``advance``: it stopped early for more token slots.
NEED_TOKENS = 1

# Records laid out as C structs (``kernels/_traffic_cy.pyx`` declares the same): the fields
# one event touches share a cache line or two instead of one array each. The familiar
# names (``state.occ``, ``state.v_ready`` …) are views into these records.
LINK_HOT = np.dtype(
    [
        # two 64-byte cache lines per link (allocated 64-byte aligned): ids in 32 bits,
        # C's padding after them (align=True)
        ("q_head", np.int32),
        ("q_tail", np.int32),
        ("w_head", np.int32),
        ("head", np.int32),
        ("tk_head", np.int32),
        ("tk_tail", np.int32),
        ("ctrl", np.int32),
        ("lookahead", np.int32),
        # filtering vehicles in the queue (a head with none behind it has none to let past)
        ("n_filter", np.int32),
        ("occ", np.float64),
        ("occ_large", np.float64),
        ("tok_pcu", np.float64),
        ("tk_first", np.float64),
        ("next_free", np.float64),
        ("entry_free", np.float64),
        ("headway", np.float64),
        ("in_headway", np.float64),
        ("storage", np.float64),
        ("wave", np.float64),
        ("vtime", np.float64),
    ],
    align=True,
)
LINK_COLD = np.dtype(
    [
        ("w_tail", np.int64),
        ("st_entries", np.int64),
        ("st_exits", np.int64),
        ("passed", np.int64),
        ("length", np.float64),
        ("st_len", np.float64),
        ("st_time", np.float64),
        ("occ_int", np.float64),
        ("occ_last", np.float64),
        ("cum_len", np.float64),
        ("sig_cycle", np.float64),
        ("sig_start", np.float64),
        ("sig_green", np.float64),
        ("sat_headway", np.float64),
        ("gap_tc", np.float64),
        ("gap_tf", np.float64),
    ]
)
VEHICLE = np.dtype(
    [
        # one 64-byte cache line per vehicle (the record is allocated 64-byte aligned):
        # ids in 32 bits, and the departure and arrival times, read once per trip, apart
        ("next", np.int32),
        ("cls", np.int32),
        ("dest", np.int32),
        ("row", np.int32),
        ("link", np.int32),
        ("origin", np.int32),
        ("ready", np.float64),
        ("enter", np.float64),
        ("dist", np.float64),
        ("fftime", np.float64),
        ("charge", np.float64),
    ]
)
#: Largest id the link and vehicle records hold in 32 bits (vehicles, heap items, tokens).
MAX_ID = 2**31 - 1
TOKEN = np.dtype([("time", np.float64), ("pcu", np.float64), ("next", np.int64)])
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
    "charge": 0.0,
}
_VEHICLE_VIEWS = {
    "v_next": "next",
    "v_class": "cls",
    "v_origin": "origin",
    "v_dest": "dest",
    "v_row": "row",
    "v_link": "link",
    "v_ready": "ready",
    "v_enter": "enter",
    "v_dist": "dist",
    "v_fftime": "fftime",
    "v_charge": "charge",
}


def _aligned_records(n: int, dtype: np.dtype, align: int = 64) -> np.ndarray:
    """Zeroed ``dtype[n]`` whose first record starts on an ``align``-byte boundary (so a
    64-byte record is one cache line)."""
    raw = np.zeros(n * dtype.itemsize + align, dtype=np.uint8)
    skip = -raw.ctypes.data % align
    return raw[skip : skip + n * dtype.itemsize].view(dtype)


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
    wave
        ``float64[m]``: seconds that space freed at a link's downstream end takes to reach
        its upstream end (length / backward wave speed; ``0``: at once, no kinematic
        waves). Default ``0``.
    in_headway
        ``float64[m]``: seconds per PCU at the link's entrance (its receiving capacity;
        ``0``: unlimited). Default ``0``.
    class_filters
        ``bool[c]``: classes that filter through queues of the others (motorbikes).
        Default none.
    filter_gain
        Share of a filtering vehicle's PCU saved per unit share of non-filtering PCU on
        the link it enters, in ``[0, 1)`` (see :mod:`kernels.traffic`). Default ``0``.
    flow_window
        Time constant of the conflicting-flow estimate at priority junctions, seconds.
    capacity
        Vehicles to preallocate (more are added by :meth:`add_vehicles` as needed).
    tokens
        Freed-space token slots to preallocate (more are added as needed).
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
        wave: np.ndarray | None = None,
        in_headway: np.ndarray | None = None,
        class_filters: np.ndarray | None = None,
        filter_gain: float = 0.0,
        flow_window: float = 60.0,
        capacity: int = 1024,
        tokens: int = 1024,
    ) -> None:
        self.heads = _array(heads, np.int64, "heads", ndim=1)
        m = len(self.heads)
        self.n_links, self.n_nodes = m, int(n_nodes)
        if m and (self.heads.min() < 0 or self.heads.max() >= self.n_nodes):
            raise KernelInputError(f"heads must be node positions in 0..{self.n_nodes - 1}")
        self.free_flow = _array(free_flow, np.float64, "free_flow", ndim=2)
        self.class_pcu = _array(class_pcu, np.float64, "class_pcu", ndim=1)
        n_classes = len(self.class_pcu)
        if self.free_flow.shape != (n_classes, m):
            raise KernelInputError(
                f"free_flow has shape {self.free_flow.shape}, expected "
                f"({n_classes}, {m}) (vehicle classes × links)"
            )
        if not (self.class_pcu > 0).all():
            raise KernelInputError(f"class_pcu must be > 0, got {self.class_pcu.tolist()}")
        if m and not (self.free_flow > 0).all():
            raise KernelInputError("free_flow times must be > 0 seconds on every link")
        headway = _array(headway, np.float64, "headway", ndim=1, length=m)
        storage = _array(storage, np.float64, "storage", ndim=1, length=m)
        length = _array(length, np.float64, "length", ndim=1, length=m)
        wave = np.zeros(m) if wave is None else _array(wave, np.float64, "wave", ndim=1, length=m)
        in_headway = (
            np.zeros(m)
            if in_headway is None
            else _array(in_headway, np.float64, "in_headway", ndim=1, length=m)
        )
        _check_link_values(headway=headway, storage=storage, wave=wave, in_headway=in_headway)
        self.emergency_class = int(emergency_class)
        if n_classes > MAX_CLASSES:
            raise KernelInputError(
                f"{n_classes} vehicle classes; the engine supports at most {MAX_CLASSES}"
            )
        filters = np.zeros(n_classes, dtype=bool) if class_filters is None else class_filters
        self.class_filters = _array(filters, np.uint8, "class_filters", ndim=1)
        if len(self.class_filters) != n_classes:
            raise KernelInputError(
                f"class_filters has {len(self.class_filters)} entries for {n_classes} classes"
            )
        if not 0.0 <= filter_gain < 1.0:
            raise KernelInputError(f"filter_gain must lie in [0, 1), got {filter_gain}")
        if not flow_window > 0:
            raise KernelInputError(f"flow_window must be > 0 seconds, got {flow_window}")
        #: ``uint32[m]``: bit ``c`` set = the link is closed to vehicle class ``c``.
        self.closed = np.zeros(m, dtype=np.uint32)
        # links
        self.link_hot = _aligned_records(m, LINK_HOT)
        self.link_cold = np.zeros(m, dtype=LINK_COLD)
        for name in LINK_HOT.names:
            setattr(self, name, self.link_hot[name])
        for name in LINK_COLD.names:
            setattr(self, name, self.link_cold[name])
        for name in ("q_head", "q_tail", "w_head", "w_tail", "tk_head", "tk_tail"):
            getattr(self, name)[:] = -1
        self.next_free[:] = -np.inf
        self.entry_free[:] = -np.inf
        self.tk_first[:] = np.inf
        self.head[:] = self.heads
        self.headway[:] = headway
        self.storage[:] = storage
        self.length[:] = length
        self.wave[:] = wave
        self.in_headway[:] = in_headway
        # departure queues per node; node state of priority junctions
        self.s_head = np.full(self.n_nodes, -1, dtype=np.int64)
        self.s_tail = np.full(self.n_nodes, -1, dtype=np.int64)
        #: ``float64[n]``: smoothed conflicting flow at each node, PCU/s, as of ``node_t``.
        self.node_q = np.zeros(self.n_nodes, dtype=np.float64)
        self.node_t = np.zeros(self.n_nodes, dtype=np.float64)
        #: ``float64[m + n]``: fair-queueing tag of each link and departure queue.
        self.tag = np.zeros(m + self.n_nodes, dtype=np.float64)
        #: ``int64[m + n]``: the link each link or departure queue last waited to enter
        #: (meaningful while its item is ``BLOCKED``).
        self.wait_on = np.full(m + self.n_nodes, -1, dtype=np.int64)
        # counters and clocks
        self.counts = np.zeros(N_COUNTS, dtype=np.int64)
        self.clock = np.zeros(N_CLOCKS, dtype=np.float64)
        self.clock[T_EMERGENCY_CONGESTION] = float(emergency_congestion)
        self.clock[T_RELIEF] = np.inf if block_relief is None else float(block_relief)
        self.clock[T_FILTER_GAIN] = float(filter_gain)
        self.clock[T_FLOW_WINDOW] = float(flow_window)
        # when the head of each link / departure queue first found its next link full
        self.block_t = np.full(m + self.n_nodes, -1.0, dtype=np.float64)
        # routing table (replaced by set_table)
        self.next_edge = np.full((0, self.n_nodes), -1, dtype=np.int32)
        #: ``int32[g × k, n_nodes]`` or empty: the alternate trees every other vehicle follows.
        self.alt_edge = np.full((0, self.n_nodes), -1, dtype=np.int32)
        self.row_active = np.zeros(0, dtype=np.int64)
        #: ``int64[c]``: routing group of each class (its rows start at group × row_stride).
        self.class_group = np.zeros(n_classes, dtype=np.int64)
        self.row_stride = 0
        self.tokens = np.zeros(0, dtype=TOKEN)
        self.capacity = 0
        self.version = 0
        self.grow_tokens(max(int(tokens), 16))
        self._grow(max(int(capacity), 16))

    # -- sizes ----------------------------------------------------------------------------
    @property
    def n_vehicles(self) -> int:
        """Vehicles added so far."""
        return int(self.counts[C_VEHICLES])

    @property
    def n_items(self) -> int:
        """Heap items: link exits, departure queues, link entrances, link windows, vehicles."""
        return 3 * self.n_links + self.n_nodes + self.capacity

    def _grow(self, capacity: int) -> None:
        old = self.capacity
        if 3 * self.n_links + self.n_nodes + capacity > MAX_ID:
            raise KernelInputError(
                f"{capacity:,} vehicles are more than a run's 32-bit ids hold; split the trips "
                "into runs"
            )
        vehicles = _aligned_records(capacity, VEHICLE)
        for name, fill in _VEHICLE_FILL.items():
            vehicles[name] = fill
        depart = np.full(capacity, np.nan, dtype=np.float64)
        arrive = np.full(capacity, np.nan, dtype=np.float64)
        v_state = np.full(capacity, PENDING, dtype=np.int8)
        order = np.full(capacity, -1, dtype=np.int64)
        items = 3 * self.n_links + self.n_nodes + capacity
        item_state = np.zeros(items, dtype=np.int8)
        w_next = np.full(items, -1, dtype=np.int64)
        heap = np.zeros(items, dtype=HEAP)
        if old:
            vehicles[:old] = self.vehicles
            depart[:old] = self.v_depart
            arrive[:old] = self.v_arrive
            v_state[:old] = self.v_state
            order[:old] = self.order
            base = 3 * self.n_links + self.n_nodes + old
            item_state[:base] = self.item_state
            w_next[:base] = self.w_next
            size = int(self.counts[C_HEAP_SIZE])
            heap[:size] = self.heap[:size]
        self.vehicles, self.v_state, self.order = vehicles, v_state, order
        #: ``float64[capacity]``: departure and arrival times of each vehicle, seconds.
        self.v_depart, self.v_arrive = depart, arrive
        for name, field in _VEHICLE_VIEWS.items():
            setattr(self, name, vehicles[field])
        self.item_state, self.w_next, self.heap = item_state, w_next, heap
        self.heap_time, self.heap_seq, self.heap_item = heap["time"], heap["seq"], heap["item"]
        self.capacity = capacity
        self.version += 1

    def grow_tokens(self, slots: int | None = None) -> None:
        """Add freed-space token slots (doubling by default) and chain them as free."""
        old = len(self.tokens)
        new = max(2 * old, 16) if slots is None else max(int(slots), old)
        if new == old:
            return
        if new > MAX_ID:
            raise KernelInputError(f"{new:,} freed-space tokens are more than 32-bit ids hold")
        tokens = np.zeros(new, dtype=TOKEN)
        tokens[:old] = self.tokens
        # new slots join the free list in index order, in front of the free slots already there
        tokens["next"][old : new - 1] = np.arange(old + 1, new)
        tokens["next"][new - 1] = self.counts[C_TK_FREE] if old else -1
        self.counts[C_TK_FREE] = old
        self.counts[C_TK_NFREE] += new - old
        self.tokens = tokens
        self.tk_time, self.tk_pcu, self.tk_next = tokens["time"], tokens["pcu"], tokens["next"]
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
            # by a quarter: a day's injected vehicles (taxis, ambulances) are a few thousand
            # beside a million scheduled ones, and doubling those arrays would cost 100s of MB
            self._grow(max(self.capacity + self.capacity // 4, start + k))
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
        alternate: np.ndarray | None = None,
    ) -> None:
        """Install a (possibly larger) next-hop table ``int32[g × k, n_nodes]``: ``g``
        groups of classes (each routes on the links open to it) of ``k`` destination rows;
        a vehicle of class ``c`` bound for row ``r`` follows row ``class_group[c] × k + r``.
        With an ``alternate`` table of the same shape, vehicles of odd id (emergency
        vehicles excepted) follow its rows instead.

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
        alternate
            ``int32``, the shape of ``next_edge`` (shared like it), or ``None``: none.
        """
        table = np.ascontiguousarray(next_edge, dtype=np.int32)
        if alternate is None:
            alt = np.full((0, self.n_nodes), -1, dtype=np.int32)
        else:
            alt = np.ascontiguousarray(alternate, dtype=np.int32)
            if alt.shape != table.shape:
                raise KernelInputError(
                    f"the alternate table has shape {alt.shape}; expected that of next_edge, "
                    f"{table.shape}"
                )
            if alt.size and alt.max() >= self.n_links:
                raise KernelInputError(f"alternate holds edges beyond 0..{self.n_links - 1}")
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
        self.next_edge, self.alt_edge, self.row_active = table, alt, active
        self.class_group = np.ascontiguousarray(groups, dtype=np.int64)
        self.row_stride = stride
        self.version += 1

    def drop_table(self) -> None:
        """Let go of the next-hop tables (after the run, to free their memory); no vehicle
        may move until :meth:`set_table` installs new ones."""
        self.next_edge = np.full((0, self.n_nodes), -1, dtype=np.int32)
        self.alt_edge = np.full((0, self.n_nodes), -1, dtype=np.int32)
        self.version += 1

    def set_junctions(
        self,
        *,
        ctrl: np.ndarray,
        lookahead: np.ndarray | None = None,
        sig_cycle: np.ndarray | None = None,
        sig_start: np.ndarray | None = None,
        sig_green: np.ndarray | None = None,
        sat_headway: np.ndarray | None = None,
        gap_tc: np.ndarray | None = None,
        gap_tf: np.ndarray | None = None,
    ) -> None:
        """Install the junction control of every link's exit (see :mod:`kernels.traffic`).

        Parameters
        ----------
        ctrl
            ``int[m]``: :data:`CTRL_FREE`, :data:`CTRL_SIGNAL`, :data:`CTRL_MAJOR` or
            :data:`CTRL_MINOR`.
        lookahead
            ``int[m]``: vehicles behind the head of the queue that may leave before it
            (filtering motorbikes; turns whose exit has room while the head's is full).
        sig_cycle, sig_start, sig_green
            Signalised exits: cycle length, start of the green within the cycle (seconds
            after any multiple of the cycle) and effective green, seconds.
        sat_headway
            Signalised exits: seconds per PCU during green (3600 / saturation flow).
        gap_tc, gap_tf
            Minor exits: critical gap and follow-up time, seconds (see
            :func:`kernels.junctions.gap_capacity`).
        """
        m = self.n_links
        ctrl = _array(ctrl, np.int32, "ctrl", ndim=1, length=m)
        if m and (ctrl.min() < CTRL_FREE or ctrl.max() > CTRL_MINOR):
            raise KernelInputError(
                "ctrl must hold CTRL_FREE, CTRL_SIGNAL, CTRL_MAJOR or CTRL_MINOR (0..3)"
            )
        values = {
            "lookahead": (lookahead, np.int32, 0),
            "sig_cycle": (sig_cycle, np.float64, 0.0),
            "sig_start": (sig_start, np.float64, 0.0),
            "sig_green": (sig_green, np.float64, 0.0),
            "sat_headway": (sat_headway, np.float64, 0.0),
            "gap_tc": (gap_tc, np.float64, 0.0),
            "gap_tf": (gap_tf, np.float64, 0.0),
        }
        arrays = {
            name: np.full(m, fill, dtype=dtype)
            if value is None
            else _array(value, dtype, name, ndim=1, length=m)
            for name, (value, dtype, fill) in values.items()
        }
        if m and arrays["lookahead"].min() < 0:
            raise KernelInputError("lookahead must be >= 0 vehicles")
        sig = ctrl == CTRL_SIGNAL
        cycle, green = arrays["sig_cycle"][sig], arrays["sig_green"][sig]
        if not ((cycle > 0).all() and (green > 0).all() and (green <= cycle).all()):
            raise KernelInputError("signalised links need 0 < sig_green <= sig_cycle seconds")
        if not (arrays["sat_headway"][sig] > 0).all():
            raise KernelInputError("signalised links need sat_headway > 0 seconds per PCU")
        minor = ctrl == CTRL_MINOR
        if not ((arrays["gap_tc"][minor] > 0).all() and (arrays["gap_tf"][minor] > 0).all()):
            raise KernelInputError("minor links need gap_tc > 0 and gap_tf > 0 seconds")
        self.ctrl[:] = ctrl
        for name, array in arrays.items():
            getattr(self, name)[:] = array

    def set_links(
        self,
        edges: np.ndarray,
        *,
        free_flow: np.ndarray | None = None,
        headway: np.ndarray | None = None,
        in_headway: np.ndarray | None = None,
        storage: np.ndarray | None = None,
        wave: np.ndarray | None = None,
        now: float | None = None,
    ) -> None:
        """Change links mid-run (an intervention): any of their free-flow times (``float[c,
        k]``), exit and entrance headways, storage and wave time (``float[k]``).

        Vehicles already on a link keep the free-flow time they entered with; the new
        values hold for every later entry and exit. A service in progress at ``now``
        (seconds; default the state's clock) at an exit or entrance whose headway changes
        finishes in its remaining time scaled by the new headway over the old. Call
        :func:`kernels.traffic.wake` on the links afterwards, so that traffic waiting for
        them looks again.
        """
        edges = np.asarray(edges, dtype=np.int64)
        if len(edges) and (edges.min() < 0 or edges.max() >= self.n_links):
            raise KernelInputError(f"edges must be link positions 0..{self.n_links - 1}")
        k = len(edges)
        if free_flow is not None:
            ff = np.asarray(free_flow, dtype=np.float64)
            if ff.shape != (len(self.class_pcu), k) or not (ff > 0).all():
                raise KernelInputError(
                    f"free_flow must be > 0 seconds with shape ({len(self.class_pcu)}, {k})"
                )
        checked = {
            name: None if value is None else _array(value, np.float64, name, ndim=1, length=k)
            for name, value in (
                ("headway", headway),
                ("in_headway", in_headway),
                ("storage", storage),
                ("wave", wave),
            )
        }
        _check_link_values(**{k_: v for k_, v in checked.items() if v is not None})
        if free_flow is not None:
            self.free_flow[:, edges] = ff
        t = float(self.clock[T_NOW]) if now is None else float(now)
        for name, busy in (("headway", "next_free"), ("in_headway", "entry_free")):
            new = checked[name]
            if new is None:
                continue
            old, until = getattr(self, name)[edges], getattr(self, busy)[edges]
            running = (until > t) & (old > 0) & (new > 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(running, new / np.where(old > 0, old, 1.0), 1.0)
                scaled = t + (until - t) * ratio
            getattr(self, busy)[edges] = np.where(running, scaled, np.minimum(until, t))
        if checked["wave"] is not None:
            # space already travelling back arrives in its remaining time at the new speed
            for e, new in zip(edges.tolist(), checked["wave"].tolist(), strict=True):
                old = float(self.wave[e])
                k = int(self.tk_head[e])
                while k >= 0:
                    if self.tk_time[k] > t:
                        ratio = new / old if old > 0 else 0.0
                        self.tk_time[k] = t + (self.tk_time[k] - t) * ratio
                    k = int(self.tk_next[k])
                if self.tk_head[e] >= 0:
                    self.tk_first[e] = self.tk_time[self.tk_head[e]]
        for name, value in checked.items():
            if value is not None:
                getattr(self, name)[edges] = value

    def cancel_items(self, items: np.ndarray) -> None:
        """Take these heap items out of the event heap (they become idle); the heap is
        rebuilt in (time, insertion) order, a valid heap whatever the backend."""
        size = int(self.counts[C_HEAP_SIZE])
        entries = self.heap[:size]
        drop = np.isin(entries["item"], np.asarray(items, dtype=np.int64))
        if not drop.any():
            return
        self.item_state[entries["item"][drop]] = IDLE
        rest = np.sort(entries[~drop], order=["time", "seq"])
        self.heap[: len(rest)] = rest
        self.counts[C_HEAP_SIZE] = len(rest)


def _check_link_values(**arrays: np.ndarray) -> None:
    headway = arrays.get("headway")
    if headway is not None and not ((headway > 0).all() and np.isfinite(headway).all()):
        raise KernelInputError("headway must be finite and > 0 (capacity > 0 PCU/h)")
    storage = arrays.get("storage")
    if storage is not None and len(storage) and not (storage > 0).all():
        raise KernelInputError("storage must be > 0 PCU on every link")
    for name in ("wave", "in_headway"):
        value = arrays.get(name)
        if value is not None and not ((value >= 0).all() and np.isfinite(value).all()):
            raise KernelInputError(f"{name} must be finite and >= 0 seconds on every link")


def _array(value, dtype, name, *, ndim, length=None):
    arr = np.ascontiguousarray(value, dtype=dtype)
    if arr.ndim != ndim:
        raise KernelInputError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if length is not None and len(arr) != length:
        raise KernelInputError(f"{name} has {len(arr)} entries, expected {length} (one per link)")
    return arr
