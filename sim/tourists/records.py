"""Tourist records: the visits and trips of a run, and the results drawn from them.

:class:`TouristRecords` collects one row per tourist per planned visit and one row per party
hop while the run goes. The results (visits per site and hour, site summaries, the headline
KPIs) are pure functions of those tables, so they also work on a run's saved
``visits.parquet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.tourists.population import Party

__all__ = [
    "MODES",
    "TRIP_COLUMNS",
    "VISIT_COLUMNS",
    "TouristRecords",
    "site_summary",
    "tourist_kpis",
    "visits_by_hour",
]

#: Ways a party travels between places.
MODES = ("walk", "taxi", "xe_om", "tour_bus", "boat")
#: Columns of :meth:`TouristRecords.visits_table`.
VISIT_COLUMNS = (
    "tourist_id",
    "party_id",
    "party_size",
    "tour_group",
    "site",
    "poi_id",
    "zone",
    "arrive",
    "open_wait",
    "crowd_wait",
    "gate_wait",
    "enter",
    "leave",
    "mode_in",
    "missed",
    "missed_reason",
)
#: Columns of :meth:`TouristRecords.trips_table`.
TRIP_COLUMNS = (
    "party_id",
    "persons",
    "origin",
    "destination",
    "mode",
    "depart",
    "arrive",
    "vehicles",
)


class TouristRecords:
    """The visits and trips of one run, as they happen."""

    def __init__(self) -> None:
        self._visits: list[dict] = []
        self._trips: list[dict] = []

    def add_trip(
        self,
        party: Party,
        *,
        origin: str,
        destination: str,
        mode: str,
        depart: float,
        arrive: float,
        vehicles: int,
    ) -> None:
        """One hop of a party: place names, mode, seconds after midnight, vehicles sent
        into the traffic."""
        self._trips.append(
            {
                "party_id": party.pid,
                "persons": party.size,
                "origin": origin,
                "destination": destination,
                "mode": mode,
                "depart": depart,
                "arrive": arrive,
                "vehicles": vehicles,
            }
        )

    def add_visit(
        self,
        party: Party,
        site: tuple[str, str, int],
        *,
        missed: str | None,
        mode: str | None,
        arrive: float,
        leave: float = np.nan,
        open_wait: float = 0.0,
        crowd_wait: float = 0.0,
        gate_wait: float | Sequence[float] = np.nan,
        enter: float | Sequence[float] = np.nan,
    ) -> None:
        """One row per member of ``party`` for a visit (or a missed one) of a site.

        Parameters
        ----------
        party
            The party.
        site
            The site's name, ``poi_id`` and zone.
        missed
            ``None`` for a visit, else why it was missed (``"closed"``, ``"crowded"``).
        mode
            How the party came (``None`` when it never set out).
        arrive, leave
            Seconds after midnight.
        open_wait, crowd_wait
            Seconds waited for opening and for room.
        gate_wait, enter
            Per member (or one value for all): seconds queued before one's own ticket
            check, and when one was through the gate.
        """
        gate_wait = np.broadcast_to(np.asarray(gate_wait, float), (party.size,))
        enter = np.broadcast_to(np.asarray(enter, float), (party.size,))
        name, poi_id, zone = site
        for j in range(party.size):
            self._visits.append(
                {
                    "tourist_id": party.first_tourist + j,
                    "party_id": party.pid,
                    "party_size": party.size,
                    "tour_group": party.tour,
                    "site": name,
                    "poi_id": poi_id,
                    "zone": int(zone),
                    "arrive": float(arrive),
                    "open_wait": float(open_wait),
                    "crowd_wait": float(crowd_wait),
                    "gate_wait": float(gate_wait[j]),
                    "enter": float(enter[j]),
                    "leave": float(leave),
                    "mode_in": mode,
                    "missed": missed is not None,
                    "missed_reason": missed,
                }
            )

    def visits_table(self) -> pd.DataFrame:
        """One row per tourist per planned visit (columns :data:`VISIT_COLUMNS`).

        ``arrive``, ``enter`` and ``leave`` are seconds after midnight; ``open_wait``,
        ``crowd_wait`` (waiting for room) and ``gate_wait`` (queueing before one's own
        ticket check) are seconds. A missed visit has ``missed`` true and ``missed_reason``
        ``"closed"`` (it could not be reached or entered before last entry, or the site was
        closed by a change when the party came, waited for room or reached the gate;
        ``arrive`` is NaN when the party gave it up before setting out) or ``"crowded"``
        (the site stayed full for ``patience_s``).
        """
        table = pd.DataFrame(self._visits, columns=list(VISIT_COLUMNS))
        table["missed"] = table["missed"].astype(bool)
        return table

    def trips_table(self) -> pd.DataFrame:
        """One row per party hop (columns :data:`TRIP_COLUMNS`; times in seconds after
        midnight)."""
        return pd.DataFrame(self._trips, columns=list(TRIP_COLUMNS))


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
