"""Vectorised posterior sampling with addressable draws.

Draw ``k`` of a run always uses the same noise: the k-th stretch of P values of the
run's posterior-draw stream (:mod:`bnn_core.compiled.noise`, keyed by :mod:`bnn_core.seeds`),
cut layer by layer into ``weight_eps`` then ``bias_eps`` (torchbnn's order). So "sample
#k" is the same network every time it is asked for, alone or inside a batch of S, and a
batch's noise comes from one call.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..compiled import noise
from ..data.checks import checked_inputs
from ..model.network import NetworkSpec, bayes_layers
from ..seeds import DRAWS, stream_seed

# Floats in one intermediate tensor. Measured on this 2-core machine (alternating, medians): 4 MB pieces were
# the fastest for a 100×100 map with 100 samples (102 ms, against 122 ms for 8 MB and 141 ms for 2 MB), and no
# slower for 100 samples of 150 rows. Larger pieces fall out of cache between layers; smaller ones pay
# per-call overhead. Big grids and wide layers are done in pieces of this size.
_CHUNK_FLOATS = 2**20

Noise = list[tuple[torch.Tensor, torch.Tensor]]


def _bayesian_spec(model: nn.Module) -> NetworkSpec:
    spec = NetworkSpec.of(model)
    if not spec.bayesian:
        raise ValueError("posterior sampling needs a network of BayesLinear layers (from build_bnn)")
    return spec


def _draw_eps(spec: NetworkSpec, seed: int, first: int, n_draws: int) -> torch.Tensor:
    """The noise of draws ``first … first + n_draws − 1``, (S, P) float32: draw k is the k-th stretch of P."""
    if first < 0:
        raise ValueError(f"draw index must be 0 or more, got {first}")
    values = noise.normals(stream_seed(seed, DRAWS), first * spec.n_params, n_draws * spec.n_params)
    return torch.from_numpy(values).view(n_draws, spec.n_params).float()


def draw_noise(model: nn.Module, seed: int, index: int) -> Noise:
    """The standard-normal noise of draw ``index``: one ``(weight_eps, bias_eps)`` pair per layer.

    Shape:
        weight_eps: (out, in); bias_eps: (out,), for each ``BayesLinear`` layer.
    """
    spec = _bayesian_spec(model)
    return spec.split(_draw_eps(spec, seed, index, 1)[0])


def _sampled_parameters(spec: NetworkSpec, model: nn.Module, eps: torch.Tensor) -> Noise:
    """Weights (S, out, in) and biases (S, out) of the draws whose noise is ``eps`` (S, P): μ + σ·ε per layer."""
    return [
        (
            torch.addcmul(layer.weight_mu, layer.weight_log_sigma.exp(), weight_eps),
            torch.addcmul(layer.bias_mu, layer.bias_log_sigma.exp(), bias_eps),
        )
        for layer, (weight_eps, bias_eps) in zip(bayes_layers(model), spec.split(eps), strict=True)
    ]


def _softmax_(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax over ``dim``, in place. With few classes this is 3-4× faster than
    ``Tensor.softmax``, whose kernel is built for long rows."""
    exp = logits.sub_(logits.amax(dim=dim, keepdim=True)).exp_()
    return exp.div_(exp.sum(dim=dim, keepdim=True))


def _sampled_outputs(
    model: nn.Sequential,
    x: torch.Tensor,
    n_samples: int,
    seed: int,
    first: int,
    finish: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """``finish`` of the outputs (S, K, rows) of draws ``first … first + n_samples − 1``, chunk by chunk:
    (S, N, K)."""
    spec = _bayesian_spec(model)
    if n_samples < 1:
        raise ValueError("posterior sampling needs n_samples ≥ 1")
    x = checked_inputs(x, spec.sizes[0], "the inputs")
    noise.warm_up()  # the generator is compiled code: compile (or load) it before the first draw, once
    per_draw = max(layer.fan_in * layer.fan_out for layer in spec.layers)
    draws_per_chunk = max(1, _CHUNK_FLOATS // per_draw)
    chunks = []
    for start in range(first, first + n_samples, draws_per_chunk):
        count = min(draws_per_chunk, first + n_samples - start)
        parameters = _sampled_parameters(spec, model, _draw_eps(spec, seed, start, count))
        rows = max(1, _CHUNK_FLOATS // (count * max(spec.sizes[1:])))
        # Finished chunk by chunk, while the outputs (S, K, rows) are still in cache.
        parts = [finish(spec.forward_samples(parameters, x[r : r + rows])) for r in range(0, len(x), rows)]
        chunks.append((torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]).transpose(1, 2))  # (S, N, K)
    return torch.cat(chunks, dim=0) if len(chunks) > 1 else chunks[0].contiguous()


@torch.no_grad()
def sample_probs(model: nn.Sequential, x: torch.Tensor, n_samples: int, seed: int, first: int = 0) -> torch.Tensor:
    """Class probabilities of draws ``first … first + n_samples − 1``.

    Args:
        model: a network of ``BayesLinear`` layers (from :func:`~bnn_core.model.network.build_bnn`).
        x: inputs of shape (N, D), already scaled.
        n_samples: S, the number of posterior draws.
        seed: the run's seed; draw ``k`` is the same for the same seed.
        first: index of the first draw.

    Returns:
        Probabilities of shape (S, N, C).

    Raises:
        BNNInputError: ``x`` has the wrong shape or feature count, is not numeric, or holds NaN or infinity.
    """
    return _sampled_outputs(model, x, n_samples, seed, first, lambda logits: _softmax_(logits, dim=1))


@torch.no_grad()
def sample_outputs(model: nn.Sequential, x: torch.Tensor, n_samples: int, seed: int, first: int = 0) -> torch.Tensor:
    """The raw outputs (S, N, K) of draws ``first … first + n_samples − 1``: a regression network's mean (and
    log σ); the same draws, with the same noise, as :func:`sample_probs` would use.

    Raises:
        BNNInputError: ``x`` has the wrong shape or feature count, is not numeric, or holds NaN or infinity.
    """
    return _sampled_outputs(model, x, n_samples, seed, first, lambda outputs: outputs)


@torch.no_grad()
def draw_probs(model: nn.Sequential, x: torch.Tensor, seed: int, index: int) -> torch.Tensor:
    """Class probabilities (N, C) of the single posterior draw number ``index``."""
    return sample_probs(model, x, 1, seed, first=index)[0]


@torch.no_grad()
def twin_probs(twin: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities (N, C) of the deterministic twin.

    Raises:
        BNNInputError: ``x`` has the wrong shape or feature count, is not numeric, or holds NaN or infinity.
    """
    spec = NetworkSpec.of(twin)
    return twin(checked_inputs(x, spec.sizes[0], "the inputs")).softmax(dim=-1)
