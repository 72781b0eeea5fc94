"""The one model definition: the network's shape, its parameter layout, its initial weights, and its forward pass.

A :class:`NetworkSpec` says what the network is: layer widths, activation, prior, and
whether its layers are torchbnn ``BayesLinear`` (the BNN) or plain ``nn.Linear`` (its
deterministic twin). From it come

- the packed layout that the compiled trainer, the noise and saving all share: layer by
  layer, the weights (out, in) row-major then the biases (out,), as torchbnn orders them;
- the initial weights, drawn from the run's own stream (never torch's global generator);
- the torch modules, whose state_dict keys are torchbnn's (``0.weight_mu``, ``0.weight_log_sigma``, …);
- the batched forward pass of S sampled networks;
- the KL term with torchbnn ``BKLLoss``'s ``mean``/``sum`` meaning, and Adam's constants.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torchbnn
from torch import nn

from ..compiled import kernels, noise
from ..config import ModelConfig
from ..settings import SETTINGS


@dataclass(frozen=True)
class Activation:
    """One nonlinearity, as each implementation names it."""

    code: int  # what the compiled kernels switch on
    module: type[nn.Module]  # what goes between the torch layers
    in_place: Callable[[torch.Tensor], torch.Tensor]  # for the sampler's fresh activations


ACTIVATIONS = {
    "relu": Activation(kernels.RELU, nn.ReLU, torch.relu_),
    "tanh": Activation(kernels.TANH, nn.Tanh, torch.tanh_),
    "sigmoid": Activation(kernels.SIGMOID, nn.Sigmoid, torch.sigmoid_),
}
assert tuple(ACTIVATIONS) == SETTINGS["activation"].choices  # the schema and the implementations agree
KL_REDUCTIONS = SETTINGS["kl_reduction"].choices
ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults; both engines use these
ADAM_EPS = 1e-8


class UnsupportedNetwork(ValueError):
    """A torch module that is not a network this package can describe (the reason is the message)."""


@dataclass(frozen=True)
class Layer:
    """Where one layer's parameters sit in the packed vector."""

    fan_in: int
    fan_out: int
    start: int  # first weight; the fan_out biases follow the fan_in × fan_out weights

    @property
    def weights(self) -> slice:
        return slice(self.start, self.start + self.fan_in * self.fan_out)

    @property
    def biases(self) -> slice:
        end = self.start + self.fan_in * self.fan_out
        return slice(end, end + self.fan_out)


@dataclass(frozen=True, eq=False)
class Params:
    """A network's parameters, packed. Shape: ``mu``, ``log_sigma`` (P,) float64 (a twin's log σ is unused)."""

    mu: np.ndarray
    log_sigma: np.ndarray


@dataclass(frozen=True)
class NetworkSpec:
    """What the network is: ``sizes`` from input to output, e.g. (4, 100, 3), and everything shared by its layers."""

    sizes: tuple[int, ...]
    activation: str
    prior_mu: float = 0.0
    prior_sigma: float = 0.1
    bayesian: bool = True  # torchbnn BayesLinear layers; False for the deterministic twin's nn.Linear

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise UnsupportedNetwork(f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}")

    @classmethod
    def for_data(cls, n_features: int, n_outputs: int, config: ModelConfig, bayesian: bool = True) -> NetworkSpec:
        """The network ``n_features → config.hidden… → n_outputs``."""
        sizes = (n_features, *config.hidden, n_outputs)
        return cls(sizes, config.activation, config.prior_mu, config.prior_sigma, bayesian)

    @classmethod
    def of(cls, model: nn.Module) -> NetworkSpec:
        """Read the spec of a network built here (or the same shape built by hand).

        Raises:
            UnsupportedNetwork: the module is not an ``nn.Sequential`` of all-``BayesLinear`` (with biases and
                one prior) or all-``nn.Linear`` layers, with one of the known activations between them.
        """
        modules = list(model) if isinstance(model, nn.Sequential) else []
        linears, between = modules[::2], modules[1::2]
        kinds = {type(m) for m in linears}
        if not modules or len(modules) % 2 == 0 or kinds not in ({torchbnn.BayesLinear}, {nn.Linear}):
            raise UnsupportedNetwork("the network must alternate BayesLinear (or nn.Linear) layers and activations")
        names = [name for name, a in ACTIVATIONS.items() for m in between if type(m) is a.module]
        if len(names) != len(between) or len(set(names)) > 1:
            found = sorted({type(m).__name__ for m in between})
            raise UnsupportedNetwork(f"one of relu, tanh or sigmoid must sit between the layers, not {found}")
        bayesian = kinds == {torchbnn.BayesLinear}
        if bayesian and (len({(m.prior_mu, m.prior_sigma) for m in linears}) > 1 or not all(m.bias for m in linears)):
            raise UnsupportedNetwork("every BayesLinear layer needs a bias and the same prior")
        sizes = (linears[0].in_features, *(m.out_features for m in linears))
        prior = (float(linears[0].prior_mu), float(linears[0].prior_sigma)) if bayesian else (0.0, 1.0)
        return cls(sizes, names[0] if names else "relu", *prior, bayesian=bayesian)

    @functools.cached_property
    def layers(self) -> tuple[Layer, ...]:
        starts = itertools.accumulate((i * o + o for i, o in itertools.pairwise(self.sizes)), initial=0)
        return tuple(Layer(i, o, s) for (i, o), s in zip(itertools.pairwise(self.sizes), starts, strict=False))

    @property
    def n_params(self) -> int:
        """P, the number of weights and biases (803 for 4→100→3); torchbnn's ``mean`` KL divides by it."""
        last = self.layers[-1]
        return last.biases.stop

    def kl_scale(self, reduction: str) -> float:
        """torchbnn ``BKLLoss``: ``sum`` adds every parameter's KL, ``mean`` divides that sum by P; a twin has none."""
        if reduction not in KL_REDUCTIONS:
            raise ValueError(f"KL reduction must be one of {', '.join(KL_REDUCTIONS)}, not {reduction!r}")
        if not self.bayesian:
            return 0.0
        return 1.0 / self.n_params if reduction == "mean" else 1.0

    def init(self, key: int, sigma_start: float = 1.0) -> Params:
        """Initial parameters from stream ``key``: torchbnn's (and nn.Linear's) init, drawn from our own stream.

        Every weight and bias mean is uniform in ±1/√fan_in; every log σ is log(``sigma_start`` × prior σ), so
        the default 1 is torchbnn's own start, σ = σ₀.
        """
        uniforms = noise.uniforms(key, 0, self.n_params)
        mu = np.empty(self.n_params)
        for layer in self.layers:
            bound = 1.0 / math.sqrt(layer.fan_in)
            part = slice(layer.start, layer.biases.stop)
            mu[part] = bound * (2.0 * uniforms[part] - 1.0)
        return Params(mu, np.full(self.n_params, math.log(sigma_start * self.prior_sigma)))

    def build(self, params: Params) -> nn.Sequential:
        """The torch network holding ``params``, float32; building it draws no random numbers."""
        modules: list[nn.Module] = []
        for layer in self.layers:
            modules += [self._empty_layer(layer), ACTIVATIONS[self.activation].module()]
        model = nn.Sequential(*modules[:-1])
        self.unpack(params, model)
        return model

    def _empty_layer(self, layer: Layer) -> nn.Module:
        if not self.bayesian:
            return nn.utils.skip_init(nn.Linear, in_features=layer.fan_in, out_features=layer.fan_out)
        # Keywords always: torchbnn's positional order differs from nn.Linear's.
        empty = _UninitialisedBayesLinear(
            prior_mu=self.prior_mu, prior_sigma=self.prior_sigma, in_features=layer.fan_in, out_features=layer.fan_out
        )
        empty.__class__ = torchbnn.BayesLinear  # a genuine BayesLinear from here on
        return empty

    def pack(self, model: nn.Module) -> Params:
        """Copy a network's parameters into the packed float64 layout."""
        params = pack_layers(model)
        if not self.bayesian:
            params.log_sigma[:] = 0.0
        return params

    def unpack(self, params: Params, model: nn.Module) -> None:
        """Write packed parameters into a network's tensors (in their dtype)."""
        unpack_layers(params, model)

    def split(self, flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Cut packed values (..., P) into per-layer weights (..., out, in) and biases (..., out), as views."""
        lead = flat.shape[:-1]
        return [
            (flat[..., layer.weights].view(*lead, layer.fan_out, layer.fan_in), flat[..., layer.biases])
            for layer in self.layers
        ]

    def forward_samples(self, parameters: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor) -> torch.Tensor:
        """Logits of S networks on inputs x (N, D), in one batched pass, laid out (S, C, N).

        Args:
            parameters: per layer, weights (S, out, in) and biases (S, out).

        The activations are kept as (S, units, N), points last: every layer is then W_s @ h_s with the
        long N axis as the product's output rows, which BLAS does about 1.5× faster than (S, N, units)
        when the last layer has only a few classes.
        """
        activate = ACTIVATIONS[self.activation].in_place
        h = x.T  # (D, N), shared by every sample until the first layer
        for index, (weight, bias) in enumerate(parameters):
            if index:
                h = activate(h)  # a fresh tensor nobody else holds, so in place is safe
            n_samples, n_out, n_in = weight.shape
            if h.dim() == 2:
                # All S first layers as one matrix product on the shared input: [W_1; …; W_S] @ xᵀ is (S·out, N).
                h = torch.addmm(bias.reshape(-1, 1), weight.reshape(n_samples * n_out, n_in), h)
                h = h.view(n_samples, n_out, -1)  # (S, out, N)
            else:
                h = torch.baddbmm(bias.unsqueeze(2), weight, h)  # bias + W_s @ h_s, written once
        return h


class _UninitialisedBayesLinear(torchbnn.BayesLinear):
    """BayesLinear whose constructor skips ``reset_parameters``, which draws from torch's global generator.

    Used only during construction: :meth:`NetworkSpec.build` fills the tensors from the run's stream.
    """

    def reset_parameters(self) -> None:
        pass


def linear_layers(model: nn.Module) -> list[torchbnn.BayesLinear | nn.Linear]:
    """The model's ``BayesLinear`` and ``nn.Linear`` layers, input to output."""
    return [m for m in model.modules() if isinstance(m, torchbnn.BayesLinear | nn.Linear)]


def _tensors(module: nn.Module) -> tuple[tuple[torch.Tensor, torch.Tensor | None], ...]:
    """(mean, log σ) of the weights and of the biases; log σ is None for a plain layer."""
    if isinstance(module, torchbnn.BayesLinear):
        return (module.weight_mu, module.weight_log_sigma), (module.bias_mu, module.bias_log_sigma)
    return (module.weight, None), (module.bias, None)


def pack_layers(model: nn.Module) -> Params:
    """Every layer's means and log σ, packed (P,) float64 in order: per layer its weights, then its biases. Any
    network of ``BayesLinear`` or ``nn.Linear`` layers, whatever sits between them; a plain layer's log σ is 0."""
    means, spreads = [], []
    for module in linear_layers(model):
        for mean, spread in _tensors(module):
            means.append(mean.detach().double().flatten())
            spreads.append(torch.zeros_like(means[-1]) if spread is None else spread.detach().double().flatten())
    return Params(torch.cat(means).numpy().copy(), torch.cat(spreads).numpy().copy())


@torch.no_grad()
def unpack_layers(params: Params, model: nn.Module) -> None:
    """Write packed parameters (as :func:`pack_layers` lays them out) into a network's tensors, in their dtype."""
    position = 0
    for module in linear_layers(model):
        for mean, spread in _tensors(module):
            where = slice(position, position + mean.numel())
            mean.copy_(torch.from_numpy(params.mu[where]).view_as(mean))
            if spread is not None:
                spread.copy_(torch.from_numpy(params.log_sigma[where]).view_as(spread))
            position = where.stop


def layer_sizes(n_features: int, n_classes: int, config: ModelConfig) -> list[int]:
    """Widths from input to output, e.g. ``[4, 100, 3]`` for the article's network."""
    return list(NetworkSpec.for_data(n_features, n_classes, config).sizes)


def build_bnn(n_features: int, n_classes: int, config: ModelConfig, seed: int) -> nn.Sequential:
    """A ``BayesLinear`` network ``n_features → hidden… → n_classes``, initialised from stream key ``seed``."""
    spec = NetworkSpec.for_data(n_features, n_classes, config)
    return spec.build(spec.init(seed))


def build_twin(n_features: int, n_classes: int, config: ModelConfig, seed: int) -> nn.Sequential:
    """The deterministic twin: the same shape and activation with plain ``nn.Linear`` layers."""
    spec = NetworkSpec.for_data(n_features, n_classes, config, bayesian=False)
    return spec.build(spec.init(seed))


def bayes_layers(model: nn.Module) -> list[torchbnn.BayesLinear]:
    """The model's ``BayesLinear`` layers, input to output."""
    return [m for m in model.modules() if isinstance(m, torchbnn.BayesLinear)]


def n_bayes_parameters(model: nn.Module) -> int:
    """Number of Bayesian weights and biases (803 for 4→100→3); torchbnn's ``mean`` divides by it."""
    return sum(layer.weight_mu.numel() + layer.bias_mu.numel() for layer in bayes_layers(model))


def kl_divergence(model: nn.Module, reduction: str = "mean") -> torch.Tensor:
    """KL(q ‖ prior) of every ``BayesLinear`` weight and bias, with torchbnn ``BKLLoss`` semantics.

    For q = N(μ, σ²) and prior N(μ₀, σ₀²), each parameter contributes
    ``log σ₀ − log σ + (σ² + (μ − μ₀)²) / (2σ₀²) − ½`` (the formula the compiled trainer
    uses, :func:`bnn_core.compiled.kernels.kl_sum`). ``sum`` adds them all; ``mean`` divides that
    sum by :func:`n_bayes_parameters`. A model without Bayesian layers has KL 0.

    Returns:
        A scalar tensor of shape () (torchbnn's own returns shape (1,)).
    """
    spec = NetworkSpec.of(model)
    scale = spec.kl_scale(reduction)
    if scale == 0.0:
        return torch.zeros(())
    params = spec.pack(model)
    total = kernels.kl_sum(params.mu, params.log_sigma, spec.prior_mu, spec.prior_sigma)
    return torch.tensor(total * scale, dtype=torch.float32)
