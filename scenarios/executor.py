"""Running many specifications at once on Dask: a local cluster here, any cluster there.

:class:`Executor` starts a ``distributed.LocalCluster`` of single-threaded worker processes
(one per core by default) or connects to an existing scheduler (``tcp://host:8786``, a
cluster started with ``dask scheduler`` and ``dask worker``; see ``docs/batch.md``). The
city is sent to every worker once (``Client.scatter(..., broadcast=True)``), never with each
task; each task runs one :class:`~sim.spec.RunSpec` with :func:`sim.runner.run` and sends
its :class:`~sim.result.RunResult` back to the client, which writes it: workers need no
shared filesystem. A task is keyed by its specification's digest, so the same run is never
computed twice in one session, and a task lost with a worker that died is run again
elsewhere (Dask's own retries). ``workers=0`` runs the tasks one after the other in this
process instead (debugging, and machines without Dask).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from sim.result import RunResult
from sim.spec import RunSpec
from twin.city import City
from twin.errors import TwinError

__all__ = ["Executor", "ExecutorError", "TaskFailure"]

log = logging.getLogger(__name__)


class ExecutorError(TwinError, RuntimeError):
    """The cluster cannot be started or reached."""


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its specification and what it raised (type and message)."""

    spec: RunSpec
    error: str


def run_task(city: City, spec: RunSpec, trips: pd.DataFrame | None = None) -> RunResult:
    """One task: run ``spec`` on ``city`` (on a worker)."""
    from sim.runner import run

    return run(city, spec, trips=trips)


class Executor:
    """Where runs are computed.

    Parameters
    ----------
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); ``None`` starts a local
        cluster.
    workers
        Worker processes of the local cluster (default: one per core); ``0`` runs in this
        process, one task after the other.
    """

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 0):
            raise ExecutorError(f"workers = {workers!r}; give 0 or more worker processes")
        if scheduler is not None and workers:
            raise ExecutorError(
                "--workers sizes a local cluster; an existing cluster (--scheduler) has the "
                "workers it was started with"
            )
        self.scheduler = scheduler
        self.workers = workers
        self.client = None
        self._cluster = None

    # -- lifetime ----------------------------------------------------------------------------
    def __enter__(self) -> Executor:
        if self.workers == 0 and self.scheduler is None:
            return self
        import dask
        from distributed import Client, LocalCluster

        try:
            if self.scheduler is not None:
                self.client = Client(self.scheduler, timeout="10s")
            else:
                n = self.workers or os.cpu_count() or 1
                # one thread per worker: the kernels' OpenMP loops must not oversubscribe
                with dask.config.set(
                    {"distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": "1"}}
                ):
                    self._cluster = LocalCluster(
                        n_workers=n,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",
                    )
                self.client = Client(self._cluster)
        except OSError as exc:
            self.close()
            where = self.scheduler or "a local cluster"
            raise ExecutorError(
                f"cannot reach {where} ({exc}); start the scheduler with `dask scheduler` "
                "and give its address (tcp://HOST:8786), or leave --scheduler out"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started one."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address, when one is running."""
        return getattr(self.client, "dashboard_link", None) if self.client else None

    @property
    def n_workers(self) -> int:
        """Workers taking tasks now (1 when running in this process)."""
        if self.client is None:
            return 1
        return len(self.client.scheduler_info().get("workers", {}))

    # -- work ---------------------------------------------------------------------------------
    def run_all(
        self,
        city: City,
        specs: Iterable[RunSpec],
        *,
        on_result: Callable[[RunSpec, RunResult], None],
        trips: pd.DataFrame | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> list[TaskFailure]:
        """Run every specification of ``city``; hand each result to ``on_result`` on the
        client as it arrives (in the order they finish).

        Parameters
        ----------
        city
            The city, sent to each worker once.
        specs
            What to run (duplicates by digest run once).
        on_result
            Called on the client with each specification and its result.
        trips
            A trips table the specifications name by checksum, sent once like the city.
        on_start
            Called once with the number of tasks submitted.

        Returns
        -------
        The tasks that failed (the others went on).
        """
        unique = {spec.digest: spec for spec in specs}
        if on_start is not None:
            on_start(len(unique))
        failures: list[TaskFailure] = []
        if self.client is None:
            for spec in unique.values():
                try:
                    result = run_task(city, spec, trips)
                except TwinError as exc:
                    failures.append(TaskFailure(spec, f"{type(exc).__name__}: {exc}"))
                    continue
                on_result(spec, result)
            return failures
        from distributed import as_completed

        city_future = self.client.scatter(city, broadcast=True, hash=False)
        trips_future = None if trips is None else self.client.scatter(trips, broadcast=True)
        futures = {
            self.client.submit(run_task, city_future, spec, trips_future, key=f"run-{digest}"): spec
            for digest, spec in unique.items()
        }
        for future in as_completed(futures):
            spec = futures[future]
            if future.status == "error":
                exc = future.exception()
                if not isinstance(exc, TwinError):
                    raise exc
                failures.append(TaskFailure(spec, f"{type(exc).__name__}: {exc}"))
                continue
            on_result(spec, future.result())
            future.release()
        return failures
