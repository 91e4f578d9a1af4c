"""A run's world: its parts on one clock, and the interventions it carries out.

:class:`World` holds what a run simulates — the roads (the traffic engine, free-flow roads or
a replayed day), the tourists and the emergency services — and carries out the
specification's interventions (:mod:`sim.interventions`) on the run's clock through one
public method, :meth:`World.schedule`: at ``start`` it asks the part concerned to make the
change (through that part's public methods), and at ``until`` to undo it. Nothing reaches
into a part's private state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.interventions import (
    AddRoad,
    AddStation,
    ChangeLinks,
    ChangeSite,
    CloseLinks,
    EventTrips,
    Intervention,
    MoveStation,
    RemoveStation,
    SetStationUnits,
    StationSpec,
)
from sim.link_changes import LinkChange
from sim.spec import SpecError
from twin.clock import format_clock
from twin.network import Network

__all__ = ["World"]

log = logging.getLogger(__name__)

Undo = Callable[[], None]


@dataclass(eq=False)
class World:
    """The parts of one run on one clock.

    Attributes
    ----------
    env
        The run's environment (seconds after midnight).
    network
        The drive network the run uses (with any added roads).
    roads
        :class:`sim.traffic.engine.Traffic`, :class:`sim.roads.FreeFlowRoads` or a replayed
        day (:class:`sim.emergency.coverage.HourlyRoads`).
    end
        The end of the run's window, seconds.
    tourists, emergency
        The parts, or ``None`` when they do not run.
    notes
        What the world could not carry out, or carried out in part (for ``kpis.json``).
    """

    env: simpy.Environment
    network: Network
    roads: object
    end: float
    tourists: object | None = None
    emergency: object | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        ids = self.network.edge_id
        self._position = dict(zip(ids.tolist(), range(len(ids)), strict=True))
        nodes = self.network.node_id
        self._node = dict(zip(nodes.tolist(), range(len(nodes)), strict=True))

    # -- the one public method ---------------------------------------------------------------
    def schedule(self, intervention: Intervention) -> None:
        """Carry out ``intervention`` on the run's clock: the change at its ``start`` (now
        when it has none or it has passed), undone at its ``until`` (never when it has none
        or it lies past the window)."""
        if intervention.start is not None and intervention.start >= self.end:
            self.notes.append(
                f"{_name(intervention)} starts at {format_clock(intervention.start)}, after "
                f"the window ends at {format_clock(self.end)}: it had no effect"
            )
            return
        if isinstance(intervention, EventTrips):
            return  # its visitors' trips are in the run's demand (sim.run_trips)
        if isinstance(intervention, AddRoad):
            self.env.process(self._road_window(intervention))
        else:
            self.env.process(self._carry_out(intervention))

    def _carry_out(self, item: Intervention):
        if item.start is not None and item.start > self.env.now:
            yield self.env.timeout(item.start - self.env.now)
        undo = self._begin(item)
        log.info("%s at %s", _name(item), format_clock(self.env.now))
        if undo is None or item.until is None or item.until >= self.end:
            return
        yield self.env.timeout(max(item.until - self.env.now, 0.0))
        undo()
        log.info("%s ended at %s", _name(item), format_clock(self.env.now))

    def _road_window(self, item: AddRoad):
        """A new road is in the network from the start; it is closed outside its window."""
        edges = self.positions(item.edge_ids)
        if item.start is not None and item.start > self.env.now:
            handle = self.roads.close_links(edges)
            yield self.env.timeout(item.start - self.env.now)
            self.roads.reopen_links(handle)
        if item.until is not None and item.until < self.end:
            yield self.env.timeout(max(item.until - self.env.now, 0.0))
            self.roads.close_links(edges)

    # -- what each kind does -----------------------------------------------------------------
    def _begin(self, item: Intervention) -> Undo | None:
        roads = self.roads
        if isinstance(item, CloseLinks):
            handle = roads.close_links(self.positions(item.edges), classes=item.classes)
            return lambda: roads.reopen_links(handle)
        if isinstance(item, ChangeLinks):
            change = LinkChange(
                speed_ms=None if item.speed_kmh is None else item.speed_kmh / 3.6,
                speed_factor=item.speed_factor,
                capacity_pcu_h=item.capacity_pcu_h,
                capacity_factor=item.capacity_factor,
                lanes=item.lanes,
                storage_factor=item.storage_factor,
            )
            handle = roads.change_links(self.positions(item.edges), change)
            return lambda: roads.undo_link_change(handle)
        if isinstance(item, ChangeSite):
            return self._change_site(item)
        if isinstance(item, AddStation | RemoveStation | MoveStation | SetStationUnits):
            return self._change_station(item)
        raise SpecError(f"the run cannot carry out interventions of kind {item.kind!r}")

    def _change_site(self, item: ChangeSite) -> Undo | None:
        tourists = self.tourists
        if tourists is None:
            self.notes.append(f"{_name(item)}: tourists are not simulated, so it had no effect")
            return None
        change = tourists.change_site(
            item.site,
            closed=True if item.closed else None,
            capacity=item.capacity,
            gate_per_min=item.gate_per_min,
        )
        return lambda: tourists.undo_site_change(change)

    def _change_station(self, item: Intervention) -> Undo | None:
        emergency = self.emergency
        if emergency is None:
            self.notes.append(f"{_name(item)}: emergency response is not simulated")
            return None
        if isinstance(item, AddStation):
            emergency.add_station(self.station(item.station))
            name = item.station.name
            return lambda: emergency.remove_station(name)
        if isinstance(item, RemoveStation):
            removed = emergency.remove_station(item.name)
            return lambda: emergency.add_station(removed)
        if isinstance(item, MoveStation):
            before = emergency.move_station(item.name, self.node(item.node_id))
            return lambda: emergency.move_station(item.name, before)
        before = emergency.set_station_units(item.name, item.units)
        return lambda: emergency.set_station_units(item.name, before)

    # -- ids to positions --------------------------------------------------------------------
    def positions(self, edge_ids: tuple[int, ...] | list[int]) -> np.ndarray:
        """Edge positions of stable edge ids."""
        try:
            return np.array([self._position[int(e)] for e in edge_ids], dtype=np.int64)
        except KeyError as exc:
            raise SpecError(
                f"edge id {exc.args[0]} is not in the run's drive network; the specification "
                "was made for another city"
            ) from None

    def node(self, node_id: int) -> int:
        """Node position of a node id."""
        try:
            return self._node[int(node_id)]
        except KeyError:
            raise SpecError(f"node id {node_id} is not in the run's drive network") from None

    def station(self, spec: StationSpec):
        """The emergency model's station for a station of the specification."""
        from sim.emergency.stations import Station

        return Station(spec.name, spec.unit_type, self.node(spec.node_id), spec.units, "added")


def _name(item: Intervention) -> str:
    return f"{item.kind}" + (f" ({item.label})" if item.label else "")
