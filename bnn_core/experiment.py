"""One run, end to end: split → build → fit → sample → uncertainty and metrics.

The command line and the dashboard both call :func:`train_run`, so a run made
in the browser and one made in a terminal are the same computation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import RunConfig
from .data import Dataset, PreparedData, prepare
from .model import bayes_layers, build_bnn, build_twin
from .sample import sample_probs, twin_probs
from .seeds import INIT, TRAIN_NOISE, TWIN_INIT, stream_seed
from .train import FitResult, ProgressCallback, fit
from .uncertainty import PointUncertainty, accuracy, brier, ece, nll, point_uncertainty


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What S posterior samples say about each of the N rows.

    Shape: ``first_draw`` (N, C), the probabilities of posterior draw #0.
    """

    uncertainty: PointUncertainty
    first_draw: torch.Tensor


# Rows per chunk keep S × rows × C probabilities near 16M floats (64 MB), whatever S and N are.
_EVALUATION_FLOATS = 2**24


def posterior_uncertainty(
    model: nn.Sequential, x: torch.Tensor, samples: int, seed: int
) -> tuple[PointUncertainty, torch.Tensor]:
    """Uncertainty of every row of ``x`` (N, D) from draws ``0 … samples − 1``, and draw #0's probabilities (N, C).

    Rows are processed in chunks, so memory stays bounded for large inputs; draws are
    addressable, so chunking does not change any number.
    """
    n_classes = bayes_layers(model)[-1].out_features
    rows = max(1, _EVALUATION_FLOATS // (samples * n_classes))
    parts, first = [], []
    for start in range(0, len(x), rows):
        probs = sample_probs(model, x[start : start + rows], samples, seed)  # (S, rows, C)
        parts.append(point_uncertainty(probs))
        first.append(probs[0])
    return PointUncertainty.concatenate(parts), torch.cat(first)


def evaluate(model: nn.Sequential, data: PreparedData, samples: int, seed: int) -> Evaluation:
    """Draw samples ``0 … samples − 1`` on every row and measure each row's uncertainty."""
    uncertainty, first_draw = posterior_uncertainty(model, data.x, samples, seed)
    return Evaluation(uncertainty=uncertainty, first_draw=first_draw)


def run_metrics(evaluation: Evaluation, data: PreparedData, fitted: FitResult) -> dict[str, float | int | str | None]:
    """The run's headline numbers (the keys of ``metrics.json``).

    Accuracies use the posterior mean; ``sample_*_accuracy`` use draw 0 alone.
    NLL, Brier and ECE are measured on the test rows, or on the training rows
    when the test share is 0 (``metrics_on`` says which).
    """
    mean_probs, labels = evaluation.uncertainty.mean_probs, data.y
    one_draw = evaluation.first_draw
    train, test = data.train_mask, data.test_mask
    held_out = test if data.has_test else train
    return {
        "train_accuracy": accuracy(mean_probs[train], labels[train]),
        "test_accuracy": accuracy(mean_probs[test], labels[test]) if data.has_test else None,
        "sample_train_accuracy": accuracy(one_draw[train], labels[train]),
        "sample_test_accuracy": accuracy(one_draw[test], labels[test]) if data.has_test else None,
        "nll": nll(mean_probs[held_out], labels[held_out]),
        "brier": brier(mean_probs[held_out], labels[held_out]),
        "ece": ece(mean_probs[held_out], labels[held_out]),
        "metrics_on": "test" if data.has_test else "train",
        "final_ce": float(fitted.history.ce[-1]),
        "final_kl": float(fitted.history.kl[-1]),
        "train_seconds": fitted.train_seconds,
        "steps": fitted.steps,
        "engine": fitted.engine,
    }


@dataclass(frozen=True, eq=False)
class TrainedRun:
    """A trained Bayesian network with its data, history, samples and metrics."""

    config: RunConfig
    data: PreparedData
    model: nn.Sequential
    fit: FitResult
    evaluation: Evaluation
    metrics: dict[str, float | int | str | None]


def train_run(
    dataset: Dataset,
    config: RunConfig,
    on_progress: ProgressCallback | None = None,
    progress_every: int | None = None,
) -> TrainedRun:
    """Split ``dataset``, train a Bayesian network on its training rows and evaluate it on all rows.

    Everything random follows ``config.seed`` (one independent stream each for the
    split, the initial weights, the training noise and the posterior draws). The
    returned config names the dataset actually used. If ``on_progress`` stops the run
    early, the result has ``fit.cancelled`` set and holds the partly trained model.
    """
    config = replace(config, data=replace(config.data, dataset=dataset.name))  # record what was trained on
    data = prepare(dataset, config.data, config.seed)
    model = build_bnn(dataset.n_features, dataset.n_classes, config.model, stream_seed(config.seed, INIT))
    train = data.train_mask
    noise_seed = stream_seed(config.seed, TRAIN_NOISE)
    fitted = fit(model, data.x[train], data.y[train], config.train, noise_seed, on_progress, progress_every)
    evaluation = evaluate(model, data, config.samples, config.seed)
    return TrainedRun(config, data, model, fitted, evaluation, run_metrics(evaluation, data, fitted))


@dataclass(frozen=True, eq=False)
class TwinRun:
    """The deterministic twin of a run: same shape, data, epochs and optimiser, plain ``nn.Linear`` layers.

    Shape: ``probs`` (N, C), softmax on every row of the run's data.
    """

    model: nn.Sequential
    fit: FitResult
    probs: torch.Tensor


def train_twin(run: TrainedRun, on_progress: ProgressCallback | None = None) -> TwinRun:
    """Train the run's deterministic twin on the same training rows with the same epochs and learning rate.

    Its loss is the cross-entropy alone: a plain network has no KL term.
    """
    dataset, data = run.data.dataset, run.data
    twin = build_twin(dataset.n_features, dataset.n_classes, run.config.model, stream_seed(run.config.seed, TWIN_INIT))
    train = data.train_mask
    noise_seed = stream_seed(run.config.seed, TRAIN_NOISE)
    fitted = fit(twin, data.x[train], data.y[train], run.config.train, noise_seed, on_progress)
    return TwinRun(model=twin, fit=fitted, probs=twin_probs(twin, data.x))


PREDICTION_COLUMNS = ("split", "label", "predicted", "entropy", "aleatoric", "epistemic", "variation_ratio")


def _feature_column(name: str) -> str:
    """A feature's column name in predictions.csv; prefixed only when it would clash with an output column."""
    clashes = name in PREDICTION_COLUMNS or name == "predicted_std" or name.startswith("p_")
    return f"feature_{name}" if clashes else name


def predictions_frame(data: PreparedData, uncertainty: PointUncertainty) -> pd.DataFrame:
    """One row per point: split, raw features, label, predicted, p_<class>, and its uncertainty."""
    dataset = data.dataset
    names = np.asarray(dataset.class_names, dtype=object)
    columns: dict[str, object] = {"split": np.where(data.is_test, "test", "train")}
    for j, feature in enumerate(dataset.feature_names):
        columns[_feature_column(feature)] = dataset.x[:, j]
    columns["label"] = names[dataset.y]
    columns["predicted"] = names[uncertainty.predicted.numpy()]
    for c, class_name in enumerate(dataset.class_names):
        columns[f"p_{class_name}"] = uncertainty.mean_probs[:, c].numpy()
    columns["entropy"] = uncertainty.entropy.numpy()
    columns["aleatoric"] = uncertainty.aleatoric.numpy()
    columns["epistemic"] = uncertainty.epistemic.numpy()
    columns["variation_ratio"] = uncertainty.variation_ratio.numpy()
    columns["predicted_std"] = uncertainty.predicted_std.numpy()
    return pd.DataFrame(columns)
