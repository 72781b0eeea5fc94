"""The run files' schema: ``config.json``, ``metrics.json`` and ``history.csv`` checked field by field.

A run file may come from anyone (a run zip is uploaded; a runs folder is shared), so before anything reads a
value, each file's size is checked from the disk, each JSON's nesting before it is parsed, then every field's
type, range and length. Nothing is coerced: ``"epochs": 50.0`` is no whole number, ``"1.5"`` in the scaler is
no number, and a field this version does not know is refused. A refusal is one sentence naming the field;
:mod:`bnn_core.runs.loading` prefixes the file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BNNInputError
from ..limits import (
    MAX_CLASSES,
    MAX_FEATURES,
    MAX_JSON_DEPTH,
    MAX_NAME_CHARS,
    MAX_ROWS,
    MAX_RUN_FILE_BYTES,
    MAX_TEXT_CHARS,
)
from ..settings import SETTINGS, Setting
from ..text import quoted

ENGINES = ("fast", "torchbnn")


# ----------------------------------------------------------------------------------------------- sizes and JSON


def check_size(file: Path, shown: Path) -> None:
    """Refuse a run file larger than its limit, from its size on disk, before a byte of it is read."""
    limit = MAX_RUN_FILE_BYTES[file.name]
    size = file.stat().st_size
    if size > limit:
        raise BNNInputError(f"{shown} is {size:,} bytes; a run's {file.name} is at most {limit >> 20} MB.")


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def read_json(file: Path, shown: Path) -> dict[str, Any]:
    """A run's JSON file as a dict, its size and nesting checked before it is parsed; NaN, infinities and a
    repeated key are refused (Python's reader would take them silently)."""
    check_size(file, shown)
    try:
        content = file.read_bytes()
    except OSError as err:
        raise BNNInputError(f"{shown} could not be read ({err.strerror or err}).") from None
    depth = json_depth(content)
    if depth > MAX_JSON_DEPTH:
        raise BNNInputError(f"{shown} is nested {depth:,} levels deep; a run's JSON is at most {MAX_JSON_DEPTH}.")
    try:
        value = json.loads(content.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_no_repeats)
    except (UnicodeDecodeError, json.JSONDecodeError, _Refused) as err:
        raise BNNInputError(f"{shown} could not be read as JSON ({err}).") from None
    if not isinstance(value, dict):
        raise BNNInputError(f"{shown} should hold a JSON object, not {type(value).__name__}.")
    return value


def json_depth(content: bytes) -> int:
    """How deep the brackets of a JSON text nest, counted without parsing it (its strings left out)."""
    brackets = np.frombuffer(_STRING.sub(b"", content), dtype=np.uint8)
    steps = np.isin(brackets, (ord("["), ord("{"))).astype(np.int64) - np.isin(brackets, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


class _Refused(ValueError):
    """A JSON text the schema refuses while it is parsed."""


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a number a run writes")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    content = dict(pairs)
    if len(content) != len(pairs):
        repeated = next(key for index, (key, _) in enumerate(pairs) if key in dict(pairs[:index]))
        raise _Refused(f"the key {quoted(repeated)} is given twice")
    return content


# ------------------------------------------------------------------------------------------------------ fields


@dataclass(frozen=True)
class Field:
    """What one JSON field may hold: a kind, a range for numbers, the allowed words for text, and null or not."""

    kind: str  # "real" (an integer or a fraction), "whole" (an integer), "text" or "switch" (true or false)
    low: float | None = None
    high: float | None = None
    null: bool = False  # null is allowed too
    choices: tuple[str, ...] = ()

    def check(self, name: str, value: Any) -> None:
        """Raise a sentence naming ``name`` unless ``value`` is of this field's kind and within its range."""
        if value is None and self.null:
            return
        if not self.fits(value):
            raise BNNInputError(f"{name} must be {self.allowed()}, got {quoted(value)}.")

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is of this field's kind and within its range (null aside)."""
        if self.kind == "switch":
            return isinstance(value, bool)
        if self.kind == "text":
            short = isinstance(value, str) and len(value) <= MAX_TEXT_CHARS
            return short and (not self.choices or value in self.choices)
        real = _whole(value) or (isinstance(value, float) and math.isfinite(value))
        return (_whole(value) if self.kind == "whole" else real) and self._inside(value)

    def _inside(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def allowed(self) -> str:
        """The field's rule in words, e.g. "a number from 0 to 1, or null"."""
        if self.kind == "switch":
            words = "true or false"
        elif self.kind == "text":
            longest = f"text of at most {MAX_TEXT_CHARS:,} characters"
            words = f"one of {', '.join(self.choices)}" if self.choices else longest
        else:
            words = "a whole number" if self.kind == "whole" else "a finite number"
            if self.low is not None and self.high is not None:
                words += f" from {self.low:g} to {self.high:g}"
            elif self.low is not None:
                words += f" of at least {self.low:g}"
        return f"{words}, or null" if self.null else words


SHARE = Field("real", 0, 1)
LOSS = Field("real")
NOT_NEGATIVE = Field("real", 0)
ROWS = Field("whole", 1, MAX_ROWS)
STEPS = Field("whole", 1, SETTINGS["epochs"].high)
COMMON_METRICS = {
    "metrics_on": Field("text", choices=("test", "train")),
    "final_kl": LOSS,
    "train_seconds": NOT_NEGATIVE,
    "steps": STEPS,
    "engine": Field("text", choices=ENGINES),
    "engine_note": Field("text"),
}
CLASSIFICATION_METRICS = {
    "train_accuracy": SHARE,
    "test_accuracy": Field("real", 0, 1, null=True),
    "sample_train_accuracy": SHARE,
    "sample_test_accuracy": Field("real", 0, 1, null=True),
    "nll": NOT_NEGATIVE,
    "brier": Field("real", 0, 2),
    "ece": SHARE,
    "final_ce": NOT_NEGATIVE,
    **COMMON_METRICS,
}
REGRESSION_METRICS = {
    "train_rmse": Field("real", 0, null=True),
    "test_rmse": Field("real", 0, null=True),
    "sample_train_rmse": Field("real", 0, null=True),
    "sample_test_rmse": Field("real", 0, null=True),
    "nll": LOSS,
    "coverage_50": SHARE,
    "coverage_90": SHARE,
    "coverage_95": SHARE,
    "noise_sigma": Field("real", 0, null=True),  # null: σ varies with the input (heteroscedastic)
    "final_nll": LOSS,
    **COMMON_METRICS,
}
# Recorded since a later version: a run saved before may lack them.
LATER_METRICS = {
    "train_rows": ROWS,
    "held_out_rows": Field("whole", 0, MAX_ROWS),
    "baseline_nll": NOT_NEGATIVE,
    "baseline_accuracy": SHARE,
    "baseline_rmse": Field("real", 0, null=True),
    "converged": Field("switch", null=True),
    "convergence_note": Field("text"),
    "final_lr": Field("real", 0, null=True),
    "kl_weight_used": Field("real", 0, null=True),
    "bayes_parameters": Field("whole", 1),
}


def check_metrics(metrics: Mapping[str, Any], task: str) -> None:
    """Refuse a ``metrics.json`` whose fields are missing, unknown, of the wrong kind or out of range for a run of
    ``task`` ("classification" or "regression")."""
    fields = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    known = {**fields, **{name: field for name, field in LATER_METRICS.items() if name != _other_baseline(task)}}
    _check_known(metrics, known, f"a {task} run's metrics")
    missing = [name for name in fields if name not in metrics]
    if missing:
        raise BNNInputError(f"the field {missing[0]} is missing.")
    for name, value in metrics.items():
        known[name].check(name, value)


def _other_baseline(task: str) -> str:
    return "baseline_rmse" if task == "classification" else "baseline_accuracy"


def _check_known(content: Mapping[str, Any], known: Mapping[str, Any], what: str) -> None:
    unknown = [name for name in content if name not in known]
    if unknown:
        raise BNNInputError(f"the field {quoted(unknown[0])} is not among {what}; this version writes no such field.")


# ------------------------------------------------------------------------------------------------ config.json

CONFIG_EXTRAS = {  # config.json's fields beside the settings, each checked by check_config
    "format_version", "feature_names", "class_names", "scaler", "target_scaler", "label_column", "ignored_columns",
    "versions",
}  # fmt: skip


def check_config(raw: Mapping[str, Any]) -> None:
    """Refuse a ``config.json`` with an unknown field, a setting of the wrong JSON type (its range is the settings
    schema's to check, when the config is built), or names, a scaler, a label column or versions that are not
    what a run writes."""
    _check_known(raw, {*SETTINGS, *CONFIG_EXTRAS}, "a run's settings and names")
    for name, setting in SETTINGS.items():
        if name in raw:
            _check_setting_type(setting, raw[name])
    names(raw, "feature_names", 1, MAX_FEATURES)
    if raw.get("class_names") != []:  # a regression run has none
        names(raw, "class_names", 2, MAX_CLASSES)
    for key in ("scaler", "target_scaler"):
        _check_scaler_type(key, raw.get(key))
    Field("text", null=True).check("label_column", raw.get("label_column"))
    _check_names("ignored_columns", raw.get("ignored_columns", []))
    versions = raw.get("versions", {})
    if not isinstance(versions, dict) or not all(Field("text").fits(v) for v in versions.values()):
        raise BNNInputError(f"versions must map package names to version texts, got {quoted(versions)}.")


def _check_setting_type(setting: Setting, value: Any) -> None:
    """A setting's JSON type, exactly: a whole number for an integer setting (50.0 is refused), a list of whole
    numbers for the hidden layers, text for a word, and a number (or "F/N") for the rest."""
    if isinstance(setting.default, tuple):
        if isinstance(value, list) and all(_whole(item) for item in value):
            return
        raise BNNInputError(f"{setting.name} must be a list of whole numbers of units, got {quoted(value)}.")
    if setting.kind is str:
        Field("text").check(setting.name, value)
    elif setting.per_row and isinstance(value, str):
        return  # "1/N": the settings schema reads it
    elif setting.kind is int:
        Field("whole").check(setting.name, value)
    else:
        Field("real").check(setting.name, value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def names(raw: Mapping[str, Any], key: str, fewest: int, most: int) -> tuple[str, ...]:
    """``raw[key]`` as names: a list of ``fewest`` to ``most`` distinct texts of at most MAX_NAME_CHARS each."""
    value = raw.get(key)
    if not isinstance(value, list) or not fewest <= len(value) <= most:
        raise BNNInputError(f"{key} must be a list of {fewest} to {most:,} names, got {quoted(value)}.")
    _check_names(key, value)
    if len(set(value)) != len(value):
        raise BNNInputError(f"{key} must not repeat a name.")
    return tuple(value)


def _check_names(key: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise BNNInputError(f"{key} must be a list of names, got {quoted(value)}.")
    longest = max(map(len, value), default=0)
    if longest > MAX_NAME_CHARS:
        raise BNNInputError(f"{key} holds a name of {longest:,} characters; a name is at most {MAX_NAME_CHARS:,}.")


def _check_scaler_type(key: str, value: Any) -> None:
    """A scaler is null or ``{"mean": [numbers], "std": [numbers]}``: JSON numbers, not texts of numbers."""
    if value is None:
        return
    if not isinstance(value, dict) or set(value) != {"mean", "std"}:
        raise BNNInputError(f'{key} must be null or {{"mean": [...], "std": [...]}}, got {quoted(value)}.')
    for part in ("mean", "std"):
        numbers = value[part]
        if not isinstance(numbers, list) or not all(Field("real").fits(number) for number in numbers):
            raise BNNInputError(f"{key} {part}s must be a list of finite numbers, got {quoted(numbers)}.")


# ------------------------------------------------------------------------------------------------ history.csv

HISTORY_COLUMNS = ("ce", "kl", "total", "train_accuracy")  # after an optional "step" column


def read_history(file: Path, shown: Path, task: str) -> np.ndarray:
    """``history.csv`` as (steps, 4) float64: ce, kl, total, train_accuracy (a regression run's RMSE), every value a
    finite number (an accuracy a share), in at most as many rows as a run has epochs."""
    check_size(file, shown)
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False, nrows=int(STEPS.high) + 1)  # one too many
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise BNNInputError(f"{shown} could not be read ({err}).") from None
    expected = [*(["step"] if "step" in table.columns else []), *HISTORY_COLUMNS]
    if list(table.columns) != expected:
        raise BNNInputError(f"{shown} must have the columns {', '.join(expected)}, got {quoted(list(table.columns))}.")
    if len(table) > STEPS.high:
        raise BNNInputError(f"{shown} has more than {STEPS.high:,.0f} rows, the most epochs a run has.")
    values = pd.DataFrame({c: pd.to_numeric(table[c], errors="coerce") for c in HISTORY_COLUMNS}).to_numpy()
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        cell = table[HISTORY_COLUMNS[column]].iloc[row]
        raise BNNInputError(
            f"{shown}: row {row + 1}, column {HISTORY_COLUMNS[column]} holds {quoted(cell)}, not a finite number."
        )
    score = values[:, 3]
    if task == "classification" and not ((score >= 0) & (score <= 1)).all():
        raise BNNInputError(f"{shown}: every train_accuracy must be from 0 to 1.")
    return values
