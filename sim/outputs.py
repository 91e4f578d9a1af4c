"""A run folder on disk: Parquet tables, ``kpis.json`` and ``manifest.json``, written atomically.

Layout of ``RUN_DIR``
---------------------
``trips.parquet``, ``links.parquet``, ``visits.parquet``, ``incidents.parquet``
    The record tables, in the schemas of :mod:`sim.records` (``visits`` and ``incidents``
    when those parts ran).
``kpis.parquet``
    The KPIs as a long table (``kpi, domain, unit, value``; :mod:`sim.kpis`).
``kpis.json``
    The KPIs as a dict (NaN written as ``null``), with ``notes`` when the run has any.
``manifest.json``
    The run specification and its digest, the checksums of the city, the trips and the code
    (:mod:`sim.manifest`), and every other file with its size and sha256.

:func:`write_run` builds the whole folder in a hidden temporary sibling and renames it into
place at the end, so an interrupted write leaves no folder that looks complete. It replaces
an existing folder only when asked (``force``) and only when that folder is itself a run
folder holding nothing but a run's files: never a folder with anything else in it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.manifest import FORMAT as MANIFEST_FORMAT
from sim.records import TABLES, to_arrow
from sim.result import RunResult
from sim.spec import RunSpec
from twin.build.osm import file_sha256
from twin.errors import OutputError, TwinError
from twin.output_paths import check_output_folder, replace_folder, staging_folder

__all__ = ["RUN_FILES", "RunDirError", "check_run_dir", "is_run_dir", "read_run", "write_run"]

#: Every file a run folder may hold.
RUN_FILES = frozenset({*(f"{name}.parquet" for name in TABLES), "kpis.json", "manifest.json"})


class RunDirError(TwinError, FileExistsError):
    """A run folder exists and is not empty, or is incomplete or corrupt when read."""


def is_run_dir(folder: str | Path) -> bool:
    """Whether ``folder`` is a run folder: a ``manifest.json`` of a run, and nothing but the
    files a run writes (so ``--force`` may replace it without losing anything else)."""
    folder = Path(folder)
    try:
        names = {item.name for item in folder.iterdir()}
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(manifest, dict)
        and str(manifest.get("format", "")).startswith("hue-twin-run/")
        and names <= RUN_FILES
    )


def check_run_dir(
    run_dir: str | Path,
    *,
    force: bool = False,
    inputs: Mapping[str, str | Path | None] | None = None,
    option: str = "-o",
) -> Path:
    """Refuse an output folder that already holds something, unless ``force`` and it is an
    earlier run folder (:func:`is_run_dir`); refuse one of the command's inputs, a folder
    holding one or lying inside an input folder, and a place that cannot be written
    (:func:`twin.output_paths.check_output_folder`).

    Called before a run starts, so a user learns about the clash before waiting for it.

    Parameters
    ----------
    run_dir
        The run folder to write.
    force
        Allow replacing an earlier run folder.
    inputs
        The command's inputs by description (``{"the city bundle": path}``).
    option
        The option that named ``run_dir``, for messages.

    Raises
    ------
    RunDirError
        ``run_dir`` is a file, or a folder that is not empty (without ``force``) or that holds
        anything but an earlier run's files (even with ``force``), an input, or not writable.
    """
    try:
        return check_output_folder(
            run_dir,
            what="run",
            earlier=is_run_dir,
            force=force,
            inputs=inputs,
            option=option,
            within_inputs=True,
        )
    except OutputError as exc:
        raise RunDirError(str(exc)) from None


def write_run(result: RunResult, run_dir: str | Path, *, force: bool = False) -> Path:
    """Write a run's tables, KPIs and manifest into ``run_dir``, atomically.

    Parameters
    ----------
    result
        What :func:`sim.runner.run` returned.
    run_dir
        The folder to create. Its parent is created when missing.
    force
        Replace ``run_dir`` if it is an earlier run folder.

    Returns
    -------
    The run folder.

    Raises
    ------
    RunDirError
        See :func:`check_run_dir`.
    """
    run_dir = check_run_dir(run_dir, force=force)
    tmp = staging_folder(run_dir)
    try:
        files: dict[str, dict[str, Any]] = {}
        for name, table in result.tables.items():
            path = tmp / f"{name}.parquet"
            pq.write_table(to_arrow(name, table), path)
            files[path.name] = _describe(path, rows=len(table))
        path = tmp / "kpis.json"
        _write_json(result.kpis, path)
        files[path.name] = _describe(path)
        manifest = {
            "format": MANIFEST_FORMAT,
            **result.manifest,
            "digest": result.spec.digest,
            "spec": result.spec.to_dict(),
            "files": files,
        }
        if result.timers:
            manifest["timers_s"] = {k: round(float(v), 4) for k, v in result.timers.items()}
        _write_json(manifest, tmp / "manifest.json")
        _fsync_dir(tmp)
        replace_folder(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_dir


def read_run(run_dir: str | Path, *, verify: bool = True) -> RunResult:
    """Load a run folder back into a :class:`~sim.runner.RunResult`.

    Parameters
    ----------
    run_dir
        A folder written by :func:`write_run`.
    verify
        Check each file's sha256 against the manifest.

    Raises
    ------
    RunDirError
        The folder has no readable manifest, misses a file the manifest lists, or a
        checksum differs.
    """
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise RunDirError(
            f"{run_dir} is not a run folder (no manifest.json); give a folder written by "
            "`twin run -o RUN_DIR`"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
        spec = RunSpec.from_dict(manifest["spec"], where=f"{manifest_path} spec")
    except (ValueError, KeyError, TypeError) as exc:
        raise RunDirError(
            f"{manifest_path} is damaged or from another version ({type(exc).__name__}: "
            f"{exc}); run the specification again"
        ) from None
    for name, info in files.items():
        path = run_dir / name
        if not path.is_file():
            raise RunDirError(f"{run_dir}: {name} is listed in manifest.json but missing")
        if verify and file_sha256(path) != info.get("sha256"):
            raise RunDirError(
                f"{run_dir}: {name} does not match its sha256 in manifest.json; the file was "
                "changed or damaged after the run, so re-run it"
            )
    tables = {
        name: pd.read_parquet(run_dir / f"{name}.parquet")
        for name in TABLES
        if f"{name}.parquet" in files
    }
    if "trips" not in tables or "links" not in tables:
        raise RunDirError(f"{run_dir}: manifest.json lists no trips.parquet or links.parquet")
    kpis = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    timers = manifest.pop("timers_s", {})
    return RunResult(
        spec=spec,
        trips=tables["trips"],
        links=tables["links"],
        visits=tables.get("visits"),
        incidents=tables.get("incidents"),
        kpis=kpis,
        manifest=manifest,
        timers=timers,
    )


# -- helpers -----------------------------------------------------------------------------------
def _write_json(data: Any, path: Path) -> None:
    text = json.dumps(_json_safe(data), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _json_safe(value: Any) -> Any:
    """NaN and infinities → ``None``; numpy scalars → built-ins; paths → strings."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, TypeError):
            value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _describe(path: Path, *, rows: int | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    if rows is not None:
        info["rows"] = int(rows)
    return info


def _fsync_dir(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as fh:
            os.fsync(fh.fileno())
