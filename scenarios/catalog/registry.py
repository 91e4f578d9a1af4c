"""Registrations: one small JSON file per run under ``ROOT/.catalog/``.

Registering a run writes ``ROOT/.catalog/<run_id>.json`` (the run's id, where its folder is,
the hash of its manifest, when it was registered, and its labels) into a hidden temporary
file beside it, flushes it to disk and renames it into place. A rename is atomic, and no two
runs share a file, so runs registering at the same moment, from any number of processes,
never see or damage each other's registration, and a reader sees a registration whole or
not at all. There is no shared index to lock: the catalog is the set of these files.

A run folder stays where it was written (under the root or anywhere else); the catalog only
points to it, by a path relative to the root when the folder lies under it (so a root moved
as a whole still works) and absolute otherwise. Everything else the catalog shows is read
from the run folder itself when the catalog is read, so it cannot drift from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.catalog.entries import (
    RunEntry,
    check_labels,
    make_run_id,
    read_run_folder,
)
from scenarios.catalog.errors import (
    CatalogError,
    RunFolderError,
    UnknownKPIError,
)

__all__ = [
    "CATALOG_FOLDER",
    "FORMAT",
    "Problem",
    "Scan",
    "catalog_root",
    "check_catalog_root",
    "forget_runs",
    "list_runs",
    "prune",
    "register_run",
    "run_id_of",
    "runs_frame",
    "scan",
]

log = logging.getLogger(__name__)

#: The folder under the results root that holds the registrations.
CATALOG_FOLDER = ".catalog"
#: Identifies a registration file and the version of its layout.
FORMAT = "hue-twin-catalog/1"


@dataclass(frozen=True)
class Problem:
    """A registration the catalog skips.

    Attributes
    ----------
    run_id
        The run it registers (``""`` when the file cannot be read).
    registration
        The registration file.
    message
        What is wrong and what to do.
    """

    run_id: str
    registration: Path
    message: str


@dataclass(frozen=True)
class Scan:
    """What reading the catalog found.

    Attributes
    ----------
    root
        The results root.
    entries
        The runs, oldest first.
    problems
        Registrations skipped: the folder is gone, incomplete, or holds a run that is not
        registered, or the registration file cannot be read.
    superseded
        Registrations of runs whose folder now holds a newer registered run (a run written
        again with ``--force``): skipped quietly; :func:`prune` removes them.
    """

    root: Path
    entries: tuple[RunEntry, ...]
    problems: tuple[Problem, ...] = ()
    superseded: tuple[Path, ...] = ()


def catalog_root(root: str | Path | None = None) -> Path:
    """The results root: ``root``, else the ``runs_dir`` setting (``TWIN_RUNS_DIR``, default
    ``./runs``), as an absolute path."""
    if root is None:
        from twin.settings import get_settings

        root = get_settings().runs_dir
    return Path(root).expanduser().resolve()


def check_catalog_root(root: str | Path | None = None) -> Path:
    """The results root (:func:`catalog_root`), refused when it is a file: ``twin runs`` and
    ``twin query`` read it, ``twin run`` checks it before a run that it will register.

    Raises
    ------
    CatalogError
        The root is a file.
    """
    root = catalog_root(root)
    if root.exists() and not root.is_dir():
        raise CatalogError(
            f"the results root {root} is a file; give a folder with --root (or set "
            "TWIN_RUNS_DIR or runs_dir in twin.toml)"
        )
    return root


def register_run(
    run_dir: str | Path,
    *,
    root: str | Path | None = None,
    labels: Mapping[str, Any] | None = None,
) -> RunEntry:
    """Register a finished run folder in the catalog under ``root``.

    Registering the same folder again is harmless: it keeps the run's id and registration
    time and takes the labels given now. A copy of the folder elsewhere is a run of its own.

    Parameters
    ----------
    run_dir
        A folder written by :func:`sim.outputs.write_run`, anywhere.
    root
        The results root; ``None`` for the ``runs_dir`` setting.
    labels
        Extra columns of the run in the ``runs`` view, e.g. ``{"scenario": "baseline",
        "replication": 3, "demand.scale": 1.2}`` (:func:`~scenarios.catalog.entries.check_labels`).

    Returns
    -------
    The run's entry, with its ``run_id``.

    Raises
    ------
    RunFolderError
        The folder is not a complete run folder.
    LabelError
        A label cannot be a column.
    CatalogError
        The registration cannot be written under ``root``.
    """
    labels = check_labels(labels)
    run_dir = Path(run_dir).expanduser().resolve()
    folder = read_run_folder(run_dir)
    root = catalog_root(root)
    stored = _stored_path(root, run_dir)
    run_id = make_run_id(folder.sha256, stored)
    target = root / CATALOG_FOLDER / f"{run_id}.json"
    registered = _now()
    previous = None
    with contextlib.suppress(CatalogError):  # an unreadable registration is rewritten
        previous = _read_registration(target) if target.exists() else None
    if previous is not None:
        if (previous["manifest_sha256"], previous["path"]) != (folder.sha256, stored):
            raise CatalogError(
                f"run id {run_id} of {run_dir} is already taken by another run (registration "
                f"{target}); this is a hash clash, so report it; meanwhile register the run "
                "under another results root"
            )
        registered = previous["registered"]
    record = {
        "format": FORMAT,
        "run_id": run_id,
        "path": stored,
        "manifest_sha256": folder.sha256,
        "registered": registered,
        "labels": labels,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise CatalogError(
            f"cannot write the registration of {run_dir} under {root} ({exc}); the run folder "
            "is intact: give a results root you can write to (--root, TWIN_RUNS_DIR) and "
            f"register it with `twin runs --add {run_dir}`"
        ) from None
    return RunEntry.from_folder(folder, run_id=run_id, labels=labels, registered=registered)


def run_id_of(run_dir: str | Path, *, root: str | Path | None = None) -> str:
    """The id the run folder ``run_dir`` has (or would have) in the catalog under ``root``.

    Raises
    ------
    RunFolderError
        ``run_dir`` has no readable ``manifest.json``.
    """
    run_dir = Path(run_dir).expanduser().resolve()
    try:
        sha = hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()
    except OSError as exc:
        raise RunFolderError(f"{run_dir}: cannot read manifest.json ({exc})") from None
    return make_run_id(sha, _stored_path(catalog_root(root), run_dir))


def scan(root: str | Path | None = None) -> Scan:
    """Read every registration under ``root`` and check each run folder.

    A registration whose folder was deleted, is incomplete, or now holds a run that is not
    registered is skipped and reported in :attr:`Scan.problems`, never raised.
    """
    root = check_catalog_root(root)
    registrations = root / CATALOG_FOLDER
    problems: list[Problem] = []
    by_path: dict[Path, list[tuple[Path, dict[str, Any]]]] = {}
    files = sorted(registrations.glob("*.json")) if registrations.is_dir() else []
    for file in files:
        if file.name.startswith("."):
            continue  # a registration being written
        try:
            record = _read_registration(file)
        except CatalogError as exc:
            problems.append(Problem("", file, str(exc)))
            continue
        by_path.setdefault(_resolve(root, record["path"]), []).append((file, record))
    entries: list[RunEntry] = []
    superseded: list[Path] = []
    for path, records in by_path.items():
        try:
            folder = read_run_folder(path)
            entry = RunEntry.from_folder(folder)
        except RunFolderError as exc:
            gone = not path.exists()
            for file, record in records:
                what = f"its folder {path} no longer exists" if gone else str(exc)
                problems.append(Problem(record["run_id"], file, _skipped(record["run_id"], what)))
            continue
        full_hash = folder.sha256
        current = [(f, r) for f, r in records if r["manifest_sha256"] == full_hash]
        for file, record in records:
            if record["manifest_sha256"] == full_hash:
                continue
            if current:
                superseded.append(file)
            else:
                what = (
                    f"{path} now holds another run (created {folder.manifest['created']}), "
                    "not registered; "
                    f"`twin runs --add {path}` registers it"
                )
                problems.append(Problem(record["run_id"], file, _skipped(record["run_id"], what)))
        for _, record in current:
            entries.append(
                replace(
                    entry,
                    run_id=record["run_id"],
                    labels=dict(record["labels"]),
                    registered=record["registered"],
                )
            )
    entries.sort(key=lambda e: (e.created, e.run_id))
    return Scan(root, tuple(entries), tuple(problems), tuple(superseded))


def list_runs(
    root: str | Path | None = None, *, kpis: Sequence[str] = (), scanned: Scan | None = None
) -> pd.DataFrame:
    """The registered runs, one row each, oldest first.

    Columns: ``run_id``, ``path``, ``digest``, ``seed``, ``created`` (UTC), ``wall_s``
    (seconds), ``city``, ``window`` (``"HH:MM-HH:MM"``), ``start_s``, ``end_s`` (seconds after
    midnight), ``registered`` (UTC), then one column per label (text, whole numbers,
    numbers or booleans; null where a run has no such label), then one column per KPI
    asked for in ``kpis`` (read from each run's ``kpis.json``; null when not reported).

    Registrations that :func:`scan` reports as problems are skipped, with a warning logged.

    Parameters
    ----------
    root
        The results root; ``None`` for the ``runs_dir`` setting.
    kpis
        Names of KPIs (:data:`sim.kpis.REGISTRY`) to add as columns.
    scanned
        A :func:`scan` already made (so a caller that reports the problems reads once).
    """
    found = scanned if scanned is not None else scan(root)
    if scanned is None:
        for problem in found.problems:
            log.warning("%s", problem.message)
    return runs_frame(found.entries, kpis=kpis)


def runs_frame(entries: Sequence[RunEntry], *, kpis: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of :func:`list_runs` for ``entries``."""
    from sim.kpis import kpi as registered_kpi

    for name in kpis:
        try:
            registered_kpi(name)
        except KeyError as exc:
            raise UnknownKPIError(
                f"{exc.args[0]}; sim.kpis.REGISTRY lists the KPIs (a breakdown's entry is "
                "name.key, e.g. co2_kg_by_class.car)"
            ) from None
    base: dict[str, Any] = {
        "run_id": pd.Series([e.run_id for e in entries], dtype="string"),
        "path": pd.Series([str(e.path) for e in entries], dtype="string"),
        "digest": pd.Series([e.digest for e in entries], dtype="string"),
        "seed": pd.Series([e.seed for e in entries], dtype="int64"),
        "created": _utc([e.created for e in entries]),
        "wall_s": pd.Series([e.wall_s for e in entries], dtype="Float64"),
        "city": pd.Series([e.city for e in entries], dtype="string"),
        "window": pd.Series([e.window for e in entries], dtype="string"),
        "start_s": pd.Series([e.start_s for e in entries], dtype="float64"),
        "end_s": pd.Series([e.end_s for e in entries], dtype="float64"),
        "registered": _utc([e.registered for e in entries]),
    }
    names: list[str] = []
    for entry in entries:
        names.extend(n for n in entry.labels if n not in names)
    for name in names:
        base[name] = _label_column([e.labels.get(name) for e in entries])
    if kpis:
        recorded = [_read_kpis(e) for e in entries]
        for name in kpis:
            values = [_kpi_value(k, name) for k in recorded]
            base[name] = pd.Series(values, dtype="Float64")
    return pd.DataFrame(base)


def forget_runs(run_ids: Iterable[str], *, root: str | Path | None = None) -> list[str]:
    """Remove the registrations of ``run_ids`` (their run folders are left alone).

    Returns
    -------
    The ids forgotten.

    Raises
    ------
    CatalogError
        An id that is not registered.
    """
    folder = catalog_root(root) / CATALOG_FOLDER
    run_ids = list(run_ids)
    unknown = [r for r in run_ids if not (folder / f"{r}.json").is_file()]
    if unknown:
        raise CatalogError(
            f"no runs {unknown} registered under {folder.parent}; `twin runs` lists the ids"
        )
    for run_id in run_ids:
        with contextlib.suppress(FileNotFoundError):
            (folder / f"{run_id}.json").unlink()
    return run_ids


def prune(root: str | Path | None = None) -> list[Problem]:
    """Remove every registration :func:`scan` skips: folders gone, incomplete or replaced,
    unreadable registration files, and superseded registrations.

    Returns
    -------
    The problems whose registrations were removed (superseded ones are not listed).
    """
    found = scan(root)
    for path in [p.registration for p in found.problems] + list(found.superseded):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return list(found.problems)


# -- registration files ------------------------------------------------------------------------
def _read_registration(file: Path) -> dict[str, Any]:
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(
            f"{file} is not a readable registration ({exc}); `twin runs --prune` removes it"
        ) from None
    keys = ("run_id", "path", "manifest_sha256", "registered", "labels")
    if (
        not isinstance(record, dict)
        or record.get("format") != FORMAT
        or any(k not in record for k in keys)
        or not isinstance(record["labels"], dict)
    ):
        raise CatalogError(
            f"{file} is not a registration of format {FORMAT}; `twin runs --prune` removes it"
        )
    return record


def _write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to a hidden sibling of ``target``, flush it to disk, rename it over
    ``target``, then flush the folder (so the rename itself survives a power cut)."""
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _stored_path(root: Path, run_dir: Path) -> str:
    """``run_dir`` relative to ``root`` when it lies under it, else absolute."""
    try:
        return run_dir.relative_to(root).as_posix()
    except ValueError:
        return str(run_dir)


def _resolve(root: Path, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else root / path


def _skipped(run_id: str, what: str) -> str:
    return f"run {run_id} skipped: {what} (`twin runs --prune` forgets it)"


# -- columns -----------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utc(values: Sequence[str]) -> pd.Series:
    """ISO 8601 times → naive UTC timestamps (empty or unreadable → NaT)."""
    stamps = pd.to_datetime(pd.Series(list(values), dtype="object"), utc=True, errors="coerce")
    return stamps.dt.tz_localize(None)


def _label_column(values: list[Any]) -> pd.Series:
    """One label's values over the runs, in the narrowest type that holds them all."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="boolean")
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="Int64")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pd.Series([None if v is None else float(v) for v in values], dtype="Float64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="string")


def _read_kpis(entry: RunEntry) -> dict[str, Any]:
    try:
        kpis = json.loads((entry.path / "kpis.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("run %s: %s cannot be read", entry.run_id, entry.path / "kpis.json")
        return {}
    return kpis if isinstance(kpis, dict) else {}


def _kpi_value(kpis: dict[str, Any], name: str) -> float | None:
    """A KPI's value (``name.key`` for an entry of a breakdown); ``None`` when not a number."""
    value: Any = kpis
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
