"""The parameters of a run: five families, their defaults, and one way to override and check them.

A run's parameters come in families, one per part of the model:

============  =========================================  ====================================
family        defaults                                   read by
============  =========================================  ====================================
traffic       :class:`sim.traffic.params.TrafficParams`  the traffic engine
demand        ``twin/defaults/demand.toml``              :func:`twin.demand.model.synthesise_trips`
tourists      ``twin/defaults/tourists.toml``            :class:`sim.tourists.model.Tourists`
emergency     ``twin/defaults/emergency.toml``           :class:`sim.emergency.model.Emergency`
vehicles      ``twin/defaults/vehicles.csv``             demand, traffic (PCU, speed, CO2)
============  =========================================  ====================================

Each family is plain nested data in the layout of its defaults file (tables, arrays, numbers,
strings, booleans: what TOML and JSON hold); ``vehicles`` is an array of tables, one per
class. :func:`resolve` starts from the defaults and applies layers of overrides, each named
by where it came from (``--set``, a scenario file…), and checks them all the same way:

- a key the defaults do not have is an error that names the key, its source and the closest
  valid key;
- a value of the wrong type is an error that says which type is wanted (an integer where a
  float is wanted is taken as that float, so ``demand.scale = 1`` and ``1.0`` are the same);
- then the family's own reader builds its typed object from the merged data and refuses
  values out of range, saying which range.

An array of tables whose items carry a ``name`` (demand ``purposes``) or ``vehicle_class``
(``vehicles``) is addressed by that name: ``vehicles.car.pcu`` is the ``pcu`` of the item
named ``car``. Any other array is replaced as a whole.

Dotted keys (``emergency.units.ambulances_per_hospital=3``) become override layers with
:func:`assignment`; :func:`flat_keys` lists every valid key of a family.
"""

from __future__ import annotations

import copy
import difflib
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from twin.errors import ConfigError

__all__ = [
    "FAMILIES",
    "Layer",
    "assignment",
    "check_overrides",
    "defaults",
    "flat_keys",
    "parse_value",
    "resolve",
    "resolve_all",
    "typed",
]

#: Keys that name the items of an array of tables.
_ITEM_NAMES = ("name", "vehicle_class")


@dataclass(frozen=True)
class Layer:
    """Overrides of one family from one source.

    Attributes
    ----------
    source
        Where they came from, for messages (``"--set"``, ``"scenario festival.toml"``).
    values
        Nested overrides in the family's layout.
    """

    source: str
    values: Mapping[str, Any]


# -- the families ------------------------------------------------------------------------------
def _toml_defaults(name: str) -> dict[str, Any]:
    with (resources.files("twin") / "defaults" / name).open("rb") as fh:
        return tomllib.load(fh)


def _traffic_defaults() -> dict[str, Any]:
    from sim.traffic.params import TrafficParams

    return TrafficParams().to_dict()


def _vehicle_defaults() -> list[dict[str, Any]]:
    from twin.vehicles import load_vehicle_classes

    table = load_vehicle_classes().reset_index()
    return [
        {key: (str(v) if key == "vehicle_class" else float(v)) for key, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def _traffic(data: dict[str, Any], where: str) -> Any:
    from sim.traffic.params import TrafficParams

    try:
        return TrafficParams.from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _demand(data: dict[str, Any], where: str) -> Any:
    from twin.demand.params import params_from_data

    scale = data.get("scale")
    if not (isinstance(scale, float) and 0 < scale <= 100):
        raise ConfigError(f"{where}: demand.scale = {scale!r}; expected a number in (0, 100]")
    return params_from_data({k: v for k, v in data.items() if k != "scale"}, where)


def _tourists(data: dict[str, Any], where: str) -> Any:
    from sim.tourists.params import tourist_params_from_data

    return tourist_params_from_data(data, where=where)


def _emergency(data: dict[str, Any], where: str) -> Any:
    from sim.emergency.params import params_from_dict

    return params_from_dict(data, where=where)


def _vehicles(data: list[dict[str, Any]], where: str) -> Any:
    from twin.vehicles import vehicle_table

    return vehicle_table(data, where=where)


@dataclass(frozen=True)
class Family:
    """One parameter family: its defaults, where they live, and the reader that builds its
    typed object (checking every range)."""

    name: str
    home: str
    make_defaults: Callable[[], Any]
    build: Callable[[Any, str], Any]


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("traffic", "sim/traffic/params.py", _traffic_defaults, _traffic),
        Family(
            "demand",
            "twin/defaults/demand.toml",
            lambda: _toml_defaults("demand.toml"),
            _demand,
        ),
        Family(
            "tourists",
            "twin/defaults/tourists.toml",
            lambda: _toml_defaults("tourists.toml"),
            _tourists,
        ),
        Family(
            "emergency",
            "twin/defaults/emergency.toml",
            lambda: _toml_defaults("emergency.toml"),
            _emergency,
        ),
        Family("vehicles", "twin/defaults/vehicles.csv", _vehicle_defaults, _vehicles),
    )
}


def defaults(family: str) -> Any:
    """A fresh copy of a family's default parameters (nested plain data)."""
    return copy.deepcopy(_family(family).make_defaults())


def _family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(
            f"unknown parameter family {name!r}{_did_you_mean(name, FAMILIES)}; the families "
            f"are {', '.join(FAMILIES)}"
        )
    return FAMILIES[name]


# -- resolving ---------------------------------------------------------------------------------
def resolve(family: str, layers: Iterable[Layer] = ()) -> Any:
    """A family's parameters: the defaults, then each layer of overrides, checked.

    Parameters
    ----------
    family
        ``"traffic"``, ``"demand"``, ``"tourists"``, ``"emergency"`` or ``"vehicles"``.
    layers
        Overrides in the order they apply (later layers win).

    Returns
    -------
    The merged parameters, in the layout of the defaults (plain data, TOML-ready).

    Raises
    ------
    ConfigError
        An unknown key (with the closest valid one), a value of the wrong type, or a value
        the family's reader refuses (with its valid range); the message names the source.
    """
    spec = _family(family)
    data = defaults(family)
    sources = []
    for layer in layers:
        data = _merge(data, layer.values, path=family, source=layer.source)
        sources.append(layer.source)
    where = f"{family} parameters ({spec.home}" + "".join(f" + {s}" for s in sources) + ")"
    spec.build(data, where)
    return data


def typed(spec: Any, family: str) -> Any:
    """A run specification's parameters of ``family`` as the typed object its part reads:
    :class:`~sim.traffic.params.TrafficParams`, :class:`~twin.demand.params.DemandParams`
    (``demand.scale`` apart), :class:`~sim.tourists.params.TouristParams`,
    :class:`~sim.emergency.params.EmergencyParams`, or the vehicle class table (a DataFrame
    indexed by ``vehicle_class``)."""
    return _family(family).build(spec.params(family), f"{family} parameters of the run")


def check_overrides(family: str, values: Mapping[str, Any], *, source: str) -> list[str]:
    """Every unknown key and wrong type in ``values`` (one message each, naming the closest
    valid key), without stopping at the first; ranges are checked by :func:`resolve`."""
    base = defaults(family)
    messages = []
    for path, value in _leaves(values, ()):
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        try:
            _merge(base, nested, path=family, source=source)
        except ConfigError as exc:
            messages.append(str(exc))
    return messages


def _leaves(values: Any, prefix: tuple[str, ...]):
    if isinstance(values, Mapping) and values:
        for key, value in values.items():
            yield from _leaves(value, (*prefix, str(key)))
    elif prefix:
        yield prefix, values


def resolve_all(layers: Iterable[tuple[str, Layer]] = ()) -> dict[str, Any]:
    """Every family's parameters, with ``(family, layer)`` overrides applied in order."""
    by_family: dict[str, list[Layer]] = {name: [] for name in FAMILIES}
    for family, layer in layers:
        _family(family)
        by_family[family].append(layer)
    return {name: resolve(name, by_family[name]) for name in FAMILIES}


def _merge(base: Any, override: Any, *, path: str, source: str) -> Any:
    """``base`` with ``override`` applied, every key and type checked against ``base``."""
    if isinstance(base, dict):
        if set(base) == {"mean", "cv"} and isinstance(override, int | float):
            override = {"mean": override, "cv": 0.0}  # a fixed time: 90 for {mean=90, cv=0}
        if not isinstance(override, Mapping):
            raise ConfigError(
                f"{path} (from {source}) is {override!r}; expected a table of its keys "
                f"({', '.join(sorted(base))})"
            )
        out = dict(base)
        for key, value in override.items():
            here = f"{path}.{key}"
            if key not in base:
                raise ConfigError(
                    f"unknown parameter {here!r} (from {source})"
                    f"{_did_you_mean(here, _paths(base, path))}"
                )
            out[key] = _merge(base[key], value, path=here, source=source)
        return out
    if _is_named_items(base):
        if isinstance(override, Mapping):
            items = [dict(item) for item in base]
            names = [_item_name(item) for item in items]
            for name, value in override.items():
                here = f"{path}.{name}"
                if name not in names:
                    raise ConfigError(
                        f"unknown parameter {here!r} (from {source}): {path} has no item named "
                        f"{name!r}{_did_you_mean(name, names)}; the items are {', '.join(names)}"
                    )
                k = names.index(name)
                items[k] = _merge(items[k], value, path=here, source=source)
            return items
        return _replace_list(base, override, path=path, source=source)
    if isinstance(base, list):
        return _replace_list(base, override, path=path, source=source)
    return _scalar(base, override, path=path, source=source)


def _replace_list(base: list, override: Any, *, path: str, source: str) -> list:
    if not isinstance(override, list | tuple):
        raise ConfigError(f"{path} (from {source}) is {override!r}; expected an array")
    items = list(override)
    if _is_named_items(base):
        template = base[0]
        for k, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ConfigError(f"{path}[{k}] (from {source}) is {item!r}; expected a table")
            items[k] = _merge(
                {**template, **{key: item[key] for key in template if key in item}},
                item,
                path=f"{path}[{k}]",
                source=source,
            )
            missing = [key for key in template if key not in item]
            if missing:
                raise ConfigError(
                    f"{path}[{k}] (from {source}) lacks {missing}; an item of {path} needs "
                    f"every key of the defaults' items ({', '.join(template)})"
                )
        return items
    kinds = {type(v) for v in base}
    if len(kinds) == 1 and kinds <= {int, float} and base:
        return [
            _scalar(base[0], v, path=f"{path}[{k}]", source=source) for k, v in enumerate(items)
        ]
    return copy.deepcopy(items)


def _scalar(base: Any, value: Any, *, path: str, source: str) -> Any:
    """``value`` as the type of ``base`` (an int is taken where a float is wanted)."""
    wanted = type(base)
    ok = False
    if wanted is bool:
        ok = isinstance(value, bool)
    elif wanted is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif wanted is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(f"{path} = {value!r} (from {source}); give a finite number")
    elif wanted is str:
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, wanted)
    if not ok:
        names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
        raise ConfigError(
            f"{path} = {value!r} (from {source}) is not {names.get(wanted, wanted.__name__)}; "
            f"the default is {base!r}"
        )
    return value


def _is_named_items(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and _item_name(v) is not None for v in value)
    )


def _item_name(item: Mapping[str, Any]) -> str | None:
    for key in _ITEM_NAMES:
        if isinstance(item.get(key), str):
            return item[key]
    return None


# -- keys ----------------------------------------------------------------------------------
def _paths(data: Any, prefix: str) -> list[str]:
    """Every dotted key below ``prefix`` (tables and leaves)."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{prefix}.{key}"
            out.append(here)
            out.extend(_paths(value, here))
    elif _is_named_items(data):
        for item in data:
            here = f"{prefix}.{_item_name(item)}"
            out.append(here)
            out.extend(_paths(item, here))
    return out


def flat_keys(family: str) -> list[str]:
    """Every valid dotted key of a family (``emergency.units.ambulances_per_hospital`` …)."""
    return _paths(defaults(family), family)


def _did_you_mean(key: str, candidates: Iterable[str]) -> str:
    candidates = list(candidates)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        tail = key.rsplit(".", 1)[-1]
        by_tail = {c.rsplit(".", 1)[-1]: c for c in candidates}
        close = [by_tail[m] for m in difflib.get_close_matches(tail, list(by_tail), n=1)]
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML literal (``3``, ``1.2``, ``true``, ``"x"``, ``[1, 2]``), or
    else the text itself as a string (``--set emergency.response.travel=zero``)."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def assignment(text: str) -> tuple[str, dict[str, Any]]:
    """``"emergency.units.ambulances_per_hospital=3"`` → ``("emergency", {"units":
    {"ambulances_per_hospital": 3}})``: a family and a nested override.

    Raises
    ------
    ConfigError
        No ``=``, an empty key, or an unknown family.
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not p for p in parts) or len(parts) < 2:
        raise ConfigError(
            f"--set {text!r} is not KEY=VALUE with a dotted key; write e.g. "
            "--set demand.scale=1.2 or --set emergency.units.ambulances_per_hospital=3"
        )
    family = _family(parts[0]).name
    nested: Any = parse_value(value)
    for part in reversed(parts[1:]):
        nested = {part: nested}
    return family, nested
