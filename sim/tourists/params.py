"""Tourist behaviour parameters: defaults from ``twin/defaults/tourists.toml``, overrides.

Every field is documented, with its source, in that TOML file; :func:`load_tourist_params`
reads it, an optional user file of the same shape, and keyword overrides.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from twin.attractions.sites import OtherSites
from twin.attractions.table import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    AttractionError,
    check_attraction_table,
)
from twin.clock import parse_clock
from twin.errors import ConfigError, SourceNotFoundError

#: Lodging POI categories tourists start from.
LODGING = ("hotel", "hostel", "guest_house")
_CLOCK_KEYS = ("depart_mean", "depart_earliest", "depart_latest", "tour_depart", "return_by")


@dataclass(frozen=True)
class TouristParams:
    """Tourist behaviour; every field is documented in ``twin/defaults/tourists.toml``.

    Clock fields (``depart_mean``, ``depart_earliest``, ``depart_latest``, ``tour_depart``,
    ``return_by``) are seconds after midnight and accept ``"HH:MM"`` strings.
    """

    tourists_per_day: float = 10000.0
    scale: float = 1.0
    festival: bool = False
    festival_multiplier: float = 2.0
    tour_group_share: float = 0.30
    tour_group_size: int = 25
    party_size_mean: float = 2.0
    party_size_max: int = 6
    hotel_guests_per_unit: float = 1.3
    hotel_default_size: float = 40.0
    hostel_guests_per_unit: float = 0.7
    hostel_default_size: float = 24.0
    guest_house_guests_per_unit: float = 1.3
    guest_house_default_size: float = 8.0
    max_size: float = 500.0
    depart_mean: float = 8.5 * 3600
    depart_sd_min: float = 45.0
    depart_earliest: float = 6.5 * 3600
    depart_latest: float = 11.0 * 3600
    tour_depart: float = 8.0 * 3600
    return_by: float = 22.5 * 3600
    sites_min: int = 1
    sites_max: int = 3
    tour_sites: int = 4
    visit_cv: float = 0.25
    rest_gap_s: float = 5400.0
    walk_max_m: float = 1000.0
    walk_speed_ms: float = 1.1
    taxi_wait_s: float = 300.0
    xe_om_wait_s: float = 180.0
    bus_board_s: float = 300.0
    taxi_seats: int = 4
    xe_om_max_party: int = 2
    xe_om_share: float = 0.35
    boat_share: float = 0.5
    boat_speed_ms: float = 2.2
    river_factor: float = 1.1
    patience_s: float = 1200.0
    attractions_table: str = ""
    attractions: tuple[Mapping[str, Any], ...] = ()
    other_sites: OtherSites | None = field(default_factory=OtherSites)

    def __post_init__(self) -> None:
        self._check_attractions()
        for key in _CLOCK_KEYS:
            value = getattr(self, key)
            if isinstance(value, str):
                seconds = parse_clock(
                    value, what=f"tourists: {key}", error=ConfigError, latest=86_400.0
                )
                object.__setattr__(self, key, seconds)
        positive = (
            "festival_multiplier", "tour_group_size", "party_size_mean", "party_size_max",
            "max_size", "walk_speed_ms", "taxi_seats", "boat_speed_ms", "river_factor",
        )  # fmt: skip
        for key in positive:
            if not getattr(self, key) > 0:
                raise ConfigError(
                    f"tourists: {key} is {getattr(self, key)!r}; expected a number above 0"
                )
        for key in ("tour_group_share", "xe_om_share", "boat_share"):
            if not 0 <= getattr(self, key) <= 1:
                raise ConfigError(
                    f"tourists: {key} is {getattr(self, key)!r}; expected a share in [0, 1]"
                )
        non_negative = (
            "tourists_per_day", "scale", "depart_sd_min", "visit_cv", "rest_gap_s",
            "walk_max_m", "taxi_wait_s", "xe_om_wait_s", "bus_board_s", "patience_s",
            "xe_om_max_party", "sites_min", "tour_sites",
            *(f"{c}_guests_per_unit" for c in LODGING),
            *(f"{c}_default_size" for c in LODGING),
        )  # fmt: skip
        for key in non_negative:
            if not getattr(self, key) >= 0:
                raise ConfigError(
                    f"tourists: {key} is {getattr(self, key)!r}; expected a number of 0 or more"
                )
        if self.party_size_mean < 1 or self.party_size_max < 1:
            raise ConfigError(
                f"tourists: party_size_mean is {self.party_size_mean!r} and party_size_max "
                f"{self.party_size_max!r}; a party has at least 1 person, so give both >= 1"
            )
        if self.sites_max < self.sites_min:
            raise ConfigError(
                f"tourists: sites_max ({self.sites_max}) is below sites_min "
                f"({self.sites_min}); make sites_max at least sites_min"
            )
        if not self.depart_earliest <= self.depart_latest:
            raise ConfigError("tourists: depart_earliest must not be after depart_latest")

    def _check_attractions(self) -> None:
        rows = self.attractions
        if not isinstance(rows, list | tuple) or not all(isinstance(r, Mapping) for r in rows):
            raise ConfigError(
                f"tourists: attractions is {rows!r}; expected an array of tables, one per site "
                "([[tourists.attractions]] with the columns of twin/defaults/attractions.csv)"
            )
        object.__setattr__(self, "attractions", tuple(dict(r) for r in rows))
        if rows:
            try:
                check_attraction_table(_rows_frame(self.attractions), where="tourists.attractions")
            except AttractionError as exc:
                raise ConfigError(str(exc)) from None

    def site_table(self) -> pd.DataFrame | Path | None:
        """The attraction table these parameters name: the CSV ``attractions_table`` when
        set, else the rows of ``attractions`` (a city's profile) as a checked table, else
        ``None`` for the shipped table (:func:`twin.attractions.sites.resolve_attractions`
        then skips the rows that match nothing)."""
        if self.attractions_table:
            return Path(self.attractions_table)
        if self.attractions:
            return check_attraction_table(
                _rows_frame(self.attractions), where="tourists.attractions (city profile)"
            )
        return None

    @property
    def tourists_today(self) -> float:
        """Tourists simulated: ``tourists_per_day x scale`` (``x festival_multiplier``)."""
        surge = self.festival_multiplier if self.festival else 1.0
        return self.tourists_per_day * self.scale * surge


def _rows_frame(rows: tuple[Mapping[str, Any], ...]) -> pd.DataFrame:
    """Attraction rows as a table; a key a row leaves out is an empty cell.

    Raises
    ------
    ConfigError
        A row has a key that is not a column of the attraction table.
    """
    columns = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    for k, row in enumerate(rows):
        unknown = [key for key in row if key not in columns]
        if unknown:
            close = difflib.get_close_matches(unknown[0], columns, n=1)
            raise ConfigError(
                f"tourists.attractions[{k}] ({row.get('site', '?')!r}): unknown column "
                f"{unknown[0]!r}{f'; did you mean {close[0]!r}?' if close else ''} (the columns "
                f"are {', '.join(columns)}; see twin/defaults/attractions.csv)"
            )
    return pd.DataFrame([[row.get(c, "") for c in columns] for row in rows], columns=columns)


def load_tourist_params(path: str | Path | None = None, **overrides) -> TouristParams:
    """Tourist parameters from the defaults, an optional TOML file and keyword overrides.

    Parameters
    ----------
    path
        A TOML file shaped like ``twin/defaults/tourists.toml``; its keys replace the
        defaults' (sections may be partial).
    **overrides
        Field values of :class:`TouristParams` (e.g. ``scale=0.1, festival=True``).
    """
    with (resources.files("twin") / "defaults" / "tourists.toml").open("rb") as fh:
        values = _flatten(tomllib.load(fh), where="twin/defaults/tourists.toml")
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise SourceNotFoundError(f"tourist parameter file {path} does not exist")
        try:
            with path.open("rb") as fh:
                values.update(_flatten(tomllib.load(fh), where=str(path)))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    values.update(overrides)
    known = {f.name for f in fields(TouristParams)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"tourists: unknown parameters {unknown}; the known ones are {sorted(known)}"
        )
    return TouristParams(**values)


def tourist_params_from_data(data: Mapping, *, where: str) -> TouristParams:
    """Tourist parameters from TOML-shaped data (the layout of ``tourists.toml``), checked;
    unknown keys and bad values are a :class:`ConfigError` starting with ``where``."""
    values = _flatten(dict(data), where=where)
    known = {f.name for f in fields(TouristParams)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown tourist parameters {unknown}")
    try:
        return TouristParams(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def resolve_tourist_params(params: TouristParams | Mapping | None) -> TouristParams:
    """The parameters a caller means: ``None`` for the defaults, a mapping of overrides for
    :func:`load_tourist_params` (the key ``"path"`` names a TOML file), or
    :class:`TouristParams` as given."""
    if params is None:
        return load_tourist_params()
    if isinstance(params, Mapping):
        overrides = dict(params)
        return load_tourist_params(overrides.pop("path", None), **overrides)
    return params


def _flatten(data: dict, *, where: str) -> dict:
    values: dict = {}
    for section, body in data.items():
        if section == "other_sites":
            body = dict(body)
            enabled = body.pop("enabled", True)
            try:
                if "categories" in body:
                    body["categories"] = tuple(body["categories"])
                other = OtherSites(**body)
            except TypeError as exc:
                raise ConfigError(f"{where}: [other_sites] {exc}") from None
            values["other_sites"] = other if enabled else None
        elif isinstance(body, dict):
            values.update(body)
        else:
            values[section] = body
    return values
