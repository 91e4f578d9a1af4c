"""Paired comparisons of KPIs over replications: mean differences with 95 % intervals.

Replication ``i`` of the base and of an option use the same seed, so their random streams
are the same (common random numbers) and each replication gives one paired difference
``d_i = option_i − base_i``. Over ``n`` replications the mean difference has the 95 %
confidence interval ``mean ± t(0.975, n − 1) · sd / √n`` (the paired t interval; ``sd`` with
``n − 1`` in the denominator). A difference is *clear* when its interval leaves out zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.kpis import kpi as registered

__all__ = [
    "KPI_COLUMNS",
    "LEVEL",
    "mean_interval",
    "narrow_enough",
    "paired_table",
    "replications_needed",
]

#: Confidence level of every interval.
LEVEL = 0.95
#: Columns of the comparison's KPI table, in order.
KPI_COLUMNS = (
    "kpi", "domain", "unit", "better", "scenario", "base_mean", "option_mean", "diff_mean",
    "diff_sd", "ci_low", "ci_high", "replications", "clear",
)  # fmt: skip


def mean_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sd, and the ends of the t interval of the mean at :data:`LEVEL` (NaN for an
    empty sample; NaN sd and ends for n < 2). Of paired differences in a comparison."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def paired_table(
    base: Sequence[Mapping[str, float]],
    options: Mapping[str, Sequence[Mapping[str, float]]],
) -> pd.DataFrame:
    """The KPI table of a comparison.

    Parameters
    ----------
    base
        The base scenario's scalar KPIs (:func:`sim.kpis.scalar_kpis`), one mapping per
        replication, in replication order.
    options
        For each option scenario (by name), its KPIs per replication, paired with ``base``.

    Returns
    -------
    One row per KPI and option, columns :data:`KPI_COLUMNS`: the means over the paired
    replications where both values are numbers, the mean difference, its standard deviation
    and 95 % interval, how many pairs, and whether the difference is clear.
    """
    rows = []
    for scenario, runs in options.items():
        n = min(len(runs), len(base))
        names = sorted({k for r in [*base[:n], *runs[:n]] for k in r})
        for name in names:
            entry = registered(name)
            # a key missing from a breakdown (no unroutable trips in a zone) counts zero
            absent = 0.0 if entry.breakdown else math.nan
            b = np.array([base[i].get(name, absent) for i in range(n)], dtype=float)
            o = np.array([runs[i].get(name, absent) for i in range(n)], dtype=float)
            ok = np.isfinite(b) & np.isfinite(o)
            mean, sd, low, high = mean_interval(o[ok] - b[ok])
            rows.append(
                {
                    "kpi": name,
                    "domain": entry.domain,
                    "unit": entry.unit,
                    "better": entry.better,
                    "scenario": scenario,
                    "base_mean": float(b[ok].mean()) if ok.any() else math.nan,
                    "option_mean": float(o[ok].mean()) if ok.any() else math.nan,
                    "diff_mean": mean,
                    "diff_sd": sd,
                    "ci_low": low,
                    "ci_high": high,
                    "replications": int(ok.sum()),
                    "clear": bool(low > 0 or high < 0),
                }
            )
    return pd.DataFrame(rows, columns=list(KPI_COLUMNS))


def narrow_enough(table: pd.DataFrame, width: float) -> pd.Series:
    """Whether each row's interval is narrow enough: its half-width at most ``width`` times
    the base mean (``0.05``: ±5 %). Rows that cannot be judged this way — KPIs that describe
    rather than judge (``better == "neither"``) and base means of zero — count as narrow."""
    half = (table["ci_high"] - table["ci_low"]) / 2
    scale = table["base_mean"].abs()
    judged = (table["better"] != "neither") & (scale > 0) & np.isfinite(scale)
    ok = half <= width * scale
    return ~judged | ok.fillna(False)


def replications_needed(table: pd.DataFrame, width: float) -> int:
    """The replications the widest interval needs to become narrow enough, from the sample
    standard deviations so far (``n ≥ (t · sd / (width · |base mean|))²``)."""
    judged = (
        (table["better"] != "neither")
        & (table["base_mean"].abs() > 0)
        & np.isfinite(table["diff_sd"])
    )
    if not judged.any():
        return int(table["replications"].max() or 0)
    rows = table[judged]
    n = rows["replications"].to_numpy(float)
    t = stats.t.ppf(0.5 + LEVEL / 2, np.maximum(n - 1, 1))
    need = (t * rows["diff_sd"].to_numpy(float) / (width * rows["base_mean"].abs().to_numpy())) ** 2
    return math.ceil(float(np.nanmax(need))) if np.isfinite(need).any() else int(n.max())
