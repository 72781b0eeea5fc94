"""The Laplace approximation against independent computations: the exact Hessian (autograd) where the GGN must equal
it, the exact Bayesian linear-regression posterior, a brute-force search of the evidence, and Monte Carlo moments of
the linearised predictive."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bnn_core import RunConfig, TrainConfig, load_builtin, train_run
from bnn_core.errors import BNNInputError
from bnn_core.methods.alternatives import train_method
from bnn_core.methods.laplace import DENSE_LIMIT, fit_laplace, ggn, predictive_probs, subnetwork
from bnn_core.methods.options import MethodsConfig
from bnn_core.model.likelihood import Categorical, Gaussian
from bnn_core.model.network import NetworkSpec


def _data(n: int, d: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return x, torch.randint(0, classes, (n,), generator=generator)


def _summed_nll(spec: NetworkSpec, x: torch.Tensor, y: torch.Tensor):
    """The summed cross-entropy as a function of the packed weights (P,), by torch's own layers."""

    def nll(theta: torch.Tensor) -> torch.Tensor:
        h = x
        for index, (weight, bias) in enumerate(spec.split(theta)):
            h = torch.relu(h) if index else h
            h = h @ weight.T + bias
        return torch.nn.functional.cross_entropy(h, y, reduction="sum")

    return nll


def test_with_no_hidden_layer_the_ggn_is_the_exact_hessian() -> None:
    """Softmax regression: the outputs are linear in the weights, so Σ Jᵀ Λ J is the Hessian of the NLL."""
    x, y = _data(40, 3, 4, seed=0)
    spec = NetworkSpec((3, 4), "relu")
    theta = torch.randn(spec.n_params, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    exact = torch.autograd.functional.hessian(_summed_nll(spec, x, y), theta)
    torch.testing.assert_close(ggn(subnetwork(spec, "full"), theta, x, Categorical()), exact, rtol=1e-10, atol=1e-10)


def test_on_the_last_layer_the_ggn_is_the_hessian_in_its_weights() -> None:
    x, y = _data(30, 2, 3, seed=2)
    spec = NetworkSpec((2, 8, 3), "relu")
    theta = torch.randn(spec.n_params, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    sub = subnetwork(spec, "last_layer")
    nll = _summed_nll(spec, x, y)

    def in_last(free: torch.Tensor) -> torch.Tensor:
        return nll(torch.cat([theta[: sub.weights.start], free]))

    exact = torch.autograd.functional.hessian(in_last, theta[sub.weights])
    torch.testing.assert_close(ggn(sub, theta, x, Categorical()), exact, rtol=1e-10, atol=1e-10)


def test_linear_regression_gets_the_exact_gaussian_posterior() -> None:
    """y = Xw + b + noise with known σ and prior N(0, I/δ): the posterior covariance is (AᵀA/σ² + δI)⁻¹, A = [X 1]."""
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(25, 3, generator=generator, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.3 + 0.2 * torch.randn(25, generator=generator)
    likelihood = Gaussian(noise="fixed", sigma=0.2)
    spec = NetworkSpec((3, 1), "relu")
    theta = torch.randn(spec.n_params, generator=generator, dtype=torch.float64)
    delta = 2.5
    posterior = fit_laplace(spec, theta, x, y, likelihood, prior_precision=delta)
    design = torch.cat([x, torch.ones(25, 1, dtype=torch.float64)], dim=1)  # the packed order: weights, then bias
    exact = torch.linalg.inv(design.T @ design / 0.2**2 + delta * torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(posterior.covariance(), exact, rtol=1e-9, atol=1e-12)


def test_the_fitted_prior_precision_is_the_evidence_maximum_of_a_brute_force_grid() -> None:
    x, y = _data(60, 2, 3, seed=5)
    spec = NetworkSpec((2, 6, 3), "tanh")
    theta = torch.randn(spec.n_params, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    posterior = fit_laplace(spec, theta, x, y, Categorical())
    grid = np.exp(np.linspace(math.log(1e-4), math.log(1e4), 4001))
    evidence = [posterior.log_marginal_likelihood(float(delta)) for delta in grid]
    best = grid[int(np.argmax(evidence))]
    assert abs(math.log(posterior.prior_precision) - math.log(best)) <= math.log(grid[1] / grid[0])
    assert posterior.log_marginal_likelihood() >= max(evidence) - 1e-9


def test_the_predictive_samples_have_the_linearised_mean_and_covariance() -> None:
    """Monte Carlo: 20,000 weight draws pushed through J give outputs whose mean is f(x, θ) and covariance J Σ Jᵀ."""
    x, y = _data(50, 2, 3, seed=7)
    spec = NetworkSpec((2, 5, 3), "relu")
    theta = torch.randn(spec.n_params, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    posterior = fit_laplace(spec, theta, x, y, Categorical(), prior_precision=1.0)
    means, covariances = posterior.predictive(x[:4])
    samples = posterior.output_samples(x[:4], posterior.weight_draws(20_000, key=9))  # (S, 4, 3)
    torch.testing.assert_close(samples.mean(0), means, atol=0.05, rtol=0.0)
    centred = samples - samples.mean(0)
    empirical = torch.einsum("snc,snd->ncd", centred, centred) / (len(samples) - 1)
    torch.testing.assert_close(empirical, covariances, atol=0.05 * float(covariances.abs().max()), rtol=0.05)


def test_the_same_key_gives_the_same_functions() -> None:
    x, y = _data(30, 2, 2, seed=10)
    spec = NetworkSpec((2, 4, 2), "relu")
    theta = torch.randn(spec.n_params, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    posterior = fit_laplace(spec, theta, x, y, Categorical())
    first, again = predictive_probs(posterior, 16, key=3), predictive_probs(posterior, 16, key=3)
    assert torch.equal(first(x), again(x)) and not torch.equal(first(x), predictive_probs(posterior, 16, key=4)(x))
    assert torch.equal(first(x)[:, :5], first(x[:5]))  # sample s is one function, whatever the rows asked


def test_what_it_cannot_take_is_one_sentence() -> None:
    x = torch.randn(10, 2, dtype=torch.float64)
    wide = NetworkSpec((2, DENSE_LIMIT, 2), "relu")
    with pytest.raises(BNNInputError, match=r"^The Laplace approximation is offered for up to 2,000 weights"):
        subnetwork(wide, "full")
    with pytest.raises(BNNInputError, match="heteroscedastic"):
        fit_laplace(NetworkSpec((2, 2), "relu"), torch.zeros(6, dtype=torch.float64), x, torch.zeros(10),
                    Gaussian(noise="heteroscedastic"))  # fmt: skip
    breast_cancer = subnetwork(NetworkSpec((30, 100, 2), "relu"))  # 3,302 weights in all: its last layer's 202
    assert (breast_cancer.structure, breast_cancer.n_weights) == ("last layer", 202)
    assert subnetwork(NetworkSpec((4, 100, 3), "relu")).structure == "full"  # iris: 803 weights


def test_the_method_beside_the_bnn_is_deterministic_and_unsure_off_the_data() -> None:
    run = train_run(load_builtin("two_moons"), RunConfig(train=TrainConfig(epochs=1500), samples=50))
    first = train_method(run, "laplace", MethodsConfig())
    again = train_method(run, "laplace", MethodsConfig())
    far = torch.tensor([[8.0, 8.0], [-8.0, 6.0]])
    probs = first.probs(far)
    assert probs.shape == (50, 2, 2) and torch.allclose(probs.sum(-1), torch.ones(50, 2))
    assert torch.equal(probs, again.probs(far))
    near = first.probs(run.data.x[run.data.train_mask])
    assert probs.std(0).mean() > near.std(0).mean()  # the draws disagree more far from the data
