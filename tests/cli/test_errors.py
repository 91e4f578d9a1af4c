"""How the ``twin`` command fails: one first line ``twin CMD: error: ...`` for its own
errors, for a misused option and for what the machine refuses; a closed pipe ends the
output quietly with status 0, as a Unix tool's does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import twin.build.pipeline as pipeline
from tests.cli.workspace import write
from twin.cli import main


def _first_line(capsys) -> str:
    return capsys.readouterr().err.splitlines()[0]


def test_a_misused_option_is_named_by_its_command(workspace, capsys):
    with pytest.raises(SystemExit) as info:
        main(["info", "city.twin", "--yaml"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "twin info: error: unrecognized arguments: --yaml"
    assert err.splitlines()[1].startswith("usage: twin info")
    with pytest.raises(SystemExit):
        main(["scenario", "list", "--lang", "fr"])
    assert _first_line(capsys).startswith("twin scenario list: error: argument --lang")


def test_what_the_machine_refuses_is_one_line(workspace, monkeypatch, capsys):
    def refuse(_path=None, **_kwargs):
        raise PermissionError(13, "Permission denied", "city.twin")

    monkeypatch.setattr(pipeline, "load_city", refuse)
    assert main(["info", "city.twin"]) == 1
    assert _first_line(capsys) == (
        "twin info: error: [Errno 13] Permission denied: 'city.twin'; nothing was replaced "
        "(-v for details)"
    )


def test_one_problem_of_a_trips_file_is_the_first_line(workspace, capsys):
    write(workspace / "t.csv", "origin,destination,depart\n1,2,06:05\n2,999,06:06\n")
    argv = ["run", "--city", "city.twin", "--trips", "t.csv", "--start", "06:00", "--end"]
    assert main([*argv, "06:30", "-o", "r"]) == 1
    line = _first_line(capsys)
    assert line.startswith("twin run: error: t.csv: 1 unknown destination nodes at lines 3")
    assert "999" in line


# -- a closed pipe --------------------------------------------------------------------------------
def _script() -> str:
    script = Path(sys.executable).with_name("twin")
    if not script.is_file():
        pytest.skip("the twin console script is not installed")
    return str(script)


def _buffered() -> dict[str, str]:
    """The environment with Python's usual block-buffered output to a pipe, whatever this
    shell sets: unbuffered, each write fails at once and a missed flush goes unseen."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_a_closed_pipe_ends_the_output_quietly(workspace):
    """`twin info CITY.twin | head -1`: the reader has gone before twin writes; twin stops
    with status 0 and nothing on stderr."""
    process = subprocess.Popen(
        [_script(), "info", "city.twin"],
        cwd=workspace,
        env=_buffered(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # closed before twin has imported anything: every write fails
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert err == b""


def test_info_piped_into_head(workspace):
    done = subprocess.run(
        f"{_script()} info city.twin | head -1; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        cwd=workspace,
        env=_buffered(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["grid 5x5 (EPSG:32648)"]
    assert done.stderr == ""
