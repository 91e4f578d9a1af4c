"""Where and when incidents happen.

Incidents of three kinds arise as Poisson processes whose rate is constant within each
hour of the day:

- ``medical``: residents (``medical_per_1000_residents_per_day``, placed on the drive node
  nearest each building in proportion to its residents) and tourists
  (``medical_per_1000_tourists_per_day``, placed in the zones the tourists are in);
- ``fire``: ``fires_per_100k_residents_per_day``, placed in proportion to building floor
  area (residents when the city has no buildings);
- ``crash``: ``crashes_per_million_vehicle_km`` times the vehicle-km driven on each link
  (see :class:`sim.emergency.model.Emergency`).

The rates, unit counts and service times live in ``twin/defaults/emergency.toml``;
:func:`sim.emergency.params.load_emergency_params` reads them into an
:class:`~sim.emergency.params.EmergencyParams`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from sim.emergency.params import (
    INCIDENT_KINDS,
    EmergencyParams,
)
from twin.city import City
from twin.errors import ConfigError

__all__ = [
    "NodeSampler",
    "expected_incidents",
    "fallback_vehicle_km_share",
    "fire_weights_by_node",
    "nearest_drive_nodes",
    "next_arrival",
    "residents_by_node",
    "tourists_array",
]


# -- where people are ----------------------------------------------------------------------
def nearest_drive_nodes(city: City, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The drive node nearest each point and its distance, metres."""
    tree = cKDTree(np.column_stack([city.drive.x, city.drive.y]))
    dist, node = tree.query(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    return np.asarray(node, dtype=np.int64), np.asarray(dist, dtype=float)


def _by_node(city: City, column: str) -> np.ndarray:
    n = city.drive.n_nodes
    b = city.buildings
    if len(b) and column in b and float(b[column].sum()) > 0:
        node, _ = nearest_drive_nodes(city, b["x"].to_numpy(), b["y"].to_numpy())
        return np.bincount(node, weights=b[column].to_numpy(float), minlength=n)
    return np.zeros(n)


def residents_by_node(city: City) -> np.ndarray:
    """``float64[n_nodes]``: residents on each drive node.

    The zones' populations are the totals. Within a zone, they are shared among its drive
    nodes in proportion to the residents of the buildings nearest each node; a zone with no
    resident buildings spreads its population evenly over its nodes. (The buildings table
    may hold only part of the city's housing, so its residents give the pattern, not the
    total.)
    """
    zone = np.asarray(city.node_zone, dtype=np.int64)
    population = city.zones["population"].to_numpy(float)
    weights = _by_node(city, "residents")
    nz = len(population)
    if nz == 0:
        return weights
    in_zone = np.bincount(zone, weights=weights, minlength=nz)[:nz]
    even = _zone_spread(city, population)
    share = np.divide(weights, in_zone[zone], out=np.zeros_like(weights), where=in_zone[zone] > 0)
    return np.where(in_zone[zone] > 0, population[zone] * share, even)


def _zone_spread(city: City, per_zone: np.ndarray) -> np.ndarray:
    """Spread a quantity per zone evenly over each zone's drive nodes."""
    zone = np.asarray(city.node_zone, dtype=np.int64)
    per_zone = np.asarray(per_zone, dtype=float)
    if len(per_zone) == 0:
        return np.zeros(city.drive.n_nodes)
    count = np.bincount(zone, minlength=len(per_zone)).astype(float)
    share = np.divide(per_zone, count, out=np.zeros_like(per_zone), where=count > 0)
    return share[zone]


def fire_weights_by_node(city: City) -> np.ndarray:
    """``float64[n_nodes]``: where fires start, by building floor area (else residents)."""
    weights = _by_node(city, "floor_area_m2")
    return weights if weights.sum() > 0 else residents_by_node(city)


def tourists_array(tourists: Any, n_zones: int) -> np.ndarray:
    """Tourists per zone from a tourist component (``tourists_by_zone()``) or ``None``."""
    if tourists is None:
        return np.zeros(n_zones)
    values = tourists.tourists_by_zone() if hasattr(tourists, "tourists_by_zone") else tourists
    if isinstance(values, pd.Series):
        out = np.zeros(n_zones)
        index = values.index.to_numpy()
        ok = (index >= 0) & (index < n_zones)
        out[index[ok].astype(int)] = values.to_numpy(float)[ok]
        return out
    if isinstance(values, dict):
        out = np.zeros(n_zones)
        for zone, count in values.items():
            if 0 <= int(zone) < n_zones:
                out[int(zone)] = float(count)
        return out
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n_zones,):
        raise ConfigError(
            f"tourists_by_zone() returned shape {arr.shape}; expected ({n_zones},), one "
            "count per zone"
        )
    return arr


def expected_incidents(
    city: City,
    params: EmergencyParams,
    *,
    tourists_by_zone: np.ndarray | None = None,
    vehicle_km_by_zone: np.ndarray | None = None,
) -> pd.DataFrame:
    """Expected incidents by zone, hour and kind for one day.

    Parameters
    ----------
    tourists_by_zone
        Tourists present in each zone (zeros when ``None``).
    vehicle_km_by_zone
        Vehicle-km driven in each zone over the day; ``None`` for the fallback estimate
        (residents × ``vehicle_km_per_resident_per_day`` spread by link length × lanes).

    Returns
    -------
    DataFrame with ``zone``, ``hour``, ``kind`` and ``expected`` (incidents in that hour).
    """
    nz = len(city.zones)
    zone_of_node = np.asarray(city.node_zone, dtype=np.int64)
    residents = np.bincount(zone_of_node, weights=residents_by_node(city), minlength=nz)[:nz]
    tourists = np.zeros(nz) if tourists_by_zone is None else np.asarray(tourists_by_zone, float)
    if vehicle_km_by_zone is None:
        vkm_edge = fallback_vehicle_km_share(city) * (
            residents.sum() * params.vehicle_km_per_resident_per_day
        )
        vehicle_km_by_zone = np.bincount(
            zone_of_node[city.drive.tail], weights=vkm_edge, minlength=nz
        )[:nz]
    daily = {
        "medical": residents * params.medical_per_1000_residents_per_day / 1000.0
        + tourists * params.medical_per_1000_tourists_per_day / 1000.0,
        "fire": residents * params.fires_per_100k_residents_per_day / 100_000.0,
        "crash": np.asarray(vehicle_km_by_zone, float)
        * params.crashes_per_million_vehicle_km
        / 1e6,
    }
    profile = {
        "medical": params.hourly_profile["medical"],
        "fire": params.hourly_profile["fire"],
        "crash": params.hourly_profile["traffic"],
    }
    rows = []
    for kind in INCIDENT_KINDS:
        hourly = np.outer(daily[kind], profile[kind] / 24.0)
        zz, hh = np.meshgrid(np.arange(nz), np.arange(24), indexing="ij")
        rows.append(
            pd.DataFrame(
                {"zone": zz.ravel(), "hour": hh.ravel(), "kind": kind, "expected": hourly.ravel()}
            )
        )
    return pd.concat(rows, ignore_index=True)


def fallback_vehicle_km_share(city: City) -> np.ndarray:
    """``float64[n_edges]``: each link's share of vehicle-km when nothing is counted.

    Proportional to length × lanes, so that wide arterials carry more than alleys.
    """
    w = city.drive.length * np.maximum(city.drive.lanes, 1.0)
    total = w.sum()
    return w / total if total > 0 else np.full(city.drive.n_edges, 1.0 / max(city.drive.n_edges, 1))


# -- when -----------------------------------------------------------------------------------
def next_arrival(t: float, rate_by_hour: np.ndarray, rng: np.random.Generator) -> float:
    """Next event time of a Poisson process whose rate is constant within each hour.

    Parameters
    ----------
    t
        Now, seconds after midnight (the process repeats every day).
    rate_by_hour
        ``float64[24]``: events per second in each hour of the day.
    rng
        Random generator.

    Returns
    -------
    Seconds after midnight of the next event (``inf`` when every rate is zero). The gap is
    exponential within an hour; at an hour's end the draw restarts (memorylessness), so the
    process is exact.
    """
    rates = np.asarray(rate_by_hour, dtype=float)
    if not (rates > 0).any():
        return math.inf
    while True:
        hour = int(t // 3600.0) % 24
        boundary = (math.floor(t / 3600.0) + 1) * 3600.0
        rate = rates[hour]
        if rate > 0:
            candidate = t + rng.exponential(1.0 / rate)
            if candidate < boundary:
                return candidate
        t = boundary


class NodeSampler:
    """Draws nodes in proportion to non-negative weights (alias-free, by bisection).

    Parameters
    ----------
    weights
        ``float64[n]``; at least one must be positive.
    """

    def __init__(self, weights: np.ndarray) -> None:
        w = np.asarray(weights, dtype=float)
        self.total = float(w.sum())
        self._cum = np.cumsum(w)

    def draw(self, rng: np.random.Generator) -> int:
        """One node."""
        u = rng.random() * self.total
        return int(min(np.searchsorted(self._cum, u, side="right"), len(self._cum) - 1))
