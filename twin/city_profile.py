"""A city profile: everything specific to one city, in one TOML file.

A profile holds what OpenStreetMap cannot tell: the city's name in Vietnamese and English,
the area its figures hold for, its population (with source and year), the road-class
defaults, and the parameters of its people and services in the layout of the run's
parameter families (:mod:`sim.parameters`): trip rates, purposes and departure profile
(``[demand]``), vehicle mix (``[[vehicles]]``), tourist volume and attraction table
(``[tourists]``), emergency call rates and units (``[emergency]``). Huế's profile,
``twin/defaults/hue_profile.toml``, is the default; every value in it carries its source.

How a profile is used
---------------------
- ``twin build --profile FILE`` builds with it (the shipped Huế profile when left out): its
  ``[roads]`` feed the road defaults (:func:`twin.build.road_classes.load_road_defaults`),
  its ``[population]`` the residents, its ``[city]`` the name and, optionally, the CRS. The
  bundle stores the whole profile (``City.meta["profile"]``).
- Every run on the city lays the profile's family sections over the defaults as the first
  layer of overrides (:func:`sim.city_profile.profile_layers`), before scenarios and
  ``--set``, so the run specification holds the values used.
- When the extract's centre lies outside the profile's ``[city] area``, the profile is
  *borrowed*: its figures describe another city. The build then estimates the population
  from the mapped residential floor area at ``[population] floor_m2_per_resident`` instead
  of taking the profile's total, and the build report and every run's ``kpis.json`` say
  which of its values were used (:func:`borrowed_parts`).
- ``twin profile init CITY.osm.pbf -o PROFILE.toml`` writes a starting profile for a new
  extract (:mod:`twin.profile_template`): what the data give is filled in, every other
  value is Huế's, listed in ``[profile] placeholders`` and marked in a comment, to be
  checked. Until it is removed from that list, a placeholder is reported like a borrowed
  value.

Sections
--------
``[profile]``
    ``format`` (``"hue-twin-profile/1"``), ``placeholders`` (dotted keys still to check).
``[city]``
    ``name = { vi = "…", en = "…" }``; ``area = [min_lon, min_lat, max_lon, max_lat]``
    (degrees, WGS 84); optionally ``crs`` (a projected CRS; default: the UTM zone of the
    extract's centre).
``[population]``
    ``total`` (residents; leave it out to estimate from floor area), ``source``, ``year``,
    ``floor_m2_per_resident`` (m² of residential floor per resident) and ``floor_source``.
``[roads]``
    One inline table per OSM ``highway`` class with the columns of
    ``twin/defaults/road_classes.csv``, most important class first.
``[traffic]``, ``[demand]``, ``[tourists]``, ``[emergency]``, ``[[vehicles]]``
    Overrides of each parameter family, in the layout of its defaults; checked by
    :mod:`sim.parameters` like any other layer. ``[[tourists.attractions]]`` holds the
    attraction table's rows (the columns of ``twin/defaults/attractions.csv``; leave a
    cell's key out for an empty cell).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from twin.errors import ConfigError, SourceNotFoundError

__all__ = [
    "DEFAULT_PROFILE",
    "FORMAT",
    "PROFILE_FAMILIES",
    "PROFILE_PARTS",
    "CityProfile",
    "ProfilePart",
    "borrowed_parts",
    "build_notes",
    "describe",
    "load_profile",
    "population_note",
    "profile_from_data",
]

#: Identifies a profile file and the version of its layout.
FORMAT = "hue-twin-profile/1"
#: The shipped default profile (Huế), as named in messages and bundles.
DEFAULT_PROFILE = "twin/defaults/hue_profile.toml"
#: Parameter families a profile may set (the families of :mod:`sim.parameters`).
PROFILE_FAMILIES: tuple[str, ...] = ("traffic", "demand", "tourists", "emergency", "vehicles")
#: Top-level sections of a profile.
SECTIONS: tuple[str, ...] = ("profile", "city", "population", "roads", *PROFILE_FAMILIES)
_POPULATION_KEYS = ("total", "source", "year", "floor_m2_per_resident", "floor_source")
_CITY_KEYS = ("name", "area", "crs")


@dataclass(frozen=True)
class ProfilePart:
    """A part of a profile, as notes name it.

    Attributes
    ----------
    key
        Dotted key in the profile (``"demand.generation"``).
    label
        What notes call it (``"trip rate"``).
    used_by
        ``"build"`` or the part of a run that reads it (``"demand"``, ``"traffic"``,
        ``"tourists"``, ``"emergency"``).
    """

    key: str
    label: str
    used_by: str


#: The parts of a profile that notes name when they are borrowed or still placeholders.
PROFILE_PARTS: tuple[ProfilePart, ...] = (
    ProfilePart("city.name", "name", "build"),
    ProfilePart("population.total", "population total", "build"),
    ProfilePart("population.floor_m2_per_resident", "residential floor per resident", "build"),
    ProfilePart("roads", "road-class defaults", "build"),
    ProfilePart("demand.generation", "trip rate", "demand"),
    ProfilePart("demand.purposes", "trip purposes", "demand"),
    ProfilePart("demand.departure_profile", "departure profile", "demand"),
    ProfilePart("vehicles", "vehicle mix", "traffic"),
    ProfilePart("tourists.demand", "tourist volume", "tourists"),
    ProfilePart("tourists.attractions", "attraction table", "tourists"),
    ProfilePart("emergency.demand", "emergency call rates", "emergency"),
    ProfilePart("emergency.units", "units per station", "emergency"),
)


@dataclass(frozen=True)
class CityProfile:
    """A checked city profile.

    Attributes
    ----------
    name_vi, name_en
        The city's name in Vietnamese and English.
    area
        ``(min_lon, min_lat, max_lon, max_lat)``, degrees: where the profile's figures hold.
    crs
        A projected CRS the profile asks for, or ``None`` (the UTM zone of the extract).
    population_total
        Residents, or ``None`` to estimate them from residential floor area.
    population_source, population_year
        Where the total comes from (``""`` / ``None`` without a total).
    floor_m2_per_resident
        Residential floor area per resident, m².
    floor_source
        Where ``floor_m2_per_resident`` comes from.
    roads
        Road-class defaults: ``{highway: {column: value}}`` in table order.
    families
        Overrides of each parameter family it sets (plain TOML-shaped data).
    placeholders
        Dotted keys whose values are still to be checked (copied from Huế's profile).
    where
        The file it was read from (:data:`DEFAULT_PROFILE` for Huế's).
    data
        The whole profile as read (what the bundle stores).
    """

    name_vi: str
    name_en: str
    area: tuple[float, float, float, float]
    crs: str | None
    population_total: float | None
    population_source: str
    population_year: int | None
    floor_m2_per_resident: float
    floor_source: str
    roads: dict[str, dict[str, float]]
    families: dict[str, Any]
    placeholders: tuple[str, ...]
    where: str
    data: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        """The display name (Vietnamese)."""
        return self.name_vi

    @property
    def is_default(self) -> bool:
        """Whether this is the shipped Huế profile."""
        return self.where == DEFAULT_PROFILE

    @property
    def sha256(self) -> str:
        """SHA-256 of the profile's content (canonical JSON): a build parameter."""
        text = json.dumps(self.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def covers(self, lon: float, lat: float) -> bool:
        """Whether a point (degrees) lies in the profile's area."""
        min_lon, min_lat, max_lon, max_lat = self.area
        return min_lon <= lon <= max_lon and min_lat <= lat <= max_lat

    def is_placeholder(self, key: str) -> bool:
        """Whether ``key`` (dotted) lies at, under or over a placeholder."""
        return any(_overlaps(key, p) for p in self.placeholders)

    def to_meta(self, *, borrowed: bool, centre: tuple[float, float]) -> dict[str, Any]:
        """What a bundle records of the profile (``City.meta["profile"]``)."""
        return {
            "name": {"vi": self.name_vi, "en": self.name_en},
            "file": self.where,
            "sha256": self.sha256,
            "borrowed": bool(borrowed),
            "centre": [round(centre[0], 6), round(centre[1], 6)],
            "data": copy.deepcopy(self.data),
        }


def _overlaps(key: str, other: str) -> bool:
    return key == other or key.startswith(f"{other}.") or other.startswith(f"{key}.")


# -- reading -----------------------------------------------------------------------------------
def load_profile(profile: str | Path | CityProfile | None = None) -> CityProfile:
    """Read and check a city profile.

    Parameters
    ----------
    profile
        A profile TOML file, a :class:`CityProfile` (returned as is), or ``None`` for the
        shipped Huế profile (:data:`DEFAULT_PROFILE`).

    Raises
    ------
    SourceNotFoundError
        The file does not exist.
    ConfigError
        Not TOML, or a section or value is wrong; the message names the file and the key.
    """
    if isinstance(profile, CityProfile):
        return profile
    if profile is None:
        source = resources.files("twin") / "defaults" / "hue_profile.toml"
        where = DEFAULT_PROFILE
    else:
        source = Path(profile)
        where = str(profile)
        if source.is_dir():
            raise SourceNotFoundError(
                f"city profile {where} is a folder; give a profile TOML file (`twin profile "
                "init CITY.osm.pbf -o PROFILE.toml` writes one)"
            )
        if not source.is_file():
            raise SourceNotFoundError(
                f"city profile {where} does not exist; write one with `twin profile init "
                "CITY.osm.pbf -o PROFILE.toml`, or leave --profile out for Huế's"
            )
    try:
        with source.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc}); fix the file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not a UTF-8 text file ({exc})") from None
    return profile_from_data(data, where=where)


def profile_from_data(data: Mapping[str, Any], *, where: str) -> CityProfile:
    """A :class:`CityProfile` from TOML-shaped data, every section checked.

    The family sections are checked here for their shape only (tables, and an array of
    tables for ``vehicles``); their keys, types and ranges are checked by
    :mod:`sim.parameters` when a run is made (``twin build --profile`` checks them at once).

    Raises
    ------
    ConfigError
        The message starts with ``where`` and names the key.
    """
    data = copy.deepcopy(dict(data))
    unknown = [s for s in data if s not in SECTIONS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown section [{unknown[0]}]{_did_you_mean(unknown[0], SECTIONS)}; "
            f"a profile has {', '.join(f'[{s}]' for s in SECTIONS)}"
        )
    meta = _table(data, "profile", where, required=False)
    _only(meta, ("format", "placeholders"), "profile", where)
    if meta.get("format", FORMAT) != FORMAT:
        raise ConfigError(
            f"{where}: [profile] format = {meta['format']!r}; this Huế Twin reads {FORMAT!r}"
        )
    city = _table(data, "city", where)
    _only(city, _CITY_KEYS, "city", where)
    name_vi, name_en = _names(city.get("name"), where)
    area = _area(city.get("area"), where)
    crs = city.get("crs")
    if crs is not None:
        from twin.build.projection import check_projected_crs

        if not isinstance(crs, str):
            raise ConfigError(f"{where}: [city] crs = {crs!r}; expected a string like 'EPSG:32648'")
        try:
            check_projected_crs(crs)
        except ConfigError as exc:
            raise ConfigError(f"{where}: [city] crs: {exc}") from None
    population = _table(data, "population", where)
    total, source, year, floor = _population(population, where)
    floor_source = population.get("floor_source", "")
    if not isinstance(floor_source, str):
        raise ConfigError(
            f"{where}: population.floor_source = {floor_source!r}; expected a string saying "
            "where floor_m2_per_resident comes from"
        )
    roads = _roads(_table(data, "roads", where), where)
    families = {}
    for family in PROFILE_FAMILIES:
        if family not in data:
            continue
        body = data[family]
        expected = "an array of tables [[vehicles]]" if family == "vehicles" else "a table"
        ok = (
            isinstance(body, list) and all(isinstance(v, dict) for v in body)
            if family == "vehicles"
            else isinstance(body, dict)
        )
        if not ok:
            raise ConfigError(f"{where}: [{family}] is {type(body).__name__}; expected {expected}")
        families[family] = body
    placeholders = meta.get("placeholders", [])
    if not isinstance(placeholders, list) or not all(isinstance(p, str) for p in placeholders):
        raise ConfigError(
            f"{where}: [profile] placeholders must be a list of dotted keys (strings), "
            f"got {placeholders!r}"
        )
    for key in placeholders:
        if not _has_key(data, key):
            raise ConfigError(
                f"{where}: [profile] placeholders names {key!r}, which the profile does not "
                f"hold{_did_you_mean(key, _all_keys(data))}; list keys of the profile, or "
                "remove the entry once its value is checked"
            )
    return CityProfile(
        name_vi=name_vi,
        name_en=name_en,
        area=area,
        crs=crs,
        population_total=total,
        population_source=source,
        population_year=year,
        floor_m2_per_resident=floor,
        floor_source=floor_source.strip(),
        roads=roads,
        families=families,
        placeholders=tuple(placeholders),
        where=where,
        data=data,
    )


def _table(data: Mapping, key: str, where: str, *, required: bool = True) -> dict:
    if key not in data:
        if required:
            raise ConfigError(f"{where}: no [{key}] section; a city profile needs one")
        return {}
    value = data[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] is {value!r}; expected a table")
    return value


def _only(table: Mapping, keys: tuple[str, ...], section: str, where: str) -> None:
    for key in table:
        if key not in keys:
            raise ConfigError(
                f"{where}: unknown key {section}.{key}{_did_you_mean(key, keys)}; "
                f"[{section}] holds {', '.join(keys)}"
            )


def _names(value: Any, where: str) -> tuple[str, str]:
    if not (
        isinstance(value, dict)
        and set(value) == {"vi", "en"}
        and all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        raise ConfigError(
            f"{where}: [city] name = {value!r}; expected the name in Vietnamese and English, "
            'e.g. name = { vi = "Huế", en = "Hue" }'
        )
    return value["vi"].strip(), value["en"].strip()


def _area(value: Any, where: str) -> tuple[float, float, float, float]:
    example = "area = [107.36, 16.33, 107.83, 16.73]"
    if not (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ConfigError(
            f"{where}: [city] area = {value!r}; expected [min_lon, min_lat, max_lon, max_lat] "
            f"in degrees, e.g. {example}"
        )
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in value)
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ConfigError(
            f"{where}: [city] area = {value!r}; give [min_lon, min_lat, max_lon, max_lat] with "
            "each minimum below its maximum, longitudes in -180..180, latitudes in -90..90"
        )
    return min_lon, min_lat, max_lon, max_lat


def _population(table: dict, where: str) -> tuple[float | None, str, int | None, float]:
    _only(table, _POPULATION_KEYS, "population", where)
    total = table.get("total")
    if total is not None and not (
        isinstance(total, int | float) and not isinstance(total, bool) and total > 0
    ):
        raise ConfigError(
            f"{where}: population.total = {total!r}; expected a positive number of residents "
            "(leave it out to estimate the population from residential floor area)"
        )
    source = table.get("source", "")
    if not isinstance(source, str) or (total is not None and not source.strip()):
        raise ConfigError(
            f"{where}: population.source = {source!r}; say where the total comes from (a "
            "census, a statistical yearbook), as a string"
        )
    year = table.get("year")
    if year is not None and not (isinstance(year, int) and not isinstance(year, bool)):
        raise ConfigError(f"{where}: population.year = {year!r}; expected a year (an integer)")
    floor = table.get("floor_m2_per_resident")
    if not (isinstance(floor, int | float) and not isinstance(floor, bool) and 1 <= floor <= 1000):
        raise ConfigError(
            f"{where}: population.floor_m2_per_resident = {floor!r}; expected square metres "
            "of residential floor per resident, a number in [1, 1000] (Huế's profile has 25)"
        )
    return (None if total is None else float(total)), source.strip(), year, float(floor)


def _roads(table: dict, where: str) -> dict[str, dict[str, float]]:
    from twin.build.road_classes import ROAD_COLUMNS

    roads: dict[str, dict[str, float]] = {}
    for highway, row in table.items():
        if not isinstance(row, dict):
            raise ConfigError(
                f"{where}: roads.{highway} = {row!r}; expected a table such as "
                "{ speed_kmh = 25, lanes = 1, capacity_pcu_per_lane_h = 700, "
                "jam_density_pcu_per_km_lane = 375 }"
            )
        for column, value in row.items():
            if column not in ROAD_COLUMNS:
                raise ConfigError(
                    f"{where}: unknown key roads.{highway}.{column}"
                    f"{_did_you_mean(column, ROAD_COLUMNS)}; a road class has "
                    f"{', '.join(ROAD_COLUMNS)}"
                )
            if not (isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
                raise ConfigError(
                    f"{where}: roads.{highway}.{column} = {value!r}; expected a positive number"
                )
        roads[str(highway)] = {c: float(v) for c, v in row.items()}
    return roads


def _has_key(data: Any, key: str) -> bool:
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _all_keys(data: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{prefix}.{key}" if prefix else str(key)
            out.append(here)
            out.extend(_all_keys(value, here))
    return out


def _did_you_mean(key: str, candidates) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- what was borrowed ---------------------------------------------------------------------------
def borrowed_parts(profile_meta: Mapping[str, Any] | None) -> list[ProfilePart]:
    """The parts of a city's profile that hold another city's values.

    Parameters
    ----------
    profile_meta
        ``City.meta["profile"]`` (:meth:`CityProfile.to_meta`), or ``None`` for a city
        built without one (then nothing is reported).

    Returns
    -------
    Every part the profile holds when it is borrowed (the extract lies outside its area),
    else the parts its ``placeholders`` name; in :data:`PROFILE_PARTS` order. The caller
    keeps those its build or run used.
    """
    if not profile_meta:
        return []
    data = profile_meta.get("data", {})
    if profile_meta.get("borrowed"):
        return [p for p in PROFILE_PARTS if _has_key(data, p.key)]
    placeholders = data.get("profile", {}).get("placeholders", [])
    return [
        p
        for p in PROFILE_PARTS
        if _has_key(data, p.key) and any(_overlaps(p.key, q) for q in placeholders)
    ]


def describe(profile: CityProfile | Mapping[str, Any]) -> str:
    """How notes name a profile: ``"Huế's city profile (twin/defaults/hue_profile.toml)"``."""
    if isinstance(profile, CityProfile):
        name, where = profile.name, profile.where
    else:
        name, where = profile.get("name", {}).get("vi", "?"), profile.get("file", "?")
    return f"{name}'s city profile ({where})"


def build_notes(
    profile: CityProfile,
    *,
    city_name: str,
    borrowed: bool,
    centre: tuple[float, float],
    population: Mapping[str, Any],
    population_given: bool,
) -> list[str]:
    """What a build says about the values it did not take from the city itself.

    Parameters
    ----------
    profile
        The profile built with.
    city_name
        The city's name.
    borrowed
        Whether the extract's centre lies outside the profile's area.
    centre
        The extract's centre, ``(lon, lat)`` degrees.
    population
        The build report's population entry (``total``, ``estimated``,
        ``residential_floor_m2``, ``floor_m2_per_resident``).
    population_given
        Whether the total was passed to the build (``--population``).

    Returns
    -------
    One sentence per matter (borrowed values, placeholders, an estimated population), each
    naming what to do; empty for Huế built with its own profile.
    """
    notes = []
    estimated = bool(population.get("estimated"))
    if borrowed:
        used = ["road-class defaults"]
        if estimated:
            used.append("residential floor per resident")
        lon, lat = centre
        notes.append(
            f"{city_name}: the extract's centre ({_degrees(lon, 'E', 'W')}, "
            f"{_degrees(lat, 'N', 'S')}) lies outside the area of {describe(profile)}, so "
            f"its figures are {profile.name}'s, not {city_name}'s: the build used its "
            f"{' and '.join(used)}{'' if population_given else ' (not its population total)'}; "
            "runs use its trip rates, vehicle mix, tourist and emergency figures and say so in "
            "kpis.json. Write the city's own profile with `twin profile init SOURCE -o "
            "PROFILE.toml`, check it, and build with `--profile PROFILE.toml`"
        )
    else:
        labels = [
            p.label
            for p in PROFILE_PARTS
            if p.used_by == "build"
            and profile.is_placeholder(p.key)
            and _has_key(profile.data, p.key)
            and (p.key != "population.total" or not population_given)
            and (p.key != "population.floor_m2_per_resident" or estimated)
        ]
        if labels:
            notes.append(
                f"{city_name}: {profile.where} still marks as placeholders, copied from Huế's "
                f"profile and not yet checked for {city_name}, the {', '.join(labels)} this "
                "build used; check each value and remove its key from [profile] placeholders"
            )
    if estimated:
        notes.append(population_note(city_name, population, profile))
    return notes


def population_note(
    city_name: str, population: Mapping[str, Any], profile: CityProfile | Mapping[str, Any]
) -> str:
    """The sentence that says a city's population was estimated, and from what.

    Parameters
    ----------
    city_name
        The city's name.
    population
        The build report's population entry (see :func:`build_notes`).
    profile
        The profile built with, or its entry in the bundle (``City.meta["profile"]``).
    """
    floor_m2 = float(population.get("residential_floor_m2", 0.0))
    if floor_m2 <= 0:
        return (
            f"{city_name}: no residential floor area is mapped in the extract, so the "
            "population is 0 (no trips are synthesised and no calls arise from residents): "
            "give the census count as [population] total in the city's profile, or "
            "--population N"
        )
    data = profile.data if isinstance(profile, CityProfile) else profile.get("data", {})
    source = str(data.get("population", {}).get("floor_source", "")).strip()
    return (
        f"{city_name}: population {float(population['total']):,.0f} estimated from "
        f"{floor_m2:,.0f} m² of mapped residential floor area at "
        f"{float(population['floor_m2_per_resident']):g} m² per resident, the figure of "
        f"{describe(profile)}{': ' + source if source else ''}; homes missing from the map are "
        "missing from it: give the census count as [population] total in the city's profile, "
        "or --population N"
    )


def _degrees(value: float, positive: str, negative: str) -> str:
    return f"{abs(value):.4f}° {positive if value >= 0 else negative}"
