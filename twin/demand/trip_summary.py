"""Totals of a trips table (see :mod:`twin.demand.trips`) by vehicle class and hour of departure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.clock import format_clock

__all__ = ["DemandSummary", "demand_summary"]


@dataclass(frozen=True)
class DemandSummary:
    """Totals of a trips table.

    Attributes
    ----------
    total
        Trips.
    by_class
        Trips per vehicle class (``Series``, classes in descending order).
    by_hour
        Trips per hour of departure (``Series`` indexed by hour 0, 1, …).
    distinct_origins, distinct_destinations
        Distinct origin and destination nodes.
    first_departure, last_departure
        Seconds after midnight (NaN for no trips).
    """

    total: int
    by_class: pd.Series
    by_hour: pd.Series
    distinct_origins: int
    distinct_destinations: int
    first_departure: float
    last_departure: float

    def as_dict(self) -> dict:
        """Plain data for JSON (hours and classes as string keys)."""
        return {
            "trips_total": self.total,
            "by_class": {str(k): int(v) for k, v in self.by_class.items()},
            "by_hour": {f"{int(h):02d}": int(v) for h, v in self.by_hour.items()},
            "distinct_origins": self.distinct_origins,
            "distinct_destinations": self.distinct_destinations,
            "first_departure": self.first_departure,
            "last_departure": self.last_departure,
        }

    def to_text(self) -> str:
        """A short plain-text table for the command line and the README."""
        out = [
            f"trips: {self.total:,} ({self.distinct_origins:,} origins, "
            f"{self.distinct_destinations:,} destinations)"
        ]
        for name, count in self.by_class.items():
            share = count / self.total if self.total else 0.0
            out.append(f"  {name:<10} {count:>10,}  {share:6.1%}")
        if self.total:
            peak = int(self.by_hour.idxmax())
            out.append(
                f"departures {format_clock(self.first_departure)}-"
                f"{format_clock(self.last_departure)}, busiest hour {peak:02d}:00 "
                f"({int(self.by_hour.max()):,} trips)"
            )
            width = max(1, int(self.by_hour.max()))
            for hour, count in self.by_hour.items():
                bar = "#" * round(40 * count / width)
                out.append(f"  {int(hour):02d}h {int(count):>9,} {bar}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def demand_summary(trips: pd.DataFrame) -> DemandSummary:
    """Totals by vehicle class and by hour of departure of a trips table."""
    depart = trips["depart"].to_numpy(dtype=np.float64)
    hours = np.floor(depart / 3600.0).astype(np.int64)
    n_hours = max(24, int(hours.max()) + 1) if len(hours) else 24
    by_hour = pd.Series(np.bincount(hours, minlength=n_hours), index=np.arange(n_hours))
    by_class = trips["vehicle_class"].astype(str).value_counts(sort=True)
    by_class.index.name = "vehicle_class"
    return DemandSummary(
        total=len(trips),
        by_class=by_class,
        by_hour=by_hour.rename("trips"),
        distinct_origins=int(trips["origin"].nunique()),
        distinct_destinations=int(trips["destination"].nunique()),
        first_departure=float(depart.min()) if len(depart) else float("nan"),
        last_departure=float(depart.max()) if len(depart) else float("nan"),
    )
