"""Sweeps on real Dask clusters of worker processes: the same runs as a serial run, byte for
byte; nothing run twice; interruptions, a killed client and a killed worker lose nothing and
duplicate nothing; an external ``dask scheduler`` with two ``dask worker`` processes; one
copy of the city per worker."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from scenarios.catalog import list_runs, query, run_id_of
from scenarios.catalog.entries import read_run_folder
from scenarios.executor import Executor
from scenarios.sweep import plan_sweep, run_sweep
from sim.outputs import write_run
from sim.runner import run
from tests.scenarios.sweeps import assert_same_runs, grid_base, grid_sweep, run_folders, write

DASK = Path(sys.executable).with_name("dask")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    grid_sweep(folder)
    return folder


@pytest.fixture(scope="module")
def cluster():
    """A local cluster of two single-threaded worker processes, shared by the module."""
    with Executor(workers=2) as executor:
        yield executor


@pytest.fixture(scope="module")
def on_cluster(folder, cluster):
    """The 2 × 2 × 2 grid sweep run on the local cluster."""
    return run_sweep(folder / "grid.toml", out_dir=folder / "cluster", executor=cluster)


@pytest.fixture(scope="module")
def serial(folder):
    """The same sweep run in this process, one task after the other."""
    with Executor(workers=0) as executor:
        return run_sweep(folder / "grid.toml", out_dir=folder / "serial", executor=executor)


def test_a_sweep_on_a_cluster_equals_a_serial_run_byte_for_byte(
    folder, cluster, on_cluster, serial
):
    assert (on_cluster.ran, on_cluster.reused, on_cluster.failures) == (8, 0, ())
    assert assert_same_runs(folder / "cluster", folder / "serial") == 8
    pd.testing.assert_frame_equal(on_cluster.summary, serial.summary)
    pd.testing.assert_frame_equal(on_cluster.sensitivity, serial.sensitivity)
    runs = list_runs(folder / "cluster")
    assert len(runs) == 8 and runs["digest"].is_unique
    assert set(runs.columns) >= {
        "sweep", "variant", "replication", "demand.scale",
        "emergency.units.ambulances_per_hospital",
    }  # fmt: skip
    table = query(
        'SELECT "demand.scale" AS scale, count(*) AS n, min(seed) AS first_seed FROM runs '
        "GROUP BY 1 ORDER BY 1",
        root=folder / "cluster",
    )
    assert table.to_dict("list") == {"scale": [0.5, 1.0], "n": [4, 4], "first_seed": [3, 3]}
    summary = pd.read_parquet(folder / "cluster" / "summary.parquet")
    assert set(summary["parameter"]) == {"demand.scale", "emergency.units.ambulances_per_hospital"}
    trips = summary[(summary["kpi"] == "trips_total") & (summary["parameter"] == "demand.scale")]
    assert trips["mean"].iloc[1] > 1.5 * trips["mean"].iloc[0]
    assert json.loads((folder / "cluster" / "sweep.json").read_text())["ran"] == 8
    # the city went to each worker once, whatever the number of tasks
    copies = cluster.city_copies()
    assert len(copies) == 2 and set(copies.values()) == {1}


def test_a_finished_sweep_run_again_runs_nothing(folder, cluster, on_cluster):
    def manifests():
        return {p: (p / "manifest.json").read_bytes() for p in run_folders(folder / "cluster")}

    before = manifests()
    again = run_sweep(folder / "grid.toml", out_dir=folder / "cluster", executor=cluster)
    assert (again.ran, again.reused) == (0, 8)
    assert manifests() == before
    assert len(list_runs(folder / "cluster")) == 8
    more = run_sweep(
        folder / "grid.toml", out_dir=folder / "cluster", executor=cluster, replications=3
    )
    assert (more.ran, more.reused) == (4, 8) and len(list_runs(folder / "cluster")) == 12
    assert sorted(p.name for p in (folder / "cluster" / "runs" / "v000").iterdir()) == [
        "r000", "r001", "r002",
    ]  # fmt: skip
    assert cluster.city_copies() == dict.fromkeys(cluster.city_copies(), 1)


def test_an_interrupted_sweep_resumes_with_only_the_missing_tasks(folder, cluster, serial):
    out = folder / "interrupted"

    def stop_after_three(progress):
        if progress.done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(folder / "grid.toml", out_dir=out, executor=cluster, progress=stop_after_three)
    written = run_folders(out)
    assert 3 <= len(written) < 8 and len(list_runs(out)) == len(written)
    assert not (out / "sweep.json").exists()
    resumed = run_sweep(folder / "grid.toml", out_dir=out, executor=cluster)
    assert (resumed.ran, resumed.reused) == (8 - len(written), len(written))
    assert assert_same_runs(out, folder / "serial") == 8
    runs = list_runs(out)
    assert len(runs) == 8 and runs["path"].is_unique and runs["digest"].is_unique


def test_a_killed_client_leaves_no_partial_run_and_resumes(folder, serial):
    out = folder / "killed-client"
    command = [sys.executable, "-m", "twin.cli", "sweep", str(folder / "grid.toml")]
    client = subprocess.Popen(
        [*command, "--workers", "0", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list((out / ".catalog").glob("*.json"))) < 2:
            assert client.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    complete = run_folders(out)
    assert 2 <= len(complete) < 8
    for run_dir in complete:
        read_run_folder(run_dir)  # whole, or not there at all
    # a client killed between writing a run and registering it: the run is kept
    (out / ".catalog" / f"{run_id_of(complete[0], root=out)}.json").unlink()
    with Executor(workers=0) as serial:
        resumed = run_sweep(folder / "grid.toml", out_dir=out, executor=serial)
    assert (resumed.ran, resumed.reused) == (8 - len(complete), len(complete))
    assert not list((out / "runs").glob("*/.*"))  # no temporary folder left behind
    assert assert_same_runs(out, folder / "serial") == 8
    assert len(list_runs(out)) == 8


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(tmp_path, cluster):
    grid_base(tmp_path, window=("00:00", "24:00"), scale=2.0)  # runs of a few seconds
    write(
        tmp_path,
        "long.toml",
        '[sweep]\nscenario = "base.toml"\nreplications = 2\n[vary]\n'
        '"emergency.units.ambulances_per_hospital" = [1, 2]\n',
    )
    killed: dict[str, object] = {}

    def kill_a_busy_worker(progress):
        if killed or progress.done:
            return
        busy = {w: keys for w, keys in cluster.client.processing().items() if keys}
        if not busy:
            return
        worker = sorted(busy)[0]
        time.sleep(0.5)  # well inside a run of several seconds
        pid = cluster.client.run(os.getpid, workers=[worker])[worker]
        os.kill(pid, signal.SIGKILL)
        killed.update(worker=worker, pid=pid, keys=set(busy[worker]))

    result = run_sweep(
        tmp_path / "long.toml", out_dir=tmp_path / "out", executor=cluster,
        progress=kill_a_busy_worker,
    )  # fmt: skip
    assert killed, "no worker was killed"
    assert (result.ran, result.failures) == (4, ())
    runs = list_runs(tmp_path / "out")
    assert len(runs) == 4 and runs["path"].is_unique and runs["digest"].is_unique
    assert len(run_folders(tmp_path / "out")) == 4
    # the task the killed worker was running was run again elsewhere, to the same result
    lost = next(iter(killed["keys"]))
    plan = plan_sweep(tmp_path / "long.toml")
    task = next(t for t in plan.tasks if f"run-{t.spec.digest}" == lost)
    write_run(run(plan.city, task.spec), tmp_path / "alone" / task.folder)
    for name in ("trips.parquet", "links.parquet", "kpis.json"):
        assert (tmp_path / "alone" / task.folder / name).read_bytes() == (
            tmp_path / "out" / task.folder / name
        ).read_bytes()
    pids = cluster.client.run(os.getpid)
    assert killed["pid"] not in pids.values() and len(pids) == 2  # the nanny started another


@pytest.fixture(scope="module")
def external_cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes, each in its own folder."""
    tmp_path = tmp_path_factory.mktemp("external")
    file = tmp_path / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DASK_LOGGING__DISTRIBUTED": "warning"}
    processes = []

    def start(name, *args):
        here = tmp_path / name
        here.mkdir()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        processes.append(subprocess.Popen([str(DASK), *args], cwd=here, env=env, **quiet))

    start("scheduler", "scheduler", "--scheduler-file", str(file), "--host", "127.0.0.1",
          "--port", "0", "--no-dashboard")  # fmt: skip
    for k in (1, 2):
        start(f"worker{k}", "worker", "--scheduler-file", str(file), "--nthreads", "1",
              "--local-directory", str(tmp_path / f"worker{k}"), "--no-dashboard")  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not file.is_file() or not file.read_text().strip():
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_sweep_on_an_external_dask_scheduler_gives_the_local_results(
    folder, on_cluster, serial, external_cluster, tmp_path
):
    with Executor(scheduler=external_cluster) as executor:
        executor.client.wait_for_workers(2, timeout=60)
        result = run_sweep(folder / "grid.toml", out_dir=tmp_path / "out", executor=executor)
        copies = executor.city_copies()
    assert (result.ran, result.failures) == (8, ())
    assert len(copies) == 2 and set(copies.values()) == {1}
    assert assert_same_runs(tmp_path / "out", folder / "serial") == 8
    pd.testing.assert_frame_equal(result.summary, on_cluster.summary)


def test_twin_compare_on_the_external_scheduler_equals_a_serial_comparison(
    folder, external_cluster, tmp_path, capsys
):
    from twin.cli import main

    write(
        folder,
        "busier.toml",
        """
        [scenario]
        name = "busier"
        extends = "base.toml"
        [demand]
        scale = 0.7
        """,
    )
    argv = ["compare", str(folder / "base.toml"), str(folder / "busier.toml"), "--json"]
    argv += ["--replications", "2"]
    assert main([*argv, "--scheduler", external_cluster, "-o", str(tmp_path / "there")]) == 0
    there = json.loads(capsys.readouterr().out)
    assert main([*argv, "--workers", "0", "-o", str(tmp_path / "here")]) == 0
    assert json.loads(capsys.readouterr().out) == there
    for name in ("kpis.parquet", "links.parquet", "zones.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "there" / name), pd.read_parquet(tmp_path / "here" / name)
        )
    runs = list_runs()  # the runs_dir setting: both comparisons' replications
    there = runs[runs["comparison"] == str(tmp_path / "there")]
    assert sorted(zip(there["scenario"], there["replication"], strict=True)) == [
        ("base", 0), ("base", 1), ("busier", 0), ("busier", 1),
    ]  # fmt: skip


def test_a_task_failing_on_a_worker_is_reported_and_the_others_go_on(folder, cluster):
    from sim.spec import CityRef

    plan = plan_sweep(folder / "grid.toml")
    good = plan.tasks[0].spec
    bad = good.replace(city=CityRef(good.city.name, "0" * 64))
    seen = []
    failures = cluster.run_all(plan.city, [bad, good], on_result=lambda s, r: seen.append(s))
    assert seen == [good] and [f.spec for f in failures] == [bad]
    assert failures[0].error.startswith("SpecError: this specification is for the city")


def _dask_warnings_shown() -> bool:
    """Whether a warning of Dask's (``distributed.core``) would reach a stream here."""
    logger = logging.getLogger("distributed.core")
    if not logger.isEnabledFor(logging.WARNING):
        return False
    handled = False
    node = logger
    while node is not None:
        for handler in node.handlers:
            handled = True
            if isinstance(handler, logging.StreamHandler) and handler.level <= logging.WARNING:
                return True
        node = node.parent if node.propagate else None
    return not handled and logging.lastResort is not None


def test_the_local_cluster_keeps_dask_warnings_off_the_terminal(cluster):
    # a loaded machine makes Dask warn of busy event loops; only errors reach the user
    assert not _dask_warnings_shown()
    on_workers = cluster.client.run(_dask_warnings_shown)
    assert list(on_workers.values()) == [False, False]


def test_twin_verbose_lets_dask_warnings_through():
    twin_log = logging.getLogger("twin")
    before = twin_log.level
    twin_log.setLevel(logging.INFO)
    try:
        with Executor(workers=1) as executor:
            assert list(executor.client.run(_dask_warnings_shown).values()) == [True]
    finally:
        twin_log.setLevel(before)
