"""The units of a run: who is free, who is on a call, and station changes while it runs.

Every :class:`Unit` (one ambulance or fire engine) belongs to one station of the run's
:class:`Fleet`; the units of one type form a :class:`UnitPool` that hands a free unit to
each call, first come, first served. A unit is at any time

- *free*: at its base, in its pool, ready for the next call;
- *on a call*: dispatched, driving, on scene, at hospital or driving back;
- *out of service*: its station was closed or shrunk.

The fleet changes at the clock's current time, as a planner would change the city's
stations (:meth:`Fleet.add`, :meth:`Fleet.remove`, :meth:`Fleet.move`,
:meth:`Fleet.set_units`). A unit leaving service while on a call finishes that call and
goes out of service when it is back at base; it never takes another call. Units joining
the pool serve the calls already waiting at once. :class:`sim.emergency.model.Emergency`
offers these changes as its public methods.
"""

from __future__ import annotations

import difflib
import math
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import simpy

from sim.emergency.params import UNIT_TYPES
from sim.emergency.stations import (
    OffNetworkError,
    Station,
    StationError,
    UnknownStationError,
    check_unit_type,
)

__all__ = ["Fleet", "Unit", "UnitPool"]


@dataclass(eq=False)
class Unit:
    """One ambulance or fire engine.

    Attributes
    ----------
    unit_id
        ``"<unit type>/<station>/<k>"``; ``k`` counts the station's units from 1 and is
        never reused within a run.
    unit_type, station
        Its type and the name of its station.
    base
        The drive node it returns to after a call (its station's node).
    busy_since
        When its current call was assigned, s (NaN when not on a call).
    busy_s, calls
        Seconds spent on calls that are over, and calls taken.
    in_service
        ``False`` once it leaves service (it may still be finishing its last call).
    joined
        When it (last) entered service, s; ``None`` for a unit there from the start.
    out_since
        When it went out of service, s (NaN while in service or finishing its last call).
    service_s
        Seconds in service before it last entered service.
    """

    unit_id: str
    unit_type: str
    station: str
    base: int
    busy_since: float = math.nan
    busy_s: float = 0.0
    calls: int = 0
    in_service: bool = True
    joined: float | None = None
    out_since: float = math.nan
    service_s: float = 0.0

    @property
    def out(self) -> bool:
        """Out of service and back at base."""
        return not math.isnan(self.out_since)


class UnitPool:
    """Free units of one type and the calls waiting for one (first come, first served)."""

    def __init__(self, env: simpy.Environment, units: list[Unit]) -> None:
        self.env = env
        self.units = units
        self.free = list(units)
        self.waiting: deque[tuple[simpy.Event, Callable[[list[Unit]], Unit]]] = deque()

    def request(self, choose: Callable[[list[Unit]], Unit]) -> simpy.Event:
        """An event that succeeds with a unit: ``choose(free units)`` now if one is free and
        no call waits, else ``choose`` among the free units once the calls queued before
        it have theirs."""
        event = self.env.event()
        self.waiting.append((event, choose))
        self._serve()
        return event

    def release(self, unit: Unit) -> None:
        """``unit`` is back at base, or joins the pool: it goes to the longest-waiting
        call, or is free."""
        self.free.append(unit)
        self._serve()

    def withdraw(self, unit: Unit) -> bool:
        """Take ``unit`` out of the pool if it is free; ``False`` when it is on a call."""
        if unit in self.free:
            self.free.remove(unit)
            return True
        return False

    def _serve(self) -> None:
        while self.free and self.waiting:
            event, choose = self.waiting.popleft()
            unit = choose(self.free)
            self.free.remove(unit)
            event.succeed(unit)


class Fleet:
    """The stations of a run and their units, changed while it runs.

    Parameters
    ----------
    env
        The run's environment.
    n_nodes
        Nodes of the drive network (stations must lie on one).
    stations
        The stations at the start, each with its units; names must be unique.

    Attributes
    ----------
    units
        Every unit by type, in the order they were created (units out of service included).
    pools
        The :class:`UnitPool` of each type.
    started_at
        When the run started (set by the owner); time in service counts from there.
    """

    def __init__(
        self, env: simpy.Environment, n_nodes: int, stations: Iterable[Station] = ()
    ) -> None:
        self.env = env
        self.n_nodes = int(n_nodes)
        self.units: dict[str, list[Unit]] = {t: [] for t in UNIT_TYPES}
        self.pools = {t: UnitPool(env, units) for t, units in self.units.items()}
        self.started_at: float | None = None
        self._stations: dict[str, Station] = {}
        self._created: dict[tuple[str, str], int] = {}
        for station in stations:
            self._check(station)
            self._stations[station.name] = station
            for _ in range(station.units):
                self.pools[station.unit_type].free.append(self._new_unit(station, None))

    # -- what there is ------------------------------------------------------------------------
    @property
    def stations(self) -> list[Station]:
        """The stations in service, in the order they opened (``units``: units assigned)."""
        return list(self._stations.values())

    def station(self, name: str) -> Station:
        """The station in service called ``name``; :class:`UnknownStationError` otherwise,
        naming the closest names."""
        try:
            return self._stations[name]
        except (KeyError, TypeError):
            raise UnknownStationError(_unknown_station_message(name, self._stations)) from None

    def in_service(self, unit_type: str) -> list[Unit]:
        """Units of ``unit_type`` in service (free or on a call, not leaving)."""
        return [u for u in self.units[unit_type] if u.in_service]

    def service_time(self, unit: Unit) -> float:
        """Seconds ``unit`` has been in service since the run started."""
        if unit.out:
            return unit.service_s
        return unit.service_s + (self.env.now - self._entered(unit))

    # -- changes ------------------------------------------------------------------------------
    def add(self, station: Station) -> None:
        """Open ``station`` now; its units join the pools at once (see :meth:`set_units`)."""
        self._check(station)
        self._stations[station.name] = replace(station, units=0)
        self.set_units(station.name, station.units)

    def remove(self, name: str) -> Station:
        """Close the station ``name`` now and return it (as it was, units included)."""
        station = self.station(name)
        self.set_units(name, 0)
        del self._stations[name]
        return station

    def move(self, name: str, node: int) -> int:
        """Base the station ``name`` at ``node`` now; returns its previous node.

        Its free units are available at the new node at once (the drive between the two
        is not simulated); units on a call drive back to the new node; a unit already
        driving back finishes that drive and then drives on to the new node.
        """
        station = self.station(name)
        node = self._check_node(node, f"station {name!r} cannot move to node {node!r}")
        self._stations[name] = replace(station, node=node)
        for unit in self._units_of(station):
            unit.base = node
        return station.node

    def set_units(self, name: str, units: int) -> int:
        """Give the station ``name`` exactly ``units`` units in service now; returns how many
        it had.

        Adding: units finishing their last call before leaving service stay in service,
        then units out of service come back, then new units are created; units back at
        base join the pool at once and serve waiting calls. Retiring: free units leave at
        once (the most recently created first), then units on a call leave when back at
        base.
        """
        station = self.station(name)
        units = _check_units(units, f"station {name!r}")
        pool = self.pools[station.unit_type]
        mine = self._units_of(station)
        serving = [u for u in mine if u.in_service]
        previous = len(serving)
        if units > previous:
            # back from their last call first (they keep driving), then those already out
            spare = sorted((u for u in mine if not u.in_service), key=lambda u: u.out)
            for unit in spare[: units - previous]:
                unit.in_service, unit.base = True, station.node
                if unit.out:
                    unit.joined, unit.out_since = float(self.env.now), math.nan
                    pool.release(unit)
            for _ in range(units - previous - min(len(spare), units - previous)):
                pool.release(self._new_unit(station, float(self.env.now)))
        elif units < previous:
            newest_free_first = sorted(serving, key=lambda u: (u not in pool.free, -mine.index(u)))
            for unit in newest_free_first[: previous - units]:
                unit.in_service = False
                if pool.withdraw(unit):
                    self.leave_service(unit)
        self._stations[name] = replace(station, units=units)
        return previous

    def back_at_base(self, unit: Unit) -> None:
        """``unit`` is back from a call: free again, or out of service if it was leaving."""
        if unit.in_service:
            self.pools[unit.unit_type].release(unit)
        else:
            self.leave_service(unit)

    def leave_service(self, unit: Unit) -> None:
        """``unit`` (at base, not in the pool) goes out of service now."""
        unit.service_s += self.env.now - self._entered(unit)
        unit.out_since = float(self.env.now)

    # -- helpers ------------------------------------------------------------------------------
    def _entered(self, unit: Unit) -> float:
        start = self.started_at if self.started_at is not None else 0.0
        return start if unit.joined is None else max(unit.joined, start)

    def _units_of(self, station: Station) -> list[Unit]:
        """Units of the station's name and type that are in service or on their last call
        (out of service too: they may come back)."""
        return [u for u in self.units[station.unit_type] if u.station == station.name]

    def _new_unit(self, station: Station, joined: float | None) -> Unit:
        key = (station.unit_type, station.name)
        self._created[key] = self._created.get(key, 0) + 1
        unit_id = f"{station.unit_type}/{station.name}/{self._created[key]}"
        unit = Unit(unit_id, station.unit_type, station.name, station.node, joined=joined)
        self.units[station.unit_type].append(unit)
        return unit

    def _check(self, station: Station) -> None:
        if not isinstance(station, Station):
            raise StationError(
                f"expected a Station, got {type(station).__name__}; build one with "
                "sim.emergency.stations.station_at"
            )
        check_unit_type(station.unit_type)
        if station.name in self._stations:
            raise StationError(
                f"a station named {station.name!r} is already in service; give the new one "
                "another name, or move it or change its units instead"
            )
        _check_units(station.units, f"station {station.name!r}")
        self._check_node(
            station.node,
            f"station {station.name!r} is at node {station.node!r}",
            hint="build it with sim.emergency.stations.station_at",
        )

    def _check_node(self, node: int, what: str, *, hint: str = "") -> int:
        ok = isinstance(node, (int, np.integer)) and not isinstance(node, bool)
        if not ok or not 0 <= node < self.n_nodes:
            hint = hint or "give a node position of city.drive (station_at snaps coordinates)"
            raise OffNetworkError(
                f"{what}, not in the drive network (0..{self.n_nodes - 1}); {hint}"
            )
        return int(node)


def _check_units(units: int, what: str) -> int:
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 0:
        raise StationError(
            f"{what}: units must be a whole number 0 or more; got {units!r} (0 keeps the "
            "station with no units in service)"
        )
    return int(units)


def _fold(text: str) -> str:
    """Lower case without diacritics (``"Bệnh viện Huế"`` → ``"benh vien hue"``)."""
    decomposed = unicodedata.normalize("NFD", str(text).casefold().replace("đ", "d"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _unknown_station_message(name: object, stations: dict[str, Station]) -> str:
    names = list(stations)
    if not names:
        return f"no station named {name!r}: the run has no stations in service; add one first"
    by_fold: dict[str, list[str]] = {}
    for known in names:
        by_fold.setdefault(_fold(known), []).append(known)
    keys = difflib.get_close_matches(_fold(str(name)), list(by_fold), n=3, cutoff=0.6)
    close = [known for key in keys for known in by_fold[key]][:3]
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        shown = ", ".join(repr(n) for n in names[:6]) + (", …" if len(names) > 6 else "")
        hint = f"the stations in service are {shown}"
    return f"no station named {name!r} is in service; {hint} (names are matched exactly)"
