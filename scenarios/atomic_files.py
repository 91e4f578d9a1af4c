"""Result files of comparisons and sweeps, written atomically: a temporary file beside the
target, renamed into place, so a reader never sees half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["write_parquet", "write_text"]


def write_parquet(path: Path, table: pd.DataFrame) -> None:
    """Write ``table`` (its index dropped) to ``path`` as Parquet."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(
            pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False), tmp
        )
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` and a final newline to ``path`` (UTF-8)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
