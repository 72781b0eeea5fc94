"""Reading a run folder back, with every file checked against the schema and the run's own config.

A missing file, a file over its size limit, invalid or too deeply nested JSON, a field of the wrong type or out
of its range (:mod:`bnn_core.runs.schema`), and weights whose keys, shapes or values do not match the config are
refused with one sentence naming the file and the field. Every file is read from one version of the run, even
while a save replaces it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..config import RunConfig
from ..data.prepared import Scaler, model_inputs
from ..errors import BNNInputError
from ..limits import MAX_CLASSES, MAX_FEATURES
from ..model.likelihood import Categorical, Gaussian, Likelihood
from ..model.network import build_bnn
from ..text import quoted
from .schema import check_config, check_metrics, check_size, names, read_history, read_json
from .store import (
    CONFIG_FILE,
    FORMAT_VERSION,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    NOISE_KEY,
    RUN_FILES,
    STORE,
    UNVERSIONED,
)


@dataclass(frozen=True, eq=False)
class LoadedRun:
    """A run read back from disk, checked against its own config."""

    path: Path
    config: RunConfig
    model: nn.Sequential
    scaler: Scaler | None
    dataset: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    metrics: dict[str, Any]
    folder: Path  # the version folder every file was read from
    label_column: str | None = None  # the CSV column that held the classes (or the target), if the data was a CSV
    ignored_columns: tuple[str, ...] = ()  # text columns of that CSV that were not features
    target_scaler: Scaler | None = None  # regression with scale "standard": the training targets' mean and std
    likelihood: Likelihood = field(default_factory=Categorical)  # regression: Gaussian, with its noise σ
    history: np.ndarray | None = None  # (steps, 4) history.csv: ce, kl, total, train score; None without the file

    @property
    def task(self) -> str:
        return self.likelihood.task

    def inputs(self, raw: np.ndarray) -> torch.Tensor:
        """Raw feature rows (M, D) → the model's float32 inputs (M, D), scaled as in training."""
        return model_inputs(raw, self.scaler, len(self.feature_names))


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read a run directory, refusing a missing, wrong or corrupt file with a clear message.

    Every file comes from one version. If a save replaces the run while it is read (the
    version being read is then deleted), the read starts again on the new version.

    Raises:
        BNNInputError: a file is missing or unreadable, the config is invalid, or the
            weights' keys, shapes or values do not match the config.
    """
    path = Path(run_dir)
    if path.is_file():
        raise BNNInputError(f"{path} is a file; give the run's folder.")
    for _ in range(_READ_ATTEMPTS):
        folder = path.resolve() if path.is_dir() else _recovered(path)
        if folder is None:
            raise BNNInputError(f"{path} is not a run folder (no such directory).")
        try:
            return _load_version(path, folder)
        except BNNInputError:
            if path.resolve() == folder or not path.is_dir():
                raise  # the run did not change meanwhile: the problem is in its files
    raise BNNInputError(f"{path} was replaced by a new save during each of {_READ_ATTEMPTS} reads; try again.")


_READ_ATTEMPTS = 3


def _recovered(path: Path) -> Path | None:
    """A run saved as a plain folder whose first versioned save was killed before its link was made, or None."""
    store = Path(os.path.abspath(path)).parent / STORE / path.name
    moved = sorted(store.glob(f"{UNVERSIONED}*"), key=lambda folder: folder.stat().st_mtime) if store.is_dir() else []
    return moved[-1] if moved else None


def _load_version(path: Path, folder: Path) -> LoadedRun:
    """Read and check the run files in ``folder`` (naming them under ``path`` in messages)."""
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (folder / name).is_file():
            raise BNNInputError(f"{path} is not a complete run: {name} is missing.")
    for name in RUN_FILES:  # every size before any file is read
        if (folder / name).is_file():
            check_size(folder / name, path / name)
    raw = read_json(folder / CONFIG_FILE, path / CONFIG_FILE)
    found = raw.get("format_version")
    if type(found) is not int or found != FORMAT_VERSION:
        raise BNNInputError(
            f"{path / CONFIG_FILE} has format_version {quoted(found)}; this version reads {FORMAT_VERSION}."
        )
    try:
        check_config(raw)
        config = RunConfig.from_flat(raw)
        regression = config.data.task == "regression"
        feature_names = names(raw, "feature_names", 1, MAX_FEATURES)
        class_names = () if regression and raw.get("class_names") == [] else names(raw, "class_names", 2, MAX_CLASSES)
        scaler = _scaler(raw.get("scaler"), len(feature_names))
        target_scaler = _scaler(raw.get("target_scaler"), 1) if regression else None
        standard = config.data.scale == "standard"
        if (scaler is not None) != standard:
            state = "set" if scaler else "null"
            raise BNNInputError(f"scale is {quoted(config.data.scale)} but the scaler is {state}.")
        if regression and (target_scaler is not None) != standard:
            shown = "set" if target_scaler else "null"
            raise BNNInputError(f"scale is {quoted(config.data.scale)} but the target_scaler is {shown}.")
    except BNNInputError as err:
        raise BNNInputError(f"{path / CONFIG_FILE} is invalid: {err}") from None
    metrics = _metrics(folder / METRICS_FILE, path / METRICS_FILE, config.data.task)  # before the weights' work
    history = _history(folder / HISTORY_FILE, path / HISTORY_FILE, config.data.task, metrics)
    likelihood = Gaussian(config.model.noise) if regression else Categorical()
    model = build_bnn(len(feature_names), likelihood.n_outputs(len(class_names)), config.model, seed=0)
    state = _checked_state(folder / MODEL_FILE, path / MODEL_FILE, model, _extra_keys(likelihood))
    if NOISE_KEY in state:
        with torch.no_grad():
            likelihood.log_sigma.copy_(state.pop(NOISE_KEY).double()[0])
    model.load_state_dict(state)
    return LoadedRun(
        path, config, model, scaler, config.data.dataset, feature_names, class_names, metrics, folder,
        raw.get("label_column"), tuple(raw.get("ignored_columns", ())), target_scaler, likelihood, history,
    )  # fmt: skip


def _metrics(file: Path, shown: Path, task: str) -> dict[str, Any]:
    """``metrics.json`` checked against the schema; {} for a run saved without it."""
    if not file.is_file():
        return {}
    metrics = read_json(file, shown)
    try:
        check_metrics(metrics, task)
    except BNNInputError as err:
        raise BNNInputError(f"{shown} is invalid: {err}") from None
    return metrics


def _history(file: Path, shown: Path, task: str, metrics: dict[str, Any]) -> np.ndarray | None:
    """``history.csv`` checked against the schema, one row per step ``metrics.json`` gives; None without it."""
    if not file.is_file():
        return None
    values = read_history(file, shown, task)
    if "steps" in metrics and metrics["steps"] != len(values):
        raise BNNInputError(
            f"{shown} has {len(values):,} row{'s' if len(values) != 1 else ''} but {METRICS_FILE} gives "
            f"{metrics['steps']:,} steps; a run's history has one row per step."
        )
    return values


def _extra_keys(likelihood: Likelihood) -> dict[str, tuple[int, ...]]:
    """The model file's tensors beyond the network's, with their shapes: a regression run's one noise log σ."""
    if isinstance(likelihood, Gaussian) and likelihood.noise != "heteroscedastic":
        return {NOISE_KEY: (1,)}
    return {}


def _scaler(values: Any, n_features: int) -> Scaler | None:
    """A scaler of ``n_features`` means and stds (its JSON types already checked by the schema), or None."""
    if values is None:
        return None
    scaler = Scaler.from_dict(values)
    if scaler.mean.shape != (n_features,) or scaler.std.shape != (n_features,):
        raise BNNInputError(f"scaler needs {n_features} means and stds, one per feature.")
    if not (all(map(math.isfinite, scaler.mean)) and all(s > 0 and math.isfinite(s) for s in scaler.std)):
        raise BNNInputError("scaler means must be finite and its stds finite and above 0.")
    return scaler


def _checked_state(
    file: Path, shown: Path, model: nn.Module, extra: dict[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """Read the weights and check them against the network the config describes, and the ``extra`` tensors."""
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError) as err:
        raise BNNInputError(f"{shown} is corrupt or not a safetensors file ({err}).") from None
    expected = {**model.state_dict(), **{key: torch.empty(shape) for key, shape in extra.items()}}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise BNNInputError(
            f"{shown} does not match config.json: missing {missing or 'nothing'}, unexpected {unexpected or 'nothing'}."
        )
    for key, wanted in expected.items():  # in layer order, so the first mismatch named is the first layer's
        tensor = state[key]
        if tensor.shape != wanted.shape:
            raise BNNInputError(
                f"{shown}: {key} has shape {tuple(tensor.shape)} but config.json implies {tuple(wanted.shape)}."
            )
        # Checked after the float32 cast: a float64 value beyond float32's range becomes inf there.
        if not tensor.is_floating_point() or not torch.isfinite(tensor.to(torch.float32)).all():
            raise BNNInputError(f"{shown}: {key} holds non-finite or non-float values.")
    return {key: tensor if key in extra else tensor.to(torch.float32) for key, tensor in state.items()}
