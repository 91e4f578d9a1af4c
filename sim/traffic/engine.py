"""Mesoscopic traffic on the drive network, stepped by a SimPy process.

:class:`Traffic` holds one run's link-queue state (:mod:`kernels.traffic`: the model,
the intersection rule and the emergency-vehicle rule are documented there), releases the
day's trips at their departure times, refreshes the routing tables from current travel
times every ``refresh_s`` seconds (and at once when roads close), records per-link
statistics every ``stats_interval_s`` and stops early on gridlock. Other processes (tourist
taxis, ambulances) inject vehicles with :meth:`Traffic.drive` and read
:meth:`Traffic.link_times`; it implements :class:`sim.roads.Roads`.

Clock: the kernel runs behind ``env.now`` by less than one step. At each step the process
advances the kernel to ``env.now``; a vehicle injected at ``env.now`` departs at exactly
that time in the next advance.

Routing cost: a refresh notes the links whose time moved beyond the tolerances and brings
at most ``refresh_max_rows`` destination rows in use up to date, the busiest and stalest
first (rows never grown and rows older than a closure always), repairing only the parts of
their trees that the changed links can alter (:class:`sim.traffic.routing.RouteTables`).
Quiet periods skip refreshes. With ``route_lag_s`` the repairs of a scheduled refresh run
in a background thread while the traffic moves on, and take effect ``route_lag_s`` (at most
``refresh_s``) simulated seconds later, installed at that step whatever the thread's speed
(if it is not done, the traffic's thread helps it finish), so runs stay reproducible. Every
vehicle is routed on car link times (free flow plus queue delay) whatever its class;
emergency vehicles use the same tables. With ``route_smoothing`` every other vehicle
follows the tree each row had before its latest refresh, so a refresh moves half the
traffic onto the new routes (emergency vehicles always take the latest). ``timers`` holds
the wall seconds spent routing, moving and recording.

Physics (:mod:`kernels.traffic`): kinematic waves on every link, the junction control of
:mod:`sim.traffic.junctions` (signals, priority) and motorbike filtering, each switchable
in :class:`TrafficParams`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import simpy

from kernels import traffic as kt
from kernels import traffic_state as kts
from sim.link_changes import LinkChange, LinkChanges
from sim.roads import Journey, UnreachableError
from sim.traffic.junctions import (
    JunctionPlan,
    load_junction_defaults,
    load_signal_timings,
    plan_junctions,
)
from sim.traffic.params import TrafficParams
from sim.traffic.records import LinkRecorder, kpis_from_state, trips_from_state
from sim.traffic.routing import RouteTables, RowJob
from twin.errors import TripsError, TwinError
from twin.network import Network
from twin.vehicles import load_vehicle_classes

__all__ = ["Traffic"]

log = logging.getLogger(__name__)

TRIP_COLUMNS = ("trip_id", "origin", "destination", "depart", "vehicle_class")

_route_pool: ThreadPoolExecutor | None = None


def _routing_thread() -> ThreadPoolExecutor:
    """The process's one background routing thread (shared by its runs, one at a time)."""
    global _route_pool
    if _route_pool is None:
        _route_pool = ThreadPoolExecutor(1, thread_name_prefix="twin-routing")
    return _route_pool


def _forget_routing_thread() -> None:
    """A forked child has no thread behind its parent's pool: it starts its own."""
    global _route_pool
    _route_pool = None


os.register_at_fork(after_in_child=_forget_routing_thread)


class Traffic:
    """A day of link-queue traffic on one network, sharing a SimPy clock.

    Parameters
    ----------
    env
        The run's environment; its clock is seconds after midnight.
    network
        The drive network.
    trips
        ``trip_id`` (int), ``origin``, ``destination`` (drive node positions), ``depart``
        (seconds after midnight, not before ``env.now``), ``vehicle_class`` (a class of
        ``vehicles``). May be empty.
    vehicles
        Vehicle class table (``twin.vehicles.load_vehicle_classes()`` by default):
        ``pcu``, ``speed_factor``, ``co2_g_per_km`` per class. The class named
        ``"emergency"`` passes queues.
    rng
        The run's traffic generator (tie-breaking of equal departures, departure jitter).
    params
        :class:`TrafficParams` or a mapping of its fields.
    """

    def __init__(
        self,
        env: simpy.Environment,
        network: Network,
        trips: pd.DataFrame,
        *,
        vehicles: pd.DataFrame | None = None,
        rng: np.random.Generator,
        params: TrafficParams | Mapping[str, Any] | None = None,
    ) -> None:
        self.env = env
        self.network = network
        self.params = p = TrafficParams.from_mapping(params)
        self.rng = rng
        #: Wall seconds: routing that held the traffic, routing in the background thread,
        #: movement and records.
        self.timers = {"routing": 0.0, "routing_background": 0.0, "movement": 0.0, "records": 0.0}
        table = load_vehicle_classes() if vehicles is None else vehicles
        if "vehicle_class" in table.columns:
            table = table.set_index("vehicle_class")
        self.vehicles = table
        self.class_names = tuple(str(c) for c in table.index)
        self._class_index = {c: i for i, c in enumerate(self.class_names)}
        if network.n_edges == 0:
            raise TwinError("the drive network has no edges; traffic needs roads")
        if not (network.capacity > 0).all() or not (network.speed > 0).all():
            raise TwinError(
                "every drive edge needs capacity > 0 PCU/h and speed > 0 m/s; "
                "fill missing values from the road-class defaults"
            )
        self._speed_factor = table["speed_factor"].to_numpy(dtype=np.float64)
        self._length = network.length.astype(np.float64)
        storage = np.maximum(network.storage, p.min_storage_pcu)
        #: Closures and changes of links in force (interventions).
        self.links = LinkChanges(network, self.class_names, storage=storage)
        free_flow = self._length[None, :] / (network.speed[None, :] * self._speed_factor[:, None])
        self.start_time = float(env.now)

        trips = self._check_trips(trips)
        depart = trips["depart"].to_numpy(dtype=np.float64).copy()
        if p.depart_jitter_s > 0 and len(depart):
            depart += rng.uniform(-p.depart_jitter_s, p.depart_jitter_s, len(depart))
            np.maximum(depart, self.start_time, out=depart)
        order = np.lexsort((rng.random(len(depart)), depart))
        self._trips = trips.iloc[order].reset_index(drop=True)
        depart = depart[order]
        self.n_demand = len(depart)

        self.routes = RouteTables(
            network,
            self._trips["destination"].to_numpy(np.int64),
            chunk=p.route_chunk,
            alternates=p.route_smoothing,
        )
        emergency = self._class_index.get("emergency", -1)
        junction_table = load_junction_defaults(p.junction_defaults)
        self._lanes = np.maximum(network.lanes.astype(np.float64), 1e-9)
        #: PCU/h: each link's fundamental-diagram capacity (its mid-block capacity; the
        #: link's own capacity is that of its exit, junction losses included).
        self.fd_capacity = self._diagram_capacity(network, junction_table)
        self._base_fd = self.fd_capacity.copy()
        #: The junction control of every link's exit (:mod:`sim.traffic.junctions`).
        self.junctions: JunctionPlan = plan_junctions(
            network,
            table=junction_table,
            signals=p.junctions,
            priority=p.junctions,
            lookahead_per_lane=(
                p.node_lookahead_per_lane if (p.junctions or p.motorbike_filtering) else 0.0
            ),
            timings=load_signal_timings(p.signal_timings),
        )
        # where the junction is modelled (priority), its exit lets out the road's mid-block
        # capacity less what the junction takes, instead of the road table's capacity that
        # counts an average junction's losses
        self._ruled = np.isin(self.junctions.ctrl, (kts.CTRL_MAJOR, kts.CTRL_MINOR))
        self.state = kts.LinkQueueState(
            heads=network.indices,
            n_nodes=network.n_nodes,
            free_flow=free_flow,
            headway=self._exit_headway(network.capacity, self.fd_capacity, slice(None)),
            storage=storage,
            length=self._length,
            class_pcu=table["pcu"].to_numpy(dtype=np.float64),
            emergency_class=emergency,
            emergency_congestion=p.emergency_congestion,
            block_relief=p.block_relief_s or None,
            capacity=self.n_demand + 64,
            wave=self._waves(self._length, network.speed, self.fd_capacity, storage),
            in_headway=3600.0 / self.fd_capacity if p.kinematic_waves else None,
            class_filters=np.array(
                [p.motorbike_filtering and c == "motorbike" for c in self.class_names], dtype=bool
            ),
            filter_gain=p.filter_gain if p.motorbike_filtering else 0.0,
            flow_window=p.conflict_window_s,
        )
        self.state.set_junctions(**self.junctions.kernel_arrays())
        self._queue_costs()
        s = self.state
        s.clock[kts.T_NOW] = self.start_time
        s.clock[kts.T_LAST_MOVE] = self.start_time
        s.occ_last[:] = self.start_time
        s.set_table(self.routes.table, alternate=self.routes.alternate)
        codes, names = pd.factorize(self._trips["vehicle_class"])
        classes = np.array([self._class_index[c] for c in names], dtype=np.int64)[codes]
        rows = self.routes.rows(self._trips["destination"].to_numpy(np.int64))
        s.add_vehicles(
            origin=self._trips["origin"].to_numpy(np.int64),
            dest=self._trips["destination"].to_numpy(np.int64),
            row=rows,
            vehicle_class=classes,
            depart=depart,
        )
        # the release order's departures and rows, contiguous: vehicle i is the i-th released
        self._release_depart, self._release_row = depart, rows
        self._injected: dict[int, tuple[simpy.Event, int]] = {}
        self._pending: list[int] = []
        self._recorder = LinkRecorder(network.n_edges, p.stats_interval_s, self.start_time)
        self._next_refresh = self.start_time
        self._gridlock: str | None = None
        self._until: float | None = None
        self._link_time_cache: tuple[float, np.ndarray] | None = None
        self.refreshes = self.refreshes_skipped = 0
        self._next_relief = self.start_time
        #: Repairs running in the background: the job, its future and when it takes effect.
        self._route_job: tuple[RowJob, Future, float] | None = None
        self._refresh(self.start_time, force=True)

    # -- link physics ------------------------------------------------------------------
    def _diagram_capacity(self, network: Network, table: pd.DataFrame) -> np.ndarray:
        """PCU/h of each link's triangular diagram: the saturation flow of its class
        (``twin/defaults/junctions.csv``) times its lanes, or its own capacity if higher.

        The road table's capacity is what a link lets out at its exit, intersection losses
        included; a queue inside the link moves at the road's saturation flow, and the
        backward wave follows from that: ``w = q_s / (k_j - q_s / v)``.
        """
        order = list(table.index)
        fallback = "road" if "road" in order else order[-1]
        saturation = table["saturation_pcu_per_lane_h"]
        per_class = np.array(
            [float(saturation[c if c in order else fallback]) for c in network.road_classes]
            or [0.0]
        )
        mid_block = per_class[network.road_class.astype(np.int64)] * self._lanes
        return np.maximum(network.capacity.astype(np.float64), mid_block)

    def _exit_headway(self, capacity: np.ndarray, fd: np.ndarray, edges) -> np.ndarray:
        """Seconds per PCU at the exits of ``edges``: the mid-block capacity ``fd`` where
        the junction is modelled (priority), the link's ``capacity`` elsewhere."""
        return 3600.0 / np.where(self._ruled[edges], fd, capacity)

    def _waves(
        self,
        length: np.ndarray,
        speed: np.ndarray,
        capacity: np.ndarray,
        storage: np.ndarray,
        edges=slice(None),
    ) -> np.ndarray | None:
        """Backward-wave times of the links (``None`` without kinematic waves): the
        triangular diagram of each lane, its jam density the link's storage per lane-km."""
        if not self.params.kinematic_waves:
            return None
        lanes = self._lanes[edges]
        lane_km = np.maximum(length / 1000.0 * lanes, 1e-9)
        return kt.wave_times(length, speed, capacity / lanes, storage / lane_km)

    def _queue_costs(self) -> None:
        """Per link: seconds of queue delay per queued PCU and the mean signal wait, for
        the routing estimate of :meth:`link_times`."""
        s, plan = self.state, self.junctions
        per_pcu = s.headway.copy()
        wait = np.zeros(s.n_links)
        sig = plan.ctrl == kts.CTRL_SIGNAL
        cycle, green = plan.sig_cycle[sig], plan.sig_green[sig]
        per_pcu[sig] = plan.sat_headway[sig] * cycle / green
        wait[sig] = (cycle - green) ** 2 / (2.0 * cycle)  # uniform arrivals wait for green
        # a queue that one green clears costs only the wait for that green (in ``wait``):
        # it comes and goes with the cycle; what a green leaves behind waits cycles more
        cleared = np.zeros(s.n_links)
        cleared[sig] = green / plan.sat_headway[sig]
        self._per_pcu, self._signal_wait, self._signal_clears = per_pcu, wait, cleared
        self._minor = np.flatnonzero(plan.ctrl == kts.CTRL_MINOR)

    # -- input -------------------------------------------------------------------------
    def _check_trips(self, trips: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in TRIP_COLUMNS if c not in trips.columns]
        if missing:
            raise TripsError(
                f"trips lack the columns {missing}; expected {list(TRIP_COLUMNS)} "
                "(origin and destination as drive node positions, depart in seconds)"
            )
        trips = trips.loc[:, list(TRIP_COLUMNS)].copy()
        n = self.network.n_nodes
        for column in ("origin", "destination"):
            values = pd.to_numeric(trips[column], errors="coerce")
            bad = ~values.between(0, n - 1) | (values != values.round())
            if bad.any():
                rows = trips.index[bad][:5].tolist()
                raise TripsError(
                    f"trips {column} must be drive node positions 0..{n - 1}; rows {rows} "
                    f"have {trips.loc[bad, column].head().tolist()}. Map node ids to positions"
                )
            trips[column] = values.astype(np.int64)
        depart = pd.to_numeric(trips["depart"], errors="coerce")
        bad = ~np.isfinite(depart) | (depart < self.env.now)
        if bad.any():
            rows = trips.index[bad][:5].tolist()
            raise TripsError(
                f"trips depart must be seconds after midnight not before the simulation "
                f"start ({self.env.now:g} s); rows {rows} have "
                f"{trips.loc[bad, 'depart'].head().tolist()}. Drop them or start earlier"
            )
        trips["depart"] = depart.astype(np.float64)
        classes = trips["vehicle_class"].astype(str)
        unknown = sorted(set(classes.unique().tolist()) - set(self.class_names))
        if unknown:
            raise TripsError(
                f"trips name vehicle classes {unknown} that have no PCU in the vehicle table; "
                f"expected one of {list(self.class_names)}"
            )
        trips["vehicle_class"] = classes
        trips["trip_id"] = trips["trip_id"].astype(np.int64)
        return trips

    # -- the process ---------------------------------------------------------------------
    def start(self, until: float) -> simpy.Process:
        """Start the SimPy process that advances the traffic until ``until`` (seconds)."""
        self._until = float(until)
        return self.env.process(self._run(float(until)))

    def _run(self, until: float):
        p = self.params
        while self.now < until and self._gridlock is None:
            t_next = min(
                self.now + p.step_s,
                until,
                self._recorder.next_boundary,
                max(self._next_refresh, self.now + 1e-9),
            )
            if self._route_job is not None:
                t_next = min(t_next, max(self._route_job[2], self.now + 1e-9))
            if t_next > self.env.now:
                yield self.env.timeout(t_next - self.env.now)
            self._advance(t_next)
        self._finish_route_job()

    @property
    def now(self) -> float:
        """Simulated time the kernel has reached, seconds."""
        return float(self.state.clock[kts.T_NOW])

    def _check_routes(self) -> None:
        """Raise once :meth:`release_routes` has freed the tables (nothing may move or route)."""
        if self.routes is None:
            raise TwinError(
                "the traffic's route tables were released (release_routes) at the end of "
                "the run; it cannot move or route further"
            )

    def _advance(self, t_end: float) -> None:
        self._check_routes()
        s = self.state
        if t_end > self.now:
            inject = np.array(self._pending, dtype=np.int64)
            self._pending.clear()
            t0 = time.perf_counter()
            kt.advance(s, t_end, inject)
            self.timers["movement"] += time.perf_counter() - t0
        if self._injected:
            self._settle_injected()
        self._check_gridlock(t_end)
        t0 = time.perf_counter()
        if t_end >= self._recorder.next_boundary:
            self._recorder.flush(s, t_end)
        self.timers["records"] += time.perf_counter() - t0
        if self._route_job is not None and t_end >= self._route_job[2]:
            t0 = time.perf_counter()
            if self._finish_route_job():
                kt.wake_all(s, self.now)  # blocked vehicles look at the new routes
            self.timers["routing"] += time.perf_counter() - t0
        if t_end >= self._next_refresh:
            self._refresh(t_end)
        elif self.params.block_relief_s > 0 and t_end >= self._next_relief:
            kt.wake_all(s, t_end)  # blocked vehicles check gridlock relief
            self._next_relief = t_end + self.params.block_relief_s / 5.0

    def _check_gridlock(self, t: float) -> None:
        s = self.state
        active = int(s.counts[kts.C_ON_NETWORK] + s.counts[kts.C_WAITING])
        idle = t - float(s.clock[kts.T_LAST_MOVE])
        if active and idle >= self.params.gridlock_s:
            held = int((s.q_head >= 0).sum())
            blocked = int((s.w_head >= 0).sum())
            self._gridlock = (
                f"gridlock at {t:.0f} s: {active} vehicles on or waiting to enter the network "
                f"and none moved for {idle:.0f} s ({held} links hold vehicles, {blocked} of "
                "them full with traffic waiting to enter); the run stopped early"
            )
            log.warning(self._gridlock)

    def _sync(self) -> None:
        """Bring the kernel up to ``env.now`` (within the run's window) before a read-out."""
        target = self.env.now if self._until is None else min(self.env.now, self._until)
        if target > self.now and self._gridlock is None and self._until is not None:
            self._advance(target)

    # -- routing -------------------------------------------------------------------------
    def _group_weights(self) -> list[np.ndarray]:
        """Link times each class group routes on: those of its car (or its first class),
        ``inf`` on the links closed to the group."""
        groups = self.state.class_group
        weights = []
        for g in range(int(groups.max()) + 1):
            members = [c for c, group in enumerate(groups) if group == g]
            car = self._class_index.get("car")
            representative = car if car in members else members[0]
            weights.append(self.link_times(self.class_names[representative]))
        return weights

    def _refresh(self, t: float, *, force: bool = False) -> None:
        """Routing at ``t``: a new epoch when link times changed (or ``force``: a
        closure), then the rows in use or needed before the next refresh that are due,
        and of the others that fell behind the busiest and stalest, up to the budget."""
        t0 = time.perf_counter()
        s, r, p = self.state, self.routes, self.params
        self._finish_route_job()
        weights = self._group_weights()
        if r.weights is None:
            changed = np.arange(self.network.n_edges)
        else:
            changed = np.unique(
                np.concatenate(
                    [self._changed(w, b) for w, b in zip(weights, r.weights, strict=True)]
                )
            )
        renew = force or len(changed) > 0
        horizon = t + p.refresh_s + p.step_s
        released = int(s.counts[kts.C_RELEASED])
        upto = int(np.searchsorted(self._release_depart, horizon, side="left"))
        soon = self._release_row[released:upto]  # the rows of departures before the horizon
        in_use = np.union1d(np.flatnonzero(s.row_active[: r.n_rows] > 0), soon)
        if renew:
            r.update(weights, changed, invalidate=force)
            self.refreshes += 1
        else:
            self.refreshes_skipped += 1
        due = r.due(in_use)
        behind = np.setdiff1d(in_use[r.epoch_of_row[in_use] != r.epoch], due)
        budget = p.refresh_max_rows
        if budget and len(behind) > budget:
            # the busiest and stalest rows first
            score = (s.row_active[behind] + 1) * (r.epoch - r.epoch_of_row[behind])
            behind = behind[np.argsort(-score, kind="stable")[:budget]]
        if p.route_lag_s > 0:
            r.bring(due)
            self._start_route_job(behind, t + min(p.route_lag_s, p.refresh_s))
        else:
            r.bring(np.union1d(due, behind))
        if renew or p.block_relief_s > 0:
            # blocked vehicles look again at the new routes (and at gridlock relief)
            kt.wake_all(s, self.now)
            if p.block_relief_s > 0:
                self._next_relief = t + p.block_relief_s / 5.0
        self._next_refresh = t + p.refresh_s
        self.timers["routing"] += time.perf_counter() - t0

    def _start_route_job(self, rows: np.ndarray, at: float) -> None:
        """Bring ``rows`` up in the background thread, to take effect at ``at`` (seconds)."""
        job = self.routes.start(rows)
        if job is None:
            return
        self._route_job = (job, _routing_thread().submit(self._run_route_job, job), at)

    def _run_route_job(self, job: RowJob) -> None:
        t0 = time.perf_counter()
        # one thread: the traffic's own thread holds the other core
        self.routes.run_job(job, threads=1)
        self.timers["routing_background"] += time.perf_counter() - t0

    def _finish_route_job(self) -> int:
        """Wait for the background repairs, if any, and install them; returns the rows
        installed."""
        if self._route_job is None:
            return 0
        job, future, _ = self._route_job
        self._route_job = None
        self.routes.run_job(job, helper=True)  # take the rows the thread has not started
        future.result()  # a failure in the thread is raised here
        return self.routes.install(job)

    def _changed(self, weights: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Links whose time moved by more than the tolerances since it was last noted."""
        p = self.params
        with np.errstate(invalid="ignore"):
            moved = np.abs(weights - before)
            limit = np.maximum(p.refresh_abs_change_s, p.refresh_rel_change * before)
            return np.flatnonzero((moved > limit) | (np.isinf(weights) != np.isinf(before)))

    # -- Roads protocol ------------------------------------------------------------------
    def link_times(self, vehicle_class: str = "car") -> np.ndarray:
        """Current traversal time of every edge for ``vehicle_class``, seconds.

        Free-flow time for the class plus the queue delay estimate: PCU that finished
        their free-flow run and wait at the exit, times the seconds the exit needs per PCU
        (its headway; at a signal the saturation headway over the green share; at a minor
        approach the gap-acceptance headway against the current conflicting flow; behind
        a full next link that link's pace), plus at a signal the mean wait for green, the
        queue counting only what one green cannot clear (the rest comes and goes with the
        cycle); ``inf`` on closed edges.
        """
        c = self._class(vehicle_class)
        cache = self._link_time_cache
        if cache is None or cache[0] != self.now:
            self._link_time_cache = cache = (self.now, self._queue_delays())
        times = self.state.free_flow[c] + cache[1]
        times[self.links.closed_to(c)] = np.inf
        return times

    def _queue_delays(self) -> np.ndarray:
        """Seconds of queue delay on each link now (see :meth:`link_times`)."""
        s = self.state
        per_pcu = self._per_pcu.copy()
        if len(self._minor):
            minor = self._minor
            nodes = s.head[minor]
            q = s.node_q[nodes] * np.exp(-(self.now - s.node_t[nodes]) / s.clock[kts.T_FLOW_WINDOW])
            tc, tf = s.gap_tc[minor], s.gap_tf[minor]
            # 1 / c(q) of kernels.junctions.gap_capacity, for all minor exits at once
            with np.errstate(divide="ignore", invalid="ignore"):
                gap = np.where(q > 1e-12, (1.0 - np.exp(-q * tf)) / (q * np.exp(-q * tc)), tf)
            per_pcu[minor] = np.maximum(per_pcu[minor], gap)
        # a queue held by the next link (full, or at its entrance's capacity) moves at
        # that link's pace, shared among everything waiting for it
        items = np.flatnonzero(s.item_state[: s.n_links + s.n_nodes] == kts.BLOCKED)
        if len(items):
            waiters = np.bincount(s.wait_on[items], minlength=s.n_links)
            links = items[items < s.n_links]
            down = s.wait_on[links]
            pace = np.maximum(per_pcu[down], s.in_headway[down]) * waiters[down]
            per_pcu[links] = np.maximum(per_pcu[links], pace)
        queued = np.maximum(kt.queued_pcu(s, self.now) - self._signal_clears, 0.0)
        return queued * per_pcu + self._signal_wait

    def drive(self, origin: int, destination: int, *, vehicle_class: str = "car") -> simpy.Event:
        """Inject one vehicle now; the event succeeds at its arrival with a Journey.

        The event fails with :class:`UnreachableError` when the destination cannot be
        reached. The vehicle moves only while the traffic process runs (:meth:`start`).
        """
        n = self.network.n_nodes
        for name, node in (("origin", origin), ("destination", destination)):
            if not 0 <= int(node) < n:
                raise TripsError(f"{name} {node} is not a drive node position (0..{n - 1})")
        c = self._class(vehicle_class)
        self._check_routes()
        row, grew = self.routes.row(int(destination))
        if grew:
            self.state.set_table(self.routes.table, alternate=self.routes.alternate)
        if len(self.routes.due([row])):
            # a row never grown, or older than a closure; an older row is a valid tree of
            # slightly older times, brought up by the next refreshes while it is in use
            t0 = time.perf_counter()
            self.routes.bring(np.array([row]))
            self.timers["routing"] += time.perf_counter() - t0
        (v,) = self.state.add_vehicles(
            origin=np.array([int(origin)]),
            dest=np.array([int(destination)]),
            row=np.array([row]),
            vehicle_class=np.array([c]),
            depart=np.array([max(float(self.env.now), self.now)]),
            scheduled=False,
        )
        event = self.env.event()
        self._injected[int(v)] = (event, c)
        self._pending.append(int(v))
        return event

    def _settle_injected(self) -> None:
        s = self.state
        flying = np.fromiter(self._injected, dtype=np.int64, count=len(self._injected))
        done = flying[s.v_state[flying] >= kts.ARRIVED]  # in the order they were injected
        for v in done.tolist():
            event, c = self._injected.pop(v)
            if s.v_state[v] == kts.ARRIVED:
                event.succeed(
                    Journey(
                        int(s.v_origin[v]),
                        int(s.v_dest[v]),
                        float(s.v_depart[v]),
                        float(s.v_arrive[v]),
                        float(s.v_dist[v]),
                        self.class_names[c],
                    )
                )
            else:
                event.fail(
                    UnreachableError(
                        f"{self.class_names[c]} from node {int(s.v_origin[v])} cannot reach "
                        f"node {int(s.v_dest[v])} (no open road leads there)"
                    )
                )

    def _class(self, vehicle_class: str) -> int:
        try:
            return self._class_index[vehicle_class]
        except KeyError:
            raise TripsError(
                f"vehicle class {vehicle_class!r} has no PCU in the vehicle table; "
                f"expected one of {list(self.class_names)}"
            ) from None

    # -- interventions -------------------------------------------------------------------
    def close_links(self, edges: Iterable[int], *, classes: Sequence[str] = ()) -> int:
        """Close drive edges (positions) now to ``classes`` (every class when empty); returns
        a handle for :meth:`reopen_links`.

        Vehicles already on a closed edge drive out of it; no vehicle of those classes
        enters it; everyone reroutes at once, each group of classes on the links open to it.
        Vehicles whose destination becomes unreachable leave the network as unroutable.
        """
        self._sync()
        handle = self.links.close(np.asarray(list(edges), dtype=np.int64), classes)
        self._closures_changed()
        return handle

    def reopen_links(self, handle: int) -> None:
        """End the closure ``handle`` (from :meth:`close_links`) now; everyone reroutes."""
        self._sync()
        self.links.reopen(handle)
        self._closures_changed()

    def change_links(self, edges: Iterable[int], change: LinkChange) -> int:
        """Change drive edges (positions) now: speed, capacity, lanes or storage
        (:class:`sim.link_changes.LinkChange`); returns a handle for
        :meth:`undo_link_change`. Vehicles already on an edge keep their exit time."""
        self._sync()
        edges = np.unique(np.asarray(list(edges), dtype=np.int64))
        handle = self.links.change(edges, change)
        self._values_changed(edges)
        return handle

    def undo_link_change(self, handle: int) -> None:
        """End the change ``handle`` (from :meth:`change_links`) now."""
        self._sync()
        self._values_changed(self.links.undo(handle))

    def _closures_changed(self) -> None:
        s = self.state
        s.closed[:] = self.links.closed
        groups = self.links.groups()
        if not np.array_equal(groups, s.class_group):
            self.routes.set_groups(int(groups.max()) + 1)
            s.set_table(self.routes.table, class_group=groups, alternate=self.routes.alternate)
        self._link_time_cache = None
        self._refresh(self.now, force=True)

    def _values_changed(self, edges: np.ndarray) -> None:
        """Carry the links' values in force to the kernel: free-flow times, exit and
        entrance capacity (the diagram's capacity follows the exit's: a lane closed takes
        from both), storage and the backward wave; then look at the routes again."""
        s, links = self.state, self.links
        length, speed = self._length[edges], links.speed[edges]
        capacity = links.capacity[edges]
        self.fd_capacity[edges] = self._base_fd[edges] * capacity / links.base_capacity[edges]
        fd = self.fd_capacity[edges]
        headway = self._exit_headway(capacity, fd, edges)
        storage = np.maximum(links.storage[edges], self.params.min_storage_pcu)
        waves = self._waves(length, speed, fd, storage, edges)
        s.set_links(
            edges,
            free_flow=length[None, :] / (speed[None, :] * self._speed_factor[:, None]),
            headway=headway,
            in_headway=3600.0 / fd if self.params.kinematic_waves else None,
            storage=storage,
            wave=waves,
            now=self.now,
        )
        kt.wake(s, edges, self.now)
        self._queue_costs()
        self._link_time_cache = None
        self._refresh(self.now)

    # -- records -------------------------------------------------------------------------
    def vehicle_km(self) -> np.ndarray:
        """Cumulative vehicle-km per edge so far (completed traversals)."""
        self._sync()
        return self.state.cum_len / 1000.0

    def trips_table(self) -> pd.DataFrame:
        """One row per trip, demand then injected vehicles (see :mod:`sim.traffic.records`)."""
        self._sync()
        return trips_from_state(self.state, demand=self._trips, class_names=self.class_names)

    def links_table(self, interval: float = 900.0) -> pd.DataFrame:
        """Per edge and interval: entries, mean speed, density and queue."""
        self._sync()
        return self._recorder.table(self.state, self.now, interval)

    def kpis(self) -> dict:
        """Network totals of the run so far (see :func:`sim.traffic.records.kpis_from_state`)."""
        self._sync()
        return kpis_from_state(
            self.state,
            now=self.now,
            n_demand=self.n_demand,
            class_names=self.class_names,
            co2_g_per_km=self.vehicles["co2_g_per_km"].to_numpy(np.float64),
            gridlock=self.gridlock,
        )

    def release_routes(self) -> None:
        """Free the route tables once the run is over (about 440 MB on Huế's day: a tree,
        an alternate and the costs to go for each destination); the trips, links and KPIs
        stay readable, and the traffic cannot move or route after it."""
        self._sync()
        self._finish_route_job()
        self.routes = None
        self.state.drop_table()

    @property
    def gridlock(self) -> str | None:
        """``None``, or a description of the gridlock that stopped the run."""
        return self._gridlock
