"""The executor on its own: progress, failures, the scheduler setting, a missing scheduler.
(Its runs on real clusters are tested with sweeps, tests/scenarios/test_sweep_cluster.py.)"""

from __future__ import annotations

import pytest

from scenarios.executor import Executor, ExecutorError
from sim.spec import CityRef
from sim.spec_builder import build_spec
from twin.synthetic import grid_city


def test_progress_counts_done_running_failed_and_time_left():
    city = grid_city()
    good = [
        build_spec(city, seed=s, start="06:00", end="06:20", tourists=False, emergency=False)
        for s in (1, 2)
    ]
    bad = good[0].replace(city=CityRef(city.name, "0" * 64))
    seen, results = [], []
    with Executor(workers=0) as executor:
        failures = executor.run_all(
            city, [good[0], bad, good[1], good[0]], on_result=lambda s, r: results.append(s),
            progress=seen.append,
        )  # fmt: skip
    assert results == good  # the duplicate ran once
    assert [f.spec for f in failures] == [bad]
    assert "checksum" in failures[0].error and failures[0].error.startswith("SpecError")
    last = seen[-1]
    assert (last.total, last.done, last.failed, last.running, last.waiting) == (3, 2, 1, 0, 0)
    assert last.eta_s == 0.0 and last.elapsed_s > 0
    assert [p.running for p in seen].count(1) == 3  # each task reported while it ran
    assert seen[0].eta_s is None  # no pace yet


def test_the_scheduler_setting_and_a_scheduler_that_is_not_there(monkeypatch):
    monkeypatch.delenv("TWIN_SCHEDULER", raising=False)
    assert Executor().scheduler is None
    monkeypatch.setenv("TWIN_SCHEDULER", "tcp://127.0.0.1:9")
    assert Executor().scheduler == "tcp://127.0.0.1:9"
    assert Executor(workers=2).scheduler is None and Executor(scheduler="local").scheduler is None
    with pytest.raises(ExecutorError, match="sizes a local cluster"):
        Executor(scheduler="tcp://127.0.0.1:9", workers=2)
    with pytest.raises(ExecutorError, match=r"cannot reach tcp://127\.0\.0\.1:9 .*dask scheduler"):
        Executor(timeout=1.0).__enter__()


def test_the_scheduler_setting_from_a_config_file(tmp_path, monkeypatch):
    from twin.errors import ConfigError
    from twin.settings import get_settings

    monkeypatch.delenv("TWIN_SCHEDULER", raising=False)
    config = tmp_path / "twin.toml"
    config.write_text('scheduler = "tcp://10.0.0.5:8786"\n')
    monkeypatch.setenv("TWIN_CONFIG", str(config))
    assert get_settings().scheduler == "tcp://10.0.0.5:8786"
    config.write_text("scheduler = 8786\n")
    with pytest.raises(ConfigError, match="address of a Dask scheduler as text"):
        get_settings()
