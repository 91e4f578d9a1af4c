"""What a run returns: :class:`RunResult`, its tables, KPIs and manifest in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.kpis import long_table
from sim.spec import RunSpec

__all__ = ["RunResult"]


@dataclass(frozen=True, eq=False)
class RunResult:
    """What a run produced.

    Attributes
    ----------
    spec
        The specification that was run.
    trips, links, visits, incidents
        The record tables (:mod:`sim.records`; ``visits`` and ``incidents`` are ``None``
        when that part did not run): node ids, stable ``edge_id``, seconds after midnight.
    kpis
        The KPIs (:mod:`sim.kpis`) and ``notes``: what the run could not do, or did in part.
    manifest
        The specification, its digest, the checksums of the city and trips, the code
        version and the creation time.
    timers
        Wall-clock seconds spent: ``demand``, ``setup``, ``simulate``, ``total`` and any
        timers of the traffic engine (``traffic_<name>``).
    """

    spec: RunSpec
    trips: pd.DataFrame
    links: pd.DataFrame
    kpis: dict[str, Any]
    manifest: dict[str, Any]
    visits: pd.DataFrame | None = None
    incidents: pd.DataFrame | None = None
    timers: dict[str, float] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The record tables that exist, by name (``"trips"``, ``"links"``, … ``"kpis"``)."""
        out = {"trips": self.trips, "links": self.links}
        if self.visits is not None:
            out["visits"] = self.visits
        if self.incidents is not None:
            out["incidents"] = self.incidents
        out["kpis"] = long_table(self.kpis)
        return out
