"""The traffic engine's records: per-link interval statistics, the trips table and KPIs.

Everything here reads the arrays of a :class:`kernels.traffic_state.LinkQueueState`; nothing
changes the traffic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kernels import traffic as kt
from kernels import traffic_state as kts

__all__ = ["STATUS", "LinkRecorder", "kpis_from_state", "trips_from_state"]

#: Vehicle states by code, as the ``status`` column of the trips table names them.
STATUS = ("scheduled", "waiting", "on_network", "arrived", "unroutable", "stranded")

_LINK_FIELDS = ("entries", "exits", "metres", "seconds", "pcu_seconds", "queue_pcu", "duration")


class LinkRecorder:
    """Collects per-link statistics at fixed interval boundaries (seconds after midnight).

    Intervals are aligned to multiples of ``interval`` (a run starting at 06:05 with 900 s
    intervals records 06:05–06:15, then 06:15–06:30 …).
    """

    def __init__(self, n_edges: int, interval: float, start: float) -> None:
        self.n_edges = n_edges
        self.interval = float(interval)
        self.start = float(start)
        self.interval_start = float(start)
        self.next_boundary = (math.floor(start / interval) + 1) * interval
        self._chunks: list[dict[str, np.ndarray]] = []

    def _rows(self, s: kts.LinkQueueState, t: float) -> dict[str, np.ndarray]:
        occ_int = s.occ_int + s.occ * (t - s.occ_last)
        queue = kt.queued_pcu(s, t)
        keep = np.flatnonzero((s.st_entries > 0) | (s.st_exits > 0) | (occ_int > 0) | (queue > 0))
        return {
            "edge": keep.astype(np.int64),
            "interval_start": np.full(len(keep), self.interval_start),
            "entries": s.st_entries[keep].astype(np.int64),
            "exits": s.st_exits[keep].astype(np.int64),
            "metres": s.st_len[keep].copy(),
            "seconds": s.st_time[keep].copy(),
            "pcu_seconds": occ_int[keep],
            "queue_pcu": queue[keep],
            "duration": np.full(len(keep), t - self.interval_start),
        }

    def flush(self, s: kts.LinkQueueState, t: float) -> None:
        """Close the interval ending at ``t`` and reset the kernel's interval counters."""
        self._chunks.append(self._rows(s, t))
        s.occ_int[:] = 0.0
        s.occ_last[:] = t
        for name in ("st_entries", "st_exits", "st_len", "st_time"):
            getattr(s, name)[:] = 0
        self.interval_start = t
        while self.next_boundary <= t:
            self.next_boundary += self.interval

    def table(self, s: kts.LinkQueueState, now: float, interval: float) -> pd.DataFrame:
        """Per edge and interval: ``edge``, ``interval_start`` (s), ``entries``, ``exits``,
        ``mean_speed_kmh`` (space-mean speed of the vehicles that left the edge),
        ``density_pcu_per_km`` (time-mean PCU on the edge per km), ``queue_pcu`` (PCU
        waiting at the exit at the interval's end).

        ``interval`` must be a multiple of the recording interval.
        """
        ratio = interval / self.interval
        if not (ratio >= 1 and abs(ratio - round(ratio)) < 1e-9):
            raise ValueError(
                f"links_table interval {interval:g} s must be a multiple of the recording "
                f"interval ({self.interval:g} s, TrafficParams.stats_interval_s)"
            )
        chunks = list(self._chunks)
        if now > self.interval_start:
            chunks.append(self._rows(s, now))
        if not chunks:
            return _link_columns(pd.DataFrame({f: [] for f in ("edge", "interval_start")}), s)
        # column by column: a city's day has millions of rows, and a DataFrame per
        # interval joined by pandas would hold them three times over at the end of a run
        rows = {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
        if round(ratio) != 1:
            rows = pd.DataFrame(rows)
            group = np.floor(rows["interval_start"] / interval) * interval
            rows["interval_start"] = np.maximum(group, self.start)
            rows = rows.sort_values(["edge", "interval_start"], kind="stable")
            rows = rows.groupby(["edge", "interval_start"], as_index=False, sort=True).agg(
                entries=("entries", "sum"),
                exits=("exits", "sum"),
                metres=("metres", "sum"),
                seconds=("seconds", "sum"),
                pcu_seconds=("pcu_seconds", "sum"),
                queue_pcu=("queue_pcu", "last"),
            )
            end = np.minimum((np.floor(rows["interval_start"] / interval) + 1) * interval, now)
            rows["duration"] = end - rows["interval_start"]
        return _link_columns(rows, s)


def _link_columns(rows, s: kts.LinkQueueState) -> pd.DataFrame:
    """The table's columns from the recorded sums (``rows``: a DataFrame or a dict of
    arrays), ordered by interval, then edge."""
    if len(rows["edge"]) == 0:
        return pd.DataFrame(
            {
                "edge": pd.Series([], dtype=np.int64),
                "interval_start": pd.Series([], dtype=np.float64),
                "entries": pd.Series([], dtype=np.int64),
                "exits": pd.Series([], dtype=np.int64),
                "mean_speed_kmh": pd.Series([], dtype=np.float64),
                "density_pcu_per_km": pd.Series([], dtype=np.float64),
                "queue_pcu": pd.Series([], dtype=np.float64),
            }
        )

    def column(name: str, dtype) -> np.ndarray:
        return np.asarray(rows[name], dtype=dtype)

    edge = column("edge", np.int64)
    start = column("interval_start", np.float64)
    seconds = column("seconds", np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(seconds > 0, column("metres", np.float64) / seconds * 3.6, np.nan)
        duration = column("duration", np.float64)
        density = np.where(
            duration > 0,
            column("pcu_seconds", np.float64) / duration / (s.length[edge] / 1000.0),
            np.nan,
        )
    out = {
        "edge": edge,
        "interval_start": start,
        "entries": column("entries", np.int64),
        "exits": column("exits", np.int64),
        "mean_speed_kmh": speed,
        "density_pcu_per_km": density,
        "queue_pcu": column("queue_pcu", np.float64),
    }
    ordered = (start[1:] > start[:-1]) | ((start[1:] == start[:-1]) & (edge[1:] > edge[:-1]))
    if not ordered.all():  # recorded in order unless intervals were merged
        order = np.lexsort((edge, start))
        out = {name: values[order] for name, values in out.items()}
    return pd.DataFrame(out, copy=False)


def trips_from_state(
    s: kts.LinkQueueState, *, demand: pd.DataFrame, class_names: tuple[str, ...]
) -> pd.DataFrame:
    """One row per vehicle: the day's trips in departure order, then injected vehicles.

    Columns ``trip_id``, ``origin``, ``destination``, ``depart``, ``arrive`` (NaN if not
    arrived), ``travel_time`` (s), ``distance`` (metres driven so far), ``delay`` (travel
    time minus the free-flow time of the links driven, s), ``vehicle_class``, ``source``
    (``"demand"`` or ``"injected"``) and ``status`` (one of :data:`STATUS`). Injected
    vehicles get trip ids after the largest demand id.
    """
    n = s.n_vehicles
    nd = len(demand)
    trips = demand
    first_injected = int(trips["trip_id"].max()) + 1 if nd else 0
    trip_id = np.concatenate(
        [trips["trip_id"].to_numpy(np.int64), first_injected + np.arange(n - nd, dtype=np.int64)]
    )
    arrive = s.v_arrive[:n].copy()
    depart = s.v_depart[:n].copy()
    travel = arrive - depart
    names = np.array(class_names, dtype=object)
    return pd.DataFrame(
        {
            "trip_id": trip_id,
            "origin": s.v_origin[:n].copy(),
            "destination": s.v_dest[:n].copy(),
            "depart": depart,
            "arrive": arrive,
            "travel_time": travel,
            "distance": s.v_dist[:n].copy(),
            "delay": travel - s.v_fftime[:n],
            "vehicle_class": names[s.v_class[:n]],
            # shared string objects (a numpy string array would become a million new ones)
            "source": np.array(["demand", "injected"], dtype=object)[
                (np.arange(n) >= nd).astype(np.intp)
            ],
            "status": np.array(STATUS, dtype=object)[s.v_state[:n]],
        }
    )


def kpis_from_state(
    s: kts.LinkQueueState,
    *,
    now: float,
    n_demand: int,
    class_names: tuple[str, ...],
    co2_g_per_km: np.ndarray,
    gridlock: str | None,
) -> dict:
    """Network KPIs so far.

    Trip counts are over the day's (demand) trips; injected vehicles are counted apart
    (``injected_total``, ``injected_completed``). Vehicle-km, vehicle-hours, delay and CO2
    cover every vehicle that used the roads. ``vehicle_hours`` counts from departure
    (waiting to enter included) to arrival or now; ``total_delay_h`` is that time minus
    the free-flow time of the distance covered; CO2 is vehicle-km by class times the
    class's ``co2_g_per_km`` from the vehicle table.
    """
    n, nd = s.n_vehicles, n_demand
    state = s.v_state[:n]
    cls = s.v_class[:n]
    departed = state != kts.PENDING
    arrived = state == kts.ARRIVED
    lost = (state == kts.UNROUTABLE) | (state == kts.STRANDED)
    end = np.where(arrived | lost, np.nan_to_num(s.v_arrive[:n], nan=now), now)
    elapsed = np.where(departed, np.maximum(end - s.v_depart[:n], 0.0), 0.0)
    # free-flow time of the distance covered (for vehicles on a link: the part of it run)
    on = state == kts.ON_NETWORK
    links = np.where(on, s.v_link[:n], 0)
    ff_current = s.free_flow[cls, links]
    run_on_link = np.where(on, np.minimum(now - s.v_enter[:n], ff_current), 0.0)
    delay = np.where(departed & ~lost, np.maximum(elapsed - s.v_fftime[:n] - run_on_link, 0.0), 0)
    vkm = s.v_dist[:n] / 1000.0
    vh = float(elapsed[~lost].sum()) / 3600.0
    total_vkm = float(vkm.sum())
    co2_by_class = {}
    factors = np.asarray(co2_g_per_km, dtype=np.float64)
    for c, name in enumerate(class_names):
        mask = cls == c
        if mask.any():
            co2_by_class[name] = float(vkm[mask].sum() * factors[c] / 1000.0)
    demand = slice(0, nd)
    return {
        "trips_total": int(nd),
        "trips_completed": int(arrived[demand].sum()),
        "trips_unfinished": int(nd - arrived[demand].sum() - lost[demand].sum()),
        "trips_unroutable": int(lost[demand].sum()),
        "trips_waiting": int((state[demand] == kts.WAITING).sum()),
        "trips_on_network": int((state[demand] == kts.ON_NETWORK).sum()),
        "injected_total": int(n - nd),
        "injected_completed": int(arrived[nd:].sum()),
        "vehicle_km": total_vkm,
        "vehicle_hours": vh,
        "mean_speed_kmh": total_vkm / vh if vh > 0 else float("nan"),
        "total_delay_h": float(delay.sum()) / 3600.0,
        "co2_kg": float(sum(co2_by_class.values())),
        "co2_kg_by_class": co2_by_class,
        "co2_g_per_km": {name: float(factors[c]) for c, name in enumerate(class_names)},
        "link_traversals": int(s.counts[kts.C_TRAVERSALS]),
        "forced_entries": int(s.counts[kts.C_FORCED]),
        "gridlock": gridlock,
        "simulated_until": now,
    }
