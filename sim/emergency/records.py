"""Emergency results: the incidents table's columns and the statistics read from it.

Pure functions of :meth:`sim.emergency.model.Emergency.incidents_table`, so they also work on a
table read back from a run folder (``incidents.parquet``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["INCIDENT_COLUMNS", "response_by_zone_hour", "summary_stat", "within_share"]

#: Columns of :meth:`Emergency.incidents_table`.
INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_id",
    "kind",
    "source",
    "zone",
    "node",
    "call",
    "dispatch",
    "unit",
    "unit_type",
    "station",
    "depart",
    "on_scene",
    "response_time",
    "left_scene",
    "hospital",
    "at_hospital",
    "handover_done",
    "back_at_base",
    "waited",
    "wait_s",
)


def summary_stat(values: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
    """``fn(values)`` as a float, or NaN for no values."""
    return float(fn(values)) if len(values) else math.nan


def within_share(table: pd.DataFrame, limit_s: float, now: float) -> float:
    """Share of calls reached within ``limit_s`` seconds.

    Calls not yet reached count as failures once ``limit_s`` has passed since the call;
    calls younger than that with no unit on scene yet are left out (their outcome is
    unknown).
    """
    rt = table["response_time"].to_numpy(float)
    known = np.isfinite(rt) | (now - table["call"].to_numpy(float) > limit_s)
    if not known.any():
        return math.nan
    return float(np.mean(np.where(np.isfinite(rt[known]), rt[known] <= limit_s, False)))


def response_by_zone_hour(table: pd.DataFrame, now: float) -> pd.DataFrame:
    """Response times by zone and hour of the call: ``incidents``, ``reached``,
    ``mean_s``, ``median_s``, ``p90_s`` and ``share_within_8min``.

    Parameters
    ----------
    table
        The incidents table (columns :data:`INCIDENT_COLUMNS`; not modified).
    now
        The simulated time the table was taken at, seconds after midnight.
    """
    table = table.copy()
    table["hour"] = (table["call"] // 3600).astype(np.int64) % 24
    rows = []
    for (zone, hour), group in table.groupby(["zone", "hour"], sort=True):
        rt = group["response_time"].dropna().to_numpy()
        rows.append(
            {
                "zone": int(zone),
                "hour": int(hour),
                "incidents": len(group),
                "reached": len(rt),
                "mean_s": summary_stat(rt, np.mean),
                "median_s": summary_stat(rt, np.median),
                "p90_s": summary_stat(rt, lambda a: np.percentile(a, 90)),
                "share_within_8min": within_share(group, 480.0, now),
            }
        )
    columns = ["zone", "hour", "incidents", "reached", "mean_s", "median_s", "p90_s"]
    return pd.DataFrame(rows, columns=[*columns, "share_within_8min"])
