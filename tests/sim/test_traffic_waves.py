"""Kinematic waves against Newell's theory: a queue spilling back along a road, and the
discharge wave of a reopened road. Both kernel backends run these (the second CI pass sets
``TWIN_KERNELS=python``).

The road: ``K`` links of ``L`` metres (free-flow speed ``v``, capacity ``q``, jam density
``k_j`` per lane: a triangular fundamental diagram with backward wave speed ``w = q / (k_j
- q / v)``; the class's saturation flow is ``q`` too) ending in a bottleneck link of the
same diagram whose exit lets out ``μ``. Theory (Newell 1993; Daganzo's "Fundamentals of
transportation and traffic operations", ch. 4):

- a demand ``λ`` above the bottleneck's capacity ``μ`` queues from the bottleneck
  backwards; the queue (density ``k_q = k_j - μ / w``) meets the arriving traffic
  (density ``λ / v``) at a shock moving back at ``s = (λ - μ) / (k_q - λ / v)``, so the
  queue reaches the point ``x`` metres before the bottleneck at ``t_0 + x / s``, ``t_0``
  being when the first vehicle reached the bottleneck; there the inflow drops to ``μ``;
- a road jammed behind a closure that reopens discharges at capacity from the front, and
  the discharge front moves back at ``w``: vehicles ``x`` metres before the closure start
  moving ``x / w`` after it reopens.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from kernels import traffic as kt
from sim.link_changes import LinkChange
from sim.traffic.engine import Traffic

from .test_traffic_theory import PLAIN, chain, trips_frame

V, Q, KJ = 10.0, 1800.0, 150.0  # m/s, PCU/h per lane, PCU/km per lane
W = Q / (KJ - Q / (V * 3.6)) / 3.6  # backward wave speed, m/s: 5 m/s (18 km/h)
K, L = 10, 200.0  # links before the bottleneck, metres each


def road(bottleneck_pcu_h: float) -> object:
    """``K`` links of ``L`` metres, then the bottleneck, then an exit link."""
    lengths = [L] * K + [100.0, 100.0]
    capacity = [Q] * K + [bottleneck_pcu_h, 3600.0]
    return chain(lengths, speed=V, capacity=capacity, jam_density=KJ)


def cumulative_entries(traffic: Traffic, env: simpy.Environment, until: float, dt: float = 2.0):
    """Sample every link's cumulative entries every ``dt`` seconds up to ``until`` (the
    kernel is seen as of the traffic's last step, ``step_s``: 2 s by default)."""
    times, counts = [], []

    def watch():
        while env.now < until:
            yield env.timeout(dt)
            times.append(traffic.now)
            counts.append(traffic.state.st_entries.copy())

    env.process(watch())
    env.run(until=until)
    return np.array(times), np.array(counts)


def test_the_triangle_gives_the_wave_speed():
    net = road(900.0)
    waves = kt.wave_times(net.length, net.speed, net.capacity / net.lanes, net.jam_density)
    assert pytest.approx(5.0) == W
    np.testing.assert_allclose(waves[:K], L / W)
    # a diagram with no congested branch frees space at once
    assert kt.wave_times(100.0, 10.0, 1800.0, 40.0) == 0.0


@pytest.mark.parametrize("vehicle_class", ["car", "motorbike"])
def test_spillback_onset_and_queue_growth_match_newell(vehicle_class):
    mu_pcu_h, lam_pcu = 900.0, 0.4  # bottleneck PCU/h; demand PCU/s
    pcu = {"car": 1.0, "motorbike": 0.3}[vehicle_class]
    lam = lam_pcu / pcu  # vehicles/s
    duration = 1600.0
    depart = np.arange(0.0, duration, 1.0 / lam)
    env = simpy.Environment()
    traffic = Traffic(
        env,
        road(mu_pcu_h),
        trips_frame(0, K + 2, depart, vehicle_class),
        rng=np.random.default_rng(0),
        params={"stats_interval_s": 1e6},
    )
    traffic.start(4000.0)
    times, counts = cumulative_entries(traffic, env, duration + 10.0)
    v = V * traffic.vehicles.loc[vehicle_class, "speed_factor"]
    mu = mu_pcu_h / 3600.0  # PCU/s
    k_q = KJ / 1000.0 - mu / W  # PCU per metre in the queue
    shock = (lam_pcu - mu) / (k_q - lam_pcu / v)  # m/s, backwards
    bottleneck = 100.0  # metres: the queue starts at the bottleneck link's exit
    t0 = (K * L + bottleneck) / v  # the first vehicle reaches it
    measured, theory = [], []
    for k in range(1, K):  # entrance of link k lies (K - k) L + 100 m before the exit
        x = (K - k) * L + bottleneck
        t_theory = t0 + x / shock
        if t_theory > duration - 200.0:
            break

        def free_line(t, k=k):
            return lam * (t - k * L / v)

        gap = free_line(times) - counts[:, k]
        late = np.flatnonzero(gap > 3.0)
        assert len(late), f"the queue never reached link {k}"
        after = (times >= times[late[0]] + 30.0) & (times <= duration)
        slope, intercept = np.polyfit(times[after], counts[after, k], 1)
        assert slope * pcu == pytest.approx(mu, rel=0.03)  # inflow dropped to μ
        t_meet = (intercept + lam * k * L / v) / (lam - slope)
        measured.append(t_meet)
        theory.append(t_theory)
    assert len(measured) >= 4  # the queue spilled back over several links
    np.testing.assert_allclose(measured, theory, rtol=0.05)
    # queue length over time: metres of queue at each onset, against s (t - t0)
    lengths = (K - np.arange(1, len(measured) + 1)) * L + bottleneck
    np.testing.assert_allclose(shock * (np.array(measured) - t0), lengths, rtol=0.05)


def test_without_waves_the_queue_spills_back_later():
    """The plain link queue lets freed space be used at once, so a full link looks emptier
    than it is: its spillback reaches the upstream links later than the wave does."""
    depart = np.arange(0.0, 1600.0, 2.5)

    def first_delay(params):
        env = simpy.Environment()
        traffic = Traffic(
            env,
            road(900.0),
            trips_frame(0, K + 2, depart),
            rng=np.random.default_rng(0),
            params={"stats_interval_s": 1e6, **params},
        )
        traffic.start(4000.0)
        times, counts = cumulative_entries(traffic, env, 1610.0)
        gap = 0.4 * (times - 2 * L / V) - counts[:, 2]  # link 2's entrance, 1.6 km back
        late = np.flatnonzero(gap > 3.0)
        return times[late[0]] if len(late) else np.inf

    with_waves = first_delay({})
    # the queue reaches link 2 at t0 + x / s; 3 vehicles short takes 3 / (λ - μ) more
    assert with_waves == pytest.approx(210.0 + 1700.0 / 2.5 + 3.0 / 0.15, abs=5.0)
    assert with_waves < first_delay(PLAIN) - 100.0


@pytest.mark.parametrize("vehicle_class", ["car", "motorbike"])
def test_a_reopened_road_discharges_with_a_front_moving_back_at_the_wave_speed(vehicle_class):
    pcu = {"car": 1.0, "motorbike": 0.3}[vehicle_class]
    depart = np.arange(0.0, 1500.0, 1.0 * pcu)  # 1 PCU/s: the road fills up
    env = simpy.Environment()
    net = road(Q)
    traffic = Traffic(
        env,
        net,
        trips_frame(0, K + 2, depart, vehicle_class),
        rng=np.random.default_rng(0),
        params={
            "stats_interval_s": 1e6,
            "block_relief_s": 0.0,
            "gridlock_s": 1e5,
            "step_s": 0.5,  # the samples below see the kernel every half second
        },
    )
    closed = K  # the link after the road: closed to flow (capacity ~ 0) until t_open
    closure = traffic.change_links([closed], LinkChange(capacity_pcu_h=1e-6))
    traffic.start(6000.0)
    t_open = 1500.0
    env.run(until=t_open)
    s = traffic.state
    # jammed: every link of the road holds its storage (but the first vehicle, let through)
    np.testing.assert_allclose(s.occ[:K] + s.tok_pcu[:K], s.storage[:K], atol=pcu + 1e-9)
    before = s.st_entries.copy()
    traffic.undo_link_change(closure)
    times, counts = cumulative_entries(traffic, env, t_open + 600.0, dt=0.5)
    # discharge starts when the reopened link takes its first vehicle (its entrance first
    # finishes the service it had begun, at the new capacity)
    start = times[np.flatnonzero(counts[:, closed] > before[closed])[0]]
    assert start - t_open <= 3600.0 / Q * pcu + 0.5
    resumed = []
    for k in range(K):  # link k's entrance lies (K - k) L before the reopened link
        moved = np.flatnonzero(counts[:, k] > before[k])
        resumed.append(times[moved[0]] - start)
    theory = (K - np.arange(K)) * L / W
    # each link's upstream end starts moving when the discharge front arrives: x / w (to
    # the half-second sampling step)
    np.testing.assert_allclose(resumed, theory, rtol=0.05, atol=0.5)
    # the front moves back at w: a straight line through (x, t) with slope 1 / w
    slope = np.polyfit((K - np.arange(K)) * L, resumed, 1)[0]
    assert 1.0 / slope == pytest.approx(W, rel=0.01)


def test_an_intervention_halves_a_link_capacity_for_a_window():
    """``Traffic.change_links`` mid-run: the exit, the entrance and the wave follow."""
    depart = np.arange(0.0, 3600.0, 1.0)  # 3600 veh/h: the bottleneck always has a queue
    env = simpy.Environment()
    net = road(900.0)
    traffic = Traffic(env, net, trips_frame(0, K + 2, depart), rng=np.random.default_rng(0))
    traffic.start(4000.0)
    s = traffic.state
    wave_before, entrance_before = s.wave[K], s.in_headway[K]
    served = []
    for t0, t1, capacity in ((600.0, 1200.0, 900.0), (1200.0, 2400.0, 450.0)):
        if t0 > env.now:
            env.run(until=t0)
        if capacity != 900.0:
            halved = traffic.change_links([K], LinkChange(capacity_factor=0.5))
        before = s.cum_len[K] / s.length[K]
        env.run(until=t1)
        served.append((s.cum_len[K] / s.length[K] - before) / (t1 - t0) * 3600.0)
    assert served[0] == pytest.approx(900.0, rel=0.02)
    assert served[1] == pytest.approx(450.0, rel=0.02)
    # the diagram's capacity halved with the exit's: the entrance takes half as much and
    # freed space travels back more slowly
    assert s.in_headway[K] == pytest.approx(2 * entrance_before)
    assert s.wave[K] > wave_before
    traffic.undo_link_change(halved)
    before = s.cum_len[K] / s.length[K]
    env.run(until=3600.0)
    assert (s.cum_len[K] / s.length[K] - before) / 1200.0 * 3600.0 == pytest.approx(900.0, rel=0.02)
