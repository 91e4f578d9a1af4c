"""Tourists: parties that leave their lodging, visit sites through ticket gates, and go home.

:class:`Tourists` is the run's tourist component. It composes the parts, each in its module:

- :class:`sim.tourists.sites.Sites`: the sites' hours, ticket gates, room and occupancy,
  and the changes made to them during a run;
- :class:`sim.tourists.places.Places`: where parties can be (sites, then lodgings);
- :class:`sim.tourists.population.Population`: the day's parties, drawn from the
  parameters (``twin/defaults/tourists.toml``) or added by hand;
- :class:`sim.tourists.travel.Travel`: hops by walking, boat, tour bus, taxi or xe ôm;
- :class:`sim.tourists.parties.PartyDays`: each party's planned day
  (:func:`sim.tourists.itinerary.plan_itinerary`) lived as a SimPy process;
- :class:`sim.tourists.records.TouristRecords`: the visits and trips, and the results.

Times are seconds after midnight (the run's clock); randomness comes only from ``rng``:
parties, lodgings, departure times, wish lists, visit lengths and the uniforms behind every
mode choice are all drawn in :meth:`Tourists.start`, so a seed fixes the day.

Not modelled (simplifications to know when reading the results): tourists stay in the city
all day (no arrivals or departures by train or air during the day); no meal breaks beyond
the rest at the lodging before an evening site; see :mod:`sim.tourists.travel` for what the
hops leave out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from sim.roads import Roads
from sim.tourists.errors import TouristsError
from sim.tourists.params import LODGING, TouristParams, resolve_tourist_params
from sim.tourists.parties import PartyDays
from sim.tourists.places import Places
from sim.tourists.population import Population
from sim.tourists.records import TouristRecords, site_summary, tourist_kpis, visits_by_hour
from sim.tourists.sites import Sites
from sim.tourists.travel import Travel
from twin.attractions.sites import SITE_COLUMNS, resolve_attractions
from twin.city import City
from twin.clock import parse_clock

logger = logging.getLogger(__name__)

_HOW_TO_FIX = (
    "tourists need lodging POIs (a city built from OpenStreetMap has them; a GMNS network "
    "does not) and an attraction table whose rows name the city's POIs or give lon/lat"
)

__all__ = ["Tourists"]


class Tourists:
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
        :func:`sim.tourists.params.load_tourist_params` (``{"scale": 0.1}``; the key
        ``"path"`` names a TOML file), or ``None`` for the documented defaults.
    attractions
        A resolved site table (:func:`twin.attractions.sites.resolve_attractions`), an
        attraction table or a path to one (matched strictly), or ``None`` for the
        parameters' table (:meth:`~sim.tourists.params.TouristParams.site_table`: its
        ``attractions_table``, else its ``attractions`` rows, else the default table).

    Attributes
    ----------
    params
        The tourist parameters in use.
    sites
        The sites' run-time state (:class:`sim.tourists.sites.Sites`; the resolved table is
        ``sites.table``).
    lodging
        The city's hotels, hostels and guest houses.
    places
        Where parties can be.
    population
        The day's parties (drawn by :meth:`start`).
    records
        The visits and trips so far.
    skipped
        Why no tourists are simulated in this city (``"city 'X' has no hotel, hostel or
        guest house POIs"``, or no sites), or ``None`` when they are. A skipped component
        warns once, when it is made; its tables are empty and its KPIs count zero.
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
        if attractions is None:
            attractions = self.params.site_table()
        if isinstance(attractions, pd.DataFrame) and set(SITE_COLUMNS) <= set(attractions):
            table = attractions.reset_index(drop=True)
        else:
            table = resolve_attractions(city, attractions, other_sites=self.params.other_sites)
        self.lodging = city.pois[city.pois["category"].isin(LODGING)].reset_index(drop=True)
        self.skipped: str | None = None
        missing = _missing_for_tourists(
            has_lodging=not self.lodging.empty, has_sites=not table.empty
        )
        if missing:
            self.skipped = f"city {city.name!r} has {' and '.join(missing)}"
            logger.warning("no tourists are simulated: %s; %s", self.skipped, _HOW_TO_FIX)
        self.sites = Sites(env, table)
        self.places = Places(table, self.lodging, city.node_zone)
        self.population = Population(
            self.params, rng, places=self.places, visit_s=table["visit_s"].to_numpy()
        )
        self.records = TouristRecords()
        self._started = False

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
            Sites by name or row of the site table, most wanted first.
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
        if self.skipped is not None:
            raise TouristsError(f"cannot add a party: {self.skipped}")
        if size < 1:
            raise TouristsError(f"a party has {size} persons; give size >= 1")
        home = self._lodging_row(lodging)
        rows = [self.sites.row(s) for s in wishlist]
        if isinstance(depart, str):
            depart = parse_clock(depart, what="add_party: depart", error=TouristsError)
        party = self.population.add(
            size=size, tour=tour, lodging=home, depart=float(depart), wishlist=rows
        )
        return party.pid

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

    # -- starting ------------------------------------------------------------------------
    def start(self) -> None:
        """Draw the day's parties, plan their days and start their processes."""
        if self._started:
            raise TouristsError("start() was called twice on the same Tourists")
        if self.skipped is None:
            popularity = self.sites.table["popularity"].to_numpy(float)
            self.population.draw_day(self.lodging, popularity)
        self._started = True
        parties = self.population.parties
        if not parties:
            return
        travel = Travel.build(
            self.env, self.city, self.roads, params=self.params, places=self.places,
            sites=self.sites, records=self.records,
        )  # fmt: skip
        days = PartyDays(
            self.env, params=self.params, sites=self.sites, travel=travel, records=self.records
        )
        for party in parties:
            days.start(party)

    # -- changes during the run -----------------------------------------------------------
    def change_site(
        self,
        site: str,
        *,
        closed: bool | None = None,
        capacity: float | None = None,
        gate_per_min: float | None = None,
    ) -> int:
        """Change an attraction from now (the run's clock) until :meth:`undo_site_change`.

        The site's state is its table values with every active change applied in the
        order made, so changes whose windows overlap can be undone in any order.

        Parameters
        ----------
        site
            The site's name, as in the attraction table's ``site`` column.
        closed
            ``True``: nobody enters from now on (parties that arrive, wait for room or
            reach the gate are turned away, recorded as missed visits with reason
            ``"closed"``); visitors inside finish their visit. ``False`` reopens it against
            an earlier change. Opening hours still apply.
        capacity
            Visitors inside at once (at least 1; ``math.inf`` for no limit). A lower
            capacity admits nobody new until the visitors fall below it; a higher one
            admits waiting parties at once.
        gate_per_min
            Visitors per minute through the ticket gate, for parties whose turn comes from
            now on (a site without a gate gets one).

        Returns
        -------
        The change's id, for :meth:`undo_site_change`.

        Raises
        ------
        TouristsError
            An unknown site (the message names the closest), nothing to change, or a value
            out of range.
        """
        return self.sites.change(
            self.sites.row(site), closed=closed, capacity=capacity, gate_per_min=gate_per_min
        )

    def undo_site_change(self, change_id: int) -> None:
        """Undo a change made by :meth:`change_site` (now, on the run's clock).

        Raises
        ------
        TouristsError
            ``change_id`` is not an active change (unknown, or already undone).
        """
        self.sites.undo(change_id)

    # -- outputs -------------------------------------------------------------------------
    def visits_table(self) -> pd.DataFrame:
        """One row per tourist per planned visit; see
        :meth:`sim.tourists.records.TouristRecords.visits_table`."""
        return self.records.visits_table()

    def trips_table(self) -> pd.DataFrame:
        """One row per party hop; see :meth:`sim.tourists.records.TouristRecords.trips_table`."""
        return self.records.trips_table()

    def occupancy_table(self) -> pd.DataFrame:
        """Visitors inside each site after every change: ``time``, ``site``, ``occupancy``."""
        return self.sites.occupancy_table()

    def visits_by_hour(self) -> pd.DataFrame:
        """Visits (tourists entering) per site and hour of day: ``site``, ``hour``, ``visits``."""
        return visits_by_hour(self.visits_table())

    def site_summary(self) -> pd.DataFrame:
        """Per site: visits, visits per opening hour and in the busiest hour, peak occupancy
        against the table's capacity, gate waits (mean, 90th percentile, seconds), missed
        visits."""
        return site_summary(self.sites.table, self.visits_table(), self.occupancy_table())

    def kpis(self) -> dict[str, float]:
        """The tourists' headline figures (plain numbers, ready for ``kpis.json``); see
        :func:`sim.tourists.records.tourist_kpis`."""
        return tourist_kpis(
            self.sites.table,
            self.visits_table(),
            self.trips_table(),
            self.occupancy_table(),
            tourists=self.population.tourists,
            parties=len(self.population.parties),
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
        parties = self.population.parties
        if not self._started or not parties:
            return counts
        by_zone: dict[int, float] = {}
        for p in parties:
            zone = self.places.zone(p.where if now else p.home)
            by_zone[zone] = by_zone.get(zone, 0.0) + p.size
        for zone, count in by_zone.items():
            if zone in counts.index:
                counts[zone] = count
        return counts


def _missing_for_tourists(*, has_lodging: bool, has_sites: bool) -> list[str]:
    """What a city lacks for tourists to be simulated (empty when nothing)."""
    missing = []
    if not has_lodging:
        missing.append("no hotel, hostel or guest house POIs")
    if not has_sites:
        missing.append("no tourist sites (no row of the attraction table matches its POIs)")
    return missing
