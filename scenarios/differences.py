"""Where two scenarios differ: per-link and per-zone KPIs, averaged over replications.

The 3D view and the report colour roads and zones by these tables. Each holds, for a KPI,
the base scenario's value (mean over its replications), the option's, and their difference
(option − base):

``links``
    ``edge_id``, ``interval_start`` (seconds after midnight, 15-minute intervals), ``kpi``
    (``entries``: vehicles that entered; ``mean_speed_kmh``; ``queue_pcu``), ``scenario``,
    ``base``, ``option``, ``difference``. A link and interval with no traffic in a run counts
    0 entries and 0 queue there, and no speed.
``zones``
    ``zone``, ``name``, ``kpi`` (``vehicle_km``, ``mean_speed_kmh`` — of the links starting
    in the zone —, ``incidents``, ``response_time_mean_s``, ``share_within_8min``,
    ``visits``, ``gate_wait_mean_s``), ``scenario``, ``base``, ``option``, ``difference``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from twin.city import City

__all__ = ["LINK_KPIS", "ZONE_KPIS", "link_differences", "zone_differences", "zone_values"]

#: Per-link KPIs compared, by links-table column.
LINK_KPIS = ("entries", "mean_speed_kmh", "queue_pcu")
#: Per-zone KPIs compared.
ZONE_KPIS = (
    "vehicle_km", "mean_speed_kmh", "incidents", "response_time_mean_s", "share_within_8min",
    "visits", "gate_wait_mean_s",
)  # fmt: skip
_ADDITIVE = {"entries": 0.0, "queue_pcu": 0.0}


def _mean_links(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Per link and interval, the mean of each KPI over the runs (absent = 0 traffic)."""
    n = len(tables)
    stacked = pd.concat(
        [t[["edge_id", "interval_start", *LINK_KPIS]] for t in tables], ignore_index=True
    )
    grouped = stacked.groupby(["edge_id", "interval_start"], sort=True)
    out = grouped[list(_ADDITIVE)].sum() / n  # a run without the row counts zero
    out["mean_speed_kmh"] = grouped["mean_speed_kmh"].mean()  # over runs that had traffic
    return out


def link_differences(
    base: Sequence[pd.DataFrame], option: Sequence[pd.DataFrame], *, scenario: str
) -> pd.DataFrame:
    """The ``links`` table of one option against the base (see the module docstring)."""
    b, o = _mean_links(base), _mean_links(option)
    both = pd.merge(
        b, o, how="outer", left_index=True, right_index=True, suffixes=("_base", "_option")
    )
    frames = []
    for name in LINK_KPIS:
        fill = _ADDITIVE.get(name, np.nan)
        base_values = both[f"{name}_base"].fillna(fill)
        option_values = both[f"{name}_option"].fillna(fill)
        frames.append(
            pd.DataFrame(
                {
                    "edge_id": both.index.get_level_values(0).to_numpy(np.int64),
                    "interval_start": both.index.get_level_values(1).to_numpy(np.float64),
                    "kpi": name,
                    "scenario": scenario,
                    "base": base_values.to_numpy(np.float64),
                    "option": option_values.to_numpy(np.float64),
                    "difference": (option_values - base_values).to_numpy(np.float64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def zone_values(city: City, links, incidents, visits) -> pd.DataFrame:
    """One run's per-zone KPIs: ``zone`` and the columns of :data:`ZONE_KPIS`."""
    zones = city.zones["zone"].to_numpy(np.int64) if len(city.zones) else np.zeros(1, np.int64)
    out = pd.DataFrame(index=pd.Index(zones, name="zone"), columns=list(ZONE_KPIS), dtype=float)
    net = city.drive
    if links is not None and len(links):
        position = pd.Series(np.arange(net.n_edges), index=net.edge_id)
        edges = position.reindex(links["edge_id"].to_numpy()).to_numpy()
        ok = np.isfinite(edges)
        edges = edges[ok].astype(np.int64)
        frame = links.loc[ok]
        zone = np.asarray(city.node_zone)[net.tail[edges]]
        metres = frame["exits"].to_numpy(float) * net.length[edges]
        speed = frame["mean_speed_kmh"].to_numpy(float)
        weight = np.where(np.isfinite(speed), frame["exits"].to_numpy(float), 0.0)
        by = pd.DataFrame(
            {"zone": zone, "m": metres, "w": weight, "sw": np.nan_to_num(speed) * weight}
        )
        sums = by.groupby("zone").sum()
        out["vehicle_km"] = (sums["m"] / 1000.0).reindex(out.index).fillna(0.0)
        out["mean_speed_kmh"] = (sums["sw"] / sums["w"].where(sums["w"] > 0)).reindex(out.index)
    if incidents is not None:
        grouped = incidents.groupby("zone")
        out["incidents"] = grouped.size().reindex(out.index).fillna(0.0)
        out["response_time_mean_s"] = grouped["response_time"].mean().reindex(out.index)
        within = incidents["response_time"] <= 480.0
        out["share_within_8min"] = within.groupby(incidents["zone"]).mean().reindex(out.index)
    if visits is not None:
        done = visits[~visits["missed"].astype(bool)]
        grouped = done.groupby("zone")
        out["visits"] = grouped.size().reindex(out.index).fillna(0.0)
        out["gate_wait_mean_s"] = grouped["gate_wait"].mean().reindex(out.index)
    return out.reset_index()


def zone_differences(
    city: City, base: Sequence[pd.DataFrame], option: Sequence[pd.DataFrame], *, scenario: str
) -> pd.DataFrame:
    """The ``zones`` table of one option against the base, from each run's
    :func:`zone_values` (means over replications, NaN ignored)."""
    b = pd.concat(base).groupby("zone").mean()
    o = pd.concat(option).groupby("zone").mean()
    names = city.zones.set_index("zone")["name"] if len(city.zones) else pd.Series(dtype=str)
    frames = []
    for name in ZONE_KPIS:
        frames.append(
            pd.DataFrame(
                {
                    "zone": b.index.to_numpy(np.int64),
                    "name": [str(names.get(z, z)) for z in b.index],
                    "kpi": name,
                    "scenario": scenario,
                    "base": b[name].to_numpy(float),
                    "option": o[name].reindex(b.index).to_numpy(float),
                    "difference": (o[name].reindex(b.index) - b[name]).to_numpy(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
