"""The fast trainer: the whole ELBO step compiled with numba, with hand-derived gradients, in float64.

It trains the same torchbnn ``BayesLinear`` parameters with the same loss as the
reference loop in :mod:`bnn_core.train` (cross-entropy + kl_weight × KL, the KL
with ``BKLLoss``'s ``mean``/``sum`` meaning) and the same Adam update. What it
drops is per-operation overhead: the reference spends most of its ~3 ms a step
dispatching small tensor operations and building the autograd graph, not on
arithmetic.

Layout: every layer's ``weight_mu`` (out, in) and ``bias_mu`` (out,) are packed,
layer by layer, into one flat vector, and so are the log-sigmas and the noise,
matching :func:`bnn_core.sample.draw_noise`'s order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import torch
from torch import nn
from torchbnn import BayesLinear

from .model import bayes_layers

ACTIVATION_CODES = {nn.ReLU: 0, nn.Tanh: 1, nn.Sigmoid: 2}
ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, as the reference loop uses
ADAM_EPS = 1e-8
NOISE_FLOATS_PER_CHUNK = 2**22  # noise is drawn a chunk of steps at a time; this caps its memory (32 MB)


@dataclass(frozen=True, eq=False)
class Packed:
    """A Bayesian network flattened for the compiled loop.

    Shape: ``mu``, ``log_sigma`` (P,); ``shapes`` (L, 2) as (in, out); ``offsets`` (L,), where each
    layer's weights start (its biases follow them).
    """

    mu: np.ndarray
    log_sigma: np.ndarray
    shapes: np.ndarray
    offsets: np.ndarray
    activation: int
    prior_mu: float
    prior_sigma: float


def unsupported_reason(model: nn.Module) -> str | None:
    """Why ``model`` cannot use the fast path, or None when it can."""
    if not isinstance(model, nn.Sequential) or not bayes_layers(model):
        return "the fast path trains BayesLinear networks only"
    layers = list(model)
    if not all(isinstance(m, BayesLinear) for m in layers[::2]) or len(layers) % 2 == 0:
        return "the fast path needs BayesLinear layers with one activation between each pair"
    kinds = {type(m) for m in layers[1::2]}
    if len(kinds) > 1 or not kinds <= set(ACTIVATION_CODES):
        names = sorted(kind.__name__ for kind in kinds)
        return f"the fast path supports one of relu, tanh or sigmoid between layers, not {names}"
    priors = {(m.prior_mu, m.prior_sigma) for m in layers[::2]}
    if len(priors) > 1 or any(not m.bias for m in layers[::2]):
        return "the fast path needs one prior for all layers, and biases"
    return None


# Above this many activations per step (rows × summed layer widths) the compiled float64 loop loses to
# torch's float32 kernels: benchmarks/train_speed.py measured the compiled loop 2.8× faster than the article's
# at 1,500 rows × 103 units but 0.55× at 15,000 × 103 on this 2-core machine.
MAX_ACTIVATIONS = 600_000


def slower_reason(model: nn.Sequential, x: torch.Tensor) -> str | None:
    """Why torchbnn's loop would be faster for this problem size, or None."""
    activations = len(x) * sum(layer.out_features for layer in bayes_layers(model))
    if activations > MAX_ACTIVATIONS:
        return f"{len(x):,} rows × {activations // len(x):,} units is large enough that torch's kernels are faster"
    return None


def pack(model: nn.Sequential) -> Packed:
    """Copy a supported network's parameters into flat float64 vectors."""
    layers = bayes_layers(model)
    mu, log_sigma, shapes, offsets, position = [], [], [], [], 0
    for layer in layers:
        shapes.append((layer.in_features, layer.out_features))
        offsets.append(position)
        position += layer.weight_mu.numel() + layer.bias_mu.numel()
        for mean, spread in ((layer.weight_mu, layer.weight_log_sigma), (layer.bias_mu, layer.bias_log_sigma)):
            mu.append(mean.detach().double().flatten().numpy())
            log_sigma.append(spread.detach().double().flatten().numpy())
    activations = [ACTIVATION_CODES[type(m)] for m in list(model)[1::2]]
    return Packed(
        mu=np.concatenate(mu),
        log_sigma=np.concatenate(log_sigma),
        shapes=np.array(shapes, dtype=np.int64),
        offsets=np.array(offsets, dtype=np.int64),
        activation=activations[0] if activations else 0,
        prior_mu=float(layers[0].prior_mu),
        prior_sigma=float(layers[0].prior_sigma),
    )


@torch.no_grad()
def unpack(packed: Packed, model: nn.Sequential) -> None:
    """Write the flat parameters back into the model's torchbnn tensors."""
    for layer, (n_in, n_out), start in zip(bayes_layers(model), packed.shapes, packed.offsets, strict=True):
        n_weights = n_in * n_out
        pieces = (
            (layer.weight_mu, layer.weight_log_sigma, slice(start, start + n_weights)),
            (layer.bias_mu, layer.bias_log_sigma, slice(start + n_weights, start + n_weights + n_out)),
        )
        for mean, spread, where in pieces:
            mean.copy_(torch.from_numpy(packed.mu[where]).view_as(mean))
            spread.copy_(torch.from_numpy(packed.log_sigma[where]).view_as(spread))


@numba.njit(cache=True, nogil=True)
def _add_bias_and_activate(z: np.ndarray, bias: np.ndarray, activation: int, last: bool) -> None:
    """In place: z ← act(z + bias), or only z + bias for the output layer. One pass over (N, out)."""
    n_rows, n_out = z.shape
    for i in range(n_rows):
        for j in range(n_out):
            v = z[i, j] + bias[j]
            if last:
                z[i, j] = v
            elif activation == 0:
                z[i, j] = v if v > 0.0 else 0.0
            elif activation == 1:
                z[i, j] = math.tanh(v)
            else:
                z[i, j] = 1.0 / (1.0 + math.exp(-v))


@numba.njit(cache=True, nogil=True)
def _times_slope(grad: np.ndarray, a: np.ndarray, activation: int) -> None:
    """In place: grad ← grad · act'(z), written with the activation a = act(z) (relu's slope at 0 is 0, as torch)."""
    n_rows, n_cols = grad.shape
    for i in range(n_rows):
        for j in range(n_cols):
            if activation == 0:
                if a[i, j] <= 0.0:
                    grad[i, j] = 0.0
            elif activation == 1:
                grad[i, j] *= 1.0 - a[i, j] * a[i, j]
            else:
                grad[i, j] *= a[i, j] * (1.0 - a[i, j])


@numba.njit(cache=True, nogil=True)
def _step_gradients(
    mu, log_sigma, eps, x, y, shapes, offsets, activation, prior_mu, prior_sigma, kl_scale, kl_weight, grad_mu, grad_ls
):
    """Loss parts and gradients of one step for the given noise; fills grad_mu, grad_ls (P,).

    Returns (cross-entropy, KL in BKLLoss units, number of correct predictions).
    """
    n_rows = x.shape[0]
    n_layers = shapes.shape[0]
    weights = []
    inputs = [x]  # the input of each layer: x, then the activations
    h = x
    for layer in range(n_layers):
        n_in, n_out = shapes[layer, 0], shapes[layer, 1]
        start, n_w = offsets[layer], shapes[layer, 0] * shapes[layer, 1]
        w_end, b_end = start + n_w, start + n_w + n_out
        weight = (mu[start:w_end] + np.exp(log_sigma[start:w_end]) * eps[start:w_end]).reshape(n_out, n_in)
        bias = mu[w_end:b_end] + np.exp(log_sigma[w_end:b_end]) * eps[w_end:b_end]
        h = np.dot(h, weight.T)  # (N, out)
        last = layer == n_layers - 1
        _add_bias_and_activate(h, bias, activation, last)
        weights.append(weight)
        if not last:
            inputs.append(h)
    logits = h  # (N, C)
    n_classes = logits.shape[1]
    probs = np.empty_like(logits)
    ce = 0.0
    correct = 0
    for i in range(n_rows):
        top = logits[i, 0]
        best = 0
        for c in range(1, n_classes):
            if logits[i, c] > top:
                top = logits[i, c]
                best = c
        total = 0.0
        for c in range(n_classes):
            probs[i, c] = math.exp(logits[i, c] - top)
            total += probs[i, c]
        for c in range(n_classes):
            probs[i, c] /= total
        ce += math.log(total) + top - logits[i, y[i]]
        correct += best == y[i]
    ce /= n_rows
    grad_z = probs
    for i in range(n_rows):
        grad_z[i, y[i]] -= 1.0
    grad_z /= n_rows  # d mean-CE / d logits
    for layer in range(n_layers - 1, -1, -1):
        n_out = shapes[layer, 1]
        start, n_w = offsets[layer], shapes[layer, 0] * shapes[layer, 1]
        grad_w = np.dot(grad_z.T, inputs[layer]).ravel()  # (out · in,)
        grad_b = grad_z.sum(axis=0)
        if layer > 0:
            grad_z = np.dot(grad_z, weights[layer])  # (N, in): d loss / d activation of the layer below
            _times_slope(grad_z, inputs[layer], activation)
        for j in range(n_w + n_out):
            g = grad_w[j] if j < n_w else grad_b[j - n_w]
            k = start + j
            grad_mu[k] = g  # dw/dμ = 1
            grad_ls[k] = g * eps[k] * math.exp(log_sigma[k])  # dw/d log σ = σ ε
    # KL(N(μ, σ²) ‖ N(μ₀, σ₀²)) per parameter, and its closed-form gradient.
    prior_var = prior_sigma * prior_sigma
    prior_log_sigma = math.log(prior_sigma)
    kl = 0.0
    pull = kl_weight * kl_scale
    for k in range(mu.shape[0]):
        var = math.exp(2.0 * log_sigma[k])
        gap = mu[k] - prior_mu
        kl += prior_log_sigma - log_sigma[k] + (var + gap * gap) / (2.0 * prior_var) - 0.5
        grad_mu[k] += pull * gap / prior_var
        grad_ls[k] += pull * (var / prior_var - 1.0)
    return ce, kl * kl_scale, correct


# nogil: two browser sessions train in two threads of one process; without it they would take turns.
@numba.njit(cache=True, nogil=True)
def _train_steps(
    mu, log_sigma, noise, x, y, shapes, offsets, activation, prior_mu, prior_sigma, kl_scale, kl_weight,
    lr, first_step, m_mu, v_mu, m_ls, v_ls, history,
):  # fmt: skip
    """Run len(noise) Adam steps in place, writing (ce, kl, total, accuracy) per step into history."""
    beta1, beta2 = 0.9, 0.999
    grad_mu = np.empty_like(mu)
    grad_ls = np.empty_like(log_sigma)
    for s in range(noise.shape[0]):
        ce, kl, correct = _step_gradients(
            mu, log_sigma, noise[s], x, y, shapes, offsets, activation,
            prior_mu, prior_sigma, kl_scale, kl_weight, grad_mu, grad_ls,
        )  # fmt: skip
        history[s, 0] = ce
        history[s, 1] = kl
        history[s, 2] = ce + kl_weight * kl
        history[s, 3] = correct / x.shape[0]
        t = first_step + s + 1
        step_size = lr / (1.0 - beta1**t)
        root_bias = math.sqrt(1.0 - beta2**t)
        for k in range(mu.shape[0]):
            m_mu[k] = beta1 * m_mu[k] + (1.0 - beta1) * grad_mu[k]
            v_mu[k] = beta2 * v_mu[k] + (1.0 - beta2) * grad_mu[k] * grad_mu[k]
            mu[k] -= step_size * m_mu[k] / (math.sqrt(v_mu[k]) / root_bias + 1e-8)
            m_ls[k] = beta1 * m_ls[k] + (1.0 - beta1) * grad_ls[k]
            v_ls[k] = beta2 * v_ls[k] + (1.0 - beta2) * grad_ls[k] * grad_ls[k]
            log_sigma[k] -= step_size * m_ls[k] / (math.sqrt(v_ls[k]) / root_bias + 1e-8)


def kl_scale(packed: Packed, reduction: str) -> float:
    """BKLLoss's reduction: ``mean`` divides the KL sum by the number of Bayesian parameters."""
    return 1.0 / len(packed.mu) if reduction == "mean" else 1.0


def loss_and_gradients(
    model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, noise: np.ndarray, kl_weight: float, reduction: str
) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """One step's loss and gradients for a given noise draw, without changing the model.

    Args:
        noise: standard-normal ε (P,), in the packed order (layer by layer, weights then biases).

    Returns:
        (cross-entropy, KL, total loss, d total / d μ (P,), d total / d log σ (P,)).
    """
    packed = pack(model)
    grad_mu, grad_ls = np.empty_like(packed.mu), np.empty_like(packed.log_sigma)
    ce, kl, _ = _step_gradients(
        packed.mu, packed.log_sigma, np.ascontiguousarray(noise, dtype=np.float64),
        np.ascontiguousarray(x.double().numpy()), y.numpy().astype(np.int64), packed.shapes, packed.offsets,
        packed.activation, packed.prior_mu, packed.prior_sigma, kl_scale(packed, reduction), kl_weight,
        grad_mu, grad_ls,
    )  # fmt: skip
    return ce, kl, ce + kl_weight * kl, grad_mu, grad_ls


class FastTrainer:
    """Adam on the packed parameters, a chunk of steps per call; state carries over between calls."""

    def __init__(self, model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, lr: float, kl_weight: float,
                 reduction: str, seed: int) -> None:  # fmt: skip
        self.model = model
        self.packed = pack(model)
        self.x = np.ascontiguousarray(x.double().numpy())
        self.y = y.numpy().astype(np.int64)
        self.lr, self.kl_weight = lr, kl_weight
        self.scale = kl_scale(self.packed, reduction)
        self.moments = [np.zeros_like(self.packed.mu) for _ in range(4)]  # m_mu, v_mu, m_ls, v_ls
        self.noise = np.random.Generator(np.random.PCG64(seed))
        self.steps_done = 0

    def max_chunk(self) -> int:
        """Most steps per call that keep the drawn noise within NOISE_FLOATS_PER_CHUNK."""
        return max(1, NOISE_FLOATS_PER_CHUNK // len(self.packed.mu))

    def run(self, steps: int) -> np.ndarray:
        """Take ``steps`` steps; return their (steps, 4) history of ce, kl, total and train accuracy."""
        history = np.empty((steps, 4))
        noise = self.noise.standard_normal((steps, len(self.packed.mu)))
        p = self.packed
        _train_steps(
            p.mu, p.log_sigma, noise, self.x, self.y, p.shapes, p.offsets, p.activation, p.prior_mu,
            p.prior_sigma, self.scale, self.kl_weight, self.lr, self.steps_done, *self.moments, history,
        )  # fmt: skip
        self.steps_done += steps
        return history

    def write_back(self) -> None:
        unpack(self.packed, self.model)
