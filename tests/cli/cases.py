"""The hostile-input table: every command with inputs a careless or hostile user gives it.

Each row is a :class:`Case`: a command line (run in a copy of the workspace of
:mod:`tests.cli.workspace`, so paths are relative to it), the piece of the one-line error it
must print, and optionally a ``prepare`` step that lays a hostile input into the workspace
first. ``tests/cli/test_hostile_inputs.py`` runs every row through ``twin.cli.main`` and
asserts that the command fails (status not 0) with a first line ``twin CMD: error: ...``
holding that piece, without a traceback, leaving every file and folder of the workspace
exactly as it was: inputs unchanged, nothing written elsewhere, no partial output. Rows
with ``script=True`` also run through the installed ``twin`` console script.

A new command joins by adding its rows here (at least :data:`MIN_CASES`;
``test_every_command_has_hostile_cases`` fails until it does): its missing and malformed
inputs, each output path taken by something else, its numbers out of range. Use the files
of the workspace as inputs; a hostile variant goes in a ``prepare`` function below;
``{readonly}`` in a command line stands for a folder nobody can write in.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tests.cli.workspace import write

#: Rows every command must have.
MIN_CASES = 4


@dataclass(frozen=True)
class Case:
    """One hostile command line.

    Attributes
    ----------
    argv
        The command line after ``twin``, split like a shell would (``shlex``).
    error
        A piece of the first line of stderr, after ``twin CMD: error:``.
    prepare
        Lays hostile inputs into the workspace (its folder is the argument) before the
        snapshot is taken.
    script
        Also run through the installed ``twin`` console script, in a subprocess.
    not_in_error
        A piece the error must not hold (a suggestion that would do harm).
    env
        Environment variables set for the command, ``(name, value)`` pairs (paths
        relative to the workspace).
    """

    argv: str
    error: str
    prepare: Callable[[Path], object] | None = None
    script: bool = False
    not_in_error: str | None = None
    env: tuple[tuple[str, str], ...] = ()

    @property
    def command(self) -> str:
        return self.argv.split()[0]


# -- hostile inputs ------------------------------------------------------------------------------
def empty_file(name: str) -> Callable[[Path], Path]:
    def prepare(ws: Path) -> Path:
        (ws / name).write_bytes(b"")
        return ws / name

    return prepare


def truncated(source: str, name: str) -> Callable[[Path], Path]:
    def prepare(ws: Path) -> Path:
        data = (ws / source).read_bytes()
        (ws / name).write_bytes(data[: len(data) // 2])
        return ws / name

    return prepare


def zip_without_meta(ws: Path) -> None:
    with zipfile.ZipFile(ws / "photos.twin", "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8\xff")


def bundle_of_version(version: int) -> Callable[[Path], None]:
    def prepare(ws: Path) -> None:
        with zipfile.ZipFile(ws / "city.twin") as source:
            members = {name: source.read(name) for name in source.namelist()}
        header = json.loads(members["meta.json"])
        header["format_version"] = version
        members["meta.json"] = json.dumps(header).encode()
        with zipfile.ZipFile(ws / "old.twin", "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)

    return prepare


def pbf_cut_short(ws: Path) -> None:
    import osmium

    path = ws / "town.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(ws / "town.osm")):
            writer.add(obj)
    data = path.read_bytes()
    (ws / "cut.osm.pbf").write_bytes(data[: len(data) * 2 // 3])


def footpaths_only(ws: Path) -> None:
    write(
        ws / "park.osm",
        """\
        <?xml version="1.0" encoding="UTF-8"?>
        <osm version="0.6">
        <node id="1" lat="16.46" lon="107.59"/><node id="2" lat="16.461" lon="107.591"/>
        <way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
        </osm>
        """,
    )


def html_page(ws: Path) -> None:
    write(ws / "page.osm", "<?xml version='1.0'?>\n<html><body>Hello</body></html>\n")


def gmns_with(name: str, table: str, change: Callable[[pd.DataFrame], pd.DataFrame]):
    """A copy of ``gmns/`` as ``name/`` with ``table`` (node or link) changed."""

    def prepare(ws: Path) -> None:
        shutil.copytree(ws / "gmns", ws / name)
        path = ws / name / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        change(frame).to_csv(path, index=False)

    return prepare


def _set(column: str, row: int, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame

    return change


def inside(folder: str, *names: str) -> Callable[[Path], None]:
    """Copies of workspace files into a new ``folder``."""

    def prepare(ws: Path) -> None:
        (ws / folder).mkdir()
        for name in names:
            shutil.copy(ws / name, ws / folder / name)

    return prepare


def link(name: str, target: str) -> Callable[[Path], None]:
    """A symbolic link ``name`` to the workspace file ``target``."""

    def prepare(ws: Path) -> None:
        (ws / name).symlink_to(ws / target)

    return prepare


def edited_export(ws: Path) -> None:
    with (ws / "export" / "link.csv").open("a", encoding="utf-8") as fh:
        fh.write("# my edit\n")


def run_copy(name: str, change: Callable[[Path], object] | None = None):
    """A copy of ``run/`` as ``name/``, then ``change`` applied to the copy."""

    def prepare(ws: Path) -> None:
        shutil.copytree(ws / "run", ws / name)
        if change is not None:
            change(ws / name)

    return prepare


def damage_manifest(run_dir: Path) -> None:
    text = (run_dir / "manifest.json").read_text(encoding="utf-8")
    (run_dir / "manifest.json").write_text(text[: len(text) // 3], encoding="utf-8")


def manifest_without_spec(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    del manifest["spec"]
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def damage_kpis(run_dir: Path) -> None:
    (run_dir / "kpis.json").write_text("{not json", encoding="utf-8")


def users_file(source: str, name: str) -> Callable[[Path], None]:
    """A copy of the workspace file ``source`` as ``name`` (the user's own file)."""

    def prepare(ws: Path) -> None:
        shutil.copy(ws / source, ws / name)

    return prepare


def comparison_copy(name: str, change: Callable[[Path], object]):
    """A copy of ``cmp/`` as ``name/``, then ``change`` applied to the copy."""

    def prepare(ws: Path) -> None:
        shutil.copytree(ws / "cmp", ws / name)
        change(ws / name)

    return prepare


def damage_summary(folder: Path) -> None:
    text = (folder / "comparison.json").read_text(encoding="utf-8")
    (folder / "comparison.json").write_text(text[: len(text) // 2], encoding="utf-8")


def trips_with(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]):
    def prepare(ws: Path) -> None:
        frame = pd.read_csv(ws / "trips.csv", dtype=str)
        change(frame).to_csv(ws / name, index=False)

    return prepare


def scenario_file(name: str, text: str) -> Callable[[Path], None]:
    def prepare(ws: Path) -> None:
        write(ws / name, text)

    return prepare


BAD_SCENARIO = """\
[scenario]
name = "bad"
city = "city.twin"
window = ["06:00", "06:30"]
seeds = 4
[demand]
scal = 1.2
[[intervention]]
type = "close_road"
road = "Lê Lợi"
from = "08:00"
until = "07:00"
"""

CYCLE_A = """\
[scenario]
name = "a"
extends = "b.toml"
"""
CYCLE_B = """\
[scenario]
name = "b"
extends = "a.toml"
"""


def cycle(ws: Path) -> None:
    write(ws / "a.toml", CYCLE_A)
    write(ws / "b.toml", CYCLE_B)


def drop_column(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[column])


def no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0]


def duplicate_first_row(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.iloc[[0]]], ignore_index=True)


# -- the table ---------------------------------------------------------------------------------
BUILD = [
    Case("build missing.osm -o out.twin", "missing.osm does not exist", script=True),
    Case("build gmns -o out.twin", "gmns is a folder"),
    Case("build notes.txt -o out.twin", "not an OSM file"),
    Case("build page.osm -o out.twin", "not <osm>", prepare=html_page),
    Case("build empty.osm -o out.twin", "empty", prepare=empty_file("empty.osm")),
    Case("build cut.osm.pbf -o out.twin", "truncated", prepare=pbf_cut_short),
    Case("build park.osm -o out.twin", "no drivable road", prepare=footpaths_only),
    Case("build city.twin -o out.twin", "twin info"),
    Case("build town.osm -o notes.txt", "notes.txt already exists", script=True),
    Case("build town.osm -o town.osm", "is the OSM source"),
    Case("build town.osm -o link.twin", "is the OSM source", prepare=link("link.twin", "town.osm")),
    Case("build town.osm -o gmns", "gmns is a folder"),
    Case("build town.osm -o notes.txt/city.twin", "notes.txt is a file, not a folder"),
    Case("build town.osm -o {readonly}/city.twin", "not writable"),
    Case("build town.osm -o out.twin --population 1e15", "population"),
    Case("build town.osm -o out.twin --population -5", "population"),
    Case("build town.osm -o out.twin --population nan", "population"),
    Case("build town.osm -o out.twin --population inf", "population"),
    Case("build town.osm -o out.twin --population many", "invalid float value"),
    Case("build town.osm -o out.twin --road-defaults missing.csv", "missing.csv"),
    Case("build town.osm -o out.twin --road-defaults town.osm", "town.osm"),
    Case("build town.osm -o out.twin --road-defaults gmns", "gmns"),
    Case(
        "build town.osm -o out.twin",
        "SOURCE_DATE_EPOCH",
        env=(("SOURCE_DATE_EPOCH", "soon"),),
        script=True,
    ),
    Case("build town.osm -o out.twin --bogus", "unrecognized arguments: --bogus"),
    Case("build town.osm --gmns gmns -o out.twin", "give one of SOURCE"),
    Case("build -o out.twin", "TWIN_OSM_PATH"),
    Case("build --place ' ' -o out.twin", "place"),
    Case("build --gmns notes.txt -o out.twin", "notes.txt is a file"),
    Case("build --gmns missing -o out.twin", "does not exist"),
    Case("build --gmns gmns -o gmns/node.csv", "node.csv already exists"),
    Case("build --gmns gmns -o gmns", "is the GMNS folder"),
    Case("build --gmns gmns -o out.twin --population 5000", "--population spreads"),
    Case("build --gmns gmns -o out.twin --crs EPSG:999999", "crs"),
    Case("build --gmns gmns -o out.twin --length-unit furlong", "furlong"),
    Case("build --gmns gmns -o out.twin --speed-unit knots", "knots"),
    Case(
        "build --gmns g -o out.twin",
        "link.csv, row 3: free_speed 'NaN'",
        prepare=gmns_with("g", "link", _set("free_speed", 1, "NaN")),
    ),
    Case(
        "build --gmns g -o out.twin",
        "link.csv, row 2: length 'long'",
        prepare=gmns_with("g", "link", _set("length", 0, "long")),
        script=True,
    ),
    Case(
        "build --gmns g -o out.twin",
        "link.csv, row 4: lanes 'inf'",
        prepare=gmns_with("g", "link", _set("lanes", 2, "inf")),
    ),
    Case(
        "build --gmns g -o out.twin",
        "duplicate link_id 1",
        prepare=gmns_with("g", "link", duplicate_first_row),
    ),
    Case("build --gmns g -o out.twin", "no links", prepare=gmns_with("g", "link", no_rows)),
    Case("build --gmns g -o out.twin", "no nodes", prepare=gmns_with("g", "node", no_rows)),
    Case(
        "build --gmns g -o out.twin",
        "node.csv, row 2: x_coord 1e300",
        prepare=gmns_with("g", "node", _set("x_coord", 0, "1e300")),
    ),
    Case(
        "build --gmns g -o out.twin",
        "link.csv",
        prepare=gmns_with("g", "link", drop_column("to_node_id")),
    ),
    Case(
        "build --gmns g -o out.twin",
        "free_speed must be above 0",
        prepare=gmns_with("g", "link", _set("free_speed", 0, "0")),
    ),
]

INFO = [
    Case("info missing.twin", "does not exist"),
    Case("info gmns", "is a folder"),
    Case("info town.osm", "is an OSM file", not_in_error="-o town.osm", script=True),
    Case("info notes.txt", "not a .twin bundle", not_in_error="-o notes.txt"),
    Case("info empty.twin", "not a .twin bundle", prepare=empty_file("empty.twin")),
    Case("info half.twin", "half.twin", prepare=truncated("city.twin", "half.twin")),
    Case("info photos.twin", "no meta.json", prepare=zip_without_meta),
    Case("info old.twin", "format version 1", prepare=bundle_of_version(1)),
    Case("info", "the following arguments are required: city"),
    Case("info city.twin --yaml", "unrecognized arguments: --yaml"),
]

PROFILE = [
    Case("profile init missing.osm -o p.toml", "does not exist"),
    Case("profile init town.osm -o town.osm --force", "an input of this command"),
    Case("profile init town.osm -o notes.txt --force", "so it is kept", not_in_error="--force"),
    Case("profile init town.osm -o gmns", "is a folder"),
    Case("profile init town.osm -o {readonly}/p.toml", "not writable"),
    Case("profile init town.osm", "the following arguments are required: -o"),
    Case("profile check missing.toml", "does not exist", script=True),
    Case("profile check gmns", "is a folder"),
    Case("profile check city.twin", "city.twin"),
    Case("profile check scenario.toml", "unknown section [scenario]"),
    Case("profile", "the following arguments are required: ACTION"),
    Case("profile delete p.toml", "invalid choice: 'delete'"),
]

EXPORT = [
    Case("export city.twin --gmns notes.txt", "notes.txt is a file"),
    Case("export city.twin --gmns notes.txt/out", "notes.txt is a file, not a folder"),
    Case("export city.twin --gmns . --force", "--gmns ."),
    Case("export roads.osm --gmns . --force", "--gmns ."),
    Case("export city.twin --gmns gmns --force", "other than an earlier GMNS export"),
    Case("export city.twin --gmns run --force", "other than an earlier GMNS export"),
    Case("export city.twin --gmns export", "pass --force"),
    Case(
        "export city.twin --gmns export --force",
        "other than an earlier GMNS export",
        prepare=edited_export,
    ),
    Case(
        "export sub/city.twin --gmns sub --force",
        "holds the city bundle",
        prepare=inside("sub", "city.twin"),
        script=True,
    ),
    Case("export missing.twin --gmns out", "does not exist"),
    Case("export town.osm --gmns out", "is an OSM file", not_in_error="-o town.osm"),
    Case("export city.twin --gmns {readonly}/out", "not writable"),
    Case("export city.twin", "the following arguments are required: --gmns"),
]

_RUN = "run --city city.twin --trips trips.csv --start 06:00 --end 06:30 --no-progress"
RUN = [
    Case(f"{_RUN}", "give the run folder with -o"),
    Case(f"{_RUN} -o notes.txt", "notes.txt is a file"),
    Case(f"{_RUN} -o trips.csv", "trips.csv is the trips"),
    Case(f"{_RUN} -o gmns", "not empty"),
    Case(f"{_RUN} -o gmns --force", "other than an earlier run"),
    Case(f"{_RUN} -o run", "pass --force"),
    Case(
        "run --city sub/city.twin --trips trips.csv --start 06:00 --end 06:30 -o sub --force",
        "holds the city bundle",
        prepare=inside("sub", "city.twin"),
    ),
    Case(
        "run --city city.twin --trips r2/trips.csv --start 06:00 --end 06:30 -o r2 --force",
        "holds the trips",
        prepare=lambda ws: (
            run_copy("r2")(ws),
            shutil.copy(ws / "trips.csv", ws / "r2" / "trips.csv"),
        ),
    ),
    Case(f"{_RUN} -o . --force", "-o ."),
    Case(f"{_RUN} -o {{readonly}}/r", "not writable"),
    Case(f"{_RUN} -o notes.txt/r", "notes.txt is a file, not a folder"),
    Case(f"{_RUN} --seed -3 -o r", "seed = -3", script=True),
    Case(f"{_RUN} -o r", "results root", env=(("TWIN_RUNS_DIR", "notes.txt"),)),
    Case(f"{_RUN} --seed three -o r", "invalid int value"),
    Case("run --city city.twin --start 25:00 -o r", "25:00"),
    Case("run --city city.twin --start 07:00 --end 06:00 -o r", "is not after"),
    Case(f"{_RUN} --close '' -o r", "empty"),
    Case(f"{_RUN} --close '   ' -o r", "empty"),
    Case(f"{_RUN} --close @07:30 -o r", "empty"),
    Case(f"{_RUN} --close 'Nowhere Street' -o r", "not found"),
    Case(f"{_RUN} --close 'X@06:20-06:10' -o r", "ends at 06:10 before it starts"),
    Case(f"{_RUN} --close 'X@7h30' -o r", "7h30"),
    Case(f"{_RUN} --set nonsense -o r", "nonsense"),
    Case(f"{_RUN} --set demand.scal=2 -o r", "did you mean"),
    Case(f"{_RUN} --set demand.scale=-1 -o r", "demand.scale"),
    Case(f"{_RUN} --set traffic.refresh_s=abc -o r", "refresh_s"),
    Case("run --city city.twin --scale nan -o r", "scale"),
    Case("run --city city.twin --scale 1e12 -o r", "scale"),
    Case("run --city city.twin --trips missing.csv -o r", "missing.csv"),
    Case("run --city city.twin --trips gmns -o r", "gmns"),
    Case("run --city city.twin --trips notes.txt -o r", "notes.txt"),
    Case("run --city city.twin --trips city.twin -o r", "city.twin"),
    Case(
        "run --city city.twin --trips t.csv --start 06:00 --end 06:30 -o r",
        "999999",
        prepare=trips_with("t.csv", _set("origin", 0, "999999")),
    ),
    Case(
        "run --city city.twin --trips t.csv --start 06:00 --end 06:30 -o r",
        "spaceship",
        prepare=trips_with("t.csv", _set("vehicle_class", 0, "spaceship")),
    ),
    Case(
        "run --city city.twin --trips t.csv --start 06:00 --end 06:30 -o r",
        "25:99",
        prepare=trips_with("t.csv", _set("depart", 0, "25:99")),
    ),
    Case(
        "run --city city.twin --trips t.csv --start 06:00 --end 06:30 -o r",
        "destination",
        prepare=trips_with("t.csv", drop_column("destination")),
    ),
    Case("run --city missing.twin -o r", "does not exist"),
    Case("run --city notes.txt -o r", "not a .twin bundle"),
    Case("run --city town.osm -o r", "is an OSM file", not_in_error="-o town.osm"),
    Case("run -o r", "TWIN_OSM_PATH"),
    Case("run --spec missing.toml -o r", "missing.toml"),
    Case("run --spec notes.txt -o r", "notes.txt"),
    Case("run --spec spec.toml --seed 3 -o r", "--spec runs the file as it is"),
    Case("run --spec spec.toml --city other.twin -o r", "city"),
    Case("run missing.toml -o r", "missing.toml"),
    Case("run hue/no-such-scenario -o r", "hue/no-such-scenario"),
    Case("run bad.toml -o r", "problems in", prepare=scenario_file("bad.toml", BAD_SCENARIO)),
    Case("run notes.txt -o r", "notes.txt"),
    Case("run scenario.toml --start 06:10 -o r", "a scenario runs as it is"),
    Case("run --city city.twin --dry-run --set nonsense", "nonsense"),
    Case("run --city half.twin -o r", "half.twin", prepare=truncated("city.twin", "half.twin")),
]

SCENARIO = [
    Case("scenario show missing.toml", "missing.toml"),
    Case("scenario show hue/no-such-scenario", "hue/no-such-scenario"),
    Case("scenario show bad.toml", "problems in", prepare=scenario_file("bad.toml", BAD_SCENARIO)),
    Case("scenario show notes.txt", "notes.txt"),
    Case("scenario show a.toml", "extends", prepare=cycle),
    Case("scenario show scenario.toml --city missing.twin", "does not exist"),
    Case("scenario show scenario.toml --city town.osm", "is an OSM file"),
    Case(
        "scenario show far.toml",
        "missing.twin",
        prepare=scenario_file("far.toml", '[scenario]\nname = "far"\ncity = "missing.twin"\n'),
    ),
    Case("scenario list --lang fr", "invalid choice: 'fr'"),
    Case("scenario", "required"),
]

_CMP = "compare scenario.toml option.toml"
COMPARE = [
    Case("compare missing.toml scenario.toml -o c2", "missing.toml"),
    Case(f"{_CMP} -o notes.txt", "notes.txt is a file"),
    Case(f"{_CMP} -o gmns", "not a comparison"),
    Case(f"{_CMP} -o run --force", "not a comparison"),
    Case(f"{_CMP} -o c2 --replications 0", "replications"),
    Case(f"{_CMP} -o c2 --replications -2", "replications"),
    Case(f"{_CMP} -o c2 --ci-width -1", "ci-width"),
    Case(f"{_CMP} -o c2 --workers -1", "workers"),
    Case(f"{_CMP} -o c2 --city missing.twin", "does not exist"),
    Case("compare scenario.toml scenario.toml -o c2", "scenario names repeat"),
    Case("compare scenario.toml -o c2", "the following arguments are required: OPTION"),
    Case(
        "compare bad.toml scenario.toml -o c2",
        "problems in",
        prepare=scenario_file("bad.toml", BAD_SCENARIO),
    ),
    Case(f"{_CMP} -o {{readonly}}/c2", "not writable"),
]

BAD_SWEEP = """\
[sweep]
name = "bad"
scenario = "scenario.toml"
[vary]
"demand.scal" = [0.5, 1.0]
"emergency.units.ambulances_per_hospital" = { range = [3, 1] }
"""

_SWP = "sweep sweep.toml"
SWEEP = [
    Case("sweep missing.toml -o s", "no sweep file 'missing.toml'", script=True),
    Case("sweep scenario.toml -o s", "a scenario file, not a sweep"),
    Case(
        "sweep bad.toml -o s",
        "2 problems in bad.toml",
        prepare=scenario_file("bad.toml", BAD_SWEEP),
    ),
    Case(f"{_SWP}", "give the sweep's folder with -o DIR"),
    Case(f"{_SWP} -o notes.txt", "notes.txt is a file"),
    Case(f"{_SWP} -o sweep.toml", "sweep.toml is a file"),
    Case(f"{_SWP} -o notes.txt/s", "notes.txt is a file, not a folder"),
    Case(f"{_SWP} -o gmns", "not a sweep's"),
    Case(f"{_SWP} -o cmp --force", "not a sweep's"),
    Case(f"{_SWP} -o .", "not a sweep's"),
    Case(f"{_SWP} -o {{readonly}}/s", "not writable"),
    Case(f"{_SWP} -o s --root notes.txt", "notes.txt is a file, not a folder"),
    Case(f"{_SWP} -o s --replications 0", "0 replications make zero runs"),
    Case(f"{_SWP} -o s --workers -1", "workers = -1"),
    Case(f"{_SWP} -o s --scheduler tcp://127.0.0.1:9 --workers 2", "--workers sizes a local"),
    Case(f"{_SWP} -o s --city missing.twin", "does not exist"),
    Case(f"{_SWP} -o s --city town.osm", "is an OSM file"),
]

RUNS = [
    Case("runs --add missing", "missing"),
    Case("runs --add gmns", "gmns"),
    Case("runs --add notes.txt", "notes.txt"),
    Case("runs --add r2", "manifest", prepare=run_copy("r2", damage_manifest)),
    Case("runs --label scenario=x", "--label goes with --add"),
    Case("runs --add run --label nolabel", "KEY=VALUE"),
    Case("runs --root notes.txt", "notes.txt"),
    Case("runs", "is a file", env=(("TWIN_RUNS_DIR", "notes.txt"),)),
]

QUERY = [
    Case("query 'DELETE FROM runs'", "refused a DELETE statement", script=True),
    Case("query 'SELEC 1'", "SELEC"),
    Case("query 'SELECT * FROM no_such_view'", "no_such_view"),
    Case("query 'SELECT 1; SELECT 2'", "one"),
    Case("query \"SELECT * FROM read_csv('notes.txt')\"", "notes.txt"),
    Case("query ''", "no SQL statement given"),
    Case("query \"COPY (SELECT 1) TO 'x.csv'\"", "COPY"),
    Case("query \"ATTACH 'x.db'\"", "ATTACH"),
    Case("query 'SELECT 1' --root notes.txt", "notes.txt"),
]

RERUN = [
    Case("rerun missing", "missing"),
    Case("rerun gmns", "not a run folder"),
    Case("rerun r2", "manifest", prepare=run_copy("r2", damage_manifest)),
    Case("rerun r2", "specification", prepare=run_copy("r2", manifest_without_spec)),
    Case("rerun r2", "KPIs", prepare=run_copy("r2", damage_kpis)),
    Case("rerun run -o run --force --no-progress", "is the run folder run again"),
    Case("rerun run -o run/again --no-progress", "inside the run folder run again"),
    Case("rerun run -o notes.txt --no-progress", "notes.txt is a file"),
    Case("rerun run --city missing.twin --no-progress", "does not exist"),
    Case("rerun run --city other.twin --no-progress", "city"),
    Case("rerun run --city town.osm --no-progress", "is an OSM file"),
]

_COV = "coverage --city city.twin --free-flow"
COVERAGE = [
    Case("coverage --city city.twin --run missing", "missing"),
    Case("coverage --city city.twin --run gmns", "not a run folder"),
    Case("coverage --city city.twin --run r2", "manifest", prepare=run_copy("r2", damage_manifest)),
    Case("coverage --city other.twin --run run", "belongs to the city", script=True),
    Case(f"{_COV} --zones-csv gmns", "gmns is a folder"),
    Case(f"{_COV} --zones-csv city.twin", "is the city bundle"),
    Case(f"{_COV} --zones-csv notes.txt", "notes.txt already exists"),
    Case(f"{_COV} --zones-csv {{readonly}}/zones.csv", "not writable"),
    Case(
        "coverage --city city.twin --run run --zones-csv run/zones.csv",
        "lies inside the run folder (--run)",
    ),
    Case(f"{_COV} --minutes 0", "--minutes"),
    Case(f"{_COV} --minutes nan", "--minutes"),
    Case(f"{_COV} --type helicopter", "helicopter"),
    Case(f"{_COV} --scale 0", "--scale"),
    Case("coverage --city city.twin --run run --free-flow", "either --run"),
    Case("coverage --city city.twin --save-run gmns", "not empty"),
    Case(f"{_COV} --params missing.toml", "missing.toml"),
    Case(f"{_COV} --params notes.txt", "notes.txt"),
    Case("coverage --city bare.twin --free-flow", "no hospital"),
    Case("coverage --city town.osm --free-flow", "is an OSM file"),
]

_SITE = "site --city city.twin --free-flow --days 0"
SITE = [
    Case(f"{_SITE} --add 0", "--add must be at least 1"),
    Case(f"{_SITE} --add -1", "--add must be at least 1"),
    Case(f"{_SITE} --add one", "invalid int value"),
    Case(f"{_SITE} --add 1 --units 0", "at least 1 unit"),
    Case(f"{_SITE} --add 1 --minutes 0", "--minutes"),
    Case(f"{_SITE} --add 1 --days -1", "--days"),
    Case(f"{_SITE} --add 1 --type helicopter", "helicopter"),
    Case("site --city other.twin --run run --add 1", "belongs to the city"),
    Case(
        "site --city city.twin --run r2 --add 1",
        "manifest",
        prepare=run_copy("r2", damage_manifest),
    ),
    Case("site --city bare.twin --free-flow --add 1", "no ambulance calls to cover"),
    Case(f"{_SITE} --add 1 --candidates 0", "candidates"),
]

_NOT_RENDERED = "is not an image, animation or scene written by twin render"
RENDER = [
    Case("render", "the following arguments are required: RUN_OR_COMPARISON"),
    Case("render run", "the following arguments are required: -o/--output"),
    Case("render missing -o a.png", "missing does not exist"),
    Case("render gmns -o a.png", "gmns is neither a run folder"),
    Case("render r2 -o a.png", "manifest", prepare=run_copy("r2", damage_manifest)),
    Case("render run -o notes.txt", "the output's suffix picks its format"),
    Case(
        "render run -o mine.png",
        _NOT_RENDERED,
        prepare=users_file("notes.txt", "mine.png"),
        script=True,
    ),
    Case("render run -o mine.html", _NOT_RENDERED, prepare=users_file("notes.txt", "mine.html")),
    Case("render run -o run/a.png", "lies inside the results folder (run)"),
    Case("render cmp -o cmp/a.html", "lies inside the results folder (cmp)"),
    Case("render run cmp -o a.png", "cmp is a comparison; give it alone"),
    Case("render run -o notes.txt/a.png", "notes.txt is a file, not a folder"),
    Case("render run -o {readonly}/a.png", "not writable"),
    Case("render run -o a.gif --frame-seconds -1", "--frame-seconds -1"),
    Case("render run -o a.mp4 --frame-seconds nan", "--frame-seconds nan"),
    Case("render run -o a.png --color bogus", "no road measure named 'bogus'"),
    Case("render run -o a.png --zones bogus", "no zone measure named 'bogus'"),
    Case("render run -o a.png --at 09:00", "outside the results' window"),
    Case("render run -o a.png --at 7h", "7h"),
    Case("render run -o a.png --diff", "--diff needs a base and an option"),
    Case("render run run run run run -o a.png", "5 runs given"),
    Case("render run -o a.png --city other.twin", "another city than 'grid 4x4'"),
    Case("render run -o a.png --city town.osm", "is an OSM file"),
    Case("render run -o a.png --size 10x10", "each side must be 64-8192 pixels"),
    Case("render run -o a.png --camera moon", "invalid choice: 'moon'"),
]

#: A display no window can be opened on: twin view gets past its display check, and must
#: fail on the inputs before it opens a window.
_FAKE_DISPLAY = (("DISPLAY", ":4242"),)
VIEW = [
    Case("view run", "no display to open a window on", script=True),
    Case("view", "the following arguments are required: RUN_OR_COMPARISON"),
    Case("view missing", "missing does not exist"),
    Case("view gmns", "gmns is neither a run folder"),
    Case("view run --color bogus", "no road measure named 'bogus'"),
    Case("view run --camera moon", "invalid choice: 'moon'"),
    Case("view run --city other.twin", "another city than 'grid 4x4'", env=_FAKE_DISPLAY),
    Case("view run --diff", "--diff needs a base and an option", env=_FAKE_DISPLAY),
    Case("view run --at 09:00", "outside the results' window", env=_FAKE_DISPLAY),
    Case("view r2", "manifest", prepare=run_copy("r2", damage_manifest), env=_FAKE_DISPLAY),
]

_NOT_REPORTED = "is not a report written by twin report"
_REP = "report scenario.toml option.toml"
REPORT = [
    Case("report cmp", "the following arguments are required: -o/--output"),
    Case("report cmp -o notes.txt", "the report is an HTML file"),
    Case("report cmp -o mine.html", _NOT_REPORTED, prepare=users_file("notes.txt", "mine.html")),
    Case("report cmp -o cmp/r.html", "lies inside the comparison folder (cmp)", script=True),
    Case("report cmp -o cmp", "the report is an HTML file"),
    Case("report cmp -o notes.txt/r.html", "notes.txt is a file, not a folder"),
    Case("report cmp -o {readonly}/r.html", "not writable"),
    Case("report run -o r.html", "run is not a finished comparison"),
    Case("report missing -o r.html", "missing does not exist"),
    Case("report gmns -o r.html", "gmns is neither a run folder"),
    Case("report c2 -o r.html", "comparison.json", prepare=comparison_copy("c2", damage_summary)),
    Case("report cmp -o r.html --city other.twin", "another city than 'grid 4x4'"),
    Case("report cmp -o r.html --city town.osm", "is an OSM file"),
    Case("report cmp -o r.html --color bogus", "no road measure named 'bogus'"),
    Case("report cmp -o r.html --lang fr", "invalid choice: 'fr'"),
    Case(f"{_REP} -o r.html --replications 0", "replications = 0"),
    Case(f"{_REP} -o r.html --workers -1", "workers = -1"),
    Case(f"{_REP} -o r.html --compare-dir gmns", "not a comparison"),
    Case(f"{_REP} -o r.html --compare-dir notes.txt", "notes.txt is a file"),
    Case(f"{_REP} -o c2/r.html --compare-dir c2", "lies inside the comparison folder of"),
    Case(f"{_REP} -o mine.html", _NOT_REPORTED, prepare=users_file("notes.txt", "mine.html")),
    Case("report scenario.toml scenario.toml -o r.html", "scenario names repeat"),
    Case("report scenario.toml missing.toml -o r.html", "missing.toml"),
]

CASES: list[Case] = [
    *BUILD,
    *INFO,
    *PROFILE,
    *EXPORT,
    *RUN,
    *SCENARIO,
    *COMPARE,
    *SWEEP,
    *RUNS,
    *QUERY,
    *RERUN,
    *COVERAGE,
    *SITE,
    *RENDER,
    *VIEW,
    *REPORT,
]
