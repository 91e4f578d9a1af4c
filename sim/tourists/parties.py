"""A tourist party's day as a SimPy process.

A party leaves its lodging and lives the day it planned
(:func:`sim.tourists.itinerary.plan_itinerary`):

    travel -> (wait for opening, for room up to a patience) -> ticket-gate queue -> visit
    -> travel ... -> home

It rests at its lodging when the next site opens much later (``rest_gap_s``), gives up a
site it can no longer reach before last entry, and learns of a closure at the site itself:
a site closed by a change turns it away on arrival, while it waits for room, or when its
turn at the gate comes (the visit is recorded as missed, ``"closed"``).
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.tourists.itinerary import PlannedStop, plan_itinerary
from sim.tourists.params import TouristParams
from sim.tourists.population import Party
from sim.tourists.records import TouristRecords
from sim.tourists.sites import Sites
from sim.tourists.travel import Travel

__all__ = ["PartyDays"]


class PartyDays:
    """The days of a run's parties: their plans and their processes.

    Parameters
    ----------
    env
        The run's environment (clock in seconds after midnight).
    params
        Tourist behaviour (``return_by``, ``rest_gap_s``, ``patience_s``).
    sites
        The sites, their gates and room.
    travel
        How parties move, and how long they expect it to take.
    records
        Where visits are written (hops are written by ``travel``).
    """

    def __init__(
        self,
        env: simpy.Environment,
        *,
        params: TouristParams,
        sites: Sites,
        travel: Travel,
        records: TouristRecords,
    ) -> None:
        self.env, self.params = env, params
        self.sites, self.travel, self.records = sites, travel, records

    def start(self, party: Party) -> simpy.Process:
        """Plan ``party``'s day from now and start living it."""
        party.plan = self.plan(party)
        party.where = party.home
        return self.env.process(self.live(party))

    def plan(self, party: Party) -> list[PlannedStop]:
        """The party's day: its wished-for sites that fit, in order, from its departure (or
        now, if later), with the sites' opening hours from the table."""
        sites, travel = self.sites, self.travel
        n = len(sites)
        site_ids = np.arange(n)
        home = np.full(n, party.home)
        from_home = travel.estimate(home, site_ids, party.tour)
        visit = np.zeros(n)
        visit[list(party.dwell)] = list(party.dwell.values())
        return plan_itinerary(
            party.wishlist,
            start=max(party.depart, self.env.now),
            return_by=self.params.return_by,
            to_site=np.vstack([travel.site_to_site(party.tour), from_home]),
            to_home=travel.estimate(site_ids, home, party.tour),
            opens=sites.opens,
            last_entry=sites.last_entry,
            closes=sites.closes,
            visit=visit,
        )

    def live(self, party: Party):
        """The party's day (a SimPy generator)."""
        env, prm, sites, travel = self.env, self.params, self.sites, self.travel
        p = party
        if p.depart > env.now:
            yield env.timeout(p.depart - env.now)
        here, hop = p.home, 0
        for stop in p.plan:
            s = stop.site
            est = travel.estimate_one(here, s, p.tour)
            leave_at = max(env.now, sites.opens[s] - est)
            if here != p.home and leave_at - env.now > prm.rest_gap_s:
                yield from travel.hop(p, here, p.home, hop)
                here, hop = p.home, hop + 1
                est = travel.estimate_one(here, s, p.tour)
                leave_at = max(env.now, sites.opens[s] - est)
            if leave_at + est > sites.last_entry[s]:
                self._missed(p, s, "closed", mode=None, arrive=np.nan)
                continue
            if leave_at > env.now:
                yield env.timeout(leave_at - env.now)
            mode = yield from travel.hop(p, here, s, hop)
            here, hop = s, hop + 1
            yield from self.visit(p, s, mode)
        if here != p.home:
            yield from travel.hop(p, here, p.home, hop)

    def visit(self, party: Party, s: int, mode: str):
        """``party`` at site ``s``, having come by ``mode`` (a SimPy generator)."""
        env, prm, sites = self.env, self.params, self.sites
        p, k, arrive = party, party.size, env.now
        if env.now < sites.opens[s]:
            yield env.timeout(sites.opens[s] - env.now)
        open_wait = env.now - arrive
        if env.now > sites.last_entry[s] or sites.is_closed(s):
            self._missed(p, s, "closed", mode=mode, arrive=arrive, open_wait=open_wait)
            return
        waited_from = env.now
        room = sites.request_room(s, k)
        if not room.triggered:
            deadline = min(env.now + prm.patience_s, sites.last_entry[s])
            closing = sites.closing(s)
            patience = env.timeout(max(deadline - env.now, 0.0))
            yield env.any_of([room, patience, closing])
            if not room.triggered or closing.triggered:
                sites.give_up_room(s, room, k)
                closed = closing.triggered or deadline >= sites.last_entry[s]
                self._missed(
                    p, s, "closed" if closed else "crowded", mode=mode, arrive=arrive,
                    open_wait=open_wait, crowd_wait=env.now - waited_from,
                )  # fmt: skip
                return
        crowd_wait = env.now - waited_from
        gate = yield from sites.pass_gate(s, k)
        if gate is None or sites.is_closed(s):
            sites.give_up_room(s, room, k)
            self._missed(
                p, s, "closed", mode=mode, arrive=arrive, open_wait=open_wait,
                crowd_wait=crowd_wait,
            )  # fmt: skip
            return
        entered = env.now
        if np.isnan(gate.rate):
            waits, enters = np.full(k, gate.served - gate.queued), np.full(k, entered)
        else:
            j = np.arange(k)
            waits = gate.served - gate.queued + j / gate.rate
            enters = gate.served + (j + 1) / gate.rate
        sites.enter(s, k)
        end = max(entered, min(entered + p.dwell[s], sites.closes[s]))
        yield env.timeout(end - entered)
        sites.leave(s, k)
        self.records.add_visit(
            p, sites.label(s), missed=None, mode=mode, arrive=arrive, leave=env.now,
            open_wait=open_wait, crowd_wait=crowd_wait, gate_wait=waits, enter=enters,
        )  # fmt: skip

    def _missed(
        self,
        party: Party,
        s: int,
        reason: str,
        *,
        mode: str | None,
        arrive: float,
        open_wait: float = 0.0,
        crowd_wait: float = 0.0,
    ) -> None:
        """Record a missed visit; a party that came (``mode`` given) left it now."""
        self.records.add_visit(
            party, self.sites.label(s), missed=reason, mode=mode, arrive=arrive,
            leave=np.nan if mode is None else self.env.now, open_wait=open_wait,
            crowd_wait=crowd_wait,
        )  # fmt: skip
