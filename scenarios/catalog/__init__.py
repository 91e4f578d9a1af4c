"""The run catalog: every run registered under a results root, listed and queried with SQL.

A run folder (:func:`sim.outputs.write_run`) may lie anywhere; registering it
(:func:`register_run`) writes one small file under ``ROOT/.catalog/`` that points to it
(:mod:`scenarios.catalog.registry`). :func:`list_runs` reads the registrations back, one row
per run with its labels as columns; :func:`query` runs read-only DuckDB SQL over views of the
runs and their Parquet tables, read in place (:mod:`scenarios.catalog.sql`). The root is the
``runs_dir`` setting (``TWIN_RUNS_DIR``, default ``./runs``) unless one is given.
"""

from __future__ import annotations

from scenarios.catalog.entries import RunEntry
from scenarios.catalog.errors import (
    CatalogError,
    LabelError,
    QueryError,
    QueryRefusedError,
    RunFolderError,
    UnknownKPIError,
)
from scenarios.catalog.registry import (
    catalog_root,
    check_catalog_root,
    forget_runs,
    list_runs,
    prune,
    register_run,
    run_id_of,
    scan,
)
from scenarios.catalog.sql import query

__all__ = [
    "HEADLINE_KPIS",
    "CatalogError",
    "LabelError",
    "QueryError",
    "QueryRefusedError",
    "RunEntry",
    "RunFolderError",
    "UnknownKPIError",
    "catalog_root",
    "check_catalog_root",
    "forget_runs",
    "list_runs",
    "prune",
    "query",
    "register_run",
    "run_id_of",
    "scan",
]

#: The KPIs ``twin runs`` shows beside each run, one or two per domain.
HEADLINE_KPIS = (
    "trips_completed",
    "mean_speed_kmh",
    "total_delay_h",
    "gate_wait_mean_s",
    "response_time_mean_s",
)
