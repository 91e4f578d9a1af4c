"""How tourist parties move between places, and how long they expect each hop to take.

Hops up to ``walk_max_m`` on the walk network are walked; longer ones go by tour bus (tour
groups), taxi or motorbike taxi (xe ôm) through the run's :class:`sim.roads.Roads` (the
traffic engine in a full run, so these are real vehicles in the traffic), or by boat from a
pier to a site that boats serve (Thiên Mụ), through the pier's boarding gate.

Not modelled: taxis and motorbike taxis appear at the origin after their pick-up wait (no
empty legs in the traffic); buses wait at each site off the road; a boat transfer passes the
pier's gate but does not take room on the pier's cruise boats.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from sim.roads import Roads, UnreachableError
from sim.tourists.itinerary import PlaceTimes
from sim.tourists.params import TouristParams
from sim.tourists.places import Places
from sim.tourists.population import Party
from sim.tourists.records import TouristRecords
from sim.tourists.sites import Sites
from twin.city import City

__all__ = ["Travel"]


class Travel:
    """The hops of the run's parties.

    Parameters
    ----------
    env
        The run's environment.
    roads
        How vehicles travel.
    params
        Tourist behaviour (walking threshold and speed, pick-up waits, mode shares, boats).
    places
        Where parties can be.
    times
        Walking metres and free-flow driving seconds between places.
    sites
        The sites (a boat passes its pier's gate).
    records
        Where each hop is written.
    """

    def __init__(
        self,
        env: simpy.Environment,
        roads: Roads,
        *,
        params: TouristParams,
        places: Places,
        times: PlaceTimes,
        sites: Sites,
        records: TouristRecords,
    ) -> None:
        self.env, self.roads, self.params = env, roads, params
        self.places, self.times, self.sites, self.records = places, times, sites, records
        self._site_to_site: dict[bool, np.ndarray] = {}

    @classmethod
    def build(
        cls,
        env: simpy.Environment,
        city: City,
        roads: Roads,
        *,
        params: TouristParams,
        places: Places,
        sites: Sites,
        records: TouristRecords,
    ) -> Travel:
        """Measure the distances between places (free-flow driving at the current link
        times of cars) and set up the hops."""
        times = PlaceTimes.build(
            walk=city.walk,
            drive=city.drive,
            drive_times=roads.link_times("car"),
            walk_nodes=places.walk_nodes,
            drive_nodes=places.drive_nodes,
            n_sites=places.n_sites,
            walk_cutoff_m=params.walk_max_m,
        )
        return cls(
            env, roads, params=params, places=places, times=times, sites=sites, records=records
        )

    # -- expectations ------------------------------------------------------------------------
    def estimate(self, origins: np.ndarray, destinations: np.ndarray, tour: bool) -> np.ndarray:
        """Expected seconds per hop: walking if short, else the pick-up wait (tour bus or
        taxi) plus free-flow driving.

        Parameters
        ----------
        origins, destinations
            Places, one hop per pair.
        tour
            Hops of a tour group.
        """
        prm, t = self.params, self.times
        walk = t.walk_m_pairs(origins, destinations)
        drive = t.drive_s_pairs(origins, destinations)
        wait = prm.bus_board_s if tour else prm.taxi_wait_s
        return np.where(walk <= prm.walk_max_m, walk / prm.walk_speed_ms, wait + drive)

    def estimate_one(self, origin: int, destination: int, tour: bool) -> float:
        """:meth:`estimate` of one hop, seconds."""
        return float(self.estimate(np.array([origin]), np.array([destination]), tour)[0])

    def site_to_site(self, tour: bool) -> np.ndarray:
        """``(n_sites, n_sites)`` expected seconds between every two sites."""
        if tour not in self._site_to_site:
            n = self.places.n_sites
            o, d = np.divmod(np.arange(n * n), n)
            self._site_to_site[tour] = self.estimate(o, d, tour).reshape(n, n)
        return self._site_to_site[tour]

    def _walk_s(self, origin: int, destination: int) -> float:
        """Seconds on foot between two places: the walk network's distance, or 1.4 × the
        straight line where the walk network has no path."""
        metres = self.times.walk_m(origin, destination)
        if not math.isfinite(metres):
            metres = 1.4 * self.places.straight_m(origin, destination)
        return metres / self.params.walk_speed_ms

    # -- hops --------------------------------------------------------------------------------
    def hop(self, party: Party, origin: int, destination: int, hop: int):
        """Move ``party`` from ``origin`` to ``destination`` (a SimPy generator).

        Parameters
        ----------
        party
            The party.
        origin, destination
            Places.
        hop
            The hop's number in the party's day (picks its drawn uniforms).

        Returns
        -------
        The mode it went by: ``"walk"``, ``"boat"``, ``"tour_bus"``, ``"xe_om"`` or
        ``"taxi"`` (``"walk"`` also when no open road leads to the destination).
        """
        env, prm, t, places = self.env, self.params, self.times, self.places
        u_mode, u_boat = party.u[min(hop, len(party.u) - 1)]
        depart, vehicles = env.now, 0
        walk_m = t.walk_m(origin, destination)
        pier = places.pier(destination)
        if walk_m <= prm.walk_max_m:
            mode = "walk"
            yield env.timeout(walk_m / prm.walk_speed_ms)
        elif (
            pier >= 0
            and t.walk_m(origin, pier) <= prm.walk_max_m
            and u_boat < prm.boat_share
            and not self.sites.is_closed(pier)
        ):
            mode = "boat"
            yield env.timeout(t.walk_m(origin, pier) / prm.walk_speed_ms)
            # those already queueing at the pier board even if it closes meanwhile
            yield from self.sites.pass_gate(pier, party.size, turn_away_if_closed=False)
            river_m = places.river_m(pier, destination) * prm.river_factor
            yield env.timeout(river_m / prm.boat_speed_ms)
        else:
            if party.tour:
                mode, wait, cls, vehicles = "tour_bus", prm.bus_board_s, "bus", 1
            elif party.size <= prm.xe_om_max_party and u_mode < prm.xe_om_share:
                mode, wait, cls, vehicles = "xe_om", prm.xe_om_wait_s, "motorbike", party.size
            else:
                mode, wait, cls = "taxi", prm.taxi_wait_s, "car"
                vehicles = math.ceil(party.size / prm.taxi_seats)
            yield env.timeout(wait)
            o_node, d_node = places.drive_node(origin), places.drive_node(destination)
            if o_node != d_node:
                drives = [
                    self.roads.drive(o_node, d_node, vehicle_class=cls) for _ in range(vehicles)
                ]
                for drive in drives:
                    # the first failure fails the party's wait; those of its other vehicles,
                    # later, are nobody's to handle and must not stop the run
                    drive.defused = True
                try:
                    yield env.all_of(drives)
                except UnreachableError:
                    # no open road leads there (a closure, a flood): the party walks
                    mode, vehicles = "walk", 0
                    yield env.timeout(self._walk_s(origin, destination))
        self.records.add_trip(
            party,
            origin=places.name(origin),
            destination=places.name(destination),
            mode=mode,
            depart=depart,
            arrive=env.now,
            vehicles=vehicles,
        )
        party.where = destination
        return mode
