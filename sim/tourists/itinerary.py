"""A tourist party's day plan: which wished-for sites, in which order, at what times.

Two parts:

- :class:`PlaceTimes` holds what a tourist knows of distances before setting out: walk-network
  metres and free-flow driving seconds between every lodging and every site, computed once
  per run with ``kernels.cost_matrix`` (one search per site on the forward and on the
  reversed network; walking searches stop at the walking threshold).
- :func:`plan_itinerary` orders a wish list greedily: from where the party is, the next
  site is the feasible one it would finish earliest (arrival, any wait for opening, the
  visit), so near sites come first and evening sites last; a site is feasible when the
  party can enter before last entry, finish before closing and still get back to its
  lodging by ``return_by``. Sites that no longer fit are dropped from the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import kernels
from twin.network import Network


@dataclass(frozen=True)
class PlannedStop:
    """One site in a plan; times are estimates, seconds after midnight.

    Attributes
    ----------
    site
        Row of the site table.
    depart
        When to leave the previous place (later than possible when the site opens later).
    arrive, start, finish
        Arrival, start of the visit and end of the visit. The party leaves late enough to
        arrive as the site opens, so ``arrive == start`` in a plan.
    """

    site: int
    depart: float
    arrive: float
    start: float
    finish: float


def plan_itinerary(
    wishlist: Sequence[int],
    *,
    start: float,
    return_by: float,
    to_site: np.ndarray,
    to_home: np.ndarray,
    opens: np.ndarray,
    last_entry: np.ndarray,
    closes: np.ndarray,
    visit: np.ndarray,
) -> list[PlannedStop]:
    """Order a wish list into a feasible day, greedily by earliest finish.

    Parameters
    ----------
    wishlist
        Site rows the party wants to see, most wanted first (breaks ties).
    start
        When the party leaves its lodging, seconds after midnight.
    return_by
        Latest return to the lodging, seconds after midnight.
    to_site
        ``(n_sites + 1, n_sites)`` estimated seconds from each site (rows ``0..n-1``) and
        from the lodging (row ``n``) to each site; ``inf`` where unreachable.
    to_home
        ``(n_sites,)`` estimated seconds from each site back to the lodging.
    opens, last_entry, closes
        ``(n_sites,)`` seconds after midnight.
    visit
        ``(n_sites,)`` the party's time at each site, seconds.

    Returns
    -------
    The stops in visiting order; wished-for sites that cannot fit are left out.
    """
    n = len(opens)
    here, now = n, float(start)
    remaining = list(dict.fromkeys(int(s) for s in wishlist))
    plan: list[PlannedStop] = []
    while remaining:
        best = None
        for rank, s in enumerate(remaining):
            travel = float(to_site[here, s])
            arrive = now + travel
            begin = max(arrive, float(opens[s]))
            finish = begin + float(visit[s])
            if not (
                np.isfinite(travel)
                and begin <= last_entry[s]
                and finish <= closes[s]
                and finish + to_home[s] <= return_by
            ):
                continue
            key = (finish, rank)
            if best is None or key < best[0]:
                best = (key, s, begin - travel, begin, begin, finish)
        if best is None:
            break
        _, s, depart, arrive, begin, finish = best
        plan.append(PlannedStop(s, depart, arrive, begin, finish))
        remaining.remove(s)
        here, now = s, finish
    return plan


# -- what tourists know of distances -------------------------------------------------------


def reverse_csr(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR of the reversed graph (every edge ``u -> v`` becomes ``v -> u``)."""
    n = len(indptr) - 1
    tail = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    rev_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n), out=rev_indptr[1:])
    return rev_indptr, tail[order], np.asarray(weights, dtype=np.float64)[order]


def _costs(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    cutoff: float | None,
) -> np.ndarray:
    """``(len(sources), len(targets))`` shortest-path costs, ``inf`` where unreachable or
    beyond ``cutoff``."""
    return np.asarray(
        kernels.cost_matrix(indptr, indices, weights, sources, targets, cutoff=cutoff),
        dtype=np.float64,
    )


@dataclass(frozen=True)
class PlaceTimes:
    """Walking metres and free-flow driving seconds between places (sites, then lodgings).

    Places are numbered ``0..n_sites-1`` for the sites and ``n_sites..`` for the lodgings.
    Only trips that end or start at a site are known (nobody goes lodging to lodging).

    Attributes
    ----------
    n_sites
        Number of sites.
    walk_to, walk_from
        ``(n_places, n_sites)`` metres from each place to each site and ``(n_sites,
        n_places)`` from each site to each place on the walk network; ``inf`` beyond the
        walking cut-off or unreachable.
    drive_to, drive_from
        The same in seconds of free-flow driving (car) on the drive network.
    """

    n_sites: int
    walk_to: np.ndarray
    walk_from: np.ndarray
    drive_to: np.ndarray
    drive_from: np.ndarray

    @classmethod
    def build(
        cls,
        *,
        walk: Network,
        drive: Network,
        drive_times: np.ndarray,
        walk_nodes: np.ndarray,
        drive_nodes: np.ndarray,
        n_sites: int,
        walk_cutoff_m: float,
    ) -> PlaceTimes:
        """Search from every site on the forward and reversed networks.

        Parameters
        ----------
        walk, drive
            The city's networks.
        drive_times
            Seconds per drive edge (``roads.link_times("car")``).
        walk_nodes, drive_nodes
            Per place (sites first), its walk and drive node.
        n_sites
            How many of the places are sites.
        walk_cutoff_m
            Walking searches stop at this many metres.
        """
        walk_nodes = np.asarray(walk_nodes, dtype=np.int64)
        drive_nodes = np.asarray(drive_nodes, dtype=np.int64)
        site_walk, site_drive = walk_nodes[:n_sites], drive_nodes[:n_sites]
        w_len = np.asarray(walk.length, dtype=np.float64)
        walk_from = _costs(walk.indptr, walk.indices, w_len, site_walk, walk_nodes, walk_cutoff_m)
        rw = reverse_csr(walk.indptr, walk.indices, w_len)
        walk_to = _costs(*rw, site_walk, walk_nodes, walk_cutoff_m).T
        times = np.asarray(drive_times, dtype=np.float64)
        drive_from = _costs(drive.indptr, drive.indices, times, site_drive, drive_nodes, None)
        rd = reverse_csr(drive.indptr, drive.indices, times)
        drive_to = _costs(*rd, site_drive, drive_nodes, None).T
        return cls(n_sites, walk_to, walk_from, drive_to, drive_from)

    def _pairs(self, to: np.ndarray, frm: np.ndarray, origins, destinations) -> np.ndarray:
        o = np.asarray(origins, dtype=np.int64)
        d = np.asarray(destinations, dtype=np.int64)
        n = self.n_sites
        out = np.where(
            d < n,
            to[o, np.minimum(d, n - 1)],
            np.where(o < n, frm[np.minimum(o, n - 1), d], np.inf),
        )
        return np.where(o == d, 0.0, out)

    def walk_m_pairs(self, origins, destinations) -> np.ndarray:
        """:meth:`walk_m` for arrays of origins and destinations."""
        return self._pairs(self.walk_to, self.walk_from, origins, destinations)

    def drive_s_pairs(self, origins, destinations) -> np.ndarray:
        """:meth:`drive_s` for arrays of origins and destinations."""
        return self._pairs(self.drive_to, self.drive_from, origins, destinations)

    def walk_m(self, origin: int, destination: int) -> float:
        """Walk-network metres between two places (``inf`` beyond the cut-off)."""
        return self._one(self.walk_to, self.walk_from, origin, destination)

    def drive_s(self, origin: int, destination: int) -> float:
        """Free-flow driving seconds between two places."""
        return self._one(self.drive_to, self.drive_from, origin, destination)

    def _one(self, to: np.ndarray, frm: np.ndarray, origin: int, destination: int) -> float:
        """One entry of the ``to`` (into a site) or ``frm`` (out of a site) table; ``inf``
        between two places that are not sites."""
        if origin == destination:
            return 0.0
        if destination < self.n_sites:
            return float(to[origin, destination])
        if origin < self.n_sites:
            return float(frm[origin, destination])
        return np.inf
