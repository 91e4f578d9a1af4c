"""A sweep's folder: its run folders, its own run catalog, what is done, what is left.

Layout of ``DIR``
-----------------
``runs/<variant>/r<i>/``
    One ordinary run folder per task (:func:`sim.outputs.write_run`: built in a hidden
    temporary folder and renamed into place, so a folder is there whole or not at all).
``.catalog/``
    The run catalog of the sweep: ``DIR`` is its results root (:mod:`scenarios.catalog`),
    each run registered with the labels ``sweep``, ``variant``, ``replication`` and one per
    varied parameter (``twin query --root DIR "SELECT * FROM runs"``). Given another
    results root (``root``, e.g. the ``runs_dir`` setting), the runs are registered there
    instead, beside other studies' runs, and ``DIR`` has no catalog of its own.
``summary.parquet``, ``sensitivity.parquet``, ``sweep.json``
    The summary over the runs (:mod:`scenarios.sweep.summary`) and what was swept,
    written at the end (``sweep.json`` last).
``.hue-twin-sweep``
    Marks the folder as a sweep's: its name and variants, written first.

Resuming
--------
A task is done when its run folder is registered with its specification's digest, or holds
a complete run of that digest that a killed client wrote but did not register yet (it is
registered then). Everything else runs again; a folder holding a run of another digest
(the base scenario or the city changed) is replaced. Only one client works in a folder at
a time (an advisory lock, released by the system when the client dies).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.atomic_files import write_parquet, write_text
from scenarios.catalog import forget_runs, prune, register_run, scan
from scenarios.catalog.entries import read_run_folder
from scenarios.catalog.errors import RunFolderError
from scenarios.sweep.design import Variant
from scenarios.sweep.errors import SweepError
from scenarios.sweep.file import Sweep
from scenarios.sweep.tasks import Task
from sim.outputs import write_run
from sim.result import RunResult
from twin.errors import OutputError
from twin.output_paths import check_writable

__all__ = ["MARKER", "RESULT_FILES", "SweepFolder"]

#: The file that marks a folder as a sweep's (written first).
MARKER = ".hue-twin-sweep"
#: The lock file a client holds while it works in the folder.
LOCK = ".hue-twin-sweep.lock"
#: The catalog's folder of registrations under a results root.
CATALOG_FOLDER = ".catalog"
#: What a sweep writes at its end, besides the run folders.
RESULT_FILES = ("summary.parquet", "sensitivity.parquet", "sweep.json")


@dataclass(frozen=True)
class Resume:
    """What an earlier, interrupted or finished, run of the sweep left.

    Attributes
    ----------
    done
        Tasks whose run is in the folder and the catalog.
    todo
        Tasks to run.
    registered
        Of the done tasks, those whose folder was complete but not yet registered.
    """

    done: tuple[Task, ...]
    todo: tuple[Task, ...]
    registered: int = 0


class SweepFolder:
    """The folder of one sweep, locked while open (use as a context manager).

    Parameters
    ----------
    folder
        ``DIR``: new, empty, or an earlier run of the same sweep (resumed).
    sweep
        The sweep.
    variants
        Its variants.
    force
        Replace an earlier sweep in ``folder`` (what it wrote there, and only that).
    root
        The results root the runs are registered in (default: ``folder`` itself).

    Raises
    ------
    SweepError
        ``folder`` is a file, holds files that are not a sweep's, holds another sweep
        (without ``force``), or another client is working in it.
    """

    def __init__(
        self,
        folder: str | Path,
        sweep: Sweep,
        variants: list[Variant],
        *,
        force: bool = False,
        root: str | Path | None = None,
    ) -> None:
        self.path = Path(folder).expanduser().resolve()
        self.root = self.path if root is None else Path(root).expanduser().resolve()
        self.sweep = sweep
        self.marker = {
            "format": "hue-twin-sweep/1",
            "sweep": sweep.name,
            "variants": {v.id: v.values for v in variants},
        }
        self.force = force
        self._lock_fd: int | None = None

    # -- opening ---------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a folder the sweep may not use (see the class), without changing it."""
        folder = self.path
        if folder.exists() and not folder.is_dir():
            raise SweepError(f"{folder} is a file; give a folder for the sweep")
        try:
            check_writable(folder / "runs", option="-o")
            if self.root != folder:
                check_writable(self.root / CATALOG_FOLDER, option="--root")
        except OutputError as exc:
            raise SweepError(str(exc)) from None
        if not folder.is_dir() or not any(p.name != LOCK for p in folder.iterdir()):
            return
        marker = folder / MARKER
        if not marker.is_file():
            raise SweepError(
                f"{folder} holds files that are not a sweep's; choose another folder for it"
            )
        try:
            earlier = json.loads(marker.read_text(encoding="utf-8"))
            name, variants = earlier["sweep"], earlier["variants"]
        except (OSError, ValueError, KeyError, TypeError):
            raise SweepError(f"{marker} is damaged; choose another folder") from None
        if self.force:
            return
        if name != self.sweep.name:
            raise SweepError(
                f"{folder} holds the sweep {name!r}, not {self.sweep.name!r}; choose another "
                "folder, or pass --force to replace it"
            )
        mine = json.loads(json.dumps(self.marker["variants"]))
        if variants != mine:
            changed = sorted(k for k in set(variants) | set(mine) if variants.get(k) != mine.get(k))
            raise SweepError(
                f"{folder} holds the sweep {name!r} with other variants ({', '.join(changed[:5])}"
                f"{' …' if len(changed) > 5 else ''} differ: its levels or design changed); "
                "choose another folder, or pass --force to replace it"
            )

    def __enter__(self) -> SweepFolder:
        self.check()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self.check()  # again, now that no other client can change it
            if self.force and (self.path / MARKER).is_file():
                for name in RESULT_FILES:
                    (self.path / name).unlink(missing_ok=True)
                self._forget_all()
                shutil.rmtree(self.path / "runs", ignore_errors=True)
            self._remove_leftovers()
            write_text(self.path / MARKER, json.dumps(self.marker, ensure_ascii=False))
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._unlock()

    def _forget_all(self) -> None:
        """Forget every registration of a run of this folder."""
        shutil.rmtree(self.path / CATALOG_FOLDER, ignore_errors=True)
        if self.root != self.path:
            mine = [e.run_id for e in scan(self.root).entries if self._holds(e.path)]
            forget_runs(mine, root=self.root)

    def _holds(self, path: Path) -> bool:
        return path.is_relative_to(self.path / "runs")

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SweepError(
                f"another client is running a sweep in {self.path}; wait for it to finish, or "
                "stop it (a stopped sweep resumes where it was)"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = None

    def _remove_leftovers(self) -> None:
        """Remove the hidden temporary folders of run folders a killed client was writing."""
        runs = self.path / "runs"
        if not runs.is_dir():
            return
        for variant in runs.iterdir():
            if not variant.is_dir():
                continue
            for item in variant.iterdir():
                if item.name.startswith(".") and (".tmp-" in item.name or ".old-" in item.name):
                    shutil.rmtree(item, ignore_errors=True)

    # -- what is done ----------------------------------------------------------------------
    def resume(self, tasks: list[Task]) -> Resume:
        """Split ``tasks`` into done and to do (registering complete, unregistered runs)."""
        registered = {entry.path: entry.digest for entry in scan(self.root).entries}
        done, todo = [], []
        adopted = 0
        for task in tasks:
            folder = self.path / task.folder
            if registered.get(folder) == task.spec.digest:
                done.append(task)
                continue
            try:
                found = read_run_folder(folder)
            except RunFolderError:
                todo.append(task)
                continue
            if found.manifest.get("digest") == task.spec.digest:
                register_run(folder, root=self.root, labels=task.labels(self.sweep))
                adopted += 1
                done.append(task)
            else:
                todo.append(task)
        return Resume(tuple(done), tuple(todo), adopted)

    # -- writing ---------------------------------------------------------------------------
    def write(self, task: Task, result: RunResult) -> Path:
        """Write a task's run folder (atomically) and register it in the sweep's catalog."""
        folder = write_run(result, self.path / task.folder, force=True)
        register_run(folder, root=self.root, labels=task.labels(self.sweep))
        return folder

    def kpis(self, task: Task) -> dict[str, Any]:
        """A finished task's ``kpis.json``."""
        return json.loads((self.path / task.folder / "kpis.json").read_text(encoding="utf-8"))

    def tidy(self) -> None:
        """Forget the registrations of this folder's runs that were replaced or removed
        (in the sweep's own catalog: every such registration)."""
        if self.root == self.path:
            prune(self.root)
            return
        found = scan(self.root)
        for registration in [*found.superseded, *(p.registration for p in found.problems)]:
            try:
                stored = Path(json.loads(registration.read_text(encoding="utf-8"))["path"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not this sweep's to judge
            if self._holds(stored if stored.is_absolute() else self.root / stored):
                registration.unlink(missing_ok=True)

    def write_table(self, name: str, table: pd.DataFrame) -> Path:
        """Write a result table as Parquet, atomically."""
        path = self.path / name
        write_parquet(path, table)
        return path

    def write_json(self, name: str, data: Any) -> Path:
        """Write a JSON file, atomically."""
        path = self.path / name
        write_text(path, json.dumps(data, ensure_ascii=False, indent=2))
        return path
