"""What the workers of an executor hold: the city (and a trips table), once per worker.

:class:`Shipment` is a Dask worker plugin. :class:`scenarios.executor.Executor` registers one
per city (``Client.register_plugin``); the scheduler keeps it and gives it to every worker
once, and to each worker that joins or restarts, so a worker holds one copy of the city for
the executor's lifetime. Each task finds it by name (:func:`run_shipped`). This module is
imported on the workers and only where Dask is in use (it imports ``distributed``).
"""

from __future__ import annotations

import pandas as pd
from distributed import WorkerPlugin, get_worker

from sim.result import RunResult
from sim.spec import RunSpec
from twin.city import City

__all__ = ["Shipment", "cities_held", "run_shipped"]


class Shipment(WorkerPlugin):
    """The city and a trips table, held by a worker.

    Parameters
    ----------
    name
        Its name on the workers (unique per executor and city).
    city
        The city.
    trips
        A trips table the specifications name by checksum, or ``None``.
    """

    idempotent = False

    def __init__(self, name: str, city: City, trips: pd.DataFrame | None = None) -> None:
        self.name, self.city, self.trips = name, city, trips

    def teardown(self, worker) -> None:
        """Let the worker free the city (the plugin is unregistered)."""
        self.city = self.trips = None


def run_shipped(name: str, spec: RunSpec) -> RunResult:
    """One task on a worker: run ``spec`` on the city of the :class:`Shipment` ``name``."""
    from sim.runner import run

    shipment = get_worker().plugins[name]
    return run(shipment.city, spec, trips=shipment.trips)


def cities_held(dask_worker) -> int:
    """How many distinct cities a worker holds, in its data and in its plugins (run on the
    worker with ``Client.run``)."""
    held = [value for value in dask_worker.data.values() if isinstance(value, City)]
    held += [
        plugin.city
        for plugin in dask_worker.plugins.values()
        if isinstance(getattr(plugin, "city", None), City)
    ]
    return len({id(city) for city in held})
