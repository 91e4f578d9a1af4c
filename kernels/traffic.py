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

The state lives in flat numpy arrays on a :class:`LinkQueueState`
(:mod:`kernels.traffic_state`); both backends (the compiled ``kernels._traffic_cy`` and the
pure-Python reference in ``kernels._traffic_reference``, which is the readable
specification) read and write the same arrays and produce identical results. This module
is the public face: it validates the calls and picks the backend.
"""

from __future__ import annotations

import numpy as np

from kernels._traffic_reference import ReferenceEngine
from kernels.backend import compiled
from kernels.errors import KernelInputError

# The state and its constants live in kernels.traffic_state; they stay importable from
# here (``kernels.traffic.C_ARRIVED``, ``kernels.traffic.LinkQueueState`` …).
from kernels.traffic_state import (  # noqa: F401
    ALL_CLASSES,
    ARRIVED,
    BLOCKED,
    C_ARRIVED,
    C_DEPARTED,
    C_FORCED,
    C_HEAP_SIZE,
    C_ON_NETWORK,
    C_ORDER,
    C_RELEASED,
    C_SEQ,
    C_TRAVERSALS,
    C_UNROUTABLE,
    C_VEHICLES,
    C_WAITING,
    HEAP,
    IDLE,
    IN_HEAP,
    LINK_COLD,
    LINK_HOT,
    N_COUNTS,
    ON_NETWORK,
    PENDING,
    STRANDED,
    T_EMERGENCY_CONGESTION,
    T_LAST_MOVE,
    T_NOW,
    T_RELIEF,
    UNROUTABLE,
    VEHICLE,
    WAITING,
    LinkQueueState,
)

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
