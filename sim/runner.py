"""Running a specification: one clock, one seed, traffic, tourists and emergency response.

:func:`run` is the one function that runs a :class:`~sim.spec.RunSpec` on its city. It
checks that the city is the one the specification names, builds any new roads into the
network, makes one ``simpy.Environment`` whose clock is seconds after midnight (starting at
the window's start), one ``numpy.random.Generator`` from the seed that hands a child
generator to each part, the roads (the traffic engine, free-flow roads or a replayed day),
the tourists and the emergency services on them, schedules the interventions on the clock
(:class:`sim.world.World`), runs to the window's end and returns a :class:`RunResult`: the
record tables (:mod:`sim.records`), the KPIs (:mod:`sim.kpis`) and the manifest. A run is a
pure function of the city and the specification: the same specification gives the same
tables and KPIs, byte for byte.

:func:`run_day` is the keyword face of the same: its arguments build a specification
(:func:`sim.spec_builder.build_spec`) which is then run.

Random streams
--------------
``np.random.default_rng(seed).spawn(4)`` gives, in this order, the generators of demand,
traffic, tourists and emergency. The order is fixed and each part draws only from its own,
so switching tourists off, or changing the stations, does not change the traffic's random
numbers: two specifications that differ in one domain are compared with common random
numbers in the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.city_profile import profile_notes
from sim.contract_tables import (
    incidents_table,
    links_table,
    no_links,
    no_trips,
    plain,
    trips_table,
    unroutable_by_zone,
)
from sim.interventions import AddRoad, EventTrips, StationSpec
from sim.manifest import build_manifest
from sim.parameters import typed
from sim.result import RunResult
from sim.run_trips import run_trips
from sim.spec import RunSpec, SpecError
from twin.city import City, city_checksum
from twin.clock import format_clock
from twin.errors import TwinError

__all__ = [
    "PROGRESS_INTERVAL",
    "STREAMS",
    "TRAFFIC_KPIS",
    "check_city",
    "run",
]

log = logging.getLogger(__name__)

#: Names of the child random streams, in the order they are spawned from the run's seed.
STREAMS: tuple[str, ...] = ("demand", "traffic", "tourists", "emergency")
#: Simulated seconds between two calls of the ``progress`` callback.
PROGRESS_INTERVAL = 300.0
#: KPI keys every run that simulates traffic reports.
TRAFFIC_KPIS: tuple[str, ...] = (
    "trips_total",
    "trips_completed",
    "trips_unfinished",
    "vehicle_km",
    "vehicle_hours",
    "mean_speed_kmh",
    "total_delay_h",
)


# -- the run -----------------------------------------------------------------------------------
def run(
    city: City,
    spec: RunSpec,
    *,
    trips: pd.DataFrame | None = None,
    replay: RunResult | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Run ``spec`` on ``city``.

    Parameters
    ----------
    city
        The city the specification names (its content checksum must match).
    spec
        What to run.
    trips
        The trips table the specification's ``trips.sha256`` names, when it is in memory
        (``trip_id``, ``origin``, ``destination`` as drive node positions, ``depart``,
        ``vehicle_class``); ``None`` reads ``spec.trips.path`` (or synthesises demand when
        the specification names no trips).
    replay
        The run whose link times are replayed (``parts.traffic == "replay"``) when it is in
        memory; ``None`` reads ``spec.replay.run``.
    progress
        Called with the simulated clock (seconds after midnight) every
        :data:`PROGRESS_INTERVAL` simulated seconds and once at the end.

    Raises
    ------
    SpecError
        The city, the trips or the replayed run are not the ones the specification names.
    TripsError
        Trips miss columns, name nodes outside the network or depart outside the window.
    """
    t_begin = time.perf_counter()
    check_city(city, spec)
    vehicles = typed(spec, "vehicles")
    run_city = _with_added_roads(city, spec)
    streams = dict(zip(STREAMS, np.random.default_rng(spec.seed).spawn(len(STREAMS)), strict=True))
    start, end = spec.window.start, spec.window.end
    timers: dict[str, float] = {}
    notes: list[str] = []

    t0 = time.perf_counter()
    demand = None
    if spec.parts.traffic != "simulate" and any(
        isinstance(item, EventTrips) for item in spec.interventions
    ):
        notes.append(
            f"parts.traffic = {spec.parts.traffic!r}: the visitors of the events add no trips "
            "to it; simulate the traffic (parts.traffic = 'simulate') to see them"
        )
    if spec.parts.traffic == "simulate":
        demand = run_trips(run_city, spec, trips, streams["demand"], vehicles)
        if len(demand) == 0:
            notes.append(
                f"no trip departs between {format_clock(start)} and {format_clock(end)}: the "
                "traffic is empty; widen the window or check the trips"
            )
    timers["demand"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    env = simpy.Environment(initial_time=start)
    roads = _roads(env, run_city, spec, demand, vehicles, streams, replay)
    tourist_model = emergency_model = None
    if spec.parts.tourists:
        from sim.tourists.model import Tourists

        tourist_model = Tourists(
            env, run_city, roads, rng=streams["tourists"], params=typed(spec, "tourists")
        )
    if spec.parts.emergency:
        from sim.emergency.model import Emergency

        emergency_model = Emergency(
            env,
            run_city,
            roads,
            rng=streams["emergency"],
            params=typed(spec, "emergency"),
            tourists=tourist_model,
            stations=[_station(run_city, s) for s in spec.stations],
        )
    from sim.world import World

    world = World(env, run_city.drive, roads, end, tourist_model, emergency_model)
    for intervention in spec.interventions:
        world.schedule(intervention)
    if demand is not None:
        roads.start(end)
    if tourist_model is not None:
        tourist_model.start()
    if emergency_model is not None:
        emergency_model.start()
    if progress is not None:
        env.process(_report_progress(env, progress, end))
    timers["setup"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    env.run(until=end)
    timers["simulate"] = time.perf_counter() - t0
    if progress is not None:
        progress(end)

    kpis: dict[str, Any] = {}
    if demand is not None:
        kpis.update(plain(roads.kpis()))
        missing = [k for k in TRAFFIC_KPIS if k not in kpis]
        if missing:
            raise TwinError(f"the traffic engine did not report the KPIs {missing}")
        for name, value in (getattr(roads, "timers", None) or {}).items():
            timers[f"traffic_{name}"] = float(value)
    else:
        notes.append(f"traffic not simulated ({spec.parts.traffic.replace('_', ' ')})")
    for part, model in (("tourists", tourist_model), ("emergency", emergency_model)):
        if model is None:
            continue
        skipped = getattr(model, "skipped", None)
        if skipped:  # one note for the part; its kinds need none of their own
            notes.append(f"{part} not simulated: {skipped}")
        else:
            for kind, reason in (getattr(model, "skipped_kinds", None) or {}).items():
                notes.append(f"{kind} incidents not simulated: {reason}")
        for key, value in model.kpis().items():
            if key in kpis:
                log.warning("KPI %r reported by %s overrides an earlier part's value", key, part)
            kpis[key] = plain(value)
    release_routes = getattr(roads, "release_routes", None)
    if release_routes is not None:
        release_routes()  # the tables below need no routes; their memory is the day's peak
    net = run_city.drive
    engine_trips = roads.trips_table() if demand is not None else None
    if engine_trips is not None:
        kpis["trips_unroutable_by_zone"] = unroutable_by_zone(engine_trips, run_city)
        lost = sum(kpis["trips_unroutable_by_zone"].values())
        if lost:
            notes.append(
                f"{lost} trips could not reach their destination (no open road): by origin "
                f"zone {kpis['trips_unroutable_by_zone']}"
            )
    if kpis.get("incidents_cut_off"):
        notes.append(
            f"{kpis['incidents_cut_off']} incidents could not be reached: no open road led to "
            "the scene"
        )
    notes.extend(world.notes)
    used = _parts_used(spec, tourist_model, emergency_model)
    notes[:0] = profile_notes(city, spec.parameters, used=used)
    if notes:
        kpis["notes"] = notes
        for note in notes:
            log.info(note)
    trips_out = trips_table(engine_trips, net) if demand is not None else no_trips()
    del engine_trips  # a city day's engine table is hundreds of MB; the links table is next
    links_out = links_table(roads.links_table(), net) if demand is not None else no_links()
    visits = tourist_model.visits_table() if tourist_model is not None else None
    incidents = None
    if emergency_model is not None:
        incidents = incidents_table(emergency_model.incidents_table(), net)
    timers["total"] = time.perf_counter() - t_begin
    manifest = build_manifest(spec, city, demand)
    return RunResult(
        spec=spec,
        trips=trips_out,
        links=links_out,
        kpis=kpis,
        manifest=manifest,
        visits=visits,
        incidents=incidents,
        timers=timers,
    )


def _parts_used(spec: RunSpec, tourist_model, emergency_model) -> set[str]:
    """The parts of the run that ran and read their parameters (for
    :func:`sim.city_profile.profile_notes`)."""
    used = set()
    if spec.parts.traffic == "simulate":
        used.add("traffic")
        if not spec.trips.sha256:
            used.add("demand")
    for part, model in (("tourists", tourist_model), ("emergency", emergency_model)):
        if model is not None and getattr(model, "skipped", None) is None:
            used.add(part)
    return used


def check_city(city: City, spec: RunSpec) -> None:
    """Refuse to run ``spec`` on a city other than the one it was made for (by checksum).

    Raises
    ------
    SpecError
        The checksums differ; the message names both cities.
    """
    checksum = city_checksum(city)
    if checksum != spec.city.checksum:
        where = f" (bundle {spec.city.bundle})" if spec.city.bundle else ""
        raise SpecError(
            f"this specification is for the city {spec.city.name!r}{where} with checksum "
            f"{spec.city.checksum[:12]}…, but the city given is {city.name!r} with checksum "
            f"{checksum[:12]}…; load the city the specification was made for, or make the "
            "specification again for this city"
        )


def _with_added_roads(city: City, spec: RunSpec) -> City:
    from twin.edits import add_roads, road_links

    new = []
    for item in spec.interventions:
        if isinstance(item, AddRoad):
            new += road_links(
                item.from_node, item.to_node, item.edge_ids, road_class=item.road_class,
                lanes=item.lanes, speed_kmh=item.speed_kmh, length_m=item.length_m,
                both_ways=item.both_ways, name=item.name, bridge=item.bridge,
            )  # fmt: skip
    # A new road takes the defaults of its class in the city's profile, as the city's own.
    return add_roads(city, new)


def _roads(env, city, spec, demand, vehicles, streams, replay):
    if spec.parts.traffic == "simulate":
        from sim.traffic.engine import Traffic

        return Traffic(
            env,
            city.drive,
            demand,
            vehicles=vehicles,
            rng=streams["traffic"],
            params=typed(spec, "traffic"),
        )
    speed_factor = {str(k): float(v) for k, v in vehicles["speed_factor"].items()}
    if spec.parts.traffic == "free_flow":
        from sim.roads import FreeFlowRoads

        return FreeFlowRoads(env, city.drive, speed_factor=speed_factor)
    from sim.emergency.coverage import HourlyRoads, hourly_link_times

    links = _replayed_links(spec, replay, city)
    hourly = hourly_link_times(city.drive, links, typed(spec, "emergency"))
    return HourlyRoads(env, city.drive, hourly, class_names=tuple(speed_factor))


def _replayed_links(spec: RunSpec, replay: RunResult | None, city: City) -> pd.DataFrame:
    """The replayed run's links table with edge positions, checked against the spec."""
    if replay is None:
        from sim.outputs import read_run

        if not spec.replay.run:
            raise SpecError("the specification replays a run but names no run folder")
        replay = read_run(spec.replay.run)
    if replay.spec.digest != spec.replay.digest:
        raise SpecError(
            f"the replayed run has digest {replay.spec.digest[:12]}…, not the "
            f"{spec.replay.digest[:12]}… the specification names; replay that run"
        )
    if replay.spec.city.checksum != spec.city.checksum:
        raise SpecError(
            f"the replayed run is of the city {replay.spec.city.name!r} (checksum "
            f"{replay.spec.city.checksum[:12]}…), not of this one; replay a run of this city"
        )
    links = replay.links
    position = pd.Series(np.arange(city.drive.n_edges), index=city.drive.edge_id)
    edges = position.reindex(links["edge_id"].to_numpy())
    keep = edges.notna().to_numpy()
    return links.loc[keep].assign(edge=edges.to_numpy()[keep].astype(np.int64))


def _station(city: City, spec: StationSpec):
    from sim.emergency.stations import Station

    hits = np.flatnonzero(city.drive.node_id == spec.node_id)
    if not len(hits):
        raise SpecError(f"station {spec.name!r}: node {spec.node_id} is not a drive node")
    return Station(spec.name, spec.unit_type, int(hits[0]), spec.units)


def _report_progress(env: simpy.Environment, progress: Callable[[float], None], end: float):
    """A SimPy process that reports the clock every :data:`PROGRESS_INTERVAL` seconds."""
    while env.now < end:
        progress(float(env.now))
        yield env.timeout(min(PROGRESS_INTERVAL, end - env.now))
