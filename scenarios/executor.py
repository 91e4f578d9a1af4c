"""Running many specifications at once on Dask: a local cluster here, any cluster there.

:class:`Executor` starts a ``distributed.LocalCluster`` of single-threaded worker processes
(one per core by default) or connects to an existing scheduler (``tcp://host:8786``, a
cluster started with ``dask scheduler`` and ``dask worker``; see ``docs/batch.md``); with
neither asked for, the ``scheduler`` setting (``TWIN_SCHEDULER``) names one, else a local
cluster starts. Each task runs one :class:`~sim.spec.RunSpec` with :func:`sim.runner.run`
and sends its :class:`~sim.result.RunResult` back to the client, which writes it: workers
need no shared filesystem. ``workers=0`` runs the tasks one after the other in this
process instead (debugging, and machines without Dask).

The city travels once per worker
--------------------------------
The city (and a trips table, when the specifications name one) is sent to the workers in
a worker plugin (:class:`scenarios.shipment.Shipment`, ``Client.register_plugin``): the
scheduler gives it to every worker once, and again only to a worker that joins or
restarts; each worker holds one copy for the executor's lifetime and every task reads it
there. Scattered data would
not do: Dask's active memory manager drops the "extra" replicas of a scattered object when
no waiting task needs them, after which a worker fetches the city again for its next
batch. :meth:`Executor.city_copies` counts the cities each worker holds. Closing the
executor unregisters the plugin, so an external cluster forgets the city.

Faults
------
A task is keyed by its specification's digest, so the same run is never computed twice in
one session, and the client hands each result on exactly once. A task whose worker process
dies is run again on another worker by Dask itself (up to
``distributed.scheduler.allowed-failures`` times; after that it counts as failed). A task
that raises a :class:`~twin.errors.TwinError` (a reason in its input) is reported as a
:class:`TaskFailure` and the others go on; any other exception is a bug: the remaining tasks
are cancelled and it is raised. Every worker must run the client's code: a worker whose
installed code differs (:func:`sim.manifest.code_version`) is refused.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from sim.result import RunResult
from sim.spec import RunSpec
from twin.city import City
from twin.errors import TwinError

__all__ = ["Executor", "ExecutorError", "Progress", "TaskFailure"]

log = logging.getLogger(__name__)


def _dask_log_level() -> int:
    """The level of the local cluster's own log lines (scheduler, nannies, workers):
    errors only, unless ``twin -v`` asked for details. Dask warns of busy event loops and
    slow heartbeats whenever the machine is loaded; those are not the user's concern."""
    return (
        logging.WARNING if logging.getLogger("twin").isEnabledFor(logging.INFO) else logging.ERROR
    )


#: Seconds between two progress reports while no task finishes.
POLL_INTERVAL = 1.0


class ExecutorError(TwinError, RuntimeError):
    """The cluster cannot be started or reached, or a worker runs other code."""


@dataclass(frozen=True)
class TaskFailure:
    """A task that raised: its specification and what it raised (type and message)."""

    spec: RunSpec
    error: str


@dataclass(frozen=True)
class Progress:
    """Where a batch of tasks stands.

    Attributes
    ----------
    total
        Tasks submitted.
    done
        Tasks finished, their results handed on.
    running
        Tasks a worker is computing now.
    failed
        Tasks that failed (:class:`TaskFailure`).
    elapsed_s
        Seconds since the tasks were submitted.
    eta_s
        Seconds left, from the pace so far (``None`` until a task has finished).
    """

    total: int
    done: int
    running: int
    failed: int
    elapsed_s: float
    eta_s: float | None

    @property
    def waiting(self) -> int:
        """Tasks not started yet."""
        return max(0, self.total - self.done - self.failed - self.running)


def run_task(city: City, spec: RunSpec, trips: pd.DataFrame | None = None) -> RunResult:
    """One task in this process: run ``spec`` on ``city``."""
    from sim.runner import run

    return run(city, spec, trips=trips)


def _code_on_worker() -> str:
    from sim.manifest import code_version

    return code_version()["code_sha256"]


class Executor:
    """Where runs are computed.

    Parameters
    ----------
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); ``"local"`` starts a
        local cluster; ``None`` uses the ``scheduler`` setting (``TWIN_SCHEDULER``) when
        ``workers`` is not given, else starts a local cluster.
    workers
        Worker processes of the local cluster (default: one per core); ``0`` runs in this
        process, one task after the other.
    timeout
        Seconds to wait for an existing scheduler to answer.
    """

    def __init__(
        self, *, scheduler: str | None = None, workers: int | None = None, timeout: float = 10.0
    ) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 0):
            raise ExecutorError(f"workers = {workers!r}; give 0 or more worker processes")
        if scheduler is not None and scheduler != "local" and workers is not None:
            raise ExecutorError(
                "--workers sizes a local cluster; an existing cluster (--scheduler) has the "
                "workers it was started with"
            )
        if scheduler is None and workers is None:
            from twin.settings import get_settings

            scheduler = get_settings().scheduler
        self.scheduler = None if scheduler == "local" else scheduler
        self.workers = workers
        self.timeout = timeout
        self.client = None
        self._cluster = None
        self._shipped: dict[tuple[str, str], str] = {}
        self._code_checked = False
        #: The ``distributed`` logger's level before this executor quietened it.
        self._dask_log_level: int | None = None

    # -- lifetime ----------------------------------------------------------------------------
    def __enter__(self) -> Executor:
        if self.workers == 0 and self.scheduler is None:
            return self
        import dask
        from distributed import Client, LocalCluster

        quiet = _dask_log_level()
        dask_log = logging.getLogger("distributed")
        self._dask_log_level = dask_log.level
        dask_log.setLevel(quiet)
        try:
            if self.scheduler is not None:
                self.client = Client(self.scheduler, timeout=f"{self.timeout}s")
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
                        silence_logs=quiet,
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
        """Disconnect (an external cluster forgets the city), and stop the local cluster if
        this executor started one."""
        if self.client is not None:
            for name in self._shipped.values():
                try:
                    self.client.unregister_worker_plugin(name)
                except Exception as exc:  # the cluster is gone or going: nothing to free
                    log.debug("cannot unregister %s: %s", name, exc)
        self._shipped.clear()
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        if self._dask_log_level is not None:
            logging.getLogger("distributed").setLevel(self._dask_log_level)
            self._dask_log_level = None

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's address, when one is running."""
        return getattr(self.client, "dashboard_link", None) if self.client else None

    @property
    def dashboard_note(self) -> str:
        """What to do to see the dashboard's plots (``""`` when nothing is missing)."""
        if self.client is None or self._cluster is None:
            return ""
        if importlib.util.find_spec("bokeh") is None:
            return "install bokeh>=3.1 to see its plots"
        return ""

    @property
    def n_workers(self) -> int:
        """Workers taking tasks now (1 when running in this process)."""
        if self.client is None:
            return 1
        return len(self.client.scheduler_info().get("workers", {}))

    def city_copies(self) -> dict[str, int]:
        """How many cities each worker holds in memory (in its data and its plugins), by
        worker address (``{}`` when running in this process)."""
        if self.client is None:
            return {}
        from scenarios.shipment import cities_held

        return dict(self.client.run(cities_held))

    # -- work ---------------------------------------------------------------------------------
    def run_all(
        self,
        city: City,
        specs: Iterable[RunSpec],
        *,
        on_result: Callable[[RunSpec, RunResult], None],
        trips: pd.DataFrame | None = None,
        on_start: Callable[[int], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> list[TaskFailure]:
        """Run every specification of ``city``; hand each result to ``on_result`` on the
        client as it arrives (in the order they finish), exactly once.

        Parameters
        ----------
        city
            The city, sent to each worker once per executor.
        specs
            What to run (duplicates by digest run once).
        on_result
            Called on the client with each specification and its result.
        trips
            A trips table the specifications name by checksum, sent once like the city.
        on_start
            Called once with the number of tasks submitted.
        progress
            Called on the client with a :class:`Progress` when a task finishes or fails,
            and every :data:`POLL_INTERVAL` seconds in between.

        Returns
        -------
        The tasks that failed (the others went on).

        Raises
        ------
        ExecutorError
            A worker runs other code than the client.
        """
        unique = {spec.digest: spec for spec in specs}
        if on_start is not None:
            on_start(len(unique))
        tally = _Tally(len(unique), progress)
        if self.client is None:
            return self._run_here(city, unique, trips, on_result, tally)
        return self._run_on_cluster(city, unique, trips, on_result, tally)

    def _run_here(self, city, unique, trips, on_result, tally) -> list[TaskFailure]:
        failures: list[TaskFailure] = []
        for spec in unique.values():
            tally.report(running=1)
            try:
                result = run_task(city, spec, trips)
            except TwinError as exc:
                failures.append(TaskFailure(spec, f"{type(exc).__name__}: {exc}"))
                tally.failed += 1
                tally.report()
                continue
            on_result(spec, result)
            tally.done += 1
            tally.report()
        return failures

    def _run_on_cluster(self, city, unique, trips, on_result, tally) -> list[TaskFailure]:
        from distributed import KilledWorker, as_completed

        from scenarios.shipment import run_shipped

        self._check_code()
        name = self._ship(city, trips)
        futures = {
            self.client.submit(run_shipped, name, spec, key=f"run-{digest}"): spec
            for digest, spec in unique.items()
        }
        keys = {future.key for future in futures}
        failures: list[TaskFailure] = []
        handed: set[str] = set()
        outstanding = set(futures)
        completed = as_completed(futures)
        last = 0.0
        try:
            while outstanding:
                batch = completed.next_batch(block=False)
                if not batch:
                    if time.monotonic() - last >= POLL_INTERVAL:
                        tally.report(running=self._running(keys))
                        last = time.monotonic()
                    time.sleep(0.05)
                    continue
                for future in batch:
                    outstanding.discard(future)
                    keys.discard(future.key)
                    spec = futures[future]
                    if future.status == "error":
                        exc = future.exception()
                        if isinstance(exc, KilledWorker):
                            failures.append(TaskFailure(spec, _killed(exc)))
                        elif isinstance(exc, TwinError):
                            failures.append(TaskFailure(spec, f"{type(exc).__name__}: {exc}"))
                        else:
                            raise exc
                        tally.failed += 1
                    elif spec.digest not in handed:
                        result = future.result()
                        self._check_result_code(result)
                        handed.add(spec.digest)
                        on_result(spec, result)
                        tally.done += 1
                    future.release()
                tally.report(running=self._running(keys))
                last = time.monotonic()
        finally:
            if outstanding:
                self.client.cancel(list(outstanding))
        return failures

    def _ship(self, city: City, trips: pd.DataFrame | None) -> str:
        """The name of the :class:`~scenarios.shipment.Shipment` of ``city`` and ``trips``
        on the workers, registered once per executor and content (the city's checksum and
        the trips' checksum)."""
        from scenarios.shipment import Shipment
        from sim.manifest import trips_checksum
        from twin.city import city_checksum

        content = (city_checksum(city), "" if trips is None else trips_checksum(trips))
        if content in self._shipped:
            return self._shipped[content]
        name = f"hue-twin-city-{uuid.uuid4().hex[:12]}"
        try:
            self.client.register_plugin(Shipment(name, city, trips), name=name)
        except Exception as exc:  # a worker that cannot unpickle the city
            raise ExecutorError(
                f"the workers cannot take the city ({type(exc).__name__}: {exc}); install "
                "hue-twin, with its kernels built, on every worker (docs/batch.md)"
            ) from None
        self._shipped[content] = name
        return name

    def _running(self, keys: set[str]) -> int:
        """Tasks among ``keys`` a worker is computing (at most one per worker thread)."""
        if not keys:
            return 0
        try:
            processing = self.client.processing()
            threads = self.client.nthreads()
        except OSError:  # the scheduler is briefly unreachable: report nothing running
            return 0
        return sum(
            min(sum(1 for key in assigned if key in keys), threads.get(worker, 1))
            for worker, assigned in processing.items()
        )

    def _check_code(self) -> None:
        """Refuse workers whose installed code differs from the client's."""
        if self._code_checked:
            return
        from sim.manifest import code_version

        mine = code_version()["code_sha256"]
        try:
            theirs = self.client.run(_code_on_worker)
        except Exception as exc:  # a worker without the package cannot even say
            raise ExecutorError(
                f"a worker cannot run hue-twin ({type(exc).__name__}: {exc}); install it, "
                "with its kernels built, on every worker (docs/batch.md)"
            ) from None
        other = {worker: code for worker, code in theirs.items() if code != mine}
        if other:
            raise ExecutorError(_other_code(mine, other))
        self._code_checked = True

    def _check_result_code(self, result: RunResult) -> None:
        from sim.manifest import code_version

        mine = code_version()["code_sha256"]
        code = (result.manifest.get("code") or {}).get("code_sha256", mine)
        if code != mine:
            raise ExecutorError(_other_code(mine, {"a worker that joined later": code}))


class _Tally:
    """Counts of a batch, reported to a progress callback."""

    def __init__(self, total: int, callback: Callable[[Progress], None] | None) -> None:
        self.total, self.callback = total, callback
        self.done = self.failed = 0
        self.start = time.monotonic()

    def report(self, *, running: int = 0) -> None:
        if self.callback is None:
            return
        elapsed = time.monotonic() - self.start
        finished = self.done + self.failed
        left = self.total - finished
        eta = elapsed / finished * left if finished else None
        self.callback(Progress(self.total, self.done, running, self.failed, elapsed, eta))


def _killed(exc: Exception) -> str:
    return (
        f"KilledWorker: the worker processes running this task died while running it ({exc}); "
        "a run that needs more memory than a worker has, or a crash in a kernel, does this: "
        "give the workers more memory (dask worker --memory-limit) or run it alone with "
        "`twin run --spec` to see the error"
    )


def _other_code(mine: str, other: dict[str, str]) -> str:
    listed = ", ".join(f"{worker} ({code[:12]}…)" for worker, code in sorted(other.items()))
    return (
        f"workers run other code than this client (code_sha256 {mine[:12]}…): {listed}; "
        "install the same version of hue-twin, with its kernels built, on every worker "
        "(docs/batch.md)"
    )
