"""Inside the network: each layer's learned weights against the prior, and what networks drawn from the prior predict.

A trained layer holds, for every weight and bias, a posterior N(μ, σ²) and its KL to the prior N(μ₀, σ₀²)
(:func:`layer_weights`). Before any training, networks drawn from the prior itself show what the prior alone
believes (:func:`prior_map`, :func:`prior_curves`): with a small σ₀ every draw is nearly constant, with a large
one every draw is a confident, wildly different function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from torch import nn

from ..compiled import kernels
from ..data.prepared import PreparedData
from ..model.network import NetworkSpec, Params
from .probing import FeatureGrid
from .sample import sample_outputs, sample_probs
from .uncertainty import point_uncertainty

PRIOR_DRAWS = 50  # prior networks behind the map's confidence and mutual information
# What the dashboard draws of the prior (benchmarks/prior_speed.py times the same): 80² points keep one update
# of four maps well within 0.5 s beside a busy neighbour.
PRIOR_MAPS = 4
PRIOR_RESOLUTION = 80
PRIOR_CURVES = 20
LOW_SNR = 1.0  # |μ|/σ below this: the posterior cannot tell the weight from zero
HIGH_SNR = 3.0  # |μ|/σ above this: the data pinned the weight down
KEPT_WIDTH = 0.9  # σ ≥ this × σ₀: the data did not narrow the weight


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """One layer's posterior, weights then biases, as packed. Shape: ``mu``, ``sigma`` (n,)."""

    name: str  # e.g. "layer 1 (4 → 100)"
    mu: np.ndarray
    sigma: np.ndarray
    kl: float  # Σ KL(N(μ, σ²) ‖ N(μ₀, σ₀²)) over the layer's weights and biases, in nats

    @property
    def n(self) -> int:
        return len(self.mu)

    @property
    def snr(self) -> np.ndarray:
        """The signal-to-noise ratio |μ|/σ of every parameter (n,)."""
        return np.abs(self.mu) / self.sigma


def layer_weights(model: nn.Module) -> list[LayerWeights]:
    """The posterior of each ``BayesLinear`` layer of ``model``, input to output.

    Raises:
        ValueError: the model is a plain network, with no posterior to show.
    """
    spec = NetworkSpec.of(model)
    if not spec.bayesian:
        raise ValueError("weight posteriors need a network of BayesLinear layers (from build_bnn)")
    return packed_layer_weights(spec, spec.pack(model))


def packed_layer_weights(spec: NetworkSpec, params: Params) -> list[LayerWeights]:
    """Each layer's slice of packed ``params`` (P,), with its KL by the formula of :func:`kernels.kl_sum`, so the
    layers' KLs add up to the network's ``kl_divergence(model, "sum")``."""
    layers = []
    for index, layer in enumerate(spec.layers, start=1):
        part = slice(layer.start, layer.biases.stop)  # the weights, then the biases right after them
        mu, log_sigma = params.mu[part], params.log_sigma[part]
        kl = kernels.kl_sum(mu, log_sigma, spec.prior_mu, spec.prior_sigma)
        name = f"layer {index} ({layer.fan_in} → {layer.fan_out})"
        layers.append(LayerWeights(name, mu.copy(), np.exp(log_sigma), float(kl)))
    return layers


@dataclass(frozen=True)
class WeightCounts:
    """How many of a network's P parameters the data pinned down, and how many kept the prior."""

    total: int  # P
    low_snr: int  # |μ|/σ < LOW_SNR
    high_snr: int  # |μ|/σ > HIGH_SNR
    kept_width: int  # σ ≥ KEPT_WIDTH × σ₀
    switched_off: int  # kept the width and |μ − μ₀| < σ₀: the posterior is still the prior


def weight_counts(layers: list[LayerWeights], prior_mu: float, prior_sigma: float) -> WeightCounts:
    """Count, over every layer, the parameters in each class of :class:`WeightCounts`."""
    mu = np.concatenate([layer.mu for layer in layers])
    sigma = np.concatenate([layer.sigma for layer in layers])
    snr = np.abs(mu) / sigma
    kept = sigma >= KEPT_WIDTH * prior_sigma
    return WeightCounts(
        total=len(mu),
        low_snr=int(np.sum(snr < LOW_SNR)),
        high_snr=int(np.sum(snr > HIGH_SNR)),
        kept_width=int(np.sum(kept)),
        switched_off=int(np.sum(kept & (np.abs(mu - prior_mu) < prior_sigma))),
    )


def prior_params(spec: NetworkSpec) -> Params:
    """The prior as a posterior: every μ = μ₀ and every log σ = log σ₀ (P,), so sampling it draws from the prior."""
    return Params(np.full(spec.n_params, spec.prior_mu), np.full(spec.n_params, math.log(spec.prior_sigma)))


def prior_network(spec: NetworkSpec) -> nn.Sequential:
    """A ``BayesLinear`` network whose every weight is distributed as the prior N(μ₀, σ₀²)."""
    return spec.build(prior_params(spec))


@dataclass(frozen=True, eq=False)
class PriorMaps:
    """What networks drawn from the prior predict over a grid, indexed [y, x] like :class:`~bnn_core.GridMap`.

    Shape: ``predicted`` (M, R, R), the class each of the first M prior draws picks; ``draw_confidence`` and
    ``epistemic`` (R, R), over all S draws.
    """

    predicted: np.ndarray
    draw_confidence: np.ndarray  # mean over the draws of each one's top probability: how sure one prior network is
    epistemic: np.ndarray  # mutual information, nats: how much the prior networks disagree


def prior_map(
    spec: NetworkSpec, data: PreparedData, grid: FeatureGrid, n_maps: int, seed: int, draws: int = PRIOR_DRAWS
) -> PriorMaps:
    """The predictions of prior draws ``0 … max(n_maps, draws) − 1`` at every grid point (inputs scaled as ``data``).

    Draws come from the run's posterior-draw stream, as the posterior's do: the prior network is another network,
    so sharing the noise ε harms nothing, and it keeps draw k's ε the same for every σ₀, so moving σ₀ rescales the
    same networks (μ₀ + σ₀ ε) instead of drawing new ones.
    """
    probs = sample_probs(prior_network(spec), data.inputs(grid.points), max(n_maps, draws), seed)  # (S, R·R, C)
    shape = (len(grid.ys), len(grid.xs))
    u = point_uncertainty(probs)
    predicted = probs[:n_maps].argmax(dim=-1).numpy().reshape(n_maps, *shape)
    return PriorMaps(
        predicted=predicted,
        draw_confidence=probs.amax(dim=-1).mean(dim=0).numpy().reshape(shape),
        epistemic=u.epistemic.numpy().reshape(shape),
    )


def prior_curves(spec: NetworkSpec, data: PreparedData, grid_x: np.ndarray, n_curves: int, seed: int) -> np.ndarray:
    """The mean functions (n_curves, G) of prior draws ``0 … n_curves − 1`` at raw inputs ``grid_x`` (G, D), in
    the target's units; drawn from the posterior-draw stream for the reason :func:`prior_map` gives."""
    outputs = sample_outputs(prior_network(spec), data.inputs(grid_x), n_curves, seed)  # (S, G, K)
    return data.to_target_units(outputs[..., 0].double().numpy())
