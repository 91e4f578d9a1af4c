"""Read OpenStreetMap files offline, and download a place when online.

A source is an ``.osm`` (XML), ``.osm.pbf`` or ``.osm.bz2`` file. Its format is taken from
its first bytes, not its name, so a mislabelled file is still read (or rejected with a
clear message). pyosmium reads every format; from it this module takes the ``highway``
ways that a drive or walk network may use, with their node locations, and writes each
network as a small OSM XML file that :func:`osmnx.graph_from_xml` reads (osmnx reads XML
only, and loads *every* way of an XML file, so the network filters are applied here, as
osmnx applies them to its Overpass queries).

Ways cut by an extract's edge keep only the nodes the file holds; where a way has a gap,
its runs of present nodes become separate pieces that keep the way's id in the
``twin:way`` tag (see :data:`WAY_ID_TAG`).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import logging
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from twin.errors import OfflineError, OSMReadError, SourceNotFoundError

log = logging.getLogger(__name__)

#: File names a source may have (the format is sniffed from the content either way).
OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".xml")
#: Tag carrying a way's OSM id on every piece written to the network XML.
WAY_ID_TAG = "twin:way"
#: Way tags copied into the network XML (and so onto graph edges).
NETWORK_WAY_TAGS: tuple[str, ...] = (
    "highway",
    "name",
    "ref",
    "oneway",
    "junction",
    "lanes",
    "lanes:forward",
    "lanes:backward",
    "maxspeed",
    "maxspeed:forward",
    "maxspeed:backward",
    "bridge",
    "tunnel",
    "access",
    "service",
)

#: Node tags copied onto graph nodes and kept in the bundle (``Network.node_tags``): the
#: ones that say how traffic is controlled at a node.
NODE_TAGS: tuple[str, ...] = (
    "highway",
    "crossing",
    "crossing:signals",
    "traffic_signals",
    "traffic_signals:direction",
    "direction",
    "junction",
    "ref",
)


def junction_control(tags: dict[str, object]) -> int:
    """The ``twin.network`` control code of a node with these OSM tags.

    ``highway=traffic_signals`` is a signalised junction (or a signal on one approach to
    it); a ``highway=crossing`` with ``crossing=traffic_signals`` or ``crossing:signals=yes``
    is a signalised pedestrian crossing; ``highway=stop`` and ``highway=give_way`` are
    signs. Anything else is uncontrolled.
    """
    from twin.network import (
        CONTROL_GIVE_WAY,
        CONTROL_NONE,
        CONTROL_SIGNAL_CROSSING,
        CONTROL_SIGNALS,
        CONTROL_STOP,
    )

    highway = tags.get("highway")
    if highway == "traffic_signals":
        return CONTROL_SIGNALS
    if tags.get("crossing") == "traffic_signals" or tags.get("crossing:signals") == "yes":
        return CONTROL_SIGNAL_CROSSING
    if highway == "stop":
        return CONTROL_STOP
    if highway == "give_way":
        return CONTROL_GIVE_WAY
    return CONTROL_NONE


# Network filters, as in osmnx 2.x (``osmnx._overpass._get_network_filter``): a way is kept
# when it has a ``highway`` tag and no listed tag value matches the pattern. Patterns are
# searched, not anchored, exactly as Overpass's ``!~`` does ("motor" also rejects
# "motorway").
#
# One deliberate difference: osmnx drops every way tagged ``motor_vehicle=no`` or
# ``motorcar=no`` from a drive network. OSM's access tags nest (``motor_vehicle`` covers
# ``motorcar`` and ``motorcycle``; the more specific tag wins), and in Huế, where most
# traffic is motorbikes, the main span of Cầu Trường Tiền is tagged ``motor_vehicle=no``,
# ``motorcar=yes``, ``motorcycle=yes``. Here a way leaves the drive network only when
# both cars and motorcycles are refused (:func:`motor_access_refused`).
_ACCESS_PRIVATE = ("access", "private")
NETWORK_FILTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "drive": (
        ("area", "yes"),
        _ACCESS_PRIVATE,
        (
            "highway",
            "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|"
            "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|"
            "rest_area|service|services|steps|track",
        ),
        ("service", "alley|driveway|emergency_access|parking|parking_aisle|private"),
    ),
    "drive_service": (
        ("area", "yes"),
        _ACCESS_PRIVATE,
        (
            "highway",
            "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|"
            "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|"
            "rest_area|services|steps|track",
        ),
        ("service", "emergency_access|parking|parking_aisle|private"),
    ),
    "walk": (
        ("area", "yes"),
        _ACCESS_PRIVATE,
        (
            "highway",
            "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|"
            "proposed|raceway|razed|rest_area|services",
        ),
        ("foot", "no"),
        ("service", "private"),
        ("sidewalk", "separate"),
        ("sidewalk:both", "separate"),
        ("sidewalk:left", "separate"),
        ("sidewalk:right", "separate"),
    ),
}
_COMPILED = {
    kind: tuple((key, re.compile(pattern)) for key, pattern in rules)
    for kind, rules in NETWORK_FILTERS.items()
}


_REFUSED = re.compile("no")


def motor_access_refused(tags: dict[str, str]) -> bool:
    """Whether a way refuses both cars and motorcycles.

    For each of ``motorcar`` and ``motorcycle`` the most specific tag present among it and
    ``motor_vehicle`` decides; a value matching ``no`` (as osmnx matches it) refuses.
    """
    for mode in ("motorcar", "motorcycle"):
        value = tags.get(mode, tags.get("motor_vehicle"))
        if value is None or not _REFUSED.search(value):
            return False
    return True


def way_in_network(tags: dict[str, str], network_type: str) -> bool:
    """Whether a way with these tags belongs to a network of ``network_type``.

    Parameters
    ----------
    tags
        The way's OSM tags.
    network_type
        A key of :data:`NETWORK_FILTERS` (``"drive"``, ``"drive_service"``, ``"walk"``).
    """
    if "highway" not in tags:
        return False
    try:
        rules = _COMPILED[network_type]
    except KeyError:
        raise OSMReadError(
            f"unknown network type {network_type!r}; expected one of {sorted(NETWORK_FILTERS)}"
        ) from None
    if any(key in tags and pattern.search(tags[key]) for key, pattern in rules):
        return False
    return not (network_type.startswith("drive") and motor_access_refused(tags))


# -- files ------------------------------------------------------------------------------
def osm_header_timestamp(path: str | Path, fmt: str) -> str | None:
    """The replication timestamp an OSM file's header gives (ISO 8601), if any."""
    import osmium

    try:
        source = osmium.io.File(str(path), fmt)
        reader = osmium.io.Reader(source, osmium.osm.osm_entity_bits.NOTHING)
    except RuntimeError:  # an unreadable header: the file's date will do
        return None
    try:
        header = reader.header()
        stamp = header.get("osmosis_replication_timestamp") or header.get("timestamp")
    finally:
        reader.close()
    return stamp or None


def bundle_name(path: str | Path) -> str:
    """The file name of the bundle built from the OSM file ``path`` by default:
    ``hue.osm.pbf`` → ``hue.twin``."""
    name = Path(path).name
    for suffix in sorted(OSM_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{name or 'city'}.twin"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sniff_xml_root(head: bytes) -> str | None:
    """The first element name of an XML document's opening bytes, if one is there."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    text = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.S).lstrip()
    match = re.match(r"<([A-Za-z_][\w.\-:]*)", text)
    return match.group(1) if match else None


def osm_format(path: str | Path) -> str:
    """The format of an OSM file, read from its first bytes.

    Returns
    -------
    ``"pbf"``, ``"osm"`` (XML), ``"osm.bz2"`` or ``"osm.gz"`` (pyosmium's format names).

    Raises
    ------
    SourceNotFoundError
        The path does not exist or is not a file.
    OSMReadError
        The file is empty or is not an OSM file in a format we read.
    """
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(
            f"OSM file {path} does not exist; check the path, or run `twin build` with no "
            "SOURCE for the default city"
        )
    if not path.is_file():
        raise SourceNotFoundError(
            f"{path} is a folder, expected an OSM file (.osm, .osm.pbf, .osm.bz2); "
            "for a GMNS folder use `twin build --gmns DIR`"
        )
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        raise OSMReadError(f"{path} is empty; expected OSM data (.osm, .osm.pbf, .osm.bz2)")
    if head[:3] == b"BZh":
        with bz2.open(path, "rb") as fh:
            inner = _read_head(fh, path, "bzip2")
        return _compressed_xml(path, inner, "osm.bz2")
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as fh:
            inner = _read_head(fh, path, "gzip")
        return _compressed_xml(path, inner, "osm.gz")
    if b"OSMHeader" in head[:64]:
        return "pbf"
    if head[:4] == b"PK\x03\x04":
        raise OSMReadError(
            f"{path} is a zip archive (a .twin city bundle?), not OSM data; read a bundle with "
            "`twin info`, and build from a .osm, .osm.pbf or .osm.bz2 file"
        )
    root = _sniff_xml_root(head)
    if root == "osm":
        return "osm"
    if root is not None:
        raise OSMReadError(
            f"{path} is an XML file whose root element is <{root}>, not <osm>; it is not "
            "OpenStreetMap data. Export OSM XML (or .osm.pbf) from openstreetmap.org, "
            "Geofabrik or Overpass"
        )
    raise OSMReadError(
        f"{path} is not an OSM file: it is neither OSM XML, nor PBF, nor bzip2/gzip "
        "compressed XML. Expected a .osm, .osm.pbf or .osm.bz2 file"
    )


def _read_head(fh, path: Path, codec: str) -> bytes:
    try:
        return fh.read(4096)
    except (OSError, EOFError) as exc:
        raise OSMReadError(
            f"{path} looks {codec}-compressed but cannot be decompressed ({exc}); the file "
            "may be truncated: download it again"
        ) from exc


def _compressed_xml(path: Path, inner: bytes, fmt: str) -> str:
    root = _sniff_xml_root(inner)
    if root != "osm":
        raise OSMReadError(
            f"{path} is compressed but does not hold OSM XML (root element "
            f"{'<' + root + '>' if root else 'none'}); expected a .osm.bz2 of OSM data"
        )
    return fmt


# -- reading highways -------------------------------------------------------------------
@dataclass
class HighwayData:
    """The ``highway`` ways of an OSM file, with the locations of their nodes.

    Attributes
    ----------
    ways
        ``(way_id, tags, node_ids)`` per way, in file order; ``node_ids`` holds ``None``
        where the file lacks the node (see ``gaps``).
    locations
        ``node_id -> (lon, lat)`` in degrees, for every node of a way.
    node_tags
        Tags of the tagged way nodes (traffic signals, crossings, …).
    gaps
        Ways that referenced nodes the file does not hold (cut by the extract's edge).
    missing_nodes
        How many distinct nodes those ways referenced that the file does not hold.
    """

    ways: list[tuple[int, dict[str, str], list[int | None]]] = field(default_factory=list)
    locations: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    gaps: int = 0
    missing_nodes: int = 0


class LongTagError(OSMReadError):
    """A tag key or value is longer than libosmium reads (:data:`MAX_TAG_BYTES`)."""


def read_highways(path: str | Path) -> HighwayData:
    """Read the ``highway`` ways of an OSM file (any format pyosmium reads).

    Raises
    ------
    SourceNotFoundError, OSMReadError
        The file is missing, not OSM, or damaged (for example a truncated PBF).
    """
    import osmium

    path = Path(path)
    fmt = osm_format(path)
    data = HighwayData()
    tagged: dict[int, dict[str, str]] = {}
    # A way's node list keeps ``None`` where the file has no location for the node.
    raw: list[tuple[int, dict[str, str], list[int | None]]] = []
    missing: set[int] = set()
    try:
        source = osmium.io.File(str(path), fmt)
        entities = osmium.osm.NODE | osmium.osm.WAY
        for obj in osmium.FileProcessor(source, entities).with_locations():
            if obj.is_node():
                if len(obj.tags):
                    tagged[obj.id] = {t.k: t.v for t in obj.tags}
                continue
            if "highway" not in obj.tags:
                continue
            refs: list[int | None] = []
            for node in obj.nodes:
                if node.location.valid():
                    data.locations[node.ref] = (node.location.lon, node.location.lat)
                    refs.append(node.ref)
                else:
                    missing.add(node.ref)
                    refs.append(None)
            raw.append((obj.id, {t.k: t.v for t in obj.tags}, refs))
    except RuntimeError as exc:
        raise OSMReadError(
            f"{path} could not be read as OSM {fmt.upper()} ({exc}). The file is damaged or "
            "truncated: download or export it again"
        ) from exc
    except ValueError as exc:
        if "too long" not in str(exc):
            raise
        raise LongTagError(
            f"{path} holds a tag key or value longer than {MAX_TAG_BYTES} bytes ({exc}), more "
            "than OSM allows (255 characters) and more than pyosmium reads; shorten it, or "
            "give the file as OSM XML (.osm, .osm.bz2), whose long tags the build shortens"
        ) from None
    data.ways = raw
    data.gaps = sum(None in refs for _, _, refs in raw)
    data.missing_nodes = len(missing)
    data.node_tags = {n: tags for n, tags in tagged.items() if n in data.locations}
    log.info("read %d highway ways and %d nodes from %s", len(raw), len(data.locations), path)
    return data


#: The longest tag key or value, in bytes, that libosmium (and so pyosmium) reads.
MAX_TAG_BYTES = 1024
#: The longest tag key or value OSM allows, in characters.
OSM_TAG_CHARACTERS = 255


def shorten_long_tags(source: str | Path, destination: str | Path) -> int:
    """Copy the OSM XML file ``source`` (plain, bzip2 or gzip) to ``destination`` (plain
    XML) with every tag key or value longer than OSM allows (255 characters) cut to 255
    characters, so that pyosmium reads it.

    Returns
    -------
    How many keys and values were cut.

    Raises
    ------
    OSMReadError
        ``source`` is not OSM XML (a PBF cannot be rewritten here), or is malformed.
    """
    import xml.sax
    from xml.sax.saxutils import XMLGenerator

    source = Path(source)
    fmt = osm_format(source)
    opener = {"osm": open, "osm.bz2": bz2.open, "osm.gz": gzip.open}.get(fmt)
    if opener is None:
        raise LongTagError(
            f"{source} holds a tag longer than {MAX_TAG_BYTES} bytes, which pyosmium cannot "
            "read from a PBF; shorten the tag, or convert the file to OSM XML"
        )
    cut = 0

    class _Copy(XMLGenerator):
        def startElement(self, name, attrs):  # noqa: N802 (the SAX interface)
            nonlocal cut
            if name == "tag":
                values = dict(attrs)
                for key in ("k", "v"):
                    if len(values.get(key, "")) > OSM_TAG_CHARACTERS:
                        values[key] = values[key][:OSM_TAG_CHARACTERS]
                        cut += 1
                attrs = values
            super().startElement(name, attrs)

    try:
        with opener(source, "rb") as fh, Path(destination).open("w", encoding="utf-8") as out:
            xml.sax.parse(fh, _Copy(out, encoding="utf-8"))
    except (xml.sax.SAXException, OSError, EOFError) as exc:
        raise OSMReadError(
            f"{source} could not be read as OSM XML ({exc}); the file is damaged or "
            "truncated: download or export it again"
        ) from None
    log.info("%s: %d tag keys or values cut to %d characters", source, cut, OSM_TAG_CHARACTERS)
    return cut


def _pieces(refs: list[int | None]) -> list[list[int]]:
    """Runs of present nodes (two or more) of a way's node list."""
    pieces, run = [], []
    for ref in [*refs, None]:
        if ref is None:
            if len(run) >= 2:
                pieces.append(run)
            run = []
        else:
            run.append(ref)
    return pieces


def write_network_xml(
    data: HighwayData, network_type: str, destination: str | Path
) -> tuple[Path, int]:
    """Write the ways of one network as OSM XML for :func:`osmnx.graph_from_xml`.

    Parameters
    ----------
    data
        From :func:`read_highways`.
    network_type
        A key of :data:`NETWORK_FILTERS`.
    destination
        The XML file to write.

    Returns
    -------
    The path written and the number of ways in it.
    """
    destination = Path(destination)
    next_piece_id = -1
    way_lines: list[str] = []
    used: set[int] = set()
    n_ways = 0
    for way_id, tags, refs in data.ways:
        if not way_in_network(tags, network_type):
            continue
        n_ways += 1
        keep = {k: tags[k] for k in NETWORK_WAY_TAGS if k in tags}
        keep[WAY_ID_TAG] = str(way_id)
        tag_lines = "".join(
            f"  <tag k={quoteattr(k)} v={quoteattr(v)}/>\n" for k, v in keep.items()
        )
        for number, piece in enumerate(_pieces(refs)):
            if number == 0:
                xml_id = way_id
            else:
                xml_id, next_piece_id = next_piece_id, next_piece_id - 1
            used.update(piece)
            nds = "".join(f'  <nd ref="{ref}"/>\n' for ref in piece)
            way_lines.append(f'<way id="{xml_id}">\n{nds}{tag_lines}</way>\n')
    with destination.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="twin">\n')
        for node in sorted(used):
            lon, lat = data.locations[node]
            tags = data.node_tags.get(node)
            if tags:
                inner = "".join(
                    f"  <tag k={quoteattr(k)} v={quoteattr(v)}/>\n" for k, v in tags.items()
                )
                fh.write(f'<node id="{node}" lat="{lat:.7f}" lon="{lon:.7f}">\n{inner}</node>\n')
            else:
                fh.write(f'<node id="{node}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        fh.writelines(way_lines)
        fh.write("</osm>\n")
    return destination, n_ways


def network_xml_files(
    data: HighwayData, network_types: Iterable[str], folder: str | Path
) -> dict[str, tuple[Path, int]]:
    """Write one XML file per network type into ``folder`` (see :func:`write_network_xml`)."""
    folder = Path(folder)
    return {kind: write_network_xml(data, kind, folder / f"{kind}.osm") for kind in network_types}


# -- downloading ------------------------------------------------------------------------
def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "place"


def download_place(place: str, folder: str | Path, *, timeout: float = 180.0) -> Path:
    """Download the OSM data of a named place into ``folder`` (needs internet).

    The place's boundary comes from Nominatim (through osmnx's geocoder); everything in
    its bounding box comes from the Overpass API as OSM XML, which is then read like any
    other source. The file is ``folder/<slug>.osm``, written atomically.

    Parameters
    ----------
    place
        A place name Nominatim knows (``"Huế, Vietnam"``).
    folder
        Where to keep the download.
    timeout
        Seconds to wait for the Overpass server.

    Raises
    ------
    OfflineError
        Nominatim or Overpass cannot be reached.
    OSMReadError
        The place is unknown or the server's answer is not OSM data.
    """
    import osmnx
    import requests

    offline_hint = (
        "Connect to the internet, or build from a file: download an extract (e.g. from "
        "Geofabrik or https://extract.bbbike.org) and run `twin build FILE.osm.pbf`"
    )
    try:
        boundary = osmnx.geocode_to_gdf(place)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
        raise OfflineError(
            f"cannot download {place!r}: the geocoder (Nominatim) is unreachable ({exc}). "
            f"{offline_hint}"
        ) from exc
    except Exception as exc:  # osmnx raises its own errors for unknown places
        raise OSMReadError(
            f"cannot find the place {place!r} ({exc}); try a fuller name, e.g. "
            "'Huế, Thừa Thiên Huế, Vietnam'"
        ) from exc
    west, south, east, north = (float(v) for v in boundary.total_bounds)
    query = (
        f"[out:xml][timeout:{int(timeout)}];(nwr({south},{west},{north},{east}););(._;>;);out body;"
    )
    url = osmnx.settings.overpass_url.rstrip("/") + "/interpreter"
    try:
        response = requests.post(url, data={"data": query}, timeout=timeout)
        response.raise_for_status()
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise OfflineError(
            f"cannot download {place!r}: the Overpass API at {url} is unreachable ({exc}). "
            f"{offline_hint}"
        ) from exc
    except requests.exceptions.HTTPError as exc:
        raise OSMReadError(
            f"the Overpass API refused the download of {place!r} ({exc}); the area may be "
            "too large: download an extract file instead and pass it as SOURCE"
        ) from exc
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / f"{_slug(place)}.osm"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{destination.name}.", suffix=".part")
    try:
        with open(fd, "wb") as fh:
            fh.write(response.content)
        osm_format(tmp)
        Path(tmp).replace(destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return destination
