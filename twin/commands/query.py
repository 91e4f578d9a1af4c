"""``twin query "SQL"``: read-only DuckDB SQL across the runs of the catalog."""

from __future__ import annotations

import argparse
import json
import sys

from twin.commands.runs import add_root_argument


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "query",
        help="SQL across the registered runs (read-only)",
        description="Run one read-only DuckDB SELECT over the catalog's views: runs (one row "
        "per run, its labels as columns), kpis (run_id, kpi, domain, unit, value), trips, "
        "links, visits, incidents (each with run_id) and run_files. The Parquet files are "
        'read in place. Quote a dotted label: SELECT "demand.scale" FROM runs.',
    )
    parser.add_argument("sql", help="one SELECT statement")
    add_root_argument(parser)
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="print CSV")
    form.add_argument("--json", action="store_true", help="print a JSON list of rows")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from scenarios.catalog import query, scan

    found = scan(args.root)
    for problem in found.problems:
        print(f"warning: {problem.message}", file=sys.stderr)
    table = query(args.sql, scanned=found)
    if args.csv:
        table.to_csv(sys.stdout, index=False)
    elif args.json:
        text = table.to_json(orient="records", date_format="iso", force_ascii=False)
        print(json.dumps(json.loads(text), ensure_ascii=False, indent=2))
    elif table.empty:
        print(f"(no rows; columns: {', '.join(map(str, table.columns))})")
    else:
        print(table.to_string(index=False))
    return 0
