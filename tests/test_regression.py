"""Regression engine: the Gaussian likelihood against torch.distributions, Bayesian linear regression against its
exact posterior, and the bands of the built-in 1-D sets where the answer is known."""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchbnn

from bnn_core import fast
from bnn_core import noise as noise_module
from bnn_core.config import TrainConfig
from bnn_core.data import cubic, heteroscedastic, sine_gap
from bnn_core.errors import BNNInputError
from bnn_core.likelihood import Gaussian
from bnn_core.network import NetworkSpec, bayes_layers
from bnn_core.regression import bands_from_outputs, gaussian_nll, linear_posterior, predictive_bands
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


def _cubic_rows() -> tuple[torch.Tensor, torch.Tensor]:
    data = cubic()
    return torch.tensor(data.x, dtype=torch.float64) / 4, torch.tensor(data.y, dtype=torch.float64) / 30


def _autograd_step(model, likelihood: Gaussian, x, y, eps: np.ndarray, kl_weight: float, reduction: str):
    """Loss and gradients by autograd through torchbnn BayesLinear + BKLLoss, float64, with frozen ε; a fixed σ is
    made a parameter here, so that it has a gradient to compare too."""
    model = copy.deepcopy(model).double()
    if likelihood.noise == "fixed":
        likelihood = Gaussian("learned", math.exp(likelihood.log_sigma.item()))
    likelihood = copy.deepcopy(likelihood)
    position = 0
    for layer in bayes_layers(model):
        for name, like in (("weight_eps", layer.weight_mu), ("bias_eps", layer.bias_mu)):
            setattr(layer, name, torch.from_numpy(eps[position : position + like.numel()]).view_as(like))
            position += like.numel()
    data = likelihood.data_term(model(x), y)
    kl = torchbnn.BKLLoss(reduction=reduction, last_layer_only=False)(model)[0]
    (data + kl_weight * kl).backward()
    layers = bayes_layers(model)
    grad_mu = torch.cat([p.grad.flatten() for layer in layers for p in (layer.weight_mu, layer.bias_mu)])
    grad_ls = torch.cat([p.grad.flatten() for layer in layers for p in (layer.weight_log_sigma, layer.bias_log_sigma)])
    noise_grad = likelihood.log_sigma.grad.item() if likelihood.log_sigma.grad is not None else 0.0
    return data.item(), kl.item(), grad_mu.numpy(), grad_ls.numpy(), noise_grad


@pytest.mark.parametrize("noise", ["learned", "fixed", "heteroscedastic"])
@pytest.mark.parametrize(("hidden", "reduction", "kl_weight"), [((16,), "mean", 0.01), ((), "sum", 0.05)])
def test_the_fast_gaussian_loss_and_gradients_equal_autograd(noise, hidden, reduction: str, kl_weight) -> None:
    """The compiled Gaussian NLL and its gradients (the network's, and the one noise log σ's) against autograd
    through torchbnn, to 1e-6; with no hidden layer too. The heteroscedastic case has rows beyond the log σ clamp."""
    x, y = _cubic_rows()
    outputs = 2 if noise == "heteroscedastic" else 1
    model = _net(1, hidden, outputs, 0.5, seed=3)
    if noise == "heteroscedastic":  # a large last bias puts some rows' log σ(x) beyond the clamp
        with torch.no_grad():
            bayes_layers(model)[-1].bias_mu[1] = 6.9
    likelihood = Gaussian(noise, sigma=0.4)
    spec = NetworkSpec.of(model)
    eps = noise_module.normals(7, 0, spec.n_params)
    data, kl, total, grad_mu, grad_ls, grad_noise = fast.loss_and_gradients(
        spec, spec.pack(model), x, y, eps, kl_weight, reduction, likelihood
    )
    ref_data, ref_kl, ref_mu, ref_ls, ref_noise = _autograd_step(model, likelihood, x, y, eps, kl_weight, reduction)
    assert data == pytest.approx(ref_data, rel=1e-10) and kl == pytest.approx(ref_kl, rel=1e-6)
    assert total == pytest.approx(ref_data + kl_weight * ref_kl, rel=1e-6)
    np.testing.assert_allclose(grad_mu, ref_mu, rtol=1e-6, atol=1e-6 * np.abs(ref_mu).max())
    np.testing.assert_allclose(grad_ls, ref_ls, rtol=1e-6, atol=1e-6 * np.abs(ref_ls).max())
    assert grad_noise == pytest.approx(ref_noise, rel=1e-10, abs=1e-12)
    assert (grad_noise != 0.0) == (noise != "heteroscedastic")  # the head's σ(x) has the network's gradients


@pytest.mark.parametrize("noise", ["learned", "fixed", "heteroscedastic"])
def test_fifty_regression_steps_of_both_engines_agree_in_float64(noise: str) -> None:
    """Same init, noise, loss and Adam: after 50 steps both engines hold the same weights and the same learned σ."""
    x, y = _cubic_rows()
    start = _net(1, (12,), 2 if noise == "heteroscedastic" else 1, 0.3, seed=4).double()
    config = TrainConfig(epochs=50, lr=0.01, kl_weight=0.02, kl_reduction="sum")
    trained = {}
    for engine in ("fast", "torchbnn"):
        model, likelihood = copy.deepcopy(start), Gaussian(noise, sigma=0.5)
        fitted = fit(model, x, y, dataclasses.replace(config, engine=engine), 11, likelihood=likelihood)
        assert fitted.engine == engine and fitted.note == ""
        trained[engine] = (model.state_dict(), likelihood.log_sigma.item(), fitted.history)
    (fast_state, fast_sigma, fast_history), (ref_state, ref_sigma, ref_history) = trained["fast"], trained["torchbnn"]
    for key, value in ref_state.items():
        assert (value - start.state_dict()[key]).abs().max() > 1e-3, f"{key} barely trained"
        np.testing.assert_allclose(fast_state[key].numpy(), value.numpy(), rtol=1e-8, atol=1e-12, err_msg=key)
    assert fast_sigma == pytest.approx(ref_sigma, rel=1e-10)
    assert (fast_sigma != math.log(0.5)) == (noise == "learned")
    np.testing.assert_allclose(fast_history.total, ref_history.total, rtol=1e-8)
    np.testing.assert_allclose(fast_history.train_accuracy, ref_history.train_accuracy, rtol=1e-8)  # the RMSE


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
