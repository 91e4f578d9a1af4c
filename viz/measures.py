"""What a road or a zone is coloured by: measures computed from the result tables.

A *road measure* gives one value per drive edge and 15-minute interval, from a side's links
table (:data:`viz.results.LINK_COLUMNS`) and the network (free-flow speed, capacity); a
*zone measure* one value per zone from the incidents, visits or a comparison's zone table.
Each has a unit, which direction is better, a sequential colour map and a label in English
and Vietnamese. A difference (option − base) of a measure is coloured with a diverging map
centred on zero, turned so that blue is always better and red always worse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.network import Network
from viz.errors import UnknownMeasureError
from viz.results import INTERVAL_S, Side

__all__ = [
    "MEASURES",
    "ZONE_MEASURES",
    "Measure",
    "difference_limits",
    "measure",
    "road_series",
    "sequential_limits",
    "window_mean",
    "zone_measure",
    "zone_values",
]


@dataclass(frozen=True)
class Measure:
    """A measure roads or zones are coloured by.

    Attributes
    ----------
    name
        Its name (``--color NAME``).
    unit
        Unit of the values shown (after ``scale``).
    better
        ``"higher"``, ``"lower"`` or ``"neither"``.
    en, vi
        What it is, in English and Vietnamese.
    cmap
        Sequential colour map, low to high values.
    additive
        Absent rows count zero (volumes, queues); otherwise absent means no measurement
        (speeds of links no vehicle left).
    scale
        Factor from the tables' unit to the unit shown (seconds to minutes: 1/60).
    fixed
        A fixed colour range, else ``None`` (from the data).
    unit_vi
        The unit in Vietnamese, where it differs.
    """

    name: str
    unit: str
    better: str
    en: str
    vi: str
    cmap: str
    additive: bool = False
    scale: float = 1.0
    fixed: tuple[float, float] | None = None
    unit_vi: str = ""

    def label(self, lang: str = "en") -> str:
        """The description in ``lang`` with the unit: ``"Mean speed (km/h)"``."""
        text = self.vi if lang == "vi" else self.en
        unit = (self.unit_vi or self.unit) if lang == "vi" else self.unit
        return f"{text} ({unit})" if unit else text

    def difference_cmap(self) -> str:
        """Diverging map for option − base: blue where better, red where worse."""
        return "RdBu_r" if self.better == "lower" else "RdBu"


_ROAD = (
    Measure("speed_ratio", "", "higher", "Speed against free-flow speed",
            "Tốc độ so với tốc độ khi đường thông thoáng", "RdYlGn", fixed=(0.0, 1.0)),
    Measure("speed_kmh", "km/h", "higher", "Mean speed of the vehicles that left the road",
            "Tốc độ trung bình của các xe đi qua", "RdYlGn"),
    Measure("volume_capacity", "", "lower", "Vehicles entering per hour against capacity",
            "Lưu lượng xe vào mỗi giờ so với năng lực thông hành", "YlOrRd", additive=True),
    Measure("queue_pcu", "PCU", "lower", "Queue at the end of the 15 minutes",
            "Hàng xe chờ cuối mỗi 15 phút", "YlOrRd", additive=True, unit_vi="xe con quy đổi"),
    Measure("delay_s_per_km", "s/km", "lower", "Delay over free flow per km driven",
            "Thời gian chậm trễ so với đường thông thoáng trên mỗi km", "YlOrRd"),
    Measure("entries", "vehicles / 15 min", "neither", "Vehicles entering",
            "Số xe đi vào", "viridis", additive=True, unit_vi="xe / 15 phút"),
)  # fmt: skip
#: Road measures by name.
MEASURES: dict[str, Measure] = {m.name: m for m in _ROAD}

_ZONE = (
    Measure("response_time_mean_s", "min", "lower", "Mean emergency response time",
            "Thời gian phản ứng cấp cứu trung bình", "YlOrRd", scale=1 / 60, unit_vi="phút"),
    Measure("share_within_8min", "%", "higher", "Incidents reached within 8 minutes",
            "Sự cố có xe đến trong vòng 8 phút", "RdYlGn", scale=100.0, fixed=(0.0, 100.0)),
    Measure("incidents", "incidents", "neither", "Emergency incidents",
            "Số sự cố khẩn cấp", "Purples", additive=True, unit_vi="sự cố"),
    Measure("gate_wait_mean_s", "min", "lower", "Mean wait at ticket gates",
            "Thời gian chờ trung bình tại cổng bán vé", "YlOrRd", scale=1 / 60, unit_vi="phút"),
    Measure("visits", "visits", "neither", "Visits to tourist sites",
            "Lượt tham quan", "Purples", additive=True, unit_vi="lượt"),
)  # fmt: skip
#: Zone measures by name.
ZONE_MEASURES: dict[str, Measure] = {m.name: m for m in _ZONE}


def _unknown(name: str, known: Sequence[str], what: str) -> UnknownMeasureError:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownMeasureError(
        f"no {what} measure named {name!r}{hint} (the {what} measures are {', '.join(known)})"
    )


def measure(name: str) -> Measure:
    """The road measure ``name``.

    Raises
    ------
    UnknownMeasureError
        No such measure; the message names the closest and lists them all.
    """
    try:
        return MEASURES[name]
    except KeyError:
        raise _unknown(name, list(MEASURES), "road") from None


def zone_measure(name: str) -> Measure:
    """The zone measure ``name`` (see :func:`measure`)."""
    try:
        return ZONE_MEASURES[name]
    except KeyError:
        raise _unknown(name, list(ZONE_MEASURES), "zone") from None


# -- roads ---------------------------------------------------------------------------------
def road_series(
    m: Measure,
    side: Side,
    network: Network,
    intervals: np.ndarray,
    *,
    edge_ids: np.ndarray | None = None,
) -> np.ndarray:
    """``float64[len(intervals), network.n_edges]``: the measure of every edge in every
    interval (NaN: no measurement, e.g. no vehicle left the road in a speed measure).

    Links of the table that are not in ``network`` (a road a scenario added) are left out.
    With ``edge_ids`` the columns are those edges, in that order; an edge not in
    ``network`` (a road another side added) has the measure of a road nobody drove: 0 for
    an additive measure, NaN for the others.
    """
    if edge_ids is not None:
        series = road_series(m, side, network, intervals)
        column = pd.Index(network.edge_id).get_indexer(np.asarray(edge_ids, dtype=np.int64))
        out = np.full((len(series), len(column)), 0.0 if m.additive else math.nan)
        out[:, column >= 0] = series[:, column[column >= 0]]
        return out
    intervals = np.asarray(intervals, dtype=np.float64)
    n_t, n_e = len(intervals), network.n_edges
    links = side.links
    edge = pd.Index(network.edge_id).get_indexer(links["edge_id"].to_numpy())
    slot = np.searchsorted(intervals, links["interval_start"].to_numpy(float))
    slot = np.minimum(slot, max(n_t - 1, 0))
    ok = (edge >= 0) & (n_t > 0)
    ok &= np.isclose(intervals[slot] if n_t else 0.0, links["interval_start"].to_numpy(float))
    edge, slot = edge[ok], slot[ok]

    def grid(column: str, fill: float) -> np.ndarray:
        out = np.full((n_t, n_e), fill)
        out[slot, edge] = links[column].to_numpy(float)[ok]
        return out

    free_kmh = network.speed * 3.6
    if m.name in ("speed_ratio", "speed_kmh", "delay_s_per_km"):
        speed = grid("mean_speed_kmh", math.nan)
        speed[speed <= 0] = math.nan
        if m.name == "speed_kmh":
            return speed
        if m.name == "speed_ratio":
            return np.minimum(speed / free_kmh[None, :], 1.0)
        return np.maximum(3600.0 / speed - 3600.0 / free_kmh[None, :], 0.0)
    if m.name == "volume_capacity":
        per_hour = grid("entries", 0.0) * (3600.0 / INTERVAL_S) * side.mean_pcu
        return per_hour / network.capacity[None, :]
    if m.name in ("queue_pcu", "entries"):
        return grid(m.name, 0.0)
    raise _unknown(m.name, list(MEASURES), "road")


def window_mean(m: Measure, series: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per edge, the measure over the whole window: the mean over the intervals (additive
    measures), or the mean over the intervals with a value, weighted by ``weights`` (the
    vehicles entering) when given."""
    if m.additive:
        return series.mean(axis=0) if len(series) else np.zeros(series.shape[1])
    finite = np.isfinite(series)
    w = np.where(finite, 1.0 if weights is None else weights, 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.nansum(series * w, axis=0) / total, math.nan)


def sequential_limits(m: Measure, values: Sequence[np.ndarray]) -> tuple[float, float]:
    """A colour range shared by several panels: the measure's fixed range, else 0 to the
    98th percentile of every finite value (at least a small positive number)."""
    if m.fixed is not None:
        return m.fixed
    finite = np.concatenate([np.ravel(v)[np.isfinite(np.ravel(v))] for v in values] or [[]])
    top = float(np.percentile(finite, 98)) if len(finite) else 1.0
    low = float(min(0.0, finite.min())) if len(finite) else 0.0
    return low, max(top, low + 1e-6, 1e-6)


def difference_limits(values: Sequence[np.ndarray]) -> tuple[float, float]:
    """A range centred on zero for differences: ± the 98th percentile of the non-zero
    magnitudes of every value (±1 when every difference is zero)."""
    magnitudes = np.concatenate([np.abs(np.ravel(v)) for v in values] or [[]])
    magnitudes = magnitudes[np.isfinite(magnitudes) & (magnitudes > 0)]
    top = float(np.percentile(magnitudes, 98)) if len(magnitudes) else 1.0
    return -top, top


# -- zones ---------------------------------------------------------------------------------
def zone_values(
    m: Measure, side: Side, zones: np.ndarray, *, until: float | None = None
) -> np.ndarray:
    """``float64[len(zones)]``: the zone measure of a side, in the measure's display unit.

    A comparison's side reads its zone table; a run's is computed from its incidents and
    visits (``until``: only incidents called and visits begun before that time, seconds
    after midnight). Additive measures are per replication.
    """
    zones = np.asarray(zones, dtype=np.int64)
    if side.zones is not None and until is None and m.name in side.zones.columns:
        table = side.zones.set_index("zone")[m.name]
        return table.reindex(zones).to_numpy(float) * m.scale
    incidents, visits = side.incidents, side.visits
    if until is not None:
        incidents = incidents[incidents["call"].to_numpy(float) < until]
        visits = visits[visits["arrive"].to_numpy(float) < until]
    reps = max(side.replications, 1)
    if m.name in ("response_time_mean_s", "share_within_8min", "incidents"):
        group = incidents.groupby("zone")
        if m.name == "incidents":
            values = group.size() / reps
        elif m.name == "response_time_mean_s":
            values = group["response_time"].mean()
        else:
            reached = incidents["response_time"].to_numpy(float) <= 480.0
            values = pd.Series(reached, index=incidents.index).groupby(incidents["zone"]).mean()
    elif m.name in ("gate_wait_mean_s", "visits"):
        done = visits[~visits["missed"].astype(bool)] if len(visits) else visits
        if "zone" not in done.columns:
            return np.full(len(zones), math.nan)
        group = done.groupby("zone")
        values = group.size() / reps if m.name == "visits" else group["gate_wait"].mean()
    else:
        raise _unknown(m.name, list(ZONE_MEASURES), "zone")
    fill = 0.0 if m.additive else math.nan
    return values.reindex(zones).fillna(fill).to_numpy(float) * m.scale
