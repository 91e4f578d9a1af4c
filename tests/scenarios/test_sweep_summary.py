"""The sweep's summary: level means and intervals by hand, first-order sensitivity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scenarios.sweep.file import Parameter
from scenarios.sweep.summary import level_table, sensitivity_table


def runs_of(rows):
    table = pd.DataFrame(rows)
    for key in [c for c in table.columns if "." in c and c != "mean_speed_kmh"]:
        table[key] = pd.Series(list(table[key]), dtype=object)
    return table


def test_level_means_and_intervals_over_replications_by_hand():
    a = Parameter("demand.scale", levels=(0.5, 1.0))
    b = Parameter("switch.closed", levels=(False, True))
    speed = {  # (scale, closed, replication) -> km/h
        (0.5, False, 0): 30.0, (0.5, False, 1): 32.0, (0.5, True, 0): 28.0, (0.5, True, 1): 26.0,
        (1.0, False, 0): 20.0, (1.0, False, 1): 24.0, (1.0, True, 0): 18.0, (1.0, True, 1): 14.0,
    }  # fmt: skip
    rows = [
        {"variant": f"v{int(s * 2)}{int(c)}", "replication": r, "demand.scale": s,
         "switch.closed": c, "mean_speed_kmh": v}
        for (s, c, r), v in speed.items()
    ]  # fmt: skip
    table = level_table(runs_of(rows), [a, b], ["mean_speed_kmh"], bins=4)
    assert list(table["level"]) == ["0.5", "1.0", "false", "true"]
    row = table.iloc[0]  # scale 0.5: replication means 29 and 29
    assert (row["mean"], row["sd"], row["ci_low"], row["ci_high"]) == (29.0, 0.0, 29.0, 29.0)
    row = table.iloc[3]  # closed: replication means (28 + 18) / 2 = 23 and (26 + 14) / 2 = 20
    half = 12.706204736174707 * math.sqrt(4.5) / math.sqrt(2)  # t(0.975, 1) · sd / √n
    assert row["mean"] == 21.5 and row["ci_low"] == pytest.approx(21.5 - half)
    assert (row["replications"], row["runs"], row["variants"]) == (2, 4, 2)
    assert row["unit"] == "km/h" and row["better"] == "higher"
    assert (row["level_low"], row["level_high"]) == (1.0, 1.0)


def test_first_order_sensitivity_finds_the_parameter_that_matters():
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(0, 1, 64), rng.uniform(0, 1, 64)
    rows = []
    for k in range(64):
        for r in range(2):
            y = 10 * x1[k] + 0.1 * rng.normal()  # x2 does nothing
            rows.append({"variant": f"v{k:03d}", "replication": r, "demand.scale": x1[k],
                         "traffic.refresh_s": x2[k], "vehicle_hours": y})  # fmt: skip
    params = [
        Parameter("demand.scale", low=0.0, high=1.0),
        Parameter("traffic.refresh_s", low=0.0, high=1.0),
    ]
    table = sensitivity_table(runs_of(rows), params, ["vehicle_hours"], bins=4)
    first = table.set_index("parameter")
    # four bins of a uniform x1 explain 1 − 1/16 of a linear effect's variance
    assert first.loc["demand.scale", "first_order"] == pytest.approx(15 / 16, abs=0.03)
    assert first.loc["traffic.refresh_s", "first_order"] < 0.05
    assert first.loc["demand.scale", "rank"] == 1 and first.loc["traffic.refresh_s", "rank"] == 2
    # η² of a parameter that does nothing is above zero; ε² corrects for that
    idle = first.loc["traffic.refresh_s"]
    assert idle["eta_squared"] > idle["first_order"]
    assert first.loc["demand.scale", "seed_share"] < 0.01
    levels = level_table(runs_of(rows), params, ["vehicle_hours"], bins=4)
    bins = levels[levels["parameter"] == "demand.scale"]
    assert len(bins) == 4 and (bins["variants"] == 16).all()
    assert (np.diff(bins["mean"].to_numpy()) > 0).all()
    assert bins["level_high"].iloc[0] < bins["level_low"].iloc[1]


def test_a_kpi_that_does_not_vary_has_no_sensitivity():
    rows = [
        {"variant": f"v{k}", "replication": 0, "demand.scale": float(k), "co2_kg": 5.0}
        for k in range(4)
    ]
    table = sensitivity_table(
        runs_of(rows), [Parameter("demand.scale", levels=(0.0, 1.0, 2.0, 3.0))], ["co2_kg"], bins=4
    )
    assert table["first_order"].isna().all() and table["eta_squared"].isna().all()
