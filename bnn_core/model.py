"""The Bayesian network (torchbnn ``BayesLinear`` layers), its deterministic twin, and the KL term.

Layer ``i`` of the ``nn.Sequential`` sits at index ``2 * i`` with activations
between, so the state_dict keys are torchbnn's own: ``0.weight_mu``,
``0.weight_log_sigma``, ``0.bias_mu``, ``0.bias_log_sigma``, ``2.weight_mu``, …
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
import torchbnn
from torch import nn

from .config import ModelConfig

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def layer_sizes(n_features: int, n_classes: int, config: ModelConfig) -> list[int]:
    """Widths from input to output, e.g. ``[4, 100, 3]`` for the article's network."""
    return [n_features, *config.hidden, n_classes]


def _stack(sizes: list[int], activation: str, make_layer: Callable[[int, int], nn.Module], seed: int) -> nn.Sequential:
    """Layers ``make_layer(fan_in, fan_out)`` with the activation between them, initialised from ``seed``.

    The global RNG is left untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            layers += [make_layer(fan_in, fan_out), _ACTIVATIONS[activation]()]
        return nn.Sequential(*layers[:-1])


def build_bnn(n_features: int, n_classes: int, config: ModelConfig, seed: int) -> nn.Sequential:
    """A ``BayesLinear`` network ``n_features → hidden… → n_classes``, initialised from ``seed``.

    torchbnn initialises ``weight_mu`` uniformly in ±1/√fan_in and every
    ``log_sigma`` at ``log(prior_sigma)``.
    """

    def bayes_linear(fan_in: int, fan_out: int) -> nn.Module:
        # Keywords always: torchbnn's positional order differs from nn.Linear's.
        return torchbnn.BayesLinear(
            prior_mu=config.prior_mu, prior_sigma=config.prior_sigma, in_features=fan_in, out_features=fan_out
        )

    return _stack(layer_sizes(n_features, n_classes, config), config.activation, bayes_linear, seed)


def build_twin(n_features: int, n_classes: int, config: ModelConfig, seed: int) -> nn.Sequential:
    """The deterministic twin: the same shape and activation with plain ``nn.Linear`` layers."""

    def linear(fan_in: int, fan_out: int) -> nn.Module:
        return nn.Linear(in_features=fan_in, out_features=fan_out)

    return _stack(layer_sizes(n_features, n_classes, config), config.activation, linear, seed)


def bayes_layers(model: nn.Module) -> list[torchbnn.BayesLinear]:
    """The model's ``BayesLinear`` layers, input to output."""
    return [m for m in model.modules() if isinstance(m, torchbnn.BayesLinear)]


def n_bayes_parameters(model: nn.Module) -> int:
    """Number of Bayesian weights and biases (803 for 4→100→3); torchbnn's ``mean`` divides by it."""
    return sum(layer.weight_mu.numel() + layer.bias_mu.numel() for layer in bayes_layers(model))


def kl_divergence(model: nn.Module, reduction: str = "mean") -> torch.Tensor:
    """KL(q ‖ prior) of every ``BayesLinear`` weight and bias, with torchbnn ``BKLLoss`` semantics.

    For q = N(μ, σ²) and prior N(μ₀, σ₀²), each parameter contributes
    ``log σ₀ − log σ + (σ² + (μ − μ₀)²) / (2σ₀²) − ½``. ``sum`` adds them all;
    ``mean`` divides that sum by :func:`n_bayes_parameters`. A model without
    Bayesian layers has KL 0.

    Returns:
        A scalar tensor of shape () (torchbnn's own returns shape (1,)).
    """
    total = torch.zeros(())
    for layer in bayes_layers(model):
        prior_log_sigma = math.log(layer.prior_sigma)
        prior_var = layer.prior_sigma**2
        for mu, log_sigma in ((layer.weight_mu, layer.weight_log_sigma), (layer.bias_mu, layer.bias_log_sigma)):
            terms = (
                prior_log_sigma - log_sigma + (torch.exp(2 * log_sigma) + (mu - layer.prior_mu) ** 2) / (2 * prior_var)
            )
            total = total + (terms - 0.5).sum()
    if reduction == "sum":
        return total
    return total / max(n_bayes_parameters(model), 1)
