"""Find a road of a network by its name or its OSM way id.

Planners name roads the way they know them: ``"Cầu Trường Tiền"``, ``"Lê Lợi"`` or an OSM
way id (``174759688`` or ``"way/174759688"``). :func:`find_road` turns that into the
drive edges that carry it, for closures now and scenarios later. Names match whole,
ignoring case; a name that only matches without its diacritics, or nearly, is refused
with the names it might have meant.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

import numpy as np

from twin.errors import RoadNotFoundError
from twin.network import Network

_WAY_ID = re.compile(r"^(?:way/)?(\d+)$")


def _fold(text: str) -> str:
    """Lower case, NFC, for matching a name as written."""
    return unicodedata.normalize("NFC", text).casefold().strip()


def _plain(text: str) -> str:
    """Lower case without diacritics (``"Cầu Trường Tiền"`` → ``"cau truong tien"``)."""
    decomposed = unicodedata.normalize("NFD", _fold(text).replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def find_road(network: Network, road: str | int) -> np.ndarray:
    """Positions of the edges that carry ``road``.

    Parameters
    ----------
    network
        The network to look in (usually ``city.drive``).
    road
        An OSM way id (``int``, ``"174759688"`` or ``"way/174759688"``) or a street name
        as in OSM (case does not matter, diacritics do).

    Returns
    -------
    ``int64`` edge positions, sorted; never empty.

    Raises
    ------
    RoadNotFoundError
        No edge carries that way id or name; the message suggests close names.
    """
    text = str(road).strip()
    if not text:
        raise RoadNotFoundError(
            f"road {road!r} is empty: it would match every unnamed road. Name a road as in "
            "OpenStreetMap ('Cầu Trường Tiền') or give its OSM way id (e.g. way/174759688); "
            "check that a shell variable in the command is set"
        )
    way = _WAY_ID.match(text)
    if way:
        edges = np.flatnonzero(network.osm_way == int(way.group(1)))
        if len(edges) == 0:
            raise RoadNotFoundError(
                f"road {text!r}: no edge of the network comes from OSM way {way.group(1)}; "
                "check the id on openstreetmap.org, or name the road instead"
            )
        return edges
    names = np.asarray(network.name, dtype=object)
    folded = np.array([_fold(str(n)) for n in names], dtype=object)
    edges = np.flatnonzero(folded == _fold(text))
    if len(edges):
        return edges
    raise RoadNotFoundError(f"road {text!r} not found{_suggestion(text, names)}")


def _suggestion(text: str, names: np.ndarray) -> str:
    known = sorted({str(n) for n in names if n})
    by_plain: dict[str, list[str]] = {}
    for name in known:
        by_plain.setdefault(_plain(name), []).append(name)
    close = by_plain.get(_plain(text)) or [
        name
        for key in difflib.get_close_matches(_plain(text), list(by_plain), n=3, cutoff=0.75)
        for name in by_plain[key]
    ]
    hint = " (roads are matched by OSM name, with its diacritics, or by OSM way id)"
    if close:
        return "; did you mean " + " or ".join(f"{c!r}" for c in close[:3]) + "?" + hint
    return hint
