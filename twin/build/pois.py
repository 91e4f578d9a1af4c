"""Points of interest: classify OSM features, deduplicate them, attach them to the networks.

The tag → category rules live in ``twin/defaults/poi_classes.csv`` (one readable table; see
its header). A POI mapped as an area (a closed way or a multipolygon) stands at its centroid,
or at a point on its surface when the centroid falls outside (a C-shaped campus); a POI
mapped as an open way (a pier drawn as a line) stands at the middle of the line.

Deduplication
-------------
OSM often maps one place twice: a node and an area (``Chợ Tây Lộc`` as a marketplace node
inside the marketplace area), or two buildings of one pagoda with the same name. Within one
category, a POI is dropped as a duplicate of another that is kept when

- both have the same name (compared without case, diacritics or ``đ``) and they lie within
  :data:`DEDUP_RADIUS_M` of each other, or one lies inside the other's area; or
- it is an unnamed node inside the other's area; or
- it is a tomb or a pagoda/temple (:data:`COMPLEX_CATEGORIES`) lying inside the other's
  area: a royal tomb or a pagoda is a walled complex of many mapped halls and towers
  (Lăng Tự Đức holds "Emperor Tự Đức's Tomb"; Chùa Thiên Mụ holds Tháp Phước Duyên), and a
  visitor goes to the complex. Hospitals are never merged this way: Bệnh viện Quốc tế
  Trung ương Huế is a separate hospital on the central hospital's campus.

Areas are kept before nodes (and larger areas before smaller), so the kept POI is the most
complete mapping. Each dropped POI is listed in the report with the id it merged into.

Network links
-------------
Every POI gets its nearest drive node and walk node and ``access_m``, the straight-line
distance in metres to its drive node: from the POI's point for point and line POIs
(``scipy.spatial.cKDTree``), from the area's outline for area POIs (a campus is entered
from the street along its fence; ``shapely.STRtree.query_nearest``), see
:func:`attach_to_networks`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from twin.city import POI_CATEGORIES, POI_CONTRACT_COLUMNS
from twin.errors import ConfigError
from twin.network import Network

#: Metres within which two same-named POIs of one category are the same place.
DEDUP_RADIUS_M = 50.0
#: Categories whose POIs inside a larger POI of the same category are parts of it.
COMPLEX_CATEGORIES = frozenset({"tomb", "pagoda_temple"})
#: Tags read as a POI's size, in order of preference (rooms of a hotel, beds of a hospital).
SIZE_TAGS: tuple[str, ...] = ("rooms", "beds", "capacity", "capacity:persons")
#: The name tags that the rules' regexes and the deduplication look at.
NAME_TAGS: tuple[str, ...] = ("name", "name:vi", "name:en")
#: The columns of a POI table (twin/city.py), plus ``categories`` and ``osm_kind``.
POI_COLUMNS: tuple[str, ...] = (*POI_CONTRACT_COLUMNS, "categories", "osm_kind")
_RULE_COLUMNS = (
    "priority",
    "category",
    "key",
    "value",
    "if_key",
    "if_value",
    "name_regex",
    "not_name_regex",
)


@dataclass(frozen=True)
class PoiRule:
    """One row of the POI classification table (see ``poi_classes.csv``)."""

    priority: int
    category: str
    key: str
    values: frozenset[str] | None  # None: any value
    if_key: str
    if_values: frozenset[str] | None
    name_regex: re.Pattern | None
    not_name_regex: re.Pattern | None

    def matches(self, tags: dict[str, str], names: list[str]) -> bool:
        """Whether a feature with these tags and names falls under this rule."""
        value = tags.get(self.key)
        if value is None or (self.values is not None and value not in self.values):
            return False
        if self.if_key:
            cond = tags.get(self.if_key)
            if cond is None or (self.if_values is not None and cond not in self.if_values):
                return False
        if self.name_regex is not None and not any(self.name_regex.search(n) for n in names):
            return False
        return not (
            self.not_name_regex is not None and any(self.not_name_regex.search(n) for n in names)
        )


def _values(text: str) -> frozenset[str] | None:
    text = text.strip()
    if text in ("", "*"):
        return None
    return frozenset(v.strip() for v in text.split("|") if v.strip())


def load_poi_rules(path: Path | None = None) -> list[PoiRule]:
    """Read the POI classification table.

    Parameters
    ----------
    path
        A CSV with the columns of ``twin/defaults/poi_classes.csv``; the shipped table when
        ``None``.

    Returns
    -------
    list of PoiRule
        Sorted by priority (the first rule that matches gives the category).
    """
    if path is None:
        text = resources.files("twin").joinpath("defaults/poi_classes.csv").read_text("utf-8")
        where = "twin/defaults/poi_classes.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines)
    missing = set(_RULE_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ConfigError(
            f"{where}: missing columns {sorted(missing)}; expected {list(_RULE_COLUMNS)}"
        )
    rules = []
    for row_no, row in enumerate(reader, start=2):
        category = row["category"].strip()
        if category not in POI_CATEGORIES:
            raise ConfigError(
                f"{where}, row {row_no}: category {category!r} is not one of "
                f"{list(POI_CATEGORIES)}; fix the row or remove it"
            )
        try:
            priority = int(row["priority"])
            name_re = row["name_regex"].strip()
            not_re = row["not_name_regex"].strip()
            rules.append(
                PoiRule(
                    priority=priority,
                    category=category,
                    key=row["key"].strip(),
                    values=_values(row["value"]),
                    if_key=row["if_key"].strip(),
                    if_values=_values(row["if_value"]),
                    name_regex=re.compile(name_re, re.IGNORECASE) if name_re else None,
                    not_name_regex=re.compile(not_re, re.IGNORECASE) if not_re else None,
                )
            )
        except (ValueError, re.error) as exc:
            raise ConfigError(
                f"{where}, row {row_no}: {exc}; priority must be an integer and the "
                "regexes valid Python regular expressions"
            ) from exc
    return sorted(rules, key=lambda r: r.priority)


def feature_names(tags: dict[str, str]) -> list[str]:
    """The non-empty names of a feature (``name``, ``name:vi``, ``name:en``)."""
    return [tags[k] for k in NAME_TAGS if tags.get(k)]


def classify(tags: dict[str, str], rules: list[PoiRule]) -> list[str]:
    """Categories of a feature, best first (empty when it is not a POI).

    Parameters
    ----------
    tags
        The feature's OSM tags.
    rules
        From :func:`load_poi_rules`, sorted by priority.
    """
    names = feature_names(tags)
    found: list[str] = []
    for rule in rules:
        if rule.category not in found and rule.matches(tags, names):
            found.append(rule.category)
    return found


def normalise_name(name: str) -> str:
    """A name without case, diacritics or spacing differences.

    ``"Chùa Từ Đàm"`` → ``"chua tu dam"``.
    """
    text = name.replace("đ", "d").replace("Đ", "D").replace("\\", "")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def parse_size(tags: dict[str, str]) -> float:
    """The first numeric size tag (:data:`SIZE_TAGS`), NaN when there is none."""
    for key in SIZE_TAGS:
        match = re.match(r"\s*(\d+(?:[.,]\d+)?)", tags.get(key, ""))
        if match:
            return float(match.group(1).replace(",", "."))
    return float("nan")


def poi_candidates(features: pd.DataFrame, rules: list[PoiRule]) -> pd.DataFrame:
    """Classify features and place each POI at a point.

    Parameters
    ----------
    features
        One row per tagged OSM feature with ``osm_kind`` (``"node"``, ``"way"``,
        ``"relation"``), ``osm_id``, ``tags`` (dict) and ``geometry`` (shapely, projected
        metres): points for nodes, polygons for areas, lines for open ways.
    rules
        From :func:`load_poi_rules`.

    Returns
    -------
    pandas.DataFrame
        ``poi_id``, ``name``, ``category``, ``categories`` (``;``-joined), ``x``, ``y``,
        ``size``, ``osm_kind``, ``area_m2`` and ``geometry`` (shapely), one row per POI.
    """
    rows = []
    for kind, osm_id, tags, geom in zip(
        features["osm_kind"],
        features["osm_id"],
        features["tags"],
        features["geometry"],
        strict=True,
    ):
        cats = classify(tags, rules)
        if not cats:
            continue
        names = feature_names(tags)
        rows.append(
            {
                "poi_id": f"{kind}/{osm_id}",
                "name": names[0] if names else "",
                "category": cats[0],
                "categories": ";".join(cats),
                "size": parse_size(tags),
                "osm_kind": kind,
                "geometry": geom,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=["poi_id", "name", "category", "categories", "size", "osm_kind", "geometry"],
    )
    geoms = np.asarray(table["geometry"].to_numpy(), dtype=object)
    points = _representative_points(geoms)
    table["x"] = shapely.get_x(points) if len(points) else np.zeros(0)
    table["y"] = shapely.get_y(points) if len(points) else np.zeros(0)
    table["area_m2"] = shapely.area(geoms) if len(geoms) else np.zeros(0)
    return table


def _representative_points(geoms: np.ndarray) -> np.ndarray:
    """Centroid of areas (a surface point when it falls outside), mid-point of lines."""
    if len(geoms) == 0:
        return np.zeros(0, dtype=object)
    out = shapely.centroid(geoms)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    outside = polygonal & ~shapely.contains(geoms, out)
    out[outside] = shapely.point_on_surface(geoms[outside])
    lines = np.isin(shapely.get_type_id(geoms), (1, 5))
    out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    return out


def deduplicate(
    pois: pd.DataFrame, *, radius_m: float = DEDUP_RADIUS_M
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Drop POIs that map the same place twice (rules in the module docstring).

    Parameters
    ----------
    pois
        From :func:`poi_candidates`.
    radius_m
        Metres within which same-named POIs of one category are merged.

    Returns
    -------
    (pandas.DataFrame, list of (dropped poi_id, kept poi_id))
    """
    if pois.empty:
        return pois, []
    is_node = (pois["osm_kind"] == "node").to_numpy()
    area = pois["area_m2"].to_numpy(float)
    ids = pois["poi_id"].tolist()
    order = sorted(range(len(pois)), key=lambda i: (is_node[i], -area[i], ids[i]))
    keys = [normalise_name(n) for n in pois["name"]]
    cats = pois["category"].tolist()
    x = pois["x"].to_numpy(float)
    y = pois["y"].to_numpy(float)
    geoms = pois["geometry"].tolist()
    kept: list[int] = []
    kept_by_cat: dict[str, list[int]] = {}
    merged: list[tuple[str, str]] = []
    for i in order:
        twin = None
        for j in kept_by_cat.get(cats[i], ()):
            same_name = keys[i] != "" and keys[i] == keys[j]
            unnamed_node = keys[i] == "" and is_node[i]
            part = cats[i] in COMPLEX_CATEGORIES and area[j] > area[i]
            if not (same_name or unnamed_node or part):
                continue
            inside = area[j] > 0 and shapely.contains_xy(geoms[j], x[i], y[i])
            near = np.hypot(x[i] - x[j], y[i] - y[j]) <= radius_m
            if (same_name and (near or inside)) or ((unnamed_node or part) and inside):
                twin = j
                break
        if twin is None:
            kept.append(i)
            kept_by_cat.setdefault(cats[i], []).append(i)
        else:
            merged.append((ids[i], ids[twin]))
    return pois.iloc[sorted(kept)].reset_index(drop=True), merged


def attach_to_networks(pois: pd.DataFrame, drive: Network, walk: Network) -> pd.DataFrame:
    """Add ``drive_node``, ``walk_node`` and ``access_m`` (metres to the drive node).

    A point POI links to its nearest node. An area POI (``geometry`` a polygon) links to
    the node nearest its outline — a hospital campus is entered from the street along its
    fence, not from its centre — picking, among nodes inside the area, the one nearest its
    point; ``access_m`` is then the distance from the area (0 inside).

    Parameters
    ----------
    pois
        A table with ``x`` and ``y`` in the networks' CRS (metres) and, optionally, a
        ``geometry`` column of shapely geometries.
    drive, walk
        The networks; node numbers are positions in their arrays.
    """
    out = pois.copy()
    n = len(out)
    if n == 0:
        out["drive_node"] = np.zeros(0, dtype=np.int64)
        out["walk_node"] = np.zeros(0, dtype=np.int64)
        out["access_m"] = np.zeros(0)
        return out
    xy = np.column_stack([out["x"].to_numpy(float), out["y"].to_numpy(float)])
    geoms = (
        np.asarray(out["geometry"].to_numpy(), dtype=object)
        if "geometry" in out
        else np.full(n, None, dtype=object)
    )
    areas = np.array([g is not None and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms])
    for column, net in (("drive_node", drive), ("walk_node", walk)):
        dist, node = cKDTree(np.column_stack([net.x, net.y])).query(xy)
        node = node.astype(np.int64)
        if areas.any():
            rows = np.flatnonzero(areas)
            tree = shapely.STRtree(shapely.points(net.x, net.y))
            (poi_i, node_i), d = tree.query_nearest(
                geoms[rows], all_matches=True, return_distance=True
            )
            # Ties (several nodes inside the area): the one nearest the POI's point.
            to_point = np.hypot(
                net.x[node_i] - xy[rows[poi_i], 0], net.y[node_i] - xy[rows[poi_i], 1]
            )
            order = np.lexsort((node_i, to_point, d, poi_i))
            poi_i, node_i, d = poi_i[order], node_i[order], d[order]
            first = np.ones(len(poi_i), dtype=bool)
            first[1:] = poi_i[1:] != poi_i[:-1]
            node[rows[poi_i[first]]] = node_i[first]
            dist[rows[poi_i[first]]] = d[first]
        out[column] = node
        if column == "drive_node":
            out["access_m"] = dist
    return out
