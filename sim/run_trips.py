"""The vehicle trips of a run: synthesised, given or read from a file, plus event visitors.

:func:`run_trips` gives the trips a specification names — the city's synthesised demand
for the window, or the trips table or CSV whose checksum the specification holds (checked)
— with the trips of its events (:mod:`sim.events`) added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.interventions import EventTrips
from sim.manifest import trips_checksum
from sim.parameters import typed
from sim.spec import RunSpec, SpecError
from twin.city import City

__all__ = ["run_trips"]


def _named_trips(
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


def run_trips(
    city: City,
    spec: RunSpec,
    given: pd.DataFrame | None,
    rng: np.random.Generator,
    vehicles: pd.DataFrame,
) -> pd.DataFrame:
    """The trips of a run: those the specification names (:func:`_named_trips`) and its
    events' visitors (drawn from a child of ``rng``, the demand stream, after the day's own
    trips, so those are the same with or without events).

    Raises
    ------
    SpecError
        Given or read trips are not the ones the specification names by checksum.
    TripsError
        Trips miss columns, name nodes outside the network or depart outside the window.
    """
    demand = _named_trips(city, spec, given, rng, vehicles)
    return _with_event_trips(city, spec, demand, rng, vehicles)


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
