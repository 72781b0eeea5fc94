"""A saved run back as the :class:`~bnn_core.experiment.TrainedRun` that :func:`~bnn_core.experiment.train_run`
returned: its data and split, model, training history, posterior evaluation and metrics, without training.

A run folder is self-contained: ``predictions.csv`` holds every row's raw features, label
and split, so a run trained on a CSV (by the command line, say) comes back with its data.
The posterior evaluation is recomputed from the weights; posterior draws are addressable
by index, so it equals the one computed after training, to the bit. Its cost (rows × samples × weights) is
checked first, against :data:`~bnn_core.limits.MAX_RESTORE_COST`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..data.datasets import Dataset
from ..data.prepared import PreparedData, Scaler, model_inputs
from ..engine.schedule import Verdict
from ..engine.train import FitResult, History
from ..errors import BNNInputError
from ..experiment import TrainedRun
from ..limits import MAX_RESTORE_COST, MAX_ROWS
from ..model.likelihood import Gaussian
from ..model.network import n_bayes_parameters
from ..posterior.evaluation import evaluate
from ..posterior.regression import evaluate_regression
from .export import feature_column
from .loading import LoadedRun, load_run
from .schema import check_size
from .store import HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE


def restore_run(run_dir: str | Path) -> TrainedRun:
    """Read the run in ``run_dir`` (checked as :func:`~bnn_core.runs.store.load_run` checks it) as a whole run.

    Raises:
        BNNInputError: a file is missing, unreadable or inconsistent with ``config.json``.
    """
    loaded = load_run(run_dir)
    dataset, is_test = _dataset(loaded)
    fitted = _fit_result(loaded)
    _check_cost(loaded, dataset.n_rows)
    config = loaded.config
    data = PreparedData(
        dataset=dataset,
        config=config.data,
        is_test=is_test,
        scaler=loaded.scaler,
        x=model_inputs(dataset.x, loaded.scaler, dataset.n_features),
        y=_network_targets(dataset, loaded.target_scaler),
        target_scaler=loaded.target_scaler,
    )
    if isinstance(loaded.likelihood, Gaussian):
        evaluation = evaluate_regression(loaded.model, loaded.likelihood, data, config.samples, config.seed)
    else:
        evaluation = evaluate(loaded.model, data, config.samples, config.seed)
    return TrainedRun(config, data, loaded.model, fitted, evaluation, _metrics(loaded, is_test), loaded.likelihood)


def _check_cost(loaded: LoadedRun, n_rows: int) -> None:
    """Refuse a run whose posterior would take too long to recompute: rows × samples × weights."""
    weights = n_bayes_parameters(loaded.model)
    cost = n_rows * loaded.config.samples * weights
    if cost > MAX_RESTORE_COST:
        raise BNNInputError(
            f"{loaded.path} would take {n_rows:,} rows × {loaded.config.samples:,} samples × {weights:,} weights = "
            f"{cost:.1e} steps to restore, more than the {MAX_RESTORE_COST:.0e} a restore may take; read it with "
            "python -m bnn_core show, or retrain with fewer samples or a smaller network."
        )


def _metrics(loaded: LoadedRun, is_test: np.ndarray) -> dict:
    """The run's metrics, with the counts a run saved before they were recorded lacks, from its data and weights."""
    known = {
        "train_rows": int((~is_test).sum()),
        "held_out_rows": int(is_test.sum()) or int((~is_test).sum()),
        "bayes_parameters": n_bayes_parameters(loaded.model),
    }
    return {**known, **loaded.metrics}


def _network_targets(dataset: Dataset, target_scaler: Scaler | None) -> torch.Tensor:
    """The labels (N,) int64, or a regression run's targets (N,) float32 as the network saw them."""
    if dataset.task == "classification":
        return torch.from_numpy(dataset.y)
    values = target_scaler.transform(dataset.y[:, None])[:, 0] if target_scaler is not None else dataset.y
    return torch.tensor(values, dtype=torch.float32)


def _dataset(loaded: LoadedRun) -> tuple[Dataset, np.ndarray]:
    """The run's rows from ``predictions.csv``: raw features (N, D), labels or targets (N,) and the held-out mask
    (N,)."""
    shown = loaded.path / PREDICTIONS_FILE
    columns = [feature_column(name, loaded.task) for name in loaded.feature_names]
    target = "target" if loaded.task == "regression" else "label"
    table = _read_csv(loaded.folder / PREDICTIONS_FILE, shown, ["split", *columns, target], {"label": str})
    if len(table) > MAX_ROWS:
        raise BNNInputError(f"{shown} has {len(table):,} rows; the limit is {MAX_ROWS:,}.")
    split = table["split"].to_numpy()
    if not np.isin(split, ("train", "test")).all():
        raise BNNInputError(f"{shown}: the split column must hold only 'train' and 'test'.")
    try:
        x = table[columns].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise BNNInputError(f"{shown}: every feature value must be a number.") from None
    if not np.isfinite(x).all():
        raise BNNInputError(f"{shown}: every feature value must be finite.")
    dataset = Dataset(
        name=loaded.dataset,
        x=x,
        y=_targets(table[target], loaded, shown),
        feature_names=loaded.feature_names,
        class_names=loaded.class_names,
        ignored_columns=loaded.ignored_columns,
        label_column=loaded.label_column,
    )
    return dataset, split == "test"


def _targets(cells: pd.Series, loaded: LoadedRun, shown: Path) -> np.ndarray:
    """The label column as class indices (N,) int64, or the target column as (N,) float64 finite numbers."""
    if loaded.task == "regression":
        values = pd.to_numeric(cells, errors="coerce").to_numpy(np.float64)
        if not np.isfinite(values).all():
            raise BNNInputError(f"{shown}: every target must be a finite number.")
        return values
    known = {name: index for index, name in enumerate(loaded.class_names)}
    unknown = sorted({label for label in cells if label not in known})
    if unknown:
        raise BNNInputError(f"{shown}: labels {unknown[:3]} are not among config.json's class_names.")
    return np.array([known[label] for label in cells], dtype=np.int64)


def _fit_result(loaded: LoadedRun) -> FitResult:
    """The training record: every step's losses from ``history.csv``, the rest from ``metrics.json``."""
    values = loaded.history  # checked against the schema by load_run, as metrics.json is
    if values is None:
        raise BNNInputError(f"{loaded.path / HISTORY_FILE} could not be read (the file is missing).")
    metrics = loaded.metrics
    steps = metrics.get("steps")
    if steps != len(values) or len(values) == 0:
        raise BNNInputError(
            f"{loaded.path / METRICS_FILE} must give steps (the {len(values)} rows of history.csv), train_seconds "
            "and engine."
        )
    history = History(*(values[:, k].copy() for k in range(values.shape[1])))
    verdict = None if metrics.get("converged") is None else Verdict(
        metrics["converged"], steps, metrics.get("convergence_note", "")
    )
    return FitResult(
        history, steps, float(metrics["train_seconds"]), False, metrics["engine"], metrics["engine_note"], verdict,
        metrics.get("final_lr"), metrics.get("kl_weight_used"),
    )  # fmt: skip


def _read_csv(file: Path, shown: Path, columns: list[str], dtypes: dict[str, type]) -> pd.DataFrame:
    check_size(file, shown)
    try:
        table = pd.read_csv(file, dtype=dtypes, keep_default_na=False, nrows=MAX_ROWS + 1)  # one too many
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise BNNInputError(f"{shown} could not be read ({err}).") from None
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise BNNInputError(f"{shown} lacks the columns {missing[:3]}.")
    return table[columns]
