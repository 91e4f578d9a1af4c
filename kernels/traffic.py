"""Mesoscopic link-queue traffic: the per-vehicle, per-link movement loop.

The model
---------
Every directed link ``e`` is a FIFO queue with

- a free-flow traversal time per vehicle class, ``free_flow[c, e]`` seconds;
- an outflow capacity, held as a *headway* ``headway[e]`` seconds per PCU
  (``3600 / capacity`` with capacity in PCU/h): the link's exit is a server that lets a
  vehicle of ``p`` PCU out every ``p * headway[e]`` seconds;
- a storage capacity ``storage[e]`` PCU: a vehicle may enter only when the PCU already on
  the link, plus the space still travelling back from its exit (below), plus its own fit
  (an empty link always takes one vehicle, so a bus can enter a link shorter than itself).
  Spillback follows: a vehicle whose next link is full waits at the head of its own link,
  and the link behind it stops discharging.

A vehicle that enters link ``e`` at time ``t`` may leave it at
``max(t + free_flow[c, e], server free, space downstream)``, in continuous time: the
simulation is event driven (a binary heap ordered by time, ties broken by insertion
order), so free-flow travel times are exact and queues discharge at exactly the link's
capacity. :func:`advance` runs the events up to a time ``t_end`` and returns, so a
SimPy process can step it and let other processes share the clock.

Kinematic waves (the link transmission model, event by event)
-------------------------------------------------------------
With a triangular fundamental diagram (free-flow speed ``v``, capacity ``q``, jam density
``k_j``), space freed at a link's downstream end reaches its upstream end only after
``wave[e] = length / w`` seconds, ``w = q / (k_j - q / v)`` the backward wave speed. Each
exit therefore leaves a *token* of its PCU that stays counted against the link's storage
for ``wave[e]`` seconds; entry requires ``occupancy + tokens + p <= storage``. This is
Newell's simplified kinematic-wave theory as the link transmission model writes it
(Yperman 2007): the receiving flow of a link at ``t`` is bounded by its cumulative exits at
``t - L / w`` plus its jam storage. A link also has a receiving capacity:
``in_headway[e]`` seconds per PCU at its entrance (``0``: unlimited), so that, as in the
LTM, a link never takes in more than its capacity and the queue of an overloaded merge
stands upstream of it. ``wave = 0`` and ``in_headway = 0`` give the plain link queue.

Junctions (the exit of a link is an approach to its head node)
--------------------------------------------------------------
``ctrl[e]`` chooses the control of link ``e``'s exit (:func:`LinkQueueState.set_junctions`;
the arithmetic is in :mod:`kernels.junctions`):

- *signal*: a fixed-time signal; the exit serves only during its green and, in green,
  one PCU per saturation headway ``sat_headway[e]``, service counted in green time, so the
  approach discharges green share × saturation flow and vehicles arriving in red wait;
- *major*: the priority road of an unsignalised junction: each PCU it lets out adds to the
  junction's conflicting flow, an exponentially smoothed rate (time constant
  ``flow_window`` seconds);
- *minor*: gives way: its exit headway is the larger of its own and ``1 / c(q)``, the
  gap-acceptance capacity (Harders; HCM) against the junction's current conflicting flow.

Node model: an exit shared by several approaches is handed out by start-time fair queueing
weighted by the approaches' capacities: each link and departure queue has a tag that grows
by ``p × headway`` seconds with every vehicle it sends anywhere, and whenever a full link
frees space the traffic waiting for it is woken lowest tag first. An approach's claim on
one exit thus follows its capacity and its share of traffic going there, as in the
capacity-proportional node model of Tampère et al. (2011). The head of a queue does not
hold back the vehicles behind it that use other exits: while the head waits for a full
exit, the first vehicle among the next ``lookahead[e]`` that has reached the end of the
link and whose exit has room (or that parks at the node) leaves before it (a *window*
timer per link looks for one), so a blocked exit holds back only the turns that use it,
until its queue fills the window.

Motorbikes (classes with ``class_filters``) filter: when the head of a queue is a larger
vehicle, the first filtering vehicle queued behind it (that has reached the end of the
link, among the next 64) rides past and leaves first, up to ``lookahead[e]`` times per
head, so that larger vehicles are not held back for good (with motorbikes to spare, a
queue discharges ``lookahead`` of them per larger vehicle); and a filtering vehicle takes
``pcu × (1 - filter_gain × s)`` PCU of storage and exit capacity on a link where a share
``s`` of the PCU is held by non-filtering vehicles, since it uses the gaps beside them.
This is the mixed-traffic observation that a motorbike's equivalent units fall as the
share of cars around it rises and as it moves faster than them through a queue
(dynamic PCU after Chandra and Kumar 2003, ``PCU_i = (v_car / v_i) / (A_car / A_i)``;
motorcycle equivalent units that vary with the traffic composition in Hanoi, Cao and Sano
2012); ``filter_gain`` is the model's one parameter.

Gridlock relief: a vehicle that has waited ``block_relief`` seconds at the head of its
link for a full next link enters it anyway (the link goes over its storage; counted in
``counts[C_FORCED]``), like SUMO's time-to-teleport but without leaving the road. It is
checked when the vehicle is woken: when space frees downstream, or when the caller wakes
every blocked vehicle (:func:`wake_all`, after route refreshes). Without it a circular
chain of full links stays locked for good, which the caller detects as gridlock.

Arrivals: a vehicle whose destination is the link's head node leaves the link (parks)
when it reaches the front of the queue and the end of the link (or the window lets it
past a blocked head); it uses neither the exit server nor any storage downstream, so a
busy destination does not throttle the through traffic behind it (as in MATSim's queue
model).

Departures: a departing vehicle joins its origin node's departure queue (FIFO) and enters
the first link of its route when that link has room ("waiting to enter" until then).

Routes: vehicles carry no path. At every node a vehicle bound for destination row ``r``
takes ``next_edge[r, node]`` from a destination-based next-hop table that the caller
refreshes from current travel times (``-1``: unreachable; the vehicle leaves the network
as *unroutable*). With an alternate table of the same shape (route smoothing), vehicles of
odd id other than emergency vehicles take ``alternate[r, node]`` instead.

Emergency vehicles (the class ``emergency_class``) pass queues: they neither wait for
the outflow server, nor for signals, nor for storage, and do not count towards a link's
storage; they traverse link ``e`` in ``free_flow[c, e] * (1 + emergency_congestion *
min(1, occupancy / storage))`` seconds, i.e. slowed in proportion to the link's density
relative to jam density (twice the free-flow time on a jammed link with the default
factor 1).

Statistics per link are accumulated for the current reporting interval (entries, exits,
metres and seconds of the exiting vehicles, the time integral of the occupancy) and
cumulatively (vehicle-metres); the caller reads and resets them at interval boundaries.

The state lives in flat numpy arrays on a :class:`LinkQueueState`
(:mod:`kernels.traffic_state`); both backends (the compiled ``kernels._traffic_cy`` and the
pure-Python reference in ``kernels._traffic_reference``, which is the readable
specification) read and write the same arrays and produce identical results. This module
is the public face: it validates the calls and picks the backend.
"""

from __future__ import annotations

import numpy as np

from kernels._traffic_reference import ReferenceEngine

# memoised per TWIN_KERNELS value: a run asks for the engine at every step
from kernels.backend import compiled_cached as compiled
from kernels.errors import KernelInputError
from kernels.traffic_state import (
    C_TRAVERSALS,
    NEED_TOKENS,
    T_NOW,
    LinkQueueState,
)

__all__ = [
    "advance",
    "queued_pcu",
    "wake",
    "wake_all",
    "wave_times",
]


def _engine(state: LinkQueueState):
    cy = compiled("_traffic_cy")
    key = (state.version, cy is not None)
    cached = getattr(state, "_engine_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    engine = cy.Engine(state) if cy is not None else ReferenceEngine(state)
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
    ids = np.ascontiguousarray(ids)
    while _engine(state).advance(float(t_end), ids) == NEED_TOKENS:
        state.grow_tokens()  # the backend stopped between two events; go on from there
        ids = ids[:0]
    return int(state.counts[C_TRAVERSALS]) - before


def queued_pcu(state: LinkQueueState, now: float) -> np.ndarray:
    """PCU on each link that has finished its free-flow run by ``now`` (the queue)."""
    out = np.zeros(state.n_links, dtype=np.float64)
    _engine(state).queued_pcu(float(now), out)
    return out


def wake_all(state: LinkQueueState, now: float) -> None:
    """Wake every blocked link and departure queue at ``now`` (after a route refresh)."""
    _engine(state).wake_all(float(now))


def wake(state: LinkQueueState, links: np.ndarray, now: float) -> None:
    """After :meth:`LinkQueueState.set_links` changed ``links``: reschedule their exits,
    entrances and windows and wake the traffic waiting to enter them, at ``now``."""
    links = np.ascontiguousarray(links, dtype=np.int64)
    if len(links) and (links.min() < 0 or links.max() >= state.n_links):
        raise KernelInputError(f"links must be positions 0..{state.n_links - 1}")
    m, n = state.n_links, state.n_nodes
    state.cancel_items(np.concatenate([links, m + n + links, 2 * m + n + links]))
    _engine(state).wake_links(links, float(now))


def wave_times(
    length: np.ndarray, speed: np.ndarray, capacity: np.ndarray, jam_density: np.ndarray
) -> np.ndarray:
    """Seconds that freed space takes to cross each link against the traffic.

    The triangular fundamental diagram of a lane with free-flow speed ``v``, capacity
    ``q`` and jam density ``k_j`` has the backward wave speed ``w = q / (k_j - q / v)``;
    the time is ``length / w``. A diagram whose capacity needs more than the jam density
    at free-flow speed (``q / v >= k_j``) has no congested branch: ``0`` (at once).

    Parameters
    ----------
    length
        Metres.
    speed
        Free-flow speed, metres per second.
    capacity
        PCU per hour per lane.
    jam_density
        PCU per kilometre per lane.
    """
    length, speed, capacity, jam = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (length, speed, capacity, jam_density))
    )
    critical = capacity / (speed * 3.6)  # PCU/km per lane at capacity
    with np.errstate(divide="ignore", invalid="ignore"):
        w = capacity / (jam - critical) / 3.6  # metres per second
        out = np.where(jam > critical, length / w, 0.0)
    return np.ascontiguousarray(out)
