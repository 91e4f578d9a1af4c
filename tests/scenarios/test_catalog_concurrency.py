"""Runs finishing at the same moment: two processes registering at once, round after round,
while a third reads the catalog."""

from __future__ import annotations

import json
import multiprocessing

from scenarios.catalog import scan
from scenarios.catalog.registry import CATALOG_FOLDER
from tests.scenarios.runs import clone_run

ROUNDS = 25
OWN = 4  # runs each writer alone registers in a round
SHARED = 2  # runs both writers register in a round


def _writer(name, batches, root, start, step) -> None:
    """Register each round's runs, starting every round together with the other writer."""
    from scenarios.catalog import register_run

    start.wait(timeout=120)
    for batch in batches:
        step.wait(timeout=120)
        for folder, labels in batch:
            register_run(folder, root=root, labels=labels)


def _reader(root, start, done, results) -> None:
    """Read the whole catalog again and again until the writers are done."""
    from scenarios.catalog import scan

    start.wait(timeout=120)
    scans, partial, problems = 0, 0, []
    while not done.is_set():
        found = scan(root)
        scans += 1
        partial += 0 < len(found.entries) < ROUNDS * (2 * OWN + SHARED)
        problems.extend(p.message for p in found.problems)
    results.put({"scans": scans, "partial": partial, "problems": problems})


def test_two_processes_registering_at_once_never_corrupt_the_catalog(run_dir, tmp_path):
    root = tmp_path / "catalog"
    runs = tmp_path / "runs"
    expected: dict[str, dict] = {}  # folder -> labels
    batches: dict[str, list] = {"a": [], "b": []}
    minute = 0

    def new_run(labels):
        nonlocal minute
        minute += 1
        created = f"2026-02-01T{minute // 60:02d}:{minute % 60:02d}:00+00:00"
        folder = clone_run(run_dir, runs / f"run-{minute:04d}", created=created, link=True)
        expected[str(folder)] = labels
        return folder, labels

    for r in range(ROUNDS):
        shared = [new_run({"round": r, "shared": True}) for _ in range(SHARED)]
        for writer in ("a", "b"):
            own = [new_run({"round": r, "writer": writer}) for _ in range(OWN)]
            # the two writers take the shared runs in opposite orders
            batches[writer].append(own + (shared if writer == "a" else shared[::-1]))

    ctx = multiprocessing.get_context("spawn")
    start, step = ctx.Barrier(3), ctx.Barrier(2)
    done, results = ctx.Event(), ctx.Queue()
    writers = [
        ctx.Process(target=_writer, args=(w, batches[w], str(root), start, step)) for w in "ab"
    ]
    reader = ctx.Process(target=_reader, args=(str(root), start, done, results))
    for process in [*writers, reader]:
        process.start()
    for process in writers:
        process.join(timeout=300)
    done.set()
    seen = results.get(timeout=120)
    reader.join(timeout=60)
    assert [p.exitcode for p in writers] == [0, 0]
    assert reader.exitcode == 0

    found = scan(root)
    assert found.problems == () and found.superseded == ()
    assert len(found.entries) == len(expected) == ROUNDS * (2 * OWN + SHARED)
    assert {str(e.path): e.labels for e in found.entries} == expected
    assert len({e.run_id for e in found.entries}) == len(expected)
    # one whole registration per run, and nothing half-written left behind
    files = sorted((root / CATALOG_FOLDER).iterdir())
    assert [f.name for f in files] == sorted(f"{e.run_id}.json" for e in found.entries)
    for file in files:
        assert json.loads(file.read_text(encoding="utf-8"))["run_id"] == file.stem
    # the reader read the catalog while it was being written, and never saw a broken file
    assert seen["problems"] == []
    assert seen["scans"] >= 1 and seen["partial"] >= 1
