"""Anchors of the demand model: each zone's destination nodes and their catchments.

Each zone gets at most ``anchors_per_zone`` drive nodes (the ones with the most attraction
and residents); an anchor stands for its *catchment*, the zone's drive nodes nearer to it than
to the zone's other anchors. This module chooses them (:func:`anchor_layout`), shares each
purpose's attraction among them (:func:`anchor_attraction`) and estimates free-flow times
between them (:func:`anchor_times`, from :func:`zone_travel_times` and :func:`zone_pace`).
:mod:`twin.demand.model` distributes and samples tours between them.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from kernels import cost_matrix
from twin.build.population import street_weight
from twin.city import City
from twin.demand.params import DemandParams

__all__ = [
    "AnchorLayout",
    "WeightedGroups",
    "anchor_attraction",
    "anchor_layout",
    "anchor_times",
    "node_weights",
    "zone_members",
    "zone_pace",
    "zone_travel_times",
]

log = logging.getLogger(__name__)


class WeightedGroups:
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


def zone_members(city: City) -> list[np.ndarray]:
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


def node_weights(city: City, params: DemandParams) -> tuple[np.ndarray, np.ndarray]:
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


class AnchorLayout(NamedTuple):
    """Anchors and their catchments (see :class:`twin.demand.model.DemandModel`)."""

    anchors: np.ndarray
    anchor_zone: np.ndarray
    anchor_ptr: np.ndarray
    residents: np.ndarray  # per anchor: residents of its catchment
    within: np.ndarray  # [p, a]: mapped attraction of each catchment per purpose
    homes: WeightedGroups  # per anchor: catchment nodes weighted by residents
    second: np.ndarray  # per homes item: global index of the node's second-nearest anchor


def anchor_layout(city: City, params: DemandParams, population: np.ndarray) -> AnchorLayout:
    """Choose each zone's anchors and split its nodes, residents and attraction among them."""
    net = city.drive
    k = len(city.zones)
    members = zone_members(city)
    mapped, node_attraction = node_weights(city, params)
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
    return AnchorLayout(
        anchors=np.concatenate(anchors),
        anchor_zone=np.concatenate(anchor_zone),
        anchor_ptr=anchor_ptr,
        residents=np.concatenate(residents),
        within=np.concatenate(within, axis=1),
        homes=WeightedGroups(home_items, home_weights),
        second=np.concatenate(second).astype(np.int64),
    )


def anchor_attraction(
    city: City, params: DemandParams, layout: AnchorLayout, population: np.ndarray
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


def anchor_times(
    city: City, params: DemandParams, layout: AnchorLayout, zone_times: np.ndarray
) -> np.ndarray:
    """``float[a, a]``: free-flow seconds between anchors
    (see :class:`twin.demand.model.DemandModel`)."""
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
