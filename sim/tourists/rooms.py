"""Room inside a site: the most visitors it holds at once, handed out first come, first served."""

from __future__ import annotations

from collections import deque

import simpy

__all__ = ["RoomPool"]


class RoomPool:
    """Places inside one site, shared by parties in arrival order.

    A party asks for ``k`` places at once; the request at the head of the queue is granted
    as soon as ``k`` more fit under the capacity, and nobody overtakes it. A request can be
    withdrawn (a party that runs out of patience), and the capacity can change during the
    run: lowered below the places held, it admits nobody until enough are given back;
    raised, it admits waiting parties at once.

    Parameters
    ----------
    env
        The run's environment.
    capacity
        Visitors at once (``inf`` for no limit).
    """

    def __init__(self, env: simpy.Environment, capacity: float) -> None:
        self.env = env
        self.capacity = float(capacity)
        self.held = 0
        self._queue: deque[tuple[simpy.Event, int]] = deque()

    def request(self, k: int) -> simpy.Event:
        """Ask for ``k`` places; the event succeeds when they are granted."""
        event = self.env.event()
        self._queue.append((event, k))
        self._grant()
        return event

    def withdraw(self, request: simpy.Event, k: int) -> None:
        """Give up a request of ``k`` places: leave the queue, or give back the places if
        they were granted meanwhile."""
        if request.triggered:
            self.release(k)
            return
        self._queue = deque(item for item in self._queue if item[0] is not request)
        self._grant()

    def release(self, k: int) -> None:
        """Give back ``k`` granted places."""
        self.held -= k
        self._grant()

    def set_capacity(self, capacity: float) -> None:
        """Change the most visitors at once, from now on."""
        self.capacity = float(capacity)
        self._grant()

    def _grant(self) -> None:
        while self._queue and self.held + self._queue[0][1] <= self.capacity:
            event, k = self._queue.popleft()
            self.held += k
            event.succeed()
