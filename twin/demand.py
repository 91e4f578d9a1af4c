"""Travel demand: a city-day of vehicle trips synthesised from residents and attractions.

The model is a tour-based four-step model kept small enough to read in one sitting and to
sample 1.5 million trips in a second or two (every step is vectorised numpy). Its spatial
unit is the *anchor*: each zone gets at most ``anchors_per_zone`` drive nodes (the ones with
the most attraction and residents), and an anchor stands for its *catchment*, the zone's
drive nodes nearer to it than to the zone's other anchors. Trips end only at anchors, which
keeps the number of distinct destinations near a thousand so that routing needs only that
many shortest-path trees; trips start anywhere.

1. **Generation.** Every resident makes ``person_trips_per_resident`` trips a day (all modes)
   in home-based tours of two legs, so tours per catchment and purpose are
   ``Poisson(residents × rate / 2 × purpose share × scale)``. Residents of a node are those
   of the mapped buildings nearest to it, plus the zone's residents that mapped buildings do
   not hold, spread over its streets as :mod:`twin.population` does.
2. **Distribution.** The activity anchor of a tour comes from a gravity model between
   anchors, ``f(t) = exp(-β t)``, one per purpose: doubly constrained for work and school
   (each anchor receives trips in proportion to its jobs or school places), production
   constrained for the rest. ``t`` is free-flow driving time: straight-line distance times
   the *pace* between the two anchors' zones (network seconds per straight-line metre
   between zone centres, see :func:`zone_pace`). An anchor's attraction is its zone's share
   of the zones-table column (``jobs``, ``schools``…) split over the zone's anchors by the
   mapped floor area and POIs in their catchments, mixed with a ``local_share`` spread by
   residents.
3. **Places.** The home is a drive node of the home catchment drawn by residents. The leg
   back ends at the home's anchor (the second nearest anchor when the activity is there).
4. **Mode.** Tours are walked or cycled with a probability that falls with the straight-line
   distance from home to activity; they are removed: the table holds *vehicle* trips only.
   A tour whose home node is its activity, or whose zone has a single anchor that is both
   its activity and its way home, is walked.
5. **Time and vehicle.** Each leg departs at a time drawn from the profile column of its
   direction (uniform within an interval); each tour has one vehicle class drawn from the
   vehicle shares (``twin/defaults/vehicles.csv``). The two legs' times are drawn
   independently, so the profile's half-hourly totals hold exactly but a tour's leg home
   may depart before its leg out: trips are not chained in time (the traffic engine treats
   every trip on its own).

The result follows the trips-table contract of :mod:`twin.trips` (sorted by ``depart``,
``trip_id`` ``0..N-1`` in that order).
"""

from __future__ import annotations

import copy
import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from kernels import cost_matrix
from twin.city import City
from twin.errors import ConfigError, SourceNotFoundError, TripsError
from twin.population import street_weight
from twin.trips import parse_clock
from twin.vehicles import load_vehicle_classes

__all__ = [
    "DemandModel",
    "DemandParams",
    "Purpose",
    "load_demand_params",
    "synthesise_trips",
]

log = logging.getLogger(__name__)

_ZONE_ATTRACTIONS = ("jobs", "schools", "markets", "pois", "population")
_CONSTRAINTS = ("doubly", "production")


# -- parameters ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Purpose:
    """A tour purpose.

    Attributes
    ----------
    name
        ``"work"``, ``"school"``…
    share
        Fraction of tours (the purposes' shares sum to 1).
    attraction
        Zones-table column that attracts the purpose (``jobs``, ``schools``, ``markets``,
        ``pois`` or ``population``).
    constraint
        ``"doubly"`` or ``"production"`` (gravity model constraint).
    building_uses
        Weight of each building use's floor area (m²) in a node's attraction.
    poi_categories
        POI categories that add ``poi_floor_m2`` each to the attraction of their drive node.
    local_share
        Part of the purpose's attraction spread in proportion to residents rather than to
        the mapped jobs, schools, shops or POIs (every neighbourhood has its own).
    """

    name: str
    share: float
    attraction: str
    constraint: str
    building_uses: Mapping[str, float]
    poi_categories: tuple[str, ...]
    local_share: float = 0.0


@dataclass(frozen=True, eq=False)
class DemandParams:
    """Parameters of :func:`synthesise_trips`; the defaults are in ``twin/defaults/demand.toml``.

    Attributes
    ----------
    person_trips_per_resident
        Trips of all modes per resident per day.
    non_vehicle_at_zero, non_vehicle_floor, non_vehicle_decay_m
        Share of tours walked or cycled at distance ``d`` (metres, straight line):
        ``floor + (at_zero - floor) * exp(-d / decay_m)``.
    beta_per_min
        Gravity impedance ``exp(-beta * t)``, ``t`` in minutes of free-flow driving.
    intrazonal_time_factor
        An anchor's time to itself as a fraction of its time to the nearest other anchor.
    anchors_per_zone
        Most destination nodes per zone.
    max_destinations
        Most destination nodes in the city: zones get ``max_destinations // zones`` anchors
        each when that is fewer than ``anchors_per_zone`` (at least one).
    furness_iterations, furness_tolerance
        Balancing of doubly constrained purposes.
    poi_floor_m2
        Floor area (m²) that one POI is worth in a node's attraction.
    purposes
        The tour purposes.
    profile_start
        ``float64[b]``: start of each departure interval, seconds after midnight; the last
        interval ends at 86,400 s.
    profile_to_activity, profile_to_home
        ``float64[b]``: fraction of the day's legs of each direction in each interval.
    source
        The TOML-shaped data these were read from (:meth:`as_dict`).
    """

    person_trips_per_resident: float
    non_vehicle_at_zero: float
    non_vehicle_floor: float
    non_vehicle_decay_m: float
    beta_per_min: float
    intrazonal_time_factor: float
    anchors_per_zone: int
    max_destinations: int
    furness_iterations: int
    furness_tolerance: float
    poi_floor_m2: float
    purposes: tuple[Purpose, ...]
    profile_start: np.ndarray
    profile_to_activity: np.ndarray
    profile_to_home: np.ndarray
    source: dict[str, Any] | None = None

    def non_vehicle_share(self, distance_m: np.ndarray) -> np.ndarray:
        """Probability that a tour with ends ``distance_m`` metres apart is walked or cycled."""
        span = self.non_vehicle_at_zero - self.non_vehicle_floor
        return self.non_vehicle_floor + span * np.exp(
            -np.asarray(distance_m) / self.non_vehicle_decay_m
        )

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain TOML-shaped data (for manifests)."""
        return copy.deepcopy(self.source) if self.source is not None else {}


def _default_params_data() -> dict[str, Any]:
    source = resources.files("twin") / "defaults" / "demand.toml"
    with source.open("rb") as fh:
        return tomllib.load(fh)


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in out:
            raise ConfigError(
                f"{where}: unknown demand parameter {key!r}; known: {sorted(out)}. "
                "See twin/defaults/demand.toml for the parameters and their meaning"
            )
        if isinstance(out[key], dict) and isinstance(value, Mapping) and key != "departure_profile":
            out[key] = _merge(out[key], value, f"{where} [{key}]")
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_demand_params(
    path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> DemandParams:
    """Read demand parameters: the defaults, then a TOML file, then ``overrides``.

    Parameters
    ----------
    path
        A TOML file shaped like ``twin/defaults/demand.toml``; keys it omits keep the defaults.
    overrides
        Nested mapping applied last (``{"distribution": {"beta_per_min": 0.2}}``).

    Raises
    ------
    ConfigError
        Unknown keys, out-of-range values, a malformed departure profile.
    """
    data = _default_params_data()
    where = "twin/defaults/demand.toml"
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise SourceNotFoundError(f"demand parameter file {file} does not exist")
        try:
            with file.open("rb") as fh:
                data = _merge(data, tomllib.load(fh), str(file))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc})") from exc
        where = str(file)
    if overrides:
        data = _merge(data, overrides, "demand overrides")
        where = f"{where} + overrides"
    return _params_from_data(data, where)


def _number(section: Mapping[str, Any], key: str, where: str, *, low: float, high: float) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}: {key} = {value!r}; expected a number in [{low}, {high}]")
    return float(value)


def _params_from_data(data: dict[str, Any], where: str) -> DemandParams:
    gen, mode, dist = data["generation"], data["mode"], data["distribution"]
    purposes = []
    for k, item in enumerate(data.get("purposes", [])):
        label = f"{where}: [[purposes]] #{k + 1}"
        missing = [c for c in ("name", "share", "attraction", "constraint") if c not in item]
        if missing:
            raise ConfigError(f"{label} lacks {missing}")
        if item["attraction"] not in _ZONE_ATTRACTIONS:
            raise ConfigError(
                f"{label}: attraction {item['attraction']!r} is not a zones column; "
                f"use one of {list(_ZONE_ATTRACTIONS)}"
            )
        if item["constraint"] not in _CONSTRAINTS:
            raise ConfigError(
                f"{label}: constraint {item['constraint']!r}; use one of {list(_CONSTRAINTS)}"
            )
        uses = dict(item.get("building_uses", {}))
        if any(not isinstance(v, int | float) or v < 0 for v in uses.values()):
            raise ConfigError(f"{label}: building_uses weights must be numbers >= 0")
        purposes.append(
            Purpose(
                name=str(item["name"]),
                share=_number(item, "share", label, low=0.0, high=1.0),
                attraction=item["attraction"],
                constraint=item["constraint"],
                building_uses={str(u): float(v) for u, v in uses.items()},
                poi_categories=tuple(str(c) for c in item.get("poi_categories", [])),
                local_share=_number(
                    {"local_share": item.get("local_share", 0.0)},
                    "local_share",
                    label,
                    low=0.0,
                    high=1.0,
                ),
            )
        )
    total = sum(p.share for p in purposes)
    if not purposes or not np.isclose(total, 1.0):
        raise ConfigError(
            f"{where}: purpose shares must sum to 1 (they sum to {total:.3f}); rescale them"
        )
    start, to_activity, to_home = _profile(data.get("departure_profile", {}), where)
    return DemandParams(
        person_trips_per_resident=_number(
            gen, "person_trips_per_resident", where, low=0.0, high=20.0
        ),
        non_vehicle_at_zero=_number(mode, "non_vehicle_at_zero", where, low=0.0, high=1.0),
        non_vehicle_floor=_number(mode, "non_vehicle_floor", where, low=0.0, high=1.0),
        non_vehicle_decay_m=_number(mode, "non_vehicle_decay_m", where, low=1e-6, high=1e6),
        beta_per_min=_number(dist, "beta_per_min", where, low=0.0, high=10.0),
        intrazonal_time_factor=_number(dist, "intrazonal_time_factor", where, low=0.0, high=10.0),
        anchors_per_zone=int(_number(dist, "anchors_per_zone", where, low=1, high=100_000)),
        max_destinations=int(_number(dist, "max_destinations", where, low=1, high=10_000_000)),
        furness_iterations=int(_number(dist, "furness_iterations", where, low=1, high=100_000)),
        furness_tolerance=_number(dist, "furness_tolerance", where, low=0.0, high=1.0),
        poi_floor_m2=_number(data["attraction"], "poi_floor_m2", where, low=0.0, high=1e9),
        purposes=tuple(purposes),
        profile_start=start,
        profile_to_activity=to_activity,
        profile_to_home=to_home,
        source=data,
    )


def _profile(table: Mapping[str, Any], where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    label = f"{where}: [departure_profile]"
    columns = list(table.get("columns", []))
    expected = ["start", "to_activity", "to_home"]
    if columns != expected:
        raise ConfigError(f"{label} columns = {columns}; expected {expected}")
    rows = table.get("rows", [])
    if not rows or any(len(r) != 3 for r in rows):
        raise ConfigError(f"{label}: rows must be [start, to_activity, to_home] triples")
    try:
        start = np.array([parse_clock(r[0]) for r in rows], dtype=np.float64)
    except TripsError as exc:
        raise ConfigError(f"{label}: {exc}") from exc
    weights = np.array([[r[1], r[2]] for r in rows], dtype=np.float64)
    if start[0] != 0.0 or np.any(np.diff(start) <= 0) or start[-1] >= 86_400.0:
        raise ConfigError(f"{label}: starts must rise from 00:00 and stay before 24:00")
    if np.any(weights < 0) or np.any(weights.sum(axis=0) <= 0):
        raise ConfigError(f"{label}: weights must be >= 0 with a positive total per column")
    weights /= weights.sum(axis=0)
    return start, weights[:, 0], weights[:, 1]


def _resolve_params(params: DemandParams | Mapping[str, Any] | str | Path | None) -> DemandParams:
    if params is None:
        return load_demand_params()
    if isinstance(params, DemandParams):
        return params
    if isinstance(params, str | Path):
        return load_demand_params(params)
    return load_demand_params(overrides=params)


# -- the deterministic part of the model ---------------------------------------------------
class _Groups:
    """Items in groups with weights, for vectorised weighted draws inside a group."""

    def __init__(self, items: list[np.ndarray], weights: list[np.ndarray]) -> None:
        self.items = np.concatenate(items).astype(np.int64)
        lengths = np.array([len(i) for i in items], dtype=np.int64)
        self.ptr = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.ptr[1:])
        w = np.concatenate(weights).astype(np.float64)
        self.cum = np.cumsum(w)
        self.base = np.concatenate(([0.0], self.cum))[self.ptr[:-1]]
        self.total = np.add.reduceat(w, self.ptr[:-1]) if len(w) else np.zeros(len(items))

    def draw(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Position (in :attr:`items`) drawn in each ``group`` with uniform variates ``u``."""
        target = self.base[group] + u * self.total[group]
        idx = np.searchsorted(self.cum, target, side="right")
        return np.clip(idx, self.ptr[group], self.ptr[group + 1] - 1)


def _zone_members(city: City) -> list[np.ndarray]:
    """Drive nodes of each zone (a zone without any gets its ``drive_node``)."""
    order = np.argsort(city.node_zone, kind="stable")
    k = len(city.zones)
    bounds = np.searchsorted(city.node_zone[order], np.arange(k + 1))
    members = []
    for z in range(k):
        nodes = order[bounds[z] : bounds[z + 1]]
        if len(nodes) == 0:
            nodes = np.array([int(city.zones["drive_node"].iloc[z])], dtype=np.int64)
        members.append(nodes.astype(np.int64))
    return members


def zone_travel_times(city: City) -> np.ndarray:
    """Free-flow drive times between zone centres (their ``drive_node``), seconds.

    Returns
    -------
    ``float64[k, k]``, ``0`` on the diagonal, ``inf`` where a zone cannot reach another.
    """
    net = city.drive
    centres = city.zones["drive_node"].to_numpy(dtype=np.int64)
    return cost_matrix(net.indptr, net.indices, net.free_flow_time, centres, centres)


def zone_pace(city: City, zone_times: np.ndarray) -> np.ndarray:
    """Seconds of free-flow driving per metre of straight line, per pair of zones.

    ``zone_times / distance`` between the zones' centres: it carries the detours of the
    network between two zones (a river with few bridges makes it large). Pairs whose centres
    are closer than 500 m, and the diagonal, take the city's median; every value is kept
    within half and three times that median. ``inf`` where zones cannot reach each other.
    """
    net = city.drive
    centres = city.zones["drive_node"].to_numpy(dtype=np.int64)
    x, y = net.x[centres], net.y[centres]
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    usable = (dist >= 500.0) & np.isfinite(zone_times)
    pace = np.full(zone_times.shape, np.nan)
    pace[usable] = zone_times[usable] / dist[usable]
    median = float(np.nanmedian(pace)) if usable.any() else 1.3 / (30 / 3.6)
    pace = np.clip(np.where(np.isnan(pace), median, pace), 0.5 * median, 3.0 * median)
    pace[~np.isfinite(zone_times)] = np.inf
    return pace


def _gravity(
    times: np.ndarray,
    productions: np.ndarray,
    attractions: np.ndarray,
    params: DemandParams,
    constraint: str,
) -> np.ndarray:
    """Destination probabilities ``P[i, j]`` of one purpose (rows sum to 1)."""
    k = len(productions)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.exp(-params.beta_per_min * times / 60.0)
    f[~np.isfinite(times)] = 0.0
    if attractions.sum() <= 0:
        attractions = np.ones(k)
    if constraint == "doubly" and productions.sum() > 0:
        dest = attractions / attractions.sum() * productions.sum()
        b = np.ones(k)
        for _ in range(params.furness_iterations):
            with np.errstate(divide="ignore", invalid="ignore"):
                # einsum, not BLAS: threaded matrix-vector products crawl on a busy machine.
                a = np.where(productions > 0, 1.0 / np.einsum("ij,j->i", f, dest * b), 0.0)
                b_new = np.where(dest > 0, 1.0 / np.einsum("ij,i->j", f, productions * a), 0.0)
            a[~np.isfinite(a)] = 0.0
            b_new[~np.isfinite(b_new)] = 0.0
            change = np.max(np.abs(b_new - b) / np.maximum(b_new, 1e-300), initial=0.0)
            b = b_new
            if change < params.furness_tolerance:
                break
        weight = f * (dest * b)[None, :]
    else:
        weight = f * attractions[None, :]
    rows = weight.sum(axis=1)
    stuck = rows <= 0
    weight[stuck] = 0.0
    weight[stuck, np.flatnonzero(stuck)] = 1.0  # nowhere reachable to go: stay
    return weight / weight.sum(axis=1, keepdims=True)


def _node_weights(city: City, params: DemandParams) -> tuple[np.ndarray, np.ndarray]:
    """Mapped residents ``float[n]`` and attraction ``float[p, n]`` of each drive node."""
    net = city.drive
    buildings = city.buildings
    residents = np.zeros(net.n_nodes)
    attraction = np.zeros((len(params.purposes), net.n_nodes))
    if len(buildings):
        tree = cKDTree(np.column_stack([net.x, net.y]))
        _, nearest = tree.query(buildings[["x", "y"]].to_numpy(dtype=np.float64))
        nearest = np.asarray(nearest, dtype=np.int64)
        weights = np.nan_to_num(buildings["residents"].to_numpy(dtype=np.float64))
        residents = np.bincount(nearest, weights=weights, minlength=net.n_nodes)
        floor = np.nan_to_num(buildings["floor_area_m2"].to_numpy(dtype=np.float64))
        use = buildings["use"].astype(str).to_numpy()
        for p, purpose in enumerate(params.purposes):
            w = np.zeros(len(buildings))
            for name, factor in purpose.building_uses.items():
                w += np.where(use == name, floor * factor, 0.0)
            attraction[p] = np.bincount(nearest, weights=w, minlength=net.n_nodes)
    if len(city.pois):
        poi_node = city.pois["drive_node"].to_numpy(dtype=np.int64)
        category = city.pois["category"].astype(str).to_numpy()
        for p, purpose in enumerate(params.purposes):
            hit = np.isin(category, list(purpose.poi_categories))
            attraction[p] += params.poi_floor_m2 * np.bincount(poi_node[hit], minlength=net.n_nodes)
    return residents, attraction


class _Layout(NamedTuple):
    """Anchors and their catchments (see :class:`DemandModel`)."""

    anchors: np.ndarray
    anchor_zone: np.ndarray
    anchor_ptr: np.ndarray
    residents: np.ndarray  # per anchor: residents of its catchment
    within: np.ndarray  # [p, a]: mapped attraction of each catchment per purpose
    homes: _Groups  # per anchor: catchment nodes weighted by residents
    second: np.ndarray  # per homes item: global index of the node's second-nearest anchor


def _catchments(city: City, params: DemandParams, population: np.ndarray) -> _Layout:
    """Choose each zone's anchors and split its nodes, residents and attraction among them."""
    net = city.drive
    k = len(city.zones)
    members = _zone_members(city)
    mapped, node_attraction = _node_weights(city, params)
    street = street_weight(net)
    degree = np.diff(net.indptr)
    shares = np.array([p.share for p in params.purposes])
    per_zone = max(1, min(params.anchors_per_zone, params.max_destinations // k))
    anchors, anchor_zone, residents, within = [], [], [], []
    home_items, home_weights, second = [], [], []
    offset = 0
    for z in range(k):
        nodes = members[z]
        # Residents: mapped homes, plus the zone's unmapped residents along its streets.
        res = mapped[nodes]
        spread = street[nodes] if street[nodes].sum() > 0 else np.ones(len(nodes))
        res = res + max(0.0, population[z] - res.sum()) * spread / spread.sum()
        res = res * (population[z] / res.sum()) if res.sum() > 0 else np.zeros(len(nodes))
        # Anchors: most attraction and residents (each as a share of the zone's), then degree.
        attr = node_attraction[:, nodes]
        sums = attr.sum(axis=1, keepdims=True)
        normed = np.divide(attr, sums, out=np.zeros_like(attr), where=sums > 0)
        home_share = res / res.sum() if res.sum() > 0 else spread / spread.sum()
        score = 0.5 * (shares @ normed) + 0.5 * home_share
        order = np.lexsort((nodes, -degree[nodes], -score))
        chosen = np.sort(nodes[order[:per_zone]])
        anchors.append(chosen)
        anchor_zone.append(np.full(len(chosen), z, dtype=np.int64))
        # Catchments: each node belongs to its nearest anchor; remember the second nearest.
        d = np.hypot(
            net.x[nodes, None] - net.x[None, chosen], net.y[nodes, None] - net.y[None, chosen]
        )
        rank = np.argsort(d, axis=1, kind="stable")
        owner = rank[:, 0]
        runner_up = rank[:, 1] + offset if len(chosen) > 1 else np.full(len(nodes), -1)
        residents.append(np.bincount(owner, weights=res, minlength=len(chosen)))
        within.append(
            np.stack([np.bincount(owner, weights=row, minlength=len(chosen)) for row in attr])
        )
        for j in range(len(chosen)):
            mine = owner == j
            if not mine.any():  # two anchors at one spot: an empty catchment
                home_items.append(chosen[j : j + 1])
                home_weights.append(np.zeros(1))
                second.append(np.full(1, -1))
                continue
            home_items.append(nodes[mine])
            home_weights.append(res[mine])
            second.append(runner_up[mine])
        offset += len(chosen)
    anchor_ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum([len(a) for a in anchors], out=anchor_ptr[1:])
    return _Layout(
        anchors=np.concatenate(anchors),
        anchor_zone=np.concatenate(anchor_zone),
        anchor_ptr=anchor_ptr,
        residents=np.concatenate(residents),
        within=np.concatenate(within, axis=1),
        homes=_Groups(home_items, home_weights),
        second=np.concatenate(second).astype(np.int64),
    )


def _anchor_attraction(
    city: City, params: DemandParams, layout: _Layout, population: np.ndarray
) -> np.ndarray:
    """``float[p, a]``: each anchor's share of each purpose's attraction.

    The zone's share of the zones-table column, split inside the zone by the mapped
    attraction of the catchments (or their residents), mixed with the purpose's
    ``local_share`` spread over all anchors by residents.
    """
    zones = city.zones
    k = len(zones)
    residents = layout.residents
    local = residents / residents.sum()
    attraction = np.zeros((len(params.purposes), len(layout.anchors)))
    for p, purpose in enumerate(params.purposes):
        column = np.zeros(k)
        if purpose.attraction in zones.columns:
            column = np.nan_to_num(np.clip(zones[purpose.attraction].to_numpy(float), 0, None))
        if column.sum() <= 0:
            log.warning(
                "zones column %r is all zero; %s tours use population instead",
                purpose.attraction,
                purpose.name,
            )
            column = population.copy()
        column = column / column.sum()
        for z in range(k):
            sl = slice(layout.anchor_ptr[z], layout.anchor_ptr[z + 1])
            w = layout.within[p, sl]
            if w.sum() <= 0:
                w = residents[sl] if residents[sl].sum() > 0 else np.ones(len(w))
            attraction[p, sl] = column[z] * w / w.sum()
        attraction[p] = (1 - purpose.local_share) * attraction[p] + purpose.local_share * local
    return attraction


def _anchor_times(
    city: City, params: DemandParams, layout: _Layout, zone_times: np.ndarray
) -> np.ndarray:
    """``float[a, a]``: free-flow seconds between anchors (see :class:`DemandModel`)."""
    net = city.drive
    pace = zone_pace(city, zone_times)
    ax, ay = net.x[layout.anchors], net.y[layout.anchors]
    zone = layout.anchor_zone
    dist = np.hypot(ax[:, None] - ax[None, :], ay[:, None] - ay[None, :])
    times = dist * pace[zone[:, None], zone[None, :]]
    n = len(layout.anchors)
    if n > 1:
        nearest = (times + np.diag(np.full(n, np.inf))).min(axis=1)
        nearest[~np.isfinite(nearest)] = 0.0
        times[np.arange(n), np.arange(n)] = params.intrazonal_time_factor * nearest
    else:
        times[:] = 0.0
    return times


@dataclass(frozen=True, eq=False, repr=False)
class DemandModel:
    """The deterministic part of the demand model of one city: sample it with many seeds.

    Trips are distributed between *anchors*: at most ``anchors_per_zone`` drive nodes per
    zone (and ``max_destinations`` in all), each standing for its catchment, the drive nodes
    of its zone nearer to it than to the zone's other anchors.

    Attributes
    ----------
    params
        The parameters.
    zone_times
        ``float64[k, k]``: free-flow seconds between zone centres.
    anchors
        ``int64[a]``: anchor nodes, zone by zone; ``anchor_zone`` is their zone and zone
        ``z``'s anchors are ``anchors[anchor_ptr[z]:anchor_ptr[z+1]]``.
    anchor_times
        ``float64[a, a]``: seconds between anchors: straight-line metres times the zone
        pair's :func:`zone_pace`; the diagonal is ``intrazonal_time_factor`` times the
        time to the nearest other anchor.
    residents
        ``float64[a]``: residents of each catchment (sums to the city's population).
    attraction
        ``float64[p, a]``: share of each purpose's attraction held by each anchor.
    tours_per_day
        ``float64[p, a]``: expected tours per purpose and home catchment at scale 1.
    destination_probabilities
        ``float64[p, a, a]``: activity-anchor probabilities per purpose and home catchment.
    """

    params: DemandParams
    zone_times: np.ndarray
    anchors: np.ndarray
    anchor_zone: np.ndarray
    anchor_ptr: np.ndarray
    anchor_times: np.ndarray
    residents: np.ndarray
    attraction: np.ndarray
    tours_per_day: np.ndarray
    destination_probabilities: np.ndarray
    _homes: _Groups
    _second: np.ndarray
    _x: np.ndarray
    _y: np.ndarray

    def __repr__(self) -> str:
        return (
            f"DemandModel({len(self.zone_times)} zones, {len(self.anchors)} anchors, "
            f"{self.expected_person_trips:,.0f} person-trips/day at scale 1)"
        )

    @classmethod
    def from_city(
        cls, city: City, params: DemandParams | Mapping[str, Any] | str | Path | None = None
    ) -> DemandModel:
        """Build the model: anchors and catchments, times and gravity probabilities."""
        params = _resolve_params(params)
        net = city.drive
        k = len(city.zones)
        if k == 0 or net.n_nodes == 0:
            raise TripsError(
                f"city {city.name!r} has {k} zones and {net.n_nodes} drive nodes; "
                "demand needs zones with population and a drive network"
            )
        zones = city.zones
        population = np.nan_to_num(zones["population"].to_numpy(dtype=np.float64))
        if not population.sum() > 0:
            raise TripsError(
                f"city {city.name!r} has no residents (its zones' population sums to "
                f"{population.sum():g}); synthesised demand starts from residents. Build the "
                "city from OSM with a population, or bring trips as a CSV (twin.trips.read_trips, "
                "`twin run --trips FILE`)"
            )
        layout = _catchments(city, params, population)
        attraction = _anchor_attraction(city, params, layout, population)
        zone_times = zone_travel_times(city)
        times = _anchor_times(city, params, layout, zone_times)
        shares = np.array([p.share for p in params.purposes])
        residents_all = layout.residents
        tours = np.outer(shares, residents_all) * params.person_trips_per_resident / 2.0
        probabilities = np.stack(
            [
                _gravity(times, tours[p], attraction[p], params, purpose.constraint)
                for p, purpose in enumerate(params.purposes)
            ]
        )
        return cls(
            params=params,
            zone_times=zone_times,
            anchors=layout.anchors,
            anchor_zone=layout.anchor_zone,
            anchor_ptr=layout.anchor_ptr,
            anchor_times=times,
            residents=residents_all,
            attraction=attraction,
            tours_per_day=tours,
            destination_probabilities=probabilities,
            _homes=layout.homes,
            _second=layout.second,
            _x=net.x,
            _y=net.y,
        )

    @property
    def expected_person_trips(self) -> float:
        """Person-trips (all modes) per day at scale 1."""
        return 2.0 * float(self.tours_per_day.sum())

    def sample(
        self,
        rng: np.random.Generator,
        *,
        vehicles: pd.DataFrame | None = None,
        scale: float = 1.0,
        start: float = 0.0,
        end: float = 86_400.0,
        details: bool = False,
    ) -> pd.DataFrame:
        """Draw one day of vehicle trips; see :func:`synthesise_trips`."""
        params = self.params
        table = load_vehicle_classes() if vehicles is None else vehicles
        classes, class_cum = _class_shares(table)
        if not scale > 0 or not np.isfinite(scale):
            raise TripsError(f"scale = {scale!r}; expected a positive number (1.0 = full day)")
        if not end > start:
            raise TripsError(f"window [{start}, {end}) is empty; end must be after start")

        # 1-2. Tours per purpose and home catchment, then activity anchors.
        n_purposes, n_anchor = self.tours_per_day.shape
        counts = rng.poisson(self.tours_per_day * scale)
        flows = rng.multinomial(
            counts.reshape(-1), self.destination_probabilities.reshape(-1, n_anchor)
        ).reshape(n_purposes, n_anchor, n_anchor)
        purpose, home_anchor, activity_anchor = np.nonzero(flows)
        repeat = flows[purpose, home_anchor, activity_anchor]
        purpose = np.repeat(purpose, repeat)
        home_anchor = np.repeat(home_anchor, repeat)
        activity_anchor = np.repeat(activity_anchor, repeat)
        n_tours = len(purpose)

        # 3. Home node in the catchment; the leg back ends at the home's anchor, or at the
        #    second nearest when the activity is at the home's own anchor.
        item = self._homes.draw(home_anchor, rng.random(n_tours))
        home = self._homes.items[item]
        activity = self.anchors[activity_anchor]
        back_anchor = np.where(home_anchor == activity_anchor, self._second[item], home_anchor)
        back = np.where(back_anchor >= 0, self.anchors[np.maximum(back_anchor, 0)], -1)

        # 4. Walked or cycled tours are not vehicle trips.
        distance = np.hypot(self._x[home] - self._x[activity], self._y[home] - self._y[activity])
        walk = rng.random(n_tours) < params.non_vehicle_share(distance)
        walk |= (home == activity) | (back < 0)
        keep = ~walk

        # 5. Departure times and vehicle classes.
        out_time = _draw_times(params.profile_start, params.profile_to_activity, rng, n_tours)
        back_time = _draw_times(params.profile_start, params.profile_to_home, rng, n_tours)
        vehicle = np.searchsorted(class_cum, rng.random(n_tours) * class_cum[-1], side="right")
        vehicle = np.minimum(vehicle, len(classes) - 1)

        tour_id = np.flatnonzero(keep)
        n_keep = len(tour_id)
        columns = {
            "origin": np.concatenate([home[keep], activity[keep]]),
            "destination": np.concatenate([activity[keep], back[keep]]),
            "depart": np.concatenate([out_time[keep], back_time[keep]]),
            "vehicle_class": np.concatenate([vehicle[keep], vehicle[keep]]),
        }
        if details:
            names = np.array([p.name for p in params.purposes], dtype=object)
            columns["purpose"] = np.concatenate([names[purpose[keep]]] * 2)
            columns["tour_id"] = np.concatenate([tour_id, tour_id])
            columns["leg"] = np.repeat(np.array(["to_activity", "to_home"], dtype=object), n_keep)
        in_window = (columns["depart"] >= start) & (columns["depart"] < end)
        order = np.flatnonzero(in_window)
        order = order[np.argsort(columns["depart"][order], kind="stable")]
        trips = pd.DataFrame({"trip_id": np.arange(len(order), dtype=np.int64)})
        trips["origin"] = columns["origin"][order].astype(np.int64)
        trips["destination"] = columns["destination"][order].astype(np.int64)
        trips["depart"] = columns["depart"][order].astype(np.float64)
        trips["vehicle_class"] = pd.array(classes[columns["vehicle_class"][order]], dtype="str")
        for extra in ("purpose", "tour_id", "leg"):
            if extra in columns:
                trips[extra] = columns[extra][order]
        trips.attrs["demand"] = {
            "person_trips": 2 * n_tours,
            "walked_or_cycled_trips": 2 * int(walk.sum()),
            "vehicle_trips_day": 2 * n_keep,
            "vehicle_trips_window": len(order),
            "scale": float(scale),
            "window": [float(start), float(end)],
        }
        return trips


def _class_shares(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    shares = table["share"].to_numpy(dtype=np.float64)
    usable = shares > 0
    if not usable.any():
        raise TripsError("no vehicle class has a positive share; give at least one a share > 0")
    classes = np.array([str(c) for c in table.index[usable]], dtype=object)
    return classes, np.cumsum(shares[usable])


def _draw_times(
    start: np.ndarray, weights: np.ndarray, rng: np.random.Generator, size: int
) -> np.ndarray:
    """Departure times from a piecewise-uniform profile (inverse CDF with one variate each)."""
    cum = np.cumsum(weights)
    cum /= cum[-1]
    width = np.diff(np.append(start, 86_400.0))
    u = rng.random(size)
    b = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    before = np.where(b > 0, cum[b - 1], 0.0)
    within = np.divide(
        u - before, weights[b] / weights.sum(), out=np.zeros(size), where=weights[b] > 0
    )
    return start[b] + np.clip(within, 0.0, np.nextafter(1.0, 0.0)) * width[b]


def synthesise_trips(
    city: City,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    params: DemandParams | Mapping[str, Any] | str | Path | None = None,
    vehicles: pd.DataFrame | str | Path | None = None,
    scale: float = 1.0,
    start: float | str = 0.0,
    end: float | str = 86_400.0,
    details: bool = False,
) -> pd.DataFrame:
    """Synthesise a day (or a window) of vehicle trips for ``city``.

    Parameters
    ----------
    city
        The city: zones with ``population`` and attraction columns, buildings, POIs.
    seed, rng
        Randomness: an integer seed or a numpy ``Generator`` (exactly one of them).
        The same seed gives the same table.
    params
        :class:`DemandParams`, a TOML file, a nested mapping of overrides, or ``None`` for
        ``twin/defaults/demand.toml``.
    vehicles
        Vehicle class table (:func:`twin.vehicles.load_vehicle_classes`) or a path to one;
        ``None`` for the defaults. Classes are drawn by ``share``.
    scale
        Multiplies the trip rate (``0.1`` gives a tenth of the day's trips).
    start, end
        Keep trips departing in ``[start, end)``: seconds after midnight or ``"HH:MM[:SS]"``.
        The day is synthesised whole and then cut, so a window holds the trips the full day
        would have in it.
    details
        Also return ``purpose``, ``tour_id`` and ``leg`` (``"to_activity"``/``"to_home"``).

    Returns
    -------
    pandas.DataFrame
        ``trip_id`` (int64, ``0..N-1``), ``origin``, ``destination`` (int64 drive-node
        positions), ``depart`` (float64 seconds after midnight), ``vehicle_class`` (str);
        sorted by ``depart``. ``attrs["demand"]`` holds person-trips, walked/cycled trips and
        vehicle trips of the day.
    """
    if (seed is None) == (rng is None):
        raise TripsError("give exactly one of seed= (an int) or rng= (a numpy Generator)")
    generator = rng if rng is not None else np.random.default_rng(seed)
    if not isinstance(generator, np.random.Generator):
        raise TripsError(f"rng must be a numpy.random.Generator, got {type(generator).__name__}")
    table = vehicles if isinstance(vehicles, pd.DataFrame) else load_vehicle_classes(vehicles)
    model = DemandModel.from_city(city, params)
    return model.sample(
        generator,
        vehicles=table,
        scale=scale,
        start=parse_clock(start),
        end=parse_clock(end),
        details=details,
    )
