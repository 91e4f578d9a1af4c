"""Mesoscopic link-queue traffic: the per-vehicle, per-link movement loop.

The model
---------
Every directed link ``e`` is a FIFO queue with

- a free-flow traversal time per vehicle class, ``free_flow[c, e]`` seconds;
- an outflow capacity, held as a *headway* ``headway[e]`` seconds per PCU
  (``3600 / capacity`` with capacity in PCU/h): the link's exit is a server that lets a
  vehicle of ``p`` PCU out every ``p * headway[e]`` seconds;
- a storage capacity ``storage[e]`` PCU: a vehicle may enter only when the PCU already on
  the link plus its own fit (an empty link always takes one vehicle, so a bus can enter a
  link shorter than itself). Spillback follows: a vehicle whose next link is full waits
  at the head of its own link, and the link behind it stops discharging.

A vehicle that enters link ``e`` at time ``t`` may leave it at
``max(t + free_flow[c, e], server free, space downstream)``, in continuous time: the
simulation is event driven (a binary heap ordered by time, ties broken by insertion
order), so free-flow travel times are exact and queues discharge at exactly the link's
capacity. :func:`advance` runs the events up to a time ``t_end`` and returns, so a
SimPy process can step it and let other processes share the clock.

Intersections (the sharing rule): while a link has room, each upstream link discharges
into it at its own capacity. When it is full, every upstream link (and every origin node's
departure queue) whose head vehicle wants it joins the link's *waiting list*, in the order
they were blocked. Each time the link frees space the whole list is woken in that order:
the first enters, the rest find the link full again and rejoin the list behind it. Under
saturation the approaches therefore take turns, one vehicle at a time (round-robin).

Gridlock relief: a vehicle that has waited ``block_relief`` seconds at the head of its
link for a full next link enters it anyway (the link goes over its storage; counted in
``counts[C_FORCED]``), like SUMO's time-to-teleport but without leaving the road. It is
checked when the vehicle is woken: when space frees downstream, or when the caller wakes
every blocked vehicle (:func:`wake_all`, after route refreshes). Without it a circular
chain of full links stays locked for good, which the caller detects as gridlock.

Arrivals: a vehicle whose destination is the link's head node leaves the link (parks)
when it reaches the front of the queue and the end of the link; it uses neither the exit
server nor any storage downstream, so a busy destination does not throttle the through
traffic behind it beyond the FIFO order (as in MATSim's queue model).

Departures: a departing vehicle joins its origin node's departure queue (FIFO) and enters
the first link of its route when that link has room ("waiting to enter" until then).

Routes: vehicles carry no path. At every node a vehicle bound for destination row ``r``
takes ``next_edge[r, node]`` from a destination-based next-hop table that the caller
refreshes from current travel times (``-1``: unreachable; the vehicle leaves the network
as *unroutable*).

Emergency vehicles (the class ``emergency_class``) pass queues: they neither wait for
the outflow server nor for storage, and do not count towards a link's storage; they
traverse link ``e`` in ``free_flow[c, e] * (1 + emergency_congestion * min(1, occupancy
/ storage))`` seconds, i.e. slowed in proportion to the link's density relative to jam
density (twice the free-flow time on a jammed link with the default factor 1).

Statistics per link are accumulated for the current reporting interval (entries, exits,
metres and seconds of the exiting vehicles, the time integral of the occupancy) and
cumulatively (vehicle-metres); the caller reads and resets them at interval boundaries.

The state lives in flat numpy arrays on a :class:`LinkQueueState`; both backends (the
compiled ``kernels._traffic_cy`` and the pure-Python reference below, which is the readable
specification) read and write the same arrays and produce identical results.
"""

from __future__ import annotations

import numpy as np

from kernels.backend import compiled
from kernels.errors import KernelInputError

__all__ = [
    "ARRIVED",
    "ON_NETWORK",
    "PENDING",
    "STRANDED",
    "UNROUTABLE",
    "WAITING",
    "LinkQueueState",
    "advance",
    "queued_pcu",
    "wake_all",
]

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
        Class index that passes queues (see the module notes), ``-1`` for none.
    emergency_congestion
        Slow-down factor of emergency vehicles per unit of occupancy / storage.
    block_relief
        Seconds after which a vehicle held at the head of a link (or departure queue) by
        a full next link enters it anyway, over its storage (``None``: never). See the
        module notes.
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
        self.closed = np.zeros(m, dtype=np.uint8)
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

    def set_table(self, next_edge: np.ndarray, row_active: np.ndarray | None = None) -> None:
        """Install a (possibly larger) next-hop table ``int32[k, n_nodes]`` (other integer
        types are converted, which copies: pass ``int32`` to share the caller's array)."""
        table = np.ascontiguousarray(next_edge, dtype=np.int32)
        if table.size and table.max() >= self.n_links:
            raise KernelInputError(f"next_edge holds edges beyond 0..{self.n_links - 1}")
        if table.ndim != 2 or table.shape[1] != self.n_nodes:
            raise KernelInputError(
                f"next_edge must have shape (k, {self.n_nodes}), got {table.shape}"
            )
        active = np.zeros(table.shape[0], dtype=np.int64)
        if row_active is not None:
            active[: len(row_active)] = row_active
        else:
            active[: len(self.row_active)] = self.row_active[: table.shape[0]]
        self.next_edge, self.row_active = table, active
        self.version += 1


def _array(value, dtype, name, *, ndim, length=None):
    arr = np.ascontiguousarray(value, dtype=dtype)
    if arr.ndim != ndim:
        raise KernelInputError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if length is not None and len(arr) != length:
        raise KernelInputError(f"{name} has {len(arr)} entries, expected {length} (one per link)")
    return arr


# ---------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------


def _engine(state: LinkQueueState):
    cy = compiled("_traffic_cy")
    key = (state.version, cy is not None)
    cached = getattr(state, "_engine_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    engine = cy.Engine(state) if cy is not None else _Reference(state)
    state._engine_cache = (key, engine)
    return engine


def advance(state: LinkQueueState, t_end: float, inject: np.ndarray | None = None) -> int:
    """Run every event before ``t_end`` (seconds); return link traversals done.

    Parameters
    ----------
    state
        The run's arrays; updated in place.
    t_end
        Simulated time to run to (exclusive), seconds; not before the state's clock.
    inject
        Ids of vehicles added with ``scheduled=False`` to release now (their departure
        times must lie in ``[clock, t_end)``).
    """
    now = float(state.clock[T_NOW])
    if not t_end >= now:
        raise KernelInputError(f"t_end = {t_end} is before the traffic clock ({now} s)")
    ids = np.zeros(0, dtype=np.int64) if inject is None else np.asarray(inject, dtype=np.int64)
    before = int(state.counts[C_TRAVERSALS])
    _engine(state).advance(float(t_end), np.ascontiguousarray(ids))
    return int(state.counts[C_TRAVERSALS]) - before


def queued_pcu(state: LinkQueueState, now: float) -> np.ndarray:
    """PCU on each link that has finished its free-flow run by ``now`` (the queue)."""
    out = np.zeros(state.n_links, dtype=np.float64)
    _engine(state).queued_pcu(float(now), out)
    return out


def wake_all(state: LinkQueueState, now: float) -> None:
    """Wake every blocked link and departure queue at ``now`` (after a route refresh)."""
    _engine(state).wake_all(float(now))


# ---------------------------------------------------------------------------------------
# Pure-Python reference (the specification and the fallback)
# ---------------------------------------------------------------------------------------


class _Reference:
    """The movement loop in plain Python, statement for statement as the compiled one."""

    def __init__(self, s: LinkQueueState) -> None:
        self.s = s
        self.m, self.n = s.n_links, s.n_nodes

    # -- heap of (time, seq) keyed items ------------------------------------------------
    def push(self, item: int, key: float) -> None:
        s = self.s
        c = s.counts
        i = int(c[C_HEAP_SIZE])
        c[C_HEAP_SIZE] += 1
        seq = int(c[C_SEQ])
        c[C_SEQ] += 1
        ht, hs, hi = s.heap_time, s.heap_seq, s.heap_item
        while i > 0:
            p = (i - 1) >> 1
            if ht[p] < key or (ht[p] == key and hs[p] < seq):
                break
            ht[i], hs[i], hi[i] = ht[p], hs[p], hi[p]
            i = p
        ht[i], hs[i], hi[i] = key, seq, item
        s.item_state[item] = IN_HEAP

    def pop(self) -> tuple[float, int]:
        s = self.s
        c = s.counts
        ht, hs, hi = s.heap_time, s.heap_seq, s.heap_item
        key, item = float(ht[0]), int(hi[0])
        size = int(c[C_HEAP_SIZE]) - 1
        c[C_HEAP_SIZE] = size
        if size > 0:
            lt, ls, li = ht[size], hs[size], hi[size]
            i = 0
            while True:
                child = 2 * i + 1
                if child >= size:
                    break
                r = child + 1
                if r < size and (ht[r] < ht[child] or (ht[r] == ht[child] and hs[r] < hs[child])):
                    child = r
                if ht[child] < lt or (ht[child] == lt and hs[child] < ls):
                    ht[i], hs[i], hi[i] = ht[child], hs[child], hi[child]
                    i = child
                else:
                    break
            ht[i], hs[i], hi[i] = lt, ls, li
        s.item_state[item] = IDLE
        return key, item

    def push_link(self, e: int, t: float) -> None:
        s = self.s
        v = s.q_head[e]
        key = max(s.v_ready[v], t)
        if s.heads[e] != s.v_dest[v]:  # arrivals leave without the exit server
            key = max(key, s.next_free[e])
        self.push(e, key)

    def push_source(self, o: int, t: float) -> None:
        s = self.s
        v = s.s_head[o]
        self.push(self.m + o, max(s.v_depart[v], t))

    def push_item(self, item: int, t: float) -> None:
        if item < self.m:
            self.push_link(item, t)
        else:
            self.push_source(item - self.m, t)

    # -- waiting lists -------------------------------------------------------------------
    def block(self, f: int, item: int) -> None:
        s = self.s
        s.w_next[item] = -1
        if s.w_tail[f] < 0:
            s.w_head[f] = item
        else:
            s.w_next[s.w_tail[f]] = item
        s.w_tail[f] = item
        s.item_state[item] = BLOCKED

    def wake(self, e: int, t: float) -> None:
        s = self.s
        item = int(s.w_head[e])
        s.w_head[e] = -1
        s.w_tail[e] = -1
        while item >= 0:
            nxt = int(s.w_next[item])
            s.w_next[item] = -1
            s.item_state[item] = IDLE
            self.push_item(item, t)
            item = nxt

    def wake_all(self, t: float) -> None:
        for e in range(self.m):
            if self.s.w_head[e] >= 0:
                self.wake(e, t)

    # -- link bookkeeping ----------------------------------------------------------------
    def occ_change(self, e: int, t: float, delta: float) -> None:
        s = self.s
        s.occ_int[e] += s.occ[e] * (t - s.occ_last[e])
        s.occ_last[e] = t
        s.occ[e] += delta

    def has_space(self, f: int, pcu: float) -> bool:
        s = self.s
        return s.q_head[f] < 0 or s.occ[f] + pcu <= s.storage[f] + 1e-9

    def enter(self, v: int, f: int, t: float) -> None:
        """Vehicle ``v`` enters link ``f`` at ``t`` (space already checked)."""
        s = self.s
        cls = s.v_class[v]
        s.v_link[v] = f
        s.v_enter[v] = t
        s.st_entries[f] += 1
        if cls == s.emergency_class:
            ratio = min(1.0, s.occ[f] / s.storage[f])
            factor = 1.0 + s.clock[T_EMERGENCY_CONGESTION] * ratio
            s.v_ready[v] = t + s.free_flow[cls, f] * factor
            self.push(self.m + self.n + v, s.v_ready[v])
            return
        s.v_ready[v] = t + s.free_flow[cls, f]
        s.v_next[v] = -1
        if s.q_tail[f] < 0:
            s.q_head[f] = v
        else:
            s.v_next[s.q_tail[f]] = v
        s.q_tail[f] = v
        self.occ_change(f, t, s.class_pcu[cls])
        if s.q_head[f] == v and s.item_state[f] == IDLE:
            self.push_link(f, t)

    def leave(self, v: int, e: int, t: float, serve: bool = True) -> None:
        """Vehicle ``v`` leaves link ``e`` at ``t``: statistics; queue, occupancy, server."""
        s = self.s
        cls = s.v_class[v]
        s.st_exits[e] += 1
        s.st_len[e] += s.length[e]
        s.st_time[e] += t - s.v_enter[v]
        s.cum_len[e] += s.length[e]
        s.v_dist[v] += s.length[e]
        s.v_fftime[v] += s.free_flow[cls, e]
        s.counts[C_TRAVERSALS] += 1
        s.clock[T_LAST_MOVE] = t
        if cls == s.emergency_class:
            return
        s.q_head[e] = s.v_next[v]
        if s.q_head[e] < 0:
            s.q_tail[e] = -1
        s.v_next[v] = -1
        pcu = s.class_pcu[cls]
        self.occ_change(e, t, -pcu)
        if s.q_head[e] < 0:
            s.occ[e] = 0.0  # no drift from adding and removing fractional PCU
        if serve:
            s.next_free[e] = t + pcu * s.headway[e]

    def finish(self, v: int, t: float, state: int) -> None:
        s = self.s
        s.v_state[v] = state
        s.v_link[v] = -1
        s.counts[C_ON_NETWORK] -= 1
        if state == ARRIVED:
            s.v_arrive[v] = t
            s.counts[C_ARRIVED] += 1
        else:
            s.counts[C_UNROUTABLE] += 1
        s.row_active[s.v_row[v]] -= 1

    def must_wait(self, f: int, item: int, pcu: float, t: float) -> bool:
        """Whether the head of ``item`` must wait for room on ``f`` (gridlock relief)."""
        s = self.s
        if self.has_space(f, pcu):
            return False
        if s.block_t[item] < 0:
            s.block_t[item] = t
            return True
        if t - s.block_t[item] >= s.clock[T_RELIEF]:
            s.counts[C_FORCED] += 1
            return False
        return True

    def after_exit(self, e: int, t: float) -> None:
        s = self.s
        s.block_t[e] = -1.0
        if s.w_head[e] >= 0:
            self.wake(e, t)
        if s.q_head[e] >= 0 and s.item_state[e] == IDLE:
            self.push_link(e, t)

    # -- events ----------------------------------------------------------------------------
    def process_link(self, e: int, t: float) -> None:
        s = self.s
        v = int(s.q_head[e])
        h = s.heads[e]
        if h == s.v_dest[v]:
            self.leave(v, e, t, serve=False)
            self.finish(v, t, ARRIVED)
            self.after_exit(e, t)
            return
        f = int(s.next_edge[s.v_row[v], h])
        if f < 0 or s.closed[f]:
            self.leave(v, e, t)
            self.finish(v, t, STRANDED)
            self.after_exit(e, t)
            return
        if self.must_wait(f, e, s.class_pcu[s.v_class[v]], t):
            self.block(f, e)
            return
        self.leave(v, e, t)
        self.enter(v, f, t)
        self.after_exit(e, t)

    def process_source(self, o: int, t: float) -> None:
        s = self.s
        v = int(s.s_head[o])
        f = int(s.next_edge[s.v_row[v], o])
        pcu = s.class_pcu[s.v_class[v]]
        if f >= 0 and not s.closed[f] and self.must_wait(f, self.m + o, pcu, t):
            self.block(f, self.m + o)
            return
        s.block_t[self.m + o] = -1.0
        s.s_head[o] = s.v_next[v]
        if s.s_head[o] < 0:
            s.s_tail[o] = -1
        s.v_next[v] = -1
        s.counts[C_WAITING] -= 1
        if f < 0 or s.closed[f]:
            s.v_state[v] = UNROUTABLE
            s.counts[C_UNROUTABLE] += 1
            s.row_active[s.v_row[v]] -= 1
        else:
            s.v_state[v] = ON_NETWORK
            s.counts[C_ON_NETWORK] += 1
            s.clock[T_LAST_MOVE] = t
            self.enter(v, f, t)
        if s.s_head[o] >= 0:
            self.push_source(o, t)

    def process_emergency(self, v: int, t: float) -> None:
        s = self.s
        e = int(s.v_link[v])
        h = s.heads[e]
        self.leave(v, e, t)
        if h == s.v_dest[v]:
            self.finish(v, t, ARRIVED)
            return
        f = int(s.next_edge[s.v_row[v], h])
        if f < 0 or s.closed[f]:
            self.finish(v, t, STRANDED)
            return
        self.enter(v, f, t)

    def release(self, v: int) -> None:
        s = self.s
        t = s.v_depart[v]
        o = int(s.v_origin[v])
        s.counts[C_DEPARTED] += 1
        s.row_active[s.v_row[v]] += 1
        if o == s.v_dest[v]:
            s.v_state[v] = ARRIVED
            s.v_arrive[v] = t
            s.counts[C_ARRIVED] += 1
            s.row_active[s.v_row[v]] -= 1
            return
        if s.v_class[v] == s.emergency_class:
            f = int(s.next_edge[s.v_row[v], o])
            if f < 0 or s.closed[f]:
                s.v_state[v] = UNROUTABLE
                s.counts[C_UNROUTABLE] += 1
                s.row_active[s.v_row[v]] -= 1
                return
            s.v_state[v] = ON_NETWORK
            s.counts[C_ON_NETWORK] += 1
            self.enter(v, f, t)
            return
        s.v_state[v] = WAITING
        s.counts[C_WAITING] += 1
        s.v_next[v] = -1
        if s.s_tail[o] < 0:
            s.s_head[o] = v
        else:
            s.v_next[s.s_tail[o]] = v
        s.s_tail[o] = v
        if s.item_state[self.m + o] == IDLE:
            self.push_source(o, t)

    def advance(self, t_end: float, inject: np.ndarray) -> None:
        s = self.s
        c = s.counts
        for v in inject.tolist():
            self.release(v)
        while c[C_RELEASED] < c[C_ORDER]:
            v = int(s.order[c[C_RELEASED]])
            if s.v_depart[v] >= t_end:
                break
            c[C_RELEASED] += 1
            self.release(v)
        mn = self.m + self.n
        while c[C_HEAP_SIZE] > 0 and s.heap_time[0] < t_end:
            t, item = self.pop()
            if item < self.m:
                self.process_link(item, t)
            elif item < mn:
                self.process_source(item - self.m, t)
            else:
                self.process_emergency(item - mn, t)
        s.clock[T_NOW] = t_end

    def queued_pcu(self, now: float, out: np.ndarray) -> None:
        s = self.s
        for e in range(self.m):
            v = int(s.q_head[e])
            total = 0.0
            while v >= 0:
                if s.v_ready[v] <= now:
                    total += s.class_pcu[s.v_class[v]]
                v = int(s.v_next[v])
            out[e] = total
