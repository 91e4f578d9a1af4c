"""Where Huế Twin finds its inputs and keeps its caches.

Settings are resolved, in order, from environment variables, from a config file and from
defaults. They are read into an immutable :class:`Settings` each time they are asked for,
so tests set environment variables (``monkeypatch.setenv``) instead of poking globals.

========================  ======================  =============================================
environment variable      config key              default
========================  ======================  =============================================
``TWIN_OSM_PATH``         ``osm_path``            ``<repo>/../shared/data/osm/hue.osm.pbf``
``TWIN_CACHE_DIR``        ``cache_dir``           ``$XDG_CACHE_HOME/hue-twin`` (``~/.cache``)
``TWIN_RUNS_DIR``         ``runs_dir``            ``./runs`` (the run catalog's results root)
``TWIN_SCHEDULER``        ``scheduler``           none: batch runs start a local Dask cluster
``TWIN_CONFIG``           (the file itself)       ``./twin.toml``, else the user config file
========================  ======================  =============================================
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from twin.errors import ConfigError, SourceNotFoundError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OSM_PATH = REPO_ROOT.parent / "shared" / "data" / "osm" / "hue.osm.pbf"
DEFAULT_CITY_NAME = "Huế"
#: Keys a config file may hold.
_CONFIG_KEYS = ("osm_path", "cache_dir", "runs_dir", "scheduler")


@dataclass(frozen=True)
class Settings:
    """Resolved settings.

    Attributes
    ----------
    osm_path
        The OSM extract of the default city.
    cache_dir
        Where the compiled default city (``hue.twin``) and other caches are kept.
    runs_dir
        The results root of the run catalog (:mod:`scenarios.catalog`): where runs are
        registered, and where ``twin runs`` and ``twin query`` look.
    scheduler
        The address of a running Dask scheduler (``tcp://host:8786``) that batch runs
        (``twin sweep``, ``twin compare``) use when given no ``--scheduler`` or
        ``--workers``; ``None`` starts a local cluster (:mod:`scenarios.executor`).
    config_file
        The config file that was read, or ``None``.
    """

    osm_path: Path
    cache_dir: Path
    runs_dir: Path = Path("runs")
    scheduler: str | None = None
    config_file: Path | None = None

    @property
    def default_bundle(self) -> Path:
        """The cached bundle of the default city."""
        return self.cache_dir / "hue.twin"


def _config_file() -> Path | None:
    explicit = os.environ.get("TWIN_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"TWIN_CONFIG={explicit!r} does not exist; point it at a TOML file or unset it"
            )
        return path
    xdg = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    for candidate in (Path.cwd() / "twin.toml", xdg / "hue-twin" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def _read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or remove it") from exc
    unknown = set(data) - set(_CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown keys {sorted(unknown)}; the known keys are "
            + ", ".join(repr(key) for key in _CONFIG_KEYS)
        )
    return data


def get_settings() -> Settings:
    """Resolve the settings now (environment first, then the config file, then defaults)."""
    config_file = _config_file()
    config = _read_config(config_file)

    def pick(env: str, key: str, default: Path) -> Path:
        value = os.environ.get(env) or config.get(key)
        if not value:
            return default
        path = Path(value).expanduser()
        if not path.is_absolute() and config_file is not None and not os.environ.get(env):
            path = config_file.parent / path
        return path

    xdg_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    scheduler = os.environ.get("TWIN_SCHEDULER") or config.get("scheduler") or None
    if scheduler is not None and not isinstance(scheduler, str):
        raise ConfigError(
            f"{config_file}: scheduler = {scheduler!r}; give the address of a Dask scheduler "
            'as text, e.g. scheduler = "tcp://10.0.0.5:8786"'
        )
    return Settings(
        osm_path=pick("TWIN_OSM_PATH", "osm_path", DEFAULT_OSM_PATH),
        cache_dir=pick("TWIN_CACHE_DIR", "cache_dir", xdg_cache / "hue-twin"),
        runs_dir=pick("TWIN_RUNS_DIR", "runs_dir", Path.cwd() / "runs"),
        scheduler=(scheduler.strip() or None) if scheduler else None,
        config_file=config_file,
    )


def default_osm_path() -> Path:
    """The default city's OSM extract; a clear error when it is not there."""
    settings = get_settings()
    path = settings.osm_path
    if not path.is_file():
        where = f"config file {settings.config_file}" if settings.config_file else "the default"
        raise SourceNotFoundError(
            f"the default city's OSM extract is not at {path} (from TWIN_OSM_PATH or {where}). "
            'Fix: set TWIN_OSM_PATH to a .osm/.osm.pbf file, put `osm_path = "..."` in '
            "twin.toml, or pass a SOURCE to `twin build`"
        )
    return path


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (the reproducible-builds convention: the date a build records
    instead of the time it ran), whole seconds since 1970-01-01 UTC; ``None`` when unset.

    Raises
    ------
    ConfigError
        It is set to something that is not a whole number of seconds.
    """
    text = os.environ.get("SOURCE_DATE_EPOCH")
    if text is None:
        return None
    try:
        epoch = int(text)
    except ValueError:
        epoch = -1
    if not 0 <= epoch < 253_402_300_800:  # before the year 10000
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={text!r} is not a date; give whole seconds since 1970-01-01 "
            "UTC (e.g. SOURCE_DATE_EPOCH=$(date +%s)), or unset it"
        )
    return epoch
