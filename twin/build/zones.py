"""Zones: the wards and communes of the admin boundaries, or a regular grid.

Admin zones
-----------
Candidates are ``boundary=administrative`` relations finer than a province
(``admin_level`` ≥ :data:`MIN_ADMIN_LEVEL`). The finest level whose polygons hold at least
:data:`MIN_COVERAGE` of the drive nodes (and has at least two zones) is used; Huế's extract
gives its wards and communes at ``admin_level=6`` (the units of the 2025 reform).

An extract cuts boundaries at its edge, so many relations arrive with some member ways
missing (in Huế 9 of 22 wards are complete). A complete relation is the polygon osmium
assembles. An incomplete one is rebuilt from the member ways that are present: they are
merged into chains, the chains are joined end to nearest end into one ring and the ring is
closed with a straight chord (the missing part lies outside the extract anyway). Overlaps
are then resolved in favour of the better-known zone: complete polygons first, then the
rebuilt ones by the share of their member ways present. Every zone is finally clipped to
the study area — the convex hull of the drive nodes, buffered by :data:`STUDY_BUFFER_M` —
and zones left with no area are dropped. A point (drive node, building, POI) outside every
zone goes to the nearest one.

``kind`` is ``"commune"`` for names starting with ``Xã``/``Huyện``, else ``"ward"``.

Attraction weights
------------------
``population`` (with ``pop_buildings`` + ``pop_network``, see :mod:`twin.build.population`);
``jobs`` — non-residential floor area / :data:`FLOOR_M2_PER_JOB` plus
:data:`JOBS_PER_POINT` for every shop, office, café, bank, clinic, … mapped as a node
(most of Huế's businesses are nodes in unmapped shophouses); ``schools`` — schools,
colleges, universities and kindergartens (nodes or areas); ``markets`` — market POIs;
``pois`` — all POIs. The floor areas themselves are kept as ``res_floor_m2`` and
``nonres_floor_m2``.

Grid zones
----------
When a file has no usable boundaries, zones are the cells of a square grid of
:data:`GRID_CELL_M` metres over the drive network that hold at least one drive node, named
``"grid r{row}c{col}"``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.ops import linemerge

from twin.build.population import Population
from twin.city import ZONE_CONTRACT_COLUMNS
from twin.network import Network

logger = logging.getLogger(__name__)

#: Admin levels below this (country 2, province 4) are never zones.
MIN_ADMIN_LEVEL = 5
#: Share of drive nodes the chosen admin level must cover.
MIN_COVERAGE = 0.5
#: Metres by which the drive network's convex hull is grown to make the study area.
STUDY_BUFFER_M = 500.0
#: Side of a grid cell, metres.
GRID_CELL_M = 1000.0
#: Non-residential floor area per job, m² (the ``jobs`` weight).
FLOOR_M2_PER_JOB = 25.0
#: Jobs counted for each shop, office, café, bank, … mapped as a node.
JOBS_PER_POINT = 5.0
#: Columns of the zone table: the contract of twin/city.py, then the extras.
ZONE_COLUMNS: tuple[str, ...] = (
    *ZONE_CONTRACT_COLUMNS,
    "osm_id",
    "pop_buildings",
    "pop_network",
    "res_floor_m2",
    "nonres_floor_m2",
)


@dataclass(frozen=True)
class AdminBoundary:
    """One ``boundary=administrative`` relation as read from the file.

    Attributes
    ----------
    rel_id
        OSM relation id.
    name
        ``name`` tag (Vietnamese, with diacritics).
    level
        ``admin_level`` as an integer.
    polygon
        The assembled (multi)polygon in projected metres, or ``None`` when incomplete.
    lines
        The member ways present in the file (projected LineStrings).
    n_members
        Member ways the relation lists (present or not).
    """

    rel_id: int
    name: str
    level: int
    polygon: object | None
    lines: tuple
    n_members: int

    @property
    def completeness(self) -> float:
        """Share of member ways present (1 when the polygon is assembled)."""
        if self.polygon is not None:
            return 1.0
        return len(self.lines) / self.n_members if self.n_members else 0.0


def zone_kind(name: str) -> str:
    """``"commune"`` for Xã / Huyện, ``"ward"`` otherwise (Phường, Quận, Thị trấn, …)."""
    first = name.strip().split(" ")[0].casefold() if name.strip() else ""
    return "commune" if first in ("xã", "huyện", "xa", "huyen") else "ward"


def study_area(drive: Network, *, buffer_m: float = STUDY_BUFFER_M):
    """Convex hull of the drive nodes grown by ``buffer_m`` metres (shapely polygon)."""
    points = shapely.multipoints(np.column_stack([drive.x, drive.y]))
    return shapely.buffer(shapely.convex_hull(points), buffer_m)


def rebuild_polygon(lines: tuple):
    """A polygon from the member ways of an incomplete boundary (chains closed by chords).

    Returns ``None`` when the lines enclose nothing.
    """
    if not lines:
        return None
    merged = linemerge(shapely.MultiLineString(list(lines)))
    chains = [merged] if merged.geom_type == "LineString" else list(merged.geoms)
    closed = [shapely.Polygon(c.coords) for c in chains if c.is_ring and len(c.coords) >= 4]
    open_chains = [list(c.coords) for c in chains if not c.is_ring]
    parts = list(closed)
    if open_chains:
        open_chains.sort(key=len, reverse=True)
        ring = open_chains.pop(0)
        while open_chains:
            end = np.asarray(ring[-1])
            best, best_d, flip = 0, np.inf, False
            for k, chain in enumerate(open_chains):
                d_start = float(np.hypot(*(np.asarray(chain[0]) - end)))
                d_end = float(np.hypot(*(np.asarray(chain[-1]) - end)))
                if min(d_start, d_end) < best_d:
                    best, best_d, flip = k, min(d_start, d_end), d_end < d_start
            chain = open_chains.pop(best)
            ring.extend(reversed(chain) if flip else chain)
        if len(ring) >= 3:
            parts.append(shapely.make_valid(shapely.Polygon(ring)))
    if not parts:
        return None
    poly = shapely.union_all([shapely.make_valid(p) for p in parts])
    poly = _polygonal(poly)
    return poly if poly is not None and poly.area > 0 else None


def _polygonal(geom):
    """The polygonal part of a geometry (drops stray lines and points), or ``None``."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else None
    return None


def admin_zone_geometries(
    boundaries: list[AdminBoundary], area
) -> tuple[list[AdminBoundary], list]:
    """Zone polygons of one admin level, overlaps resolved and clipped to ``area``.

    Returns the boundaries kept and their polygons (same order, sorted by name).
    """
    ranked = sorted(boundaries, key=lambda b: (-b.completeness, b.name, b.rel_id))
    taken = None
    kept: list[tuple[AdminBoundary, object]] = []
    for b in ranked:
        poly = b.polygon if b.polygon is not None else rebuild_polygon(b.lines)
        if poly is None:
            continue
        poly = shapely.make_valid(poly).intersection(area)
        if taken is not None:
            poly = poly.difference(taken)
        poly = _polygonal(poly)
        if poly is None or poly.area < 1.0:
            continue
        taken = poly if taken is None else shapely.union(taken, poly)
        kept.append((b, poly))
    kept.sort(key=lambda bp: (bp[0].name, bp[0].rel_id))
    return [b for b, _ in kept], [p for _, p in kept]


def assign_points(polygons: list, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zone of each point: the polygon it lies in, else the nearest polygon.

    Returns
    -------
    (int32 zone per point, bool "was inside a polygon" per point)
    """
    n = len(x)
    zone = np.full(n, -1, dtype=np.int32)
    if n == 0 or not polygons:
        return zone, np.zeros(n, dtype=bool)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    # Lowest zone number wins for a point on a shared edge: fill from the last zone down.
    for z in range(len(polygons) - 1, -1, -1):
        poly = polygons[z]
        xmin, ymin, xmax, ymax = poly.bounds
        cand = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
        if len(cand) == 0:
            continue
        shapely.prepare(poly)
        zone[cand[shapely.intersects_xy(poly, x[cand], y[cand])]] = z
    inside = zone >= 0
    if (~inside).any():
        outside = np.flatnonzero(~inside)
        tree = shapely.STRtree(np.asarray(polygons, dtype=object))
        pt, poly_idx = tree.query_nearest(shapely.points(x[outside], y[outside]), all_matches=False)
        zone[outside[pt]] = poly_idx
    return zone, inside


def choose_admin_zones(
    boundaries: list[AdminBoundary], drive: Network, area
) -> tuple[list[AdminBoundary], list, int | None, dict]:
    """Pick the finest admin level that covers the drive network (rules above).

    Returns the boundaries, their polygons, the level chosen (``None`` when none fits) and
    a report of what each level covered.
    """
    levels = sorted({b.level for b in boundaries if b.level >= MIN_ADMIN_LEVEL}, reverse=True)
    report: dict = {}
    for level in levels:
        kept, polys = admin_zone_geometries([b for b in boundaries if b.level == level], area)
        if len(polys) < 2:
            report[str(level)] = {"zones": len(polys), "coverage": 0.0}
            continue
        _, inside = assign_points(polys, drive.x, drive.y)
        kept_ids = {b.rel_id for b in kept}
        coverage = float(inside.mean()) if len(inside) else 0.0
        report[str(level)] = {
            "zones": len(polys),
            "coverage": round(coverage, 4),
            "complete": sum(b.polygon is not None for b in kept),
            "rebuilt": [b.name for b in kept if b.polygon is None],
            "dropped": sorted(
                b.name for b in boundaries if b.level == level and b.rel_id not in kept_ids
            ),
        }
        if coverage >= MIN_COVERAGE:
            return kept, polys, level, report
    return [], [], None, report


def grid_geometries(drive: Network, *, cell_m: float = GRID_CELL_M) -> tuple[list[str], list]:
    """Square cells of ``cell_m`` metres over the drive network that hold a drive node."""
    x0 = np.floor(drive.x.min() / cell_m) * cell_m
    y0 = np.floor(drive.y.min() / cell_m) * cell_m
    col = ((drive.x - x0) // cell_m).astype(np.int64)
    row = ((drive.y - y0) // cell_m).astype(np.int64)
    cells = sorted(set(zip(row.tolist(), col.tolist(), strict=True)))
    names = [f"grid r{r:02d}c{c:02d}" for r, c in cells]
    polys = [
        shapely.box(x0 + c * cell_m, y0 + r * cell_m, x0 + (c + 1) * cell_m, y0 + (r + 1) * cell_m)
        for r, c in cells
    ]
    return names, polys


def zone_frame(
    names: list[str], kinds: list[str], polygons: list, drive: Network, node_zone: np.ndarray
) -> pd.DataFrame:
    """The zone table's geometry columns: ``zone``, ``name``, ``kind``, ``x``, ``y``,
    ``area_km2``, ``drive_node`` and ``geometry`` (WKB).

    ``drive_node`` is the zone's own drive node nearest its centroid (any drive node when
    the zone holds none), so it always lies in the drive network.
    """
    geoms = np.asarray(polygons, dtype=object)
    cent = shapely.centroid(geoms)
    cx, cy = shapely.get_x(cent), shapely.get_y(cent)
    drive_node = np.empty(len(names), dtype=np.int64)
    for z in range(len(names)):
        members = np.flatnonzero(node_zone == z)
        if len(members) == 0:
            members = np.arange(drive.n_nodes)
        d = np.hypot(drive.x[members] - cx[z], drive.y[members] - cy[z])
        drive_node[z] = members[int(np.argmin(d))]
    return pd.DataFrame(
        {
            "zone": np.arange(len(names), dtype=np.int32),
            "name": pd.Series(names, dtype=object),
            "kind": pd.Series(kinds, dtype=object),
            "x": cx,
            "y": cy,
            "area_km2": shapely.area(geoms) / 1e6,
            "drive_node": drive_node,
            "geometry": pd.Series(list(shapely.to_wkb(geoms)), dtype=object),
        }
    )


def add_weights(
    zones: pd.DataFrame,
    *,
    population: Population,
    res_floor_m2: np.ndarray,
    nonres_floor_m2: np.ndarray,
    job_point_zone: np.ndarray,
    school_zone: np.ndarray,
    market_zone: np.ndarray,
    poi_zone: np.ndarray,
) -> pd.DataFrame:
    """Add the population and attraction weights (rules above) to a :func:`zone_frame`.

    Parameters
    ----------
    zones
        From :func:`zone_frame` (plus ``osm_id``).
    population
        From :func:`twin.build.population.distribute`.
    res_floor_m2, nonres_floor_m2
        Per zone, residential and other floor area, m².
    job_point_zone, school_zone, market_zone, poi_zone
        The zone of each job-bearing node, school, market and POI.
    """
    n = len(zones)
    out = zones.copy()
    out["population"] = population.zone_total
    out["pop_buildings"] = population.zone_buildings
    out["pop_network"] = population.zone_network
    out["jobs"] = nonres_floor_m2 / FLOOR_M2_PER_JOB + JOBS_PER_POINT * np.bincount(
        np.asarray(job_point_zone, dtype=np.int64), minlength=n
    )
    for column, where in (("schools", school_zone), ("markets", market_zone), ("pois", poi_zone)):
        out[column] = np.bincount(np.asarray(where, dtype=np.int64), minlength=n).astype(float)
    out["res_floor_m2"] = res_floor_m2
    out["nonres_floor_m2"] = nonres_floor_m2
    return out[list(ZONE_COLUMNS)]
