"""Making a run specification for a city: parameters resolved, stations listed, references checked.

:func:`build_spec` is how every caller makes a :class:`~sim.spec.RunSpec`: ``twin run``'s
flags, the Python keywords of :func:`sim.run_day.run_day`, scenarios, coverage and siting.
It resolves the parameter families from their defaults, the city's profile (the first layer,
:func:`sim.city_profile.profile_layers`) and the overrides given (with ``--set``-style
assignments), lists the city's emergency stations with their units, gives
new roads their stable edge ids, checks that every intervention names edges, stations and
vehicle classes the city has, and takes the checksums of the city and of a trips file.

:func:`closure_from_text` reads ``twin run --close "ROAD@HH:MM[-HH:MM]"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.city_profile import profile_layers
from sim.interventions import (
    LATEST,
    AddRoad,
    AddStation,
    ChangeLinks,
    CloseLinks,
    EventTrips,
    Intervention,
    MoveStation,
    RemoveStation,
    SetStationUnits,
    StationSpec,
)
from sim.parameters import Layer, assignment, resolve_all
from sim.result import RunResult
from sim.spec import CityRef, Parts, ReplaySource, RunSpec, SpecError, TripsSource, Window
from twin.city import City, city_checksum
from twin.clock import parse_clock
from twin.network import stable_edge_ids

__all__ = ["build_spec", "city_stations", "closure_from_text", "file_sha256"]


def build_spec(
    city: City,
    *,
    seed: int = 0,
    start: float | str = 0.0,
    end: float | str = 86_400.0,
    traffic: str = "simulate",
    tourists: bool = True,
    emergency: bool = True,
    overrides: Iterable[tuple[str, Layer]] = (),
    settings: Sequence[str] = (),
    interventions: Iterable[Intervention] = (),
    stations: Sequence[StationSpec] | None = None,
    trips: str | Path | pd.DataFrame | None = None,
    replay: str | Path | RunResult | None = None,
    bundle: str | Path | None = None,
) -> RunSpec:
    """The specification of a run of ``city``.

    Parameters
    ----------
    city
        The city the run is for (its content checksum goes into the specification).
    seed
        Seed of the run's random generator (``>= 0``).
    start, end
        The window: seconds after midnight or ``"HH:MM[:SS]"`` (``end`` up to 48:00).
    traffic, tourists, emergency
        Which parts run (:class:`~sim.spec.Parts`).
    overrides
        ``(family, Layer)`` overrides of the parameters, applied in order after the city's
        profile (:func:`sim.city_profile.profile_layers`).
    settings
        ``"family.key=value"`` assignments (``twin run --set``), applied after
        ``overrides``, with the source ``--set``.
    interventions
        What changes during the run; :class:`~sim.interventions.AddRoad` gets its edge ids.
    stations
        The emergency stations; ``None`` for the city's hospitals (ambulances) and fire
        stations (fire engines) with the units per station of the emergency parameters.
    trips
        A trips CSV, or a trips table (``origin``, ``destination`` as drive node positions,
        ``depart``, ``vehicle_class``, optional ``trip_id``), to run instead of synthesised
        demand; the trips are checked against the city and the window and their checksum
        goes into the specification.
    replay
        The run whose link times to replay (``traffic="replay"``): its folder, or the run
        in memory (then :func:`sim.runner.run` needs it too, as ``replay=``).
    bundle
        The ``.twin`` file ``city`` was loaded from (``None``: the default city).

    Raises
    ------
    SpecError, ConfigError
        A bad window or seed, unknown or bad parameters, or an intervention that names an
        edge, station, node or vehicle class the city does not have.
    """
    window = Window(
        parse_clock(start, what="start", error=SpecError, latest=LATEST),
        parse_clock(end, what="end", error=SpecError, latest=LATEST),
    )
    layers = [*profile_layers(city), *overrides]
    for text in settings:
        family, values = assignment(text)
        layers.append((family, Layer("--set", values)))
    parameters = resolve_all(layers)
    trips_source = TripsSource()
    if trips is not None:
        trips_source = _trips_source(city, trips, window, parameters["vehicles"])
    _derive_traffic_scale(parameters, layers, synthesised=trips is None)
    replay_source = ReplaySource()
    if isinstance(replay, RunResult):
        replay_source = ReplaySource("", replay.spec.digest)
    elif replay is not None:
        replay_source = ReplaySource(str(replay), _run_digest(Path(replay)))
    if stations is None:
        stations = city_stations(city, parameters["emergency"])
    checked = tuple(_checked(city, parameters, stations, interventions))
    return RunSpec(
        city=CityRef(city.name, city_checksum(city), "" if bundle is None else str(bundle)),
        window=window,
        seed=seed,
        parts=Parts(traffic=traffic, tourists=tourists, emergency=emergency),
        parameters=parameters,
        stations=tuple(stations),
        interventions=checked,
        trips=trips_source,
        replay=replay_source,
    )


def _derive_traffic_scale(
    parameters: dict[str, Any], layers: list[tuple[str, Layer]], *, synthesised: bool
) -> None:
    """Crashes follow simulated vehicle-km, which a scaled demand undercounts: unless set
    explicitly, the emergency parameters' ``traffic_scale`` is the demand's scale
    (1 for trips from a file, which are taken as the real traffic)."""
    explicit = any(
        family == "emergency" and "traffic_scale" in layer.values.get("demand", {})
        for family, layer in layers
    )
    if not explicit:
        scale = parameters["demand"]["scale"] if synthesised else 1.0
        parameters["emergency"]["demand"]["traffic_scale"] = float(scale)


def city_stations(city: City, emergency: Mapping[str, Any]) -> list[StationSpec]:
    """The city's hospitals and fire stations as stations of a specification, named and with
    the units per station of the emergency parameters as
    :func:`sim.emergency.stations.city_stations` gives them (node ids instead of positions)."""
    from sim.emergency.params import params_from_dict
    from sim.emergency.stations import city_stations as emergency_stations

    params = params_from_dict(dict(emergency), where="emergency parameters")
    node_id = city.drive.node_id
    return [
        StationSpec(s.name, s.unit_type, int(node_id[s.node]), s.units)
        for s in emergency_stations(city, params)
    ]


def _checked(
    city: City,
    parameters: Mapping[str, Any],
    stations: Sequence[StationSpec],
    interventions: Iterable[Intervention],
) -> Iterable[Intervention]:
    """Each intervention checked against the city (new roads get their edge ids)."""
    net = city.drive
    edge_ids = set(net.edge_id.tolist())
    node_ids = set(net.node_id.tolist())
    classes = [v["vehicle_class"] for v in parameters["vehicles"]]
    names = {s.name for s in stations}
    for s in stations:
        if s.node_id not in node_ids:
            raise SpecError(f"station {s.name!r} stands at node {s.node_id}, not a drive node")
    for k, item in enumerate(interventions):
        where = f"intervention {k + 1} ({item.kind}{': ' + item.label if item.label else ''})"
        unknown = [c for c in item.classes if c not in classes]
        if unknown:
            raise SpecError(
                f"{where}: vehicle classes {unknown} unknown; the classes are {classes}"
            )
        if isinstance(item, AddRoad):
            for name in ("from_node", "to_node"):
                if getattr(item, name) not in node_ids:
                    raise SpecError(
                        f"{where}: {name} {getattr(item, name)} is not a drive node id of "
                        f"{city.name}"
                    )
            if item.road_class not in net.road_classes:
                raise SpecError(
                    f"{where}: road_class {item.road_class!r} is not one of the city's "
                    f"{list(net.road_classes)}"
                )
            if not item.edge_ids:
                ends = [(item.from_node, item.to_node)]
                if item.both_ways:
                    ends.append((item.to_node, item.from_node))
                ids = stable_edge_ids(
                    np.array([u for u, _ in ends]),
                    np.array([v for _, v in ends]),
                    namespace="added",
                )
                item = replace(item, edge_ids=tuple(int(i) for i in ids))
            edge_ids.update(item.edge_ids)
        elif isinstance(item, CloseLinks | ChangeLinks):
            missing = [e for e in item.edges if e not in edge_ids]
            if missing:
                raise SpecError(
                    f"{where}: edges {missing[:5]} are not edge ids of {city.name}'s drive "
                    "network (ids are the links' stable edge_id, as in links.parquet)"
                )
        elif isinstance(item, AddStation):
            if item.station.node_id not in node_ids:
                raise SpecError(f"{where}: node {item.station.node_id} is not a drive node id")
            names.add(item.station.name)
        elif isinstance(item, RemoveStation | MoveStation | SetStationUnits):
            if item.name not in names:
                raise SpecError(
                    f"{where}: no station named {item.name!r}; the stations are "
                    f"{sorted(names)[:10]}"
                )
            if isinstance(item, MoveStation) and item.node_id not in node_ids:
                raise SpecError(f"{where}: node {item.node_id} is not a drive node id")
        elif isinstance(item, EventTrips):
            for node in (item.node_id, *item.drop_nodes):
                if node not in node_ids:
                    raise SpecError(f"{where}: node {node} is not a drive node id")
        yield item


def closure_from_text(city: City, text: str, *, window: Window) -> CloseLinks:
    """``"ROAD"``, ``"ROAD@HH:MM"`` or ``"ROAD@HH:MM-HH:MM"`` → a closure of every drive link
    of the road (OSM name or way id, :func:`twin.road_lookup.find_road`) from that time (the
    window's start when none) until the second time (the end when none).

    Raises
    ------
    RoadNotFoundError, SpecError
        An empty or unknown road, or times that cannot be read.
    """
    from twin.road_lookup import find_road

    road, at, times = text.rpartition("@") if "@" in text else (text, "", "")
    start, until = window.start, None
    if at:
        first, dash, second = times.partition("-")
        what = f"--close {text!r}"
        start = parse_clock(first, what=what, error=SpecError, latest=LATEST)
        if dash:
            until = parse_clock(second, what=what, error=SpecError, latest=LATEST)
            if until <= start:
                raise SpecError(
                    f"{what}: the closure ends at {second} before it starts at {first}; write "
                    "ROAD@FROM-UNTIL with UNTIL later than FROM"
                )
    positions = find_road(city.drive, road)
    edges = tuple(int(e) for e in city.drive.edge_id[positions])
    return CloseLinks(edges=edges, start=start, until=until, label=road.strip())


def _trips_source(
    city: City, trips: str | Path | pd.DataFrame, window: Window, vehicles: list[dict[str, Any]]
) -> TripsSource:
    from sim.manifest import trips_checksum
    from twin.demand.trips import read_trips, validate_trips
    from twin.vehicles import vehicle_table

    table_of_classes = vehicle_table(vehicles, where="vehicles")
    if isinstance(trips, pd.DataFrame):
        table = trips
        if "trip_id" not in table.columns:
            table = table.assign(trip_id=np.arange(len(table), dtype=np.int64))
        table = validate_trips(
            table, city, vehicles=table_of_classes, start=window.start, end=window.end
        )
        return TripsSource("", trips_checksum(table))
    table = read_trips(trips, city, start=window.start, end=window.end, vehicles=table_of_classes)
    return TripsSource(str(trips), trips_checksum(table))


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    from twin.build.osm import file_sha256 as sha

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path} does not exist or is not a file")
    return sha(path)


def _run_digest(run_dir: Path) -> str:
    manifest = run_dir / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        digest = data["digest"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpecError(
            f"{run_dir} is not a run folder with a readable manifest.json ({exc}); give a "
            "folder written by `twin run -o RUN_DIR`"
        ) from None
    if not isinstance(digest, str):
        raise SpecError(f"{manifest}: digest {digest!r} is not a digest")
    return digest
