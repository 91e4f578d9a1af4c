"""Residents: from residential floor area, topped up along residential streets.

The build is given a total population: ``population=``, else the city profile's
(:mod:`twin.city_profile`; Huế: 652,572, the 2019 Population and Housing Census count for
the city of Huế within its 2021 boundaries, General Statistics Office of Viet Nam), else an
estimate, the mapped residential floor area over the profile's floor area per resident
(:func:`twin.build.features.city_features`). It is shared out so that it sums exactly to
that total.

Rule
----
Let ``B_z`` be the residents that the mapped homes of zone ``z`` hold — residential floor
area divided by the profile's floor area per resident (:data:`FLOOR_M2_PER_RESIDENT`, 25 m²
a person, Viet Nam's national average housing floor area targeted for 2020 by Decision
2127/QĐ-TTg, for Huế) — and ``L_z`` the zone's residential
street length, metres of drive-network road weighted by class (:data:`ROAD_WEIGHTS`;
each two-way street counted once).

- If the mapped homes hold at least the total (``Σ B_z ≥ P``: a well-mapped city), every
  building's residents are scaled down by ``P / Σ B_z`` and no one lives "on the street".
- Otherwise (Huế's extract maps roughly one building in ten) a city-wide density ``ρ``
  (residents per weighted metre of street) is found so that
  ``Σ_z max(B_z, ρ·L_z) = P``: every zone holds at least what its mapped homes hold, and
  zones whose homes are missing from the map are filled in from their streets. The
  difference ``max(B_z, ρ·L_z) − B_z`` lives in the zone's unmapped homes (``pop_network``),
  spread over the zone's drive nodes in proportion to the weighted street length that
  leaves each node.

When no street carries weight (a network with only trunk roads) the drive-node count of
each zone stands in for ``L_z``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from twin.network import Network

#: Residential floor area per resident, m².
FLOOR_M2_PER_RESIDENT = 25.0
#: Huế's population, the build's default total (2019 Population and Housing Census, city of
#: Huế within its 2021 boundaries; General Statistics Office of Viet Nam).
HUE_POPULATION = 652_572.0
#: Weight of one metre of road of each class when residents are spread over streets:
#: people live along residential lanes (kiệt, hẻm) most, along arterials less (shops,
#: offices, rice fields), not along motorways and ramps. Unknown classes weigh 0.5.
ROAD_WEIGHTS: dict[str, float] = {
    "residential": 1.0,
    "living_street": 1.0,
    "unclassified": 0.8,
    "road": 0.8,
    "tertiary": 0.6,
    "secondary": 0.5,
    "primary": 0.4,
    "service": 0.3,
    "trunk": 0.1,
    "tertiary_link": 0.0,
    "secondary_link": 0.0,
    "primary_link": 0.0,
    "trunk_link": 0.0,
    "motorway": 0.0,
    "motorway_link": 0.0,
    "busway": 0.0,
}


@dataclass(frozen=True)
class Population:
    """Residents by zone, building and drive node.

    Attributes
    ----------
    zone_total, zone_buildings, zone_network
        Per zone: all residents, those in mapped buildings, those spread over streets.
    building
        Per building: residents (0 for non-residential buildings).
    node
        Per drive node: residents (building residents at their zone's nearest node plus
        the street share); sums to the total.
    density_per_m
        ``ρ``, residents per weighted metre of street (0 when buildings hold everyone).
    building_scale
        Factor applied to ``floor area / FLOOR_M2_PER_RESIDENT`` for building residents.
    """

    zone_total: np.ndarray
    zone_buildings: np.ndarray
    zone_network: np.ndarray
    building: np.ndarray
    node: np.ndarray
    density_per_m: float
    building_scale: float


def street_weight(drive: Network) -> np.ndarray:
    """Weighted street metres leaving each drive node (each two-way street counted once)."""
    tail, head = drive.tail, drive.indices
    weights = np.array(
        [ROAD_WEIGHTS.get(name, 0.5) for name in drive.road_classes] or [0.5], dtype=float
    )
    w = drive.length * weights[drive.road_class.astype(np.int64)]
    # A two-way street is two directed edges: count half of each.
    key = np.minimum(tail, head) * drive.n_nodes + np.maximum(tail, head)
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    w = w / counts[inverse]
    return np.bincount(tail, weights=w, minlength=drive.n_nodes)


def distribute(
    total: float,
    *,
    residential_floor_m2: np.ndarray,
    building_zone: np.ndarray,
    building_xy: np.ndarray,
    drive: Network,
    node_zone: np.ndarray,
    n_zones: int,
    floor_m2_per_resident: float = FLOOR_M2_PER_RESIDENT,
) -> Population:
    """Share ``total`` residents among zones, buildings and drive nodes (rule above).

    Parameters
    ----------
    total
        Residents of the city.
    residential_floor_m2
        Per building, residential floor area in m² (0 for other uses).
    building_zone
        Per building, its zone.
    building_xy
        ``float[n, 2]``: building centroids, metres.
    drive
        The drive network.
    node_zone
        Zone of each drive node.
    n_zones
        Number of zones.
    floor_m2_per_resident
        Residential floor area per resident, m².
    """
    if total < 0 or not np.isfinite(total):
        raise ValueError(f"population must be a finite number ≥ 0, got {total!r}")
    floor = np.asarray(residential_floor_m2, dtype=float)
    bzone = np.asarray(building_zone, dtype=np.int64)
    in_homes = floor / floor_m2_per_resident
    b_zone = np.bincount(bzone, weights=in_homes, minlength=n_zones)
    node_w = street_weight(drive)
    if node_w.sum() <= 0:
        node_w = np.ones(drive.n_nodes)
    l_zone = np.bincount(node_zone, weights=node_w, minlength=n_zones)
    housed = float(b_zone.sum())
    if housed >= total and housed > 0:
        scale = total / housed
        zone_b = b_zone * scale
        zone_n = np.zeros(n_zones)
        rho = 0.0
    else:
        scale = 1.0
        zone_b = b_zone
        rho = _solve_density(b_zone, l_zone, total)
        zone_n = np.maximum(rho * l_zone - b_zone, 0.0)
        remainder = total - housed
        if zone_n.sum() > 0:
            zone_n *= remainder / zone_n.sum()
        elif remainder > 0:
            # No street weight anywhere: spread over zones by node count.
            counts = np.bincount(node_zone, minlength=n_zones).astype(float)
            zone_n = remainder * counts / counts.sum()
    building = in_homes * scale
    node = np.zeros(drive.n_nodes)
    for z in range(n_zones):
        members = np.flatnonzero(node_zone == z)
        if len(members) == 0:
            members = np.arange(drive.n_nodes)
        if zone_n[z] > 0:
            w = node_w[members]
            w = w / w.sum() if w.sum() > 0 else np.full(len(members), 1.0 / len(members))
            node[members] += zone_n[z] * w
        rows = np.flatnonzero((bzone == z) & (building > 0))
        if len(rows):
            _, near = cKDTree(np.column_stack([drive.x[members], drive.y[members]])).query(
                np.asarray(building_xy, dtype=float)[rows]
            )
            np.add.at(node, members[near], building[rows])
    return Population(
        zone_total=zone_b + zone_n,
        zone_buildings=zone_b,
        zone_network=zone_n,
        building=building,
        node=node,
        density_per_m=float(rho),
        building_scale=float(scale),
    )


def _solve_density(housed: np.ndarray, length: np.ndarray, total: float) -> float:
    """``ρ`` with ``Σ max(housed, ρ·length) = total`` (bisection; 0 when nothing to solve)."""
    if length.sum() <= 0 or housed.sum() >= total:
        return 0.0
    lo, hi = 0.0, total / length.sum()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(housed, mid * length).sum() < total:
            lo = mid
        else:
            hi = mid
    return hi
