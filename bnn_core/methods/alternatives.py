"""The alternatives a practitioner would pick instead of a mean-field BNN, trained on the same data, split and shape.

Every method ends as a :class:`Predictor`: S predictive distributions per point, (S, N, C), so that the
uncertainty split (:func:`~bnn_core.posterior.uncertainty.point_uncertainty`), the maps
and the metrics treat them alike.

- ``bnn``: the run's own torchbnn network, S posterior draws (Blundell et al. 2015).
- ``plain``: the deterministic twin, one softmax (S = 1): all its entropy is aleatoric.
- ``dropout``: MC dropout (Gal & Ghahramani 2016): a plain network trained with dropout on its hidden units, on
  the compiled loop, and kept dropping at prediction, T masks.
- ``ensemble``: a deep ensemble (Lakshminarayanan et al. 2017): M plain networks from M initialisations.
- ``hmc``: a reference posterior from NUTS (:mod:`bnn_core.methods.hmc`), for small networks.

A regression run's methods are in :mod:`bnn_core.methods.regression`; MC dropout's training serves both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..compiled import noise
from ..engine.fast import Dropout
from ..engine.train import Progress, ProgressCallback, fit
from ..errors import BNNInputError
from ..experiment import TrainedRun, train_twin
from ..model.likelihood import Categorical, Likelihood
from ..model.network import ACTIVATIONS, NetworkSpec, Params
from ..posterior.regression import likelihood_for
from ..posterior.sample import sample_probs, twin_probs
from ..seeds import DROPOUT_INIT, DROPOUT_MASKS, ENSEMBLE, LAPLACE_DRAWS, TRAIN_NOISE, TWIN_INIT, stream_seed
from .hmc import HMCConfig, HMCPosterior, HMCProgress, run_hmc
from .laplace import fit_laplace, predictive_probs
from .options import MethodNames, MethodsConfig
from .references import shipped_reference

_PREDICTION_MASKS = 1 << 40  # masks for prediction start this far into the mask stream, away from training's


@dataclass(frozen=True, eq=False)
class Predictor(MethodNames):
    """One trained method: ``probs(x)`` gives S predictive distributions (S, N, C) for inputs x (N, D), scaled."""

    method: str  # a key of METHODS
    train_seconds: float  # the optimisation (or sampling) alone
    probs: Callable[[torch.Tensor], torch.Tensor]
    detail: str = ""  # what a reader needs to know about this method's result, e.g. "5 members"


def bnn_predictor(run: TrainedRun) -> Predictor:
    """The run's own posterior: draws 0 … S − 1 of its sample stream, as every other page uses."""
    samples, seed = run.config.samples, run.config.seed
    return Predictor(
        "bnn", run.fit.train_seconds, lambda x: sample_probs(run.model, x, samples, seed), f"{samples} samples"
    )


def plain_predictor(twin: nn.Module, seconds: float) -> Predictor:
    """The deterministic twin as a predictor of one sample (1, N, C)."""
    return Predictor("plain", seconds, lambda x: twin_probs(twin, x).unsqueeze(0), "one network")


def ensemble_predictor(members: list[nn.Module], seconds: float) -> Predictor:
    """M plain networks, each one sample (M, N, C)."""
    return Predictor(
        "ensemble",
        seconds,
        lambda x: torch.stack([twin_probs(member, x) for member in members]),
        f"{len(members)} members",
    )


def plain_method(run: TrainedRun, on_progress: ProgressCallback | None = None) -> Predictor | None:
    """Train the run's deterministic twin (:func:`~bnn_core.experiment.train_twin`); None if stopped."""
    twin = train_twin(run, on_progress)
    return None if twin.fit.cancelled else plain_predictor(twin.model, twin.fit.train_seconds)


def ensemble_keys(seed: int, members: int) -> list[int]:
    """Initial-weight keys of the M members: member 0 is the twin's own, so the plain network is one of them."""
    return [stream_seed(seed, TWIN_INIT)] + [stream_seed(stream_seed(seed, ENSEMBLE), m) for m in range(1, members)]


def train_ensemble(run: TrainedRun, keys: list[int], on_progress: ProgressCallback | None = None) -> Predictor | None:
    """Train one plain network per initial-weight key, each as the twin is trained; None if stopped.

    Progress counts the members' steps end to end: member m's step t is step m·epochs + t of M·epochs.
    """
    spec = _plain_spec(run)
    x, y = run.data.x[run.data.train_mask], run.data.y[run.data.train_mask]
    epochs = run.config.train.epochs
    members, seconds = [], 0.0
    for index, key in enumerate(keys):
        member = spec.build(spec.init(key))
        fitted = fit(member, x, y, run.config.train, key, offset_progress(on_progress, index, len(keys), epochs))
        if fitted.cancelled:
            return None
        members.append(member)
        seconds += fitted.train_seconds
    return ensemble_predictor(members, seconds)


def offset_progress(on_progress: ProgressCallback | None, index: int, count: int, epochs: int) -> ProgressCallback:
    """``on_progress`` for the ``index``-th of ``count`` trainings of ``epochs`` steps each, counted end to end."""

    def report(progress: Progress) -> bool | None:
        if on_progress is None:
            return None
        return on_progress(replace(progress, step=index * epochs + progress.step, epochs=count * epochs))

    return report


def _plain_spec(run: TrainedRun) -> NetworkSpec:
    """:func:`plain_spec` of a classification run; the classification methods below refuse a regression."""
    if run.task != "classification":
        raise BNNInputError("The alternatives are compared on classification runs; this run is a regression.")
    return plain_spec(run)


def plain_spec(run: TrainedRun) -> NetworkSpec:
    """The run's network shape without weight noise: C logits, or a regression's mean (and log σ)."""
    dataset = run.data.dataset
    outputs = run.likelihood.n_outputs(dataset.n_classes)
    return NetworkSpec.for_data(dataset.n_features, outputs, run.config.model, bayesian=False)


class DropoutNetwork(nn.Module):
    """A plain network trained with dropout (:func:`train_dropout`), kept dropping hidden units at prediction.

    Prediction draws one mask per sample and shares it across the rows, so each sample is one coherent network (a
    map of sample k is one function, as for the BNN). Kept units are scaled by 1 / (1 − p), so the expected
    activation is unchanged. ``likelihood`` is what the outputs mean: logits, or a regression's mean (and log σ(x))
    with its trained noise σ.
    """

    def __init__(self, spec: NetworkSpec, params: Params, p: float, likelihood: Likelihood) -> None:
        super().__init__()
        self.spec, self.p, self.likelihood = spec, p, likelihood
        self.register_buffer("flat", torch.from_numpy(params.mu.astype(np.float32)))

    def forward(self, x: torch.Tensor, masks: list[torch.Tensor]) -> torch.Tensor:
        """Outputs (S, N, K) for inputs x (N, D), with one mask per hidden layer, each (S, N or 1, units)."""
        activate = ACTIVATIONS[self.spec.activation].module()
        h = x.unsqueeze(0)  # (1, N, D)
        layers = self.spec.split(self.flat)
        for index, (weight, bias) in enumerate(layers):
            h = h @ weight.T + bias  # (S, N, out)
            if index < len(layers) - 1:
                h = activate(h) * masks[index]
        return h

    def masks(self, rows: int, samples: int, key: int, first: int) -> list[torch.Tensor]:
        """Scaled keep-masks, (samples, rows, units) per hidden layer, from positions ``first…`` of stream ``key``."""
        out, position = [], first
        for width in self.spec.sizes[1:-1]:
            count = samples * rows * width
            uniforms = torch.from_numpy(noise.uniforms(key, position, count).astype(np.float32))
            keep = (uniforms >= self.p).to(torch.float32) / (1.0 - self.p)
            out.append(keep.view(samples, rows, width))
            position += count
        return out

    @torch.no_grad()
    def sample_outputs(self, x: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
        """Outputs (S, N, K) of S masked networks on x (N, D): masks 0 … S − 1 of the prediction part of the run's
        mask stream, the same every call."""
        masks = self.masks(1, samples, stream_seed(seed, DROPOUT_MASKS), _PREDICTION_MASKS)
        return self(x, masks)


def train_dropout(
    run: TrainedRun,
    p: float,
    on_progress: ProgressCallback | None = None,
    init_key: int | None = None,
) -> tuple[DropoutNetwork, float] | None:
    """Train an MC-dropout network on the run's training rows, on the compiled loop the BNN and the plain network
    train on: full batch, the run's Adam steps and learning-rate schedule, and the run's data term (cross-entropy, or
    the Gaussian likelihood of the run's noise model, a learned σ trained alongside from the run's start), with every
    hidden unit of every row dropped with probability p, masks from the run's dropout stream.

    ``init_key`` picks the initial weights (default: the run's dropout stream). Returns the network and the
    seconds its optimisation took, or None if ``on_progress`` stopped it. With p = 0 this is the plain network,
    step for step: the same loop without masks.
    """
    likelihood = likelihood_for(run.config, run.data)  # a fresh one: the run's own keeps its trained σ
    spec = _dropout_spec(run, likelihood)
    key = stream_seed(run.config.seed, DROPOUT_INIT) if init_key is None else init_key
    model = spec.build(spec.init(key))
    x, y = run.data.x[run.data.train_mask], run.data.y[run.data.train_mask]
    dropout = Dropout(p, stream_seed(run.config.seed, DROPOUT_MASKS))
    # The noise key is the twin's; a plain network draws no weight noise from it.
    noise_key = stream_seed(run.config.seed, TRAIN_NOISE)
    fitted = fit(model, x, y, run.config.train, noise_key, on_progress, likelihood=likelihood, dropout=dropout)
    if fitted.cancelled:
        return None
    return DropoutNetwork(spec, spec.pack(model), p, likelihood), fitted.train_seconds


def _dropout_spec(run: TrainedRun, likelihood: Likelihood) -> NetworkSpec:
    """The plain network of the run's shape with the outputs ``likelihood`` reads: classes, or 1 or 2 (regression)."""
    dataset = run.data.dataset
    n_outputs = likelihood.n_outputs(dataset.n_classes)
    return NetworkSpec.for_data(dataset.n_features, n_outputs, run.config.model, bayesian=False)


def dropout_predictor(network: DropoutNetwork, samples: int, seed: int, seconds: float) -> Predictor:
    """T dropout masks per prediction, from the prediction part of the run's mask stream: the same every call."""

    def probs(x: torch.Tensor) -> torch.Tensor:
        return network.sample_outputs(x, samples, seed).softmax(dim=-1)

    detail = f"p = {network.p:g}, T = {samples}"
    return Predictor("dropout", seconds, probs, detail)


def dropout_method(
    run: TrainedRun, config: MethodsConfig, on_progress: ProgressCallback | None = None
) -> Predictor | None:
    """Train MC dropout with the configured p and predict with T masks; None if stopped."""
    _plain_spec(run)  # refuses a regression before training anything: the predictor gives class probabilities
    trained = train_dropout(run, config.dropout_p, on_progress)
    if trained is None:
        return None
    network, seconds = trained
    return dropout_predictor(network, config.dropout_samples, run.config.seed, seconds)


def ensemble_method(
    run: TrainedRun, config: MethodsConfig, on_progress: ProgressCallback | None = None
) -> Predictor | None:
    """Train the deep ensemble of M members with seeds derived from the run's; None if stopped."""
    return train_ensemble(run, ensemble_keys(run.config.seed, config.ensemble_members), on_progress)


def laplace_predictor(run: TrainedRun, twin: nn.Module, twin_seconds: float) -> Predictor:
    """The Laplace approximation around the run's trained plain twin (:mod:`bnn_core.methods.laplace`): its GLM
    predictive, S weight draws from the run's own stream, the same on every call. Its time is the twin's training
    and the curvature's.

    Raises:
        BNNInputError: the network is too large for a dense covariance even on its last layer.
    """
    spec = _plain_spec(run)
    x, y = run.data.x[run.data.train_mask], run.data.y[run.data.train_mask]
    theta = torch.from_numpy(spec.pack(twin).mu)
    posterior = fit_laplace(spec, theta, x, y, Categorical())
    probs = predictive_probs(posterior, run.config.samples, stream_seed(run.config.seed, LAPLACE_DRAWS))
    detail = f"{posterior.sub.structure}, δ = {posterior.prior_precision:.3g}, {run.config.samples} draws"
    return Predictor("laplace", twin_seconds + posterior.seconds, probs, detail)


def laplace_method(run: TrainedRun, on_progress: ProgressCallback | None = None) -> Predictor | None:
    """Train the run's plain twin, then fit the Laplace approximation around it; None if stopped."""
    _plain_spec(run)  # refuses a regression before training anything
    twin = train_twin(run, on_progress)
    return None if twin.fit.cancelled else laplace_predictor(run, twin.model, twin.fit.train_seconds)


def method_epochs(method: str, run: TrainedRun, config: MethodsConfig) -> int:
    """Steps a method's training reports progress over (the ensemble's members end to end)."""
    return run.config.train.epochs * (config.ensemble_members if method == "ensemble" else 1)


def hmc_detail(posterior: HMCPosterior) -> str:
    """The draws and how well the chains mixed, for a table's settings column."""
    return f"{len(posterior.samples)} draws, R-hat ≤ {posterior.rhat_max:.3f}, ESS ≥ {posterior.ess_min:.0f}"


def hmc_predictor(posterior: HMCPosterior) -> Predictor:
    """An HMC reference as a predictor: its S kept draws (every chain's)."""
    return Predictor("hmc", posterior.seconds, posterior.probs, hmc_detail(posterior))


def hmc_method(
    run: TrainedRun, config: HMCConfig | None = None, on_progress: ProgressCallback | None = None
) -> Predictor | None:
    """The run's HMC reference: the shipped one for these settings, else sampled now; None if stopped.

    Progress counts iterations of all chains end to end (its losses are 0: a sampler has none).

    Raises:
        BNNInputError: the network or the data is too large for HMC.
    """
    _plain_spec(run)  # refuses a regression
    config = config or HMCConfig()
    shipped = shipped_reference(run.config, config)
    if shipped is not None:
        return hmc_predictor(shipped)
    posterior = run_hmc(run.data, run.config, config, sampling_progress(on_progress))
    return None if posterior is None else hmc_predictor(posterior)


def sampling_progress(on_progress: ProgressCallback | None) -> Callable[[HMCProgress], bool | None] | None:
    """A training progress callback as HMC's: iterations of all chains end to end are its steps, its losses 0."""
    if on_progress is None:
        return None

    def report(p: HMCProgress) -> bool | None:
        step, total = p.chain * p.iterations + p.iteration, p.chains * p.iterations
        return on_progress(Progress(step, total, 0.0, 0.0, 0.0, 0.0, p.elapsed))

    return report


def train_method(
    run: TrainedRun, method: str, config: MethodsConfig, on_progress: ProgressCallback | None = None
) -> Predictor | None:
    """Any method of :data:`METHODS` for this run (the BNN is the run itself); None if stopped.

    Raises:
        BNNInputError: the method does not apply to this run (a regression, whose methods are
            :func:`~bnn_core.methods.regression.train_regression_method`; HMC for a large network).
    """
    _plain_spec(run)  # refuses a regression
    if method == "bnn":
        return bnn_predictor(run)
    if method == "plain":
        return plain_method(run, on_progress)
    if method == "dropout":
        return dropout_method(run, config, on_progress)
    if method == "ensemble":
        return ensemble_method(run, config, on_progress)
    if method == "laplace":
        return laplace_method(run, on_progress)
    return hmc_method(run, on_progress=on_progress)
