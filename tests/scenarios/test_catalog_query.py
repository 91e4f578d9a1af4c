"""SQL over the catalog: the views, across runs, and nothing but reading."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from scenarios.catalog import (
    QueryError,
    QueryRefusedError,
    list_runs,
    query,
    register_run,
)
from scenarios.catalog.entries import BASE_COLUMNS
from scenarios.catalog.sql import check_statement
from sim.records import SCHEMAS
from tests.scenarios.runs import clone_run
from twin.errors import TwinError


@pytest.fixture
def sweep(run_dir, tmp_path):
    """Four registered runs labelled like a sweep over demand.scale with two replications."""
    root = tmp_path / "catalog"
    runs = []
    for k, (scale, replication) in enumerate([(0.8, 0), (0.8, 1), (1.2, 0), (1.2, 1)]):
        folder = clone_run(run_dir, root / f"sweep-{k}", created=f"2026-01-0{k + 1}T08:00:00+00:00")
        labels = {"scenario": "sweep", "demand.scale": scale, "replication": replication}
        runs.append(register_run(folder, root=root, labels=labels))
    return root, runs


def _files_digest(*folders) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_runs_view_has_the_labels_as_columns(sweep):
    root, runs = sweep
    table = query("SELECT * FROM runs ORDER BY created", root)
    assert list(table.columns) == [*BASE_COLUMNS, "scenario", "demand.scale", "replication"]
    assert table["run_id"].tolist() == [r.run_id for r in runs]
    assert table["demand.scale"].tolist() == [0.8, 0.8, 1.2, 1.2]
    pd.testing.assert_frame_equal(
        table.drop(columns=["created", "registered"]).astype(str),
        list_runs(root).drop(columns=["created", "registered"]).astype(str),
    )
    types = query("SELECT column_name, column_type FROM (DESCRIBE runs)", root)
    types = dict(zip(types["column_name"], types["column_type"], strict=True))
    assert types["demand.scale"] == "DOUBLE" and types["replication"] == "BIGINT"
    assert types["created"] == "TIMESTAMP" and types["seed"] == "BIGINT"


def test_a_sweep_is_one_query_from_a_table_of_its_parameters(sweep, run_dir):
    root, _ = sweep
    table = query(
        'SELECT r."demand.scale" AS scale, count(*) AS runs, avg(k.value) AS completed '
        "FROM runs r JOIN kpis k USING (run_id) WHERE k.kpi = 'trips_completed' "
        "GROUP BY ALL ORDER BY scale",
        root,
    )
    completed = json.loads((run_dir / "kpis.json").read_text())["trips_completed"]
    assert table["scale"].tolist() == [0.8, 1.2]
    assert table["runs"].tolist() == [2, 2]
    assert table["completed"].tolist() == [completed, completed]


def test_record_views_read_every_runs_parquet_with_its_run_id(sweep, run_dir):
    root, runs = sweep
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for table, n in [("trips", "trips.parquet"), ("links", "links.parquet"),
                     ("incidents", "incidents.parquet"), ("kpis", "kpis.parquet")]:  # fmt: skip
        counts = query(f"SELECT run_id, count(*) AS n FROM {table} GROUP BY run_id", root)
        rows = manifest["files"][n]["rows"]
        if rows:
            assert sorted(counts["run_id"]) == sorted(r.run_id for r in runs)
        assert counts["n"].tolist() == [rows] * len(counts)
        columns = query(f"SELECT * FROM {table} LIMIT 0", root).columns.tolist()
        assert columns == ["run_id", *SCHEMAS[table].names]
    # one run's trips are exactly its Parquet file
    mine = query(
        f"SELECT * EXCLUDE (run_id) FROM trips WHERE run_id = '{runs[2].run_id}' ORDER BY trip_id",
        root,
    )
    expected = pq.read_table(run_dir / "trips.parquet").to_pandas().sort_values("trip_id")
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), expected.reset_index(drop=True))
    kpis = query(f"SELECT kpi, value FROM kpis WHERE run_id = '{runs[0].run_id}'", root)
    recorded = json.loads((run_dir / "kpis.json").read_text())
    values = dict(zip(kpis["kpi"], kpis["value"], strict=True))
    assert values["mean_speed_kmh"] == recorded["mean_speed_kmh"]
    assert values["co2_kg_by_class.car"] == recorded["co2_kg_by_class"]["car"]
    files = query("SELECT table_name, count(*) AS n FROM run_files GROUP BY ALL", root)
    assert dict(zip(files["table_name"], files["n"], strict=True)) == {
        "trips": 4, "links": 4, "visits": 4, "incidents": 4, "kpis": 4,
    }  # fmt: skip


def test_an_empty_catalog_has_every_view_with_its_columns(tmp_path):
    root = tmp_path / "empty"
    assert query("SELECT * FROM runs", root).columns.tolist() == list(BASE_COLUMNS)
    for table in ("trips", "links", "visits", "incidents", "kpis"):
        result = query(f"SELECT * FROM {table}", root)
        assert result.empty and result.columns.tolist() == ["run_id", *SCHEMAS[table].names]


def test_a_run_whose_folder_went_away_is_left_out_of_the_views(sweep):
    root, runs = sweep
    import shutil

    shutil.rmtree(runs[1].path)
    ids = query("SELECT DISTINCT run_id FROM trips", root)["run_id"]
    assert sorted(ids) == sorted(r.run_id for r in runs if r is not runs[1])
    assert len(query("SELECT * FROM runs", root)) == 3


def test_a_pivot_that_names_its_values_is_a_select(sweep):
    root, _ = sweep
    table = query(
        "PIVOT (SELECT run_id, kpi, value FROM kpis) "
        "ON kpi IN ('trips_completed', 'mean_speed_kmh') USING first(value)",
        root,
    )
    assert len(table) == 4 and {"trips_completed", "mean_speed_kmh"} <= set(table.columns)


def test_the_database_runs_locked_down(sweep):
    root, _ = sweep
    settings = query(
        "SELECT current_setting('enable_external_access') AS external, "
        "current_setting('lock_configuration') AS locked, "
        "current_setting('autoload_known_extensions') AS autoload, "
        "current_setting('autoinstall_known_extensions') AS autoinstall",
        root,
    ).iloc[0]
    assert not settings["external"] and settings["locked"]
    assert not settings["autoload"] and not settings["autoinstall"]
    # Python variables of the caller are not tables
    secret = pd.DataFrame({"a": [1]})  # noqa: F841
    with pytest.raises(QueryError, match="secret does not exist"):
        query("SELECT * FROM secret", root)


def _refused_statements(run_dir, tmp_path):
    trips = run_dir / "trips.parquet"
    registration = next((tmp_path / "catalog" / ".catalog").glob("*.json"))
    outside = tmp_path / "outside.parquet"
    pq.write_table(pq.read_table(trips), outside)
    return [
        "DELETE FROM runs",
        "DELETE FROM trips WHERE true",
        "DROP VIEW runs",
        "DROP TABLE trips",
        "CREATE TABLE t AS SELECT 1 AS a",
        "CREATE VIEW v AS SELECT 1 AS a",
        "INSERT INTO runs SELECT * FROM runs",
        "UPDATE kpis SET value = 0",
        f"COPY (SELECT 1 AS a) TO '{trips}' (USE_TMP_FILE false)",
        f"COPY runs TO '{tmp_path / 'out.csv'}'",
        f"COPY (PIVOT kpis ON kpi USING first(value)) TO '{tmp_path / 'pivot.csv'}'",
        f"EXPORT DATABASE '{tmp_path / 'export'}'",
        f"ATTACH '{tmp_path / 'new.duckdb'}' AS other",
        "ATTACH ':memory:' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "LOAD parquet",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "PRAGMA enable_profiling",
        "CALL pragma_version()",
        "SELECT 1; DELETE FROM runs",
        "WITH gone AS (DELETE FROM runs RETURNING *) SELECT * FROM gone",
        "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        f"SELECT * FROM read_parquet('{outside}')",
        f"SELECT * FROM read_json('{registration}')",
    ]


def test_twin_query_is_read_only(sweep, run_dir, tmp_path):
    root, runs = sweep
    statements = _refused_statements(runs[0].path, tmp_path)
    folders = [r.path for r in runs]
    before = _files_digest(tmp_path, run_dir)
    for sql in statements:
        with pytest.raises(QueryRefusedError) as info:
            query(sql, root)
        message = str(info.value)
        assert isinstance(info.value, TwinError) and isinstance(info.value, PermissionError)
        assert message.startswith("refused") and "\n" not in message, (sql, message)
    # no file changed, appeared or went away: runs, registrations, anything under tmp_path
    assert _files_digest(tmp_path, run_dir) == before
    assert all(f.is_relative_to(tmp_path) for f in folders)
    assert len(query("SELECT * FROM runs", root)) == 4


def test_duckdb_alone_would_let_an_allowed_file_be_written(run_dir, tmp_path):
    """Why every statement but a SELECT is refused before it reaches DuckDB: with external
    access off, DuckDB still writes a file of allowed_paths (seen with DuckDB 2.0.1)."""
    target = tmp_path / "allowed.parquet"
    target.write_bytes((run_dir / "trips.parquet").read_bytes())
    con = duckdb.connect(":memory:")
    con.execute("SET allowed_paths = ?", [[str(target)]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    con.execute(f"COPY (SELECT 42 AS answer) TO '{target}' (USE_TMP_FILE false)")
    assert pq.read_table(target).column_names == ["answer"]
    with pytest.raises(QueryRefusedError, match="refused a COPY statement"):
        check_statement(f"COPY (SELECT 42 AS answer) TO '{target}' (USE_TMP_FILE false)")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", "syntax error"),
        ("  ;", "no SQL statement given"),
        ("SELECT * FROM nowhere", "nowhere does not exist"),
        ("SELECT no_such_column FROM runs", "no_such_column"),
    ],
)
def test_bad_sql_is_a_query_error_on_one_line(sweep, sql, message):
    root, _ = sweep
    with pytest.raises(QueryError, match=message) as info:
        query(sql, root)
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, QueryRefusedError)


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1", "WITH a AS (SELECT 1 AS x) SELECT x FROM a", "FROM runs", "DESCRIBE runs",
     "SHOW TABLES", "SUMMARIZE runs"],
)  # fmt: skip
def test_every_kind_of_select_is_allowed(sweep, sql):
    root, _ = sweep
    assert isinstance(query(sql, root), pd.DataFrame)
