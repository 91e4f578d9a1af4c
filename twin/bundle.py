"""The ``.twin`` bundle: a compiled city in one file that loads in well under a second.

A bundle is an uncompressed zip archive (any zip tool can list it):

=========================  ==============================================================
member                     content
=========================  ==============================================================
``meta.json``              format name and version, city name, CRS, network road classes,
                           and the build metadata (``City.meta``: source path, SHA-256 and
                           date, build parameters, package versions, what was dropped, notes)
``drive/<array>.npy``      the drive network's CSR arrays (:class:`twin.network.Network`
                           fields, the nodes' junction ``control`` among them), one ``.npy``
                           each; ``drive/name.json`` the edge names;
                           ``drive/node_tags.json`` the OSM junction tags of the nodes that
                           have them (``{node_id: {key: value}}``)
``walk/<array>.npy``       the same for the walk network
``node_zone.npy``          zone of each drive node
``pois.parquet``           the tables of :mod:`twin.city`
``buildings.parquet``
``zones.parquet``
``<net>/shape_*.npy``      the shape of each edge of a network (:class:`twin.geometry.Polylines`:
                           ``shape_edge_id``, ``shape_indptr``, ``shape_xy``), when the city
                           has shapes (``meta.json``'s ``"geometry"`` is true)
``water.parquet``          water areas (:data:`twin.geometry.WATER_COLUMNS`), likewise
=========================  ==============================================================

Bundles are written atomically (a temporary file in the same folder, then
:func:`os.replace`), so a reader never sees half a bundle and a failed build leaves the
old one in place; only a bundle (or a damaged one, named ``*.twin``) is ever replaced.
They are reproducible: the same city gives the same bytes (no build time; every member
dated :data:`MEMBER_TIME`; ``meta.json`` with sorted keys). The zip format checks every
member's CRC-32 on reading, so a damaged bundle is reported, not half-loaded.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from twin.atomic import atomic_path
from twin.city import City
from twin.errors import BundleError, SourceNotFoundError, TwinError
from twin.geometry import CityGeometry, Polylines
from twin.network import EDGE_ARRAYS, NODE_ARRAYS, Network
from twin.output_paths import check_output_file

log = logging.getLogger(__name__)

#: Identifies the file as a Huế Twin bundle.
BUNDLE_FORMAT = "hue-twin-city"
#: Bumped whenever the layout or the meaning of a member changes; older bundles are rebuilt.
#: 2: edge ids are stable (:func:`twin.network.stable_edge_ids`), not positions.
#: 3: the shapes of roads and footpaths, and the water (:mod:`twin.geometry`).
#: 4: node ``control`` arrays and ``<network>/node_tags.json`` (junction tags of OSM nodes).
FORMAT_VERSION = 4
#: File suffix of a bundle.
SUFFIX = ".twin"
_NETWORKS = ("drive", "walk")
_TABLES = ("pois", "buildings", "zones")
_TEXT_ARRAYS = ("name",)
_NETWORK_ARRAYS = ("indptr", *NODE_ARRAYS, *EDGE_ARRAYS)
#: Members of a network's shapes: ``<kind>/shape_<field>.npy`` per field of Polylines.
_SHAPE_FIELDS = ("edge_id", "indptr", "xy")


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _parquet_bytes(table: pd.DataFrame, name: str) -> bytes:
    buffer = io.BytesIO()
    try:
        table.reset_index(drop=True).to_parquet(buffer, index=False)
    except (TypeError, ValueError) as exc:  # pyarrow errors derive from these
        raise BundleError(
            f"the {name} table cannot be stored ({exc}); its columns must hold numbers, "
            "strings or bytes (geometry as WKB)"
        ) from exc
    return buffer.getvalue()


#: The time every member of a bundle carries (the earliest a zip file can hold), so that
#: two builds of one source are the same bytes; the source's date is in ``meta.json``.
MEMBER_TIME = (1980, 1, 1, 0, 0, 0)


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=MEMBER_TIME)
    info.create_system = 3  # Unix, whatever the platform writing it
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED
    return info


def write_bundle(city: City, path: str | Path) -> Path:
    """Write a city to a ``.twin`` bundle, atomically.

    Parameters
    ----------
    city
        The city.
    path
        The bundle to write (its folder is created when missing; an existing bundle is
        replaced only once the new one is complete).

    Returns
    -------
    The path written.

    Raises
    ------
    OutputError
        ``path`` is a folder, a file that is not a bundle, or cannot be written.
    BundleError
        A table of the city cannot be stored.
    """
    path = check_output_file(path, what="a city bundle", replaceable=replaceable_bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format": BUNDLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "name": city.name,
        "crs": city.crs,
        "networks": {
            kind: {
                "road_classes": list(getattr(city, kind).road_classes),
                "nodes": getattr(city, kind).n_nodes,
                "edges": getattr(city, kind).n_edges,
            }
            for kind in _NETWORKS
        },
        "meta": city.meta,
        "geometry": city.geometry is not None,
    }
    text = json.dumps(header, default=_json_default, ensure_ascii=False, sort_keys=True)
    members: list[tuple[str, bytes]] = [("meta.json", text.encode())]
    for kind in _NETWORKS:
        network: Network = getattr(city, kind)
        for name, array in network.arrays().items():
            if name in _TEXT_ARRAYS:
                text = json.dumps([str(v) for v in array], ensure_ascii=False)
                members.append((f"{kind}/{name}.json", text.encode()))
            else:
                members.append((f"{kind}/{name}.npy", _npy_bytes(array)))
        tags = {str(k): dict(v) for k, v in sorted(network.node_tags.items())}
        members.append((f"{kind}/node_tags.json", json.dumps(tags, ensure_ascii=False).encode()))
    members.append(("node_zone.npy", _npy_bytes(np.asarray(city.node_zone, dtype=np.int32))))
    for name in _TABLES:
        members.append((f"{name}.parquet", _parquet_bytes(getattr(city, name), name)))
    if city.geometry is not None:
        for kind in _NETWORKS:
            lines: Polylines = getattr(city.geometry, kind)
            for name in _SHAPE_FIELDS:
                members.append((f"{kind}/shape_{name}.npy", _npy_bytes(getattr(lines, name))))
        members.append(("water.parquet", _parquet_bytes(city.geometry.water, "water")))

    with (
        atomic_path(path, sync=True) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        for member, data in members:
            archive.writestr(_member(member), data)
    log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def _rebuild(path: Path) -> str:
    """How to make the bundle ``path`` should be, never a command that writes over a file
    that is not a bundle."""
    if path.suffix == SUFFIX:
        return f"rebuild it with `twin build SOURCE -o {path}`"
    return "give a .twin bundle made by `twin build SOURCE -o CITY.twin`"


def _osm_format(path: Path) -> str | None:
    from twin.build.osm import osm_format

    try:
        return osm_format(path)
    except TwinError:
        return None


def _open(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise SourceNotFoundError(
            f"city bundle {path} does not exist; build it with `twin build SOURCE -o {path}` "
            "(or `twin build` for the default city)"
        )
    if path.is_dir():
        raise BundleError(f"{path} is a folder; expected a .twin file made by `twin build`")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        if _osm_format(path) is not None:
            from twin.build.osm import bundle_name

            raise BundleError(
                f"{path} is an OSM file, not a .twin city bundle; build a bundle from it with "
                f"`twin build {path} -o {bundle_name(path)}` and give that bundle"
            ) from None
        raise BundleError(
            f"{path} is not a .twin bundle (it is not a readable zip archive: {exc}); it may "
            f"be truncated or another kind of file: {_rebuild(path)}"
        ) from exc


def replaceable_bundle(path: str | Path) -> bool:
    """Whether ``twin build`` may write over the existing file ``path``: a bundle of any
    format version (:func:`is_bundle`), or a damaged one (a file named ``*.twin``).
    Any other file (``notes.txt``, an OSM file) is kept."""
    return Path(path).suffix == SUFFIX or is_bundle(path)


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a city bundle of any format version (a zip archive whose
    ``meta.json`` names the bundle format)."""
    try:
        with zipfile.ZipFile(path) as archive:
            header = json.loads(archive.read("meta.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False
    return isinstance(header, dict) and header.get("format") == BUNDLE_FORMAT


def _header(archive: zipfile.ZipFile, path: Path) -> dict:
    try:
        header = json.loads(archive.read("meta.json"))
    except KeyError:
        raise BundleError(
            f"{path} has no meta.json: it is a zip file but not a .twin bundle; rebuild it "
            "with `twin build`"
        ) from None
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BundleError(f"{path}: meta.json is damaged ({exc}); {_rebuild(path)}") from exc
    if not isinstance(header, dict) or header.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not a Huế Twin city bundle; {_rebuild(path)}")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{path} is a bundle of format version {version}, this Huế Twin reads version "
            f"{FORMAT_VERSION}; rebuild it with `twin build` (the default city rebuilds itself)"
        )
    return header


def read_bundle_meta(path: str | Path) -> dict:
    """The header of a bundle (``meta.json``) without loading the rest.

    Its ``"meta"`` entry is the city's build metadata (``City.meta``).

    Raises
    ------
    SourceNotFoundError, BundleError
        The file is missing, not a bundle, or of another format version.
    """
    path = Path(path)
    with _open(path) as archive:
        return _header(archive, path)


def read_bundle(path: str | Path) -> City:
    """Load a city from a ``.twin`` bundle.

    Raises
    ------
    SourceNotFoundError
        The file does not exist.
    BundleError
        The file is not a bundle, is damaged or truncated, lacks a part, or is of another
        format version; the message says to rebuild it.
    """
    path = Path(path)
    with _open(path) as archive:
        header = _header(archive, path)
        try:
            networks = {
                kind: _read_network(archive, kind, header["networks"][kind]["road_classes"])
                for kind in _NETWORKS
            }
            node_zone = np.load(io.BytesIO(archive.read("node_zone.npy")), allow_pickle=False)
            tables = {
                name: pd.read_parquet(io.BytesIO(archive.read(f"{name}.parquet")))
                for name in _TABLES
            }
            geometry = _read_geometry(archive) if header.get("geometry") else None
        except KeyError as exc:
            raise BundleError(
                f"{path} lacks a part ({exc}); the bundle is incomplete, rebuild it with "
                "`twin build`"
            ) from exc
        except TwinError as exc:
            raise BundleError(f"{path} is inconsistent ({exc}); rebuild it") from exc
        except Exception as exc:  # zlib/CRC, npy and parquet decoding errors
            raise BundleError(
                f"{path} is damaged ({type(exc).__name__}: {exc}); rebuild it with `twin build`"
            ) from exc
    if len(node_zone) != networks["drive"].n_nodes:
        raise BundleError(
            f"{path}: node_zone has {len(node_zone)} entries for "
            f"{networks['drive'].n_nodes} drive nodes; rebuild the bundle"
        )
    if geometry is not None and (
        len(geometry.drive) != networks["drive"].n_edges
        or len(geometry.walk) != networks["walk"].n_edges
    ):
        raise BundleError(
            f"{path}: the road shapes do not match the networks' edges; rebuild the bundle"
        )
    meta = dict(header.get("meta", {}))
    meta["bundle"] = str(path)
    return City(
        name=header["name"],
        crs=header["crs"],
        drive=networks["drive"],
        walk=networks["walk"],
        node_zone=node_zone,
        meta=meta,
        geometry=geometry,
        **tables,
    )


def _read_geometry(archive: zipfile.ZipFile) -> CityGeometry:
    lines = {
        kind: Polylines(
            **{
                name: np.load(io.BytesIO(archive.read(f"{kind}/shape_{name}.npy")))
                for name in _SHAPE_FIELDS
            }
        )
        for kind in _NETWORKS
    }
    water = pd.read_parquet(io.BytesIO(archive.read("water.parquet")))
    return CityGeometry(drive=lines["drive"], walk=lines["walk"], water=water)


def _read_network(archive: zipfile.ZipFile, kind: str, road_classes: list[str]) -> Network:
    arrays = {}
    for name in _NETWORK_ARRAYS:
        if name in _TEXT_ARRAYS:
            values = json.loads(archive.read(f"{kind}/{name}.json"))
            arrays[name] = np.array(values, dtype=object)
        else:
            arrays[name] = np.load(io.BytesIO(archive.read(f"{kind}/{name}.npy")))
    tags = json.loads(archive.read(f"{kind}/node_tags.json"))
    node_tags = {int(k): dict(v) for k, v in tags.items()}
    return Network(**arrays, road_classes=tuple(road_classes), node_tags=node_tags)
