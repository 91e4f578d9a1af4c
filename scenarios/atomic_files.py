"""Result files of comparisons and sweeps, written atomically (:func:`twin.atomic.atomic_path`):
a temporary file beside the target, renamed into place, so a reader never sees half a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twin.atomic import atomic_path

__all__ = ["write_parquet", "write_text"]


def write_parquet(path: Path, table: pd.DataFrame) -> None:
    """Write ``table`` (its index dropped) to ``path`` as Parquet."""
    with atomic_path(path) as tmp:
        pq.write_table(
            pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False), tmp
        )


def write_text(path: Path, text: str) -> None:
    """Write ``text`` and a final newline to ``path`` (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
