"""One run of the catalog: its id, what its manifest says, its labels.

A run folder is what :func:`sim.outputs.write_run` writes. The catalog trusts a folder only
when it is complete: a ``manifest.json`` of a run, and every file the manifest lists present
with the size the manifest records.

A run's id (:func:`make_run_id`) is fixed by its ``manifest.json`` and by where the folder
lies (relative to the results root when it lies under it, so a root moved as a whole keeps
its ids): the same each time a folder is registered, and different for any other folder.
A copy of a folder elsewhere is a run of its own (a comparison may write one result under
two scenarios' names), and a folder written again (``--force``) holds a new run, since every
manifest records its own creation time.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.catalog.errors import LabelError, RunFolderError
from sim.kpis import REGISTRY
from sim.records import TABLES
from twin.clock import format_clock, parse_clock

__all__ = [
    "BASE_COLUMNS",
    "ID_LENGTH",
    "RunEntry",
    "RunFolder",
    "check_labels",
    "make_run_id",
    "read_run_folder",
]

#: Hex digits of a run id (48 bits: a clash is unlikely below millions of runs, and a
#: clash that does happen is detected, since a registration records the full hash).
ID_LENGTH = 12
#: Columns of the ``runs`` view that every run has; a label may not take these names.
BASE_COLUMNS = (
    "run_id",
    "path",
    "digest",
    "seed",
    "created",
    "wall_s",
    "city",
    "window",
    "start_s",
    "end_s",
    "registered",
)
#: A label name: a letter or ``_``, then letters, digits, ``_`` or ``.`` (``demand.scale``).
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_RUN_FORMAT = "hue-twin-run/"


def make_run_id(manifest_sha256: str, stored_path: str) -> str:
    """The run id of the folder at ``stored_path`` (as its registration records it: relative
    to the results root, or absolute) whose ``manifest.json`` has this SHA-256: the first
    :data:`ID_LENGTH` hex digits of the SHA-256 of the two."""
    text = f"{manifest_sha256}\n{stored_path}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_LENGTH]


@dataclass(frozen=True)
class RunFolder:
    """A complete run folder, read.

    Attributes
    ----------
    path
        The folder.
    manifest
        Its ``manifest.json``.
    sha256
        The SHA-256 (hex) of ``manifest.json``'s bytes.
    """

    path: Path
    manifest: dict[str, Any]
    sha256: str


def read_run_folder(run_dir: str | Path) -> RunFolder:
    """A complete run folder, read.

    Complete means: ``manifest.json`` is a run manifest (format ``hue-twin-run/…`` with a
    digest, a creation time, a specification and a list of files), it lists ``kpis.json``
    and ``kpis.parquet``, and every file it lists is there with the size it records.

    Raises
    ------
    RunFolderError
        The folder is missing, or is not a complete run folder; the message names what is
        missing.
    """
    run_dir = Path(run_dir)
    path = run_dir / "manifest.json"
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir} is not a folder; give a run folder (twin run -o RUN_DIR)")
    if not path.is_file():
        raise RunFolderError(
            f"{run_dir} has no manifest.json, so it is not a finished run folder; register a "
            "folder written by `twin run -o RUN_DIR` once the run has finished"
        )
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{path} cannot be read as JSON ({exc}); run again") from None
    if not isinstance(manifest, dict) or not str(manifest.get("format", "")).startswith(
        _RUN_FORMAT
    ):
        raise RunFolderError(f"{path} is not a run manifest (no format {_RUN_FORMAT}…)")
    missing_keys = [k for k in ("digest", "spec", "files", "created") if k not in manifest]
    if missing_keys or not isinstance(manifest.get("files"), dict):
        raise RunFolderError(
            f"{path} lacks {missing_keys or ['files']}; it was written by another version, "
            "so re-run it (twin rerun) to get a folder the catalog can read"
        )
    files = manifest["files"]
    for needed in ("kpis.json", "kpis.parquet"):
        if needed not in files:
            raise RunFolderError(f"{path} lists no {needed}; re-run it (twin rerun RUN_DIR -o NEW)")
    for name, info in files.items():
        file = run_dir / name
        try:
            size = file.stat().st_size
        except OSError:
            raise RunFolderError(
                f"{run_dir}: {name} is listed in manifest.json but missing; the folder is "
                "incomplete, so re-run it (twin rerun RUN_DIR -o NEW_DIR)"
            ) from None
        recorded = info.get("bytes") if isinstance(info, dict) else None
        if recorded is not None and size != recorded:
            raise RunFolderError(
                f"{run_dir}: {name} has {size} bytes, manifest.json says {recorded}; the "
                "file was changed or cut short, so re-run it"
            )
    return RunFolder(run_dir, manifest, hashlib.sha256(data).hexdigest())


def check_labels(labels: Mapping[str, Any] | None) -> dict[str, Any]:
    """Labels as plain JSON scalars, checked.

    A label is an extra column of the ``runs`` view: a name such as ``scenario``,
    ``replication`` or ``demand.scale`` (a letter or ``_``, then letters, digits, ``_`` or
    ``.``; neither a column every run has nor a KPI's name) and a value that is text, a
    number, a boolean or ``None``.

    Raises
    ------
    LabelError
        A name or a value that cannot be a column.
    """
    out: dict[str, Any] = {}
    taken = {name.lower() for name in (*BASE_COLUMNS, *REGISTRY)}
    for name, value in (labels or {}).items():
        if not isinstance(name, str) or not _LABEL_NAME.match(name):
            raise LabelError(
                f"label name {name!r} cannot be a column; use letters, digits, '_' and '.', "
                "starting with a letter (e.g. 'scenario', 'demand.scale')"
            )
        if name.lower() in taken:
            raise LabelError(
                f"label {name!r} would hide the runs column or KPI of that name; rename it "
                f"(e.g. 'label_{name}')"
            )
        if hasattr(value, "item") and not isinstance(value, str | bytes):
            value = value.item()  # numpy scalars
        if isinstance(value, float) and not math.isfinite(value):
            raise LabelError(f"label {name!r} = {value!r}; give a finite number or None")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise LabelError(
                f"label {name!r} = {value!r} ({type(value).__name__}); give text, a number, "
                "a boolean or None (one value per run: a column, not a table)"
            )
        out[name] = value
    return out


@dataclass(frozen=True)
class RunEntry:
    """One registered run, as the catalog sees it.

    Attributes
    ----------
    run_id
        Its id (:func:`make_run_id`).
    path
        Its run folder (absolute).
    digest
        Its specification's digest (:attr:`sim.spec.RunSpec.digest`).
    seed
        Its specification's seed.
    created
        When it was written (ISO 8601, UTC), from its manifest.
    wall_s
        Wall-clock seconds the run took (``timers_s.total``); ``None`` when not recorded.
    city
        The city's name.
    start_s, end_s
        The simulated window, seconds after midnight.
    labels
        Extra columns given at registration (scenario, replication, varied parameters…).
    tables
        The record tables the folder holds (``trips``, ``links``, …, ``kpis``).
    registered
        When it was registered (ISO 8601, UTC).
    """

    run_id: str
    path: Path
    digest: str
    seed: int
    created: str
    wall_s: float | None
    city: str
    start_s: float
    end_s: float
    labels: dict[str, Any] = field(default_factory=dict)
    tables: tuple[str, ...] = ()
    registered: str = ""

    @property
    def window(self) -> str:
        """The window as ``"HH:MM-HH:MM"``."""
        return f"{_hhmm(self.start_s)}-{_hhmm(self.end_s)}"

    @property
    def scenario(self) -> str:
        """The ``scenario`` label, else the city and the window (``"Huế 06:00-10:00"``)."""
        label = self.labels.get("scenario")
        return str(label) if label not in (None, "") else f"{self.city} {self.window}"

    @classmethod
    def from_folder(
        cls,
        folder: RunFolder,
        *,
        run_id: str = "",
        labels: Mapping[str, Any] | None = None,
        registered: str = "",
    ) -> RunEntry:
        """The entry of a run folder :func:`read_run_folder` read.

        Raises
        ------
        RunFolderError
            The manifest's specification lacks a seed, a city or a window it can read.
        """
        manifest = folder.manifest
        try:
            spec = manifest["spec"]
            window = spec.get("window", {})
            wall = (manifest.get("timers_s") or {}).get("total")
            return cls(
                run_id=run_id,
                path=folder.path,
                digest=str(manifest["digest"]),
                seed=int(spec.get("seed", 0)),
                created=str(manifest["created"]),
                wall_s=None if wall is None else float(wall),
                city=str(spec.get("city", {}).get("name", "")),
                start_s=_seconds(window.get("start", 0.0)),
                end_s=_seconds(window.get("end", 86_400.0)),
                labels=dict(labels or {}),
                tables=tuple(t for t in TABLES if f"{t}.parquet" in manifest["files"]),
                registered=registered,
            )
        except RunFolderError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise RunFolderError(
                f"{folder.path / 'manifest.json'}: its specification cannot be read "
                f"({type(exc).__name__}: {exc}); re-run the run"
            ) from None


def _seconds(value: Any) -> float:
    return parse_clock(value, what="manifest.json spec window", error=RunFolderError)


def _hhmm(seconds: float) -> str:
    return format_clock(seconds)[:5]
