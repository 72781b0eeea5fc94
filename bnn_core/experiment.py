"""One run, end to end: split → build → fit → sample → uncertainty and metrics.

The command line and the dashboard both call :func:`train_run`, so a run made
in the browser and one made in a terminal are the same computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import RunConfig
from .data import Dataset, PreparedData, prepare
from .model import build_bnn
from .sample import sample_probs
from .train import FitResult, ProgressCallback, fit
from .uncertainty import PointUncertainty, accuracy, brier, ece, nll, point_uncertainty


@dataclass(frozen=True, eq=False)
class Evaluation:
    """S posterior samples on all N rows and what follows from them.

    Shape: ``probs`` (S, N, C).
    """

    probs: torch.Tensor
    uncertainty: PointUncertainty


def evaluate(model: nn.Sequential, data: PreparedData, samples: int, seed: int) -> Evaluation:
    """Draw samples ``0 … samples − 1`` on every row and measure each row's uncertainty."""
    probs = sample_probs(model, data.x, samples, seed)
    return Evaluation(probs=probs, uncertainty=point_uncertainty(probs))


def run_metrics(evaluation: Evaluation, data: PreparedData, fitted: FitResult) -> dict[str, float | int | str | None]:
    """The run's headline numbers (the keys of ``metrics.json``).

    Accuracies use the posterior mean; ``sample_*_accuracy`` use draw 0 alone.
    NLL, Brier and ECE are measured on the test rows, or on the training rows
    when the test share is 0 (``metrics_on`` says which).
    """
    mean_probs, labels = evaluation.uncertainty.mean_probs, data.y
    one_draw = evaluation.probs[0]
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

    Everything random follows ``config.seed``. If ``on_progress`` stops the run
    early, the result has ``fit.cancelled`` set and holds the partly trained model.
    """
    data = prepare(dataset, config.data, config.seed)
    model = build_bnn(dataset.n_features, dataset.n_classes, config.model, config.seed)
    train = data.train_mask
    fitted = fit(model, data.x[train], data.y[train], config.train, config.seed, on_progress, progress_every)
    evaluation = evaluate(model, data, config.samples, config.seed)
    return TrainedRun(config, data, model, fitted, evaluation, run_metrics(evaluation, data, fitted))


def predictions_frame(data: PreparedData, uncertainty: PointUncertainty) -> pd.DataFrame:
    """One row per point: split, raw features, label, predicted, p_<class>, and its uncertainty."""
    dataset = data.dataset
    names = np.asarray(dataset.class_names, dtype=object)
    table = pd.DataFrame({"split": np.where(data.is_test, "test", "train")})
    for j, feature in enumerate(dataset.feature_names):
        table[feature] = dataset.x[:, j]
    table["label"] = names[dataset.y]
    table["predicted"] = names[uncertainty.predicted.numpy()]
    for c, class_name in enumerate(dataset.class_names):
        table[f"p_{class_name}"] = uncertainty.mean_probs[:, c].numpy()
    table["entropy"] = uncertainty.entropy.numpy()
    table["aleatoric"] = uncertainty.aleatoric.numpy()
    table["epistemic"] = uncertainty.epistemic.numpy()
    table["variation_ratio"] = uncertainty.variation_ratio.numpy()
    return table
