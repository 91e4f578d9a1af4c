"""What agents ask of the roads during a run, and a free-flow implementation.

Tourists' taxis and tour buses, ambulances and fire engines all travel through a
:class:`Roads`: the traffic engine (``sim.traffic.engine``) in a full run, or
:class:`FreeFlowRoads` when traffic is off (theory checks, quick studies). Both share the
run's ``simpy.Environment``, whose clock is seconds after midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy

from kernels import dijkstra
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

    Parameters
    ----------
    env
        The run's environment.
    network
        The drive network.
    speed_factor
        Multiplier on free-flow speed by vehicle class (1.0 when a class is not listed).
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
        self._free_flow = network.free_flow_time

    def link_times(self, vehicle_class: str = "car") -> np.ndarray:
        return self._free_flow / self.speed_factor.get(vehicle_class, 1.0)

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
