"""Running a day from keywords: :func:`run_day` builds the specification they describe and
runs it (:func:`sim.runner.run`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.interventions import CloseLinks, Intervention, StationSpec
from sim.parameters import Layer
from sim.result import RunResult
from sim.runner import run
from sim.spec import SpecError
from twin.city import City

__all__ = ["run_day"]


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
        from sim.city_profile import profile_layers
        from sim.parameters import resolve

        emergency_data = resolve(
            "emergency",
            [layer for family, layer in [*profile_layers(city), *layers] if family == "emergency"],
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
