"""Every command, fed the hostile inputs of tests/cli/cases.py, fails cleanly: status not 0,
one line ``twin CMD: error: ...`` first, no traceback, nothing in the workspace changed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.cases import CASES, MIN_CASES, Case
from tests.cli.workspace import changes, snapshot
from twin.cli import build_parser, main

#: The first line of every error.
FIRST_LINE = re.compile(r"^twin (?P<command>[a-z]+)(?: [a-z]+)?: error: (?P<message>.+)$")


def _ids(cases: list[Case]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for case in cases:
        text = re.sub(r"\s+", " ", case.argv)[:70]
        seen[text] = seen.get(text, 0) + 1
        ids.append(text if seen[text] == 1 else f"{text} #{seen[text]}")
    return ids


def _argv(case: Case, request) -> list[str]:
    text = case.argv
    if "{readonly}" in text:
        text = text.replace("{readonly}", str(request.getfixturevalue("readonly")))
    return shlex.split(text)


def _check(case: Case, status, out: str, err: str, before, after) -> None:
    where = f"twin {case.argv}"
    assert "Traceback" not in err + out, f"{where}: a traceback\n{err}"
    assert status not in (0, None), f"{where}: exit status {status!r}\n{out}\n{err}"
    first = err.splitlines()[0] if err.strip() else ""
    match = FIRST_LINE.match(first)
    assert match, f"{where}: the first line of stderr is not `twin CMD: error: ...`:\n{err}"
    assert match["command"] == case.command, f"{where}: names another command: {first}"
    assert case.error in match["message"], f"{where}: {case.error!r} not in {first!r}"
    if case.not_in_error:
        assert case.not_in_error not in first, f"{where}: suggests {case.not_in_error!r}"
    assert not changes(before, after), f"{where}: changed the workspace: {changes(before, after)}"


def _environment(case: Case, workspace: Path, monkeypatch) -> None:
    for name, value in case.env:
        monkeypatch.setenv(name, str(workspace / value) if (workspace / value).exists() else value)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_hostile_input_fails_cleanly(case: Case, workspace: Path, request, capsys, monkeypatch):
    if case.prepare is not None:
        case.prepare(workspace)
    _environment(case, workspace, monkeypatch)
    argv = _argv(case, request)
    before = snapshot(workspace)
    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse
        status = exc.code
    except BaseException as exc:  # what the user would see as a traceback
        pytest.fail(f"twin {case.argv}: raised {type(exc).__name__}: {exc}")
    captured = capsys.readouterr()
    _check(case, status, captured.out, captured.err, before, snapshot(workspace))


SCRIPTED = [case for case in CASES if case.script]


def _console_script() -> str:
    script = Path(sys.executable).with_name("twin")
    if not script.is_file():
        pytest.skip(f"the twin console script is not installed beside {sys.executable}")
    return str(script)


@pytest.mark.parametrize("case", SCRIPTED, ids=_ids(SCRIPTED))
def test_hostile_input_through_the_console_script(
    case: Case, workspace: Path, request, monkeypatch
):
    if case.prepare is not None:
        case.prepare(workspace)
    _environment(case, workspace, monkeypatch)
    argv = _argv(case, request)
    before = snapshot(workspace)
    done = subprocess.run(
        [_console_script(), *argv],
        cwd=workspace,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    _check(case, done.returncode, done.stdout, done.stderr, before, snapshot(workspace))


def test_every_command_has_hostile_cases():
    parser = build_parser()
    commands = next(
        a.choices
        for a in parser._actions
        if a.dest == "command"  # the subcommands
    )
    counts = {name: sum(case.command == name for case in CASES) for name in commands}
    short = {name: n for name, n in counts.items() if n < MIN_CASES}
    assert not short, (
        f"commands with fewer than {MIN_CASES} hostile cases: {short}; add rows for them to "
        "tests/cli/cases.py"
    )
