"""Buildings: footprints, heights, floor areas and use classes.

Height
------
In order of preference (recorded in ``height_source``):

1. ``height`` — metres, as tagged (``"12"``, ``"12.5"``, ``"12,5 m"``; feet when it says
   ``ft`` or ``'``). ``levels`` is then ``max(1, round(height / STOREY_M))`` unless
   ``building:levels`` is also tagged.
2. ``building:levels`` (+ ``roof:levels``) — ``height = levels × STOREY_M + ROOF_M``.
3. An estimate (``"estimate"``) from the use class and the footprint, see
   :func:`estimate_levels`: Huế is low-rise — tube houses of two or three storeys, single-
   storey sheds and pagoda halls, mid-rise hotels, hospitals and schools. An estimated
   single-storey industrial or religious building (a workshop, a pagoda hall) is 6 m tall;
   every other estimate is ``levels × STOREY_M + ROOF_M``.

``STOREY_M`` is 3.3 m (a typical Vietnamese floor-to-floor height; TCVN 4451 asks for at
least 3.0 m in homes, shophouses are often 3.3–3.6 m) and ``ROOF_M`` 1.0 m for the roof or
parapet above the top floor. Floor area is footprint × levels.

Use class
---------
One of :data:`twin.city.BUILDING_USES`, decided by the first of these that says anything:

1. the ``building`` value itself (``house`` → residential, ``school`` → education, …;
   :data:`USE_BY_BUILDING_TAG`);
2. the building's own tags (``amenity``, ``shop``, ``office``, ``tourism``, ``healthcare``,
   ``historic``; :func:`use_from_tags`) — a hotel mapped as a building is commercial;
3. the strongest-use POI-like node inside the footprint (a school node → education, a
   hotel, shop, café or restaurant node → commercial; residential never overrides);
4. the smallest enclosing land-use or campus area (``landuse=residential`` → residential,
   ``landuse=commercial|retail`` → commercial, a hospital grounds → health, a pagoda
   grounds → religious, a historic site → public; :func:`use_from_tags` again);
5. otherwise a ``building=yes`` (98 % of Huế's buildings) is **residential**, except tiny
   footprints under :data:`SHED_M2` (sheds, kiosks, shrines), which are ``other``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely

from twin.city import BUILDING_CONTRACT_COLUMNS

#: Metres per storey.
STOREY_M = 3.3
#: Metres added above the top storey for the roof or parapet.
ROOF_M = 1.0
#: A ``building=yes`` footprint below this many square metres is a shed (use ``other``).
SHED_M2 = 20.0

#: Columns of the building table: the contract of twin/city.py, then the ``building`` tag.
BUILDING_COLUMNS: tuple[str, ...] = (*BUILDING_CONTRACT_COLUMNS, "building")

#: Use class of each ``building=*`` value that says one (``yes`` and unknown values do not).
USE_BY_BUILDING_TAG: dict[str, str] = {
    **dict.fromkeys(
        (
            "house",
            "residential",
            "apartments",
            "detached",
            "semidetached_house",
            "terrace",
            "dormitory",
            "bungalow",
            "farm",
            "hut",
            "cabin",
            "stilt_house",
        ),
        "residential",
    ),
    **dict.fromkeys(
        ("commercial", "retail", "shop", "supermarket", "hotel", "kiosk", "restaurant"),
        "commercial",
    ),
    "office": "office",
    **dict.fromkeys(
        ("industrial", "warehouse", "factory", "manufacture", "storage_tank", "hangar"),
        "industrial",
    ),
    **dict.fromkeys(("school", "university", "college", "kindergarten"), "education"),
    **dict.fromkeys(("hospital", "clinic"), "health"),
    **dict.fromkeys(
        (
            "temple",
            "pagoda",
            "church",
            "cathedral",
            "chapel",
            "mosque",
            "shrine",
            "monastery",
            "religious",
        ),
        "religious",
    ),
    **dict.fromkeys(
        (
            "public",
            "government",
            "civic",
            "townhall",
            "train_station",
            "transportation",
            "fire_station",
            "police",
            "stadium",
            "sports_hall",
            "museum",
            "palace",
            "castle",
        ),
        "public",
    ),
    **dict.fromkeys(
        (
            "garage",
            "garages",
            "shed",
            "roof",
            "ruins",
            "construction",
            "carport",
            "gatehouse",
            "toilets",
            "service",
            "tower",
            "bridge",
            "gate",
            "greenhouse",
        ),
        "other",
    ),
}

_AMENITY_USE = {
    **dict.fromkeys(
        ("school", "university", "college", "kindergarten", "language_school"), "education"
    ),
    **dict.fromkeys(("hospital", "clinic", "doctors", "dentist"), "health"),
    **dict.fromkeys(("place_of_worship", "monastery", "grave_yard"), "religious"),
    **dict.fromkeys(
        (
            "police",
            "fire_station",
            "townhall",
            "courthouse",
            "library",
            "community_centre",
            "post_office",
            "bus_station",
            "theatre",
            "arts_centre",
        ),
        "public",
    ),
    **dict.fromkeys(
        (
            "marketplace",
            "restaurant",
            "cafe",
            "bar",
            "fast_food",
            "pub",
            "bank",
            "pharmacy",
            "fuel",
            "cinema",
            "nightclub",
            "ice_cream",
            "car_rental",
            "motorcycle_rental",
        ),
        "commercial",
    ),
}
_LANDUSE_USE = {
    "residential": "residential",
    "commercial": "commercial",
    "retail": "commercial",
    "industrial": "industrial",
    "military": "public",
    "education": "education",
    "religious": "religious",
    "cemetery": "religious",
    "railway": "public",
    "port": "industrial",
    "construction": "other",
}
#: Which use wins when several POI nodes sit in one building (lower wins; residential last).
_USE_RANK = {
    "health": 0,
    "education": 1,
    "public": 2,
    "religious": 3,
    "office": 4,
    "industrial": 5,
    "commercial": 6,
    "other": 7,
    "residential": 8,
}

#: Storeys by use when untagged: (footprint upper bounds in m², storeys for each band).
_ESTIMATE_BANDS: dict[str, tuple[tuple[float, ...], tuple[int, ...]]] = {
    "residential": ((40.0, 200.0, 600.0), (1, 2, 3, 5)),
    "commercial": ((100.0, 400.0, 1500.0), (2, 3, 4, 6)),
    "office": ((150.0, 800.0), (2, 3, 5)),
    "education": ((300.0,), (2, 3)),
    "health": ((300.0, 1500.0), (2, 3, 5)),
    "public": ((300.0, 1500.0), (1, 2, 3)),
    "industrial": ((), (1,)),
    "religious": ((), (1,)),
    "other": ((), (1,)),
}
#: ``building=*`` values with their own untagged storey count (before the bands).
_LEVELS_BY_BUILDING_TAG = {"apartments": 6, "hotel": 5, "dormitory": 4, "house": 2}


def use_from_tags(tags: dict[str, str]) -> str | None:
    """Use class said by a feature's non-building tags, or ``None``."""
    amenity = tags.get("amenity")
    if amenity in _AMENITY_USE:
        return _AMENITY_USE[amenity]
    if tags.get("healthcare"):
        return "health"
    if tags.get("tourism") in ("hotel", "motel", "hostel", "guest_house", "resort"):
        return "commercial"
    if tags.get("shop"):
        return "commercial"
    if tags.get("office"):
        return "office"
    if tags.get("landuse") in _LANDUSE_USE:
        return _LANDUSE_USE[tags["landuse"]]
    if tags.get("historic") or tags.get("tourism") in ("attraction", "museum"):
        return "public"
    if tags.get("leisure") in ("stadium", "sports_centre"):
        return "public"
    return None


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def parse_height(text: str | None) -> float:
    """Metres from a ``height`` tag (``"12"``, ``"12.5 m"``, ``"40 ft"``); NaN if unreadable."""
    if not text:
        return float("nan")
    match = _NUMBER.search(text)
    if not match:
        return float("nan")
    value = float(match.group(0).replace(",", "."))
    if re.search(r"ft|'|feet", text):
        value *= 0.3048
    return value if 0.0 < value < 500.0 else float("nan")


def parse_levels(text: str | None) -> float:
    """Storeys from a ``building:levels`` tag (``"3"``, ``"2.5"``, ``"2;3"`` → 3).

    NaN when unreadable.
    """
    if not text:
        return float("nan")
    values = [float(v.replace(",", ".")) for v in _NUMBER.findall(text)]
    values = [v for v in values if 0.0 < v < 200.0]
    return max(values) if values else float("nan")


def estimate_levels(use: str, footprint_m2: float, building_tag: str = "yes") -> int:
    """Storeys of an untagged building, from its use class and footprint.

    Parameters
    ----------
    use
        Use class (:data:`twin.city.BUILDING_USES`).
    footprint_m2
        Footprint area, square metres.
    building_tag
        The ``building=*`` value (apartments, hotels, dormitories and houses have their
        own counts).
    """
    if building_tag in _LEVELS_BY_BUILDING_TAG:
        return _LEVELS_BY_BUILDING_TAG[building_tag]
    bounds, levels = _ESTIMATE_BANDS.get(use, _ESTIMATE_BANDS["other"])
    return int(levels[int(np.searchsorted(np.asarray(bounds), footprint_m2, side="right"))])


def building_uses(
    tags: list[dict[str, str]],
    geoms: np.ndarray,
    *,
    poi_points: np.ndarray,
    poi_uses: np.ndarray,
    context_geoms: np.ndarray,
    context_uses: np.ndarray,
) -> np.ndarray:
    """Use class of each building (rule in the module docstring).

    Parameters
    ----------
    tags
        Each building's tags.
    geoms
        Footprints (shapely polygons, projected metres).
    poi_points, poi_uses
        Tagged nodes that say a use (shapely points) and that use.
    context_geoms, context_uses
        Land-use and campus areas (shapely polygons) and the use each says.
    """
    n = len(tags)
    use = np.full(n, "", dtype=object)
    for i, t in enumerate(tags):
        own = USE_BY_BUILDING_TAG.get(t.get("building", "yes"))
        use[i] = own or use_from_tags(t) or ""
    todo = use == ""
    if todo.any() and len(poi_points):
        tree = shapely.STRtree(geoms)
        pt_idx, bld_idx = tree.query(poi_points, predicate="within")
        best = {}
        for p, b in zip(pt_idx, bld_idx, strict=True):
            if not todo[b]:
                continue
            u = poi_uses[p]
            if b not in best or _USE_RANK[u] < _USE_RANK[best[b]]:
                best[b] = u
        for b, u in best.items():
            use[b] = u
        todo = use == ""
    if todo.any() and len(context_geoms):
        points = shapely.point_on_surface(geoms[todo])
        rows = np.flatnonzero(todo)
        tree = shapely.STRtree(context_geoms)
        pt_idx, ctx_idx = tree.query(points, predicate="within")
        areas = shapely.area(context_geoms)
        best_area: dict[int, float] = {}
        for p, c in zip(pt_idx, ctx_idx, strict=True):
            b = rows[p]
            if b not in best_area or areas[c] < best_area[b]:
                best_area[b] = areas[c]
                use[b] = context_uses[c]
        todo = use == ""
    footprint = shapely.area(geoms)
    use[todo & (footprint < SHED_M2)] = "other"
    use[use == ""] = "residential"
    return use


def building_table(
    ids: list[str],
    tags: list[dict[str, str]],
    geoms: np.ndarray,
    uses: np.ndarray,
) -> pd.DataFrame:
    """Heights, levels and floor areas of buildings (``zone`` and ``residents`` come later).

    Parameters
    ----------
    ids
        Stable ids (``"way/123"``, ``"relation/45"``).
    tags
        Each building's tags.
    geoms
        Footprints (shapely, projected metres).
    uses
        Use classes from :func:`building_uses`.

    Returns
    -------
    pandas.DataFrame
        ``building_id``, ``x``, ``y`` (centroid), ``footprint_m2``, ``height_m``,
        ``height_source``, ``levels``, ``floor_area_m2``, ``use``, ``building`` (the tag) and
        ``geometry`` (WKB).
    """
    n = len(ids)
    footprint = shapely.area(geoms) if n else np.zeros(0)
    height = np.full(n, np.nan)
    levels = np.full(n, np.nan)
    source = np.full(n, "estimate", dtype=object)
    building_tag = np.array([t.get("building", "yes") for t in tags], dtype=object)
    for i, t in enumerate(tags):
        h = parse_height(t.get("height"))
        lv = parse_levels(t.get("building:levels"))
        roof = parse_levels(t.get("roof:levels"))
        if not np.isnan(lv) and not np.isnan(roof):
            lv += roof
        if not np.isnan(h):
            height[i] = h
            levels[i] = lv if not np.isnan(lv) else max(1.0, round(h / STOREY_M))
            source[i] = "height"
        elif not np.isnan(lv):
            levels[i] = lv
            height[i] = lv * STOREY_M + ROOF_M
            source[i] = "levels"
        else:
            levels[i] = estimate_levels(uses[i], footprint[i], building_tag[i])
            tall_single = uses[i] in ("industrial", "religious") and levels[i] == 1
            height[i] = 6.0 if tall_single else levels[i] * STOREY_M + ROOF_M
    centroids = shapely.centroid(geoms) if n else np.zeros(0, dtype=object)
    return pd.DataFrame(
        {
            "building_id": pd.Series(ids, dtype=object),
            "x": shapely.get_x(centroids) if n else np.zeros(0),
            "y": shapely.get_y(centroids) if n else np.zeros(0),
            "footprint_m2": footprint,
            "height_m": height,
            "height_source": source,
            "levels": levels,
            "floor_area_m2": footprint * levels,
            "use": pd.Series(uses, dtype=object),
            "building": building_tag,
            "geometry": pd.Series(list(shapely.to_wkb(geoms)) if n else [], dtype=object),
        }
    )
