"""The day's tourists: parties added by hand or drawn from the parameters.

A day's tourists (``twin/defaults/tourists.toml`` documents where the numbers come from)
are split into parties: tour groups that ride one bus, and independent parties of one to a
few persons. Each party starts from a hotel, hostel or guest house (weighted by type and
size), draws a wish list of sites by popularity, a visit length at each and the uniforms
behind every mode choice of its day. The draws are made here, in a fixed order, so a seed
fixes the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.tourists.errors import TouristsError
from sim.tourists.itinerary import PlannedStop
from sim.tourists.params import LODGING, TouristParams
from sim.tourists.places import Places

__all__ = ["Party", "Population", "lodging_weights"]


@dataclass
class Party:
    """One party: who, from where, when, what it wants to see and its drawn uniforms.

    Attributes
    ----------
    pid
        Party id (0, 1, … in the order parties were added).
    first_tourist
        Id of its first member; members are ``first_tourist .. first_tourist + size - 1``.
    size
        Persons.
    tour
        A tour group (travels by tour bus).
    home
        Its lodging, as a place of :class:`sim.tourists.places.Places`.
    depart
        When it leaves its lodging, seconds after midnight.
    wishlist
        Site rows it wants to see, most wanted first.
    dwell
        Seconds it spends inside each wished-for site (by site row).
    u
        ``(hops, 2)`` uniforms of its hops: the mode choice and the boat choice.
    plan
        Its planned stops, set when the day starts.
    where
        The place it is at (its origin while travelling); ``-1`` before the day starts.
    """

    pid: int
    first_tourist: int
    size: int
    tour: bool
    home: int
    depart: float
    wishlist: list[int]
    dwell: dict[int, float]
    u: np.ndarray
    plan: list[PlannedStop] = field(default_factory=list)
    where: int = -1


class Population:
    """The parties of one run.

    Parameters
    ----------
    params
        Tourist behaviour.
    rng
        The generator every draw of the population comes from.
    places
        Where parties can be (their lodging becomes a place).
    visit_s
        ``(n_sites,)`` mean visit of each site, seconds.
    """

    def __init__(
        self,
        params: TouristParams,
        rng: np.random.Generator,
        *,
        places: Places,
        visit_s: np.ndarray,
    ) -> None:
        self.params, self.rng, self.places = params, rng, places
        self.visit_s = np.asarray(visit_s, dtype=float)
        self.parties: list[Party] = []
        self.tourists = 0

    def add(
        self, *, size: int, tour: bool, lodging: int, depart: float, wishlist: list[int]
    ) -> Party:
        """Add one party; draws its visit lengths and the uniforms of its hops.

        Parameters
        ----------
        size
            Persons.
        tour
            A tour group.
        lodging
            Row of its lodging in the lodging table.
        depart
            When it leaves its lodging, seconds after midnight.
        wishlist
            Site rows, most wanted first.
        """
        prm, rng = self.params, self.rng
        sigma2 = math.log1p(prm.visit_cv**2)
        factors = rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), len(wishlist))
        visit = self.visit_s
        party = Party(
            pid=len(self.parties),
            first_tourist=self.tourists,
            size=int(size),
            tour=bool(tour),
            home=self.places.lodging_place(lodging),
            depart=depart,
            wishlist=list(wishlist),
            dwell={s: float(visit[s] * f) for s, f in zip(wishlist, factors, strict=True)},
            u=rng.random((2 * len(wishlist) + 2, 2)),
        )
        self.tourists += int(size)
        self.parties.append(party)
        return party

    def draw_day(self, lodging: pd.DataFrame, popularity: np.ndarray) -> None:
        """Draw the day's parties from the parameters (``tourists_today`` persons).

        Parameters
        ----------
        lodging
            The city's lodging POIs (``category``, ``size``), one row per lodging place.
        popularity
            ``(n_sites,)`` wish-list weight of each site.
        """
        prm, rng = self.params, self.rng
        total = round(prm.tourists_today)
        if total <= 0:
            return
        weights = lodging_weights(lodging, prm)
        hotels = (lodging["category"] == "hotel").to_numpy() & (weights > 0)
        tour_weights = np.where(hotels, weights, 0.0) if hotels.any() else weights
        n_groups = round(total * prm.tour_group_share / prm.tour_group_size)
        independents = max(total - n_groups * prm.tour_group_size, 0)
        sizes = []
        while independents > 0:
            k = int(min(1 + rng.poisson(prm.party_size_mean - 1), prm.party_size_max))
            k = min(k, independents)
            sizes.append(k)
            independents -= k
        popularity = np.asarray(popularity, dtype=float)
        wanted = np.flatnonzero(popularity > 0)
        p_site = popularity[wanted] / popularity[wanted].sum()
        lo, hi = prm.depart_earliest, prm.depart_latest
        for tour, size in [(True, prm.tour_group_size)] * n_groups + [(False, k) for k in sizes]:
            w = tour_weights if tour else weights
            home = int(rng.choice(len(w), p=w / w.sum()))
            if tour:
                depart, n_wish = prm.tour_depart, prm.tour_sites
            else:
                depart = float(np.clip(rng.normal(prm.depart_mean, prm.depart_sd_min * 60), lo, hi))
                n_wish = int(rng.integers(prm.sites_min, prm.sites_max + 1))
            n_wish = min(n_wish, len(wanted))
            wish = rng.choice(wanted, size=n_wish, replace=False, p=p_site).tolist()
            self.add(size=size, tour=tour, lodging=home, depart=depart, wishlist=wish)


def lodging_weights(lodging: pd.DataFrame, params: TouristParams) -> np.ndarray:
    """Guests each lodging sends out: ``guests_per_unit x size`` by type (rooms of a hotel or
    guest house, beds of a hostel; the type's default size when unknown, capped at
    ``max_size``).

    Raises
    ------
    TouristsError
        Every lodging weighs 0.
    """
    prm = params
    cats = lodging["category"].to_numpy()
    size = pd.to_numeric(lodging["size"], errors="coerce").to_numpy(float)
    weights = np.zeros(len(cats))
    for cat in LODGING:
        mask = cats == cat
        default = getattr(prm, f"{cat}_default_size")
        units = np.clip(np.where(np.isfinite(size[mask]), size[mask], default), 1, prm.max_size)
        weights[mask] = getattr(prm, f"{cat}_guests_per_unit") * units
    if not weights.sum() > 0:
        raise TouristsError(
            "every lodging weighs 0 (guests_per_unit is 0 for all lodging types present); "
            "give hotels, hostels or guest houses a positive guests_per_unit"
        )
    return weights
