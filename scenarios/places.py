"""Where a scenario acts: roads by name, way id or area, polygons, points snapped to nodes.

Scenario files give places the way planners know them: a road by its OpenStreetMap name
(``"Cầu Trường Tiền"``, diacritics included) or way id, an area as a polygon of
longitude/latitude pairs or a GeoJSON file, a point as ``[lon, lat]``, a place by the name
of a tourist site or a POI. These functions turn them into the city's edges and nodes, and
note a :class:`~scenarios.problems.Problem` (with the closest names, or the fix) instead of
stopping at the first mistake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from scenarios.problems import Problems
from twin.city import City
from twin.errors import RoadNotFoundError
from twin.road_lookup import find_road

__all__ = ["Area", "areas_of", "edges_in", "node_near", "place_node", "roads_of"]


@dataclass(frozen=True)
class Area:
    """A polygon in the city's CRS (metres) and a value it carries (a flood's depth)."""

    polygon: shapely.Geometry
    depth_m: float | None = None


def _transformer(city: City) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)


def _lonlat_pairs(value: Any) -> np.ndarray | None:
    try:
        pairs = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.isfinite(pairs).all():
        return None
    return pairs


def areas_of(item: dict, city: City, problems: Problems, key: str) -> list[Area]:
    """The polygons of an ``area = [[lon, lat], …]`` or ``geojson = "file"`` entry, checked:
    valid, inside the city, holding at least one road. GeoJSON features may carry their own
    ``depth_m``."""
    shapes: list[tuple[shapely.Geometry, float | None, str]] = []
    if "area" in item:
        pairs = _lonlat_pairs(item["area"])
        if pairs is None or len(pairs) < 3:
            problems.add(
                f"{key}.area",
                "an area is a list of at least three [lon, lat] pairs, e.g. "
                "[[107.58, 16.46], [107.59, 16.46], [107.59, 16.47]]",
            )
            return []
        x, y = _transformer(city).transform(pairs[:, 0], pairs[:, 1])
        shapes.append((shapely.Polygon(np.column_stack([x, y])), None, f"{key}.area"))
    if "geojson" in item:
        shapes.extend(_geojson(item["geojson"], city, problems, f"{key}.geojson"))
    areas = []
    lon, lat = city.drive.lon, city.drive.lat
    for polygon, depth, where in shapes:
        if not polygon.is_valid:
            problems.add(
                where,
                f"the polygon is not valid ({explain_validity(polygon)}); draw it without "
                "crossing edges",
            )
            continue
        hull = shapely.MultiPoint(np.column_stack([city.drive.x, city.drive.y])).convex_hull
        if not polygon.intersects(hull):
            problems.add(
                where,
                f"the polygon lies outside {city.name} (its roads span lon "
                f"{lon.min():.4f}..{lon.max():.4f}, lat {lat.min():.4f}..{lat.max():.4f}); "
                "check that coordinates are [lon, lat], not [lat, lon]",
            )
            continue
        if not len(edges_in(city, polygon)):
            problems.add(where, "the polygon contains no road; draw it over the roads meant")
            continue
        areas.append(Area(polygon, depth))
    return areas


def _geojson(path: Any, city: City, problems: Problems, key: str) -> list:
    try:
        data = json.loads(Path(str(path)).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.add(key, f"cannot read the GeoJSON file {path!r} ({exc}); give a GeoJSON file")
        return []
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    out = []
    transformer = _transformer(city)
    for k, feature in enumerate(features or []):
        geometry = feature.get("geometry", feature) if isinstance(feature, dict) else None
        props = feature.get("properties") or {} if isinstance(feature, dict) else {}
        try:
            geom = shape(geometry)
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            problems.add(f"{key}[{k}]", f"not a GeoJSON geometry ({exc})")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.add(f"{key}[{k}]", f"a {geom.geom_type}; flood areas are polygons")
            continue
        projected = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(
            xy[:, 0], xy[:, 1]
        )))  # fmt: skip
        depth = props.get("depth_m")
        out.append((projected, float(depth) if depth is not None else None, f"{key}[{k}]"))
    if not out and not problems:
        problems.add(key, "the GeoJSON file holds no polygon")
    return out


def edges_in(city: City, polygon: shapely.Geometry) -> np.ndarray:
    """Positions of the drive edges whose straight segment touches ``polygon``."""
    net = city.drive
    tail, head = net.tail, net.indices
    coords = np.stack(
        [np.column_stack([net.x[tail], net.y[tail]]), np.column_stack([net.x[head], net.y[head]])],
        axis=1,
    )
    lines = shapely.linestrings(coords)
    return np.flatnonzero(shapely.intersects(lines, polygon))


def roads_of(item: dict, city: City, problems: Problems, key: str) -> np.ndarray:
    """Edge positions of a road given by ``road`` (OSM name), ``way`` (OSM way id) or
    ``area`` / ``geojson`` (every road in it): exactly one of them."""
    given = [k for k in ("road", "way", "area", "geojson") if k in item]
    if len(given) != 1:
        problems.add(
            key,
            'name the road with exactly one of road = "OSM name", way = OSM way id, or '
            f'area = [[lon, lat], …] / geojson = "file" (got {given or "none"})',
        )
        return np.zeros(0, dtype=np.int64)
    if given[0] in ("area", "geojson"):
        areas = areas_of(item, city, problems, key)
        if not areas:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([edges_in(city, a.polygon) for a in areas]))
    value = item[given[0]]
    if given[0] == "way" and (isinstance(value, bool) or not isinstance(value, int | str)):
        problems.add(f"{key}.way", f"way = {value!r}; give an OSM way id such as 174759688")
        return np.zeros(0, dtype=np.int64)
    if given[0] == "road" and not isinstance(value, str):
        problems.add(f"{key}.road", f"road = {value!r}; give the road's OSM name as text")
        return np.zeros(0, dtype=np.int64)
    try:
        return find_road(city.drive, value)
    except RoadNotFoundError as exc:
        problems.add(f"{key}.{given[0]}", str(exc))
        return np.zeros(0, dtype=np.int64)


def node_near(
    city: City,
    item: dict,
    problems: Problems,
    key: str,
    *,
    point_key: str = "point",
    node_key: str = "node",
    max_snap_m: float = 500.0,
) -> int | None:
    """The drive node id of ``point_key = [lon, lat]`` (the nearest node, at most
    ``max_snap_m`` away) or ``node_key = node id``."""
    if (point_key in item) == (node_key in item):
        problems.add(key, f"give either {point_key} = [lon, lat] or {node_key} = a node id")
        return None
    net = city.drive
    if node_key in item:
        node = item[node_key]
        if isinstance(node, bool) or not isinstance(node, int) or node not in set(net.node_id):
            problems.add(f"{key}.{node_key}", f"{node!r} is not a drive node id of {city.name}")
            return None
        return int(node)
    pairs = _lonlat_pairs([item[point_key]])
    if pairs is None:
        problems.add(f"{key}.{point_key}", "a point is [lon, lat], e.g. [107.585, 16.467]")
        return None
    x, y = _transformer(city).transform(pairs[0, 0], pairs[0, 1])
    distance = np.hypot(net.x - x, net.y - y)
    nearest = int(np.argmin(distance))
    if distance[nearest] > max_snap_m:
        problems.add(
            f"{key}.{point_key}",
            f"[{pairs[0, 0]}, {pairs[0, 1]}] is {distance[nearest]:.0f} m from the nearest "
            f"road (at most {max_snap_m:.0f} m); place it on the drive network",
        )
        return None
    return int(net.node_id[nearest])


def place_node(city: City, name: str, problems: Problems, key: str) -> int | None:
    """The drive node id of a POI (a tourist site, a hospital …) named ``name``."""
    from twin.attractions.sites import fold_accents

    pois = city.pois
    names = pois["name"].astype(str)
    hit = pois[names == name]
    if hit.empty:
        hit = pois[names.map(fold_accents) == fold_accents(name)]
        if not hit.empty:
            problems.add(
                key,
                f"place {name!r} is written without its diacritics; write {hit['name'].iloc[0]!r}",
            )
            return None
        import difflib

        close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
        problems.add(
            key,
            f"no place named {name!r} in {city.name}"
            + (f"; did you mean {' or '.join(map(repr, close))}?" if close else "")
            + " (places are POIs by name, or give point = [lon, lat])",
        )
        return None
    return int(city.drive.node_id[int(hit["drive_node"].iloc[0])])
