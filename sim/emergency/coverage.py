"""Travel times from stations and the share of residents they reach in time, by hour.

A simulated day's links table gives each link's congested travel time per interval
(length / mean speed; free flow where no vehicle entered). :func:`hourly_link_times` turns
it into emergency vehicles' times for each hour of the day (with the emergency-vehicle
advantage of :class:`sim.emergency.params.EmergencyParams`), :func:`coverage_by_hour` and
:func:`coverage_by_zone` give the share of residents within ``T`` minutes of the nearest
station, and :class:`HourlyRoads` replays those times as the roads of an emergency-only run.

Shortest paths use :class:`sim.emergency.travel.RoadGraph`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import simpy

from sim.emergency.incidents import residents_by_node
from sim.emergency.params import EmergencyParams
from sim.emergency.travel import RoadGraph
from sim.roads import FreeFlowRoads
from twin.city import City
from twin.errors import ConfigError
from twin.network import Network

logger = logging.getLogger(__name__)


# -- congested times from a links table -----------------------------------------------------
def hourly_link_times(
    network: Network,
    links: pd.DataFrame | None,
    params: EmergencyParams,
    *,
    emergency: bool = True,
) -> np.ndarray:
    """Link times for each hour of the day from a simulated day's links table.

    Parameters
    ----------
    network
        The drive network the links table refers to (``edge`` = edge position).
    links
        Columns ``edge``, ``interval_start`` (s after midnight), ``entries`` and
        ``mean_speed_kmh``; ``None`` for free flow all day.
    params
        Emergency parameters (the emergency-vehicle advantage).
    emergency
        Apply the emergency-vehicle advantage (``False``: a car's times).

    Returns
    -------
    ``float64[24, n_edges]``, seconds. Within an hour a link's car time is the
    entries-weighted mean over its intervals of ``length / mean speed``; free flow where no
    vehicle entered (or the mean speed is missing).
    """
    free = network.free_flow_time
    car = np.tile(free, (24, 1))
    if links is not None and len(links):
        if "edge" not in links.columns and "edge_id" in links.columns:
            links = links.assign(edge=_positions(network, links["edge_id"].to_numpy(np.int64)))
        missing = {"edge", "interval_start", "entries", "mean_speed_kmh"} - set(links.columns)
        if missing:
            raise ConfigError(
                f"links table lacks columns {sorted(missing)}; expected the links table of a "
                "run (edge_id, interval_start, entries, mean_speed_kmh, ...)"
            )
        edge = links["edge"].to_numpy(np.int64)
        if len(edge) and (edge.min() < 0 or edge.max() >= network.n_edges):
            raise ConfigError(
                f"links table names edges up to {edge.max()} but the city has "
                f"{network.n_edges}; use the run made on this city"
            )
        hour = (links["interval_start"].to_numpy(float) // 3600).astype(np.int64) % 24
        entries = links["entries"].to_numpy(float)
        speed = links["mean_speed_kmh"].to_numpy(float) / 3.6
        ok = (entries > 0) & np.isfinite(speed) & (speed > 0)
        t = np.where(ok, network.length[edge] / np.where(ok, speed, 1.0), 0.0)
        cell = hour[ok] * network.n_edges + edge[ok]
        size = 24 * network.n_edges
        weight = np.bincount(cell, weights=entries[ok], minlength=size)
        total = np.bincount(cell, weights=(t * entries)[ok], minlength=size)
        seen = weight > 0
        flat = car.ravel()
        flat[seen] = total[seen] / weight[seen]
        car = flat.reshape(24, network.n_edges)
    if not emergency:
        return car
    return params.emergency_link_times(free[None, :], car)


def _positions(network: Network, edge_ids: np.ndarray) -> np.ndarray:
    """Edge positions of stable edge ids; ids the network lacks are an error."""
    order = np.argsort(network.edge_id, kind="stable")
    found = np.searchsorted(network.edge_id, edge_ids, sorter=order)
    found = np.minimum(found, len(order) - 1)
    positions = order[found]
    bad = network.edge_id[positions] != edge_ids
    if bad.any():
        raise ConfigError(
            f"the links table names {int(bad.sum())} edge ids this city's drive network does "
            f"not have (e.g. {int(edge_ids[bad][0])}); use a run made on this city"
        )
    return positions


def planning_link_times(hourly_times: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One set of link times for a whole day: the hours' times averaged with ``weights``
    (e.g. the call profile, so busy hours count more), seconds."""
    hourly_times = np.atleast_2d(np.asarray(hourly_times, dtype=float))
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(hourly_times),) or w.sum() <= 0:
        raise ConfigError(f"need one non-negative weight per hour with a positive sum; got {w}")
    return (w[:, None] * hourly_times).sum(axis=0) / w.sum()


# -- coverage ---------------------------------------------------------------------------------
def station_times(
    network: Network, hourly_times: np.ndarray, station_nodes: Sequence[int]
) -> np.ndarray:
    """``float64[24, n_nodes]``: seconds from the nearest station to each node, by hour."""
    graph = RoadGraph(network)
    hourly_times = np.atleast_2d(hourly_times)
    return np.vstack([graph.times_from(w, station_nodes, min_only=True) for w in hourly_times])


def coverage_by_hour(
    city: City,
    hourly_times: np.ndarray,
    station_nodes: Sequence[int],
    *,
    minutes: float = 8.0,
    population: np.ndarray | None = None,
) -> pd.DataFrame:
    """Share of residents within ``minutes`` of the nearest station, for each hour.

    Parameters
    ----------
    city
        The city (drive network and buildings).
    hourly_times
        ``float64[24, n_edges]`` link times (see :func:`hourly_link_times`), seconds.
    station_nodes
        Drive nodes of the stations.
    minutes
        The time standard, minutes.
    population
        Residents per drive node; ``None`` for :func:`sim.emergency.incidents.residents_by_node`.

    Returns
    -------
    DataFrame with ``hour``, ``share`` (0-1), ``covered`` and ``population`` (residents).
    """
    pop, within = _within_standard(city, hourly_times, station_nodes, minutes, population)
    covered = within @ pop
    total = float(pop.sum())
    return pd.DataFrame(
        {
            "hour": np.arange(len(within)),
            "share": covered / total if total > 0 else np.zeros(len(within)),
            "covered": covered,
            "population": total,
        }
    )


def coverage_by_zone(
    city: City,
    hourly_times: np.ndarray,
    station_nodes: Sequence[int],
    *,
    minutes: float = 8.0,
    population: np.ndarray | None = None,
) -> pd.DataFrame:
    """The map-ready table: share of each zone's residents covered, by hour.

    Returns
    -------
    DataFrame with ``zone``, ``name``, ``hour``, ``share`` (0-1; NaN for an empty zone),
    ``covered`` and ``population``.
    """
    pop, within = _within_standard(city, hourly_times, station_nodes, minutes, population)
    nz = len(city.zones)
    zone = np.asarray(city.node_zone, dtype=np.int64)
    zone_pop = np.bincount(zone, weights=pop, minlength=nz)[:nz]
    names = city.zones["name"].to_numpy() if "name" in city.zones else np.arange(nz).astype(str)
    frames = []
    for hour, row in enumerate(within):
        covered = np.bincount(zone, weights=pop * row, minlength=nz)[:nz]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(zone_pop > 0, covered / zone_pop, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "zone": np.arange(nz),
                    "name": names,
                    "hour": hour,
                    "share": share,
                    "covered": covered,
                    "population": zone_pop,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _within_standard(
    city: City,
    hourly_times: np.ndarray,
    station_nodes: Sequence[int],
    minutes: float,
    population: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Residents per drive node and ``bool[24, n_nodes]``: is the node within ``minutes``
    of the nearest station in that hour (what both coverage tables count)."""
    _check_minutes(minutes)
    pop = residents_by_node(city) if population is None else np.asarray(population, float)
    times = station_times(city.drive, hourly_times, station_nodes)
    return pop, times <= minutes * 60.0


def _check_minutes(minutes: float) -> None:
    if not np.isfinite(minutes) or minutes <= 0:
        raise ConfigError(f"the time standard must be a positive number of minutes; got {minutes}")


# -- a Roads that replays recorded congestion --------------------------------------------------
class HourlyRoads(FreeFlowRoads):
    """Roads whose link times follow a recorded day hour by hour (no vehicles simulated).

    Each vehicle takes the fastest path by the times of the hour it departs in and keeps
    that hour's times for the whole drive. Used to test stations against a day's congestion
    without re-running the traffic.

    Parameters
    ----------
    env
        The run's environment.
    network
        The drive network.
    hourly_times
        ``float64[24, n_edges]`` emergency-vehicle link times (:func:`hourly_link_times`).
    """

    def __init__(
        self,
        env: simpy.Environment,
        network: Network,
        hourly_times: np.ndarray,
        *,
        class_names: tuple[str, ...] = ("emergency",),
    ) -> None:
        hourly_times = np.asarray(hourly_times, dtype=float)
        if hourly_times.shape != (24, network.n_edges):
            raise ConfigError(
                f"hourly link times have shape {hourly_times.shape}; expected "
                f"(24, {network.n_edges})"
            )
        super().__init__(env, network, speed_factor=dict.fromkeys(class_names, 1.0))
        self.hourly_times = hourly_times

    def link_times(self, vehicle_class: str = "emergency") -> np.ndarray:
        """The recorded times of the current hour (the same for every class), seconds; links
        closed to the class are ``inf`` and changed speeds scale the times."""
        times = self.hourly_times[int(self.env.now // 3600) % 24] * (
            self.links.base_speed / self.links.speed
        )
        if vehicle_class in self.class_names:
            times[self.links.closed_to(self.class_names.index(vehicle_class))] = np.inf
        return times
