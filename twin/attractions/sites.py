"""Tourist sites: the planner-editable attraction table, validated and matched to a city.

The table (``twin/defaults/attractions.csv`` documents every column) lists the main sites
with their popularity, opening hours, visit duration, ticket-gate throughput and the most
visitors they hold at once. :func:`load_attraction_table` reads and checks it on its own;
:func:`resolve_attractions` matches each row to the city's POIs (by ``poi_id`` or by name,
ignoring case and accents; else by ``lon``/``lat``) and can add the city's other sightseeing
POIs with category defaults. The result is one row per site, ready for ``sim.tourists.model``.
Reading and checking the table lives in :mod:`twin.attractions.table`.

Resolved site columns
---------------------
``site`` (display name), ``poi_id``, ``name`` (the matched POI's name, or the site's),
``category``, ``x``, ``y`` (metres, city CRS), ``lon``, ``lat``, ``drive_node``,
``walk_node``, ``zone``, ``popularity``, ``opens_s``, ``closes_s``, ``last_entry_s``
(seconds after midnight), ``visit_s`` (mean visit, seconds), ``gate_rate`` (visitors per
second through the ticket gate; NaN when there is none), ``capacity`` (visitors at once;
``inf`` when unlimited), ``boat_from`` (row position of the pier site boats leave from, -1
when none), ``source`` (``"table"`` or ``"poi"``), ``matched_by`` (``"poi_id"``, ``"name"``,
``"lonlat"`` or ``"category"``).
"""

from __future__ import annotations

import difflib
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.attractions.table import (
    DAY,
    AttractionError,
    check_attraction_table,
    load_attraction_table,
)
from twin.city import POI_PLACE_COLUMNS, City
from twin.clock import parse_clock

__all__ = [
    "SITE_COLUMNS",
    "OtherSites",
    "UnknownSiteError",
    "fold_accents",
    "normalise_name",
    "resolve_attractions",
]

logger = logging.getLogger(__name__)

#: Columns of a resolved site table, in order.
SITE_COLUMNS: tuple[str, ...] = (
    "site",
    *POI_PLACE_COLUMNS,
    "zone",
    "popularity",
    "opens_s",
    "closes_s",
    "last_entry_s",
    "visit_s",
    "gate_rate",
    "capacity",
    "boat_from",
    "source",
    "matched_by",
)
_SITE_DTYPES = {
    **dict.fromkeys(("x", "y", "lon", "lat", "popularity", "opens_s", "closes_s"), float),
    **dict.fromkeys(("last_entry_s", "visit_s", "gate_rate", "capacity"), float),
    **dict.fromkeys(("drive_node", "walk_node", "zone", "boat_from"), np.int64),
    **dict.fromkeys(("site", "poi_id", "name", "category", "source", "matched_by"), object),
}


class UnknownSiteError(AttractionError, LookupError):
    """An attraction table names a site the city does not have."""


@dataclass(frozen=True)
class OtherSites:
    """Defaults for the city's sightseeing POIs that the table does not list.

    Attributes
    ----------
    categories
        POI categories taken as sites (only named POIs).
    popularity
        Wish-list weight of each (the table's main sites weigh 6-150).
    opens, closes
        ``"HH:MM"``.
    visit_min
        Mean visit, minutes.
    exclude_within_m
        A POI this close (metres) to a table site is part of it (the gates and halls inside
        the Imperial City) and is not a site of its own.
    max_sites
        At most this many are added (the most central first: nearest the table's sites).
    """

    categories: tuple[str, ...] = ("attraction", "museum", "tomb", "pagoda_temple")
    popularity: float = 1.0
    opens: str = "07:00"
    closes: str = "17:30"
    visit_min: float = 30.0
    exclude_within_m: float = 500.0
    max_sites: int = 30


# -- matching to a city ----------------------------------------------------------------------


def normalise_name(text: str) -> str:
    """Case-folded, NFC-normalised, single-spaced."""
    return " ".join(unicodedata.normalize("NFC", str(text)).casefold().split())


def fold_accents(text: str) -> str:
    """:func:`normalise_name` without diacritics (``"Lăng Tự Đức"`` -> ``"lang tu duc"``)."""
    decomposed = unicodedata.normalize("NFD", normalise_name(text).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def resolve_attractions(
    city: City,
    table: pd.DataFrame | str | Path | None = None,
    *,
    on_unknown: str | None = None,
    other_sites: OtherSites | None = OtherSites(),
    snap_max_m: float = 500.0,
) -> pd.DataFrame:
    """Match an attraction table to a city's POIs.

    Parameters
    ----------
    city
        The city.
    table
        A table from :func:`load_attraction_table`, a path to one, a DataFrame with its
        columns (checked here), or ``None`` for the default (Huế) table.
    on_unknown
        ``"raise"`` (a row that matches no POI and cannot be placed raises
        :class:`UnknownSiteError`) or ``"skip"`` (such rows are logged and left out). The
        default is ``"raise"`` for a given table and ``"skip"`` for the default table,
        which is written for Huế and may be used on other cities.
    other_sites
        Add the city's other named sightseeing POIs with these defaults; ``None`` for none.
    snap_max_m
        A row placed by ``lon``/``lat`` must lie within this many metres of a walk node.

    Returns
    -------
    One row per site with the columns of :data:`SITE_COLUMNS`.
    """
    is_default = table is None
    if table is None or isinstance(table, str | Path):
        table = load_attraction_table(table)
    elif "opens_s" not in table.columns:
        table = check_attraction_table(table)
    where = table.attrs.get("where", "attraction table")
    if on_unknown is None:
        on_unknown = "skip" if is_default else "raise"
    if on_unknown not in ("raise", "skip"):
        raise AttractionError(f"on_unknown is {on_unknown!r}; expected 'raise' or 'skip'")
    pois = city.pois.reset_index(drop=True)
    by_id = {str(pid): i for i, pid in enumerate(pois["poi_id"])}
    names = pois["name"].fillna("").astype(str)
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if name:
            for key in {normalise_name(name), fold_accents(name)}:
                by_name.setdefault(key, []).append(i)

    rows = []
    for _, row in table.iterrows():
        found = _match(row, pois, by_id, by_name)
        if found is not None:
            rows.append(_site_from_poi(row, pois.iloc[found[0]], city, matched_by=found[1]))
            continue
        placed = _place(row, city, snap_max_m) if not np.isnan(row["lon_f"]) else None
        if placed is not None:
            rows.append(placed)
            continue
        message = _unknown_message(row, city, names, where, snap_max_m)
        if on_unknown == "raise":
            raise UnknownSiteError(message)
        logger.info("skipping a site: %s", message)
    sites = pd.DataFrame(rows, columns=[c for c in SITE_COLUMNS if c != "boat_from"])
    site_pos = {name: i for i, name in enumerate(sites["site"])}
    boat = table.set_index("site")["boat_from"]
    sites["boat_from"] = [site_pos.get(boat.get(s, ""), -1) for s in sites["site"]]
    if other_sites is not None:
        sites = _add_other_sites(sites, city, other_sites)
    sites = sites[list(SITE_COLUMNS)].reset_index(drop=True)
    sites = sites.astype(_SITE_DTYPES)
    sites.attrs["where"] = where
    return sites


def _match(row, pois, by_id, by_name) -> tuple[int, str] | None:
    for pid in filter(None, (p.strip() for p in row["poi_id"].split("|"))):
        if pid in by_id:
            return by_id[pid], "poi_id"
    candidates: list[int] = []
    for alt in filter(None, (n.strip() for n in row["names"].split("|"))):
        for key in (normalise_name(alt), fold_accents(alt)):
            candidates += [c for c in by_name.get(key, []) if c not in candidates]
    if not candidates:
        return None
    preferred = [c for c in candidates if pois.at[c, "category"] == row["category"]]
    return (preferred or candidates)[0], "name"


def _zone(city: City, drive_node: int) -> int:
    return int(city.node_zone[drive_node]) if len(city.node_zone) > drive_node else -1


def _table_values(row) -> dict:
    return {
        "popularity": row["popularity_w"],
        "opens_s": row["opens_s"],
        "closes_s": row["closes_s"],
        "last_entry_s": row["last_entry_s"],
        "visit_s": row["visit_s"],
        "gate_rate": row["gate_rate"],
        "capacity": row["capacity_n"],
        "source": "table",
    }


def _site_from_poi(row, poi, city: City, *, matched_by: str) -> dict:
    drive_node = int(poi["drive_node"])
    return {
        "site": row["site"],
        "poi_id": str(poi["poi_id"]),
        "name": str(poi["name"]),
        "category": row["category"] or str(poi["category"]),
        "x": float(poi["x"]),
        "y": float(poi["y"]),
        "lon": float(poi["lon"]),
        "lat": float(poi["lat"]),
        "drive_node": drive_node,
        "walk_node": int(poi["walk_node"]),
        "zone": _zone(city, drive_node),
        **_table_values(row),
        "matched_by": matched_by,
    }


def _nearest(net, lon: float, lat: float) -> tuple[int, float]:
    """Nearest node by an equirectangular distance (metres), good over a city."""
    if net.n_nodes == 0:
        return -1, np.inf
    kx = 111_320.0 * np.cos(np.radians(lat))
    d = np.hypot((net.lon - lon) * kx, (net.lat - lat) * 110_574.0)
    i = int(np.argmin(d))
    return i, float(d[i])


def _place(row, city: City, snap_max_m: float) -> dict | None:
    lon, lat = float(row["lon_f"]), float(row["lat_f"])
    walk_node, walk_d = _nearest(city.walk, lon, lat)
    drive_node, _ = _nearest(city.drive, lon, lat)
    if walk_d > snap_max_m or drive_node < 0:
        return None
    # Position in the city's CRS: offset from the nearest walk node (metres, local plane).
    kx = 111_320.0 * np.cos(np.radians(lat))
    x = float(city.walk.x[walk_node] + (lon - city.walk.lon[walk_node]) * kx)
    y = float(city.walk.y[walk_node] + (lat - city.walk.lat[walk_node]) * 110_574.0)
    return {
        "site": row["site"],
        "poi_id": f"site/{fold_accents(row['site']).replace(' ', '_')}",
        "name": row["site"],
        "category": row["category"] or "attraction",
        "x": x,
        "y": y,
        "lon": lon,
        "lat": lat,
        "drive_node": drive_node,
        "walk_node": walk_node,
        "zone": _zone(city, drive_node),
        **_table_values(row),
        "matched_by": "lonlat",
    }


def _unknown_message(row, city: City, names: pd.Series, where: str, snap_max_m: float) -> str:
    wanted = [n.strip() for n in row["names"].split("|") if n.strip()]
    ids = [p.strip() for p in row["poi_id"].split("|") if p.strip()]
    choices = sorted(set(names[names != ""]))
    close = sorted(
        {m for w in wanted or [row["site"]] for m in difflib.get_close_matches(w, choices, n=3)}
    )
    hint = f"; did you mean {close}?" if close else ""
    placed = (
        f" and its lon/lat lie more than {snap_max_m:g} m from the walk network"
        if not np.isnan(row["lon_f"])
        else ""
    )
    return (
        f"{where}, site {row['site']!r}: no POI of city {city.name!r} has poi_id {ids} or a "
        f"name in {wanted}{placed}{hint} Fix the poi_id or names column (POIs are matched by "
        f"poi_id, or by name ignoring case and accents), give lon/lat to place the site, or "
        f"remove the row"
    )


def _add_other_sites(sites: pd.DataFrame, city: City, other: OtherSites) -> pd.DataFrame:
    pois = city.pois
    taken = set(sites["poi_id"])
    pool = pois[
        pois["category"].isin(other.categories)
        & (pois["name"].fillna("").astype(str) != "")
        & ~pois["poi_id"].astype(str).isin(taken)
    ]
    if pool.empty or other.max_sites <= 0:
        return sites
    px, py = pool["x"].to_numpy(float), pool["y"].to_numpy(float)
    if len(sites):
        d = np.hypot(px[:, None] - sites["x"].to_numpy()[None], py[:, None] - sites["y"].to_numpy())
        nearest = d.min(axis=1)
    else:
        nearest = np.hypot(px - px.mean(), py - py.mean())
    keep = nearest > other.exclude_within_m if len(sites) else np.ones(len(pool), bool)
    pool = pool[keep].assign(_d=nearest[keep]).sort_values(["_d", "poi_id"], kind="stable")
    pool = pool.drop_duplicates("name").head(other.max_sites)
    opens = parse_clock(other.opens, what="other_sites: opens", error=AttractionError, latest=DAY)
    closes = parse_clock(
        other.closes, what="other_sites: closes", error=AttractionError, latest=DAY
    )
    if closes <= opens or other.visit_min <= 0 or other.popularity < 0:
        raise AttractionError(
            f"other_sites: opens {other.opens}, closes {other.closes}, visit_min "
            f"{other.visit_min:g}, popularity {other.popularity:g}; expected closes after "
            f"opens, a positive visit and a popularity of 0 or more"
        )
    extra = [
        {
            "site": str(p["name"]),
            "poi_id": str(p["poi_id"]),
            "name": str(p["name"]),
            "category": str(p["category"]),
            "x": float(p["x"]),
            "y": float(p["y"]),
            "lon": float(p["lon"]),
            "lat": float(p["lat"]),
            "drive_node": int(p["drive_node"]),
            "walk_node": int(p["walk_node"]),
            "zone": _zone(city, int(p["drive_node"])),
            "popularity": other.popularity,
            "opens_s": opens,
            "closes_s": closes,
            "last_entry_s": closes,
            "visit_s": other.visit_min * 60.0,
            "gate_rate": np.nan,
            "capacity": np.inf,
            "boat_from": -1,
            "source": "poi",
            "matched_by": "category",
        }
        for _, p in pool.iterrows()
        if str(p["name"]) not in set(sites["site"])
    ]
    if not extra:
        return sites
    return pd.concat([sites, pd.DataFrame(extra)], ignore_index=True)
