"""Road attributes: the defaults table by road class and their imputation on edges.

Huế's ways are sparsely tagged (``lanes`` on 7 % of road length, ``maxspeed`` on 1 %), so
every edge takes its speed, lanes, capacity and jam density from one table of defaults by
OSM ``highway`` class (``twin/defaults/road_classes.csv``), which a planner can read and
override. Where a way is tagged, the tag wins:

- ``maxspeed`` (or ``maxspeed:forward`` / ``maxspeed:backward`` for the edge's direction)
  sets the free-flow speed; ``"30 mph"``, ``"50 km/h"`` and Vietnam's zone values
  (``VN:urban`` 50 km/h, ``VN:rural`` 80 km/h, ``VN:motorway`` 120 km/h, from Circular
  31/2019/TT-BGTVT) are understood; ``none``, ``signals`` and the like fall back to the
  default.
- ``lanes:forward`` / ``lanes:backward`` give the lanes of each direction; otherwise
  ``lanes`` is the total of a one-way road, and a two-way road's total is split evenly
  between its directions (at least one lane each, so ``lanes=3`` gives 1.5 a direction).
- ``oneway`` (with ``junction=roundabout``) decides which directions exist; osmnx reads it.

Capacity is lanes × capacity per lane (PCU/h); jam density is per lane (PCU/km/lane).

osmnx stores a list where a simplified edge merges ways whose tags differ, in an order
that depends on Python's string hashing. Every such list is reduced here by a fixed rule
(named in :func:`impute_edge_attributes`), so a build gives identical arrays under any
``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from twin.errors import ConfigError, SourceNotFoundError

log = logging.getLogger(__name__)

#: Columns of the defaults table (``highway`` is the index).
ROAD_COLUMNS: tuple[str, ...] = (
    "speed_kmh",
    "lanes",
    "capacity_pcu_per_lane_h",
    "jam_density_pcu_per_km_lane",
)
#: The class whose defaults apply to a ``highway`` value the table does not list.
FALLBACK_CLASS = "road"
#: Speeds (km/h) of the maxspeed zone values used in Việt Nam and a few words.
MAXSPEED_WORDS: dict[str, float] = {
    "vn:urban": 50.0,
    "vn:rural": 80.0,
    "vn:motorway": 120.0,
    "walk": 5.0,
    "living_street": 20.0,
}
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.I)


# -- the table --------------------------------------------------------------------------
def _read_table(source, where: str) -> pd.DataFrame:
    try:
        with source.open("r", encoding="utf-8") as fh:
            table = pd.read_csv(fh, comment="#", skipinitialspace=True, dtype={"highway": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not a readable CSV file ({exc})") from exc
    if "highway" not in table.columns:
        raise ConfigError(
            f"{where}: no 'highway' column (columns: {list(table.columns)}); expected "
            f"highway,{','.join(ROAD_COLUMNS)}"
        )
    unknown = [c for c in table.columns if c != "highway" and c not in ROAD_COLUMNS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown columns {unknown}; the columns are "
            f"highway,{','.join(ROAD_COLUMNS)} (omit a column to keep its default)"
        )
    table["highway"] = table["highway"].str.strip()
    duplicated = table["highway"][table["highway"].duplicated()].tolist()
    if duplicated:
        raise ConfigError(f"{where}: road classes listed twice: {duplicated}; keep one row each")
    for column in ROAD_COLUMNS:
        if column not in table.columns:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        bad = table.loc[values.notna() & ~(values > 0), "highway"].tolist()
        bad += table.loc[values.isna() & table[column].notna(), "highway"].tolist()
        if bad:
            raise ConfigError(
                f"{where}: {column} must be a positive number; rows {bad} have "
                f"{table.loc[table['highway'].isin(bad), column].tolist()}"
            )
        table[column] = values
    return table.set_index("highway")


def load_road_defaults(
    overrides: str | Path | None = None,
    *,
    classes: Mapping[str, Mapping[str, float]] | None = None,
    classes_source: str = "the city profile's [roads]",
) -> pd.DataFrame:
    """The table of road defaults by OSM ``highway`` class, with a city's and a planner's
    overrides.

    Parameters
    ----------
    overrides
        A CSV with a ``highway`` column and any of the columns of
        ``twin/defaults/road_classes.csv``. Its rows replace the values of the classes it
        names (an empty cell or an omitted column keeps the value before it); new classes
        are added at the end. ``None`` for none. Applied after ``classes``.
    classes
        A city profile's road classes (``{highway: {column: value}}``, see
        :mod:`twin.city_profile`), laid over the shipped table the same way.
    classes_source
        Names ``classes`` in error messages.

    Returns
    -------
    DataFrame indexed by ``highway`` in table order (most important class first), with
    ``speed_kmh`` (km/h), ``lanes`` (per direction), ``capacity_pcu_per_lane_h`` (PCU/h per
    lane) and ``jam_density_pcu_per_km_lane`` (PCU/km per lane).

    Raises
    ------
    SourceNotFoundError
        ``overrides`` does not exist.
    ConfigError
        A column is unknown, a value is not a positive number, a new class lacks a value.
    """
    table = _read_table(
        resources.files("twin") / "defaults" / "road_classes.csv",
        "twin/defaults/road_classes.csv",
    ).astype(float)
    if classes:
        rows = pd.DataFrame.from_dict(
            {str(k): dict(v) for k, v in classes.items()}, orient="index"
        ).reindex(columns=[c for c in ROAD_COLUMNS if any(c in v for v in classes.values())])
        rows.index.name = "highway"
        for column in rows.columns:
            bad = rows.index[rows[column].notna() & ~(rows[column] > 0)].tolist()
            if bad:
                raise ConfigError(
                    f"{classes_source}: {column} must be a positive number; classes {bad} "
                    f"have {rows.loc[bad, column].tolist()}"
                )
        _lay_over(table, rows, classes_source)
    if overrides is None:
        return table
    path = Path(overrides)
    if not path.is_file():
        raise SourceNotFoundError(
            f"road defaults file {path} does not exist; pass a CSV with the columns of "
            "twin/defaults/road_classes.csv"
        )
    _lay_over(table, _read_table(path, str(path)), str(path))
    return table


def _lay_over(table: pd.DataFrame, extra: pd.DataFrame, where: str) -> None:
    """Replace ``table``'s values by ``extra``'s non-empty cells, in place; a class ``table``
    does not have is added at the end and must give every column."""
    for highway, row in extra.iterrows():
        if highway not in table.index:
            missing = [c for c in ROAD_COLUMNS if c not in row.index or pd.isna(row[c])]
            if missing:
                raise ConfigError(
                    f"{where}: new road class {highway!r} has no value for {missing}; give "
                    "every column for a class the defaults do not have"
                )
            table.loc[highway] = row.reindex(list(ROAD_COLUMNS))
        else:
            for column, value in row.items():
                if pd.notna(value):
                    table.loc[highway, column] = float(value)


def road_defaults_digest(table: pd.DataFrame) -> str:
    """SHA-256 of a defaults table's content (a build parameter: change it, rebuild)."""
    text = table.reindex(columns=list(ROAD_COLUMNS)).to_csv(float_format="%.6g")
    return hashlib.sha256(text.encode()).hexdigest()


# -- tag values -------------------------------------------------------------------------
def as_list(value: object) -> list:
    """A tag value as a list: osmnx merges differing values of merged ways into lists."""
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, (list, tuple, set)):
        return [v for v in value if v is not None]
    return [value]


def parse_maxspeed(value: object) -> float | None:
    """A ``maxspeed`` value in km/h, or ``None`` when it gives no number.

    Several values (``"50;40"``, or a list from merged ways) give the lowest.
    """
    speeds = []
    for item in as_list(value):
        for part in str(item).split(";"):
            word = part.strip().lower()
            if word in MAXSPEED_WORDS:
                speeds.append(MAXSPEED_WORDS[word])
                continue
            match = _SPEED_RE.match(word)
            if not match:
                continue
            number = float(match.group(1))
            unit = (match.group(2) or "km/h").lower()
            factor = {"mph": 1.609344, "knots": 1.852}.get(unit, 1.0)
            speed = number * factor
            if 3.0 <= speed <= 150.0:
                speeds.append(speed)
    return min(speeds) if speeds else None


def parse_lanes(value: object) -> float | None:
    """A ``lanes`` value as a number of lanes, or ``None`` when untagged or unusable.

    Several values (``"2;3"``, or a list from merged ways) give the lowest.
    """
    lanes = []
    for item in as_list(value):
        for part in str(item).split(";"):
            try:
                number = float(part.strip())
            except ValueError:
                continue
            if 0 < number <= 12:
                lanes.append(number)
    return min(lanes) if lanes else None


def pick_class(value: object, order: Sequence[str]) -> str:
    """The road class of an edge: of several ``highway`` values, the most important.

    Importance is the defaults table's order; values it does not list come after,
    alphabetically. An edge with no value is ``"road"`` (OSM's class for unknown roads).
    """
    values = sorted({str(v) for v in as_list(value)})
    if not values:
        return FALLBACK_CLASS
    rank = {name: i for i, name in enumerate(order)}
    return min(values, key=lambda v: (rank.get(v, len(rank)), v))


def join_names(value: object) -> str:
    """A street name: several names (merged ways) sorted and joined with ``"; "``."""
    return "; ".join(sorted({str(v).strip() for v in as_list(value) if str(v).strip()}))


def pick_way(value: object) -> int:
    """An OSM way id: of several, the smallest (``-1`` when none)."""
    ids = []
    for v in as_list(value):
        try:
            ids.append(int(v))
        except (TypeError, ValueError):
            continue
    return min(ids) if ids else -1


def is_bridge(value: object) -> bool:
    """Whether a ``bridge`` value marks a bridge (any value other than ``no``)."""
    return any(str(v).strip().lower() not in {"", "no", "false", "0"} for v in as_list(value))


def _truthy(value: object) -> bool:
    """osmnx's ``oneway``/``reversed`` flags; a merged list is true when any part is."""
    return any(v is True or str(v).lower() in {"true", "yes", "1"} for v in as_list(value))


# -- imputation -------------------------------------------------------------------------
def impute_edge_attributes(
    records: Iterable[dict], defaults: pd.DataFrame
) -> tuple[dict[str, np.ndarray], tuple[str, ...], dict]:
    """Speed, lanes, capacity and jam density of each edge, tags first, then defaults.

    Parameters
    ----------
    records
        One dict of osmnx edge attributes per edge (``highway``, ``maxspeed``, ``lanes``,
        ``lanes:forward``, ``oneway``, ``reversed``, ``name``, ``bridge``, ``twin:way``
        or ``osmid``, ``length`` in metres).
    defaults
        From :func:`load_road_defaults`.

    Returns
    -------
    arrays
        ``length`` (m), ``speed`` (m/s), ``lanes`` (per direction), ``capacity`` (PCU/h,
        whole edge), ``jam_density`` (PCU/km/lane), ``road_class`` (index into the
        classes), ``osm_way``, ``bridge``, ``name``.
    road_classes
        The defaults table's classes, then any unlisted class met, in order of meeting.
    report
        Shares of edge length whose speed and lanes came from tags (``speed_tagged_km``,
        ``lanes_tagged_km``, ``total_km``) and the unlisted classes given the defaults
        of ``"road"``.

    Notes
    -----
    Lists from merged ways are reduced by fixed rules: the most important ``highway``
    (:func:`pick_class`), the lowest ``maxspeed`` and ``lanes``, the smallest way id,
    names sorted and joined, ``bridge`` when any part is a bridge, ``oneway`` when any part
    is one-way.
    """
    classes = list(defaults.index)
    rank = {name: i for i, name in enumerate(classes)}
    table = defaults.reindex(columns=list(ROAD_COLUMNS)).to_numpy(dtype=float)
    fallback = rank.get(FALLBACK_CLASS, 0)
    rows: list[tuple] = []
    unlisted: list[str] = []
    speed_tagged = lanes_tagged = total = 0.0
    for attrs in records:
        highway = pick_class(attrs.get("highway"), classes)
        if highway not in rank:
            rank[highway] = len(classes)
            classes.append(highway)
            unlisted.append(highway)
        k = rank[highway]
        row = table[k] if k < len(table) else table[fallback]
        backward = _truthy(attrs.get("reversed"))
        oneway = _truthy(attrs.get("oneway"))
        direction = "backward" if backward else "forward"
        length = float(attrs.get("length", 0.0))
        total += length

        speed_kmh = parse_maxspeed(attrs.get(f"maxspeed:{direction}"))
        if speed_kmh is None:
            speed_kmh = parse_maxspeed(attrs.get("maxspeed"))
        if speed_kmh is None:
            speed_kmh = row[0]
        else:
            speed_tagged += length

        lanes = parse_lanes(attrs.get(f"lanes:{direction}"))
        if lanes is None:
            total_lanes = parse_lanes(attrs.get("lanes"))
            if total_lanes is not None:
                lanes = total_lanes if oneway else max(1.0, total_lanes / 2.0)
        if lanes is None:
            lanes = row[1]
        else:
            lanes_tagged += length

        way = attrs.get("twin:way")
        rows.append(
            (
                length,
                speed_kmh / 3.6,
                lanes,
                lanes * row[2],
                row[3],
                k,
                pick_way(way if way is not None else attrs.get("osmid")),
                is_bridge(attrs.get("bridge")),
                join_names(attrs.get("name")),
            )
        )
    if unlisted:
        log.warning(
            "road classes %s are not in the defaults table; they take the defaults of %r",
            unlisted,
            FALLBACK_CLASS,
        )
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    arrays = {
        "length": np.asarray(columns[0], dtype=np.float64),
        "speed": np.asarray(columns[1], dtype=np.float64),
        "lanes": np.asarray(columns[2], dtype=np.float64),
        "capacity": np.asarray(columns[3], dtype=np.float64),
        "jam_density": np.asarray(columns[4], dtype=np.float64),
        "road_class": np.asarray(columns[5], dtype=np.int16),
        "osm_way": np.asarray(columns[6], dtype=np.int64),
        "bridge": np.asarray(columns[7], dtype=bool),
        "name": np.asarray(columns[8], dtype=object),
    }
    report = {
        "total_km": total / 1000.0,
        "speed_tagged_km": speed_tagged / 1000.0,
        "lanes_tagged_km": lanes_tagged / 1000.0,
        "unlisted_classes": unlisted,
    }
    return arrays, tuple(classes), report
