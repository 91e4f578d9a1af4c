"""The planner-editable attraction table: reading it and checking every row.

``twin/defaults/attractions.csv`` documents every column: the main sites with their
popularity, opening hours, visit duration, ticket-gate throughput and the most visitors they
hold at once. :func:`load_attraction_table` reads a table and :func:`check_attraction_table`
checks one already in memory; :mod:`twin.attractions.sites` matches the rows to a city.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin.clock import parse_clock
from twin.errors import TwinError
from twin.tables import read_defaults_csv

__all__ = [
    "DEFAULT_TABLE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "AttractionError",
    "check_attraction_table",
    "load_attraction_table",
]

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
#: The shipped attraction table, as named in messages.
DEFAULT_TABLE = "twin/defaults/attractions.csv"


#: Seconds in a day: sites open and close within one.
DAY = 86_400.0


class AttractionError(TwinError, ValueError):
    """An attraction table is malformed: missing columns, bad hours, rates or capacities."""


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
    table, where = read_defaults_csv(
        path,
        default="attractions.csv",
        what="attraction table",
        hint=(
            f"; give the path of a CSV with the columns of {DEFAULT_TABLE}, or leave it out "
            "for the default table"
        ),
        dtype=str,
    )
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
    opens = parse_clock(row["opens"], what=f"{where}: opens", error=AttractionError, latest=DAY)
    closes = parse_clock(row["closes"], what=f"{where}: closes", error=AttractionError, latest=DAY)
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
