"""Emergency response: incidents, units at stations, dispatch and each incident's story.

Every incident is a SimPy process that reads like what happens::

    call → dispatch delay → wait for a free unit (the best by current travel time)
         → turnout → drive to the scene through the run's roads → time on scene
         → (medical and crash calls, with some probability) drive to the nearest hospital
         → handover → drive back to base → the unit is free again

Units (ambulances at hospitals, fire engines at fire stations) are pooled by type; a call
that finds no free unit waits in a first-come-first-served queue and takes the first unit
that comes back to base. Units travel as ``vehicle_class="emergency"``, so in a full run
the traffic engine slows them in congestion (with its emergency-vehicle advantage).

Stations change while the run goes on through :meth:`Emergency.add_station`,
:meth:`~Emergency.remove_station`, :meth:`~Emergency.move_station` and
:meth:`~Emergency.set_station_units`, at the clock's current time (see
:mod:`sim.emergency.fleet` for what happens to units on a call). A city with no hospitals
or fire stations (a road-only or GMNS city) runs without the incidents nothing could
answer: :attr:`Emergency.skipped` and :attr:`Emergency.skipped_kinds` say why.

Randomness: the run's generator is split into independent streams (one per incident
source and one for each incident's own durations, drawn when the call arrives), so the same
seed gives the same incidents with the same scene times whatever the stations are: two
runs that differ only in stations are compared with common random numbers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from sim.emergency.fleet import Fleet, Unit
from sim.emergency.incidents import (
    NodeSampler,
    fallback_vehicle_km_share,
    fire_weights_by_node,
    next_arrival,
    residents_by_node,
    tourists_array,
)
from sim.emergency.params import INCIDENT_KINDS, UNIT_TYPES, EmergencyParams, resolve_params
from sim.emergency.records import (
    INCIDENT_COLUMNS,
    UNIT_COLUMNS,
    emergency_kpis,
    response_by_zone_hour,
)
from sim.emergency.stations import NoUnitsError, Station, city_stations
from sim.emergency.travel import RoadGraph
from sim.roads import Roads, UnreachableError
from twin.city import City
from twin.clock import format_clock
from twin.errors import TwinError

logger = logging.getLogger(__name__)

__all__ = [
    "Emergency",
]


_TEXT_COLUMNS = dict.fromkeys(("kind", "source", "unit", "unit_type", "station"), str)
_TIME_COLUMNS = {
    c: np.float64
    for c in INCIDENT_COLUMNS
    if c not in ("incident_id", "zone", "node", "hospital", "waited", *_TEXT_COLUMNS)
}


@dataclass(eq=False)
class _Incident:
    incident_id: int
    kind: str
    zone: int
    node: int
    call: float
    draws: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)


class Emergency:
    """Emergency response on the run's clock and roads.

    Parameters
    ----------
    env
        The run's environment (seconds after midnight).
    city
        The city: hospitals and fire stations are the bases; residents, buildings and zones
        place incidents.
    roads
        The run's roads (:class:`sim.roads.Roads`); if it offers ``vehicle_km()``
        (cumulative vehicle-km per edge) road crashes follow it, otherwise a length-weighted
        estimate.
    rng
        The component's random generator.
    params
        :class:`~sim.emergency.params.EmergencyParams`, a dict of overrides, a TOML path or
        ``None`` for the defaults.
    tourists
        An object with ``tourists_by_zone()`` (tourists in each zone now), or ``None``.
    stations
        The stations to use; ``None`` for the city's hospitals and fire stations.
    extra_stations
        Stations added to those (what-if siting). Station names must be unique.

    Attributes
    ----------
    skipped
        Why emergency response is not simulated at all (``None`` when it is): every
        incident kind with a positive rate needs a unit type the city has no base for.
        No incident then arises and :meth:`kpis` counts none.
    skipped_kinds
        Incident kinds not simulated, each with the reason: no station bases the unit type
        they need (a city with no hospitals, or stations given without one). Decided when
        the component is built; stations added later do not bring them back.
    fleet
        The stations in service and their units (:class:`sim.emergency.fleet.Fleet`).

    Raises
    ------
    NoUnitsError
        An incident kind with a positive rate needs a unit type whose stations all have
        no units (the parameters or the stations given ask for none).
    StationError, OffNetworkError, UnknownUnitTypeError
        A station is malformed (a repeated name, a node off the network...).
    """

    def __init__(
        self,
        env: simpy.Environment,
        city: City,
        roads: Roads,
        *,
        rng: np.random.Generator,
        params: EmergencyParams | dict | None = None,
        tourists: object | None = None,
        stations: Sequence[Station] | None = None,
        extra_stations: Sequence[Station] = (),
    ) -> None:
        self.env = env
        self.city = city
        self.roads = roads
        self.params = resolve_params(params)
        self.tourists = tourists
        base = list(city_stations(city, self.params) if stations is None else stations)
        self.fleet = Fleet(env, city.drive.n_nodes, [*base, *extra_stations])
        self.units: dict[str, list[Unit]] = self.fleet.units
        self.pools = self.fleet.pools
        self.skipped_kinds = self._kinds_without_units()
        self.skipped: str | None = None
        self._warn_skipped()
        self.hospitals = city.pois_of("hospital")["drive_node"].to_numpy(np.int64)
        self.graph = RoadGraph(city.drive)
        streams = rng.spawn(6)
        self._rng = dict(
            zip(("medical", "tourist", "fire", "crash", "service", "place"), streams, strict=True)
        )
        self._residents = residents_by_node(city)
        self._resident_sampler = NodeSampler(self._residents)
        self._fire_sampler = NodeSampler(fire_weights_by_node(city))
        self._incidents: list[_Incident] = []
        self._cut_off = 0  # incidents no open road led to

    @property
    def stations(self) -> list[Station]:
        """The stations in service now (with their current node and units)."""
        return self.fleet.stations

    def _needed_kinds(self) -> list[str]:
        """Incident kinds with a positive rate."""
        p = self.params
        needed = {
            "medical": p.medical_per_1000_residents_per_day > 0
            or (self.tourists is not None and p.medical_per_1000_tourists_per_day > 0),
            "fire": p.fires_per_100k_residents_per_day > 0,
            "crash": p.crashes_per_million_vehicle_km > 0,
        }
        return [kind for kind, need in needed.items() if need]

    def _kinds_without_units(self) -> dict[str, str]:
        """Needed kinds left out because no station bases their unit type, each with the
        reason; :class:`NoUnitsError` when there are such stations but none has units."""
        p = self.params
        out = {}
        for kind in self._needed_kinds():
            unit_type = p.unit_type[kind]
            if self.fleet.in_service(unit_type):
                continue
            category = UNIT_TYPES[unit_type]
            of_type = [s for s in self.fleet.stations if s.unit_type == unit_type]
            if not of_type:
                if len(self.city.pois_of(category)):
                    out[kind] = f"the stations given include no {unit_type} station"
                else:
                    out[kind] = f"{self.city.name} has no {category} POIs"
                continue
            key = (
                "ambulances_per_hospital"
                if unit_type == "ambulance"
                else "fire_engines_per_fire_station"
            )
            if p.units_per_station(unit_type) > 0:
                raise NoUnitsError(
                    f"{kind} incidents need {unit_type} units but the {unit_type} stations "
                    f"given ({', '.join(repr(s.name) for s in of_type)}) have none. Fix: give "
                    f"one at least 1 unit, or set the {kind} rate to 0"
                )
            count = len(self.city.pois_of(category))
            raise NoUnitsError(
                f"{kind} incidents need {unit_type} units but there are none "
                f"({count} {category} POIs × [units] {key} = "
                f"{p.units_per_station(unit_type)}). Fix: set {key} above 0, add a "
                f"station with extra_stations, or set the {kind} rate to 0"
            )
        return out

    def _warn_skipped(self) -> None:
        """One warning for the incident kinds left out; :attr:`skipped` when all are."""
        if not self.skipped_kinds:
            return
        reasons = sorted(set(self.skipped_kinds.values()))
        missing = [UNIT_TYPES[self.params.unit_type[k]] for k in self.skipped_kinds]
        no_pois = f"{self.city.name} has no "
        if all(r.startswith(no_pois) for r in reasons):  # one sentence for the city's lack
            categories = [c for c in UNIT_TYPES.values() if c in missing]
            types = [t for t, c in UNIT_TYPES.items() if c in missing]
            reasons = [
                f"{no_pois}{' or '.join(categories)} POIs, so no {' or '.join(types)} units to send"
            ]
        reason = "; ".join(reasons)
        fix = "give the run stations of that type (sim.emergency.stations.station_at)"
        if set(self.skipped_kinds) == set(self._needed_kinds()):
            self.skipped = reason
            logger.warning("emergency response is not simulated: %s; %s", reason, fix)
        else:
            kinds = " and ".join(k for k in INCIDENT_KINDS if k in self.skipped_kinds)
            logger.warning("%s incidents are not simulated: %s; %s", kinds, reason, fix)

    # -- processes ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the incident sources (they run until the environment stops); the kinds in
        :attr:`skipped_kinds` have none."""
        self.fleet.started_at = float(self.env.now)
        p, skip = self.params, self.skipped_kinds
        pop = float(self._residents.sum())
        per_s = pop / 1000.0 * p.medical_per_1000_residents_per_day / 86_400.0
        if "medical" not in skip:
            medical = per_s * p.hourly_profile["medical"]
            self.env.process(self._source("medical", medical, self._rng["medical"]))
        fires = pop / 100_000.0 * p.fires_per_100k_residents_per_day / 86_400.0
        if "fire" not in skip:
            self.env.process(
                self._source("fire", fires * p.hourly_profile["fire"], self._rng["fire"])
            )
        if (
            self.tourists is not None
            and p.medical_per_1000_tourists_per_day > 0
            and "medical" not in skip
        ):
            self.env.process(self._tourist_source())
        if p.crashes_per_million_vehicle_km > 0 and "crash" not in skip:
            self.env.process(self._crash_source())

    def _source(self, kind: str, rate_by_hour: np.ndarray, rng: np.random.Generator):
        sampler = self._resident_sampler if kind == "medical" else self._fire_sampler
        source = "resident" if kind == "medical" else "building"
        while True:
            t = next_arrival(self.env.now, rate_by_hour, rng)
            if not math.isfinite(t):
                return
            yield self.env.timeout(t - self.env.now)
            self._new_incident(kind, sampler.draw(rng), source=source)

    def _tourist_source(self):
        rng, p = self._rng["tourist"], self.params
        zone = np.asarray(self.city.node_zone, dtype=np.int64)
        while True:
            hour_end = (math.floor(self.env.now / 3600.0) + 1) * 3600.0
            by_zone = tourists_array(self.tourists, len(self.city.zones))
            by_node = np.divide(
                by_zone[zone],
                np.bincount(zone, minlength=len(by_zone))[zone],
            )
            hour = int(self.env.now // 3600) % 24
            rate = (
                by_node.sum()
                / 1000.0
                * p.medical_per_1000_tourists_per_day
                / 86_400.0
                * p.hourly_profile["medical"][hour]
            )
            sampler = NodeSampler(by_node)
            t = self.env.now
            while rate > 0:
                t += rng.exponential(1.0 / rate)
                if t >= hour_end:
                    break
                yield self.env.timeout(t - self.env.now)
                self._new_incident("medical", sampler.draw(rng), source="tourist")
            yield self.env.timeout(hour_end - self.env.now)

    def _crash_source(self):
        p, rng = self.params, self._rng["crash"]
        net = self.city.drive
        counts = hasattr(self.roads, "vehicle_km")
        previous = np.asarray(self.roads.vehicle_km(), float).copy() if counts else None
        share = fallback_vehicle_km_share(self.city)
        daily_vkm = float(self._residents.sum()) * p.vehicle_km_per_resident_per_day
        while True:
            now, step = self.env.now, p.crash_interval_s
            if counts:
                current = np.asarray(self.roads.vehicle_km(), float)
                vkm = np.maximum(current - previous, 0.0) / p.traffic_scale
                previous = current.copy()
            else:
                hour = int(now // 3600) % 24
                vkm = share * daily_vkm * p.hourly_profile["traffic"][hour] * step / 86_400.0
            expected = vkm.sum() / 1e6 * p.crashes_per_million_vehicle_km
            n = int(rng.poisson(expected)) if expected > 0 else 0
            times = np.sort(now + rng.random(n) * step)
            edges = rng.choice(net.n_edges, size=n, p=vkm / vkm.sum()) if n else []
            for t, edge in zip(times, edges, strict=True):
                yield self.env.timeout(t - self.env.now)
                self._new_incident("crash", int(net.indices[edge]), source="traffic")
            yield self.env.timeout(now + step - self.env.now)

    def _new_incident(self, kind: str, node: int, *, source: str) -> None:
        p, rng = self.params, self._rng["service"]
        draws = {
            "dispatch_delay": p.dispatch_delay_s.sample(rng),
            "turnout": p.turnout_s.sample(rng),
            "scene": p.scene_s[kind].sample(rng),
            "transport": bool(rng.random() < p.transport_share[kind]),
            "handover": p.handover_s.sample(rng),
        }
        incident = _Incident(
            len(self._incidents),
            kind,
            int(self.city.node_zone[node]),
            int(node),
            float(self.env.now),
            draws,
        )
        incident.record["source"] = source
        self._incidents.append(incident)
        self.env.process(self._respond(incident))

    def report(self, kind: str, node: int, *, draws: dict | None = None) -> None:
        """Place an incident now (scripted scenarios and tests); ``draws`` fixes its times.

        ``draws`` may give ``dispatch_delay``, ``turnout``, ``scene``, ``handover`` (s) and
        ``transport`` (bool); the rest are drawn.
        """
        if kind not in INCIDENT_KINDS:
            raise TwinError(f"unknown incident kind {kind!r}; expected one of {INCIDENT_KINDS}")
        self._new_incident(kind, int(node), source="scripted")
        if draws:
            self._incidents[-1].draws.update(draws)

    def _travel(self, origin: int, destination: int):
        """Drive (a process); returns the arrival time."""
        if self.params.travel == "zero" or origin == destination:
            return self.env.now
        journey = yield self.roads.drive(origin, destination, vehicle_class="emergency")
        return float(getattr(journey, "arrive", self.env.now))

    def _reach(self, origin: int, destination: int):
        """Drive (a process); returns whether the unit got there (``False``: no open road
        leads there, and it did not move)."""
        try:
            yield from self._travel(origin, destination)
        except UnreachableError:
            return False
        return True

    def _respond(self, incident: _Incident):
        env, d, rec = self.env, incident.draws, incident.record
        unit_type = self.params.unit_type[incident.kind]
        yield env.timeout(d["dispatch_delay"])
        queued_at = env.now
        request = self.pools[unit_type].request(lambda free: self._best(free, incident.node))
        rec["waited"] = not request.triggered
        unit: Unit = yield request
        rec.update(dispatch=env.now, wait_s=env.now - queued_at, unit=unit.unit_id)
        rec.update(unit_type=unit.unit_type, station=unit.station)
        unit.busy_since, unit.calls = env.now, unit.calls + 1
        origin = unit.base  # where the crew turns out, even if its station moves meanwhile
        yield env.timeout(d["turnout"])
        rec["depart"] = env.now
        if not (yield from self._reach(origin, incident.node)):
            # no open road leads to the scene (a flood, a closure): the unit stands down
            self._cut_off += 1
            rec["back_at_base"] = env.now
            unit.busy_s += env.now - unit.busy_since
            unit.busy_since = math.nan
            self.fleet.back_at_base(unit)
            return
        rec["on_scene"] = env.now
        yield env.timeout(d["scene"])
        rec["left_scene"] = env.now
        where = incident.node
        if d["transport"] and len(self.hospitals) and unit_type == "ambulance":
            hospital = self._nearest_hospital(incident.node)
            if (yield from self._reach(incident.node, hospital)):
                rec["hospital"] = hospital
                rec["at_hospital"] = env.now
                yield env.timeout(d["handover"])
                rec["handover_done"] = env.now
                where = hospital
        while True:  # a station that moves while its unit drives back: drive on
            base = unit.base
            yield from self._reach(where, base)  # cut off from base: back at once (simplified)
            if unit.base == base:
                break
            where = base
        rec["back_at_base"] = env.now
        unit.busy_s += env.now - unit.busy_since
        unit.busy_since = math.nan
        self.fleet.back_at_base(unit)

    def _best(self, free: list[Unit], node: int) -> Unit:
        """The free unit with the shortest current travel time to ``node``."""
        if len(free) == 1 or self.params.travel == "zero":
            return free[0]
        times = self.graph.times_to(self.roads.link_times("emergency"), node)
        return min(free, key=lambda u: (times[u.base], u.unit_id))

    def _nearest_hospital(self, node: int) -> int:
        if self.params.travel == "zero" or len(self.hospitals) == 1:
            return int(self.hospitals[0])
        times = self.graph.times_from(self.roads.link_times("emergency"), [node])[0]
        return int(self.hospitals[np.argmin(times[self.hospitals])])

    # -- station changes ---------------------------------------------------------------------
    def add_station(self, station: Station) -> None:
        """Open ``station`` now.

        Its units join the pool at once: calls already waiting for a unit of its type take
        them (the longest-waiting call first, each the nearest free unit). A station of the
        same name closed earlier gets its units back (same unit ids). Incident kinds in
        :attr:`skipped_kinds` stay out of the run even when their unit type arrives.

        Raises
        ------
        StationError
            A station of that name is in service, or ``units`` is below 0.
        OffNetworkError, UnknownUnitTypeError
            Its node is not a drive node, or its unit type is unknown.
        """
        self.fleet.add(station)
        logger.info(
            "%s: station %r opened at node %d with %d %s unit(s)",
            format_clock(self.env.now),
            station.name,
            station.node,
            station.units,
            station.unit_type,
        )

    def remove_station(self, name: str) -> Station:
        """Close the station ``name`` now; returns it (pass it to :meth:`add_station` to
        open it again).

        Its free units leave service at once; units on a call finish it, drive back to
        base and leave service there. No call is sent a unit of the station after now.

        Raises
        ------
        UnknownStationError
            No station of that name is in service (the message names the closest).
        """
        station = self.fleet.remove(name)
        logger.info("%s: station %r closed", format_clock(self.env.now), name)
        self._warn_if_none_left(station.unit_type)
        return station

    def move_station(self, name: str, node: int) -> int:
        """Base the station ``name`` at drive node ``node`` now; returns its previous node.

        A simplification: its free units are available at the new node at once (the drive
        between the two sites is not simulated). Units on a call drive back to the new
        node; one already driving back to the old node drives on from there.

        Raises
        ------
        UnknownStationError
            No station of that name is in service.
        OffNetworkError
            ``node`` is not a node of the drive network.
        """
        old = self.fleet.move(name, node)
        logger.info(
            "%s: station %r moved from node %d to %d", format_clock(self.env.now), name, old, node
        )
        return old

    def set_station_units(self, name: str, units: int) -> int:
        """Give the station ``name`` ``units`` units in service from now; returns how many
        it had.

        More units: they are free at once and serve waiting calls. Fewer: free units leave
        service first; then units on a call leave when they are back at base.

        Raises
        ------
        UnknownStationError
            No station of that name is in service.
        StationError
            ``units`` is not a whole number 0 or more.
        """
        previous = self.fleet.set_units(name, units)
        logger.info(
            "%s: station %r has %d unit(s) instead of %d",
            format_clock(self.env.now),
            name,
            units,
            previous,
        )
        if units < previous:
            self._warn_if_none_left(self.fleet.station(name).unit_type)
        return previous

    def _warn_if_none_left(self, unit_type: str) -> None:
        if not self.fleet.in_service(unit_type):
            logger.warning(
                "%s: no %s unit is in service any more; calls for one wait until a station "
                "opens or gets units",
                format_clock(self.env.now),
                unit_type,
            )

    # -- outputs -----------------------------------------------------------------------------
    def incidents_table(self) -> pd.DataFrame:
        """One row per incident (columns :data:`INCIDENT_COLUMNS`), seconds after midnight.

        ``source`` says what raised the incident (``resident``, ``tourist``, ``building``,
        ``traffic`` or ``scripted``); ``zone`` and ``node`` are where (drive node position);
        ``unit`` is the unit's id (``"ambulance/<station>/<k>"``); ``waited`` is true when
        no unit was free and ``wait_s`` the seconds spent waiting for one. Times not reached
        by the end of the run are NaN; ``response_time`` is ``on_scene - call``;
        ``hospital`` is the hospital's drive node (-1 when the patient was not transported).
        """
        rows = []
        for inc in self._incidents:
            r = inc.record
            row = {
                "incident_id": inc.incident_id,
                "kind": inc.kind,
                "source": r.get("source", ""),
                "zone": inc.zone,
                "node": inc.node,
                "call": inc.call,
                "unit": r.get("unit", ""),
                "unit_type": r.get("unit_type", self.params.unit_type[inc.kind]),
                "station": r.get("station", ""),
                "hospital": int(r.get("hospital", -1)),
                "waited": bool(r.get("waited", False)),
            }
            for col in (
                "dispatch",
                "depart",
                "on_scene",
                "left_scene",
                "at_hospital",
                "handover_done",
                "back_at_base",
                "wait_s",
            ):
                row[col] = float(r.get(col, math.nan))
            row["response_time"] = row["on_scene"] - inc.call
            rows.append(row)
        table = pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
        return table.astype(
            {"incident_id": np.int64, "zone": np.int64, "node": np.int64, "hospital": np.int64}
        ).astype({"waited": bool, **_TEXT_COLUMNS, **_TIME_COLUMNS})  # typed when empty too

    def units_table(self) -> pd.DataFrame:
        """One row per unit (columns :data:`UNIT_COLUMNS`), out of service ones included:
        ``unit``, ``unit_type``, ``station``, ``node`` (its base now), ``calls``,
        ``busy_s``, ``utilisation`` (busy share of its time in service since
        :meth:`start`; NaN when it had none) and ``in_service`` (at the end)."""
        rows = []
        for units in self.units.values():
            for u in units:
                running = 0.0 if math.isnan(u.busy_since) else self.env.now - u.busy_since
                busy = u.busy_s + running
                service = self.fleet.service_time(u)
                rows.append(
                    {
                        "unit": u.unit_id,
                        "unit_type": u.unit_type,
                        "station": u.station,
                        "node": u.base,
                        "calls": u.calls,
                        "busy_s": busy,
                        "utilisation": busy / service if service > 0 else math.nan,
                        "in_service": u.in_service,
                    }
                )
        return pd.DataFrame(rows, columns=list(UNIT_COLUMNS))

    def kpis(self) -> dict:
        """Headline numbers (:func:`sim.emergency.records.emergency_kpis`): counts,
        response times (s), shares reached in 8 and 15 minutes, calls that waited, their
        mean wait for a unit, units in service and their utilisation by type (0-1), and
        ``incidents_cut_off``: incidents no open road led to (a flood, a closure).

        When :attr:`skipped` says the part was not simulated, the counts are zero and the
        means of nothing are NaN.
        """
        kpis = emergency_kpis(self.incidents_table(), self.units_table(), self.env.now)
        kpis["incidents_cut_off"] = self._cut_off
        return kpis

    def response_by_zone_hour(self) -> pd.DataFrame:
        """Response times by zone and hour of the call: ``incidents``, ``reached``,
        ``mean_s``, ``median_s``, ``p90_s`` and ``share_within_8min``."""
        return response_by_zone_hour(self.incidents_table(), self.env.now)
