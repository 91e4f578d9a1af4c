"""The projected CRS of a city: the UTM zone of its extract's centre, or one a user gives.

Every ``x``/``y`` of a city is metres in one projected CRS. A transverse Mercator projection
keeps lengths true to within its scale factor: UTM's is 0.9996 on the central meridian of a
zone and grows to about 1.0010 at the zone's edge on the equator (less at higher latitudes,
where the zone is narrower on the ground), so within its own zone a city's straight-line
distances are within 0.1 % of the geodesic ones and its areas within 0.2 %. The wrong zone
distorts them fast: 10° of longitude from the zone's central meridian a city is stretched
by 0.34 % at 60° N and 1.3 % at 21° N; Helsinki in Huế's zone (80° away) by 15 %, Jeddah
(66° away, at 21.5° N) by 89 % (pyproj, against ``pyproj.Geod`` distances).

:func:`utm_crs` picks the zone by the standard rule (zones 6° wide from 180° W, ``326zz``
north of the equator, ``327zz`` south), without the Norway and Svalbard exceptions (their
zones are only widened, so the standard zone is as accurate). UTM stops at 84° N and 80° S;
beyond, give a polar CRS (for example UPS, EPSG:32661 or EPSG:32761). Huế, at 107.6° E
and 16.5° N, is in zone 48N, EPSG:32648.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyproj

from twin.errors import ConfigError, EmptyNetworkError

__all__ = ["UTM_LAT_RANGE", "check_projected_crs", "extract_extent", "utm_crs", "utm_zone_name"]

#: Latitudes (degrees) between which UTM is defined.
UTM_LAT_RANGE = (-80.0, 84.0)


def utm_crs(lon: float, lat: float) -> str:
    """The EPSG code of the WGS 84 UTM zone holding a point.

    Parameters
    ----------
    lon, lat
        Degrees (WGS 84).

    Returns
    -------
    ``"EPSG:326zz"`` north of the equator (the equator included), ``"EPSG:327zz"`` south.

    Raises
    ------
    ConfigError
        The point lies outside the UTM latitudes (:data:`UTM_LAT_RANGE`) or is not a
        longitude/latitude.
    """
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ConfigError(
            f"({lon}, {lat}) is not a longitude/latitude in degrees; the extract's coordinates "
            "must be WGS 84 (as OSM files are)"
        )
    low, high = UTM_LAT_RANGE
    if not low <= lat <= high:
        raise ConfigError(
            f"the extract's centre lies at latitude {lat:.2f}°, outside the UTM latitudes "
            f"({low:g}° to {high:g}°); give a polar projection with --crs (e.g. EPSG:32661 "
            "for the Arctic, EPSG:32761 for the Antarctic)"
        )
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def utm_zone_name(crs: str) -> str | None:
    """``"UTM 48N"`` for ``"EPSG:32648"``, ``None`` for a CRS that is not a UTM zone."""
    code = crs.upper().removeprefix("EPSG:")
    if code.isdigit() and len(code) == 5 and code[:3] in ("326", "327"):
        zone = int(code[3:])
        if 1 <= zone <= 60:
            return f"UTM {zone}{'N' if code[:3] == '326' else 'S'}"
    return None


def check_projected_crs(crs: str) -> str:
    """``crs`` when it is a projected CRS in metres; else a :class:`ConfigError`.

    Raises
    ------
    ConfigError
        ``crs`` is unknown to PROJ, geographic (degrees), or not in metres.
    """
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(
            f"--crs {crs!r} is not a CRS PROJ knows ({exc}); give an EPSG code such as "
            "EPSG:32648, or leave --crs out for the UTM zone of the extract's centre"
        ) from None
    units = {axis.unit_name for axis in parsed.axis_info}
    if not parsed.is_projected or units - {"metre"}:
        raise ConfigError(
            f"--crs {crs!r} is not a projected CRS in metres (it is {parsed.name}, units "
            f"{sorted(units)}); a city's x/y are metres: give a projected CRS such as a UTM "
            "zone (EPSG:326zz north, EPSG:327zz south), or leave --crs out to pick the UTM "
            "zone of the extract's centre"
        )
    return crs


def extract_extent(
    locations: Iterable[tuple[float, float]], *, source_name: str = "the extract"
) -> tuple[tuple[float, float], tuple[float, float, float, float]]:
    """The centre and bounding box of an extract's road nodes.

    Parameters
    ----------
    locations
        ``(lon, lat)`` of the nodes, degrees.
    source_name
        Named in the error.

    Returns
    -------
    centre
        ``(lon, lat)``: the middle of the bounding box, degrees.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)``, degrees.

    Raises
    ------
    EmptyNetworkError
        No location at all.
    """
    points = np.asarray(list(locations), dtype=float).reshape(-1, 2)
    if not len(points):
        raise EmptyNetworkError(
            f"{source_name} holds no drivable road (no way tagged highway=* at all). Check that "
            "the file covers a built-up area and holds its roads, not only buildings or points"
        )
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (float((low[0] + high[0]) / 2), float((low[1] + high[1]) / 2))
    return centre, (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
