"""Tourists: attraction changes during a run (closed, capacity, gate throughput), undone."""

from __future__ import annotations

import math
from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest

from sim.interventions import ChangeSite
from sim.runner import run
from sim.spec_builder import build_spec
from sim.tourists.errors import TouristsError
from tests.sim.test_tourists import HEADER, make

# Grid city (tests/conftest.py `grid`): Hotel A lies 800 m on foot from the Citadel, so a
# lone tourist who leaves at 08:00 and walks at 1 m/s arrives at 29600 s (08:13:20).
ARRIVE = 29600.0


def write_table(tmp_path, *rows: str):
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def during(model, start: float, end: float | None, site: str, **change) -> None:
    """Change ``site`` at ``start`` and undo the change at ``end`` (the engine's part)."""
    env = model.env

    def window():
        yield env.timeout(start - env.now)
        change_id = model.change_site(site, **change)
        if end is not None:
            yield env.timeout(end - env.now)
            model.undo_site_change(change_id)

    env.process(window())


def peak(occupancy: pd.DataFrame, site: str, start: float, end: float) -> int:
    """Most visitors inside ``site`` at any moment of ``[start, end)``."""
    log = occupancy[occupancy["site"] == site]
    carried_in = log.loc[log["time"] < start, "occupancy"].iloc[-1:]
    inside = log.loc[log["time"].between(start, end, inclusive="left"), "occupancy"]
    return int(max([0, *carried_in, *inside]))


# -- closing ---------------------------------------------------------------------------------

BUSY = {
    "tourists_per_day": 400, "tour_group_share": 0.0, "party_size_max": 1,
    "walk_max_m": 2000.0, "sites_min": 1, "sites_max": 2, "depart_sd_min": 60.0,
}  # fmt: skip


def test_a_site_closed_for_a_window_admits_nobody_in_it_and_admits_after(grid, tmp_path):
    table = write_table(
        tmp_path,
        "Citadel,,Citadel,attraction,,,100,08:00,17:00,0,60,6,,",
        "Pagoda,,Pagoda,pagoda_temple,,,50,07:00,17:30,0,20,,,",
    )

    def day(close: bool):
        env, model = make(grid, table, seed=3, **BUSY, depart_mean="10:30", depart_latest="13:30")
        if close:
            during(model, 10 * 3600, 12 * 3600, "Citadel", closed=True)
        model.start()
        env.run()
        visits = model.visits_table()
        return visits[visits["site"] == "Citadel"]

    def entries(visits, start, end):
        done = visits[~visits["missed"]]
        return int(done["enter"].between(start, end, inclusive="left").sum())

    base, closed = day(False), day(True)
    assert entries(base, 10 * 3600, 12 * 3600) > 20  # the window is busy on a normal day
    assert entries(closed, 10 * 3600, 12 * 3600) == 0
    assert entries(closed, 12 * 3600, 17 * 3600) > 0
    turned_away = closed[closed["missed_reason"] == "closed"]
    assert len(turned_away) > 0 and turned_away["arrive"].between(10 * 3600, 12 * 3600).all()
    assert base["missed_reason"].ne("closed").all()
    # those inside at 10:00 finish their hour (the visit is not cut short)
    inside = closed[
        ~closed["missed"] & (closed["enter"] < 10 * 3600) & (closed["leave"] > 10 * 3600)
    ]
    assert len(inside) > 0
    assert np.allclose(inside["leave"] - inside["enter"], 3600.0)


def test_a_closure_turns_away_who_waits_for_room_or_at_the_gate(grid, tmp_path):
    # Room for 4, a gate passing 2 a minute (30 s a visitor), an hour inside. At 29600 a
    # pair and three lone tourists arrive together: the pair and two others get room (the
    # pair passes the gate 29600-29660, then one 29660-29690, the other queues) and the
    # third waits for room. The site closes at 29670, reopens at 31000.
    table = write_table(tmp_path, "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,2,4,")
    env, model = make(grid, table, walk_max_m=1000.0)
    model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"], size=2)
    for depart in ("08:00", "08:00", "08:00"):
        model.add_party("Hotel A", depart=depart, wishlist=["Citadel"])
    model.add_party("Hotel A", depart="08:10", wishlist=["Citadel"], size=3)
    model.add_party("Hotel A", depart="08:30", wishlist=["Citadel"])
    during(model, ARRIVE + 70, 31_000.0, "Citadel", closed=True)
    model.start()
    env.run()
    v = model.visits_table().groupby("party_id").first()
    # the pair was inside before the closure and stays its hour
    assert not v.loc[0, "missed"] and v.loc[0, "leave"] == ARRIVE + 60 + 3600
    # the one at the gate finishes its ticket check at 29690 but may not go in; the next
    # one's turn comes then and it leaves unserved
    assert v.loc[1, "missed_reason"] == "closed" and v.loc[1, "leave"] == ARRIVE + 90
    assert v.loc[2, "missed_reason"] == "closed" and v.loc[2, "leave"] == ARRIVE + 90
    # the one waiting for room is turned away at once
    assert v.loc[3, "missed_reason"] == "closed" and v.loc[3, "leave"] == ARRIVE + 70
    assert v.loc[3, "crowd_wait"] == 70.0
    # a party that arrives while it is closed and full (30200) is turned away on arrival
    assert v.loc[4, "missed_reason"] == "closed" and v.loc[4, "arrive"] == 30200.0
    assert v.loc[4, "leave"] == 30200.0 and v.loc[4, "crowd_wait"] == 0.0
    # after it reopens, the next one (arriving 31400) goes in as usual
    assert not v.loc[5, "missed"] and v.loc[5, "enter"] == 31430.0
    assert model.kpis()["visits_missed_closed"] == 3 + 3  # the party of three counts thrice


# -- capacity --------------------------------------------------------------------------------


def test_halving_the_capacity_for_a_window_halves_the_peak_occupancy_in_it(grid, tmp_path):
    table = write_table(
        tmp_path,
        "Citadel,,Citadel,attraction,,,100,07:00,17:00,0,30,,20,",
        "Pagoda,,Pagoda,pagoda_temple,,,30,07:00,17:30,0,20,,,",
    )

    def occupancy(halve: bool):
        env, model = make(grid, table, seed=8, patience_s=4 * 3600.0, **BUSY)
        if halve:
            during(model, 10 * 3600, 13 * 3600, "Citadel", capacity=10)
        model.start()
        env.run()
        return model.occupancy_table()

    base, halved = occupancy(False), occupancy(True)
    # everyone inside at 10:00 has left by 10:30 (visits last exactly 30 min)
    window = (10.5 * 3600, 13 * 3600)
    assert peak(base, "Citadel", *window) == 20
    assert peak(halved, "Citadel", *window) == 10
    assert peak(halved, "Citadel", 13 * 3600, 17 * 3600) == 20  # restored afterwards


def test_a_lower_capacity_admits_nobody_until_occupancy_falls_below_it(grid, tmp_path):
    # Four lone tourists arrive 5 min apart (29600, 29900, 30200, 30500) and stay an hour.
    # At 30600 the capacity drops from 4 to 2; a fifth arrives at 30800 and may go in only
    # when one place is free under the new limit: after the first three have left (33800).
    table = write_table(tmp_path, "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,,4,")
    env, model = make(grid, table, walk_max_m=1000.0, patience_s=7200.0)
    for depart in ("08:00", "08:05", "08:10", "08:15", "08:20"):
        model.add_party("Hotel A", depart=depart, wishlist=["Citadel"])
    during(model, 30_600.0, None, "Citadel", capacity=2)
    model.start()
    env.run()
    v = model.visits_table().set_index("party_id")
    assert v["enter"].tolist() == [29600.0, 29900.0, 30200.0, 30500.0, 33800.0]
    assert v.loc[4, "crowd_wait"] == 33800.0 - 30800.0
    occupancy = model.occupancy_table()
    assert occupancy["occupancy"].max() == 4
    assert occupancy.loc[occupancy["time"] >= 33800.0, "occupancy"].max() == 2


def test_a_higher_capacity_lets_waiting_parties_in_at_once(grid, tmp_path):
    table = write_table(tmp_path, "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,,2,")
    env, model = make(grid, table, walk_max_m=1000.0)
    for _ in range(4):
        model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"])
    during(model, ARRIVE + 300, None, "Citadel", capacity=4)
    model.start()
    env.run()
    v = model.visits_table()
    assert v["enter"].tolist() == [ARRIVE, ARRIVE, ARRIVE + 300, ARRIVE + 300]
    assert v["crowd_wait"].tolist() == [0.0, 0.0, 300.0, 300.0]


# -- gate throughput -------------------------------------------------------------------------


def test_a_slower_gate_lengthens_gate_waits_while_it_lasts(grid, tmp_path):
    # Five lone tourists reach the gate together at 29600; it passes 2 a minute (30 s
    # each). From 29645 to 29750 it passes 1 a minute: the third's check (from 29660) and
    # the fourth's (from 29720) take 60 s; the fifth's (from 29780) 30 s again.
    table = write_table(tmp_path, "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,2,,")

    def waits(slow: bool):
        env, model = make(grid, table, walk_max_m=1000.0)
        for _ in range(5):
            model.add_party("Hotel A", depart="08:00", wishlist=["Citadel"])
        if slow:
            during(model, ARRIVE + 45, ARRIVE + 150, "Citadel", gate_per_min=1.0)
        model.start()
        env.run()
        return model.visits_table()

    base, slow = waits(False), waits(True)
    assert base["gate_wait"].tolist() == [0.0, 30.0, 60.0, 90.0, 120.0]
    assert slow["gate_wait"].tolist() == [0.0, 30.0, 60.0, 120.0, 180.0]
    assert slow["enter"].tolist() == [29630.0, 29660.0, 29720.0, 29780.0, 29810.0]


def test_a_slower_gate_for_a_window_raises_the_days_gate_waits(grid, tmp_path):
    table = write_table(
        tmp_path,
        "Citadel,,Citadel,attraction,,,100,08:00,17:00,0,60,6,,",
        "Pagoda,,Pagoda,pagoda_temple,,,50,07:00,17:30,0,20,,,",
    )

    def gate_waits(slow: bool) -> pd.Series:
        env, model = make(grid, table, seed=5, **BUSY)
        if slow:
            during(model, 9 * 3600, 11 * 3600, "Citadel", gate_per_min=2.0)
        model.start()
        env.run()
        visits = model.visits_table()
        done = visits[(visits["site"] == "Citadel") & ~visits["missed"]]
        return done.loc[done["arrive"].between(9 * 3600, 11 * 3600), "gate_wait"]

    base, slow = gate_waits(False), gate_waits(True)
    assert len(base) > 20 and len(slow) > 20
    assert slow.mean() > 2 * base.mean()


# -- undoing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_overlapping_changes_undone_in_either_order_restore_the_base(grid, tmp_path, order):
    table = write_table(tmp_path, "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,2,100,")
    _, model = make(grid, table)
    base = model.sites.state("Citadel")
    assert (base.closed, base.capacity, base.gate_per_min) == (False, 100.0, 2.0)
    ids = [
        model.change_site("Citadel", capacity=50),
        model.change_site("Citadel", closed=True, capacity=10, gate_per_min=1.0),
    ]
    state = model.sites.state("Citadel")
    assert (state.closed, state.capacity, state.gate_per_min) == (True, 10.0, 1.0)
    model.undo_site_change(ids[order[0]])
    state = model.sites.state("Citadel")
    if order[0] == 0:  # the later change still holds everything it set
        assert (state.closed, state.capacity, state.gate_per_min) == (True, 10.0, 1.0)
    else:  # the earlier one's capacity shows through again
        assert (state.closed, state.capacity, state.gate_per_min) == (False, 50.0, 2.0)
    model.undo_site_change(ids[order[1]])
    assert model.sites.state("Citadel") == base
    with pytest.raises(TouristsError, match="is not active"):
        model.undo_site_change(ids[0])


def test_changes_to_one_site_leave_the_others_alone(grid, tmp_path):
    table = write_table(
        tmp_path,
        "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,2,100,",
        "Pagoda,,Pagoda,pagoda_temple,,,1,07:00,17:30,0,20,,,",
    )
    _, model = make(grid, table)
    before = astuple(model.sites.state("Pagoda"))
    model.change_site("Citadel", closed=True, capacity=1)
    np.testing.assert_equal(astuple(model.sites.state("Pagoda")), before)  # NaN: no gate
    assert model.sites.state("Citadel").closed


# -- bad changes -----------------------------------------------------------------------------


def test_an_unknown_site_names_the_closest_ones(grid, tmp_path):
    table = write_table(
        tmp_path,
        "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,2,100,",
        "Chùa Thiên Mụ,,Pagoda,pagoda_temple,,,1,07:00,17:30,0,20,,,",
    )
    _, model = make(grid, table)
    with pytest.raises(
        TouristsError, match=r"'Citadell' is not among .* did you mean \['Citadel'\]"
    ):
        model.change_site("Citadell", closed=True)
    with pytest.raises(TouristsError, match=r"did you mean \['Chùa Thiên Mụ'\]"):
        model.change_site("chua thien mu", closed=True)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({}, "nothing to change"),
        ({"capacity": 0}, "capacity is 0"),
        ({"capacity": math.nan}, "capacity is nan"),
        ({"gate_per_min": 0.0}, "gate_per_min is 0.0"),
        ({"gate_per_min": math.inf}, "gate_per_min is inf"),
        ({"closed": "yes"}, "closed is 'yes'"),
    ],
)
def test_bad_site_changes_are_refused(grid, tmp_path, change, fragment):
    table = write_table(tmp_path, "Citadel,,Citadel,attraction,,,1,08:00,17:00,0,60,2,100,")
    _, model = make(grid, table)
    with pytest.raises(TouristsError) as info:
        model.change_site("Citadel", **change)
    assert fragment in str(info.value) and "Citadel" in str(info.value)
    assert model.sites.state("Citadel").closed is False  # nothing was changed
    with pytest.raises(TouristsError, match="site change 7 is not active"):
        model.undo_site_change(7)


# -- through a run specification -------------------------------------------------------------


def test_a_change_site_intervention_closes_the_site_in_a_run(grid):
    # The default attraction table matches nothing in the grid city; its named sightseeing
    # POIs (the Citadel, the Pagoda) become sites with the other-sites defaults.
    later = ["tourists.schedule.depart_mean=10:30", "tourists.schedule.depart_latest=13:30"]

    def citadel(interventions):
        spec = build_spec(
            grid, seed=1, start="06:00", end="22:00", traffic="free_flow", emergency=False,
            settings=["tourists.demand.tourists_per_day=400", *later],
            interventions=interventions,
        )  # fmt: skip
        visits = run(grid, spec).visits
        return visits[visits["site"] == "Citadel"]

    closed = ChangeSite(site="Citadel", closed=True, start=10 * 3600.0, until=12 * 3600.0)
    base, changed = citadel([]), citadel([closed])
    window = (10 * 3600, 12 * 3600)
    entered = changed.loc[~changed["missed"], "enter"]
    assert base.loc[~base["missed"], "enter"].between(*window, inclusive="left").sum() > 20
    assert entered.between(*window, inclusive="left").sum() == 0
    assert (entered >= 12 * 3600).sum() > 0
    assert changed["missed_reason"].eq("closed").sum() > 20
