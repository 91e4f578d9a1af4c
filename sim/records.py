"""The records contract: the Arrow schemas of every table a run writes.

A run folder's tables (``trips``, ``links``, ``visits``, ``incidents``, ``kpis``) have exactly
these columns and types; comparisons, the run catalog, the 3D view and the report read only
them. Ids are the city's stable ids: drive nodes by ``node_id`` (OSM node ids for an OSM city,
GMNS ids for a GMNS one) and links by ``edge_id`` (the ``link_id`` that ``twin export --gmns``
writes), so tables of two runs join even when one of them added a road. Times are seconds
after midnight, durations seconds, distances metres.

=============  ===================================================================================
table          columns
=============  ===================================================================================
trips          one row per vehicle trip of the demand: ``trip_id``, ``origin``, ``destination``
               (node ids), ``depart``, ``arrive`` (null: unfinished), ``travel_time``,
               ``distance``, ``delay`` (over free flow), ``vehicle_class``
links          per drive link per 15 minutes, where anything happened: ``edge_id``,
               ``interval_start``, ``entries``, ``exits``, ``mean_speed_kmh`` (space-mean
               speed of the vehicles that left; null when none did), ``density_pcu_per_km``
               (time-mean), ``queue_pcu`` (at the interval's end)
visits         one row per tourist per planned visit (:mod:`sim.tourists.records`)
incidents      one row per emergency incident (:mod:`sim.emergency.records`); ``node`` and
               ``hospital`` are node ids (``hospital`` null: not taken to hospital)
kpis           the KPIs as a long table: ``kpi``, ``domain``, ``unit``, ``value``
               (:mod:`sim.kpis`)
=============  ===================================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from twin.errors import TwinError

__all__ = ["SCHEMAS", "TABLES", "RecordsError", "to_arrow"]

_f64, _i64, _str, _bool = pa.float64(), pa.int64(), pa.string(), pa.bool_()

#: The schema of each table, by name.
SCHEMAS: dict[str, pa.Schema] = {
    "trips": pa.schema(
        [
            ("trip_id", _i64),
            ("origin", _i64),
            ("destination", _i64),
            ("depart", _f64),
            ("arrive", _f64),
            ("travel_time", _f64),
            ("distance", _f64),
            ("delay", _f64),
            ("vehicle_class", _str),
        ]
    ),
    "links": pa.schema(
        [
            ("edge_id", _i64),
            ("interval_start", _f64),
            ("entries", _i64),
            ("exits", _i64),
            ("mean_speed_kmh", _f64),
            ("density_pcu_per_km", _f64),
            ("queue_pcu", _f64),
        ]
    ),
    "visits": pa.schema(
        [
            ("tourist_id", _i64),
            ("party_id", _i64),
            ("party_size", _i64),
            ("tour_group", _bool),
            ("site", _str),
            ("poi_id", _str),
            ("zone", _i64),
            ("arrive", _f64),
            ("open_wait", _f64),
            ("crowd_wait", _f64),
            ("gate_wait", _f64),
            ("enter", _f64),
            ("leave", _f64),
            ("mode_in", _str),
            ("missed", _bool),
            ("missed_reason", _str),
        ]
    ),
    "incidents": pa.schema(
        [
            ("incident_id", _i64),
            ("kind", _str),
            ("source", _str),
            ("zone", _i64),
            ("node", _i64),
            ("call", _f64),
            ("dispatch", _f64),
            ("unit", _str),
            ("unit_type", _str),
            ("station", _str),
            ("depart", _f64),
            ("on_scene", _f64),
            ("response_time", _f64),
            ("left_scene", _f64),
            ("hospital", _i64),
            ("at_hospital", _f64),
            ("handover_done", _f64),
            ("back_at_base", _f64),
            ("waited", _bool),
            ("wait_s", _f64),
        ]
    ),
    "kpis": pa.schema([("kpi", _str), ("domain", _str), ("unit", _str), ("value", _f64)]),
}
#: Tables a run folder may hold, in the order they are written.
TABLES: tuple[str, ...] = tuple(SCHEMAS)
#: Columns whose NaN means "no value" and is written as null.
_NULL_WHEN_NAN = {("trips", "arrive"), ("links", "mean_speed_kmh")}


class RecordsError(TwinError, ValueError):
    """A table does not follow its schema (a missing column, a value of the wrong type)."""


def to_arrow(name: str, table: pd.DataFrame) -> pa.Table:
    """``table`` as an Arrow table of the schema ``name``: exactly its columns, in order,
    cast to its types; NaN becomes null where the contract says "no value".

    Raises
    ------
    RecordsError
        An unknown table, a missing column, or a value that cannot take the column's type.
    """
    if name not in SCHEMAS:
        raise RecordsError(f"no table named {name!r}; the tables are {list(SCHEMAS)}")
    schema = SCHEMAS[name]
    missing = [c for c in schema.names if c not in table.columns]
    if missing:
        raise RecordsError(f"the {name} table lacks the columns {missing}")
    arrays = []
    for item in schema:
        values = table[item.name]
        if (name, item.name) in _NULL_WHEN_NAN:
            numbers = values.to_numpy(np.float64)
            arrays.append(pa.array(numbers, type=item.type, mask=np.isnan(numbers)))
            continue
        try:
            arrays.append(pa.array(values.to_numpy(), type=item.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise RecordsError(f"the {name} table's column {item.name!r}: {exc}") from None
    return pa.Table.from_arrays(arrays, schema=schema)
