"""One simulated day (or window): traffic, tourists and emergency response on one clock.

:func:`run_day` is the Python face of ``twin run``. It builds one ``simpy.Environment``
whose clock is seconds after midnight (starting at ``start``), one
``numpy.random.Generator`` from ``seed`` that hands a child generator to each part, the
traffic engine, and (unless switched off) the tourists and the emergency services on the
same roads; runs to ``end``; and returns a :class:`RunResult` with the record tables, the
merged KPIs and a manifest. A run is a pure function of the city, its inputs and the seed.

Random streams
--------------
``np.random.default_rng(seed).spawn(4)`` gives, in this order, the generators of demand,
traffic, tourists and emergency. The order is fixed, so switching tourists off does not
change the traffic's random numbers (common random numbers across scenarios).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
import simpy

# The manifest and its checksums live in sim.manifest; the public ones stay importable here.
from sim.manifest import (
    build_manifest,
    clock_text,
    code_version,
    network_checksum,
    param_record,
    plain,
    trips_checksum,
)
from twin.city import City
from twin.errors import TwinError

__all__ = [
    "PROGRESS_INTERVAL",
    "STREAMS",
    "TRIP_COLUMNS",
    "RunError",
    "RunResult",
    "code_version",
    "network_checksum",
    "run_day",
    "trips_checksum",
]

log = logging.getLogger(__name__)

#: Names of the child random streams, in the order they are spawned from the run's seed.
STREAMS: tuple[str, ...] = ("demand", "traffic", "tourists", "emergency")
#: Simulated seconds between two calls of the ``progress`` callback.
PROGRESS_INTERVAL = 300.0
#: Columns of the per-trip table a run returns and writes (``trips.parquet``).
TRIP_COLUMNS: tuple[str, ...] = (
    "trip_id",
    "origin",
    "destination",
    "depart",
    "arrive",
    "travel_time",
    "distance",
    "delay",
    "vehicle_class",
)
#: KPI keys every run reports (traffic), whatever else ran.
TRAFFIC_KPIS: tuple[str, ...] = (
    "trips_total",
    "trips_completed",
    "trips_unfinished",
    "vehicle_km",
    "vehicle_hours",
    "mean_speed_kmh",
    "total_delay_h",
)
_DAY = 86_400.0
_LATEST = 2 * _DAY  # a window may run past midnight, into the next morning


class RunError(TwinError, ValueError):
    """A run was asked for with bad settings (window, scale, closures)."""


@dataclass(frozen=True, eq=False)
class RunResult:
    """What a run produced.

    Attributes
    ----------
    trips
        One row per vehicle trip, columns :data:`TRIP_COLUMNS`: ``origin`` and
        ``destination`` are the drive network's node ids (OSM ids for Huế, the ids a trips
        CSV uses); ``depart``, ``arrive`` are seconds after midnight (``arrive`` NaN for
        unfinished trips); ``travel_time``, ``delay`` seconds; ``distance`` metres.
    links
        Per drive edge (position in ``city.drive``) per interval: ``edge``,
        ``interval_start`` (s), ``entries``, ``mean_speed_kmh``, ``density_pcu_per_km``,
        ``queue_pcu``.
    visits, incidents
        Tourist visits and emergency incidents (``None`` when that part did not run).
    kpis
        Traffic KPIs plus, when they ran, the tourists' and the emergency services' KPIs.
    manifest
        City checksum, parameters, seed, window, code version and creation time.
    timers
        Wall-clock seconds spent: ``demand``, ``setup``, ``simulate``, ``total`` and any
        timers the traffic engine reports (``traffic_<name>``).
    """

    trips: pd.DataFrame
    links: pd.DataFrame
    kpis: dict[str, Any]
    manifest: dict[str, Any]
    visits: pd.DataFrame | None = None
    incidents: pd.DataFrame | None = None
    timers: dict[str, float] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The record tables that exist, by output name (``"trips"``, ``"links"``, …)."""
        out = {"trips": self.trips, "links": self.links}
        if self.visits is not None:
            out["visits"] = self.visits
        if self.incidents is not None:
            out["incidents"] = self.incidents
        return out


# -- the run -----------------------------------------------------------------------------------
def run_day(
    city: City,
    *,
    trips: pd.DataFrame | None = None,
    seed: int,
    start: float = 0.0,
    end: float = _DAY,
    scale: float = 1.0,
    tourists: bool = True,
    emergency: bool = True,
    traffic_params: Mapping[str, Any] | None = None,
    demand_params: Mapping[str, Any] | None = None,
    tourist_params: Mapping[str, Any] | None = None,
    emergency_params: Mapping[str, Any] | None = None,
    vehicles: pd.DataFrame | None = None,
    closures: Iterable[tuple[Sequence[int], float | None]] | None = None,
    progress: Callable[[float], None] | None = None,
    trips_source: str | None = None,
    extra_stations: Sequence[Any] = (),
) -> RunResult:
    """Simulate a day, or the window ``[start, end)`` of one, on ``city``.

    Parameters
    ----------
    city
        The city (``twin.build.pipeline.default_city()``, ``twin.bundle.read_bundle(path)``,
        or a synthetic one).
    trips
        Vehicle trips (``trip_id``, ``origin``, ``destination`` as drive node positions,
        ``depart`` in seconds after midnight, ``vehicle_class``), e.g. from
        ``twin.demand.trips.read_trips``. ``None`` synthesises the city's demand for the window.
    seed
        Seed of the run's random generator; the same seed gives the same outputs.
    start, end
        The simulated window, seconds after midnight (``end`` at most 48 h). Trips must
        depart inside it; those still travelling at ``end`` are reported unfinished.
    scale
        Multiplier on synthesised demand (ignored when ``trips`` is given).
    tourists, emergency
        Simulate the tourists and the emergency services beside the traffic.
    traffic_params, demand_params, tourist_params, emergency_params
        Parameter overrides handed to each part (see their modules for the keys).
    vehicles
        Vehicle class table (``twin.vehicles.load_vehicle_classes()`` by default).
    closures
        Road closures: pairs ``(edges, at)`` of drive edge positions and the time they
        close (seconds after midnight; ``None`` for closed from the start).
    progress
        Called with the simulated clock (seconds after midnight) every
        :data:`PROGRESS_INTERVAL` simulated seconds and once at the end.
    trips_source
        What the trips came from (a file path), for the manifest.
    extra_stations
        Emergency stations added to the city's (``sim.emergency.model.Station``), e.g. the
        proposal of ``twin site`` being checked by simulation.

    Returns
    -------
    RunResult

    Raises
    ------
    RunError
        The window is empty or outside ``[0, 48 h]``, or ``scale`` is not positive.
    TripsError
        Given trips miss columns, name nodes outside the network or depart outside the window.
    """
    from twin.vehicles import load_vehicle_classes

    t_begin = time.perf_counter()
    start, end = _check_window(start, end)
    if not (scale > 0 and math.isfinite(scale)):
        raise RunError(f"scale must be a positive number, got {scale!r}; use e.g. 0.1 or 1.0")
    closures = _check_closures(closures, city.drive.n_edges)
    vehicles = load_vehicle_classes() if vehicles is None else vehicles
    streams = dict(zip(STREAMS, np.random.default_rng(seed).spawn(len(STREAMS)), strict=True))
    timers: dict[str, float] = {}

    t0 = time.perf_counter()
    demand_scale = scale if trips is None else 1.0  # the crash model's vehicle-km factor
    if trips is None:
        from twin.demand.model import synthesise_trips

        trips = synthesise_trips(
            city,
            seed=_child_seed(streams["demand"]),
            params=_params(demand_params),
            vehicles=vehicles,
            scale=scale,
            start=start,
            end=end,
        )
        trips_source = trips_source or "synthesised"
    else:
        trips = _check_trips(trips, city, start, end, vehicles)
        trips_source = trips_source or "given"
    timers["demand"] = time.perf_counter() - t0
    log.info("%d trips (%s) in %.1f s", len(trips), trips_source, timers["demand"])

    t0 = time.perf_counter()
    env = simpy.Environment(initial_time=start)
    from sim.traffic.engine import Traffic

    traffic = Traffic(
        env,
        city.drive,
        trips,
        vehicles=vehicles,
        rng=streams["traffic"],
        params=_params(traffic_params),
    )
    for edges, at in closures:
        traffic.close_edges(edges, at=at)
    tourist_model = emergency_model = None
    if tourists:
        from sim.tourists.model import Tourists

        tourist_model = Tourists(
            env,
            city,
            traffic,
            rng=streams["tourists"],
            params=_params(tourist_params),
        )
    if emergency:
        from sim.emergency.model import Emergency

        emergency_model = Emergency(
            env,
            city,
            traffic,
            rng=streams["emergency"],
            params=_emergency_params(emergency_params, demand_scale),
            tourists=tourist_model,
            extra_stations=tuple(extra_stations),
        )
    traffic.start(end)
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

    kpis = _merge_kpis(
        traffic.kpis(),
        tourist_model.kpis() if tourist_model is not None else None,
        emergency_model.kpis() if emergency_model is not None else None,
    )
    trips_out = _trips_output(traffic.trips_table(), city)
    links_out = traffic.links_table()
    visits = tourist_model.visits_table() if tourist_model is not None else None
    incidents = emergency_model.incidents_table() if emergency_model is not None else None
    for name, value in (getattr(traffic, "timers", None) or {}).items():
        timers[f"traffic_{name}"] = float(value)
    timers["total"] = time.perf_counter() - t_begin

    manifest = build_manifest(
        city,
        trips,
        seed=seed,
        start=start,
        end=end,
        scale=scale,
        tourists=tourists,
        emergency=emergency,
        params={
            "traffic": param_record(traffic_params),
            "demand": param_record(demand_params),
            "tourists": param_record(tourist_params),
            "emergency": param_record(emergency_params),
        },
        closures=closures,
        trips_source=trips_source,
        vehicles=vehicles,
    )
    if extra_stations:
        manifest["extra_stations"] = [
            plain(asdict(s)) if is_dataclass(s) else str(s) for s in extra_stations
        ]
    return RunResult(
        trips=trips_out,
        links=links_out,
        kpis=kpis,
        manifest=manifest,
        visits=visits,
        incidents=incidents,
        timers=timers,
    )


def _report_progress(env: simpy.Environment, progress: Callable[[float], None], end: float):
    """A SimPy process that reports the clock every :data:`PROGRESS_INTERVAL` seconds."""
    while env.now < end:
        progress(float(env.now))
        yield env.timeout(min(PROGRESS_INTERVAL, end - env.now))


def _params(value: Any) -> Any:
    """Overrides as a part expects them: a plain dict for a mapping, else as given
    (a parameters dataclass, a path) or ``None``."""
    if value is None:
        return None
    return dict(value) if isinstance(value, Mapping) else value


def _emergency_params(value: Any, traffic_scale: float) -> Any:
    """Emergency overrides that tell the crash model the demand's scale: crashes follow the
    simulated vehicle-km, which a scaled-down demand undercounts by that factor. A value the
    caller set, a parameters dataclass or a path is left as given."""
    if value is not None and not isinstance(value, Mapping):
        return value
    overrides = dict(value or {})
    demand = dict(overrides.get("demand", {}))
    demand.setdefault("traffic_scale", traffic_scale)
    overrides["demand"] = demand
    return overrides


def _child_seed(rng: np.random.Generator) -> int:
    """An integer seed drawn from a child generator, for functions that take ``seed``."""
    return int(rng.integers(0, 2**63 - 1))


# -- checks ------------------------------------------------------------------------------------
def _check_window(start: float, end: float) -> tuple[float, float]:
    try:
        start, end = float(start), float(end)
    except (TypeError, ValueError) as exc:
        raise RunError(
            f"the window must be two numbers of seconds after midnight, got {start!r} and {end!r}"
        ) from exc
    if not (0.0 <= start < _LATEST and 0.0 < end <= _LATEST):
        raise RunError(
            f"the window {start:g}..{end:g} s must lie within 0..{_LATEST:g} s after midnight "
            "(00:00 to 48:00); pass start and end as seconds after midnight"
        )
    if end <= start:
        raise RunError(
            f"the window ends ({clock_text(end)}) before it starts ({clock_text(start)}); "
            "give an end later than the start"
        )
    return start, end


def _check_closures(closures, n_edges: int) -> list[tuple[np.ndarray, float | None]]:
    out = []
    for k, item in enumerate(closures or ()):
        try:
            edges, at = item
        except (TypeError, ValueError) as exc:
            raise RunError(
                f"closure #{k + 1} is {item!r}; expected a pair (edges, at) of drive edge "
                "positions and a time in seconds after midnight (or None)"
            ) from exc
        edges = np.atleast_1d(np.asarray(edges, dtype=np.int64))
        bad = edges[(edges < 0) | (edges >= n_edges)]
        if len(bad):
            raise RunError(
                f"closure #{k + 1} names edges {bad[:5].tolist()} outside the drive network "
                f"(0..{n_edges - 1}); give edge positions of city.drive"
            )
        out.append((edges, None if at is None else float(at)))
    return out


def _check_trips(
    trips: pd.DataFrame, city: City, start: float, end: float, vehicles: pd.DataFrame
) -> pd.DataFrame:
    """Validate given trips against the contract, the city and the window
    (:func:`twin.demand.trips.validate_trips`); a missing ``trip_id`` becomes ``0..N-1``."""
    from twin.demand.trips import validate_trips

    if "trip_id" not in trips.columns:
        trips = trips.assign(trip_id=np.arange(len(trips), dtype=np.int64))
    return validate_trips(trips, city, vehicles=vehicles, start=start, end=end)


# -- results -----------------------------------------------------------------------------------
def _trips_output(table: pd.DataFrame, city: City) -> pd.DataFrame:
    """The engine's trip table in the output form: node ids, contract columns and dtypes."""
    node_id = city.drive.node_id
    out = pd.DataFrame(
        {
            "trip_id": table["trip_id"].to_numpy(),
            "origin": node_id[table["origin"].to_numpy(dtype=np.int64)],
            "destination": node_id[table["destination"].to_numpy(dtype=np.int64)],
        }
    )
    for column in ("depart", "arrive", "travel_time", "distance", "delay"):
        out[column] = table[column].to_numpy(dtype=np.float64)
    out["vehicle_class"] = table["vehicle_class"].astype(str).to_numpy()
    return out[list(TRIP_COLUMNS)]


def _merge_kpis(traffic: Mapping, tourists: Mapping | None, emergency: Mapping | None) -> dict:
    """One flat KPI dict: the traffic's, then the tourists' and the emergency services'."""
    merged: dict[str, Any] = {}
    for part, kpis in (("traffic", traffic), ("tourists", tourists), ("emergency", emergency)):
        if kpis is None:
            continue
        for key, value in kpis.items():
            if key in merged:
                log.warning("KPI %r reported by %s overrides an earlier part's value", key, part)
            merged[key] = plain(value)
    missing = [k for k in TRAFFIC_KPIS if k not in merged]
    if missing:
        raise TwinError(f"the traffic engine did not report the KPIs {missing}")
    return merged
