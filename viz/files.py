"""Writing outputs atomically: a temporary file in the same folder, then a rename, so a
reader never sees half a file and a failed write leaves the old one in place.

Every file ``twin render`` and ``twin report`` write carries the mark of its command
(:func:`mark`: a PNG's ``Software`` text, a GIF's comment, an MP4's ``comment`` tag, an HTML
page's ``generator`` meta), so that an earlier output of the command is recognised and may
be replaced (:func:`written_by`), and a file of anyone else's never is."""

from __future__ import annotations

import mmap
import re
from pathlib import Path

from twin.atomic import atomic_path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "mark",
    "mark_html",
    "written_by",
]

#: The page's head, where an HTML page's mark goes.
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def mark(command: str) -> str:
    """The mark of a file written by ``twin COMMAND`` (ASCII: every format keeps it as plain
    bytes)."""
    return f"Hue Twin: twin {command}"


def mark_html(page: str, command: str) -> str:
    """``page`` with the mark of ``command`` as its ``generator`` meta (first in the head)."""
    head = _HEAD.search(page)
    at = head.end() if head else 0
    return f'{page[:at]}<meta name="generator" content="{mark(command)}">{page[at:]}'


def written_by(path: str | Path, command: str) -> bool:
    """Whether ``path`` is a file written by ``twin COMMAND`` (it holds :func:`mark`): an
    earlier output the command may replace."""
    try:
        with Path(path).open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(mark(command).encode("ascii")) >= 0
    except (OSError, ValueError):  # unreadable, or empty (nothing to map)
        return False


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
