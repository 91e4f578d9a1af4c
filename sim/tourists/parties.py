"""A tourist party's day as a SimPy process, and the site rooms it waits for.

:class:`PartyDay` holds the process half of :class:`sim.tourists.model.Tourists`: a party
leaves its lodging, travels (walk, boat, tour bus, taxi or xe ôm), waits for the site to
open and for room (:class:`SlotPool`), queues at the ticket gate, visits and moves on,
recording every hop and visit. The component (population, planning, outputs) lives in
:mod:`sim.tourists.model`; it sets the state listed on :class:`PartyDay` before starting the
processes.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.roads import Roads
from sim.tourists.itinerary import PlaceTimes, PlannedStop
from sim.tourists.params import TouristParams

__all__ = ["Party", "PartyDay", "SlotPool"]


class SlotPool:
    """Room at a site: FIFO, a party takes ``k`` places at once, requests can be withdrawn."""

    def __init__(self, env: simpy.Environment, capacity: float) -> None:
        self.env = env
        self.free = capacity
        self.queue: deque[tuple[simpy.Event, int]] = deque()

    def request(self, k: int) -> simpy.Event:
        event = self.env.event()
        self.queue.append((event, k))
        self._grant()
        return event

    def cancel(self, event: simpy.Event) -> None:
        self.queue = deque(item for item in self.queue if item[0] is not event)
        self._grant()

    def release(self, k: int) -> None:
        self.free += k
        self._grant()

    def _grant(self) -> None:
        while self.queue and self.queue[0][1] <= self.free:
            event, k = self.queue.popleft()
            self.free -= k
            event.succeed()


@dataclass
class Party:
    """One party: who, from where, when, what it wants to see and its drawn uniforms."""

    pid: int
    first_tourist: int
    size: int
    tour: bool
    home: int  # place index (n_sites + lodging position)
    depart: float
    wishlist: list[int]
    dwell: dict[int, float]
    u: np.ndarray  # (hops, 2) uniforms: mode choice, boat choice
    plan: list[PlannedStop] = field(default_factory=list)
    where: int = -1


class PartyDay:
    """The parties' processes: a mixin of :class:`sim.tourists.model.Tourists`.

    It reads the run's state that :class:`~sim.tourists.model.Tourists` sets up (declared below)
    and appends to its ``_visits``, ``_trips`` and ``_occupancy_log`` records.
    """

    env: simpy.Environment
    roads: Roads
    params: TouristParams
    times: PlaceTimes | None
    _opens: np.ndarray
    _last_entry: np.ndarray
    _closes: np.ndarray
    _col: dict[str, list]
    _place_drive: np.ndarray
    _place_names: list[str]
    _gates: list[simpy.Resource | None]
    _rooms: list[SlotPool | None]
    _occupancy: np.ndarray
    _occupancy_log: list[tuple[float, int, int]]
    _visits: list[dict]
    _trips: list[dict]
    #: Expected seconds per hop ``(origins, destinations, tour)`` (the component's estimate).
    _estimates: Callable[[np.ndarray, np.ndarray, bool], np.ndarray]

    def _live(self, p: Party):
        env, prm = self.env, self.params
        if p.depart > env.now:
            yield env.timeout(p.depart - env.now)
        here, hop = p.home, 0
        for stop in p.plan:
            s = stop.site
            est = float(self._estimates(np.array([here]), np.array([s]), p.tour)[0])
            leave_at = max(env.now, self._opens[s] - est)
            if here != p.home and leave_at - env.now > prm.rest_gap_s:
                yield from self._travel(p, here, p.home, hop)
                here, hop = p.home, hop + 1
                est = float(self._estimates(np.array([here]), np.array([s]), p.tour)[0])
                leave_at = max(env.now, self._opens[s] - est)
            if leave_at + est > self._last_entry[s]:
                self._record_visit(p, s, missed="closed", mode=None, arrive=np.nan)
                continue
            if leave_at > env.now:
                yield env.timeout(leave_at - env.now)
            mode = yield from self._travel(p, here, s, hop)
            here, hop = s, hop + 1
            yield from self._visit(p, s, mode)
        if here != p.home:
            yield from self._travel(p, here, p.home, hop)

    def _travel(self, p: Party, origin: int, destination: int, hop: int):
        env, prm, t = self.env, self.params, self.times
        u_mode, u_boat = p.u[min(hop, len(p.u) - 1)]
        depart, vehicles = env.now, 0
        walk_m = t.walk_m(origin, destination)
        pier = int(self._col["boat_from"][destination]) if destination < t.n_sites else -1
        if walk_m <= prm.walk_max_m:
            mode = "walk"
            yield env.timeout(walk_m / prm.walk_speed_ms)
        elif pier >= 0 and t.walk_m(origin, pier) <= prm.walk_max_m and u_boat < prm.boat_share:
            mode = "boat"
            yield env.timeout(t.walk_m(origin, pier) / prm.walk_speed_ms)
            yield from self._pass_gate(pier, p.size)
            x, y = self._col["x"], self._col["y"]
            sx, sy, dx, dy = x[pier], y[pier], x[destination], y[destination]
            river_m = math.hypot(dx - sx, dy - sy) * prm.river_factor
            yield env.timeout(river_m / prm.boat_speed_ms)
        else:
            if p.tour:
                mode, wait, cls, vehicles = "tour_bus", prm.bus_board_s, "bus", 1
            elif p.size <= prm.xe_om_max_party and u_mode < prm.xe_om_share:
                mode, wait, cls, vehicles = "xe_om", prm.xe_om_wait_s, "motorbike", p.size
            else:
                mode, wait, cls = "taxi", prm.taxi_wait_s, "car"
                vehicles = math.ceil(p.size / prm.taxi_seats)
            yield env.timeout(wait)
            o_node, d_node = self._drive_node(origin), self._drive_node(destination)
            if o_node != d_node:
                drives = [
                    self.roads.drive(o_node, d_node, vehicle_class=cls) for _ in range(vehicles)
                ]
                yield env.all_of(drives)
        self._trips.append(
            {
                "party_id": p.pid,
                "persons": p.size,
                "origin": self._place_name(origin),
                "destination": self._place_name(destination),
                "mode": mode,
                "depart": depart,
                "arrive": env.now,
                "vehicles": vehicles,
            }
        )
        p.where = destination
        return mode

    def _drive_node(self, place: int) -> int:
        return int(self._place_drive[place])

    def _place_name(self, place: int) -> str:
        return self._place_names[place]

    def _pass_gate(self, s: int, k: int):
        """Queue at site ``s``'s gate and pass ``k`` visitors; returns (queued, served) times."""
        env, gate = self.env, self._gates[s]
        queued = env.now
        if gate is None:
            return queued, queued
        with gate.request() as turn:
            yield turn
            served = env.now
            yield env.timeout(k / self._col["gate_rate"][s])
        return queued, served

    def _visit(self, p: Party, s: int, mode: str):
        env, prm = self.env, self.params
        arrive, k = env.now, p.size
        if env.now < self._opens[s]:
            yield env.timeout(self._opens[s] - env.now)
        open_wait = env.now - arrive
        if env.now > self._last_entry[s]:
            self._record_visit(p, s, missed="closed", mode=mode, arrive=arrive, leave=env.now)
            return
        room, waited_from = self._rooms[s], env.now
        if room is not None:
            request = room.request(k)
            if not request.triggered:
                deadline = min(env.now + prm.patience_s, self._last_entry[s])
                yield request | env.timeout(max(deadline - env.now, 0.0))
                if not request.triggered:
                    room.cancel(request)
                    reason = "crowded" if deadline < self._last_entry[s] else "closed"
                    self._record_visit(
                        p, s, missed=reason, mode=mode, arrive=arrive, leave=env.now,
                        open_wait=open_wait, crowd_wait=env.now - waited_from,
                    )  # fmt: skip
                    return
        crowd_wait = env.now - waited_from
        queued, served = yield from self._pass_gate(s, k)
        entered = env.now
        rate = self._col["gate_rate"][s]
        if self._gates[s] is None:
            waits, enters = np.zeros(k), np.full(k, entered)
        else:
            j = np.arange(k)
            waits, enters = served - queued + j / rate, served + (j + 1) / rate
        self._change_occupancy(s, +k)
        end = max(entered, min(entered + p.dwell[s], self._closes[s]))
        yield env.timeout(end - entered)
        self._change_occupancy(s, -k)
        if room is not None:
            room.release(k)
        self._record_visit(
            p, s, missed=None, mode=mode, arrive=arrive, leave=env.now, open_wait=open_wait,
            crowd_wait=crowd_wait, gate_wait=waits, enter=enters,
        )  # fmt: skip

    def _change_occupancy(self, s: int, k: int) -> None:
        self._occupancy[s] += k
        self._occupancy_log.append((self.env.now, s, int(self._occupancy[s])))

    def _record_visit(
        self,
        p: Party,
        s: int,
        *,
        missed: str | None,
        mode: str | None,
        arrive: float,
        leave: float = np.nan,
        open_wait: float = 0.0,
        crowd_wait: float = 0.0,
        gate_wait=np.nan,
        enter=np.nan,
    ) -> None:
        gate_wait = np.broadcast_to(np.asarray(gate_wait, float), (p.size,))
        enter = np.broadcast_to(np.asarray(enter, float), (p.size,))
        site = {c: self._col[c][s] for c in ("site", "poi_id", "zone")}
        for j in range(p.size):
            self._visits.append(
                {
                    "tourist_id": p.first_tourist + j,
                    "party_id": p.pid,
                    "party_size": p.size,
                    "tour_group": p.tour,
                    "site": site["site"],
                    "poi_id": site["poi_id"],
                    "zone": int(site["zone"]),
                    "arrive": float(arrive),
                    "open_wait": float(open_wait),
                    "crowd_wait": float(crowd_wait),
                    "gate_wait": float(gate_wait[j]),
                    "enter": float(enter[j]),
                    "leave": float(leave),
                    "mode_in": mode,
                    "missed": missed is not None,
                    "missed_reason": missed,
                }
            )
