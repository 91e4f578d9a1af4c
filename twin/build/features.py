"""What the city holds: POIs, buildings, zones and residents, read from an OSM file.

:func:`city_features` is the one entry point the build calls. It reads the file with
pyosmium in two passes (relations first, to learn which ways bound the admin areas, then
everything with osmium's area assembly for closed ways and multipolygons), projects to the
city's CRS with pyproj and hands the pieces to :mod:`twin.build.pois`, :mod:`twin.build.buildings`,
:mod:`twin.build.zones` and :mod:`twin.build.population`, whose docstrings state the rules.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyproj
import shapely

from twin.build.buildings import BUILDING_COLUMNS, building_table, building_uses, use_from_tags
from twin.build.osm import osm_format
from twin.build.pois import (
    POI_COLUMNS,
    PoiRule,
    attach_to_networks,
    deduplicate,
    load_poi_rules,
    poi_candidates,
)
from twin.build.population import FLOOR_M2_PER_RESIDENT, distribute
from twin.build.zones import (
    GRID_CELL_M,
    AdminBoundary,
    add_weights,
    assign_points,
    choose_admin_zones,
    grid_geometries,
    study_area,
    zone_frame,
    zone_kind,
)
from twin.errors import OSMReadError
from twin.network import Network

logger = logging.getLogger(__name__)

#: Keys that make a tagged object worth reading (POIs, building uses, land use).
FEATURE_KEYS: tuple[str, ...] = (
    "amenity",
    "tourism",
    "historic",
    "healthcare",
    "man_made",
    "shop",
    "office",
    "leisure",
    "landuse",
    "building",
    "religion",
    "name",
)
#: Amenities counted as schools in a zone's ``schools`` weight.
SCHOOL_AMENITIES = frozenset({"school", "college", "university", "kindergarten"})


@dataclass(frozen=True)
class CityFeatures:
    """POIs, buildings and zones of a city (columns in :mod:`twin.city`'s docstring).

    Attributes
    ----------
    pois, buildings, zones
        The tables.
    node_zone
        ``int32[drive.n_nodes]``: zone of each drive node.
    report
        Counts and what was dropped or estimated, for the build log and metadata.
    node_residents
        ``float64[drive.n_nodes]``: residents attached to each drive node (buildings at
        their nearest node of the same zone, the street share along the streets); sums to
        the population.
    """

    pois: pd.DataFrame
    buildings: pd.DataFrame
    zones: pd.DataFrame
    node_zone: np.ndarray
    report: dict
    node_residents: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class OSMObjects:
    """The parts of an OSM file that the features need, geometries in lon/lat.

    Attributes
    ----------
    features
        Tagged nodes, open ways and areas: ``osm_kind``, ``osm_id``, ``tags``, ``geometry``.
    boundaries
        ``boundary=administrative`` relations: ``rel_id``, ``tags``, ``members`` (way ids).
    member_lines
        Way id → LineString of each boundary member way present in the file.
    admin_areas
        Relation id → assembled (multi)polygon, for the complete boundaries.
    failed_areas
        Areas osmium could not assemble (broken rings), by ``"way/…"``/``"relation/…"`` id.
    """

    features: pd.DataFrame
    boundaries: list[dict]
    member_lines: dict[int, object]
    admin_areas: dict[int, object]
    failed_areas: list[str]


def _tags(obj) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


def _wanted(tags: dict[str, str]) -> bool:
    if not any(k in tags for k in FEATURE_KEYS):
        return False
    # Named roads, rivers and places are not POIs; tagged ones (a scenic street) may be.
    return not (
        ("highway" in tags or "waterway" in tags or "place" in tags or "boundary" in tags)
        and not any(k in tags for k in ("amenity", "tourism", "historic", "man_made"))
    )


def read_osm_objects(source: Path) -> OSMObjects:
    """Read the tagged features and admin boundaries of an OSM file (lon/lat geometries).

    Parameters
    ----------
    source
        ``.osm``, ``.osm.pbf`` or ``.osm.bz2``.
    """
    source = Path(source)
    fmt = osm_format(source)  # SourceNotFoundError / OSMReadError with a clear message
    try:
        return _read(source, fmt)
    except (RuntimeError, ValueError) as exc:  # damaged; a tag too long for libosmium
        raise OSMReadError(
            f"{source}: cannot be read as OSM ({exc}); expected a complete .osm, .osm.pbf or "
            ".osm.bz2 file — download it again or convert it with osmium"
        ) from exc


def _read(source: Path, fmt: str) -> OSMObjects:
    boundaries: list[dict] = []
    members: set[int] = set()
    for rel in osmium.FileProcessor(osmium.io.File(str(source), fmt), osmium.osm.RELATION):
        tags = _tags(rel)
        if tags.get("boundary") == "administrative" and "admin_level" in tags:
            ways = [m.ref for m in rel.members if m.type == "w" and m.role in ("outer", "")]
            boundaries.append({"rel_id": rel.id, "tags": tags, "members": ways})
            members.update(ways)

    kinds: list[str] = []
    ids: list[int] = []
    tag_list: list[dict[str, str]] = []
    node_lonlat: list[tuple[float, float]] = []
    node_rows: list[int] = []
    line_rows: list[int] = []
    line_coords: list[list[tuple[float, float]]] = []
    area_rows: list[int] = []
    area_wkb: list[str] = []
    member_lines: dict[int, object] = {}
    admin_wkb: dict[int, str] = {}
    failed: list[str] = []
    wkb = osmium.geom.WKBFactory()
    processor = osmium.FileProcessor(osmium.io.File(str(source), fmt)).with_areas(
        osmium.filter.KeyFilter(*FEATURE_KEYS, "boundary")
    )
    for obj in processor:
        if obj.is_node():
            if not obj.tags:
                continue
            tags = _tags(obj)
            if _wanted(tags) and obj.location.valid():
                node_rows.append(len(kinds))
                node_lonlat.append((obj.location.lon, obj.location.lat))
                kinds.append("node")
                ids.append(obj.id)
                tag_list.append(tags)
        elif obj.is_way():
            if obj.id in members:
                coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if len(coords) >= 2:
                    member_lines[obj.id] = shapely.LineString(coords)
            if not obj.tags or obj.is_closed():
                continue  # closed ways come back as areas
            tags = _tags(obj)
            if _wanted(tags):
                coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if len(coords) >= 2:
                    line_rows.append(len(kinds))
                    line_coords.append(coords)
                    kinds.append("way")
                    ids.append(obj.id)
                    tag_list.append(tags)
        elif obj.is_area():
            tags = _tags(obj)
            kind = "way" if obj.from_way() else "relation"
            admin = tags.get("boundary") == "administrative" and not obj.from_way()
            if not (admin or _wanted(tags)):
                continue
            try:
                geom = wkb.create_multipolygon(obj)
            except RuntimeError:
                failed.append(f"{kind}/{obj.orig_id()}")
                continue
            if admin:
                admin_wkb[obj.orig_id()] = geom
                if not _wanted(tags):
                    continue
            area_rows.append(len(kinds))
            area_wkb.append(geom)
            kinds.append(kind)
            ids.append(obj.orig_id())
            tag_list.append(tags)

    geometry = np.empty(len(kinds), dtype=object)
    if node_rows:
        lonlat = np.asarray(node_lonlat)
        geometry[node_rows] = shapely.points(lonlat[:, 0], lonlat[:, 1])
    for row, coords in zip(line_rows, line_coords, strict=True):
        geometry[row] = shapely.LineString(coords)
    if area_rows:
        geometry[area_rows] = shapely.from_wkb(area_wkb)
    features = pd.DataFrame(
        {
            "osm_kind": pd.Series(kinds, dtype=object),
            "osm_id": np.asarray(ids, dtype=np.int64),
            "tags": pd.Series(tag_list, dtype=object),
            "geometry": pd.Series(list(geometry), dtype=object),
        }
    )
    admin_areas = {k: shapely.from_wkb(v) for k, v in admin_wkb.items()}
    return OSMObjects(features, boundaries, member_lines, admin_areas, failed)


def _projector(crs: str):
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inverse = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(geoms):
        return shapely.transform(
            geoms, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1]))
        )

    return project, inverse


def city_features(
    source: Path,
    drive: Network,
    walk: Network,
    *,
    crs: str,
    population: float | None,
    extra_pois: pd.DataFrame,
    poi_rules: list[PoiRule] | None = None,
    grid_cell_m: float = GRID_CELL_M,
    floor_m2_per_resident: float = FLOOR_M2_PER_RESIDENT,
) -> CityFeatures:
    """POIs, buildings, zones and residents of the city in ``source``.

    Parameters
    ----------
    source
        The OSM file the networks were built from.
    drive, walk
        The city's networks (``x``/``y`` in ``crs``).
    crs
        Projected CRS of the networks (``"EPSG:32648"`` for Huế).
    population
        Residents to share out (the zones' populations sum to it); ``None`` estimates them
        as the mapped residential floor area over ``floor_m2_per_resident`` (every resident
        then lives in a mapped building).
    extra_pois
        POIs that are not in the file (the tombs past the extract's edge), with the POI
        table's columns (at least ``name``, ``category``, ``lon``, ``lat``, ``x``, ``y``,
        ``drive_node``, ``walk_node``, ``access_m``); they are appended as they are.
    poi_rules
        POI classification rules (:func:`twin.build.pois.load_poi_rules`); the shipped table
        when ``None``.
    grid_cell_m
        Side of a grid zone, metres, when the file has no usable admin boundaries.
    floor_m2_per_resident
        Residential floor area per resident, m² (:mod:`twin.build.population`).

    Returns
    -------
    CityFeatures
    """
    started = time.perf_counter()
    objects = read_osm_objects(source)
    read_s = time.perf_counter() - started
    project, inverse = _projector(crs)
    feats = objects.features
    geoms = project(np.asarray(feats["geometry"].to_numpy(), dtype=object))
    feats = feats.assign(geometry=list(geoms))
    tags = feats["tags"].tolist()
    report: dict = {"failed_areas": objects.failed_areas}

    # -- zones -------------------------------------------------------------------------
    area = study_area(drive)
    boundaries = []
    for b in objects.boundaries:
        try:
            level = int(b["tags"].get("admin_level", ""))
        except ValueError:
            continue
        polygon = objects.admin_areas.get(b["rel_id"])
        lines = tuple(objects.member_lines[w] for w in b["members"] if w in objects.member_lines)
        boundaries.append(
            AdminBoundary(
                rel_id=b["rel_id"],
                name=b["tags"].get("name", f"relation {b['rel_id']}"),
                level=level,
                polygon=project(polygon) if polygon is not None else None,
                lines=tuple(project(np.asarray(lines, dtype=object))) if lines else (),
                n_members=len(b["members"]),
            )
        )
    kept, polygons, level, level_report = choose_admin_zones(boundaries, drive, area)
    if polygons:
        names = [b.name for b in kept]
        kinds = [zone_kind(n) for n in names]
        osm_ids = [b.rel_id for b in kept]
        zone_source = f"admin_level={level}"
    else:
        names, polygons = grid_geometries(drive, cell_m=grid_cell_m)
        kinds = ["grid"] * len(names)
        osm_ids = [-1] * len(names)
        zone_source = f"grid {grid_cell_m:g} m"
    node_zone, node_inside = assign_points(polygons, drive.x, drive.y)
    report["zones"] = {
        "source": zone_source,
        "count": len(names),
        "levels": level_report,
        "drive_nodes_outside": int((~node_inside).sum()),
    }

    # -- POIs --------------------------------------------------------------------------
    rules = poi_rules if poi_rules is not None else load_poi_rules()
    candidates = poi_candidates(feats, rules)
    pois, merged = deduplicate(candidates)
    pois = attach_to_networks(pois, drive, walk)
    lon, lat = inverse.transform(pois["x"].to_numpy(float), pois["y"].to_numpy(float))
    pois = pois.assign(lon=lon, lat=lat, source="osm")
    pois = _append_extras(pois, extra_pois)
    poi_zone, _ = assign_points(polygons, pois["x"].to_numpy(float), pois["y"].to_numpy(float))
    pois["zone"] = poi_zone
    pois = pois[[*POI_COLUMNS, "zone"]].reset_index(drop=True)
    report["pois"] = {
        "count": len(pois),
        "by_category": {k: int(v) for k, v in pois["category"].value_counts().sort_index().items()},
        "unnamed": int((pois["name"] == "").sum()),
        "duplicates_merged": [f"{a} -> {b}" for a, b in merged],
        "extra": pois.loc[pois["source"] == "extra", "poi_id"].tolist(),
    }

    # -- buildings ---------------------------------------------------------------------
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6))
    is_building = np.array(
        [p and t.get("building", "no") != "no" for p, t in zip(polygonal, tags, strict=True)],
        dtype=bool,
    )
    b_rows = np.flatnonzero(is_building)
    point_rows = np.flatnonzero(types == 0)
    point_uses = np.array([use_from_tags(tags[i]) for i in point_rows], dtype=object)
    has_use = np.array([u is not None and u != "residential" for u in point_uses], dtype=bool)
    ctx_rows = np.flatnonzero(polygonal & ~is_building)
    ctx_uses = np.array([use_from_tags(tags[i]) for i in ctx_rows], dtype=object)
    ctx_keep = np.array([u is not None for u in ctx_uses], dtype=bool)
    b_tags = [tags[i] for i in b_rows]
    b_geoms = geoms[b_rows]
    uses = building_uses(
        b_tags,
        b_geoms,
        poi_points=geoms[point_rows[has_use]],
        poi_uses=point_uses[has_use] if len(point_uses) else point_uses,
        context_geoms=geoms[ctx_rows[ctx_keep]],
        context_uses=ctx_uses[ctx_keep] if len(ctx_uses) else ctx_uses,
    )
    osm_kind, osm_id = feats["osm_kind"].tolist(), feats["osm_id"].tolist()
    b_ids = [f"{osm_kind[i]}/{osm_id[i]}" for i in b_rows]
    buildings = building_table(b_ids, b_tags, b_geoms, uses)
    b_zone, _ = assign_points(
        polygons, buildings["x"].to_numpy(float), buildings["y"].to_numpy(float)
    )
    buildings["zone"] = b_zone

    # -- population --------------------------------------------------------------------
    residential = buildings["use"].to_numpy() == "residential"
    floor = buildings["floor_area_m2"].to_numpy(float)
    residential_floor_m2 = float(np.where(residential, floor, 0.0).sum())
    estimated = population is None
    if population is None:
        population = residential_floor_m2 / floor_m2_per_resident
    pop = distribute(
        float(population),
        residential_floor_m2=np.where(residential, floor, 0.0),
        building_zone=b_zone,
        building_xy=buildings[["x", "y"]].to_numpy(float),
        drive=drive,
        node_zone=node_zone,
        n_zones=len(names),
        floor_m2_per_resident=floor_m2_per_resident,
    )
    buildings["residents"] = pop.building
    buildings = buildings[list(BUILDING_COLUMNS)]
    report["buildings"] = {
        "count": len(buildings),
        "height_source": dict(Counter(buildings["height_source"])),
        "use": dict(Counter(buildings["use"])),
        "footprint_km2": round(float(buildings["footprint_m2"].sum()) / 1e6, 4),
        "floor_area_km2": round(float(floor.sum()) / 1e6, 4),
    }
    report["population"] = {
        "total": float(population),
        "estimated": estimated,
        "residential_floor_m2": round(residential_floor_m2, 1),
        "floor_m2_per_resident": float(floor_m2_per_resident),
        "in_mapped_buildings": float(pop.zone_buildings.sum()),
        "on_streets": float(pop.zone_network.sum()),
        "residents_per_street_m": pop.density_per_m,
        "building_scale": pop.building_scale,
    }

    # -- zone table --------------------------------------------------------------------
    zones = zone_frame(names, kinds, polygons, drive, node_zone)
    zones.insert(3, "osm_id", np.asarray(osm_ids, dtype=np.int64))
    n_zones = len(zones)
    job_points = point_rows[has_use]
    jp_zone, _ = assign_points(
        polygons, shapely.get_x(geoms[job_points]), shapely.get_y(geoms[job_points])
    )
    zones = add_weights(
        zones,
        population=pop,
        res_floor_m2=np.bincount(
            b_zone, weights=np.where(residential, floor, 0.0), minlength=n_zones
        ),
        nonres_floor_m2=np.bincount(
            b_zone, weights=np.where(residential, 0.0, floor), minlength=n_zones
        ),
        job_point_zone=jp_zone,
        school_zone=_school_zones(tags, geoms, polygons),
        market_zone=poi_zone[pois["category"].to_numpy() == "market"],
        poi_zone=poi_zone,
    )
    # timings go to the log, not the report: the bundle must not change from build to build
    logger.info(
        "features: %d POIs, %d buildings, %d zones (%s) in %.1f s (reading %.1f s)",
        len(pois),
        len(buildings),
        n_zones,
        zone_source,
        time.perf_counter() - started,
        read_s,
    )
    return CityFeatures(
        pois=pois,
        buildings=buildings.reset_index(drop=True),
        zones=zones,
        node_zone=node_zone.astype(np.int32),
        report=report,
        node_residents=pop.node,
    )


def _school_zones(tags: list, geoms: np.ndarray, polygons: list) -> np.ndarray:
    """Zone of each school, college, university or kindergarten (node or area)."""
    rows = [i for i, t in enumerate(tags) if t.get("amenity") in SCHOOL_AMENITIES]
    if not rows:
        return np.zeros(0, dtype=np.int64)
    points = shapely.point_on_surface(geoms[rows])
    zone, _ = assign_points(polygons, shapely.get_x(points), shapely.get_y(points))
    return zone.astype(np.int64)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_") or "poi"


def _append_extras(pois: pd.DataFrame, extra: pd.DataFrame | None) -> pd.DataFrame:
    """Append the extra POIs, filling the columns they lack."""
    if extra is None or len(extra) == 0:
        return pois
    extra = extra.copy()
    if "poi_id" not in extra:
        extra["poi_id"] = [f"extra/{_slug(str(n))}" for n in extra["name"]]
    extra["source"] = extra.get("source", "extra")
    if "size" not in extra:
        extra["size"] = np.nan
    if "categories" not in extra:
        extra["categories"] = extra["category"]
    extra["osm_kind"] = "extra"
    cols = [c for c in POI_COLUMNS if c in pois.columns]
    return pd.concat([pois[cols], extra[[c for c in cols if c in extra]]], ignore_index=True)
