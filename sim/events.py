"""Trips of event visitors: the demand an ``event_trips`` intervention adds to a run.

Visitors come from homes drawn in proportion to residents (:func:`residents_by_node`),
by vehicles of the run's mix (drawn by the classes' ``share``), each carrying
``persons_per_vehicle`` visitors. A vehicle arrives during the hour before the event and
leaves during the hour after it, so the trips to the place depart up to an hour earlier
(their travel time is what the traffic makes it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.emergency.incidents import residents_by_node
from sim.interventions import EventTrips
from twin.city import City

__all__ = ["event_trips"]

#: Seconds before an event its visitors set out, and after it they go home (at most).
SPREAD_S = 3600.0


def event_trips(
    city: City,
    events: Sequence[EventTrips],
    *,
    rng: np.random.Generator,
    vehicles: pd.DataFrame,
    start: float,
    end: float,
    first_trip_id: int,
) -> pd.DataFrame:
    """The trips of ``events`` in the window ``[start, end)``.

    Returns
    -------
    ``trip_id`` (from ``first_trip_id``), ``origin``, ``destination`` (drive node
    positions), ``depart`` (seconds after midnight), ``vehicle_class``.
    """
    columns = ("trip_id", "origin", "destination", "depart", "vehicle_class")
    frames = []
    weights = residents_by_node(city)
    if not weights.sum() > 0:
        weights = np.ones(city.drive.n_nodes)
    p_home = weights / weights.sum()
    shares = vehicles["share"].to_numpy(float)
    classes = np.asarray(vehicles.index.astype(str))
    position = {int(n): i for i, n in enumerate(city.drive.node_id.tolist())}
    for event in events:
        place = position[event.node_id]
        n = round(event.visitors / event.persons_per_vehicle)
        homes = rng.choice(city.drive.n_nodes, size=n, p=p_home)
        kinds = rng.choice(classes, size=n, p=shares / shares.sum())
        there = rng.uniform(max(start, event.start - SPREAD_S), event.start, size=n)
        back = rng.uniform(event.until, min(end, event.until + SPREAD_S), size=n)
        go = there >= start
        home = back < end
        stop = np.full(n, place)
        if event.drop_nodes:
            stop = _nearest(city, homes, [position[d] for d in event.drop_nodes])
        frames.append(
            pd.DataFrame(
                {
                    "origin": np.concatenate([homes[go], stop[home]]),
                    "destination": np.concatenate([stop[go], homes[home]]),
                    "depart": np.concatenate([there[go], back[home]]),
                    "vehicle_class": np.concatenate([kinds[go], kinds[home]]),
                }
            )
        )
    if not frames:
        return pd.DataFrame({c: [] for c in columns})
    table = pd.concat(frames, ignore_index=True)
    table = table[table["origin"] != table["destination"]].sort_values("depart", kind="stable")
    table.insert(0, "trip_id", first_trip_id + np.arange(len(table), dtype=np.int64))
    return table.reset_index(drop=True).loc[:, list(columns)]


def _nearest(city: City, nodes: np.ndarray, candidates: list[int]) -> np.ndarray:
    """For each drive node position in ``nodes``, the nearest of ``candidates`` (drive node
    positions) in a straight line (the first of equals)."""
    net = city.drive
    cand = np.asarray(candidates, dtype=np.int64)
    dx = net.x[nodes][:, None] - net.x[cand][None, :]
    dy = net.y[nodes][:, None] - net.y[cand][None, :]
    return cand[np.argmin(np.hypot(dx, dy), axis=1)]
