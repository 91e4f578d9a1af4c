"""What agents ask of the roads during a run, and a free-flow implementation.

Tourists' taxis and tour buses, ambulances and fire engines all travel through a
:class:`Roads`: the traffic engine (``sim.traffic.engine``) in a full run, or
:class:`FreeFlowRoads` when traffic is off (theory checks, quick studies). Both share the
run's ``simpy.Environment``, whose clock is seconds after midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy

from kernels import dijkstra
from sim.link_changes import LinkChange, LinkChanges
from twin.errors import TwinError
from twin.network import Network


class UnreachableError(TwinError, ValueError):
    """A vehicle was sent to a node that cannot be reached from where it starts."""


@dataclass(frozen=True)
class Journey:
    """One vehicle's completed trip through the roads.

    Attributes
    ----------
    origin, destination
        Drive-network node positions.
    depart, arrive
        Seconds after midnight.
    distance
        Metres driven.
    vehicle_class
        ``"car"``, ``"motorbike"``, ``"bus"``, ``"emergency"``…
    """

    origin: int
    destination: int
    depart: float
    arrive: float
    distance: float
    vehicle_class: str

    @property
    def travel_time(self) -> float:
        """Seconds from departure to arrival."""
        return self.arrive - self.depart


class Roads(Protocol):
    """The road network as agents see it during a run."""

    env: simpy.Environment
    network: Network

    def link_times(self, vehicle_class: str = "car") -> np.ndarray:
        """Current traversal time of every drive edge for this class, seconds."""
        ...

    def drive(self, origin: int, destination: int, *, vehicle_class: str = "car") -> simpy.Event:
        """Send one vehicle now; the event succeeds at arrival with its :class:`Journey`."""
        ...


class FreeFlowRoads:
    """Roads with no traffic: every vehicle drives the fastest free-flow path.

    Links can be closed (to some classes) and changed during the run, as on the traffic
    engine (:meth:`close_links`, :meth:`change_links`).

    Parameters
    ----------
    env
        The run's environment.
    network
        The drive network.
    speed_factor
        Multiplier on free-flow speed by vehicle class (1.0 when a class is not listed);
        its keys are the classes links can be closed to.
    """

    def __init__(
        self,
        env: simpy.Environment,
        network: Network,
        *,
        speed_factor: dict[str, float] | None = None,
    ) -> None:
        self.env = env
        self.network = network
        self.speed_factor = dict(speed_factor or {})
        self.class_names = tuple(self.speed_factor) or ("car",)
        self.links = LinkChanges(network, self.class_names)

    def link_times(self, vehicle_class: str = "car") -> np.ndarray:
        times = self.network.length / (self.links.speed * self.speed_factor.get(vehicle_class, 1.0))
        if vehicle_class in self.class_names:
            times[self.links.closed_to(self.class_names.index(vehicle_class))] = np.inf
        return times

    def close_links(self, edges: Iterable[int], *, classes: Sequence[str] = ()) -> int:
        """Close edges (positions) to ``classes`` (all when empty); returns a handle."""
        return self.links.close(np.asarray(list(edges), dtype=np.int64), classes)

    def reopen_links(self, handle: int) -> None:
        """End the closure ``handle``."""
        self.links.reopen(handle)

    def change_links(self, edges: Iterable[int], change: LinkChange) -> int:
        """Change edges' speed (capacity and storage do not matter without traffic)."""
        return self.links.change(np.asarray(list(edges), dtype=np.int64), change)

    def undo_link_change(self, handle: int) -> None:
        """End the change ``handle``."""
        self.links.undo(handle)

    def drive(self, origin: int, destination: int, *, vehicle_class: str = "car") -> simpy.Event:
        return self.env.process(self._drive(origin, destination, vehicle_class))

    def _drive(self, origin: int, destination: int, vehicle_class: str):
        net = self.network
        times = self.link_times(vehicle_class)
        cost, pred = dijkstra(net.indptr, net.indices, times, origin)
        if not np.isfinite(cost[destination]):
            raise UnreachableError(
                f"node {destination} cannot be reached from node {origin} on the drive "
                "network; send vehicles between nodes of one strongly connected part"
            )
        distance = _path_length(net, pred, origin, destination)
        depart = self.env.now
        yield self.env.timeout(float(cost[destination]))
        return Journey(origin, destination, depart, self.env.now, distance, vehicle_class)


def _path_length(net: Network, pred: np.ndarray, origin: int, destination: int) -> float:
    """Metres along the predecessor tree from ``origin`` to ``destination``."""
    total, v = 0.0, destination
    while v != origin:
        u = int(pred[v])
        heads = net.indices[net.indptr[u] : net.indptr[u + 1]]
        lengths = net.length[net.indptr[u] : net.indptr[u + 1]]
        total += float(lengths[heads == v].min())
        v = u
    return total
