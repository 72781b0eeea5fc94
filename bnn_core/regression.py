"""Regression: the built-in 1-D sets, predictive bands from posterior samples, and the exact posterior of
Bayesian linear regression that the trained network is checked against.

A regression network's outputs are the mean f(x), and for the heteroscedastic head log σ(x)
(:class:`~bnn_core.likelihood.Gaussian`). S posterior draws give, at every input,

- the posterior mean: the average of the S means;
- the epistemic std: the spread of the S means, what more data would shrink;
- the aleatoric std: the noise, √(mean of the S σ²), what no amount of data removes;
- the total std: √(epistemic² + aleatoric²), the predictive std of the mixture of the S Gaussians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .likelihood import Gaussian
from .sample import sample_outputs

REGRESSION_DATASETS = ("cubic", "sine_gap", "heteroscedastic")
REGRESSION_SEED = 0  # every built-in set is generated with this seed, so it is the same everywhere


@dataclass(frozen=True, eq=False)
class RegressionSet:
    """Rows with a real-valued target. Shape: x (N, D) float64, y (N,) float64."""

    name: str
    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str


def cubic(rows: int = 20, seed: int = REGRESSION_SEED) -> RegressionSet:
    """y = x³ + ε, ε ~ N(0, 3²), x uniform in [−4, 4] (Hernández-Lobato & Adams 2015)."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-4.0, 4.0, rows)
    return RegressionSet("cubic", x[:, None], x**3 + generator.normal(0.0, 3.0, rows), ("x",), "y")


def sine_gap(rows: int = 60, seed: int = REGRESSION_SEED) -> RegressionSet:
    """y = sin(x) + ε, ε ~ N(0, 0.1²), x uniform in [−3, 3] except its middle third, (−1, 1), which has no data."""
    generator = np.random.default_rng(seed)
    side = generator.uniform(1.0, 3.0, rows) * generator.choice([-1.0, 1.0], rows)
    return RegressionSet("sine_gap", side[:, None], np.sin(side) + generator.normal(0.0, 0.1, rows), ("x",), "y")


def heteroscedastic(rows: int = 100, seed: int = REGRESSION_SEED) -> RegressionSet:
    """y = x + ε, ε ~ N(0, (0.1 + 0.3 |x|)²), x uniform in [−3, 3]: the noise grows with |x|."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-3.0, 3.0, rows)
    y = x + generator.normal(0.0, 1.0, rows) * (0.1 + 0.3 * np.abs(x))
    return RegressionSet("heteroscedastic", x[:, None], y, ("x",), "y")


def load_regression(name: str) -> RegressionSet:
    """One of :data:`REGRESSION_DATASETS`."""
    makers = {"cubic": cubic, "sine_gap": sine_gap, "heteroscedastic": heteroscedastic}
    return makers[name]()


@dataclass(frozen=True, eq=False)
class Bands:
    """What S posterior draws say at N inputs, in the units the network was trained in. Shape: each (N,)."""

    mean: np.ndarray
    epistemic: np.ndarray
    aleatoric: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return np.sqrt(self.epistemic**2 + self.aleatoric**2)


def bands_from_outputs(outputs: torch.Tensor, likelihood: Gaussian) -> Bands:
    """:class:`Bands` from S draws' outputs (S, N, K)."""
    means = outputs[..., 0].double()  # (S, N)
    if likelihood.noise == "heteroscedastic":
        variances = torch.exp(2.0 * outputs[..., 1].double())
    else:
        variances = torch.exp(2.0 * likelihood.log_sigma.detach().double()).expand_as(means)
    return Bands(
        mean=means.mean(dim=0).numpy(),
        epistemic=means.std(dim=0, correction=0).numpy(),
        aleatoric=variances.mean(dim=0).sqrt().numpy(),
    )


def predictive_bands(model: nn.Sequential, likelihood: Gaussian, x: torch.Tensor, samples: int, seed: int) -> Bands:
    """The bands of draws ``0 … samples − 1`` at inputs ``x`` (N, D), already scaled."""
    return bands_from_outputs(sample_outputs(model, x, samples, seed), likelihood)


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
