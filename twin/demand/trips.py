"""Trips tables: the contract, and reading and checking a trips CSV.

The trips table
---------------
Every simulation reads trips as a :class:`pandas.DataFrame` sorted by ``depart`` with

=================  ========  ================================================================
column             dtype     meaning
=================  ========  ================================================================
``trip_id``        int64     unique; ``0..N-1`` for synthesised trips
``origin``         int64     drive-node *position* (index into ``city.drive`` arrays)
``destination``    int64     drive-node position
``depart``         float64   seconds after midnight (may pass 86,400 for a day that runs on)
``vehicle_class``  str       a class of the vehicle table (``twin/defaults/vehicles.csv``)
=================  ========  ================================================================

A trips CSV
-----------
Columns ``origin, destination, depart`` and optionally ``vehicle_class`` and ``trip_id``
(header names are case-insensitive; other columns are ignored).

- ``origin``/``destination`` are node ids *as the city knows them*: ``city.drive.node_id``,
  i.e. OSM node ids for a city built from OSM and GMNS ``node_id`` for a GMNS city. They are
  mapped to positions.
- ``depart`` is seconds after midnight (``27000`` or ``27000.5``) or a clock time
  ``H:MM``, ``HH:MM:SS`` or ``HH:MM:SS.s`` (hours may pass 24 for trips after midnight).
- ``vehicle_class`` defaults to ``"motorbike"`` (``default_class``), Huế's usual vehicle,
  where the column is missing or a cell is blank.
- ``trip_id`` defaults to the row's position in the file (``0..N-1``); given ids must be
  unique integers.

Every problem in a file is reported at once, by CSV line number (the header is line 1).

Clock times (:mod:`twin.clock`), reachability (:mod:`twin.demand.reachability`) and totals
(:mod:`twin.demand.trip_summary`) live in their own modules.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from twin.city import City
from twin.clock import CLOCK_PATTERN, format_clock, parse_clock
from twin.errors import SourceNotFoundError, TripsError
from twin.vehicles import load_vehicle_classes

__all__ = [
    "TRIP_COLUMNS",
    "read_trips",
    "validate_trips",
]

log = logging.getLogger(__name__)

#: Columns of a trips table and their dtypes.
TRIP_COLUMNS: dict[str, str] = {
    "trip_id": "int64",
    "origin": "int64",
    "destination": "int64",
    "depart": "float64",
    "vehicle_class": "str",
}
_REQUIRED = ("origin", "destination", "depart")
_CLOCK_NAMED = r"^(?P<h>\d{1,3}):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d(?:\.\d*)?))?$"
_INTEGER = r"^[+-]?\d{1,18}$"
_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$"
_EXAMPLES = 5


def _strings(text: pd.Series) -> pa.Array:
    """The column as an Arrow string array, whitespace trimmed, nulls as ``""``."""
    array = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.utf8_trim_whitespace(array), "")


def _matches(array: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(array, pattern).to_numpy(zero_copy_only=False)


def _integers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(values, ok)``: int64 values of the cells that are integers (``0`` elsewhere)."""
    ok = _matches(array, _INTEGER)
    values = pc.cast(pc.if_else(pa.array(ok), array, "0"), pa.int64())
    return values.to_numpy(zero_copy_only=False), ok


def _floats(array: pa.Array) -> np.ndarray:
    """float64 values of the cells that are decimal numbers, NaN elsewhere."""
    ok = _matches(array, _DECIMAL)
    values = pc.cast(pc.if_else(pa.array(ok), array, "0"), pa.float64())
    return np.where(ok, values.to_numpy(zero_copy_only=False), np.nan)


def _parse_clock_strings(text: pd.Series | pa.Array) -> np.ndarray:
    """Seconds for each string (numbers or clock times); NaN where unparsable."""
    array = text if isinstance(text, pa.Array) else _strings(pd.Series(text).astype(str))
    seconds = _floats(array)
    clock = _matches(array, CLOCK_PATTERN.pattern)
    if clock.any():
        parts = pc.extract_regex(array.filter(pa.array(clock)), _CLOCK_NAMED).flatten()
        h, m, sec = (
            pc.cast(p, pa.float64()).to_numpy(zero_copy_only=False)
            for p in (
                parts[0],
                parts[1],
                pc.if_else(pc.equal(parts[2], ""), "0", parts[2]),
            )
        )
        seconds[clock] = h * 3600.0 + m * 60.0 + sec
    seconds[~np.isfinite(seconds)] = np.nan
    return seconds


# -- validation ----------------------------------------------------------------------------
class _Problems:
    """Collects problems by kind with the CSV lines (or rows) where they occur."""

    def __init__(self, where: str, unit: str) -> None:
        self.where, self.unit, self.items = where, unit, []

    def add(self, lines: np.ndarray, what: str, fix: str, values: np.ndarray | None = None) -> None:
        lines = np.asarray(lines)
        if len(lines) == 0:
            return
        shown = ", ".join(str(int(x)) for x in lines[:_EXAMPLES])
        more = f" and {len(lines) - _EXAMPLES} more" if len(lines) > _EXAMPLES else ""
        got = ""
        if values is not None:
            shown_values = np.asarray(values, dtype=object)[:_EXAMPLES].tolist()
            got = " (got " + ", ".join(repr(v) for v in shown_values) + ")"
        self.items.append(f"{len(lines)} {what} at {self.unit} {shown}{more}{got}; {fix}")

    def raise_any(self) -> None:
        """Raise the problems found: one on the message's first line, several listed one a
        line after a first line that counts them."""
        if len(self.items) == 1:
            raise TripsError(f"{self.where}: {self.items[0]}")
        if self.items:
            raise TripsError(
                f"{self.where}: {len(self.items)} problems with the trips:\n  "
                + "\n  ".join(self.items)
            )


def _window(start: float | str | None, end: float | str | None) -> tuple[float, float]:
    lo = 0.0 if start is None else parse_clock(start)
    hi = np.inf if end is None else parse_clock(end)
    if not hi > lo:
        raise TripsError(f"window [{lo}, {hi}) is empty; end must be after start")
    return lo, hi


def _check_classes(
    problems: _Problems,
    classes: np.ndarray,
    lines: np.ndarray,
    vehicles: pd.DataFrame,
) -> None:
    known = {str(c) for c in vehicles.index}
    unknown = ~np.isin(classes, list(known))
    problems.add(
        lines[unknown],
        "unknown vehicle classes",
        f"use one of {sorted(known)} or add the class to the vehicle table",
        classes[unknown],
    )
    pcu = pd.to_numeric(vehicles["pcu"], errors="coerce") if "pcu" in vehicles else None
    no_pcu = [
        str(c) for c in vehicles.index if pcu is None or not (np.isfinite(pcu[c]) and pcu[c] > 0)
    ]
    bad = np.isin(classes, no_pcu)
    problems.add(
        lines[bad],
        "trips of a vehicle class without a positive PCU",
        "give every class a pcu above 0 in the vehicle table",
        classes[bad],
    )


def validate_trips(
    trips: pd.DataFrame,
    city: City,
    *,
    vehicles: pd.DataFrame | None = None,
    start: float | str | None = None,
    end: float | str | None = None,
) -> pd.DataFrame:
    """Check a trips table (positions, not ids) against the contract and the city.

    Returns the table with the contract's dtypes, sorted by ``depart``.

    Raises
    ------
    TripsError
        Missing columns, node positions outside the drive network, departures outside
        ``[start, end)``, unknown classes or classes without PCU, duplicate ``trip_id``,
        trips whose origin is their destination. Rows are counted from 0.
    """
    missing = [c for c in TRIP_COLUMNS if c not in trips.columns]
    if missing:
        raise TripsError(f"trips table lacks columns {missing}; expected {list(TRIP_COLUMNS)}")
    vehicles = load_vehicle_classes() if vehicles is None else vehicles
    lo, hi = _window(start, end)
    n = city.drive.n_nodes
    problems = _Problems("trips table", "rows")
    rows = np.arange(len(trips))
    for column in ("origin", "destination"):
        values = pd.to_numeric(trips[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0) | (values >= n) | (values != np.round(values))
        problems.add(rows[bad], f"{column}s outside the drive network", f"use positions 0..{n - 1}")
    depart = pd.to_numeric(trips["depart"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(depart) | (depart < lo) | (depart >= hi)
    problems.add(rows[bad], f"departures outside [{lo:g}, {hi:g}) s", "cut the trips to the window")
    _check_classes(problems, trips["vehicle_class"].astype(str).to_numpy(), rows, vehicles)
    duplicated = trips["trip_id"].duplicated(keep=False).to_numpy()
    problems.add(rows[duplicated], "duplicate trip ids", "give every trip its own trip_id")
    problems.raise_any()
    out = trips.astype(dict(TRIP_COLUMNS))
    same = (out["origin"] == out["destination"]).to_numpy()
    problems.add(rows[same], "trips whose origin is their destination", "remove them")
    problems.raise_any()
    if not out["depart"].is_monotonic_increasing:
        out = out.sort_values("depart", kind="stable", ignore_index=True)
    return out


def _read_cells(path: Path) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Every cell of a CSV as trimmed strings by lower-cased column name, and the line
    number of each row (header = line 1). Blank lines are dropped."""
    unreadable = (
        "{path}: not a readable CSV ({exc}); expected a header line "
        "origin,destination,depart[,vehicle_class][,trip_id]"
    )
    data = path.read_bytes()
    if not data.strip():
        raise TripsError(unreadable.format(path=path, exc="the file is empty"))
    body = data.replace(b"\r\n", b"\n")
    if b"\n\n" in body.strip(b"\n") or body.startswith(b"\n"):
        # Blank lines: pandas keeps them as empty rows, so line numbers stay exact.
        try:
            raw = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise TripsError(unreadable.format(path=path, exc=exc)) from exc
        cells = {str(c).strip().lower(): _strings(raw[c]) for c in raw.columns}
        n = len(raw)
    else:
        header = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
        names = [name.strip() for name in next(csv.reader([header]))]
        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                ),
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise TripsError(unreadable.format(path=path, exc=exc)) from exc
        cells = {
            name.lower(): pc.utf8_trim_whitespace(table.column(k).combine_chunks())
            for k, name in enumerate(names)
        }
        n = table.num_rows
    lines = np.arange(n, dtype=np.int64) + 2
    blank = np.ones(n, dtype=bool)
    for array in cells.values():
        blank &= pc.equal(array, "").to_numpy(zero_copy_only=False)
    if blank.any():
        keep = pa.array(~blank)
        cells = {name: array.filter(keep) for name, array in cells.items()}
        lines = lines[~blank]
    return cells, lines


def read_trips(
    path: str | Path,
    city: City,
    *,
    vehicles: pd.DataFrame | None = None,
    start: float | str | None = None,
    end: float | str | None = None,
    default_class: str = "motorbike",
) -> pd.DataFrame:
    """Read a trips CSV (see the module docstring) into a trips table for ``city``.

    Parameters
    ----------
    path
        The CSV file.
    city
        The city whose ``drive.node_id`` the file's ``origin``/``destination`` name.
    vehicles
        Vehicle class table (:func:`twin.vehicles.load_vehicle_classes`); defaults to it.
    start, end
        The simulated window (seconds after midnight or ``"HH:MM[:SS]"``); a departure
        outside ``[start, end)`` is an error. ``None``: from 0, no upper bound.
    default_class
        Class of trips without one.

    Returns
    -------
    pandas.DataFrame
        The trips table (module docstring), sorted by ``depart`` (file order among ties).

    Raises
    ------
    SourceNotFoundError
        No such file.
    TripsError
        Every problem found, with CSV line numbers: missing columns, unknown nodes,
        unparsable or negative times, departures outside the window, unknown classes or
        classes without PCU, duplicate or non-integer trip ids, origin equal to destination.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceNotFoundError(f"trips file {path} does not exist; check the path")
    cells, lines = _read_cells(path)
    missing = [c for c in _REQUIRED if c not in cells]
    if missing:
        raise TripsError(
            f"{path}: missing columns {missing} (found {list(cells)}); a trips CSV needs "
            "origin,destination,depart and may add vehicle_class,trip_id"
        )
    vehicles = load_vehicle_classes() if vehicles is None else vehicles
    lo, hi = _window(start, end)
    problems = _Problems(str(path), "lines")

    ids = np.sort(city.drive.node_id)
    position_of_sorted = np.argsort(city.drive.node_id, kind="stable")
    ends = {}
    for column in ("origin", "destination"):
        text = cells[column]
        node, integer = _integers(text)
        problems.add(
            lines[~integer],
            f"{column}s that are not integer node ids",
            "write the node ids of the city's drive network",
            text.filter(pa.array(~integer)).to_pylist(),
        )
        node = np.where(integer, node, -1)
        at = np.clip(np.searchsorted(ids, node), 0, max(len(ids) - 1, 0))
        found = integer & (ids[at] == node) if len(ids) else np.zeros(len(node), dtype=bool)
        unknown = integer & ~found
        problems.add(
            lines[unknown],
            f"unknown {column} nodes",
            "use node ids of the city's drive network (city.drive.node_id: OSM or GMNS ids)",
            node[unknown],
        )
        ends[column] = np.where(found, position_of_sorted[at], -1)

    depart_text = cells["depart"]
    depart = _parse_clock_strings(depart_text)
    unparsable = np.isnan(depart)
    problems.add(
        lines[unparsable],
        "unparsable departure times",
        "write seconds after midnight (27000) or HH:MM:SS (07:30:00)",
        depart_text.filter(pa.array(unparsable)).to_pylist(),
    )
    outside = ~unparsable & ((depart < lo) | (depart >= hi))
    window = f"[{format_clock(lo)}, {format_clock(hi) if np.isfinite(hi) else 'no end'})"
    problems.add(
        lines[outside],
        f"departures outside the window {window}",
        "remove those trips or widen --start/--end",
        depart_text.filter(pa.array(outside)).to_pylist(),
    )

    n_rows = len(lines)
    if "vehicle_class" in cells:
        classes = cells["vehicle_class"].to_numpy(zero_copy_only=False).astype(object)
        classes[classes == ""] = default_class
    else:
        classes = np.full(n_rows, default_class, dtype=object)
    _check_classes(problems, classes.astype(str), lines, vehicles)

    if "trip_id" in cells:
        trip_id, ok = _integers(cells["trip_id"])
        problems.add(
            lines[~ok],
            "trip ids that are not integers",
            "write integer trip ids",
            cells["trip_id"].filter(pa.array(~ok)).to_pylist(),
        )
        trip_id = np.where(ok, trip_id, -1)
        dup = ok & pd.Series(trip_id).duplicated(keep=False).to_numpy()
        problems.add(
            lines[dup], "duplicate trip ids", "give every trip its own trip_id", trip_id[dup]
        )
    else:
        trip_id = np.arange(n_rows, dtype=np.int64)

    same = (ends["origin"] >= 0) & (ends["origin"] == ends["destination"])
    problems.add(
        lines[same],
        "trips whose origin is their destination",
        "remove them (a trip must move)",
        cells["origin"].filter(pa.array(same)).to_pylist(),
    )
    problems.raise_any()

    order = np.argsort(depart, kind="stable")
    trips = pd.DataFrame(
        {
            "trip_id": trip_id[order],
            "origin": ends["origin"][order].astype(np.int64),
            "destination": ends["destination"][order].astype(np.int64),
            "depart": depart[order].astype(np.float64),
        }
    )
    trips["vehicle_class"] = pd.array(classes[order].astype(str), dtype="str")
    if len(trips) == 0:
        log.warning("%s holds no trips", path)
    return trips
