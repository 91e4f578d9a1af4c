"""Build a city from an OSM file (or a place name) and keep it compiled in a ``.twin`` bundle.

:func:`build_city` runs the whole pipeline in memory::

    OSM file ──read_highways──▶ drive / walk XML ──osmnx──▶ graphs ──▶ largest strongly
    connected components ──▶ extra POIs with access links ──▶ POIs, buildings, population,
    zones (twin.build.features) ──▶ water (twin.build.water) and the shape of every edge
    (twin.geometry) ──▶ City

:func:`build_bundle` compiles a city into a bundle unless the bundle is current (same
source checksum, same build parameters, same build code), and :func:`default_city` does so
for the default city (Huế, from :func:`twin.settings.default_osm_path`) into the user
cache.

The city profile and the projection
-----------------------------------
Everything specific to a city comes from its profile (:mod:`twin.city_profile`; Huế's,
``twin/defaults/hue_profile.toml``, when none is given): the road-class defaults, the
population and the name. The CRS is the UTM zone of the extract's centre
(:func:`twin.build.projection.utm_crs`; EPSG:32648 for Huế) unless ``crs=`` or the profile
names one. The population is, in order: ``population=``; the profile's total when the
extract's centre lies in the profile's area (Huế's official population, **652,572
residents**, for Huế); otherwise an estimate from the mapped residential floor area at the
profile's floor area per resident. A build that uses another city's values, or estimates
the population, says so in ``City.meta["notes"]`` (which ``twin build`` and ``twin info``
print).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from twin.build.fingerprint import code_digest, package_versions
from twin.build.osm import (
    LongTagError,
    file_sha256,
    network_xml_files,
    osm_format,
    osm_header_timestamp,
    read_highways,
    shorten_long_tags,
)
from twin.build.projection import check_projected_crs, extract_extent, utm_crs
from twin.build.road_classes import load_road_defaults, road_defaults_digest
from twin.bundle import FORMAT_VERSION, read_bundle, read_bundle_meta, write_bundle
from twin.city import City
from twin.city_profile import CityProfile, load_profile
from twin.city_profile import build_notes as profile_notes
from twin.errors import BundleError, ConfigError, SourceNotFoundError
from twin.geometry import CityGeometry
from twin.network import Network
from twin.settings import DEFAULT_CITY_NAME, default_osm_path, get_settings, source_date_epoch

__all__ = [
    "HUE_POPULATION",
    "build_bundle",
    "build_city",
    "build_params",
    "bundle_is_current",
    "default_city",
    "load_city",
]

log = logging.getLogger(__name__)

#: Huế's official population (Resolution 1264/NQ-UBTVQH14, 27 April 2021; 265.99 km²).
HUE_POPULATION = 652_572
#: The most residents a city may be given: more than the largest city on Earth holds.
MAX_POPULATION = 50_000_000
#: Network filters a drive network may be built with (see :data:`twin.build.osm.NETWORK_FILTERS`).
DRIVE_NETWORKS = ("drive", "drive_service")
#: Modules a build starts from; they and every ``twin`` module they import, with the
#: defaults tables, make up the build code whose fingerprint is a build parameter
#: (:func:`twin.build.fingerprint.code_digest`).
_BUILD_ROOTS = ("build.pipeline", "build.features")
Progress = Callable[[str], None]
#: Options of :func:`build_city` that are build parameters.
_PARAM_OPTIONS = (
    "crs",
    "population",
    "road_defaults",
    "extra_pois",
    "drive_network",
    "name",
    "profile",
)


def _extra_table(extra_pois: str | Path | bool) -> pd.DataFrame | None:
    from twin.build.extras import load_extra_pois

    if extra_pois is False or extra_pois is None:
        return None
    return load_extra_pois(None if extra_pois is True else extra_pois)


def build_params(
    *,
    crs: str | None = None,
    population: float | None = None,
    road_defaults: str | Path | None = None,
    extra_pois: str | Path | bool = True,
    drive_network: str = "drive",
    name: str | None = None,
    profile: str | Path | CityProfile | None = None,
) -> dict:
    """The parameters that decide a build, as stored in the bundle's metadata.

    Files are recorded by content (SHA-256), so editing an override file or the profile
    rebuilds. ``code_sha256`` fingerprints the build code (a new version rebuilds cached
    bundles). ``crs`` and ``population`` are recorded as given (``None``: from the data and
    the profile).
    """
    from twin.build.graph import WALK_SPEED

    if population is not None and not 1 <= population <= MAX_POPULATION:
        raise ConfigError(
            f"population {population:g} is not a number of residents from 1 to "
            f"{MAX_POPULATION:,} (more than any city holds); give the residents of the area "
            "the map covers, e.g. --population 652572"
        )
    if drive_network not in DRIVE_NETWORKS:
        raise ConfigError(f"drive_network must be one of {DRIVE_NETWORKS}, got {drive_network!r}")
    if crs is not None:
        check_projected_crs(crs)
    profile = load_profile(profile)
    defaults = _road_table(road_defaults, profile)
    extras = _extra_table(extra_pois)
    return {
        "name": name,
        "crs": crs,
        "population": None if population is None else float(population),
        "profile": profile.where,
        "profile_sha256": profile.sha256,
        "drive_network": drive_network,
        "walk_speed_m_s": WALK_SPEED,
        "road_defaults": str(road_defaults) if road_defaults else "twin/defaults/road_classes.csv",
        "road_defaults_sha256": road_defaults_digest(defaults),
        "extra_pois_sha256": (
            None
            if extras is None
            else hashlib.sha256(extras.to_csv(index=False).encode()).hexdigest()
        ),
        "format_version": FORMAT_VERSION,
        "code_sha256": code_digest(_BUILD_ROOTS),
    }


def _road_table(road_defaults: str | Path | None, profile: CityProfile) -> pd.DataFrame:
    return load_road_defaults(
        road_defaults, classes=profile.roads, classes_source=f"{profile.where}: [roads]"
    )


def _params_digest(params: dict) -> str:
    text = json.dumps(
        {k: v for k, v in params.items() if k not in ("road_defaults", "profile")}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _city_name(source: Path, name: str | None, profile: CityProfile, borrowed: bool) -> str:
    if name:
        return name
    if not profile.is_default and not borrowed:
        return profile.name
    try:
        if source.resolve() == get_settings().osm_path.resolve():
            return DEFAULT_CITY_NAME
    except OSError:
        pass
    stem = source.name
    for suffix in (".osm.pbf", ".osm.bz2", ".osm.gz", ".osm", ".pbf", ".xml"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)] or stem
    return stem


#: File name endings by which pyosmium recognises each format.
_FORMAT_SUFFIXES = {
    "pbf": (".osm.pbf", ".pbf"),
    "osm": (".osm",),
    "osm.bz2": (".osm.bz2",),
    "osm.gz": (".osm.gz",),
}


def _named_for_format(source: Path, fmt: str, folder: Path) -> Path:
    """``source``, or a link to it in ``folder`` whose name tells its format (readers that
    go by the file name, as pyosmium does, then read a mislabelled file too)."""
    if source.name.endswith(_FORMAT_SUFFIXES[fmt]):
        return source
    link = folder / f"source{_FORMAT_SUFFIXES[fmt][0]}"
    try:
        link.symlink_to(source.resolve())
    except OSError:
        shutil.copyfile(source, link)
    return link


def _features(
    source: Path,
    drive: Network,
    walk: Network,
    *,
    crs: str,
    population: float | None,
    extras,
    floor_m2_per_resident: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray, dict]:
    from twin.build.features import city_features

    features = city_features(
        source,
        drive,
        walk,
        crs=crs,
        population=population,
        extra_pois=extras,
        floor_m2_per_resident=floor_m2_per_resident,
    )
    return (
        features.pois,
        features.buildings,
        features.zones,
        np.asarray(features.node_zone, dtype=np.int32),
        dict(features.report),
    )


def build_city(
    source: str | Path | None = None,
    *,
    place: str | None = None,
    name: str | None = None,
    crs: str | None = None,
    population: float | None = None,
    road_defaults: str | Path | None = None,
    extra_pois: str | Path | bool = True,
    drive_network: str = "drive",
    profile: str | Path | CityProfile | None = None,
    progress: Progress | None = None,
) -> City:
    """Build a city from an OSM file, or from a place downloaded when online.

    Parameters
    ----------
    source
        An ``.osm``, ``.osm.pbf`` or ``.osm.bz2`` file (format read from the content).
    place
        Instead of ``source``: a place name to download with osmnx (needs internet; the
        download is kept in the cache folder under ``places/``).
    name
        The city's display name; default: the profile's (Vietnamese) name when a profile
        is given and the extract lies in its area, ``"Huế"`` for the default extract, else
        the file's name.
    crs
        Projected CRS of ``x``/``y`` (metres); ``None``: the profile's ``crs`` if it has
        one and the extract lies in its area, else the UTM zone of the extract's centre
        (EPSG:32648, UTM 48N, for Huế).
    population
        Residents to distribute over the buildings; ``None``: the profile's total when the
        extract's centre lies in the profile's area, else an estimate from the mapped
        residential floor area (see the module docstring).
    road_defaults
        A CSV overriding rows of ``twin/defaults/road_classes.csv`` (see
        :func:`twin.build.road_classes.load_road_defaults`).
    extra_pois
        ``True`` for the shipped extra POIs (the tombs of Minh Mạng and Khải Định, added
        only where the network comes within reach), a CSV of your own, or ``False``.
    drive_network
        ``"drive"`` (osmnx's drive filter: no service roads) or ``"drive_service"``.
    profile
        The city profile (:mod:`twin.city_profile`): a TOML file or a loaded profile;
        ``None`` for Huế's.
    progress
        Called with a short description as each stage starts (the CLI prints them).

    Raises
    ------
    SourceNotFoundError, OSMReadError, EmptyNetworkError, OfflineError, ConfigError
        With a message saying what was wrong and how to fix it.
    """
    # The graph stack (osmnx, networkx, scipy) loads here, so loading a bundle stays light.
    from twin.build.extras import add_extra_pois, empty_pois
    from twin.build.graph import network_from_xml
    from twin.build.water import read_water

    if (source is None) == (place is None):
        raise ConfigError("give either an OSM file (source) or a place name (place), not both")
    say = progress or (lambda _stage: None)
    started = time.perf_counter()
    if place is not None:
        from twin.build.osm import download_place

        say(f"downloading {place}")
        source = download_place(place, get_settings().cache_dir / "places")
    source = Path(source)
    fmt = osm_format(source)
    profile = load_profile(profile)
    params = build_params(
        crs=crs,
        population=population,
        road_defaults=road_defaults,
        extra_pois=extra_pois,
        drive_network=drive_network,
        name=name,
        profile=profile,
    )
    defaults = _road_table(road_defaults, profile)
    extras_table = _extra_table(extra_pois)

    say(f"reading {source.name}")
    with tempfile.TemporaryDirectory(prefix="twin-build-") as folder:
        readable, tags_cut = source, 0
        try:
            highways = read_highways(source)
        except LongTagError:
            readable = Path(folder) / "shortened.osm"
            tags_cut = shorten_long_tags(source, readable)
            highways = read_highways(readable)
        centre, _ = extract_extent(highways.locations.values(), source_name=str(source))
        borrowed = not profile.covers(*centre)
        if crs is None:
            crs = (None if borrowed else profile.crs) or utm_crs(*centre)
        residents = population
        if residents is None and not borrowed:
            residents = profile.population_total
        gaps = {"ways": highways.gaps, "nodes": highways.missing_nodes}
        files = network_xml_files(highways, (drive_network, "walk"), folder)
        del highways
        say("building the drive network")
        drive, drive_report = network_from_xml(
            files[drive_network][0],
            kind="drive",
            crs=crs,
            n_ways=files[drive_network][1],
            road_defaults=defaults,
            source_name=str(source),
        )
        say("building the walk network")
        walk, walk_report = network_from_xml(
            files["walk"][0],
            kind="walk",
            crs=crs,
            n_ways=files["walk"][1],
            source_name=str(source),
        )
        extras_report: list[dict] = []
        extras = empty_pois()
        if extras_table is not None and len(extras_table):
            say("adding extra POIs")
            drive, walk, extras, extras_report = add_extra_pois(
                drive, walk, extras_table, crs=crs, road_defaults=defaults
            )
        drive_net, walk_net = drive.to_network(), walk.to_network()
        named = _named_for_format(readable, osm_format(readable), Path(folder))
        say("placing POIs, buildings, population and zones")
        pois, buildings, zones, node_zone, features_report = _features(
            named,
            drive_net,
            walk_net,
            crs=crs,
            population=residents,
            extras=extras,
            floor_m2_per_resident=profile.floor_m2_per_resident,
        )
        say("reading the water and the shapes of the roads")
        water, water_report = read_water(named, crs=crs, drive=drive_net)
        geometry = CityGeometry(
            drive=drive.polylines(drive_net), walk=walk.polylines(walk_net), water=water
        )
    sha = file_sha256(source)
    city_name = _city_name(source, name, profile, borrowed)
    notes = profile_notes(
        profile,
        city_name=city_name,
        borrowed=borrowed,
        centre=centre,
        population=features_report["population"],
        population_given=population is not None,
    )
    notes += build_notes(features_report, gaps=gaps, tags_cut=tags_cut)
    for note in notes:
        log.info("%s", note)
    meta = {
        "source": str(source.resolve()),
        "source_format": fmt,
        "source_sha256": sha,
        "source_bytes": source.stat().st_size,
        "place": place,
        "params": {**params, "crs": crs},
        "params_sha256": _params_digest(params),
        "versions": package_versions(),
        # no build time: two builds of one source with one set of parameters are the same
        # bundle, byte for byte (the time a build took goes to the log)
        **source_date(source, fmt),
        "dropped": {"drive": drive_report["dropped"], "walk": walk_report["dropped"]},
        "tags": drive_report.get("tags", {}),
        "extras": extras_report,
        "features": features_report,
        "water": water_report,
        "missing_nodes": gaps,
        "tags_cut": tags_cut,
        "profile": profile.to_meta(borrowed=borrowed, centre=centre),
        "notes": notes,
        "licence": "OpenStreetMap data © OpenStreetMap contributors, ODbL 1.0",
    }
    log.info("built %s in %.1f s", source, time.perf_counter() - started)
    return City(
        name=city_name,
        crs=crs,
        drive=drive_net,
        walk=walk_net,
        pois=pois,
        buildings=buildings,
        zones=zones,
        node_zone=node_zone,
        meta=meta,
        geometry=geometry,
    )


def source_date(source: Path, fmt: str) -> dict[str, str]:
    """The date a bundle records for its source: ``SOURCE_DATE_EPOCH`` when set (the
    reproducible-builds convention), else the replication timestamp in the OSM file's
    header, else the file's modification time; never the time of the build.

    Returns
    -------
    ``{"source_date": ISO 8601 UTC, "source_date_from": where it came from}``.

    Raises
    ------
    ConfigError
        ``SOURCE_DATE_EPOCH`` is not a whole number of seconds.
    """
    epoch = source_date_epoch()
    if epoch is not None:
        when = datetime.fromtimestamp(epoch, UTC)
        return {"source_date": when.isoformat(), "source_date_from": "SOURCE_DATE_EPOCH"}
    stamp = osm_header_timestamp(source, fmt)
    if stamp:
        return {"source_date": stamp, "source_date_from": "OSM header"}
    when = datetime.fromtimestamp(int(source.stat().st_mtime), UTC)
    return {"source_date": when.isoformat(), "source_date_from": "file modification time"}


def build_notes(features: dict, *, gaps: dict, tags_cut: int) -> list[str]:
    """What a user should know about a build that is not what they may expect: layers left
    empty, where residents went, what the file lacked. ``twin build`` and ``twin info``
    print them; they are kept in the bundle's metadata (``notes``)."""
    notes = []
    if not features.get("pois", {}).get("count"):
        notes.append(
            "no POIs: the file has no place the POI rules recognise, so the POI layer is "
            "empty (no lodging or tourist sites, no hospitals or fire stations: runs skip "
            "tourists and emergency response)"
        )
    population = features.get("population", {})
    if not features.get("buildings", {}).get("count"):
        total = population.get("total", 0)
        spread = f" and all {total:,.0f} residents are spread along the streets" if total else ""
        notes.append(
            "no buildings: the file has no building footprints, so the building layer is "
            f"empty{spread}"
        )
    if gaps.get("ways"):
        ways, nodes = gaps["ways"], gaps["nodes"]
        notes.append(
            f"{_count(ways, 'road references', 'roads reference')} "
            f"{_count(nodes, 'node')} the file does not hold (cut at the extract's edge?); "
            "the parts between missing nodes were kept"
        )
    if tags_cut:
        notes.append(
            f"{_count(tags_cut, 'tag key or value', 'tag keys or values')} longer than OSM "
            "allows cut to 255 characters"
        )
    return notes


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def bundle_is_current(bundle: str | Path, source: str | Path, params: dict) -> bool:
    """Whether a bundle was built from this source (same SHA-256) with these parameters.

    A missing, unreadable or old-format bundle is not current.
    """
    try:
        header = read_bundle_meta(bundle)
    except (BundleError, SourceNotFoundError):
        return False
    meta = header.get("meta", {})
    return meta.get("source_sha256") == file_sha256(source) and meta.get(
        "params_sha256"
    ) == _params_digest(params)


def build_bundle(
    source: str | Path,
    output: str | Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    **options,
) -> tuple[City, bool]:
    """Build ``source`` into the bundle ``output`` unless that bundle is current.

    Parameters
    ----------
    source, output
        The OSM file and the ``.twin`` file.
    force
        Rebuild even when the bundle is current.
    progress
        See :func:`build_city`.
    **options
        Keyword options of :func:`build_city` (``population``, ``road_defaults``, …).

    Returns
    -------
    The city and whether it was (re)built.
    """
    source, output = Path(source), Path(output)
    osm_format(source)
    params = build_params(
        **{k: v for k, v in options.items() if k in _PARAM_OPTIONS},
    )
    if not force and bundle_is_current(output, source, params):
        try:
            city = read_bundle(output)
        except BundleError as exc:
            log.warning("rebuilding %s: %s", output, exc)
        else:
            log.info("%s is up to date", output)
            return city, False
    city = build_city(source, progress=progress, **options)
    if progress:
        progress(f"writing {output}")
    write_bundle(city, output)
    meta = dict(city.meta)
    meta["bundle"] = str(output)
    return _with_meta(city, meta), True


def _with_meta(city: City, meta: dict) -> City:
    from dataclasses import replace

    return replace(city, meta=meta)


def default_city(*, rebuild: bool = False, progress: Progress | None = None) -> City:
    """The default city (Huế), built into the cache when missing or stale, then loaded.

    The bundle is ``get_settings().default_bundle`` (``$TWIN_CACHE_DIR/hue.twin``); it is
    rebuilt when the extract's checksum, the build parameters or the build code change.

    Parameters
    ----------
    rebuild
        Rebuild even when the cached bundle is current.
    progress
        See :func:`build_city`.

    Raises
    ------
    SourceNotFoundError
        The default extract is missing; the message says where it looked and how to fix it.
    """
    source = default_osm_path()
    city, _ = build_bundle(source, get_settings().default_bundle, force=rebuild, progress=progress)
    return city


def load_city(path: str | Path | None = None, *, progress: Progress | None = None) -> City:
    """The city a command or a caller asks for: a ``.twin`` bundle, or the default city.

    Parameters
    ----------
    path
        A bundle written by ``twin build``; ``None`` for the default city (Huế), built into
        the cache when missing or stale (:func:`default_city`).
    progress
        Build progress for the default city (see :func:`build_city`).

    Raises
    ------
    SourceNotFoundError, BundleError
        The bundle is missing, damaged or of another format version.
    """
    if path is None:
        return default_city(progress=progress)
    return read_bundle(path)
