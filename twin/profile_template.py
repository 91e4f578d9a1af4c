"""A starting city profile for a new extract: what the data give, and Huế's values to check.

:func:`profile_template` writes the TOML text of a profile (:mod:`twin.city_profile`) for a
city built from a new extract. From the data it fills in the area (the extract's roads, with
a margin), the estimate of the population from the mapped residential floor area (as a
comment: a census count belongs there), the CRS the build picks (as a comment), and the
attraction table's rows for the extract's named sightseeing POIs. Every value the data
cannot give is Huế's (``twin/defaults/hue_profile.toml``, where each has its source): it is
marked ``PLACEHOLDER`` in a comment and its key is listed in ``[profile] placeholders``, so
that builds and runs report it as borrowed until someone checks it and removes the key.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Mapping
from typing import Any

from twin.build.projection import utm_zone_name
from twin.city import City
from twin.city_profile import DEFAULT_PROFILE, FORMAT, CityProfile, load_profile

__all__ = ["AREA_MARGIN_DEG", "MAX_SITES", "SIGHTSEEING", "profile_template"]

#: Degrees added around the extract's roads for the profile's area: about 1 km (1.1 km of
#: latitude; less of longitude away from the equator), so that a re-cut extract of the same
#: city still has its centre inside (an assumption; edit ``[city] area`` to the city's own).
AREA_MARGIN_DEG = 0.01
#: POI categories whose named POIs seed the attraction table, in the order they are taken
#: (museums and tombs are more often a city's main sights than a generic attraction).
SIGHTSEEING = ("museum", "tomb", "attraction", "pagoda_temple", "city_gate", "market", "pier")
#: At most this many further sight names are listed in a comment to choose from.
MAX_NAMED = 40
#: At most this many seeded sites (an assumption: the table is for a city's main sites, Huế
#: lists 8; the other sightseeing POIs are sites anyway, with ``tourists.other_sites``).
MAX_SITES = 12
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def profile_template(city: City, *, source: str, hue: CityProfile | None = None) -> str:
    """The text of a starting profile for ``city``.

    Parameters
    ----------
    city
        The city built from the new extract (with any profile; only its data are read).
    source
        The extract's path, as the comments name it.
    hue
        The profile whose values fill the placeholders; ``None`` for Huế's.

    Returns
    -------
    TOML text that :func:`twin.city_profile.load_profile` reads back.
    """
    hue = hue or load_profile()
    data = hue.data
    out = _Writer()
    placeholders: list[str] = []
    stem = city.name
    counts = city.pois["category"].value_counts() if len(city.pois) else {}

    def count(category: str) -> int:
        return int(counts.get(category, 0)) if len(city.pois) else 0

    out.comment(
        f"City profile of {stem}, written by `twin profile init {source}`.",
        "Values the extract gives are filled in. Every other value is Huế's (from "
        f"{DEFAULT_PROFILE}, where each has its source), marked PLACEHOLDER and listed in "
        "[profile] placeholders: check each for this city, give your own with its source in "
        "a comment, then remove its key from the list (until then builds and runs report it "
        "as borrowed from Huế). The format is documented in twin/city_profile.py.",
        f"Build with: twin build {source} --profile THIS_FILE",
    )
    body = _Writer()

    body.section("city")
    body.comment("PLACEHOLDER: the city's name in Vietnamese and English (here the file's name).")
    placeholders.append("city.name")
    body.value("name", {"vi": stem, "en": stem})
    bbox = _area(city)
    body.comment(
        "From the extract: where this profile's figures hold, [min_lon, min_lat, max_lon, "
        f"max_lat] in degrees: its roads' bounding box with a margin of {AREA_MARGIN_DEG}° "
        "(about 1 km). A build of an extract whose centre lies outside reports the profile "
        "as borrowed."
    )
    body.value("area", bbox)
    zone = utm_zone_name(city.crs)
    body.comment(
        f"The build projects to {city.crs}{f' ({zone})' if zone else ''}, the UTM zone of the "
        "extract's centre; set crs to another projected CRS in metres to override it."
    )
    body.comment(f'crs = "{city.crs}"')

    population = city.meta.get("features", {}).get("population", {})
    floor_m2 = float(population.get("residential_floor_m2", 0.0))
    per = hue.floor_m2_per_resident
    body.section("population")
    body.comment(
        "Residents, with the source and year of the count. Left out, the build estimates "
        "them from the mapped residential floor area at floor_m2_per_resident: "
        f"{floor_m2:,.0f} m² in this extract at {per:g} m² per resident gives "
        f"{floor_m2 / per:,.0f} (homes missing from the map are missing from it). Give the "
        "census count and uncomment:"
    )
    body.comment(f"total = {round(floor_m2 / per)}", 'source = "…"', "year = 2024")
    body.comment(
        f"PLACEHOLDER: Huế's residential floor area per resident, m² ({hue.floor_source})."
    )
    placeholders.append("population.floor_m2_per_resident")
    body.value("floor_m2_per_resident", hue.floor_m2_per_resident)
    body.value("floor_source", f"Huế's figure, to be checked: {hue.floor_source}")

    body.section("roads")
    road_km = _road_km(city)
    body.comment(
        "PLACEHOLDER: Huế's road-class defaults, for its motorbike-heavy traffic: free-flow "
        "speed (km/h), lanes per direction, capacity (PCU/h per lane) and jam density (PCU/km "
        "per lane), used where a way has no maxspeed or lanes tag. Most important class first.",
        "This extract's road km by class: "
        + (", ".join(f"{k} {v:,.1f}" for k, v in road_km.items()) or "none"),
    )
    placeholders.append("roads")
    for highway, row in data["roads"].items():
        body.value(highway, row)

    demand = data.get("demand", {})
    body.section("demand.generation")
    body.comment("PLACEHOLDER: Huế's person-trips (all modes) per resident per day.")
    placeholders.append("demand.generation")
    for key, value in demand.get("generation", {}).items():
        body.value(key, value)
    body.blank()
    body.comment(
        "PLACEHOLDER: Huế's tour purposes (share, attracting zones column, gravity "
        "constraint, building uses and POI categories that attract, share spread by residents)."
    )
    placeholders.append("demand.purposes")
    for purpose in demand.get("purposes", []):
        body.array_item("demand.purposes", purpose)
    body.section("demand.departure_profile")
    body.comment(
        "PLACEHOLDER: Huế's departures, percent of each direction's legs by interval "
        "(Vietnam's working day, lunch at home)."
    )
    placeholders.append("demand.departure_profile")
    profile = demand.get("departure_profile", {})
    body.value("columns", profile.get("columns", []))
    body.rows("rows", profile.get("rows", []))

    body.blank()
    body.comment(
        "PLACEHOLDER: Huế's vehicle mix (80 % motorbikes): share of trips, passenger-car "
        "units, speed factor and CO2 per vehicle-km of each class."
    )
    placeholders.append("vehicles")
    for vehicle in data.get("vehicles", []):
        body.array_item("vehicles", vehicle)

    body.section("tourists.demand")
    lodging = {c: count(c) for c in ("hotel", "hostel", "guest_house")}
    body.comment(
        "PLACEHOLDER: Huế's tourist volume (sightseeing tourists a day), Festival Huế's "
        "multiplier and the share on organised tours.",
        f"The extract has {_count(lodging['hotel'], 'hotel')}, "
        f"{_count(lodging['hostel'], 'hostel')} and "
        f"{_count(lodging['guest_house'], 'guest house')}: tourists start from them (with "
        "none, no tourists are simulated).",
    )
    placeholders.append("tourists.demand")
    for key, value in data.get("tourists", {}).get("demand", {}).items():
        body.value(key, value)
    sites, others = _sites(city)
    body.blank()
    if sites:
        body.comment(
            f"From the extract: its named sightseeing POIs ({', '.join(SIGHTSEEING)}: the first "
            f"{MAX_SITES} in that order, then by name), matched by poi_id. PLACEHOLDER: their "
            "popularity (relative weight), hours, visit length (min), ticket gate (visitors/min) "
            "and capacity, Huế's defaults for a minor site; keep the main sites, give each its "
            "own figures. Columns: twin/defaults/attractions.csv."
        )
        if others:
            more = len(others) - MAX_NAMED
            body.comment(
                "Other named sights of the extract (sites anyway, with the defaults of "
                "[other_sites] in twin/defaults/tourists.toml): "
                + "; ".join(others[:MAX_NAMED])
                + (f" and {more} more." if more > 0 else ".")
            )
        placeholders.append("tourists.attractions")
        for site in sites:
            body.array_item("tourists.attractions", site)
    else:
        body.comment(
            f"The extract has no named sightseeing POI ({', '.join(SIGHTSEEING)}): list the "
            "city's sites as [[tourists.attractions]] rows with lon/lat (columns: "
            "twin/defaults/attractions.csv)."
        )

    body.section("emergency.demand")
    body.comment(
        "PLACEHOLDER: Huế's emergency call rates (medical calls per 1,000 residents and "
        "tourists a day, fires per 100,000 residents a day, crashes per million vehicle-km, "
        "vehicle-km per resident a day when traffic is not simulated)."
    )
    placeholders.append("emergency.demand")
    for key, value in data.get("emergency", {}).get("demand", {}).items():
        body.value(key, value)
    body.section("emergency.units")
    body.comment(
        "PLACEHOLDER: Huế's units per station.",
        f"The extract has {_count(count('hospital'), 'hospital')} and "
        f"{_count(count('fire_station'), 'fire station')}: ambulances and fire engines are "
        "based there (with none, that part of emergency response is not simulated).",
    )
    placeholders.append("emergency.units")
    for key, value in data.get("emergency", {}).get("units", {}).items():
        body.value(key, value)

    out.section("profile")
    out.value("format", FORMAT)
    out.comment("Keys still to check; remove each once its value is this city's own.")
    out.rows("placeholders", placeholders)
    out.blank()
    return out.text() + body.text()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _area(city: City) -> list[float]:
    lon, lat = city.drive.lon, city.drive.lat
    if not len(lon):
        return [0.0, 0.0, 0.0, 0.0]
    m = AREA_MARGIN_DEG
    return [
        math.floor((float(lon.min()) - m) * 1e4) / 1e4,
        math.floor((float(lat.min()) - m) * 1e4) / 1e4,
        math.ceil((float(lon.max()) + m) * 1e4) / 1e4,
        math.ceil((float(lat.max()) + m) * 1e4) / 1e4,
    ]


def _road_km(city: City) -> dict[str, float]:
    from twin.build.summary import city_summary

    road_km = city_summary(city)["road_km"]
    return dict(sorted(road_km.items(), key=lambda kv: -kv[1]))


def _sites(city: City) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of the attraction table for the city's first named sightseeing POIs, and the
    names of the others."""
    from twin.attractions.sites import OtherSites

    if not len(city.pois):
        return [], []
    pois = city.pois[city.pois["category"].isin(SIGHTSEEING)]
    pois = pois[pois["name"].fillna("").astype(str).str.strip() != ""]
    rank = pois["category"].map({c: i for i, c in enumerate(SIGHTSEEING)})
    pois = pois.assign(rank=rank).sort_values(["rank", "name"]).drop_duplicates("name")
    others = [str(n) for n in pois["name"].iloc[MAX_SITES:]]
    pois = pois.head(MAX_SITES)
    other = OtherSites()
    rows = [
        {
            "site": str(row.name),
            "poi_id": str(row.poi_id),
            "names": str(row.name),
            "category": str(row.category),
            "popularity": other.popularity,
            "opens": other.opens,
            "closes": other.closes,
            "visit_min": other.visit_min,
        }
        for row in pois.itertuples(index=False)
    ]
    return rows, others


# -- writing TOML with comments ------------------------------------------------------------------
class _Writer:
    """Lines of TOML text, with comments wrapped at 100 characters."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def blank(self) -> None:
        self.lines.append("")

    def section(self, name: str) -> None:
        if self.lines:
            self.blank()
        self.lines.append(f"[{name}]")

    def comment(self, *paragraphs: str) -> None:
        for paragraph in paragraphs:
            wrapped = textwrap.wrap(
                paragraph, width=98, break_long_words=False, break_on_hyphens=False
            )
            self.lines.extend(f"# {line}" for line in wrapped or [""])

    def value(self, key: str, value: Any) -> None:
        self.lines.append(f"{_key(key)} = {_toml(value)}")

    def rows(self, key: str, rows: list) -> None:
        self.lines.append(f"{_key(key)} = [")
        self.lines.extend(f"  {_toml(row)}," for row in rows)
        self.lines.append("]")

    def array_item(self, name: str, table: Mapping[str, Any]) -> None:
        self.blank()
        self.lines.append(f"[[{name}]]")
        for key, value in table.items():
            self.value(key, value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml(value: Any) -> str:
    """A TOML literal (strings as basic strings, tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as TOML")
