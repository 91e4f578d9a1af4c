"""Travel demand: a city-day of vehicle trips synthesised from residents and attractions.

The model is a tour-based four-step model kept small enough to read in one sitting and to
sample 1.5 million trips in a second or two (every step is vectorised numpy). Its spatial
unit is the *anchor*: each zone gets at most ``anchors_per_zone`` drive nodes (the ones with
the most attraction and residents), and an anchor stands for its *catchment*, the zone's
drive nodes nearer to it than to the zone's other anchors. Trips end only at anchors, which
keeps the number of distinct destinations near a thousand so that routing needs only that
many shortest-path trees; trips start anywhere.

1. **Generation.** Every resident makes ``person_trips_per_resident`` trips a day (all modes)
   in home-based tours of two legs, so tours per catchment and purpose are
   ``Poisson(residents × rate / 2 × purpose share × scale)``. Residents of a node are those
   of the mapped buildings nearest to it, plus the zone's residents that mapped buildings do
   not hold, spread over its streets as :mod:`twin.build.population` does.
2. **Distribution.** The activity anchor of a tour comes from a gravity model between
   anchors, ``f(t) = exp(-β t)``, one per purpose: doubly constrained for work and school
   (each anchor receives trips in proportion to its jobs or school places), production
   constrained for the rest. ``t`` is free-flow driving time: straight-line distance times
   the *pace* between the two anchors' zones (network seconds per straight-line metre
   between zone centres, see :func:`zone_pace`). An anchor's attraction is its zone's share
   of the zones-table column (``jobs``, ``schools``…) split over the zone's anchors by the
   mapped floor area and POIs in their catchments, mixed with a ``local_share`` spread by
   residents.
3. **Places.** The home is a drive node of the home catchment drawn by residents. The leg
   back ends at the home's anchor (the second nearest anchor when the activity is there).
4. **Mode.** Tours are walked or cycled with a probability that falls with the straight-line
   distance from home to activity; they are removed: the table holds *vehicle* trips only.
   A tour whose home node is its activity, or whose zone has a single anchor that is both
   its activity and its way home, is walked.
5. **Time and vehicle.** Each leg departs at a time drawn from the profile column of its
   direction (uniform within an interval); each tour has one vehicle class drawn from the
   vehicle shares (``twin/defaults/vehicles.csv``). The two legs' times are drawn
   independently, so the profile's half-hourly totals hold exactly but a tour's leg home
   may depart before its leg out: trips are not chained in time (the traffic engine treats
   every trip on its own).

The parameters are read by :mod:`twin.demand.params` and the anchors chosen by
:mod:`twin.demand.anchors`.

The result follows the trips-table contract of :mod:`twin.demand.trips` (sorted by ``depart``,
``trip_id`` ``0..N-1`` in that order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.city import City
from twin.clock import parse_clock
from twin.demand.anchors import (
    WeightedGroups,
    anchor_attraction,
    anchor_layout,
    anchor_times,
    zone_travel_times,
)
from twin.demand.params import DemandParams, resolve_demand_params
from twin.errors import TripsError
from twin.vehicles import load_vehicle_classes

__all__ = [
    "DemandModel",
    "synthesise_trips",
    "zone_travel_times",
]


# -- the deterministic part of the model ---------------------------------------------------
def _gravity(
    times: np.ndarray,
    productions: np.ndarray,
    attractions: np.ndarray,
    params: DemandParams,
    constraint: str,
) -> np.ndarray:
    """Destination probabilities ``P[i, j]`` of one purpose (rows sum to 1)."""
    k = len(productions)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.exp(-params.beta_per_min * times / 60.0)
    f[~np.isfinite(times)] = 0.0
    if attractions.sum() <= 0:
        attractions = np.ones(k)
    if constraint == "doubly" and productions.sum() > 0:
        dest = attractions / attractions.sum() * productions.sum()
        b = np.ones(k)
        for _ in range(params.furness_iterations):
            with np.errstate(divide="ignore", invalid="ignore"):
                # einsum, not BLAS: threaded matrix-vector products crawl on a busy machine.
                a = np.where(productions > 0, 1.0 / np.einsum("ij,j->i", f, dest * b), 0.0)
                b_new = np.where(dest > 0, 1.0 / np.einsum("ij,i->j", f, productions * a), 0.0)
            a[~np.isfinite(a)] = 0.0
            b_new[~np.isfinite(b_new)] = 0.0
            change = np.max(np.abs(b_new - b) / np.maximum(b_new, 1e-300), initial=0.0)
            b = b_new
            if change < params.furness_tolerance:
                break
        weight = f * (dest * b)[None, :]
    else:
        weight = f * attractions[None, :]
    rows = weight.sum(axis=1)
    stuck = rows <= 0
    weight[stuck] = 0.0
    weight[stuck, np.flatnonzero(stuck)] = 1.0  # nowhere reachable to go: stay
    return weight / weight.sum(axis=1, keepdims=True)


@dataclass(frozen=True, eq=False, repr=False)
class DemandModel:
    """The deterministic part of the demand model of one city: sample it with many seeds.

    Trips are distributed between *anchors*: at most ``anchors_per_zone`` drive nodes per
    zone (and ``max_destinations`` in all), each standing for its catchment, the drive nodes
    of its zone nearer to it than to the zone's other anchors.

    Attributes
    ----------
    params
        The parameters.
    zone_times
        ``float64[k, k]``: free-flow seconds between zone centres.
    anchors
        ``int64[a]``: anchor nodes, zone by zone; ``anchor_zone`` is their zone and zone
        ``z``'s anchors are ``anchors[anchor_ptr[z]:anchor_ptr[z+1]]``.
    anchor_times
        ``float64[a, a]``: seconds between anchors: straight-line metres times the zone
        pair's :func:`zone_pace`; the diagonal is ``intrazonal_time_factor`` times the
        time to the nearest other anchor.
    residents
        ``float64[a]``: residents of each catchment (sums to the city's population).
    attraction
        ``float64[p, a]``: share of each purpose's attraction held by each anchor.
    tours_per_day
        ``float64[p, a]``: expected tours per purpose and home catchment at scale 1.
    destination_probabilities
        ``float64[p, a, a]``: activity-anchor probabilities per purpose and home catchment.
    """

    params: DemandParams
    zone_times: np.ndarray
    anchors: np.ndarray
    anchor_zone: np.ndarray
    anchor_ptr: np.ndarray
    anchor_times: np.ndarray
    residents: np.ndarray
    attraction: np.ndarray
    tours_per_day: np.ndarray
    destination_probabilities: np.ndarray
    _homes: WeightedGroups
    _second: np.ndarray
    _x: np.ndarray
    _y: np.ndarray

    def __repr__(self) -> str:
        return (
            f"DemandModel({len(self.zone_times)} zones, {len(self.anchors)} anchors, "
            f"{self.expected_person_trips:,.0f} person-trips/day at scale 1)"
        )

    @classmethod
    def from_city(
        cls, city: City, params: DemandParams | Mapping[str, Any] | str | Path | None = None
    ) -> DemandModel:
        """Build the model: anchors and catchments, times and gravity probabilities."""
        params = resolve_demand_params(params)
        net = city.drive
        k = len(city.zones)
        if k == 0 or net.n_nodes == 0:
            raise TripsError(
                f"city {city.name!r} has {k} zones and {net.n_nodes} drive nodes; "
                "demand needs zones with population and a drive network"
            )
        zones = city.zones
        population = np.nan_to_num(zones["population"].to_numpy(dtype=np.float64))
        if not population.sum() > 0:
            raise TripsError(
                f"city {city.name!r} has no residents (its zones' population sums to "
                f"{population.sum():g}); synthesised demand starts from residents. Build the "
                "city from OSM with a population, or bring trips as a CSV "
                "(twin.demand.trips.read_trips, `twin run --trips FILE`)"
            )
        layout = anchor_layout(city, params, population)
        attraction = anchor_attraction(city, params, layout, population)
        zone_times = zone_travel_times(city)
        times = anchor_times(city, params, layout, zone_times)
        shares = np.array([p.share for p in params.purposes])
        residents_all = layout.residents
        tours = np.outer(shares, residents_all) * params.person_trips_per_resident / 2.0
        probabilities = np.stack(
            [
                _gravity(times, tours[p], attraction[p], params, purpose.constraint)
                for p, purpose in enumerate(params.purposes)
            ]
        )
        return cls(
            params=params,
            zone_times=zone_times,
            anchors=layout.anchors,
            anchor_zone=layout.anchor_zone,
            anchor_ptr=layout.anchor_ptr,
            anchor_times=times,
            residents=residents_all,
            attraction=attraction,
            tours_per_day=tours,
            destination_probabilities=probabilities,
            _homes=layout.homes,
            _second=layout.second,
            _x=net.x,
            _y=net.y,
        )

    @property
    def expected_person_trips(self) -> float:
        """Person-trips (all modes) per day at scale 1."""
        return 2.0 * float(self.tours_per_day.sum())

    def sample(
        self,
        rng: np.random.Generator,
        *,
        vehicles: pd.DataFrame | None = None,
        scale: float = 1.0,
        start: float = 0.0,
        end: float = 86_400.0,
        details: bool = False,
    ) -> pd.DataFrame:
        """Draw one day of vehicle trips; see :func:`synthesise_trips`."""
        params = self.params
        table = load_vehicle_classes() if vehicles is None else vehicles
        classes, class_cum = _class_shares(table)
        if not scale > 0 or not np.isfinite(scale):
            raise TripsError(f"scale = {scale!r}; expected a positive number (1.0 = full day)")
        if not end > start:
            raise TripsError(f"window [{start}, {end}) is empty; end must be after start")

        # 1-2. Tours per purpose and home catchment, then activity anchors.
        n_purposes, n_anchor = self.tours_per_day.shape
        counts = rng.poisson(self.tours_per_day * scale)
        flows = rng.multinomial(
            counts.reshape(-1), self.destination_probabilities.reshape(-1, n_anchor)
        ).reshape(n_purposes, n_anchor, n_anchor)
        purpose, home_anchor, activity_anchor = np.nonzero(flows)
        repeat = flows[purpose, home_anchor, activity_anchor]
        purpose = np.repeat(purpose, repeat)
        home_anchor = np.repeat(home_anchor, repeat)
        activity_anchor = np.repeat(activity_anchor, repeat)
        n_tours = len(purpose)

        # 3. Home node in the catchment; the leg back ends at the home's anchor, or at the
        #    second nearest when the activity is at the home's own anchor.
        item = self._homes.draw(home_anchor, rng.random(n_tours))
        home = self._homes.items[item]
        activity = self.anchors[activity_anchor]
        back_anchor = np.where(home_anchor == activity_anchor, self._second[item], home_anchor)
        back = np.where(back_anchor >= 0, self.anchors[np.maximum(back_anchor, 0)], -1)

        # 4. Walked or cycled tours are not vehicle trips.
        distance = np.hypot(self._x[home] - self._x[activity], self._y[home] - self._y[activity])
        walk = rng.random(n_tours) < params.non_vehicle_share(distance)
        walk |= (home == activity) | (back < 0)
        keep = ~walk

        # 5. Departure times and vehicle classes.
        out_time = _draw_times(params.profile_start, params.profile_to_activity, rng, n_tours)
        back_time = _draw_times(params.profile_start, params.profile_to_home, rng, n_tours)
        vehicle = np.searchsorted(class_cum, rng.random(n_tours) * class_cum[-1], side="right")
        vehicle = np.minimum(vehicle, len(classes) - 1)

        tour_id = np.flatnonzero(keep)
        n_keep = len(tour_id)
        columns = {
            "origin": np.concatenate([home[keep], activity[keep]]),
            "destination": np.concatenate([activity[keep], back[keep]]),
            "depart": np.concatenate([out_time[keep], back_time[keep]]),
            "vehicle_class": np.concatenate([vehicle[keep], vehicle[keep]]),
        }
        if details:
            names = np.array([p.name for p in params.purposes], dtype=object)
            columns["purpose"] = np.concatenate([names[purpose[keep]]] * 2)
            columns["tour_id"] = np.concatenate([tour_id, tour_id])
            columns["leg"] = np.repeat(np.array(["to_activity", "to_home"], dtype=object), n_keep)
        in_window = (columns["depart"] >= start) & (columns["depart"] < end)
        order = np.flatnonzero(in_window)
        order = order[np.argsort(columns["depart"][order], kind="stable")]
        trips = pd.DataFrame({"trip_id": np.arange(len(order), dtype=np.int64)})
        trips["origin"] = columns["origin"][order].astype(np.int64)
        trips["destination"] = columns["destination"][order].astype(np.int64)
        trips["depart"] = columns["depart"][order].astype(np.float64)
        trips["vehicle_class"] = pd.array(classes[columns["vehicle_class"][order]], dtype="str")
        for extra in ("purpose", "tour_id", "leg"):
            if extra in columns:
                trips[extra] = columns[extra][order]
        trips.attrs["demand"] = {
            "person_trips": 2 * n_tours,
            "walked_or_cycled_trips": 2 * int(walk.sum()),
            "vehicle_trips_day": 2 * n_keep,
            "vehicle_trips_window": len(order),
            "scale": float(scale),
            "window": [float(start), float(end)],
        }
        return trips


def _class_shares(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    shares = table["share"].to_numpy(dtype=np.float64)
    usable = shares > 0
    if not usable.any():
        raise TripsError("no vehicle class has a positive share; give at least one a share > 0")
    classes = np.array([str(c) for c in table.index[usable]], dtype=object)
    return classes, np.cumsum(shares[usable])


def _draw_times(
    start: np.ndarray, weights: np.ndarray, rng: np.random.Generator, size: int
) -> np.ndarray:
    """Departure times from a piecewise-uniform profile (inverse CDF with one variate each)."""
    cum = np.cumsum(weights)
    cum /= cum[-1]
    width = np.diff(np.append(start, 86_400.0))
    u = rng.random(size)
    b = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    before = np.where(b > 0, cum[b - 1], 0.0)
    within = np.divide(
        u - before, weights[b] / weights.sum(), out=np.zeros(size), where=weights[b] > 0
    )
    return start[b] + np.clip(within, 0.0, np.nextafter(1.0, 0.0)) * width[b]


def synthesise_trips(
    city: City,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    params: DemandParams | Mapping[str, Any] | str | Path | None = None,
    vehicles: pd.DataFrame | str | Path | None = None,
    scale: float = 1.0,
    start: float | str = 0.0,
    end: float | str = 86_400.0,
    details: bool = False,
) -> pd.DataFrame:
    """Synthesise a day (or a window) of vehicle trips for ``city``.

    Parameters
    ----------
    city
        The city: zones with ``population`` and attraction columns, buildings, POIs.
    seed, rng
        Randomness: an integer seed or a numpy ``Generator`` (exactly one of them).
        The same seed gives the same table.
    params
        :class:`DemandParams`, a TOML file, a nested mapping of overrides, or ``None`` for
        ``twin/defaults/demand.toml``.
    vehicles
        Vehicle class table (:func:`twin.vehicles.load_vehicle_classes`) or a path to one;
        ``None`` for the defaults. Classes are drawn by ``share``.
    scale
        Multiplies the trip rate (``0.1`` gives a tenth of the day's trips).
    start, end
        Keep trips departing in ``[start, end)``: seconds after midnight or ``"HH:MM[:SS]"``.
        The day is synthesised whole and then cut, so a window holds the trips the full day
        would have in it.
    details
        Also return ``purpose``, ``tour_id`` and ``leg`` (``"to_activity"``/``"to_home"``).

    Returns
    -------
    pandas.DataFrame
        ``trip_id`` (int64, ``0..N-1``), ``origin``, ``destination`` (int64 drive-node
        positions), ``depart`` (float64 seconds after midnight), ``vehicle_class`` (str);
        sorted by ``depart``. ``attrs["demand"]`` holds person-trips, walked/cycled trips and
        vehicle trips of the day.
    """
    if (seed is None) == (rng is None):
        raise TripsError("give exactly one of seed= (an int) or rng= (a numpy Generator)")
    generator = rng if rng is not None else np.random.default_rng(seed)
    if not isinstance(generator, np.random.Generator):
        raise TripsError(f"rng must be a numpy.random.Generator, got {type(generator).__name__}")
    table = vehicles if isinstance(vehicles, pd.DataFrame) else load_vehicle_classes(vehicles)
    model = DemandModel.from_city(city, params)
    return model.sample(
        generator,
        vehicles=table,
        scale=scale,
        start=parse_clock(start),
        end=parse_clock(end),
        details=details,
    )
