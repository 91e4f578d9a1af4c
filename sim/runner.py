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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.interventions import AddRoad, CloseLinks, EventTrips, Intervention, StationSpec
from sim.manifest import build_manifest, trips_checksum
from sim.parameters import Layer, typed
from sim.result import RunResult
from sim.spec import RunSpec, SpecError
from twin.city import City, city_checksum
from twin.clock import format_clock
from twin.errors import TwinError

__all__ = [
    "PROGRESS_INTERVAL",
    "STREAMS",
    "TRAFFIC_KPIS",
    "run",
    "run_day",
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
    _check_city(city, spec)
    vehicles = typed(spec, "vehicles")
    run_city = _with_added_roads(city, spec)
    streams = dict(zip(STREAMS, np.random.default_rng(spec.seed).spawn(len(STREAMS)), strict=True))
    start, end = spec.window.start, spec.window.end
    timers: dict[str, float] = {}
    notes: list[str] = []

    t0 = time.perf_counter()
    demand = None
    if spec.parts.traffic == "simulate":
        demand = _trips_for(run_city, spec, trips, streams["demand"], vehicles)
        demand = _with_event_trips(run_city, spec, demand, streams["demand"], vehicles)
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
        kpis.update(_plain(roads.kpis()))
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
        if skipped:
            notes.append(f"{part} not simulated: {skipped}")
        for kind, reason in (getattr(model, "skipped_kinds", None) or {}).items():
            notes.append(f"{kind} incidents not simulated: {reason}")
        for key, value in model.kpis().items():
            if key in kpis:
                log.warning("KPI %r reported by %s overrides an earlier part's value", key, part)
            kpis[key] = _plain(value)
    net = run_city.drive
    engine_trips = roads.trips_table() if demand is not None else None
    if engine_trips is not None:
        kpis["trips_unroutable_by_zone"] = _unroutable_by_zone(engine_trips, run_city)
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
    if notes:
        kpis["notes"] = notes
        for note in notes:
            log.info(note)
    trips_out = _trips_output(engine_trips, net) if demand is not None else _no_trips()
    links_out = _links_output(roads.links_table(), net) if demand is not None else _no_links()
    visits = tourist_model.visits_table() if tourist_model is not None else None
    incidents = None
    if emergency_model is not None:
        incidents = _incidents_output(emergency_model.incidents_table(), net)
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


def _check_city(city: City, spec: RunSpec) -> None:
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
    roads = [item for item in spec.interventions if isinstance(item, AddRoad)]
    if not roads:
        return city
    from twin.build.road_classes import load_road_defaults
    from twin.edits import NewRoad, add_roads

    new = []
    for item in roads:
        ends = [(item.from_node, item.to_node)]
        if item.both_ways:
            ends.append((item.to_node, item.from_node))
        for (tail, head), edge_id in zip(ends, item.edge_ids, strict=True):
            new.append(
                NewRoad(
                    tail,
                    head,
                    edge_id,
                    item.road_class,
                    lanes=item.lanes,
                    speed_kmh=item.speed_kmh,
                    length_m=item.length_m,
                    name=item.name,
                    bridge=item.bridge,
                )
            )
    return add_roads(city, new, road_defaults=load_road_defaults())


def _trips_for(
    city: City,
    spec: RunSpec,
    given: pd.DataFrame | None,
    rng: np.random.Generator,
    vehicles: pd.DataFrame,
) -> pd.DataFrame:
    """The trips the specification names: given, read from its file, or synthesised."""
    start, end = spec.window.start, spec.window.end
    if not spec.trips.sha256:
        from twin.demand.model import synthesise_trips

        return synthesise_trips(
            city,
            seed=int(rng.integers(0, 2**63 - 1)),
            params=typed(spec, "demand"),
            vehicles=vehicles,
            scale=float(spec.parameters["demand"]["scale"]),
            start=start,
            end=end,
        )
    from twin.demand.trips import read_trips, validate_trips

    if given is not None:
        table = given
        if "trip_id" not in table.columns:
            table = table.assign(trip_id=np.arange(len(table), dtype=np.int64))
        table = validate_trips(table, city, vehicles=vehicles, start=start, end=end)
        where = "the trips given"
    elif spec.trips.path:
        table = read_trips(spec.trips.path, city, start=start, end=end, vehicles=vehicles)
        where = spec.trips.path
    else:
        raise SpecError(
            "the specification names trips by checksum only; pass the trips table with "
            "run(city, spec, trips=...)"
        )
    checksum = trips_checksum(table)
    if checksum != spec.trips.sha256:
        raise SpecError(
            f"{where} are not the trips the specification names (checksum {checksum[:12]}… "
            f"against {spec.trips.sha256[:12]}…); make the specification again for them"
        )
    return table


def _with_event_trips(
    city: City,
    spec: RunSpec,
    demand: pd.DataFrame,
    rng: np.random.Generator,
    vehicles: pd.DataFrame,
) -> pd.DataFrame:
    """The demand with the trips of the specification's events (drawn from a child of the
    demand stream, so the day's own trips are the same with or without them)."""
    events = [item for item in spec.interventions if isinstance(item, EventTrips)]
    if not events:
        return demand
    from sim.events import event_trips

    first = int(demand["trip_id"].max()) + 1 if len(demand) else 0
    extra = event_trips(
        city,
        events,
        rng=rng.spawn(1)[0],
        vehicles=vehicles,
        start=spec.window.start,
        end=spec.window.end,
        first_trip_id=first,
    )
    table = pd.concat([demand, extra], ignore_index=True)
    return table.sort_values("depart", kind="stable").reset_index(drop=True)


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


# -- outputs -----------------------------------------------------------------------------------
def _unroutable_by_zone(table: pd.DataFrame, city: City) -> dict[str, int]:
    """Demand trips that could not reach their destination, by the name of their origin's
    zone (only zones with any)."""
    lost = table[(table["source"] == "demand") & table["status"].isin(["unroutable", "stranded"])]
    if lost.empty:
        return {}
    zone = np.asarray(city.node_zone)[lost["origin"].to_numpy(np.int64)]
    names = city.zones.set_index("zone")["name"] if len(city.zones) else pd.Series(dtype=str)
    counts = pd.Series(zone).value_counts().sort_index()
    return {str(names.get(z, z)): int(n) for z, n in counts.items()}


def _trips_output(table: pd.DataFrame, net) -> pd.DataFrame:
    """The engine's demand trips in the contract's form: node ids, columns and dtypes."""
    if "source" in table.columns:
        table = table[table["source"] == "demand"]
    out = pd.DataFrame(
        {
            "trip_id": table["trip_id"].to_numpy(np.int64),
            "origin": net.node_id[table["origin"].to_numpy(dtype=np.int64)],
            "destination": net.node_id[table["destination"].to_numpy(dtype=np.int64)],
        }
    )
    for column in ("depart", "arrive", "travel_time", "distance", "delay"):
        out[column] = table[column].to_numpy(dtype=np.float64)
    out["vehicle_class"] = table["vehicle_class"].astype(str).to_numpy()
    return out


def _links_output(table: pd.DataFrame, net) -> pd.DataFrame:
    """The engine's links table keyed by stable ``edge_id`` instead of edge position."""
    out = table.rename(columns={"edge": "edge_id"})
    out["edge_id"] = net.edge_id[table["edge"].to_numpy(np.int64)]
    return out.reset_index(drop=True)


def _incidents_output(table: pd.DataFrame, net) -> pd.DataFrame:
    """Incidents with node ids for ``node`` and ``hospital`` (null: no hospital)."""
    out = table.copy()
    out["node"] = net.node_id[table["node"].to_numpy(np.int64)]
    hospital = table["hospital"].to_numpy(np.int64)
    ids = np.where(hospital >= 0, net.node_id[np.maximum(hospital, 0)], 0)
    out["hospital"] = pd.array(
        [int(v) if h >= 0 else None for v, h in zip(ids, hospital, strict=True)], dtype="Int64"
    )
    return out


def _no_trips() -> pd.DataFrame:
    from sim.records import SCHEMAS

    return SCHEMAS["trips"].empty_table().to_pandas()


def _no_links() -> pd.DataFrame:
    from sim.records import SCHEMAS

    return SCHEMAS["links"].empty_table().to_pandas()


def _plain(value: Any) -> Any:
    """numpy scalars and containers → built-in types (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# -- the keyword face --------------------------------------------------------------------------
def run_day(
    city: City,
    *,
    trips: pd.DataFrame | str | Path | None = None,
    seed: int,
    start: float | str = 0.0,
    end: float | str = 86_400.0,
    scale: float = 1.0,
    tourists: bool = True,
    emergency: bool = True,
    traffic_params: Mapping[str, Any] | None = None,
    demand_params: Mapping[str, Any] | None = None,
    tourist_params: Mapping[str, Any] | None = None,
    emergency_params: Mapping[str, Any] | None = None,
    vehicles: pd.DataFrame | None = None,
    closures: Iterable[tuple[Sequence[int], float | None]] | None = None,
    interventions: Iterable[Intervention] = (),
    extra_stations: Sequence[Any] = (),
    progress: Callable[[float], None] | None = None,
) -> RunResult:
    """Simulate a day, or the window ``[start, end)`` of one: build the specification these
    keywords describe (:func:`sim.spec_builder.build_spec`) and :func:`run` it.

    Parameters
    ----------
    city
        The city.
    trips
        A trips table (``origin``, ``destination`` as drive node positions, ``depart``,
        ``vehicle_class``, optional ``trip_id``) or a trips CSV; ``None`` synthesises the
        city's demand for the window.
    seed
        Seed of the run's random generator (``>= 0``).
    start, end
        The window, seconds after midnight or ``"HH:MM"`` (``end`` at most 48:00).
    scale
        Multiplier on synthesised demand (``demand.scale``).
    tourists, emergency
        Simulate the tourists and the emergency services beside the traffic.
    traffic_params, demand_params, tourist_params, emergency_params
        Nested overrides of each family (:mod:`sim.parameters`; unknown keys are errors).
    vehicles
        A vehicle class table to use instead of the defaults.
    closures
        Pairs ``(edges, at)``: drive edge *positions* closed to every class from ``at``
        (seconds; ``None`` from the start).
    interventions
        More interventions (:mod:`sim.interventions`).
    extra_stations
        Emergency stations added to the city's (:class:`sim.emergency.stations.Station`).
    progress
        See :func:`run`.
    """
    from sim.spec_builder import build_spec, city_stations

    layers: list[tuple[str, Layer]] = [("demand", Layer("scale", {"scale": scale}))]
    for family, values in (
        ("traffic", traffic_params),
        ("demand", demand_params),
        ("tourists", tourist_params),
        ("emergency", emergency_params),
    ):
        if values:
            layers.append((family, Layer(f"{family}_params", dict(values))))
    if vehicles is not None:
        rows = vehicles.reset_index() if "vehicle_class" not in vehicles.columns else vehicles
        layers.append(("vehicles", Layer("vehicles", rows.to_dict(orient="records"))))
    items = list(interventions)
    net = city.drive
    for k, item in enumerate(closures or ()):
        try:
            edges, at = item
        except (TypeError, ValueError):
            raise SpecError(
                f"closure #{k + 1} is {item!r}; expected a pair (edges, at) of drive edge "
                "positions and a time in seconds after midnight (or None)"
            ) from None
        edges = np.atleast_1d(np.asarray(edges, dtype=np.int64))
        bad = edges[(edges < 0) | (edges >= net.n_edges)]
        if len(bad):
            raise SpecError(
                f"closure #{k + 1} names edges {bad[:5].tolist()} outside the drive network "
                f"(0..{net.n_edges - 1}); give edge positions of city.drive"
            )
        ids = tuple(int(e) for e in net.edge_id[edges])
        items.append(CloseLinks(edges=ids, start=None if at is None else float(at)))
    stations = None
    if extra_stations:
        from sim.parameters import resolve

        emergency_data = resolve(
            "emergency", [layer for family, layer in layers if family == "emergency"]
        )
        stations = city_stations(city, emergency_data) + [
            StationSpec(s.name, s.unit_type, int(net.node_id[s.node]), s.units)
            for s in extra_stations
        ]
    given = trips if isinstance(trips, pd.DataFrame) else None
    spec = build_spec(
        city,
        seed=seed,
        start=start,
        end=end,
        tourists=tourists,
        emergency=emergency,
        overrides=layers,
        interventions=items,
        stations=stations,
        trips=trips,
    )
    return run(city, spec, trips=given, progress=progress)
