"""Tourist results: visits per site and hour, site summaries and the headline KPIs.

Pure functions of the tables :class:`sim.tourists.model.Tourists` records, so they also work on
a run's saved ``visits.parquet``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Ways a party travels between places.
MODES = ("walk", "taxi", "xe_om", "tour_bus", "boat")


def visits_by_hour(visits: pd.DataFrame) -> pd.DataFrame:
    """Tourists entering each site per hour of day: ``site``, ``hour``, ``visits``."""
    done = visits[~visits["missed"]]
    hours = (done["enter"] // 3600).astype(int).rename("hour")
    counts = done.groupby([done["site"], hours]).size()
    return counts.rename("visits").reset_index()


def site_summary(
    sites: pd.DataFrame, visits: pd.DataFrame, occupancy: pd.DataFrame
) -> pd.DataFrame:
    """One row per site.

    Columns: ``site``, ``poi_id``, ``category``, ``visits`` (tourists who entered),
    ``visits_per_hour`` (over the opening hours), ``busiest_hour`` and
    ``busiest_hour_visits``, ``peak_occupancy``, ``capacity`` (``inf`` when unlimited),
    ``peak_occupancy_share``, ``gate_wait_mean_s``, ``gate_wait_p90_s``, ``missed_closed``,
    ``missed_crowded``.
    """
    hourly = visits_by_hour(visits)
    rows = []
    for _, site in sites.iterrows():
        name = site["site"]
        v = visits[visits["site"] == name]
        done = v[~v["missed"]]
        gate = done["gate_wait"].dropna()
        h = hourly[hourly["site"] == name]
        occ = occupancy.loc[occupancy["site"] == name, "occupancy"]
        peak = int(occ.max()) if len(occ) else 0
        open_h = (site["closes_s"] - site["opens_s"]) / 3600
        rows.append(
            {
                "site": name,
                "poi_id": site["poi_id"],
                "category": site["category"],
                "visits": len(done),
                "visits_per_hour": len(done) / open_h,
                "busiest_hour": int(h.loc[h["visits"].idxmax(), "hour"]) if len(h) else -1,
                "busiest_hour_visits": int(h["visits"].max()) if len(h) else 0,
                "peak_occupancy": peak,
                "capacity": float(site["capacity"]),
                "peak_occupancy_share": peak / float(site["capacity"]),
                "gate_wait_mean_s": float(gate.mean()) if len(gate) else 0.0,
                "gate_wait_p90_s": float(gate.quantile(0.9)) if len(gate) else 0.0,
                "missed_closed": int((v["missed_reason"] == "closed").sum()),
                "missed_crowded": int((v["missed_reason"] == "crowded").sum()),
            }
        )
    return pd.DataFrame(rows)


def tourist_kpis(
    sites: pd.DataFrame,
    visits: pd.DataFrame,
    trips: pd.DataFrame,
    occupancy: pd.DataFrame,
    *,
    tourists: int,
    parties: int,
) -> dict[str, float]:
    """Headline figures of a tourist day.

    Keys: ``tourists_total``, ``parties_total``, ``visits_total`` (tourists who entered a
    site), ``visits_missed`` (and ``_closed``, ``_crowded``), ``gate_wait_mean_s`` and
    ``gate_wait_p90_s`` (over visits to sites with a ticket gate), ``crowd_wait_mean_s``,
    ``travel_time_share`` (time travelling / (travelling + at sites), person-seconds),
    ``travel_time_mean_s`` and ``site_time_mean_s`` (per tourist), ``tourist_vehicle_trips``
    (taxis, motorbike taxis and buses sent into the traffic), ``peak_occupancy_share_max``
    (over sites with a capacity) and ``trip_share_<mode>`` for every mode in :data:`MODES`.
    Empty quantities are 0.
    """
    done = visits[~visits["missed"]]
    gated = sites.loc[np.isfinite(sites["gate_rate"].to_numpy(float)), "site"]
    gate = done.loc[done["site"].isin(gated), "gate_wait"].dropna()
    site_s = float(np.nansum(visits["leave"] - visits["arrive"]))
    travel_s = float(((trips["arrive"] - trips["depart"]) * trips["persons"]).sum())
    capped = np.isfinite(sites["capacity"].to_numpy(float))
    peak_share = 0.0
    if capped.any():
        summary = site_summary(sites[capped], visits, occupancy)
        peak_share = float(summary["peak_occupancy_share"].max())
    out = {
        "tourists_total": int(tourists),
        "parties_total": int(parties),
        "visits_total": len(done),
        "visits_missed": int(visits["missed"].sum()),
        "visits_missed_closed": int((visits["missed_reason"] == "closed").sum()),
        "visits_missed_crowded": int((visits["missed_reason"] == "crowded").sum()),
        "gate_wait_mean_s": float(gate.mean()) if len(gate) else 0.0,
        "gate_wait_p90_s": float(gate.quantile(0.9)) if len(gate) else 0.0,
        "crowd_wait_mean_s": float(done["crowd_wait"].mean()) if len(done) else 0.0,
        "travel_time_share": travel_s / (travel_s + site_s) if travel_s + site_s else 0.0,
        "travel_time_mean_s": travel_s / tourists if tourists else 0.0,
        "site_time_mean_s": site_s / tourists if tourists else 0.0,
        "tourist_vehicle_trips": int(trips["vehicles"].sum()),
        "peak_occupancy_share_max": peak_share,
    }
    person_trips = trips.groupby("mode")["persons"].sum()
    total = float(person_trips.sum())
    for mode in MODES:
        out[f"trip_share_{mode}"] = float(person_trips.get(mode, 0)) / total if total else 0.0
    return out
