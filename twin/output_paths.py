"""Output paths: checked before the work, replaced only when nothing is lost.

Every command that writes checks its outputs before it starts, so a user learns about a
clash at once rather than after the work (:func:`check_output_file`,
:func:`check_output_folder`):

- an output is never one of the command's inputs, nor a folder that holds one;
- an existing output is replaced only when it is an earlier output of the same kind (a
  bundle, a run folder, a GMNS export, a zone table), a folder only with ``force``; a
  folder holding anything else is refused, ``force`` or not;
- the folder it goes in must be writable, which is tried by creating a temporary file there
  (permission bits say little to root or on a read-only mount).

The output is then written beside its place and renamed into it once complete
(:func:`staging_folder` and :func:`replace_folder` for folders), so a failed or interrupted
command leaves the earlier output as it was, never half of a new one.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from twin.errors import OutputError

__all__ = [
    "check_output_file",
    "check_output_folder",
    "check_writable",
    "replace_folder",
    "staging_folder",
]

#: ``{description: path}`` of a command's inputs (``None`` paths are skipped).
Inputs = Mapping[str, "str | Path | None"]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def _inside(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` lies in the folder ``outer`` (at any depth), links resolved."""
    return outer.resolve() in inner.resolve().parents


def _refuse_inputs(output: Path, inputs: Inputs, *, option: str, within: bool) -> None:
    for label, given in inputs.items():
        if given is None or str(given) == "":
            continue
        path = Path(given)
        if _same(output, path):
            raise OutputError(
                f"{option} {output} is {label}, an input of this command; it is never "
                "overwritten: write the output to another path"
            )
        if _inside(path, output):
            raise OutputError(
                f"{option} {output} holds {label} ({path}), an input of this command; choose "
                "a new folder for the output"
            )
        if within and _inside(output, path):
            raise OutputError(
                f"{option} {output} lies inside {label} ({path}), an input of this command; "
                "choose a folder outside it"
            )


def check_writable(path: str | Path, *, option: str = "output") -> None:
    """Refuse ``path`` when it cannot be created: its nearest existing ancestor must be a
    folder in which a file can be created.

    Raises
    ------
    OutputError
        An ancestor is a file, or the folder is read-only (permissions or mount).
    """
    path = Path(path).resolve()
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(
            f"cannot write {option} {path}: {probe} is a file, not a folder; give a path in "
            "a folder"
        )
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise OutputError(
            f"cannot write {option} {path}: {probe} is not writable ({exc.strerror or exc}); "
            "choose a folder you can write to"
        ) from None


def check_output_file(
    path: str | Path,
    *,
    what: str,
    replaceable: Callable[[Path], bool] | None = None,
    inputs: Inputs | None = None,
    option: str = "output",
    within_inputs: bool = False,
) -> Path:
    """Check, before the work, that a file output may be written at ``path``.

    Parameters
    ----------
    path
        The file to write.
    what
        What the file is, for messages (``"a city bundle"``).
    replaceable
        Whether an existing file at ``path`` is an earlier output of the same kind, which
        may be replaced; ``None``: no existing file may be.
    inputs
        The command's inputs by description; ``path`` may be none of them.
    option
        The option that named ``path``, for messages (``"-o"``).
    within_inputs
        Also refuse a ``path`` inside an input folder (an input run folder).

    Raises
    ------
    OutputError
        ``path`` is a folder, an input, a file that is not ``what``, or not writable.
    """
    path = Path(path)
    _refuse_inputs(path, inputs or {}, option=option, within=within_inputs)
    if path.is_dir():
        raise OutputError(
            f"{option} {path} is a folder; give the path of {what} to write (a file name)"
        )
    if path.exists() and (replaceable is None or not replaceable(path)):
        kept = "is not replaced" if replaceable is None else f"is not {what}, so it is kept"
        raise OutputError(
            f"{option} {path} already exists and {kept}; choose another path, or move the "
            "file away first"
        )
    check_writable(path, option=option)
    return path


def check_output_folder(
    path: str | Path,
    *,
    what: str,
    earlier: Callable[[Path], bool],
    force: bool = False,
    inputs: Inputs | None = None,
    option: str = "output",
    within_inputs: bool = False,
) -> Path:
    """Check, before the work, that a folder output may be written at ``path``.

    An empty folder is used; a folder holding an earlier output of the same kind
    (``earlier``) is replaced with ``force``; any other folder is refused.

    Parameters
    ----------
    path
        The folder to write.
    what
        What the folder is, for messages (``"GMNS export"``).
    earlier
        Whether a non-empty folder holds an earlier output of this kind and nothing else.
    force
        Replace an earlier output.
    inputs
        The command's inputs by description: ``path`` may not be one, nor hold one.
    option
        The option that named ``path``, for messages (``--gmns``).
    within_inputs
        Also refuse a ``path`` inside an input folder (an input run folder).

    Raises
    ------
    OutputError
        See above; also when ``path`` is a file, the current folder (or holds it), or
        cannot be written.
    """
    path = Path(path)
    _refuse_inputs(path, inputs or {}, option=option, within=within_inputs)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path} is a file; give a folder for the {what}")
    if path.is_dir():
        here = Path.cwd()
        if _same(path, here) or _inside(here, path):
            raise OutputError(
                f"{option} {path} is the folder you are in (or holds it); the {what} goes in "
                "a folder of its own: give a new folder, such as a subfolder"
            )
        if any(path.iterdir()):
            if not force:
                raise OutputError(
                    f"{option} {path} already exists and is not empty; choose another folder, "
                    f"or pass --force to replace an earlier {what} written there"
                )
            if not earlier(path):
                raise OutputError(
                    f"{option} {path} holds something other than an earlier {what} as twin "
                    f"wrote it; --force replaces only an earlier {what}, never other files, "
                    "so choose another folder"
                )
    check_writable(path / "probe", option=option)
    return path


def staging_folder(target: str | Path) -> Path:
    """A new hidden folder beside ``target`` to write it in (usual permissions)."""
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def replace_folder(staging: Path, target: Path) -> None:
    """Rename the complete ``staging`` folder to ``target``; an existing ``target`` is moved
    aside first and deleted only once the new one is in place (put back on failure)."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
        target.replace(old)
    try:
        staging.replace(target)
    except BaseException:
        if old is not None:
            old.replace(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
