"""Junction control for the traffic engine: signals from OSM, priority by road class.

The kernel (:mod:`kernels.traffic`) knows, for each link, how its exit into the head node
is controlled; this module decides it from the network and the junction defaults table
``twin/defaults/junctions.csv`` (one row per OSM ``highway`` class, documented there):

- **Signals.** A node tagged ``highway=traffic_signals`` or a signalised crossing
  (``Network.control``), or any node given a timing in ``timings``, runs a fixed-time
  plan. The class of its most important approach (then the highest capacity) picks the
  cycle, split and lost time. Approaches within 45° of that approach's axis, either way,
  form the major phase, the others the minor phase; a node whose approaches all lie on one
  axis (a signalised crossing, or a signal mapped on one approach a few metres before a
  junction) has one vehicle phase. With two phases the effective green ``cycle - 2 ×
  lost`` is split ``major_share : 1 - major_share``, the major green starting at the
  node's offset and the minor green one lost time after it ends; one phase gets
  ``crossing_green_share × (cycle - lost)`` at a crossing and ``major_share × (cycle - 2 ×
  lost)`` at a traffic signal. During green an approach discharges at its saturation flow
  (per lane, by its own class).
- **Priority.** Where three or more streets meet without a signal and the approaches are
  of different classes, those of the most important class are major and the others give
  way, with the gap-acceptance parameters of their own class.
- **Window.** Every link lets ``lookahead_per_lane × lanes`` vehicles (rounded, at least
  one) behind the head of its queue leave before it (filtering motorbikes; vehicles
  turning to an exit with room while the head waits for a full one).

Bearings are those of the straight line from each approach's tail node to the junction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kernels import traffic_state as kts
from twin.errors import ConfigError
from twin.network import CONTROL_SIGNAL_CROSSING, CONTROL_SIGNALS, Network
from twin.tables import read_defaults_csv

__all__ = [
    "JUNCTION_COLUMNS",
    "JunctionPlan",
    "load_junction_defaults",
    "load_signal_timings",
    "plan_junctions",
    "street_count",
]

#: Columns of the junction defaults table (``highway`` is the index).
JUNCTION_COLUMNS: tuple[str, ...] = (
    "signal_cycle_s",
    "signal_major_share",
    "signal_lost_s",
    "crossing_green_share",
    "saturation_pcu_per_lane_h",
    "giveway_critical_gap_s",
    "giveway_follow_up_s",
)
#: Keys of one junction's entry in ``timings``.
TIMING_KEYS: tuple[str, ...] = ("cycle_s", "major_share", "offset_s")
_FALLBACK = "road"
_SHARES = ("signal_major_share", "crossing_green_share")


def load_signal_timings(path: str | Path | None) -> dict[int, dict[str, float]]:
    """Timings of single junctions from a CSV: ``node_id`` (OSM node id) and any of
    ``cycle_s``, ``major_share``, ``offset_s`` (an empty cell keeps the default); ``None``
    or ``""``: none. The values are checked by :func:`plan_junctions`."""
    if not path:
        return {}
    table, where = read_defaults_csv(
        path,
        default="junctions.csv",
        what="signal timings file",
        hint="; pass a CSV with the columns node_id and any of cycle_s, major_share, offset_s",
        columns=("node_id",),
    )
    unknown = sorted(set(table.columns) - {"node_id", *TIMING_KEYS})
    if unknown:
        raise ConfigError(
            f"{where}: unknown columns {unknown}; the columns are node_id and any of "
            f"{', '.join(TIMING_KEYS)}"
        )
    timings: dict[int, dict[str, float]] = {}
    for row in table.to_dict(orient="records"):
        node = pd.to_numeric(row.pop("node_id"), errors="coerce")
        if pd.isna(node):
            raise ConfigError(
                f"{where}: a row has no node_id; give the OSM node id of each junction"
            )
        values = {}
        for key, value in row.items():
            if pd.notna(value):
                number = pd.to_numeric(value, errors="coerce")
                if pd.isna(number):
                    raise ConfigError(
                        f"{where}: node {int(node)}: {key} = {value!r} is not a number"
                    )
                values[key] = float(number)
        timings[int(node)] = values
    return timings


def load_junction_defaults(overrides: str | Path | None = None) -> pd.DataFrame:
    """The junction defaults table by OSM ``highway`` class, with a planner's overrides.

    Parameters
    ----------
    overrides
        A CSV with a ``highway`` column and any of the columns of
        ``twin/defaults/junctions.csv``; its cells replace the defaults of the classes it
        names (new classes need every column). ``None`` or ``""`` for the shipped table.

    Returns
    -------
    DataFrame indexed by ``highway`` in table order (most important class first), with the
    columns :data:`JUNCTION_COLUMNS` (seconds, shares in ``(0, 1)``, PCU/h per lane).

    Raises
    ------
    SourceNotFoundError
        ``overrides`` does not exist.
    ConfigError
        A column is missing or unknown, or a value is out of range.
    """
    table, where = read_defaults_csv(
        None, default="junctions.csv", what="junction table", columns=("highway", *JUNCTION_COLUMNS)
    )
    table = _checked(table, where).set_index("highway")
    if not overrides:
        return table
    extra, where = read_defaults_csv(
        overrides,
        default="junctions.csv",
        what="junction defaults file",
        hint="; pass a CSV with the columns of twin/defaults/junctions.csv",
        columns=("highway",),
    )
    unknown = sorted(set(extra.columns) - {"highway", *JUNCTION_COLUMNS})
    if unknown:
        raise ConfigError(
            f"{where}: unknown columns {unknown}; the columns are "
            f"highway,{','.join(JUNCTION_COLUMNS)} (omit a column to keep its default)"
        )
    extra = _checked(extra, where).set_index("highway")
    for highway, row in extra.iterrows():
        if highway not in table.index:
            missing = [c for c in JUNCTION_COLUMNS if c not in row.index or pd.isna(row[c])]
            if missing:
                raise ConfigError(
                    f"{where}: new road class {highway!r} has no value for {missing}; give "
                    "every column for a class the defaults do not have"
                )
            table.loc[highway] = row.reindex(list(JUNCTION_COLUMNS))
        else:
            for column, value in row.items():
                if pd.notna(value):
                    table.loc[highway, column] = float(value)
    return table


def _checked(table: pd.DataFrame, where: str) -> pd.DataFrame:
    table = table.copy()
    table["highway"] = table["highway"].astype(str).str.strip()
    duplicated = table["highway"][table["highway"].duplicated()].tolist()
    if duplicated:
        raise ConfigError(f"{where}: road classes listed twice: {duplicated}; keep one row each")
    for column in JUNCTION_COLUMNS:
        if column not in table.columns:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        upper = 1.0 if column in _SHARES else math.inf
        bad = values.notna() & ~((values > 0) & (values < upper))
        bad |= values.isna() & table[column].notna()
        if bad.any():
            rows = table.loc[bad, "highway"].tolist()
            expected = "a share between 0 and 1" if column in _SHARES else "a positive number"
            raise ConfigError(
                f"{where}: {column} must be {expected}; rows {rows} have "
                f"{table.loc[bad, column].tolist()}"
            )
        table[column] = values
    return table


@dataclass(frozen=True, eq=False)
class JunctionPlan:
    """The control of every link's exit, as :meth:`LinkQueueState.set_junctions` takes it.

    Attributes
    ----------
    ctrl, lookahead, sig_cycle, sig_start, sig_green, sat_headway, gap_tc, gap_tf
        Per link, see :meth:`kernels.traffic_state.LinkQueueState.set_junctions` (seconds).
    signal_nodes, priority_nodes
        Node positions of the signalised junctions and of the priority junctions.
    """

    ctrl: np.ndarray
    lookahead: np.ndarray
    sig_cycle: np.ndarray
    sig_start: np.ndarray
    sig_green: np.ndarray
    sat_headway: np.ndarray
    gap_tc: np.ndarray
    gap_tf: np.ndarray
    signal_nodes: np.ndarray
    priority_nodes: np.ndarray

    def kernel_arrays(self) -> dict[str, np.ndarray]:
        """Keyword arguments of :meth:`LinkQueueState.set_junctions`."""
        names = ("ctrl", "lookahead", "sig_cycle", "sig_start", "sig_green", "sat_headway")
        return {name: getattr(self, name) for name in (*names, "gap_tc", "gap_tf")}


def street_count(network: Network) -> np.ndarray:
    """Distinct neighbouring nodes of each node (streets meeting there, either way)."""
    tail, head = network.tail, network.indices
    pairs = np.unique(
        np.concatenate([np.stack([tail, head], axis=1), np.stack([head, tail], axis=1)], axis=0),
        axis=0,
    )
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.bincount(pairs[:, 0], minlength=network.n_nodes)


def _class_rows(network: Network, table: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Per link: its class's rank in the table (0 = most important) and the table rows."""
    order = list(table.index)
    fallback = order.index(_FALLBACK) if _FALLBACK in order else len(order) - 1
    rank_of = np.array(
        [order.index(c) if c in order else fallback for c in network.road_classes] or [0],
        dtype=np.int64,
    )
    rank = rank_of[network.road_class.astype(np.int64)]
    return rank, table.iloc[rank].reset_index(drop=True)


def plan_junctions(
    network: Network,
    *,
    table: pd.DataFrame | None = None,
    signals: bool = True,
    priority: bool = True,
    lookahead_per_lane: float = 4.0,
    timings: Mapping[Any, Mapping[str, float]] | None = None,
) -> JunctionPlan:
    """Decide the junction control of every link's exit (see the module's notes).

    Parameters
    ----------
    network
        The drive network (``control`` says where OSM has signals).
    table
        Junction defaults (:func:`load_junction_defaults`; ``None`` for the shipped ones).
    signals, priority
        Run the signals / give way at priority junctions (``False``: those exits are free).
    lookahead_per_lane
        Vehicles per lane behind a queue's head that may leave before it (0: strict FIFO).
    timings
        Per junction, by ``node_id`` (OSM node id): ``cycle_s``, ``major_share`` and
        ``offset_s`` (the start of the major green within the cycle), any of them; a node
        without a signal in OSM gets one.

    Raises
    ------
    ConfigError
        A timing names an unknown node or key, or a value out of range.
    """
    table = load_junction_defaults() if table is None else table
    m, n = network.n_edges, network.n_nodes
    head, tail = network.indices, network.tail
    rank, rows = _class_rows(network, table)
    ctrl = np.full(m, kts.CTRL_FREE, dtype=np.int32)
    arrays = {k: np.zeros(m) for k in ("sig_cycle", "sig_start", "sig_green", "sat_headway")}
    gap_tc, gap_tf = np.zeros(m), np.zeros(m)
    lanes = np.maximum(network.lanes, 1.0)
    lookahead = np.zeros(m, dtype=np.int32)
    if lookahead_per_lane > 0:
        lookahead[:] = np.maximum(1, np.rint(lanes * lookahead_per_lane)).astype(np.int32)

    by_head = np.argsort(head, kind="stable")
    starts = np.searchsorted(head[by_head], np.arange(n + 1))
    timed = _timings(network, timings) if signals else {}
    is_signal = np.zeros(n, dtype=bool)
    if signals:
        is_signal[np.isin(network.control, (CONTROL_SIGNALS, CONTROL_SIGNAL_CROSSING))] = True
        is_signal[list(timed)] = True
    streets = street_count(network)
    priority_nodes = []
    for node in range(n):
        approaches = by_head[starts[node] : starts[node + 1]]
        approaches = approaches[tail[approaches] != node]
        if not len(approaches):
            continue
        if is_signal[node]:
            _signal(network, node, approaches, rank, rows, timed.get(node, {}), ctrl, arrays)
        elif priority and streets[node] >= 3 and rank[approaches].min() < rank[approaches].max():
            best = rank[approaches].min()
            major = approaches[rank[approaches] == best]
            minor = approaches[rank[approaches] != best]
            ctrl[major] = kts.CTRL_MAJOR
            ctrl[minor] = kts.CTRL_MINOR
            gap_tc[minor] = rows["giveway_critical_gap_s"].to_numpy()[minor]
            gap_tf[minor] = rows["giveway_follow_up_s"].to_numpy()[minor]
            priority_nodes.append(node)
    return JunctionPlan(
        ctrl=ctrl,
        lookahead=lookahead,
        gap_tc=gap_tc,
        gap_tf=gap_tf,
        signal_nodes=np.flatnonzero(is_signal),
        priority_nodes=np.asarray(priority_nodes, dtype=np.int64),
        **arrays,
    )


def _timings(network: Network, timings) -> dict[int, dict[str, float]]:
    """``timings`` by node position, checked."""
    out: dict[int, dict[str, float]] = {}
    if not timings:
        return out
    position = {int(v): i for i, v in enumerate(network.node_id.tolist())}
    for node_id, values in timings.items():
        try:
            node = position[int(node_id)]
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"signal_timings names node {node_id!r}, which is not a node of the drive "
                "network; give OSM node ids (twin info lists the city's signalised junctions)"
            ) from None
        unknown = sorted(set(values) - set(TIMING_KEYS))
        if unknown:
            raise ConfigError(
                f"signal_timings for node {node_id}: unknown keys {unknown}; "
                f"expected some of {list(TIMING_KEYS)}"
            )
        entry = {k: float(v) for k, v in values.items()}
        if "cycle_s" in entry and not entry["cycle_s"] > 20.0:
            raise ConfigError(
                f"signal_timings for node {node_id}: cycle_s = {entry['cycle_s']}; "
                "expected more than 20 seconds (the lost times alone take 8)"
            )
        if "major_share" in entry and not 0.0 < entry["major_share"] < 1.0:
            raise ConfigError(
                f"signal_timings for node {node_id}: major_share = {entry['major_share']}; "
                "expected a share between 0 and 1"
            )
        out[node] = entry
    return out


def _signal(network, node, approaches, rank, rows, timing, ctrl, arrays) -> None:
    """Fill the signal plan of one node's approaches."""
    order = np.lexsort((approaches, -network.capacity[approaches], rank[approaches]))
    lead = approaches[order[0]]
    row = rows.iloc[int(lead)]
    cycle = timing.get("cycle_s", float(row["signal_cycle_s"]))
    share = timing.get("major_share", float(row["signal_major_share"]))
    offset = timing.get("offset_s", 0.0)
    lost = float(row["signal_lost_s"])
    tail = network.tail[approaches]
    dx = network.x[node] - network.x[tail]
    dy = network.y[node] - network.y[tail]
    bearing = np.arctan2(dy, dx)
    lead_bearing = bearing[order[0]]
    diff = np.abs((bearing - lead_bearing + np.pi) % (2 * np.pi) - np.pi)
    major = (diff <= np.pi / 4) | (diff >= 3 * np.pi / 4)
    if major.all():
        if network.control[node] == CONTROL_SIGNAL_CROSSING:
            green = float(row["crossing_green_share"]) * (cycle - lost)
        else:
            green = share * (cycle - 2 * lost)
        starts, greens = np.full(len(approaches), offset), np.full(len(approaches), green)
    else:
        effective = cycle - 2 * lost
        g_major = share * effective
        starts = np.where(major, offset, offset + g_major + lost)
        greens = np.where(major, g_major, effective - g_major)
    saturation = rows["saturation_pcu_per_lane_h"].to_numpy()[approaches]
    ctrl[approaches] = kts.CTRL_SIGNAL
    arrays["sig_cycle"][approaches] = cycle
    arrays["sig_start"][approaches] = starts
    arrays["sig_green"][approaches] = greens
    arrays["sat_headway"][approaches] = 3600.0 / (
        saturation * np.maximum(network.lanes[approaches], 1.0)
    )
