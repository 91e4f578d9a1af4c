"""Tourist sites: the planner-editable attraction table, validated and matched to a city.

The table (``twin/defaults/attractions.csv`` documents every column) lists the main sites
with their popularity, opening hours, visit duration, ticket-gate throughput and the most
visitors they hold at once. :func:`load_attraction_table` reads and checks it on its own;
:func:`resolve_attractions` matches each row to the city's POIs (by ``poi_id`` or by name,
ignoring case and accents; else by ``lon``/``lat``) and can add the city's other sightseeing
POIs with category defaults. The result is one row per site, ready for ``sim.tourists``.

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
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from twin.city import City
from twin.errors import SourceNotFoundError, TwinError

logger = logging.getLogger(__name__)

#: Columns every attraction table must have.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "site",
    "poi_id",
    "names",
    "popularity",
    "opens",
    "closes",
    "visit_min",
    "gate_per_min",
    "capacity",
)
#: Columns a table may add (defaults: no category preference, no coordinates, entry until
#: closing, no boat link).
OPTIONAL_COLUMNS: tuple[str, ...] = ("category", "lon", "lat", "last_entry_min", "boat_from")
#: Columns of a resolved site table, in order.
SITE_COLUMNS: tuple[str, ...] = (
    "site",
    "poi_id",
    "name",
    "category",
    "x",
    "y",
    "lon",
    "lat",
    "drive_node",
    "walk_node",
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
DEFAULT_TABLE = "twin/defaults/attractions.csv"


class AttractionError(TwinError, ValueError):
    """An attraction table is malformed: missing columns, bad hours, rates or capacities."""


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


# -- reading and checking the table --------------------------------------------------------


def parse_clock(value: object, *, where: str, column: str) -> float:
    """``"HH:MM"`` (00:00-24:00) as seconds after midnight."""
    text = str(value).strip()
    try:
        hours, minutes = text.split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        h, m = -1, -1
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m != 0):
        raise AttractionError(
            f"{where}: {column} is {text!r}, expected a 24-hour time HH:MM between 00:00 and "
            f"24:00; write e.g. 07:00 or 17:30"
        )
    return float(h * 3600 + m * 60)


def load_attraction_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check an attraction table.

    Parameters
    ----------
    path
        A CSV with the columns of ``twin/defaults/attractions.csv`` (``#`` starts a comment);
        ``None`` for that default table.

    Returns
    -------
    The table with ``opens_s``, ``closes_s``, ``last_entry_s``, ``visit_s``, ``gate_rate``
    (visitors per second, NaN for no gate) and ``capacity`` (``inf`` for no limit) added,
    and the attribute ``attrs["where"]`` naming its file.

    Raises
    ------
    SourceNotFoundError
        The file does not exist.
    AttractionError
        Missing columns, duplicate sites, hours that close before they open, non-positive
        visit time, gate throughput or capacity, negative popularity, an unknown boat pier.
    """
    if path is None:
        source = resources.files("twin") / "defaults" / "attractions.csv"
        where = DEFAULT_TABLE
    else:
        source = Path(path)
        where = str(source)
        if not source.is_file():
            raise SourceNotFoundError(
                f"attraction table {where} does not exist; give the path of a CSV with the "
                f"columns of {DEFAULT_TABLE}, or leave it out for the default table"
            )
    with source.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, comment="#", skipinitialspace=True, dtype=str)
    return check_attraction_table(table, where=where)


def check_attraction_table(table: pd.DataFrame, *, where: str = "attraction table") -> pd.DataFrame:
    """Check a table already in memory (columns as in :func:`load_attraction_table`).

    Parameters
    ----------
    table
        One row per site; values may be strings or numbers.
    where
        Named in error messages (a file name, a scenario section).

    Returns
    -------
    The checked table, with the derived columns :func:`load_attraction_table` adds.
    """
    table = table.copy()
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise AttractionError(
            f"{where}: missing columns {missing}; an attraction table needs "
            f"{list(REQUIRED_COLUMNS)} (optional: {list(OPTIONAL_COLUMNS)}), see {DEFAULT_TABLE}"
        )
    table = table.astype(object).where(table.notna(), "").astype(str)
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    table = table.apply(lambda col: col.str.strip())
    if table.empty:
        raise AttractionError(f"{where}: the table has no rows; list at least one site")
    duplicated = table["site"][table["site"].duplicated()].tolist()
    if duplicated or (table["site"] == "").any():
        raise AttractionError(
            f"{where}: every row needs a unique, non-empty site name; repeated or empty: "
            f"{duplicated or ['']}"
        )
    rows = [_check_row(row, where=f"{where}, site {row['site']!r}") for _, row in table.iterrows()]
    checked = pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    piers = set(checked["site"])
    for _, row in checked.iterrows():
        if row["boat_from"] and row["boat_from"] not in piers:
            raise AttractionError(
                f"{where}, site {row['site']!r}: boat_from names {row['boat_from']!r}, which is "
                f"not a site of the table; name a pier row (e.g. 'Perfume River boats') or "
                f"leave boat_from empty"
            )
    if not (checked["popularity_w"] > 0).any():
        raise AttractionError(
            f"{where}: every popularity is 0, so no tourist would visit anything; give the "
            f"sites positive weights"
        )
    checked.attrs["where"] = where
    return checked


def _number(value: str, *, where: str, column: str, allow_empty: bool) -> float:
    if value == "":
        if allow_empty:
            return np.nan
        raise AttractionError(f"{where}: {column} is empty; give a number")
    try:
        return float(value)
    except ValueError:
        raise AttractionError(f"{where}: {column} is {value!r}, expected a number") from None


def _check_row(row: pd.Series, *, where: str) -> dict:
    opens = parse_clock(row["opens"], where=where, column="opens")
    closes = parse_clock(row["closes"], where=where, column="closes")
    if closes <= opens:
        raise AttractionError(
            f"{where}: closes at {row['closes']}, which is not after it opens at "
            f"{row['opens']}; write 24-hour times with closes later than opens (a site open "
            f"until midnight closes at 24:00)"
        )
    last_entry_min = _number(
        row["last_entry_min"], where=where, column="last_entry_min", allow_empty=True
    )
    last_entry_min = 0.0 if np.isnan(last_entry_min) else last_entry_min
    if last_entry_min < 0 or last_entry_min * 60 >= closes - opens:
        raise AttractionError(
            f"{where}: last_entry_min is {last_entry_min:g}; expected minutes before closing "
            f"between 0 and the opening span ({(closes - opens) / 60:g} min)"
        )
    popularity = _number(row["popularity"], where=where, column="popularity", allow_empty=False)
    if not popularity >= 0:
        raise AttractionError(
            f"{where}: popularity is {popularity:g}; expected a weight of 0 or more"
        )
    visit = _number(row["visit_min"], where=where, column="visit_min", allow_empty=False)
    if not visit > 0:
        raise AttractionError(f"{where}: visit_min is {visit:g}; expected minutes above 0")
    gate = _number(row["gate_per_min"], where=where, column="gate_per_min", allow_empty=True)
    if not (np.isnan(gate) or gate > 0):
        raise AttractionError(
            f"{where}: gate_per_min is {gate:g}; a ticket gate's throughput must be above 0 "
            f"visitors per minute (leave it empty for a site with no gate)"
        )
    capacity = _number(row["capacity"], where=where, column="capacity", allow_empty=True)
    if not (np.isnan(capacity) or capacity >= 1):
        raise AttractionError(
            f"{where}: capacity is {capacity:g}; the most visitors inside at once must be at "
            f"least 1 (leave it empty for no limit)"
        )
    lon = _number(row["lon"], where=where, column="lon", allow_empty=True)
    lat = _number(row["lat"], where=where, column="lat", allow_empty=True)
    if np.isnan(lon) != np.isnan(lat):
        raise AttractionError(f"{where}: give both lon and lat, or neither")
    return {
        "popularity_w": popularity,
        "opens_s": opens,
        "closes_s": closes,
        "last_entry_s": closes - last_entry_min * 60.0,
        "visit_s": visit * 60.0,
        "gate_rate": gate / 60.0,
        "capacity_n": np.inf if np.isnan(capacity) else capacity,
        "lon_f": lon,
        "lat_f": lat,
    }


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
    opens = parse_clock(other.opens, where="other_sites", column="opens")
    closes = parse_clock(other.closes, where="other_sites", column="closes")
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
