"""The alternatives on a regression run, in one form: S draws of the regression function and of the noise.

Every method ends as a :class:`RegressionPredictor`, whose ``draws(x)`` gives S draws of the mean f(x) (S, N) and
each draw's noise σ (S, N), in the units the network is trained in. The epistemic std is the spread of the S means,
the aleatoric the noise, the total both (:func:`~bnn_core.posterior.regression.bands_from_draws`), for every method
alike.

- ``bnn``: the run's S posterior draws; its noise is the run's (learned, fixed, or predicted per input).
- ``plain``: the deterministic twin trained on the Gaussian NLL, one draw (S = 1): no epistemic part.
- ``dropout``: MC dropout trained on the Gaussian NLL, T masks at prediction.
- ``ensemble``: M plain twins from the initial-weight keys of :func:`~.alternatives.ensemble_keys`, each with its
  own noise σ; member 0 is the plain twin.
- ``laplace``: the GLM predictive around the plain twin, its noise σ held at the twin's (:mod:`.laplace`).
- ``hmc``: NUTS on the same network with the run's fixed noise σ (:mod:`.hmc`), for small networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..engine.train import FitResult, ProgressCallback, fit
from ..errors import BNNInputError
from ..experiment import TrainedRun
from ..model.likelihood import Gaussian
from ..posterior.regression import Bands, bands_from_draws, draws_from_outputs, likelihood_for
from ..posterior.sample import sample_outputs
from ..seeds import LAPLACE_DRAWS, TRAIN_NOISE, TWIN_INIT, stream_seed
from .alternatives import (
    ensemble_keys,
    hmc_detail,
    offset_progress,
    plain_spec,
    sampling_progress,
    train_dropout,
)
from .hmc import HMCConfig, HMCPosterior, run_hmc
from .laplace import fit_laplace
from .options import MethodNames, MethodsConfig
from .references import shipped_reference

Draws = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True, eq=False)
class RegressionPredictor(MethodNames):
    """One trained method: ``draws(x)`` gives S draws of the mean (S, N) and of the noise σ (S, N), float64, for
    scaled inputs x (N, D), in the units the network is trained in."""

    method: str  # a key of METHODS
    train_seconds: float  # the optimisation (or sampling) alone
    draws: Draws
    detail: str = ""  # what a reader needs to know about this method's result, e.g. "5 members"

    def bands(self, x: torch.Tensor) -> Bands:
        """The mean, epistemic and aleatoric std (N,) each at inputs x (N, D), in the units trained in."""
        return bands_from_draws(*self.draws(x))


def outputs_draws(outputs: Callable[[torch.Tensor], torch.Tensor], likelihood: Gaussian) -> Draws:
    """:data:`Draws` from a function giving raw network outputs (S, N, K) and the likelihood that reads them."""
    return lambda x: draws_from_outputs(outputs(x), likelihood)


@dataclass(frozen=True, eq=False)
class RegressionTwin:
    """A plain network trained on a regression run's Gaussian NLL, with its likelihood (a learned σ trained too)."""

    model: nn.Sequential
    likelihood: Gaussian
    fit: FitResult


def train_regression_twin(
    run: TrainedRun, key: int | None = None, on_progress: ProgressCallback | None = None
) -> RegressionTwin:
    """Train a plain network of the run's shape, epochs and optimiser on its training rows, from initial-weight key
    ``key`` (default: the run's twin stream). If ``on_progress`` stops it, ``fit.cancelled`` is set."""
    spec = plain_spec(run)
    model = spec.build(spec.init(stream_seed(run.config.seed, TWIN_INIT) if key is None else key))
    likelihood = likelihood_for(run.config, run.data)  # fresh: a learned σ is trained in place
    train, noise_key = run.data.train_mask, stream_seed(run.config.seed, TRAIN_NOISE)
    fitted = fit(
        model, run.data.x[train], run.data.y[train], run.config.train, noise_key, on_progress, None, likelihood
    )
    return RegressionTwin(model, likelihood, fitted)


def bnn_regression(run: TrainedRun) -> RegressionPredictor:
    """The run's own posterior: draws 0 … S − 1 of its sample stream, as every other page uses."""
    samples, seed = run.config.samples, run.config.seed

    def outputs(x: torch.Tensor) -> torch.Tensor:
        return sample_outputs(run.model, x, samples, seed)

    return RegressionPredictor(
        "bnn", run.fit.train_seconds, outputs_draws(outputs, run.likelihood), f"{samples} samples"
    )


def _one_draw(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """A plain network's outputs (1, N, K) at inputs x (N, D)."""

    @torch.no_grad()
    def outputs(x: torch.Tensor) -> torch.Tensor:
        return model(x).unsqueeze(0)

    return outputs


def plain_regression(twin: RegressionTwin) -> RegressionPredictor:
    """The plain twin: one function (S = 1) and its noise σ."""
    draws = outputs_draws(_one_draw(twin.model), twin.likelihood)
    return RegressionPredictor("plain", twin.fit.train_seconds, draws, "one network")


def ensemble_regression(members: list[RegressionTwin]) -> RegressionPredictor:
    """M plain twins, each one draw with its own noise σ: (M, N) means and σ."""
    each = [outputs_draws(_one_draw(member.model), member.likelihood) for member in members]

    def draws(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        means, sigmas = zip(*(member(x) for member in each), strict=True)
        return torch.cat(means), torch.cat(sigmas)

    seconds = sum(member.fit.train_seconds for member in members)
    return RegressionPredictor("ensemble", seconds, draws, f"{len(members)} members")


def train_regression_ensemble(
    run: TrainedRun, keys: list[int], on_progress: ProgressCallback | None = None
) -> RegressionPredictor | None:
    """One plain twin per initial-weight key, progress counted end to end; None if stopped."""
    members = []
    for index, key in enumerate(keys):
        member = train_regression_twin(
            run, key, offset_progress(on_progress, index, len(keys), run.config.train.epochs)
        )
        if member.fit.cancelled:
            return None
        members.append(member)
    return ensemble_regression(members)


def dropout_regression(
    run: TrainedRun, config: MethodsConfig, on_progress: ProgressCallback | None = None
) -> RegressionPredictor | None:
    """MC dropout on the Gaussian NLL with the configured p, T masks at prediction; None if stopped."""
    trained = train_dropout(run, config.dropout_p, on_progress)
    if trained is None:
        return None
    network, seconds = trained
    samples, seed = config.dropout_samples, run.config.seed
    draws = outputs_draws(lambda x: network.sample_outputs(x, samples, seed), network.likelihood)
    return RegressionPredictor("dropout", seconds, draws, f"p = {network.p:g}, T = {config.dropout_samples}")


def laplace_regression(run: TrainedRun, twin: RegressionTwin) -> RegressionPredictor:
    """The Laplace approximation around the plain twin with its noise σ held fixed: S weight draws from the run's
    own stream through the linearised network, the same on every call.

    Raises:
        BNNInputError: too many weights for a dense covariance, or a heteroscedastic noise model.
    """
    spec = plain_spec(run)
    x, y = run.data.x[run.data.train_mask], run.data.y[run.data.train_mask]
    posterior = fit_laplace(spec, torch.from_numpy(spec.pack(twin.model).mu), x, y, twin.likelihood)
    weights = posterior.weight_draws(run.config.samples, stream_seed(run.config.seed, LAPLACE_DRAWS))
    draws = outputs_draws(lambda inputs: posterior.output_samples(inputs, weights), twin.likelihood)
    detail = f"{posterior.sub.structure}, δ = {posterior.prior_precision:.3g}, {run.config.samples} draws"
    return RegressionPredictor("laplace", twin.fit.train_seconds + posterior.seconds, draws, detail)


def hmc_regression(
    run: TrainedRun, config: HMCConfig | None = None, on_progress: ProgressCallback | None = None
) -> RegressionPredictor | None:
    """The run's HMC reference with its fixed noise σ: shipped for these settings, else sampled now; None if
    stopped.

    Raises:
        BNNInputError: the network or the data is too large for HMC, or the noise σ is not fixed.
    """
    config = config or HMCConfig()
    posterior = shipped_reference(run.config, config) or run_hmc(
        run.data, run.config, config, sampling_progress(on_progress)
    )
    return None if posterior is None else hmc_regression_predictor(posterior, run)


def hmc_regression_predictor(posterior: HMCPosterior, run: TrainedRun) -> RegressionPredictor:
    """An HMC reference of ``run``'s network as a predictor: its S kept draws, with the run's fixed noise σ."""
    draws = outputs_draws(posterior.outputs, run.likelihood)  # the σ in the units trained in, as HMC's
    return RegressionPredictor("hmc", posterior.seconds, draws, hmc_detail(posterior))


def train_regression_method(
    run: TrainedRun, method: str, config: MethodsConfig, on_progress: ProgressCallback | None = None
) -> RegressionPredictor | None:
    """Any method of :data:`METHODS` for a regression run (the BNN is the run itself); None if stopped.

    Raises:
        BNNInputError: the run is a classification, or the method does not apply to it (HMC for a large network or
            a learned σ, Laplace for a heteroscedastic head).
    """
    if run.task != "regression":
        raise BNNInputError("These are the regression methods; this run is a classification.")
    if method == "bnn":
        return bnn_regression(run)
    if method == "dropout":
        return dropout_regression(run, config, on_progress)
    if method == "ensemble":
        return train_regression_ensemble(run, ensemble_keys(run.config.seed, config.ensemble_members), on_progress)
    if method == "hmc":
        return hmc_regression(run, on_progress=on_progress)
    if method == "laplace" and run.likelihood.noise == "heteroscedastic":  # refused before training the twin
        raise BNNInputError("The Laplace approximation needs one noise σ; the heteroscedastic head predicts its own.")
    twin = train_regression_twin(run, on_progress=on_progress)
    if twin.fit.cancelled:
        return None
    return plain_regression(twin) if method == "plain" else laplace_regression(run, twin)
