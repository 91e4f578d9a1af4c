"""SQL over the catalog: DuckDB views of every registered run, read-only.

Each query opens a fresh in-memory DuckDB database holding only views:

``runs``
    One row per run (:func:`~scenarios.catalog.registry.list_runs`): ``run_id``, ``path``,
    ``digest``, ``seed``, ``created``, ``wall_s``, ``city``, ``window``, ``start_s``,
    ``end_s``, ``registered`` and one column per label (a dotted label such as
    ``demand.scale`` is written in double quotes: ``"demand.scale"``).
``kpis``, ``trips``, ``links``, ``visits``, ``incidents``
    ``run_id`` and the columns of that table (:mod:`sim.records`), over the Parquet files of
    every run that has it, read in place (``read_parquet`` of the files themselves; a filter
    on ``run_id`` reads only that run's file).
``run_files``
    ``run_id``, ``table_name``, ``path``: which file each view reads.

Read-only, in two independent layers:

1. The statement must be one ``SELECT`` (``WITH … SELECT``, ``FROM …``, ``DESCRIBE``,
   ``SHOW``, ``SUMMARIZE`` and a ``PIVOT`` that names its values are ``SELECT`` too), as
   DuckDB's own parser classifies it; anything else (``DELETE``, ``DROP``, ``CREATE``,
   ``COPY``, ``ATTACH``, ``INSTALL``, ``LOAD``, ``SET``, ``PRAGMA``, ``CALL``, ``EXPORT``,
   several statements) is refused before it runs. So is a ``PIVOT`` whose values come from
   the data: DuckDB classifies any statement holding one as ``MULTI``, and ``MULTI`` also
   hides ``COPY (PIVOT …) TO`` or ``CREATE TABLE … AS PIVOT …``.
2. DuckDB itself runs with ``enable_external_access = false``, ``allowed_paths`` = exactly
   the catalog's Parquet files, extension auto-install and auto-load off, Python variable
   lookup off (``python_enable_replacements = false``), then ``lock_configuration = true``,
   so a query can open no other file, load no extension and change no setting. The database
   holds views only: no table a data-modifying ``WITH`` could reach.

The first layer is what keeps writes out: DuckDB 2.0's ``allowed_paths`` lets a file be
written as well as read (``COPY … TO`` an allowed file with ``USE_TMP_FILE false`` replaces
it), so a ``COPY`` must never reach DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from scenarios.catalog.entries import RunEntry
from scenarios.catalog.errors import QueryError, QueryRefusedError
from scenarios.catalog.registry import Scan, runs_frame, scan
from sim.records import SCHEMAS, TABLES

__all__ = ["VIEWS", "check_statement", "query"]

#: The views a query sees.
VIEWS = ("runs", *TABLES, "run_files")
_ALLOWED = "one SELECT (or WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE)"


def query(sql: str, root: str | Path | None = None, *, scanned: Scan | None = None) -> pd.DataFrame:
    """Run one read-only SQL statement over the catalog's views.

    Parameters
    ----------
    sql
        One ``SELECT`` statement over :data:`VIEWS`.
    root
        The results root; ``None`` for the ``runs_dir`` setting.
    scanned
        A :func:`~scenarios.catalog.registry.scan` already made.

    Returns
    -------
    The result as a DataFrame.

    Raises
    ------
    QueryRefusedError
        The statement is not one ``SELECT``, or reaches outside the catalog's files.
    QueryError
        The SQL is not valid, or names a view or column that does not exist.
    """
    statement = check_statement(sql)
    found = scanned if scanned is not None else scan(root)
    with _catalog_database(found.entries) as con:
        try:
            return con.execute(statement).df()
        except duckdb.PermissionException as exc:
            raise QueryRefusedError(
                f"refused: {_first_line(exc)}; twin query reads only the runs' Parquet files "
                f"through the views {', '.join(VIEWS)}"
            ) from None
        except duckdb.BinderException as exc:
            if "base table" in str(exc):  # a data-modifying WITH aimed at a view
                raise QueryRefusedError(
                    f"refused: {_first_line(exc)}; the catalog's views cannot be changed"
                ) from None
            raise QueryError(f"{_first_line(exc)} (the views are {', '.join(VIEWS)})") from None
        except duckdb.Error as exc:
            raise QueryError(f"{_first_line(exc)} (the views are {', '.join(VIEWS)})") from None


def check_statement(sql: str) -> str:
    """The one ``SELECT`` statement of ``sql``, or an error saying why it is refused.

    Raises
    ------
    QueryRefusedError
        Not exactly one statement, or not a ``SELECT``.
    QueryError
        Not valid SQL.
    """
    with duckdb.connect(":memory:") as parser:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(_first_line(exc)) from None
    if not statements:
        raise QueryError(f"no SQL statement given; give {_ALLOWED}, e.g. SELECT * FROM runs")
    if len(statements) != 1:
        raise QueryRefusedError(
            f"refused: {len(statements)} statements given; twin query runs {_ALLOWED}"
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        name = str(kind.name).upper()
        if name == "MULTI":  # DuckDB expands it into several statements it does not show
            raise QueryRefusedError(
                "refused a statement DuckDB runs as several (a PIVOT over values read from the "
                f"data): twin query runs {_ALLOWED}; name the PIVOT's values instead, e.g. "
                "PIVOT kpis ON kpi IN ('trips_completed', 'mean_speed_kmh') USING first(value)"
            )
        raise QueryRefusedError(
            f"refused a {name} statement: twin query runs {_ALLOWED}; the catalog is read-only"
        )
    return sql


# -- the database ------------------------------------------------------------------------------
@contextmanager
def _catalog_database(entries: Sequence[RunEntry]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB database holding the catalog's views, locked down; closed after."""
    files = _run_files(entries)
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "python_enable_replacements": False,
        },
    )
    try:
        con.execute("SET allowed_paths = ?", [files["path"].tolist()])
        con.execute("SET enable_external_access = false")
        con.execute("SET allow_community_extensions = false")
        con.register("run_files", files)
        con.register("runs", runs_frame(entries))
        for table in TABLES:
            paths = files.loc[files["table_name"] == table, "path"].tolist()
            if not paths:
                con.register(table, _empty(table))
                continue
            listed = ", ".join(_literal(p) for p in paths)
            con.execute(
                f"CREATE VIEW {table} AS SELECT f.run_id, t.* EXCLUDE (filename) "
                f"FROM read_parquet([{listed}], filename = true, union_by_name = true) t "
                "JOIN run_files f ON t.filename = f.path"
            )
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


def _run_files(entries: Sequence[RunEntry]) -> pd.DataFrame:
    rows = [
        (e.run_id, table, str(e.path / f"{table}.parquet")) for e in entries for table in e.tables
    ]
    return pd.DataFrame(
        {
            "run_id": pd.Series([r[0] for r in rows], dtype="string"),
            "table_name": pd.Series([r[1] for r in rows], dtype="string"),
            "path": pd.Series([r[2] for r in rows], dtype="string"),
        }
    )


def _empty(table: str) -> pa.Table:
    """An empty table with ``run_id`` and the columns of ``table`` (no run has one)."""
    schema = pa.schema([("run_id", pa.string()), *SCHEMAS[table]])
    return schema.empty_table()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    """DuckDB's message on one line, without the pointer into the SQL text."""
    kept = []
    for line in str(exc).splitlines():
        if line.strip().startswith("LINE "):
            break
        if line.strip():
            kept.append(line.strip())
    return " ".join(kept) or type(exc).__name__
