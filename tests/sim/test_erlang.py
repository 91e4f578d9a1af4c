"""Against theory: with no travel, Poisson calls and exponential service, the pool of units
is an M/M/c queue, so the dispatch code must reproduce Erlang C."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from sim.emergency.model import Emergency
from sim.roads import FreeFlowRoads
from twin.synthetic import grid_city


def erlang_c(c: int, lam: float, mu: float) -> tuple[float, float]:
    """Probability of waiting and mean wait in queue of an M/M/c queue (Erlang C)."""
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (head + tail)
    return p_wait, p_wait / (c * mu - lam)


def mmc_params(c: int, calls_per_day: float, service_s: float, residents: float) -> dict:
    flat = [1.0] * 24
    return {
        "demand": {
            "medical_per_1000_residents_per_day": calls_per_day / residents * 1000.0,
            "fires_per_100k_residents_per_day": 0.0,
            "crashes_per_million_vehicle_km": 0.0,
            "hourly_profile": {"medical": flat},
        },
        "units": {"ambulances_per_hospital": c},
        "response": {
            "travel": "zero",
            "dispatch_delay_s": {"mean": 0.0, "cv": 0.0},
            "turnout_s": {"mean": 0.0, "cv": 0.0},
            "scene_s": {"medical": {"mean": service_s, "cv": 1.0}},
            "transport_share": {"medical": 0.0},
        },
    }


@pytest.mark.parametrize(
    ("c", "calls_per_hour", "service_s"),
    [(1, 3.0, 600.0), (3, 2.4, 3600.0)],  # rho = 0.5 and 0.8
)
def test_waiting_matches_erlang_c(c, calls_per_hour, service_s):
    city = grid_city()
    days, warmup_days, batches = 400, 5, 20
    params = mmc_params(c, calls_per_hour * 24, service_s, city.population)
    env = simpy.Environment()
    model = Emergency(
        env, city, FreeFlowRoads(env, city.drive), rng=np.random.default_rng(7), params=params
    )
    model.start()
    env.run(until=days * 86_400.0)
    table = model.incidents_table()
    table = table[(table["call"] >= warmup_days * 86_400.0) & table["dispatch"].notna()]
    lam, mu = calls_per_hour / 3600.0, 1.0 / service_s
    p_theory, wq_theory = erlang_c(c, lam, mu)

    # batch means: consecutive batches of the stream are nearly independent
    ordered = table.sort_values("call")
    groups = [ordered.iloc[idx] for idx in np.array_split(np.arange(len(ordered)), batches)]
    p_batch = np.array([g["waited"].mean() for g in groups])
    w_batch = np.array([g["wait_s"].mean() for g in groups])
    se_p = p_batch.std(ddof=1) / math.sqrt(batches)
    se_w = w_batch.std(ddof=1) / math.sqrt(batches)
    assert len(table) > 15_000
    assert abs(p_batch.mean() - p_theory) < 4 * se_p + 0.01, (p_batch.mean(), p_theory)
    assert abs(w_batch.mean() - wq_theory) < 4 * se_w + 0.02 * wq_theory, (
        w_batch.mean(),
        wq_theory,
    )
    # a wait happens exactly when the call found every unit busy
    assert ((table["wait_s"] > 0) == table["waited"]).all()
    # the units are busy lambda / (c mu) of the time
    utilisation = model.kpis()["unit_utilisation"]["ambulance"]
    assert utilisation == pytest.approx(lam / (c * mu), abs=0.03)


def test_erlang_c_reference():
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda)
    p, wq = erlang_c(1, 0.5, 1.0)
    assert p == pytest.approx(0.5)
    assert wq == pytest.approx(1.0)
    # a textbook M/M/2 value: a = 1 -> P(wait) = 1/3
    assert erlang_c(2, 1.0, 1.0)[0] == pytest.approx(1 / 3)
