"""Emergency results: the incidents and units tables' columns and the statistics read
from them.

Pure functions of :meth:`sim.emergency.model.Emergency.incidents_table` (and its
``units_table``), so they also work on a table read back from a run folder
(``incidents.parquet``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.emergency.params import INCIDENT_KINDS, UNIT_TYPES

__all__ = [
    "INCIDENT_COLUMNS",
    "UNIT_COLUMNS",
    "emergency_kpis",
    "response_by_zone_hour",
    "summary_stat",
    "within_share",
]

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

#: Columns of :meth:`Emergency.units_table`.
UNIT_COLUMNS: tuple[str, ...] = (
    "unit",
    "unit_type",
    "station",
    "node",
    "calls",
    "busy_s",
    "utilisation",
    "in_service",
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


def emergency_kpis(incidents: pd.DataFrame, units: pd.DataFrame, now: float) -> dict[str, Any]:
    """Headline numbers of emergency response.

    Parameters
    ----------
    incidents
        The incidents table (columns :data:`INCIDENT_COLUMNS`).
    units
        The units table (columns :data:`UNIT_COLUMNS`).
    now
        The simulated time the tables were taken at, seconds after midnight.

    Returns
    -------
    ``incidents_total``, ``incidents_by_kind``, ``incidents_reached``; response times
    (``response_time_mean_s``, ``_median_s``, ``_p90_s``); ``share_within_8min`` and
    ``share_within_15min`` (see :func:`within_share`); ``calls_waited`` and
    ``unit_wait_mean_s`` (the mean wait for a unit over all calls dispatched); by unit
    type, ``units_total`` (units in service at the end) and ``unit_utilisation`` (mean
    busy share of the units' time in service, 0-1). Counts of nothing are 0 and means of
    nothing NaN.
    """
    reached = incidents["response_time"].dropna().to_numpy()
    in_type = {t: units["unit_type"] == t for t in UNIT_TYPES}
    return {
        "incidents_total": len(incidents),
        "incidents_by_kind": {k: int((incidents["kind"] == k).sum()) for k in INCIDENT_KINDS},
        "incidents_reached": len(reached),
        "response_time_mean_s": summary_stat(reached, np.mean),
        "response_time_median_s": summary_stat(reached, np.median),
        "response_time_p90_s": summary_stat(reached, lambda a: np.percentile(a, 90)),
        "share_within_8min": within_share(incidents, 480.0, now),
        "share_within_15min": within_share(incidents, 900.0, now),
        "calls_waited": int(incidents["waited"].sum()),
        "unit_wait_mean_s": summary_stat(incidents["wait_s"].dropna().to_numpy(), np.mean),
        "units_total": {t: int(units.loc[mask, "in_service"].sum()) for t, mask in in_type.items()},
        "unit_utilisation": {
            t: float(units.loc[mask, "utilisation"].mean()) if mask.any() else math.nan
            for t, mask in in_type.items()
        },
    }
