"""Trips tables: the contract, reading a trips CSV, reachability and a summary.

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
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from twin.city import City
from twin.errors import SourceNotFoundError, TripsError
from twin.vehicles import load_vehicle_classes

__all__ = [
    "TRIP_COLUMNS",
    "DemandSummary",
    "ReachabilityReport",
    "check_reachability",
    "demand_summary",
    "format_clock",
    "parse_clock",
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
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d(?:\.\d*)?))?$")
_CLOCK_NAMED = r"^(?P<h>\d{1,3}):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d(?:\.\d*)?))?$"
_INTEGER = r"^[+-]?\d{1,18}$"
_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$"
_EXAMPLES = 5


# -- clock times ---------------------------------------------------------------------------
def parse_clock(value: float | int | str) -> float:
    """Seconds after midnight from a number of seconds or ``"H:MM[:SS[.s]]"``.

    Raises
    ------
    TripsError
        The value is neither.
    """
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            match = _CLOCK.match(text)
            seconds = float("nan")
            if match:
                h, m, s = match.groups()
                seconds = int(h) * 3600.0 + int(m) * 60.0 + float(s or 0.0)
    if not np.isfinite(seconds) or seconds < 0:
        raise TripsError(
            f"time {value!r} is not seconds after midnight (>= 0) or HH:MM[:SS]; "
            "write it as 27000 or 07:30:00"
        )
    return seconds


def format_clock(seconds: float) -> str:
    """``"HH:MM:SS"`` of seconds after midnight (hours may pass 24)."""
    s = int(np.floor(float(seconds)))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


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
    clock = _matches(array, _CLOCK.pattern)
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
        if self.items:
            raise TripsError(f"{self.where}: " + "\n  ".join(["bad trips:", *self.items]))


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


# -- reachability --------------------------------------------------------------------------
@dataclass(frozen=True)
class ReachabilityReport:
    """Which trips cannot reach their destination on the drive network.

    Attributes
    ----------
    n_trips
        Trips checked.
    n_unreachable
        Trips whose destination no path reaches from their origin.
    unreachable
        ``bool[n_trips]``, in the order of the trips table.
    n_components
        Strongly connected components of the drive network (1 for built cities).
    largest_component_nodes
        Nodes in the largest one.
    examples
        Up to a few unreachable trips: ``trip_id``, ``origin``, ``destination`` (positions)
        and ``origin_node_id``, ``destination_node_id`` (the city's ids).
    """

    n_trips: int
    n_unreachable: int
    unreachable: np.ndarray = field(repr=False)
    n_components: int
    largest_component_nodes: int
    examples: pd.DataFrame = field(repr=False)

    @property
    def ok(self) -> bool:
        """Every trip can reach its destination."""
        return self.n_unreachable == 0

    def __str__(self) -> str:
        head = (
            f"{self.n_unreachable:,} of {self.n_trips:,} trips cannot reach their destination "
            f"(the drive network has {self.n_components:,} strongly connected components; "
            f"the largest holds {self.largest_component_nodes:,} nodes)"
        )
        if self.ok:
            return head
        rows = [
            f"  trip {r.trip_id}: node {r.origin_node_id} -> node {r.destination_node_id}"
            for r in self.examples.itertuples()
        ]
        return "\n".join([head, "for example:", *rows])


def strong_components(city: City) -> tuple[int, np.ndarray]:
    """Strongly connected components of the drive network: ``(count, label per node)``."""
    net = city.drive
    graph = csr_matrix(
        (np.ones(net.n_edges, dtype=np.int8), net.indices, net.indptr),
        shape=(net.n_nodes, net.n_nodes),
    )
    count, labels = connected_components(graph, directed=True, connection="strong")
    return int(count), labels.astype(np.int64)


def check_reachability(
    city: City, trips: pd.DataFrame, *, max_examples: int = _EXAMPLES
) -> ReachabilityReport:
    """Count the trips whose destination cannot be reached from their origin.

    Trips inside one strongly connected component are reachable; for the others the
    condensation of the network (one node per component) is searched from each origin
    component. Unreachable trips are reported, not raised: the caller decides whether to
    drop them (``trips[~report.unreachable]``) or stop.
    """
    net = city.drive
    origin = trips["origin"].to_numpy(dtype=np.int64)
    destination = trips["destination"].to_numpy(dtype=np.int64)
    outside = (np.minimum(origin, destination) < 0) | (
        np.maximum(origin, destination) >= net.n_nodes
    )
    if outside.any():
        raise TripsError(
            f"{int(outside.sum())} trips name node positions outside 0..{net.n_nodes - 1} "
            f"(rows {np.flatnonzero(outside)[:_EXAMPLES].tolist()}); check_reachability takes a "
            "trips table of positions (read_trips or synthesise_trips), not node ids"
        )
    n_comp, labels = strong_components(city)
    unreachable = np.zeros(len(trips), dtype=bool)
    if n_comp > 1 and len(trips):
        lo, ld = labels[origin], labels[destination]
        cross = np.flatnonzero(lo != ld)
        if len(cross):
            tail_c, head_c = labels[net.tail], labels[net.indices]
            between = tail_c != head_c
            cond = csr_matrix(
                (np.ones(int(between.sum()), dtype=np.int8), (tail_c[between], head_c[between])),
                shape=(n_comp, n_comp),
            )
            sources, group = np.unique(lo[cross], return_inverse=True)
            for g, comp in enumerate(sources):
                reach = np.zeros(n_comp, dtype=bool)
                reach[
                    breadth_first_order(cond, int(comp), directed=True, return_predecessors=False)
                ] = True
                members = cross[group == g]
                unreachable[members] = ~reach[ld[members]]
    sizes = np.bincount(labels, minlength=n_comp) if len(labels) else np.zeros(1, dtype=int)
    bad = np.flatnonzero(unreachable)[:max_examples]
    examples = pd.DataFrame(
        {
            "trip_id": trips["trip_id"].to_numpy()[bad] if "trip_id" in trips else bad,
            "origin": origin[bad],
            "destination": destination[bad],
            "origin_node_id": net.node_id[origin[bad]],
            "destination_node_id": net.node_id[destination[bad]],
        }
    )
    report = ReachabilityReport(
        n_trips=len(trips),
        n_unreachable=int(unreachable.sum()),
        unreachable=unreachable,
        n_components=n_comp,
        largest_component_nodes=int(sizes.max()),
        examples=examples,
    )
    if not report.ok:
        log.warning("%s", report)
    return report


# -- summary -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemandSummary:
    """Totals of a trips table.

    Attributes
    ----------
    total
        Trips.
    by_class
        Trips per vehicle class (``Series``, classes in descending order).
    by_hour
        Trips per hour of departure (``Series`` indexed by hour 0, 1, …).
    distinct_origins, distinct_destinations
        Distinct origin and destination nodes.
    first_departure, last_departure
        Seconds after midnight (NaN for no trips).
    """

    total: int
    by_class: pd.Series
    by_hour: pd.Series
    distinct_origins: int
    distinct_destinations: int
    first_departure: float
    last_departure: float

    def as_dict(self) -> dict:
        """Plain data for JSON (hours and classes as string keys)."""
        return {
            "trips_total": self.total,
            "by_class": {str(k): int(v) for k, v in self.by_class.items()},
            "by_hour": {f"{int(h):02d}": int(v) for h, v in self.by_hour.items()},
            "distinct_origins": self.distinct_origins,
            "distinct_destinations": self.distinct_destinations,
            "first_departure": self.first_departure,
            "last_departure": self.last_departure,
        }

    def to_text(self) -> str:
        """A short plain-text table for the command line and the README."""
        out = [
            f"trips: {self.total:,} ({self.distinct_origins:,} origins, "
            f"{self.distinct_destinations:,} destinations)"
        ]
        for name, count in self.by_class.items():
            share = count / self.total if self.total else 0.0
            out.append(f"  {name:<10} {count:>10,}  {share:6.1%}")
        if self.total:
            peak = int(self.by_hour.idxmax())
            out.append(
                f"departures {format_clock(self.first_departure)}-"
                f"{format_clock(self.last_departure)}, busiest hour {peak:02d}:00 "
                f"({int(self.by_hour.max()):,} trips)"
            )
            width = max(1, int(self.by_hour.max()))
            for hour, count in self.by_hour.items():
                bar = "#" * round(40 * count / width)
                out.append(f"  {int(hour):02d}h {int(count):>9,} {bar}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def demand_summary(trips: pd.DataFrame) -> DemandSummary:
    """Totals by vehicle class and by hour of departure of a trips table."""
    depart = trips["depart"].to_numpy(dtype=np.float64)
    hours = np.floor(depart / 3600.0).astype(np.int64)
    n_hours = max(24, int(hours.max()) + 1) if len(hours) else 24
    by_hour = pd.Series(np.bincount(hours, minlength=n_hours), index=np.arange(n_hours))
    by_class = trips["vehicle_class"].astype(str).value_counts(sort=True)
    by_class.index.name = "vehicle_class"
    return DemandSummary(
        total=len(trips),
        by_class=by_class,
        by_hour=by_hour.rename("trips"),
        distinct_origins=int(trips["origin"].nunique()),
        distinct_destinations=int(trips["destination"].nunique()),
        first_departure=float(depart.min()) if len(depart) else float("nan"),
        last_departure=float(depart.max()) if len(depart) else float("nan"),
    )
