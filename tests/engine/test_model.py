"""The network's structure and its KL term, against torch.distributions and torchbnn itself."""

from __future__ import annotations

import math

import pytest
import torch
import torchbnn
from torch.distributions import Normal
from torch.distributions import kl_divergence as distributions_kl

from bnn_core import ModelConfig, bayes_layers, build_bnn, build_twin, kl_divergence, n_bayes_parameters


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Move every posterior away from the prior so the KL is non-trivial."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in bayes_layers(model):
            for tensor in (layer.weight_mu, layer.bias_mu):
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
            for tensor in (layer.weight_log_sigma, layer.bias_log_sigma):
                tensor.copy_(torch.randn(tensor.shape, generator=generator) - 1.0)


def _oracle_kl_sum(model: torch.nn.Module) -> torch.Tensor:
    total = torch.zeros((), dtype=torch.float64)
    for layer in bayes_layers(model):
        prior = Normal(
            torch.tensor(layer.prior_mu, dtype=torch.float64), torch.tensor(layer.prior_sigma, dtype=torch.float64)
        )
        for mu, log_sigma in ((layer.weight_mu, layer.weight_log_sigma), (layer.bias_mu, layer.bias_log_sigma)):
            posterior = Normal(mu.double(), log_sigma.double().exp())
            total = total + distributions_kl(posterior, prior).sum()
    return total


@pytest.mark.parametrize(
    "config", [ModelConfig(), ModelConfig(hidden=(7, 5), activation="tanh", prior_mu=0.3, prior_sigma=0.5)]
)
def test_kl_matches_torch_distributions_for_sum_and_mean(config: ModelConfig) -> None:
    model = build_bnn(4, 3, config, seed=0)
    _randomise(model, seed=1)
    oracle = _oracle_kl_sum(model)
    torch.testing.assert_close(kl_divergence(model, "sum").double(), oracle, rtol=1e-5, atol=0)
    torch.testing.assert_close(
        kl_divergence(model, "mean").double(), oracle / n_bayes_parameters(model), rtol=1e-5, atol=0
    )


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_kl_matches_torchbnn_bkl_loss(reduction: str) -> None:
    model = build_bnn(4, 3, ModelConfig(hidden=(20, 10)), seed=0)
    _randomise(model, seed=2)
    reference = torchbnn.BKLLoss(reduction=reduction, last_layer_only=False)(model)
    assert reference.shape == (1,)
    ours = kl_divergence(model, reduction)
    assert ours.shape == ()
    torch.testing.assert_close(ours, reference[0], rtol=1e-5, atol=1e-6)


def test_kl_at_initialisation_is_only_the_mean_term() -> None:
    # torchbnn starts every log σ at the prior's, so only (μ − μ₀)² / 2σ₀² remains.
    model = build_bnn(4, 3, ModelConfig(prior_sigma=0.1), seed=0)
    expected = sum(
        ((p**2).sum() / (2 * 0.1**2)) for layer in bayes_layers(model) for p in (layer.weight_mu, layer.bias_mu)
    )
    torch.testing.assert_close(kl_divergence(model, "sum"), expected, rtol=1e-5, atol=0)


def test_article_network_has_torchbnn_keys_and_803_parameters() -> None:
    model = build_bnn(4, 3, ModelConfig(prior_sigma=0.1), seed=0)
    assert n_bayes_parameters(model) == 4 * 100 + 100 + 100 * 3 + 3 == 803
    assert list(model.state_dict()) == [
        "0.weight_mu",
        "0.weight_log_sigma",
        "0.bias_mu",
        "0.bias_log_sigma",
        "2.weight_mu",
        "2.weight_log_sigma",
        "2.bias_mu",
        "2.bias_log_sigma",
    ]
    assert isinstance(model[1], torch.nn.ReLU)
    first = model[0]
    assert (first.in_features, first.out_features, first.prior_sigma) == (4, 100, 0.1)
    torch.testing.assert_close(first.weight_log_sigma, torch.full((100, 4), math.log(0.1)))


def test_twin_has_the_same_shape_and_building_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    bnn = build_bnn(4, 3, ModelConfig(hidden=(8, 6), activation="sigmoid"), seed=5)
    twin = build_twin(4, 3, ModelConfig(hidden=(8, 6), activation="sigmoid"), seed=5)
    assert torch.equal(before, torch.random.get_rng_state())
    assert [type(m).__name__ for m in twin] == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert [type(m).__name__ for m in bnn] == ["BayesLinear", "Sigmoid", "BayesLinear", "Sigmoid", "BayesLinear"]
    assert kl_divergence(twin, "sum").item() == 0.0
    torch.testing.assert_close(build_bnn(4, 3, ModelConfig(hidden=(8, 6)), seed=5)[0].weight_mu, bnn[0].weight_mu)
