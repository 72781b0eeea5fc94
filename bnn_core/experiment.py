"""One run, end to end: split → build → fit → sample → uncertainty and metrics; and its deterministic twin.

The command line and the dashboard both call :func:`train_run`, so a run made
in the browser and one made in a terminal are the same computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import nn

from .config import RunConfig
from .data.datasets import Dataset
from .data.prepared import PreparedData, prepare
from .engine.train import FitResult, ProgressCallback, fit
from .errors import BNNInputError
from .model.likelihood import Categorical, Likelihood
from .model.network import NetworkSpec
from .posterior.evaluation import Evaluation, evaluate, run_metrics
from .posterior.regression import RegressionEvaluation, evaluate_regression, likelihood_for, regression_metrics
from .posterior.sample import twin_probs
from .seeds import INIT, TRAIN_NOISE, TWIN_INIT, stream_seed


@dataclass(frozen=True, eq=False)
class TrainedRun:
    """A trained Bayesian network with its data, history, samples and metrics.

    ``evaluation`` is per-row uncertainty for classification, predictive bands for regression; ``likelihood``
    says which (and holds a regression run's noise σ).
    """

    config: RunConfig
    data: PreparedData
    model: nn.Sequential
    fit: FitResult
    evaluation: Evaluation | RegressionEvaluation
    metrics: dict[str, float | int | str | None]
    likelihood: Likelihood = field(default_factory=Categorical)

    @property
    def task(self) -> str:
        return self.likelihood.task


def train_run(
    dataset: Dataset,
    config: RunConfig,
    on_progress: ProgressCallback | None = None,
    progress_every: int | None = None,
) -> TrainedRun:
    """Split ``dataset``, train a Bayesian network on its training rows and evaluate it on all rows.

    Everything random follows ``config.seed``, one independent stream each for the split,
    the initial weights, the training noise and the posterior draws (:mod:`bnn_core.seeds`).
    The returned config names the dataset actually used and its task (the dataset's own: classes or a real
    target). If ``on_progress`` stops the run early, the result has ``fit.cancelled`` set and holds the partly
    trained model.
    """
    used = replace(config.data, dataset=dataset.name, task=dataset.task)
    config = replace(config, data=used)  # record what was trained on
    data = prepare(dataset, config.data, config.seed)
    likelihood = likelihood_for(config, data)
    spec = NetworkSpec.for_data(dataset.n_features, likelihood.n_outputs(dataset.n_classes), config.model)
    model = spec.build(spec.init(stream_seed(config.seed, INIT), config.train.sigma_start))
    train = data.train_mask
    noise_key = stream_seed(config.seed, TRAIN_NOISE)
    fitted = fit(model, data.x[train], data.y[train], config.train, noise_key, on_progress, progress_every, likelihood)
    if isinstance(likelihood, Categorical):
        evaluation = evaluate(model, data, config.samples, config.seed)
        metrics = {**run_metrics(evaluation, data, fitted), "bayes_parameters": spec.n_params}
        return TrainedRun(config, data, model, fitted, evaluation, metrics)
    bands = evaluate_regression(model, likelihood, data, config.samples, config.seed)
    metrics = {**regression_metrics(bands, data, fitted, likelihood), "bayes_parameters": spec.n_params}
    return TrainedRun(config, data, model, fitted, bands, metrics, likelihood)


@dataclass(frozen=True, eq=False)
class TwinRun:
    """The deterministic twin of a run: same shape, data, epochs and optimiser, plain ``nn.Linear`` layers.

    Shape: ``probs`` (N, C), softmax on every row of the run's data.
    """

    model: nn.Sequential
    fit: FitResult
    probs: torch.Tensor


def train_twin(
    run: TrainedRun, on_progress: ProgressCallback | None = None, progress_every: int | None = None
) -> TwinRun:
    """Train the run's deterministic twin on the same training rows with the same epochs, learning rate and engine.

    Its loss is the cross-entropy alone: a plain network has no KL term and no weight noise.
    Its initial weights come from the run's own twin stream. If ``on_progress`` stops it
    early, ``fit.cancelled`` is set.
    """
    dataset, data, config = run.data.dataset, run.data, run.config
    if run.task != "classification":
        raise BNNInputError("The plain twin network is trained for classification runs only; this run is a regression.")
    spec = NetworkSpec.for_data(dataset.n_features, dataset.n_classes, config.model, bayesian=False)
    twin = spec.build(spec.init(stream_seed(config.seed, TWIN_INIT)))
    train = data.train_mask
    noise_key = stream_seed(config.seed, TRAIN_NOISE)
    fitted = fit(twin, data.x[train], data.y[train], config.train, noise_key, on_progress, progress_every)
    return TwinRun(model=twin, fit=fitted, probs=twin_probs(twin, data.x))
