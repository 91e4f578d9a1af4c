"""The parts' tables in the form of the records contract (:mod:`sim.records`).

The traffic engine, the tourists and the emergency services keep their records by drive
node and edge *position*; a run's tables name nodes by ``node_id`` and links by their stable
``edge_id``, so that they join across runs and cities that differ by a road.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twin.city import City

__all__ = [
    "incidents_table",
    "links_table",
    "no_links",
    "no_trips",
    "plain",
    "trips_table",
    "unroutable_by_zone",
]


def unroutable_by_zone(table: pd.DataFrame, city: City) -> dict[str, int]:
    """Demand trips that could not reach their destination, by the name of their origin's
    zone (only zones with any)."""
    lost = table[(table["source"] == "demand") & table["status"].isin(["unroutable", "stranded"])]
    if lost.empty:
        return {}
    zone = np.asarray(city.node_zone)[lost["origin"].to_numpy(np.int64)]
    names = city.zones.set_index("zone")["name"] if len(city.zones) else pd.Series(dtype=str)
    counts = pd.Series(zone).value_counts().sort_index()
    return {str(names.get(z, z)): int(n) for z, n in counts.items()}


def trips_table(table: pd.DataFrame, net) -> pd.DataFrame:
    """The engine's demand trips in the contract's form: node ids, columns and dtypes."""
    keep = slice(None)
    if "source" in table.columns:
        # column by column: a filtered copy of the whole table would double a day's peak
        keep = table["source"].to_numpy() == "demand"

    def column(name: str, dtype) -> np.ndarray:
        return table[name].to_numpy(dtype=dtype)[keep]

    out = pd.DataFrame(
        {
            "trip_id": column("trip_id", np.int64),
            "origin": net.node_id[column("origin", np.int64)],
            "destination": net.node_id[column("destination", np.int64)],
        }
    )
    for name in ("depart", "arrive", "travel_time", "distance", "delay"):
        out[name] = column(name, np.float64)
    out["vehicle_class"] = table["vehicle_class"].astype(str).to_numpy()[keep]
    return out


def links_table(table: pd.DataFrame, net) -> pd.DataFrame:
    """The engine's links table keyed by stable ``edge_id`` instead of edge position."""
    out = table.rename(columns={"edge": "edge_id"})
    out["edge_id"] = net.edge_id[table["edge"].to_numpy(np.int64)]
    return out.reset_index(drop=True)


def incidents_table(table: pd.DataFrame, net) -> pd.DataFrame:
    """Incidents with node ids for ``node`` and ``hospital`` (null: no hospital)."""
    out = table.copy()
    out["node"] = net.node_id[table["node"].to_numpy(np.int64)]
    hospital = table["hospital"].to_numpy(np.int64)
    ids = np.where(hospital >= 0, net.node_id[np.maximum(hospital, 0)], 0)
    out["hospital"] = pd.array(
        [int(v) if h >= 0 else None for v, h in zip(ids, hospital, strict=True)], dtype="Int64"
    )
    return out


def no_trips() -> pd.DataFrame:
    from sim.records import SCHEMAS

    return SCHEMAS["trips"].empty_table().to_pandas()


def no_links() -> pd.DataFrame:
    from sim.records import SCHEMAS

    return SCHEMAS["links"].empty_table().to_pandas()


def plain(value: Any) -> Any:
    """numpy scalars and containers → built-in types (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
