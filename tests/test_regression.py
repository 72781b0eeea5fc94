"""Regression engine: the Gaussian likelihood against torch.distributions, Bayesian linear regression against its
exact posterior, and the bands of the built-in 1-D sets where the answer is known."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bnn_core.config import TrainConfig
from bnn_core.errors import BNNInputError
from bnn_core.likelihood import Gaussian
from bnn_core.network import NetworkSpec
from bnn_core.regression import (
    bands_from_outputs,
    cubic,
    gaussian_nll,
    heteroscedastic,
    linear_posterior,
    predictive_bands,
    sine_gap,
)
from bnn_core.sample import sample_outputs, sample_probs
from bnn_core.train import fit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import linear_oracle


def _net(n_features: int, hidden: tuple[int, ...], outputs: int, prior_sigma: float, seed: int = 0) -> torch.nn.Module:
    spec = NetworkSpec((n_features, *hidden, outputs), "tanh", 0.0, prior_sigma)
    return spec.build(spec.init(seed))


@pytest.mark.parametrize("noise", ["learned", "fixed", "heteroscedastic"])
def test_gaussian_data_term_is_the_mean_normal_nll(noise: str) -> None:
    generator = torch.Generator().manual_seed(3)
    outputs = torch.randn(40, 2 if noise == "heteroscedastic" else 1, generator=generator, dtype=torch.float64)
    y = torch.randn(40, generator=generator, dtype=torch.float64)
    likelihood = Gaussian(noise, sigma=0.7)
    std = outputs[:, 1].exp() if noise == "heteroscedastic" else torch.full((40,), 0.7, dtype=torch.float64)
    expected = -torch.distributions.Normal(outputs[:, 0], std).log_prob(y).mean()
    assert likelihood.data_term(outputs, y).item() == pytest.approx(expected.item(), rel=1e-12)
    assert gaussian_nll(y.numpy(), outputs[:, 0].numpy(), std.numpy()) == pytest.approx(expected.item(), rel=1e-12)


def test_only_a_learned_noise_sigma_is_trained() -> None:
    assert [p.shape for p in Gaussian("learned").parameters()] == [torch.Size([])]
    assert list(Gaussian("fixed", 0.3).parameters()) == []
    assert list(Gaussian("heteroscedastic").parameters()) == []


@pytest.mark.parametrize("sigma", [0.0, -1.0, math.inf, math.nan])
def test_a_noise_sigma_that_is_not_positive_is_refused(sigma: float) -> None:
    with pytest.raises(BNNInputError, match="noise sigma must be a positive number"):
        Gaussian("fixed", sigma)


def test_targets_that_are_not_real_numbers_are_refused() -> None:
    model = _net(1, (8,), 1, 0.1)
    x = torch.zeros(5, 1)
    with pytest.raises(BNNInputError, match="5 real numbers"):
        fit(model, x, torch.zeros(5, dtype=torch.int64), TrainConfig(epochs=1), 0, likelihood=Gaussian())
    with pytest.raises(BNNInputError, match="training targets is nan"):
        fit(model, x, torch.tensor([0.0, 1.0, math.nan, 0.0, 0.0]), TrainConfig(epochs=1), 0, likelihood=Gaussian())


def test_the_fast_engine_says_it_hands_regression_to_torchbnn() -> None:
    data = cubic()
    x, y = torch.tensor(data.x, dtype=torch.float32) / 4, torch.tensor(data.y, dtype=torch.float32) / 30
    result = fit(_net(1, (8,), 1, 0.1), x, y, TrainConfig(epochs=20, engine="fast"), 0, likelihood=Gaussian())
    assert result.engine == "torchbnn"
    assert result.note == "trained with torchbnn autograd: the fast path trains classification only"


def test_a_learned_noise_sigma_finds_the_noise_of_the_data() -> None:
    generator = np.random.default_rng(1)
    x = generator.uniform(-2, 2, (400, 1))
    y = 0.5 * x[:, 0] + generator.normal(0, 0.3, 400)
    likelihood = Gaussian("learned", sigma=1.0)
    model = _net(1, (), 1, 1.0).double()
    config = TrainConfig(epochs=3000, lr=0.01, kl_weight=1 / 400, kl_reduction="sum", engine="torchbnn")
    fit(model, torch.tensor(x), torch.tensor(y), config, 0, likelihood=likelihood)
    residual_std = float(np.std(y - 0.5 * x[:, 0]))
    assert math.exp(likelihood.log_sigma.item()) == pytest.approx(residual_std, rel=0.05)


def test_bayesian_linear_regression_matches_its_exact_posterior() -> None:
    """The textbook ELBO ÷ N (KL sum, weight 1/N) with a fixed noise σ and no hidden layer: the trained means sit
    within half an exact posterior std of the exact means, and each σ within 10% of the mean-field optimum
    (the case of benchmarks/linear_oracle.py, which prints the gaps for several seeds)."""
    mean_gap, sigma_gap = linear_oracle.gaps(seed=0, epochs=6000)
    assert mean_gap <= 0.5
    assert sigma_gap <= 0.10


def test_the_exact_linear_posterior_by_hand() -> None:
    """One feature, two rows, prior N(0, 1), noise σ 1: precision = ΦᵀΦ + I, mean = precision⁻¹ Φᵀy."""
    exact = linear_posterior(np.array([[1.0], [2.0]]), np.array([1.0, 3.0]), 1.0, 0.0, 1.0)
    assert exact.precision == pytest.approx(np.array([[6.0, 3.0], [3.0, 3.0]]))
    assert exact.mean == pytest.approx(np.linalg.solve([[6.0, 3.0], [3.0, 3.0]], [7.0, 4.0]))
    assert exact.mean_field_std == pytest.approx([1 / math.sqrt(6), 1 / math.sqrt(3)])
    assert exact.std == pytest.approx(np.sqrt(np.diag(np.linalg.inv([[6.0, 3.0], [3.0, 3.0]]))))


def _standardised(values: np.ndarray, at: np.ndarray | None = None) -> torch.Tensor:
    """``at`` (default: ``values``) z-scored with the mean and std of ``values``, as float32."""
    at = values if at is None else at
    return torch.tensor((at - values.mean()) / values.std(), dtype=torch.float32)


def test_cubic_bands_widen_far_from_the_data() -> None:
    """Textbook ELBO on the cubic set, inputs and targets standardised: the epistemic std at x = ±6 is at least 3×
    the std at x = 0."""
    data = cubic()
    x, y = _standardised(data.x), _standardised(data.y)
    likelihood = Gaussian("fixed", 3 / data.y.std())
    spec = NetworkSpec((1, 50, 1), "relu", 0.0, 1.0)
    model = spec.build(spec.init(0))
    config = TrainConfig(epochs=3000, lr=0.01, kl_weight=1 / len(y), kl_reduction="sum", engine="torchbnn")
    fit(model, x, y, config, 0, likelihood=likelihood)
    at = _standardised(data.x, np.array([[-6.0], [0.0], [6.0]]))
    bands = predictive_bands(model, likelihood, at, 300, seed=0)
    assert min(bands.epistemic[0], bands.epistemic[2]) >= 3 * bands.epistemic[1]


def test_the_gap_set_has_no_data_in_its_middle_third() -> None:
    data = sine_gap()
    assert not np.any(np.abs(data.x) < 1.0) and np.all(np.abs(data.x) <= 3.0)
    assert (data.x < 0).any() and (data.x > 0).any()


def test_the_heteroscedastic_set_is_noisier_far_out() -> None:
    data = heteroscedastic()
    far, near = np.abs(data.x[:, 0]) > 2, np.abs(data.x[:, 0]) < 1
    assert np.std(data.y[far] - data.x[far, 0]) > 3 * np.std(data.y[near] - data.x[near, 0])


def test_bands_from_outputs_by_brute_force() -> None:
    generator = torch.Generator().manual_seed(0)
    outputs = torch.randn(6, 4, 2, generator=generator, dtype=torch.float64)
    bands = bands_from_outputs(outputs, Gaussian("heteroscedastic"))
    for i in range(4):
        means = [float(outputs[s, i, 0]) for s in range(6)]
        variances = [math.exp(2 * float(outputs[s, i, 1])) for s in range(6)]
        mixture_mean = sum(means) / 6
        mixture_var = sum(v + m * m for v, m in zip(variances, means, strict=True)) / 6 - mixture_mean**2
        assert bands.mean[i] == pytest.approx(mixture_mean, rel=1e-12)
        assert bands.total[i] ** 2 == pytest.approx(mixture_var, rel=1e-10)


def test_sample_outputs_are_the_draws_of_sample_probs() -> None:
    model = _net(3, (5,), 4, 0.3)
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    outputs = sample_outputs(model, x, 5, seed=11, first=2)
    assert torch.allclose(outputs.softmax(dim=2), sample_probs(model, x, 5, seed=11, first=2), atol=1e-6)
