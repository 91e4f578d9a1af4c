"""What a sweep found: each KPI at each level of each parameter, and which parameters matter.

Both tables read one row per finished run: its variant, its replication, the value of each
varied parameter, and its scalar KPIs (:func:`sim.kpis.scalar_kpis`).

Levels
------
A parameter with levels (a list, a whole-number range, a range with steps, a switch) is
summarised at each level; a continuous parameter (a range an LHS or Sobol design draws
from) in ``bins`` quantile bins of its variants (equal numbers of variants, by rank). At a
level, replication ``i``'s value is the mean of the KPI over the runs of replication ``i``
whose parameter lies at that level (over the other parameters as the design spreads them);
the level's mean is the mean of these over the replications, with the 95 % interval
``mean ± t(0.975, n − 1) · sd / √n`` over the ``n`` replications (NaN ends for one). With
common random numbers (replication ``i`` of every variant shares its seed), the interval
says how far seed noise moves the level's mean.

First-order sensitivity
-----------------------
For each KPI ``Y`` and parameter ``X``, the share of ``Y``'s variance over all runs that
``X`` alone explains: the first-order index ``S = Var(E[Y | X]) / Var(Y)``, estimated by the
correlation ratio over the parameter's levels or bins, ``η² = SS_between / SS_total`` (the
sums of squares of the runs around their group's mean and around the overall mean). With
``G`` groups and ``N`` runs, ``η²`` of a parameter that does nothing is about
``(G − 1)/(N − 1)``, not zero; the table's ``first_order`` is therefore Kelley's adjusted
``ε² = 1 − (SS_within / (N − G)) / (SS_total / (N − 1))``, clipped at zero, and parameters
are ranked by it. ``seed_share`` is the share of the variance between replications of the
same variant (seed noise), ``SS_within_variants / SS_total``. The estimator needs only the
runs a design made (LHS, Sobol or a grid: for a full grid it is the main-effect share of an
analysis of variance); binning a continuous parameter loses the variation within a bin, so
it underestimates a little.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from scenarios.statistics import mean_interval
from scenarios.sweep.design import value_text
from scenarios.sweep.file import Parameter
from sim.kpis import kpi as registered

__all__ = [
    "LEVEL_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "groups_of",
    "level_table",
    "sensitivity_table",
]

#: Columns of ``summary.parquet``, in order.
LEVEL_COLUMNS = (
    "parameter", "level", "level_low", "level_high", "kpi", "domain", "unit", "better",
    "mean", "sd", "ci_low", "ci_high", "replications", "runs", "variants",
)  # fmt: skip
#: Columns of ``sensitivity.parquet``, in order.
SENSITIVITY_COLUMNS = (
    "kpi", "domain", "unit", "better", "parameter", "rank", "first_order", "eta_squared",
    "seed_share", "groups", "runs",
)  # fmt: skip


def groups_of(
    runs: pd.DataFrame, parameter: Parameter, *, bins: int
) -> list[tuple[str, float, float, pd.Index]]:
    """The levels (or bins) of ``parameter`` over ``runs``: for each, its text, its low and
    high ends (NaN for text), and the index of its runs."""
    values = runs[parameter.key]
    out = []
    if not parameter.continuous:
        for level in parameter.levels:
            at = runs.index[_equal(values, level)]
            if len(at):
                number = _number(level)
                out.append((value_text(level), number, number, at))
        return out
    by_variant = runs.groupby("variant")[parameter.key].first().astype(float)
    by_variant = by_variant.sort_values(kind="stable")
    if by_variant.empty:
        return out
    for chunk in np.array_split(by_variant.index.to_numpy(), min(bins, len(by_variant))):
        if not len(chunk):
            continue
        low, high = float(by_variant[chunk].min()), float(by_variant[chunk].max())
        at = runs.index[runs["variant"].isin(chunk)]
        out.append((f"{value_text(low)}–{value_text(high)}", low, high, at))
    return out


def level_table(
    runs: pd.DataFrame, parameters: Sequence[Parameter], kpis: Sequence[str], *, bins: int
) -> pd.DataFrame:
    """Each KPI's mean and 95 % interval over replications at each level of each parameter
    (columns :data:`LEVEL_COLUMNS`; see the module docstring)."""
    rows = []
    for parameter in parameters:
        for text, low, high, at in groups_of(runs, parameter, bins=bins):
            part = runs.loc[at]
            for name in kpis:
                values = pd.to_numeric(part[name], errors="coerce") if name in part else None
                if values is None:
                    continue
                per_replication = values.groupby(part["replication"]).mean().dropna()
                mean, sd, ci_low, ci_high = mean_interval(per_replication.to_numpy(float))
                entry = registered(name)
                rows.append(
                    {
                        "parameter": parameter.key,
                        "level": text,
                        "level_low": low,
                        "level_high": high,
                        "kpi": name,
                        "domain": entry.domain,
                        "unit": entry.unit,
                        "better": entry.better,
                        "mean": mean,
                        "sd": sd,
                        "ci_low": ci_low,
                        "ci_high": ci_high,
                        "replications": len(per_replication),
                        "runs": int(values.notna().sum()),
                        "variants": int(part.loc[values.notna(), "variant"].nunique()),
                    }
                )
    return pd.DataFrame(rows, columns=list(LEVEL_COLUMNS))


def sensitivity_table(
    runs: pd.DataFrame, parameters: Sequence[Parameter], kpis: Sequence[str], *, bins: int
) -> pd.DataFrame:
    """First-order sensitivity of each KPI to each parameter, ranked (columns
    :data:`SENSITIVITY_COLUMNS`; see the module docstring)."""
    groups = {p.key: groups_of(runs, p, bins=bins) for p in parameters}
    rows = []
    for name in kpis:
        if name not in runs:
            continue
        y = pd.to_numeric(runs[name], errors="coerce")
        ok = y.notna()
        if ok.sum() < 2:
            continue
        y = y[ok]
        total = float(((y - y.mean()) ** 2).sum())
        seed = _within(y, runs.loc[ok, "variant"])
        entry = registered(name)
        found = []
        for parameter in parameters:
            label = pd.Series(-1, index=y.index)
            for k, (_, _, _, at) in enumerate(groups[parameter.key]):
                label[label.index.isin(at)] = k
            within = _within(y, label)
            n, g = len(y), int(label.nunique())
            eta = 1.0 - within / total if total > 0 else math.nan
            if total > 0 and n > g:
                eps = 1.0 - (within / (n - g)) / (total / (n - 1))
                first = max(0.0, eps)
            else:
                first = math.nan
            found.append((parameter.key, first, eta, g, n))
        order = sorted(found, key=lambda r: (-(r[1] if math.isfinite(r[1]) else -1.0), r[0]))
        for rank, (key, first, eta, g, n) in enumerate(order, start=1):
            rows.append(
                {
                    "kpi": name,
                    "domain": entry.domain,
                    "unit": entry.unit,
                    "better": entry.better,
                    "parameter": key,
                    "rank": rank,
                    "first_order": first,
                    "eta_squared": eta,
                    "seed_share": seed / total if total > 0 else math.nan,
                    "groups": g,
                    "runs": n,
                }
            )
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def _within(y: pd.Series, by: pd.Series) -> float:
    """The sum of squares of ``y`` around the means of its groups ``by``."""
    means = y.groupby(by.to_numpy()).transform("mean")
    return float(((y - means) ** 2).sum())


def _equal(values: pd.Series, level: Any) -> np.ndarray:
    if isinstance(level, bool):
        return values.map(lambda v: isinstance(v, bool | np.bool_) and bool(v) == level).to_numpy()
    if isinstance(level, str):
        return (values.astype(str) == level).to_numpy()
    return values.map(lambda v: not isinstance(v, bool | np.bool_ | str) and v == level).to_numpy(
        bool
    )


def _number(level: Any) -> float:
    if isinstance(level, bool):
        return float(level)
    if isinstance(level, int | float):
        return float(level)
    return math.nan
