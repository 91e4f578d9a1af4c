"""The sites of a run as tourists meet them: hours, ticket gates, room inside, occupancy.

:class:`Sites` owns the run-time state of every site of the resolved site table
(:func:`twin.attractions.sites.resolve_attractions`): its opening hours, its ticket gate (a
``simpy.Resource`` that passes one visitor every ``1 / gate_rate`` seconds, so a party of
``k`` holds it for ``k / gate_rate``), the room inside (:class:`sim.tourists.rooms.RoomPool`)
and the visitors inside, logged at every change.

A site's *base* values come from the table. Changes made during a run (:meth:`Sites.change`:
closed, capacity, gate throughput) are kept in the order they were made; a site's effective
state is its base values with every active change applied in that order, so windows that
overlap undo correctly whatever order they end in. While a site is closed nobody enters it:
parties that arrive, that wait for room or whose turn at the gate comes are turned away;
visitors already inside finish their visit.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from sim.tourists.errors import TouristsError
from sim.tourists.rooms import RoomPool
from twin.attractions.sites import fold_accents
from twin.clock import format_clock

__all__ = ["GatePass", "SiteChange", "SiteState", "Sites"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteState:
    """What a site is like now.

    Attributes
    ----------
    closed
        Closed by a change (opening hours aside).
    capacity
        Visitors at once (``inf`` for no limit).
    gate_per_min
        Visitors per minute through the ticket gate (NaN when it has none).
    """

    closed: bool
    capacity: float
    gate_per_min: float


@dataclass(frozen=True)
class SiteChange:
    """One change made to a site; the values that are not ``None`` replace the site's.

    Attributes
    ----------
    site
        Row of the site table.
    closed, capacity, gate_per_min
        As in :class:`SiteState`.
    """

    site: int
    closed: bool | None = None
    capacity: float | None = None
    gate_per_min: float | None = None


@dataclass(frozen=True)
class GatePass:
    """A party's pass through a ticket gate, seconds after midnight.

    Attributes
    ----------
    queued
        When it joined the queue.
    served
        When its first member began the ticket check.
    rate
        Visitors per second the gate passed it at (NaN: the site has no gate).
    """

    queued: float
    served: float
    rate: float


class Sites:
    """Run-time state of the sites of one run.

    Parameters
    ----------
    env
        The run's environment (clock in seconds after midnight).
    table
        The resolved site table (columns ``site``, ``poi_id``, ``zone``, ``opens_s``,
        ``last_entry_s``, ``closes_s``, ``gate_rate`` in visitors per second, ``capacity``).

    Attributes
    ----------
    table
        The site table, as given.
    names
        Site names, by row.
    opens, last_entry, closes
        ``(n_sites,)`` opening, last entry and closing, seconds after midnight.
    """

    def __init__(self, env: simpy.Environment, table: pd.DataFrame) -> None:
        self.env = env
        self.table = table
        self.names: list[str] = [str(s) for s in table["site"]]
        self.opens = table["opens_s"].to_numpy(float)
        self.last_entry = table["last_entry_s"].to_numpy(float)
        self.closes = table["closes_s"].to_numpy(float)
        columns = (table[c].tolist() for c in ("site", "poi_id", "zone"))
        self._labels: list[tuple[str, str, int]] = list(zip(*columns, strict=True))
        n = len(table)
        self._base_capacity = table["capacity"].to_numpy(float)
        self._base_gate_rate = table["gate_rate"].to_numpy(float)
        self._gate_rate = self._base_gate_rate.copy()
        self._closed = np.zeros(n, dtype=bool)
        self._closing = [env.event() for _ in range(n)]
        self._gates = [simpy.Resource(env, capacity=1) for _ in range(n)]
        self._rooms = [RoomPool(env, c) for c in self._base_capacity]
        self._occupancy = np.zeros(n, dtype=np.int64)
        self._occupancy_log: list[tuple[float, int, int]] = []
        self._changes: dict[int, SiteChange] = {}
        self._change_ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self.names)

    # -- looking sites up ------------------------------------------------------------------
    def row(self, site: str | int) -> int:
        """The row of a site given by name (or by row, checked).

        Raises
        ------
        TouristsError
            No site has that name; the message names the closest ones.
        """
        if isinstance(site, int | np.integer) and not isinstance(site, bool):
            if 0 <= site < len(self):
                return int(site)
            raise TouristsError(
                f"site row {site} is out of range; this run has {len(self)} sites "
                f"(rows 0..{len(self) - 1}), or name the site"
            )
        if site in self.names:
            return self.names.index(site)
        raise TouristsError(
            f"site {site!r} is not among the simulated sites{self._closest(str(site))} "
            f"(sites are named as in the attraction table's site column)"
        )

    def _closest(self, name: str) -> str:
        if not self.names:
            return "; this run has no tourist sites"
        folded: dict[str, str] = {}
        for known in self.names:
            folded.setdefault(fold_accents(known), known)
        close = difflib.get_close_matches(fold_accents(name), list(folded), n=3, cutoff=0.5)
        if close:
            return f"; did you mean {[folded[c] for c in close]}?"
        if len(self) <= 12:
            return f"; the sites are {self.names}"
        return f"; there are {len(self)} sites, e.g. {self.names[:5]}"

    def label(self, s: int) -> tuple[str, str, int]:
        """Name, ``poi_id`` and zone of site ``s``, as the visit records carry them."""
        return self._labels[s]

    # -- the state now -----------------------------------------------------------------------
    def is_closed(self, s: int) -> bool:
        """Whether site ``s`` is closed by a change now (opening hours aside)."""
        return bool(self._closed[s])

    def gate_rate(self, s: int) -> float:
        """Visitors per second through site ``s``'s ticket gate now (NaN: no gate)."""
        return float(self._gate_rate[s])

    def capacity(self, s: int) -> float:
        """Visitors site ``s`` holds at once now (``inf`` for no limit)."""
        return self._rooms[s].capacity

    def state(self, site: str | int) -> SiteState:
        """The effective state of a site (by name or row)."""
        s = self.row(site)
        return SiteState(self.is_closed(s), self.capacity(s), self.gate_rate(s) * 60.0)

    def closing(self, s: int) -> simpy.Event:
        """An event that succeeds when site ``s`` is next closed by a change."""
        return self._closing[s]

    # -- changes -----------------------------------------------------------------------------
    def change(
        self,
        s: int,
        *,
        closed: bool | None = None,
        capacity: float | None = None,
        gate_per_min: float | None = None,
    ) -> int:
        """Change site ``s`` from now until the change is undone.

        Parameters
        ----------
        s
            Row of the site.
        closed
            ``True`` closes it, ``False`` opens it (against an earlier change).
        capacity
            Visitors at once (at least 1; ``inf`` for no limit).
        gate_per_min
            Visitors per minute through the ticket gate (above 0), for parties whose turn
            at the gate comes from now on.

        Returns
        -------
        The change's id, for :meth:`undo`.
        """
        where = f"change of site {self.names[s]!r}"
        if closed is None and capacity is None and gate_per_min is None:
            raise TouristsError(
                f"{where}: nothing to change; give closed, capacity or gate_per_min"
            )
        if closed is not None and not isinstance(closed, bool | np.bool_):
            raise TouristsError(f"{where}: closed is {closed!r}; expected True or False")
        if capacity is not None and not (_is_number(capacity) and capacity >= 1):
            raise TouristsError(
                f"{where}: capacity is {capacity!r}; expected the most visitors inside at once, "
                f"a number of at least 1 (math.inf for no limit)"
            )
        if gate_per_min is not None and not (
            _is_number(gate_per_min) and 0 < gate_per_min < math.inf
        ):
            raise TouristsError(
                f"{where}: gate_per_min is {gate_per_min!r}; expected visitors per minute "
                f"through the ticket gate, a finite number above 0"
            )
        change_id = next(self._change_ids)
        self._changes[change_id] = SiteChange(
            s,
            None if closed is None else bool(closed),
            None if capacity is None else float(capacity),
            None if gate_per_min is None else float(gate_per_min),
        )
        logger.info(
            "%s at %s (change %d): %s", where, format_clock(self.env.now), change_id,
            self._changes[change_id],
        )  # fmt: skip
        self._apply(s)
        return change_id

    def undo(self, change_id: int) -> None:
        """Take back a change made by :meth:`change`; the site returns to its base values
        with the changes still active applied in the order they were made."""
        if change_id not in self._changes:
            active = sorted(self._changes)
            raise TouristsError(
                f"site change {change_id!r} is not active (active changes: {active}); undo "
                f"each id that change_site returned once"
            )
        change = self._changes.pop(change_id)
        logger.info(
            "undoing change %d of site %r at %s",
            change_id, self.names[change.site], format_clock(self.env.now),
        )  # fmt: skip
        self._apply(change.site)

    def _apply(self, s: int) -> None:
        closed, capacity = False, self._base_capacity[s]
        gate_rate = self._base_gate_rate[s]
        for change in self._changes.values():
            if change.site != s:
                continue
            if change.closed is not None:
                closed = change.closed
            if change.capacity is not None:
                capacity = change.capacity
            if change.gate_per_min is not None:
                gate_rate = change.gate_per_min / 60.0
        was_closed = self._closed[s]
        self._closed[s] = closed
        self._gate_rate[s] = gate_rate
        self._rooms[s].set_capacity(capacity)
        if closed and not was_closed:
            closing, self._closing[s] = self._closing[s], self.env.event()
            closing.succeed()

    # -- room inside -------------------------------------------------------------------------
    def request_room(self, s: int, k: int) -> simpy.Event:
        """Ask for room for ``k`` visitors inside site ``s`` (first come, first served)."""
        return self._rooms[s].request(k)

    def give_up_room(self, s: int, request: simpy.Event, k: int) -> None:
        """Withdraw a request for room, or give the room back if it was granted."""
        self._rooms[s].withdraw(request, k)

    # -- the ticket gate ---------------------------------------------------------------------
    def pass_gate(self, s: int, k: int, *, turn_away_if_closed: bool = True):
        """Queue at site ``s``'s ticket gate and pass ``k`` visitors (a SimPy generator).

        Parameters
        ----------
        s
            Row of the site.
        k
            Visitors.
        turn_away_if_closed
            Leave the queue, unserved, when the site is closed at the party's turn.

        Returns
        -------
        A :class:`GatePass`, or ``None`` when the party was turned away.
        """
        env, rate = self.env, self.gate_rate(s)
        queued = env.now
        if np.isnan(rate):
            return GatePass(queued, queued, rate)
        with self._gates[s].request() as turn:
            yield turn
            if turn_away_if_closed and self.is_closed(s):
                return None
            served, rate = env.now, self.gate_rate(s)
            if np.isnan(rate):  # the gate was removed while the party queued
                return GatePass(queued, served, rate)
            yield env.timeout(k / rate)
        return GatePass(queued, served, rate)

    # -- visitors inside ---------------------------------------------------------------------
    def enter(self, s: int, k: int) -> None:
        """``k`` visitors go into site ``s``."""
        self._change_occupancy(s, +k)

    def leave(self, s: int, k: int) -> None:
        """``k`` visitors leave site ``s`` and give back their room."""
        self._change_occupancy(s, -k)
        self._rooms[s].release(k)

    def _change_occupancy(self, s: int, k: int) -> None:
        self._occupancy[s] += k
        self._occupancy_log.append((self.env.now, s, int(self._occupancy[s])))

    def occupancy(self, s: int) -> int:
        """Visitors inside site ``s`` now."""
        return int(self._occupancy[s])

    def occupancy_table(self) -> pd.DataFrame:
        """Visitors inside each site after every change: ``time`` (seconds after midnight),
        ``site``, ``occupancy``."""
        log = np.array(self._occupancy_log, dtype=float).reshape(-1, 3)
        return pd.DataFrame(
            {
                "time": log[:, 0],
                "site": self.table["site"].to_numpy()[log[:, 1].astype(int)],
                "occupancy": log[:, 2].astype(int),
            }
        )


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and not math.isnan(value)
    )
