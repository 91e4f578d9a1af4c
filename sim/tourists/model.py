"""Tourists: parties that leave their lodging, visit sites through ticket gates, and go home.

A day's tourists (``twin/defaults/tourists.toml`` documents where the numbers come from)
are split into parties: tour groups that ride one bus, and independent parties of one to a
few persons. Each party starts from a hotel, hostel or guest house (weighted by type and
size), draws a wish list of sites by popularity, plans its day with
:func:`sim.tourists.itinerary.plan_itinerary` and lives it as a SimPy process
(:class:`sim.tourists.parties.PartyDay`):

    travel -> (wait for room, up to a patience) -> ticket-gate queue -> visit -> travel ...

Hops up to ``walk_max_m`` on the walk network are walked; longer ones go by tour bus, taxi
or motorbike taxi (xe ôm) through the run's :class:`sim.roads.Roads` (the traffic engine in
a full run, so these are real vehicles in the traffic), or by boat from a pier to a site
that boats serve (Thiên Mụ). A ticket gate is a ``simpy.Resource`` serving one visitor
every ``1 / gate_rate`` seconds; a party of ``k`` holds it for ``k / gate_rate``. A site at
its capacity makes arrivals wait in order, up to ``patience_s``, or skip it.

Times are seconds after midnight (the run's clock); randomness comes only from ``rng``:
parties, lodgings, departure times, wish lists, visit lengths and the uniforms behind every
mode choice are all drawn in :meth:`Tourists.start`, so a seed fixes the day.

Not modelled (simplifications to know when reading the results): taxis and motorbike taxis
appear at the origin after their pick-up wait (no empty legs in the traffic); buses wait at
each site off the road; a boat transfer passes the pier's boarding gate but does not take
room on the pier's cruise boats; tourists stay in the city all day (no arrivals or
departures by train or air during the day); no meal breaks beyond the rest at the lodging
before an evening site.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from sim.roads import Roads
from sim.tourists.itinerary import PlaceTimes, plan_itinerary
from sim.tourists.params import (
    LODGING,
    TouristParams,
    resolve_tourist_params,
)
from sim.tourists.parties import Party, PartyDay, SlotPool
from sim.tourists.records import site_summary, tourist_kpis, visits_by_hour
from twin.attractions.sites import SITE_COLUMNS, resolve_attractions
from twin.city import City
from twin.clock import parse_clock
from twin.errors import TwinError

logger = logging.getLogger(__name__)

__all__ = [
    "TRIP_COLUMNS",
    "VISIT_COLUMNS",
    "Tourists",
    "TouristsError",
]

#: Columns of :meth:`Tourists.visits_table`.
VISIT_COLUMNS = (
    "tourist_id",
    "party_id",
    "party_size",
    "tour_group",
    "site",
    "poi_id",
    "zone",
    "arrive",
    "open_wait",
    "crowd_wait",
    "gate_wait",
    "enter",
    "leave",
    "mode_in",
    "missed",
    "missed_reason",
)
#: Columns of :meth:`Tourists.trips_table`.
TRIP_COLUMNS = (
    "party_id",
    "persons",
    "origin",
    "destination",
    "mode",
    "depart",
    "arrive",
    "vehicles",
)


class TouristsError(TwinError, ValueError):
    """Tourists cannot be simulated in this city as asked (no lodging, no sites, bad party)."""


class Tourists(PartyDay):
    """The tourists of one run.

    Parameters
    ----------
    env
        The run's environment (clock in seconds after midnight).
    city
        The city.
    roads
        How vehicles travel (the traffic engine, or :class:`sim.roads.FreeFlowRoads`).
    rng
        The generator every random draw comes from.
    params
        :class:`TouristParams`, a mapping of overrides for
        :func:`load_tourist_params` (``{"scale": 0.1}``; the key ``"path"`` names a TOML
        file), or ``None`` for the documented defaults.
    attractions
        A resolved site table (:func:`twin.attractions.sites.resolve_attractions`), an attraction
        table or a path to one (matched strictly), or ``None`` for the parameters'
        ``attractions_table`` or else the default table.
    """

    def __init__(
        self,
        env: simpy.Environment,
        city: City,
        roads: Roads,
        *,
        rng: np.random.Generator,
        params: TouristParams | Mapping | None = None,
        attractions: pd.DataFrame | str | Path | None = None,
    ) -> None:
        self.env, self.city, self.roads, self.rng = env, city, roads, rng
        self.params = resolve_tourist_params(params)
        if attractions is None and self.params.attractions_table:
            attractions = Path(self.params.attractions_table)
        if isinstance(attractions, pd.DataFrame) and set(SITE_COLUMNS) <= set(attractions):
            sites = attractions.reset_index(drop=True)
        else:
            sites = resolve_attractions(city, attractions, other_sites=self.params.other_sites)
        if sites.empty:
            logger.warning(
                "city %r has no tourist sites (no row of the attraction table matches its POIs "
                "and it has no sightseeing POIs): no tourists are simulated. Pass an attraction "
                "table whose rows name this city's POIs, or give them lon/lat",
                city.name,
            )
        self.sites = sites
        lodging = city.pois[city.pois["category"].isin(LODGING)].reset_index(drop=True)
        self.lodging = lodging
        self._parties: list[Party] = []
        self._n_tourists = 0
        self._visits: list[dict] = []
        self._trips: list[dict] = []
        self._occupancy_log: list[tuple[float, int, int]] = []
        self._started = False
        self.times: PlaceTimes | None = None
        self._s2s: dict[bool, np.ndarray] = {}
        n = len(sites)
        self._occupancy = np.zeros(n, dtype=np.int64)
        self._gates = [
            simpy.Resource(env, capacity=1) if np.isfinite(r) else None for r in sites["gate_rate"]
        ]
        self._rooms = [SlotPool(env, c) if np.isfinite(c) else None for c in sites["capacity"]]

    # -- populating ----------------------------------------------------------------------
    def add_party(
        self,
        lodging: str | int,
        *,
        depart: float | str,
        wishlist: list[str | int],
        size: int = 1,
        tour: bool = False,
    ) -> int:
        """Add one party by hand (a cruise ship's tour group, a test's tourist).

        Parameters
        ----------
        lodging
            The lodging POI's ``poi_id`` or name, or its row among the city's lodgings.
        depart
            When it leaves its lodging (seconds after midnight or ``"HH:MM"``).
        wishlist
            Sites by name or row of :attr:`sites`, most wanted first.
        size
            Persons.
        tour
            A tour group (travels by tour bus).

        Returns
        -------
        The party's id.
        """
        if self._started:
            raise TouristsError("add_party must be called before start(); add parties first")
        if size < 1:
            raise TouristsError(f"a party has {size} persons; give size >= 1")
        home = self._lodging_row(lodging)
        rows = [self._site_row(s) for s in wishlist]
        if isinstance(depart, str):
            depart = parse_clock(depart, what="add_party: depart", error=TouristsError)
        self._new_party(size=size, tour=tour, home=home, depart=float(depart), wishlist=rows)
        return self._parties[-1].pid

    def _lodging_row(self, lodging: str | int) -> int:
        if isinstance(lodging, int | np.integer):
            if 0 <= lodging < len(self.lodging):
                return int(lodging)
        else:
            for column in ("poi_id", "name"):
                hit = np.flatnonzero(self.lodging[column].astype(str) == str(lodging))
                if len(hit):
                    return int(hit[0])
        raise TouristsError(
            f"lodging {lodging!r} is not a hotel, hostel or guest house of city "
            f"{self.city.name!r}; name one of {self.lodging['name'].tolist()[:10]}"
        )

    def _site_row(self, site: str | int) -> int:
        if isinstance(site, int | np.integer) and 0 <= site < len(self.sites):
            return int(site)
        hit = np.flatnonzero(self.sites["site"] == site)
        if not len(hit):
            raise TouristsError(
                f"site {site!r} is not among the simulated sites {self.sites['site'].tolist()}"
            )
        return int(hit[0])

    def _new_party(self, *, size: int, tour: bool, home: int, depart: float, wishlist) -> None:
        prm, rng = self.params, self.rng
        sigma2 = math.log1p(prm.visit_cv**2)
        factors = rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), len(wishlist))
        visit = self.sites["visit_s"].to_numpy()
        first = self._n_tourists
        self._n_tourists += int(size)
        self._parties.append(
            Party(
                pid=len(self._parties),
                first_tourist=first,
                size=int(size),
                tour=bool(tour),
                home=len(self.sites) + home,
                depart=depart,
                wishlist=list(wishlist),
                dwell={s: float(visit[s] * f) for s, f in zip(wishlist, factors, strict=True)},
                u=rng.random((2 * len(wishlist) + 2, 2)),
            )
        )

    def _generate(self) -> None:
        """The day's parties from the parameters."""
        prm, rng = self.params, self.rng
        total = round(prm.tourists_today)
        if total <= 0:
            return
        if self.lodging.empty or self.sites.empty:
            logger.warning(
                "city %r has %s, so its %d tourists are not simulated; use a city with "
                "lodging POIs and tourist sites, or set tourists_per_day = 0",
                self.city.name,
                "no hotel, hostel or guest house POIs" if self.lodging.empty else "no sites",
                total,
            )
            return
        weights = self._lodging_weights()
        hotels = (self.lodging["category"] == "hotel").to_numpy() & (weights > 0)
        tour_weights = np.where(hotels, weights, 0.0) if hotels.any() else weights
        n_groups = round(total * prm.tour_group_share / prm.tour_group_size)
        independents = max(total - n_groups * prm.tour_group_size, 0)
        sizes = []
        while independents > 0:
            k = int(min(1 + rng.poisson(prm.party_size_mean - 1), prm.party_size_max))
            k = min(k, independents)
            sizes.append(k)
            independents -= k
        popularity = self.sites["popularity"].to_numpy(float)
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
            self._new_party(size=size, tour=tour, home=home, depart=depart, wishlist=wish)

    def _lodging_weights(self) -> np.ndarray:
        prm = self.params
        cats = self.lodging["category"].to_numpy()
        size = pd.to_numeric(self.lodging["size"], errors="coerce").to_numpy(float)
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

    # -- starting ------------------------------------------------------------------------
    def start(self) -> None:
        """Generate the day's parties, plan their days and register their processes."""
        if self._started:
            raise TouristsError("start() was called twice on the same Tourists")
        self._generate()
        self._started = True
        if not self._parties:
            return
        prm, sites = self.params, self.sites
        self.times = PlaceTimes.build(
            walk=self.city.walk,
            drive=self.city.drive,
            drive_times=self.roads.link_times("car"),
            walk_nodes=np.concatenate([sites["walk_node"], self.lodging["walk_node"]]),
            drive_nodes=np.concatenate([sites["drive_node"], self.lodging["drive_node"]]),
            n_sites=len(sites),
            walk_cutoff_m=prm.walk_max_m,
        )
        self._opens = sites["opens_s"].to_numpy(float)
        self._last_entry = sites["last_entry_s"].to_numpy(float)
        self._closes = sites["closes_s"].to_numpy(float)
        self._col = {
            c: sites[c].to_numpy().tolist()
            for c in ("site", "poi_id", "zone", "x", "y", "gate_rate", "boat_from")
        }
        self._place_drive = np.concatenate([sites["drive_node"], self.lodging["drive_node"]])
        self._place_names = [*map(str, sites["site"]), *map(str, self.lodging["name"])]
        self._zone_of = np.concatenate(
            [sites["zone"].to_numpy(int), self.city.node_zone[self.lodging["drive_node"]]]
        )
        n = len(sites)
        site_ids = np.arange(n)
        for p in self._parties:
            home_row = self._estimates(np.full(n, p.home), site_ids, p.tour)
            to_site = np.vstack([self._site_to_site(p.tour), home_row])
            visit = np.zeros(n)
            visit[list(p.dwell)] = list(p.dwell.values())
            p.plan = plan_itinerary(
                p.wishlist,
                start=max(p.depart, self.env.now),
                return_by=prm.return_by,
                to_site=to_site,
                to_home=self._estimates(site_ids, np.full(n, p.home), p.tour),
                opens=self._opens,
                last_entry=self._last_entry,
                closes=self._closes,
                visit=visit,
            )
            p.where = p.home
            self.env.process(self._live(p))

    def _estimates(self, origins: np.ndarray, destinations: np.ndarray, tour: bool) -> np.ndarray:
        """Expected seconds per hop (walk if short, else pick-up wait + free-flow drive)."""
        prm, t = self.params, self.times
        walk = t.walk_m_pairs(origins, destinations)
        drive = t.drive_s_pairs(origins, destinations)
        wait = prm.bus_board_s if tour else prm.taxi_wait_s
        return np.where(walk <= prm.walk_max_m, walk / prm.walk_speed_ms, wait + drive)

    def _site_to_site(self, tour: bool) -> np.ndarray:
        cache = self._s2s
        if tour not in cache:
            n = len(self.sites)
            o, d = np.divmod(np.arange(n * n), n)
            cache[tour] = self._estimates(o, d, tour).reshape(n, n)
        return cache[tour]

    # -- outputs -------------------------------------------------------------------------
    def visits_table(self) -> pd.DataFrame:
        """One row per tourist per planned visit (columns :data:`VISIT_COLUMNS`).

        ``arrive``, ``enter`` and ``leave`` are seconds after midnight; ``open_wait``,
        ``crowd_wait`` (waiting for room) and ``gate_wait`` (queueing before one's own
        ticket check, which takes ``1 / gate_rate``) are seconds. A missed visit has
        ``missed`` true and ``missed_reason`` ``"closed"`` (it could not be reached or
        entered before last entry; ``arrive`` is NaN when the party gave it up before
        setting out) or ``"crowded"`` (the site stayed full for ``patience_s``).
        """
        table = pd.DataFrame(self._visits, columns=list(VISIT_COLUMNS))
        table["missed"] = table["missed"].astype(bool)
        return table

    def trips_table(self) -> pd.DataFrame:
        """One row per party hop (columns :data:`TRIP_COLUMNS`; times in seconds)."""
        return pd.DataFrame(self._trips, columns=list(TRIP_COLUMNS))

    def occupancy_table(self) -> pd.DataFrame:
        """Visitors inside each site after every change: ``time``, ``site``, ``occupancy``."""
        log = np.array(self._occupancy_log, dtype=float).reshape(-1, 3)
        return pd.DataFrame(
            {
                "time": log[:, 0],
                "site": self.sites["site"].to_numpy()[log[:, 1].astype(int)],
                "occupancy": log[:, 2].astype(int),
            }
        )

    def visits_by_hour(self) -> pd.DataFrame:
        """Visits (tourists entering) per site and hour of day: ``site``, ``hour``, ``visits``."""
        return visits_by_hour(self.visits_table())

    def site_summary(self) -> pd.DataFrame:
        """Per site: visits, visits per opening hour and in the busiest hour, peak occupancy
        against capacity, gate waits (mean, 90th percentile, seconds), missed visits."""
        return site_summary(self.sites, self.visits_table(), self.occupancy_table())

    def kpis(self) -> dict[str, float]:
        """The tourists' headline figures (plain numbers, ready for ``kpis.json``); see
        :func:`sim.tourists.records.tourist_kpis`."""
        return tourist_kpis(
            self.sites,
            self.visits_table(),
            self.trips_table(),
            self.occupancy_table(),
            tourists=self._n_tourists,
            parties=len(self._parties),
        )

    def tourists_by_zone(self, *, now: bool = True) -> pd.Series:
        """Tourists per zone (indexed by every zone of the city, zeros included).

        Parameters
        ----------
        now
            ``True`` (default): where they are at the current simulated time (at their
            lodging before setting out and after returning, at the site while visiting; a
            travelling party counts at its origin). ``False``: by the zone of their lodging.
            Zeros before :meth:`start` has drawn the day's tourists.
        """
        zones = self.city.zones["zone"].to_numpy(int) if len(self.city.zones) else np.array([])
        counts = pd.Series(0.0, index=pd.Index(zones, name="zone"), name="tourists")
        if not self._started or not self._parties:
            return counts
        by_zone: dict[int, float] = {}
        for p in self._parties:
            zone = int(self._zone_of[p.where if now else p.home])
            by_zone[zone] = by_zone.get(zone, 0.0) + p.size
        for zone, count in by_zone.items():
            if zone in counts.index:
                counts[zone] = count
        return counts
