"""Comparison and sweep result files: whole or absent, readable like any file."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from scenarios.atomic_files import write_parquet, write_text


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_files_land_whole_with_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text(tmp_path / "summary.txt", "Trường Tiền closed")
        write_parquet(tmp_path / "kpis.parquet", pd.DataFrame({"kpi": ["a"], "value": [1.0]}))
    finally:
        os.umask(umask)
    assert (tmp_path / "summary.txt").read_text(encoding="utf-8") == "Trường Tiền closed\n"
    assert pd.read_parquet(tmp_path / "kpis.parquet")["value"].tolist() == [1.0]
    assert _mode(tmp_path / "summary.txt") == _mode(tmp_path / "kpis.parquet") == 0o644


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "kpis.parquet"
    write_parquet(target, pd.DataFrame({"value": [1.0]}))
    bad = pd.DataFrame({"value": [object()]})  # pyarrow cannot convert it
    with pytest.raises(Exception, match="object"):
        write_parquet(target, bad)
    assert pd.read_parquet(target)["value"].tolist() == [1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kpis.parquet"]
