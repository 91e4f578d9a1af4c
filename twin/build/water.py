"""Water from OSM: the river, canals, moats, lakes and ponds, as projected polygons.

Read for the 3D view and maps (the simulation does not use water). Two kinds of OSM objects
make the water table (:data:`twin.geometry.WATER_COLUMNS`):

- **areas** (closed ways and multipolygons): ``natural=water``, ``waterway=riverbank`` or any
  ``water=*``. Their ``kind`` is the ``water`` tag (``river``, ``moat``, ``canal``, ``pond``,
  ``lake``…), ``"river"`` for a riverbank, else ``"water"``. In Huế the Perfume River (sông
  Hương), the Citadel's moats and the Ngự Hà and An Cựu canals are mapped this way.
- **lines**: ``waterway=river`` and ``waterway=canal`` ways, buffered to their ``width`` tag
  (metres) or, untagged, to :data:`LINE_WIDTH_M` by kind. They draw a waterway where its
  area is missing (cut by the extract's edge, or never mapped); where the area exists the
  buffered line lies inside it.

Everything is clipped to the study area: the bounding box of the drive network, grown by
:data:`MARGIN_M` on each side, so a lagoon or sea at the extract's edge does not dwarf the
city in a view. Areas osmium cannot assemble (a multipolygon cut by the extract) are counted
in the report and left out.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyproj
import shapely

from twin.build.osm import osm_format
from twin.errors import OSMReadError
from twin.geometry import WATER_COLUMNS, empty_water
from twin.network import Network

log = logging.getLogger(__name__)

#: Width given to an untagged waterway line, metres, by ``waterway`` value. Assumptions: the
#: Perfume River is 200-400 m wide through Huế and is mapped as an area; 40 m draws a river
#: upstream or downstream of its area without claiming its banks. Huế's canals (Ngự Hà,
#: An Cựu, Phổ Lợi) are 10-30 m wide.
LINE_WIDTH_M: dict[str, float] = {"river": 40.0, "canal": 15.0}
#: Margin around the drive network's bounding box kept as study area, metres.
MARGIN_M = 1000.0
_WATER_KEYS = ("natural", "waterway", "water")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m)?\s*$")


def water_kind(tags: dict[str, str]) -> str | None:
    """The kind of an OSM area's water (``None``: the area is not water)."""
    if "water" in tags:
        return tags["water"].strip().lower() or "water"
    if tags.get("waterway") == "riverbank":
        return "river"
    if tags.get("natural") == "water":
        return "water"
    return None


def line_width(tags: dict[str, str]) -> float | None:
    """Buffer width of a waterway line, metres (``None``: not a river or canal line)."""
    kind = tags.get("waterway")
    if kind not in LINE_WIDTH_M:
        return None
    match = _NUMBER.match(tags.get("width", ""))
    if match and 0.5 <= float(match.group(1)) <= 2000:
        return float(match.group(1))
    return LINE_WIDTH_M[kind]


def read_water(source: str | Path, *, crs: str, drive: Network) -> tuple[pd.DataFrame, dict]:
    """The water of an OSM file, projected to ``crs`` and clipped to the study area.

    Parameters
    ----------
    source
        ``.osm``, ``.osm.pbf`` or ``.osm.bz2``.
    crs
        The projected CRS of the city (metres).
    drive
        The drive network, whose bounding box (grown by :data:`MARGIN_M`) is the study area.

    Returns
    -------
    The water table (:data:`twin.geometry.WATER_COLUMNS`, geometry as WKB) and a report:
    ``areas``, ``lines`` (rows of each source), ``failed_areas`` (ids), ``area_km2``.
    """
    source = Path(source)
    fmt = osm_format(source)
    try:
        rows, failed = _read(source, fmt)
    except RuntimeError as exc:
        raise OSMReadError(
            f"{source}: cannot be read as OSM ({exc}); expected a complete .osm, .osm.pbf or "
            ".osm.bz2 file; download it again or convert it with osmium"
        ) from exc
    report = {"areas": 0, "lines": 0, "failed_areas": failed, "area_km2": 0.0}
    if not rows or drive.n_nodes == 0:
        return empty_water(), report
    frame = pd.DataFrame(rows, columns=["osm_id", "kind", "name", "source", "width", "geometry"])
    forward = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    geoms = shapely.transform(
        np.asarray(frame["geometry"].to_numpy(), dtype=object),
        lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])),
    )
    lines = frame["source"].to_numpy() == "line"
    if lines.any():
        widths = frame.loc[lines, "width"].to_numpy(float)
        geoms[lines] = shapely.buffer(geoms[lines], widths / 2.0, cap_style="flat")
    box = shapely.box(
        float(drive.x.min()) - MARGIN_M,
        float(drive.y.min()) - MARGIN_M,
        float(drive.x.max()) + MARGIN_M,
        float(drive.y.max()) + MARGIN_M,
    )
    geoms = shapely.make_valid(geoms)
    geoms = shapely.intersection(geoms, box)
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    keep = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    frame, geoms = frame.loc[keep].reset_index(drop=True), geoms[keep]
    if not len(frame):
        return empty_water(), report
    table = pd.DataFrame(
        {
            "osm_id": frame["osm_id"].astype(object),
            "kind": frame["kind"].astype(object),
            "name": frame["name"].astype(object),
            "source": frame["source"].astype(object),
            "area_m2": shapely.area(geoms).astype(float),
            "geometry": pd.Series(list(shapely.to_wkb(geoms)), dtype=object),
        }
    )[list(WATER_COLUMNS)]
    report.update(
        areas=int((table["source"] == "area").sum()),
        lines=int((table["source"] == "line").sum()),
        area_km2=round(float(shapely.area(shapely.union_all(geoms))) / 1e6, 3),
    )
    log.info(
        "water: %d areas, %d lines, %.2f km² (%d areas could not be assembled)",
        report["areas"],
        report["lines"],
        report["area_km2"],
        len(failed),
    )
    return table, report


def _polygonal(geom):
    """The polygons of a geometry (a clip can leave lines and points beside them)."""
    if geom is None or geom.is_empty:
        return None
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)]
    return shapely.MultiPolygon(parts) if parts else None


def _read(source: Path, fmt: str) -> tuple[list[tuple], list[str]]:
    rows: list[tuple] = []
    failed: list[str] = []
    wkb = osmium.geom.WKBFactory()
    processor = osmium.FileProcessor(osmium.io.File(str(source), fmt)).with_areas(
        osmium.filter.KeyFilter(*_WATER_KEYS)
    )
    for obj in processor:
        if obj.is_way():
            if not obj.tags or "waterway" not in obj.tags:
                continue
            tags = {t.k: t.v for t in obj.tags}
            width = line_width(tags)
            if width is None:
                continue
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if len(coords) >= 2:
                rows.append(
                    (
                        f"way/{obj.id}",
                        tags["waterway"],
                        tags.get("name", ""),
                        "line",
                        width,
                        shapely.LineString(coords),
                    )
                )
        elif obj.is_area():
            if not any(k in obj.tags for k in _WATER_KEYS):
                continue
            tags = {t.k: t.v for t in obj.tags}
            kind = water_kind(tags)
            if kind is None:
                continue
            osm_id = f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
            try:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
            except RuntimeError:
                failed.append(osm_id)
                continue
            rows.append((osm_id, kind, tags.get("name", ""), "area", np.nan, geom))
    return rows, failed
