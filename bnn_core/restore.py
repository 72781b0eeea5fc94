"""A saved run back as the :class:`~bnn_core.experiment.TrainedRun` that :func:`~bnn_core.experiment.train_run`
returned: its data and split, model, training history, posterior evaluation and metrics, without training.

A run folder is self-contained: ``predictions.csv`` holds every row's raw features, label
and split, so a run trained on a CSV (by the command line, say) comes back with its data.
The posterior evaluation is recomputed from the weights; posterior draws are addressable
by index, so it equals the one computed after training, to the bit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .data import MAX_ROWS, Dataset, PreparedData, model_inputs
from .errors import BNNInputError
from .evaluation import evaluate
from .experiment import TrainedRun
from .export import feature_column
from .loading import LoadedRun, load_run
from .runs import HISTORY_FILE, PREDICTIONS_FILE
from .train import FitResult, History

ENGINES = ("fast", "torchbnn")


def restore_run(run_dir: str | Path) -> TrainedRun:
    """Read the run in ``run_dir`` (checked as :func:`~bnn_core.runs.load_run` checks it) as a whole run.

    Raises:
        BNNInputError: a file is missing, unreadable or inconsistent with ``config.json``.
    """
    loaded = load_run(run_dir)
    dataset, is_test = _dataset(loaded)
    config = loaded.config
    data = PreparedData(
        dataset=dataset,
        config=config.data,
        is_test=is_test,
        scaler=loaded.scaler,
        x=model_inputs(dataset.x, loaded.scaler, dataset.n_features),
        y=torch.from_numpy(dataset.y),
    )
    fitted = _fit_result(loaded)
    evaluation = evaluate(loaded.model, data, config.samples, config.seed)
    return TrainedRun(config, data, loaded.model, fitted, evaluation, dict(loaded.metrics))


def _dataset(loaded: LoadedRun) -> tuple[Dataset, np.ndarray]:
    """The run's rows from ``predictions.csv``: raw features (N, D), labels (N,) and the held-out mask (N,)."""
    shown = loaded.path / PREDICTIONS_FILE
    columns = [feature_column(name) for name in loaded.feature_names]
    table = _read_csv(loaded.folder / PREDICTIONS_FILE, shown, ["split", *columns, "label"], {"label": str})
    if len(table) > MAX_ROWS:
        raise BNNInputError(f"{shown} has {len(table):,} rows; the limit is {MAX_ROWS:,}.")
    split = table["split"].to_numpy()
    if not np.isin(split, ("train", "test")).all():
        raise BNNInputError(f"{shown}: the split column must hold only 'train' and 'test'.")
    labels = table["label"].to_numpy()
    known = {name: index for index, name in enumerate(loaded.class_names)}
    unknown = sorted({label for label in labels if label not in known})
    if unknown:
        raise BNNInputError(f"{shown}: labels {unknown[:3]} are not among config.json's class_names.")
    try:
        x = table[columns].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise BNNInputError(f"{shown}: every feature value must be a number.") from None
    if not np.isfinite(x).all():
        raise BNNInputError(f"{shown}: every feature value must be finite.")
    dataset = Dataset(
        name=loaded.dataset,
        x=x,
        y=np.array([known[label] for label in labels], dtype=np.int64),
        feature_names=loaded.feature_names,
        class_names=loaded.class_names,
        ignored_columns=loaded.ignored_columns,
        label_column=loaded.label_column,
    )
    return dataset, split == "test"


def _fit_result(loaded: LoadedRun) -> FitResult:
    """The training record: every step's losses from ``history.csv``, the rest from ``metrics.json``."""
    shown = loaded.path / HISTORY_FILE
    columns = ["ce", "kl", "total", "train_accuracy"]
    values = _read_csv(loaded.folder / HISTORY_FILE, shown, columns, {}).to_numpy(dtype=np.float64)
    metrics = loaded.metrics
    steps, seconds = metrics.get("steps"), metrics.get("train_seconds")
    engine, note = metrics.get("engine"), metrics.get("engine_note", "")
    if not (_whole(steps) and steps == len(values) >= 1 and _real(seconds) and engine in ENGINES and note is not None):
        raise BNNInputError(
            f"{loaded.path / 'metrics.json'} must give steps (the {len(values)} rows of history.csv), "
            f"train_seconds and engine ({' or '.join(ENGINES)})."
        )
    history = History(*(values[:, k].copy() for k in range(len(columns))))
    return FitResult(history, steps, float(seconds), cancelled=False, engine=engine, note=str(note))


def _read_csv(file: Path, shown: Path, columns: list[str], dtypes: dict[str, type]) -> pd.DataFrame:
    try:
        table = pd.read_csv(file, dtype=dtypes, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise BNNInputError(f"{shown} could not be read ({err}).") from None
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise BNNInputError(f"{shown} lacks the columns {missing[:3]}.")
    return table[columns]


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
