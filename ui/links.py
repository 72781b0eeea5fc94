"""The URL is the state: query parameters that rebuild the picture, and back.

Training settings are named as the command line's flags in snake_case (``epochs``,
``kl_weight``, ``hidden=32,32``…) and checked by the same settings schema. A gallery
preset is ``preset=<name>``. The view is ``sample``, ``x``, ``y``, ``size``, ``mean``;
the map page adds ``show`` and ``hold``, the truck page ``point``; ``with`` names the method the map, truck and
calibration pages set beside the BNN (``plain``, ``dropout``, ``ensemble``, ``hmc``); ``present=1`` turns on
presenter mode. A bad, unknown or repeated parameter is named with its allowed values, takes its
default, and the others are honoured; a view value beyond its slider's range is named and moved to the range's
nearest end. A value is quoted as text, cut to a readable length (see :func:`bnn_core.text.quoted`); the page
shows the sentences as plain text (``ui/text.py``). Parsing is plain Python, so it is tested directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bnn_core import SETTINGS, BNNInputError, RunConfig, Setting
from bnn_core.limits import MAX_SHOWN_VALUE
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from bnn_core.settings import CSV_PREFIX
from bnn_core.text import cut, quoted

MAX_SAMPLE = 1_000_000  # the highest posterior sample a link may name
POINT_SPANS = 3.0  # the truck page's sliders reach this many data spans beyond the data on each side
SIZES = {"total": "entropy", "epistemic": "epistemic", "aleatoric": "aleatoric"}  # link word → marker-size measure
SHOWS = ("confidence", "class", "total", "epistemic", "aleatoric")  # the map's colourings, as links name them
COMPARED = ("plain", "dropout", "ensemble", "laplace", "hmc")  # the methods a page can set beside the BNN
VIEW_PARAMS = ("preset", "sample", "x", "y", "size", "mean", "show", "hold", "point", "with", "present", "v")
# The links' format: version 2 names its settings against today's defaults (the Bayesian posterior, the step
# schedule); a link without ``v`` was written against the earlier ones (the article's), which it still means.
VERSION = "2"
SWITCH = {"1": True, "0": False, "true": True, "false": False}


@dataclass(frozen=True)
class Link:
    """What a URL asks for; None where it says nothing (or said something invalid, see ``problems``)."""

    config: RunConfig | None = None  # the model to show; None: the first-visit default
    preset: str | None = None
    sample: int | None = None
    x: str | None = None
    y: str | None = None
    size: str | None = None
    mean: bool | None = None
    show: str | None = None
    hold: tuple[float, ...] | None = None
    point: tuple[float, ...] | None = None
    compared: str | None = None  # the ``with`` parameter
    present: bool | None = None
    csv_dataset: str | None = None  # a dataset that must be uploaded in this browser first
    problems: tuple[str, ...] = field(default=())  # one sentence per bad or unknown parameter


def parse(given: Mapping[str, str | Sequence[str]]) -> Link:
    """Read query parameters (name → text, or every text a repeated name was given) into a :class:`Link`,
    collecting a sentence per bad one."""
    problems: list[str] = []
    params = _given_once(given, problems)
    settings, csv_dataset = _settings(params, problems)
    preset = params.get("preset")
    if preset is not None and preset not in PRESETS_BY_SLUG:
        problems.append(f"preset={quoted(preset)} is not in the gallery; choose one of {', '.join(PRESETS_BY_SLUG)}.")
        preset = None
    config = None
    if csv_dataset is not None:  # the other settings belong to the model on that CSV: the default is shown
        settings, preset = {}, None
    version = params.get("v")
    if version is not None and version != VERSION:
        problems.append(f"v={quoted(version)} is not a link version this app knows; it reads v={VERSION}.")
    if preset is not None or settings:
        base = PRESETS_BY_SLUG[preset].config if preset is not None else defaults_of(version)
        config = RunConfig.from_flat({**base.to_flat(), **settings})
        preset = preset if config == base else None
    known = set(SETTINGS) | set(VIEW_PARAMS)
    problems += [f"{cut(name, MAX_SHOWN_VALUE)}={quoted(params[name])} is not a parameter this app knows; it was "
                 "ignored." for name in params if name not in known]  # fmt: skip
    return Link(
        config=config,
        preset=preset,
        sample=_whole(params, "sample", 0, MAX_SAMPLE, problems),
        x=params.get("x"),
        y=params.get("y"),
        size=_word(params, "size", tuple(SIZES), problems),
        mean=_switch(params, "mean", problems),
        show=_word(params, "show", SHOWS, problems),
        hold=_numbers(params, "hold", problems),
        point=_numbers(params, "point", problems),
        compared=_word(params, "with", COMPARED, problems),
        present=_switch(params, "present", problems),
        csv_dataset=csv_dataset,
        problems=tuple(problems),
    )


def _given_once(given: Mapping[str, str | Sequence[str]], problems: list[str]) -> dict[str, str]:
    """The parameters given once; a name given twice or more is ambiguous, so it is named and none of its values
    is used."""
    once: dict[str, str] = {}
    for name, values in given.items():
        if isinstance(values, str) or len(values) == 1:
            once[name] = values if isinstance(values, str) else values[0]
        elif values:
            shown = ", ".join(quoted(value) for value in values[:3]) + (", …" if len(values) > 3 else "")
            problems.append(
                f"{cut(name, MAX_SHOWN_VALUE)} is given {len(values)} times ({shown}); a link gives each parameter "
                "once, so none of them was used."
            )
    return once


def defaults_of(version: str | None) -> RunConfig:
    """The settings a link of ``version`` leaves unsaid: today's defaults, or, without a version, the defaults
    links were written against before (the article's prior and training)."""
    if version is not None:
        return RunConfig()
    return RunConfig.from_flat({name: setting.old_default for name, setting in SETTINGS.items()})


def _settings(params: Mapping[str, str], problems: list[str]) -> tuple[dict[str, object], str | None]:
    """The valid training settings among ``params``; a CSV dataset is set aside (it must be uploaded)."""
    valid: dict[str, object] = {}
    csv_dataset = None
    for name, setting in SETTINGS.items():
        if name not in params:
            continue
        text = params[name]
        try:
            value = setting.check(_value(setting, text))
        except BNNInputError as err:
            problems.append(f"{name}={quoted(text)}: {err}")
            continue
        if name == "dataset" and isinstance(value, str) and value.startswith(CSV_PREFIX):
            csv_dataset = value.removeprefix(CSV_PREFIX)
            continue
        valid[name] = value
    return valid, csv_dataset


def _value(setting: Setting, text: str) -> object:
    """``text`` as the setting's type, before its bounds are checked (which name the allowed range)."""
    if setting.kind is str:
        return text
    if isinstance(setting.default, tuple):
        return [] if text.strip() == "0" else [_number(part, int) for part in text.split(",")]  # 0: no hidden layer
    return _number(text, setting.kind)


def _number(text: str, kind: type) -> object:
    """A number from text, or the text itself (the schema's check then says it is not a number)."""
    try:
        value = float(text)
    except ValueError:
        return text
    if kind is int and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _whole(params: Mapping[str, str], name: str, low: int, high: int, problems: list[str]) -> int | None:
    if name not in params:
        return None
    value = _number(params[name], int)
    if isinstance(value, int) and low <= value <= high:
        return value
    problems.append(f"{name}={quoted(params[name])} must be a whole number from {low} to {high:,}; {low} is used.")
    return None


def _word(params: Mapping[str, str], name: str, choices: Sequence[str], problems: list[str]) -> str | None:
    if name not in params:
        return None
    if params[name] in choices:
        return params[name]
    problems.append(f"{name}={quoted(params[name])} must be one of {', '.join(choices)}; {choices[0]} is used.")
    return None


def _switch(params: Mapping[str, str], name: str, problems: list[str]) -> bool | None:
    if name not in params:
        return None
    if params[name].lower() in SWITCH:
        return SWITCH[params[name].lower()]
    problems.append(f"{name}={quoted(params[name])} must be 1 or 0; it is off.")
    return None


def _numbers(params: Mapping[str, str], name: str, problems: list[str]) -> tuple[float, ...] | None:
    if name not in params:
        return None
    try:
        values = tuple(float(part) for part in params[name].split(","))
    except ValueError:
        values = ()
    if values and all(math.isfinite(v) for v in values):
        return values
    problems.append(f"{name}={quoted(params[name])} must be a comma-separated list of numbers, one per feature.")
    return None


def feature_problem(name: str, given: str, features: Sequence[str]) -> str:
    """The sentence for an axis parameter that names no feature of the run's data."""
    shown = ", ".join(features[:6]) + (", …" if len(features) > 6 else "")
    return f"{name}={quoted(given)} is not a feature of this data ({shown}); the default axis is used."


def vector_problem(name: str, count: int, n_features: int) -> str:
    return f"{name} has {count} numbers but the data has {n_features} features; it was ignored."


def range_problem(
    name: str, values: Sequence[float], ranges: Sequence[tuple[float, float]], features: Sequence[str]
) -> str | None:
    """The sentence for a point (one value per feature) with values beyond their sliders' ``ranges``, which move
    each to its range's nearest end; None if every value is inside."""
    outside = [j for j, (value, (low, high)) in enumerate(zip(values, ranges, strict=True)) if not low <= value <= high]
    if not outside:
        return None
    first, (low, high) = outside[0], ranges[outside[0]]
    more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
    return (
        f"{name} puts {cut(features[first], MAX_SHOWN_VALUE)} at {values[first]:g}{more}, beyond its slider's "
        f"{low:.4g} to {high:.4g}; the nearest end is used."
    )


def settings_params(config: RunConfig, preset: str | None) -> dict[str, str]:
    """The parameters that name ``config``: its preset, or each setting that differs from the default."""
    if preset is not None and PRESETS_BY_SLUG[preset].config == config:
        return {"preset": preset}
    flat, default = config.to_flat(), RunConfig().to_flat()
    return {"v": VERSION, **{name: _text(flat[name]) for name in SETTINGS if flat[name] != default[name]}}


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "0"  # no hidden layer, as on the command line
    return str(value)  # the shortest text that reads back as the same number


def numbers_text(values: Sequence[float]) -> str:
    return ",".join(f"{v:.6g}" for v in values)
