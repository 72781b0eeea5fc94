"""Regression: the likelihood of a run, predictive bands from posterior samples, their metrics (RMSE, NLL,
interval coverage), and the exact posterior of Bayesian linear regression that the trained network is checked
against. The built-in 1-D sets are in :mod:`bnn_core.data.datasets`.

A regression network's outputs are the mean f(x), and for the heteroscedastic head log σ(x)
(:class:`~bnn_core.model.likelihood.Gaussian`). S posterior draws give, at every input,

- the posterior mean: the average of the S means;
- the epistemic std: the spread of the S means, what more data would shrink;
- the aleatoric std: the noise, √(mean of the S σ²), what no amount of data removes;
- the total std: √(epistemic² + aleatoric²), the predictive std of the mixture of the S Gaussians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from torch import nn

from ..config import RunConfig
from ..data.prepared import PreparedData
from ..engine.train import FitResult
from ..model.likelihood import LOG_STD_LIMIT, Categorical, Gaussian, Likelihood
from .sample import sample_outputs

COVERAGE_LEVELS = (0.5, 0.9, 0.95)  # the central intervals whose coverage metrics.json reports


@dataclass(frozen=True, eq=False)
class Bands:
    """What S posterior draws say at N inputs, in the units the network was trained in. Shape: each (N,)."""

    mean: np.ndarray
    epistemic: np.ndarray
    aleatoric: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return np.sqrt(self.epistemic**2 + self.aleatoric**2)

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` interval of N(mean, total²) at each input: lower and upper bounds (N,) each."""
        half = interval_z(level) * self.total
        return self.mean - half, self.mean + half

    def rows(self, where: np.ndarray | torch.Tensor) -> Bands:
        """The bands of the rows selected by a (N,) mask or index array."""
        where = np.asarray(where)
        return Bands(self.mean[where], self.epistemic[where], self.aleatoric[where])


def draws_from_outputs(outputs: torch.Tensor, likelihood: Gaussian) -> tuple[torch.Tensor, torch.Tensor]:
    """S draws' outputs (S, N, K) as what every regression method gives: the means f(x) (S, N) and each draw's
    noise σ (S, N), float64, in the units the network is trained in."""
    means = outputs[..., 0].double()
    if likelihood.noise == "heteroscedastic":
        log_std = outputs[..., 1].double().clamp(-LOG_STD_LIMIT, LOG_STD_LIMIT)
    else:
        log_std = likelihood.log_sigma.detach().double().expand_as(means)
    return means, torch.exp(log_std)


def bands_from_draws(means: torch.Tensor, sigmas: torch.Tensor) -> Bands:
    """:class:`Bands` from S draws of the mean (S, N) and of the noise σ (S, N): the mean and the spread of the means,
    and the noise as √(mean of the σ²)."""
    return Bands(
        mean=means.mean(dim=0).numpy(),
        epistemic=means.std(dim=0, correction=0).numpy(),
        aleatoric=sigmas.square().mean(dim=0).sqrt().numpy(),
    )


def bands_from_outputs(outputs: torch.Tensor, likelihood: Gaussian) -> Bands:
    """:class:`Bands` from S draws' outputs (S, N, K)."""
    return bands_from_draws(*draws_from_outputs(outputs, likelihood))


def predictive_bands(model: nn.Sequential, likelihood: Gaussian, x: torch.Tensor, samples: int, seed: int) -> Bands:
    """The bands of draws ``0 … samples − 1`` at inputs ``x`` (N, D), already scaled."""
    return bands_from_outputs(sample_outputs(model, x, samples, seed), likelihood)


def in_target_units(bands: Bands, data: PreparedData) -> Bands:
    """Bands in the target's own units (undoing the target scaler, if the run has one)."""
    return Bands(
        data.to_target_units(bands.mean),
        data.to_target_units(bands.epistemic, spread=True),
        data.to_target_units(bands.aleatoric, spread=True),
    )


def likelihood_for(config: RunConfig, data: PreparedData) -> Likelihood:
    """The run's likelihood: categorical for classes; for regression, Gaussian with the configured noise model.

    A fixed σ is given in target units and turned into the units the network is trained in. A learned σ starts at
    the training targets' std in those units (1 when they are standardised): a start in absolute units would sit
    orders of magnitude off for targets in the thousands, and Adam at lr 0.01 moves log σ by about 0.01 a step.
    """
    if data.dataset.task == "classification":
        return Categorical()
    if config.model.noise == "learned":
        spread = float(data.y[data.train_mask].double().std(correction=0))
        return Gaussian("learned", spread if spread > 0 else 1.0)
    return Gaussian(config.model.noise, config.model.noise_sigma / data.target_std)


@dataclass(frozen=True, eq=False)
class RegressionEvaluation:
    """What S posterior draws say about every row of a regression run, in the target's units.

    Shape: ``bands`` of N rows; ``first_draw`` (N,), the mean of posterior draw #0.
    """

    bands: Bands
    first_draw: np.ndarray


def evaluate_regression(
    model: nn.Sequential, likelihood: Gaussian, data: PreparedData, samples: int, seed: int
) -> RegressionEvaluation:
    """Draw samples ``0 … samples − 1`` on every row of ``data`` and keep the bands in target units."""
    outputs = sample_outputs(model, data.x, samples, seed)  # (S, N, K)
    bands = in_target_units(bands_from_outputs(outputs, likelihood), data)
    return RegressionEvaluation(bands, data.to_target_units(outputs[0, :, 0].double().numpy()))


def interval_z(level: float) -> float:
    """The z of a central interval: mean ± z·std holds ``level`` of a normal (1.96 for 0.95)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"an interval level must lie strictly between 0 and 1, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def coverage(y: np.ndarray, bands: Bands, level: float) -> float:
    """The share of targets y (N,) inside their central ``level`` predictive interval."""
    lower, upper = bands.interval(level)
    return float(np.mean((y >= lower) & (y <= upper)))


def coverage_curve(y: np.ndarray, bands: Bands, levels: np.ndarray) -> np.ndarray:
    """The observed coverage (L,) of each nominal central interval ``levels`` (L,): calibration for regression."""
    return np.array([coverage(y, bands, float(level)) for level in levels])


def noise_sigma_learned(likelihood: Gaussian, data: PreparedData) -> float | None:
    """The one noise σ of a learned or fixed model, in target units; None for the heteroscedastic head."""
    if likelihood.noise == "heteroscedastic":
        return None
    return math.exp(float(likelihood.log_sigma.detach())) * data.target_std


def regression_metrics(
    evaluation: RegressionEvaluation, data: PreparedData, fitted: FitResult, likelihood: Gaussian
) -> dict[str, float | int | str | None]:
    """The headline numbers of a regression run (the keys of ``metrics.json``), all in target units.

    RMSEs use the posterior mean; ``sample_*_rmse`` the mean of draw 0 alone. The NLL (of the moment-matched
    predictive normal, mean ± total std) and the coverage of the 50%, 90% and 95% intervals are measured on
    the test rows, or on the training rows when the test share is 0 (``metrics_on`` says which).
    """
    y, bands = data.dataset.y, evaluation.bands
    train, test = ~data.is_test, data.is_test
    held_out = test if data.has_test else train

    def rmse(prediction: np.ndarray, rows: np.ndarray) -> float | None:
        return float(np.sqrt(np.mean((prediction[rows] - y[rows]) ** 2))) if rows.any() else None

    on = bands.rows(held_out)
    return {
        "train_rmse": rmse(bands.mean, train),
        "test_rmse": rmse(bands.mean, test),
        "sample_train_rmse": rmse(evaluation.first_draw, train),
        "sample_test_rmse": rmse(evaluation.first_draw, test),
        "nll": gaussian_nll(y[held_out], on.mean, on.total),
        **{f"coverage_{round(level * 100)}": coverage(y[held_out], on, level) for level in COVERAGE_LEVELS},
        "noise_sigma": noise_sigma_learned(likelihood, data),
        "metrics_on": "test" if data.has_test else "train",
        "train_rows": int(train.sum()),
        "held_out_rows": int(held_out.sum()),
        "baseline_rmse": rmse(np.full_like(y, y[train].mean()), held_out),  # always predicting the training mean
        "final_nll": float(fitted.history.ce[-1]) + math.log(data.target_std),  # the data term, in target units
        "final_kl": float(fitted.history.kl[-1]),
        **fitted.metrics(),
    }


@dataclass(frozen=True, eq=False)
class LinearPosterior:
    """The exact Gaussian posterior of y = Φ w + ε, ε ~ N(0, σ²), w ~ N(μ₀, σ₀² I).

    Shape: ``mean`` (P,), ``precision`` (P, P), in the packed order of a network with no hidden layer: the
    D weights, then the bias.
    """

    mean: np.ndarray
    precision: np.ndarray

    @property
    def std(self) -> np.ndarray:
        """The marginal posterior std of each weight (P,)."""
        return np.sqrt(np.diag(np.linalg.inv(self.precision)))

    @property
    def mean_field_std(self) -> np.ndarray:
        """1/√diag(precision) (P,): the std of the best fully factorised Gaussian (the optimum of mean-field VI,
        which keeps the exact mean)."""
        return 1.0 / np.sqrt(np.diag(self.precision))


def linear_posterior(
    x: np.ndarray, y: np.ndarray, noise_sigma: float, prior_mu: float, prior_sigma: float
) -> LinearPosterior:
    """The exact posterior of Bayesian linear regression with a bias, from rows x (N, D) and targets y (N,)."""
    design = np.hstack([x, np.ones((len(x), 1))])  # (N, D + 1): weights, then the bias
    precision = design.T @ design / noise_sigma**2 + np.eye(design.shape[1]) / prior_sigma**2
    right = design.T @ y / noise_sigma**2 + prior_mu / prior_sigma**2
    return LinearPosterior(np.linalg.solve(precision, right), precision)


def gaussian_nll(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Mean negative log-likelihood of targets y (N,) under N(mean, std²) (N,) each."""
    z = (y - mean) / std
    return float(np.mean(0.5 * math.log(2.0 * math.pi) + np.log(std) + 0.5 * z * z))


GRID_POINTS = 200  # inputs along the x-axis of a regression chart
REACH = 0.25  # a regression chart's x-axis reaches this share of the data's span past it on each side


def axis_grid(data: PreparedData, feature: int, points: int = GRID_POINTS) -> np.ndarray:
    """Raw inputs (G, D) along ``feature`` from REACH × its span below the data to as far above; every other
    feature held at its training median, as on the uncertainty map."""
    values = data.dataset.x[:, feature]
    low, high = float(values.min()), float(values.max())
    reach = REACH * (high - low or 1.0)
    grid = np.repeat(np.median(data.dataset.x[~data.is_test], axis=0)[None, :], points, axis=0)
    grid[:, feature] = np.linspace(low - reach, high + reach, points)
    return grid


def curve_bands(
    model: nn.Sequential, likelihood: Gaussian, data: PreparedData, raw: np.ndarray, samples: int, seed: int
) -> Bands:
    """The bands of draws ``0 … samples − 1`` at raw inputs (G, D), in the target's units."""
    return in_target_units(predictive_bands(model, likelihood, data.inputs(raw), samples, seed), data)


def sample_curves(
    model: nn.Sequential, data: PreparedData, raw: np.ndarray, first: int, count: int, seed: int
) -> np.ndarray:
    """The functions of draws ``first … first + count − 1`` at raw inputs (G, D): their means (count, G), in the
    target's units; each row is one network from the posterior, coherent over the whole axis."""
    means = sample_outputs(model, data.inputs(raw), count, seed, first)[..., 0].double().numpy()
    return data.to_target_units(means)
