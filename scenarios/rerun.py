"""Run a run folder's specification again and check that it reproduces the same KPIs.

A run is a pure function of its specification (:mod:`sim.spec`): the same specification on
the same city, with the same code, gives the same KPIs, to the last bit. :func:`rerun` reads
the specification from a folder's ``manifest.json``, loads the city it names (its bundle, or
the default city), runs it with :func:`sim.runner.run` and compares every KPI with the
folder's ``kpis.json``, breakdowns entry by entry.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.result import RunResult
from sim.spec import RunSpec
from twin.city import City
from twin.errors import TwinError

__all__ = ["ReproducibilityError", "RerunReport", "compare_kpis", "read_recorded", "rerun"]


class ReproducibilityError(TwinError, RuntimeError):
    """A run's specification, run again, gave different KPIs."""


@dataclass(frozen=True)
class RerunReport:
    """What running a folder's specification again gave.

    Attributes
    ----------
    run_dir
        The folder that was run again.
    digest
        Its specification's digest.
    compared
        How many KPI values were compared (breakdown entries count one each).
    differences
        ``{kpi: (recorded, now)}`` for every value that differs (``None``: not reported).
    code_changed
        Whether the code differs from the code that made the run (its ``code_sha256``).
    output
        Where the new run was written, if anywhere.
    result
        The new run.
    """

    run_dir: Path
    digest: str
    compared: int
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    code_changed: bool = False
    output: Path | None = None
    result: RunResult | None = field(default=None, repr=False)

    @property
    def identical(self) -> bool:
        """Whether every KPI came out the same."""
        return not self.differences

    def check(self) -> None:
        """Raise :class:`ReproducibilityError` naming the KPIs that differ, if any do."""
        if self.identical:
            return
        shown = ", ".join(
            f"{name} {_text(old)} → {_text(new)}"
            for name, (old, new) in list(self.differences.items())[:8]
        )
        more = len(self.differences) - 8
        why = (
            "the code has changed since the run was made (its code_sha256 differs)"
            if self.code_changed
            else "the code is the same, so something in the run is not deterministic: "
            "report it with this folder"
        )
        raise ReproducibilityError(
            f"{self.run_dir}: {len(self.differences)} of {self.compared} KPI values differ "
            f"when its specification is run again: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + f"; {why}"
        )


def rerun(
    run_dir: str | Path,
    *,
    city: City | str | Path | None = None,
    output: str | Path | None = None,
    force: bool = False,
    progress: Callable[[float], None] | None = None,
) -> RerunReport:
    """Run the specification of ``run_dir`` again and compare its KPIs with the recorded ones.

    Parameters
    ----------
    run_dir
        A run folder (:func:`sim.outputs.write_run`).
    city
        The city, or the bundle to load it from; ``None`` for the bundle the specification
        names (``city.bundle``), or the default city when it names none.
    output
        A folder to write the new run to; ``None`` writes nothing.
    force
        Replace ``output`` if it holds an earlier run.
    progress
        Called with the simulated clock (:func:`sim.runner.run`).

    Returns
    -------
    The comparison; :meth:`RerunReport.check` raises when a KPI differs.

    Raises
    ------
    RunDirError
        ``run_dir`` is not a run folder, or ``output`` is taken.
    SpecError
        The specification cannot be read, or the city is not the one it names.
    """
    from sim.manifest import code_version
    from sim.outputs import check_run_dir, write_run
    from sim.runner import run

    run_dir = Path(run_dir)
    manifest, recorded = read_recorded(run_dir)
    spec = RunSpec.from_dict(manifest["spec"], where=f"{run_dir / 'manifest.json'} spec")
    if output is not None:
        bundle = city if isinstance(city, str | Path) else spec.city.bundle or None
        check_run_dir(
            output,
            force=force,
            inputs={"the run folder run again": run_dir, "the city bundle": bundle},
        )
    if not isinstance(city, City):
        city = _load_city(city, spec)
    result = run(city, spec, progress=progress)
    written = write_run(result, output, force=force) if output is not None else None
    differences, compared = compare_kpis(recorded, result.kpis)
    recorded_code = (manifest.get("code") or {}).get("code_sha256")
    return RerunReport(
        run_dir=run_dir,
        digest=spec.digest,
        compared=compared,
        differences=differences,
        code_changed=bool(recorded_code) and recorded_code != code_version()["code_sha256"],
        output=written,
        result=result,
    )


def compare_kpis(
    recorded: Mapping[str, Any], now: Mapping[str, Any]
) -> tuple[dict[str, tuple[Any, Any]], int]:
    """The KPI values that differ between two KPI dicts, and how many were compared.

    Values are compared exactly after both sides are put in the form ``kpis.json`` stores
    (NaN and infinities as ``None``, numpy scalars as Python numbers); breakdowns are
    compared entry by entry (``co2_kg_by_class.car``); ``notes`` are compared as a whole.
    """
    old = _flat(_as_json(recorded))
    new = _flat(_as_json(now))
    names = list(old) + [name for name in new if name not in old]
    differences = {
        name: (old.get(name), new.get(name)) for name in names if old.get(name) != new.get(name)
    }
    return differences, len(names)


def read_recorded(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifest and the KPIs a run folder recorded (no other file is needed).

    Raises
    ------
    RunDirError
        ``manifest.json`` or ``kpis.json`` is missing or unreadable.
    """
    from sim.outputs import RunDirError

    run_dir = Path(run_dir)
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        recorded = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunDirError(
            f"{run_dir} is not a run folder ({Path(exc.filename).name} is missing); give a "
            "folder written by `twin run -o RUN_DIR`"
        ) from None
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{run_dir}: cannot read its manifest or KPIs ({exc})") from None
    if not isinstance(manifest, dict) or "spec" not in manifest:
        raise RunDirError(f"{run_dir}/manifest.json holds no run specification")
    return manifest, recorded


def _load_city(city: str | Path | None, spec: RunSpec) -> City:
    from twin.build.pipeline import load_city

    if city is not None:
        return load_city(city)
    bundle = spec.city.bundle
    if bundle and not Path(bundle).is_file():
        from twin.errors import SourceNotFoundError

        raise SourceNotFoundError(
            f"the run was made on the city bundle {bundle}, which is not there any more; "
            "give the city with --city CITY.twin (its checksum must match)"
        )
    return load_city(bundle or None)


def _as_json(value: Any) -> Any:
    """``value`` as ``kpis.json`` holds it: NaN → ``None``, numpy → built-ins, tuples → lists."""
    if isinstance(value, Mapping):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _flat(kpis: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in kpis.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "null" if value is None else str(value)
