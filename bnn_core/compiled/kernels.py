"""The compiled ELBO step: forward, cross-entropy or Gaussian NLL, KL, hand-derived gradients and Adam, in float64.

These are the numba kernels behind :mod:`bnn_core.engine.fast`. They work on the packed layout of
:class:`bnn_core.model.network.NetworkSpec` and take a few structured arguments (named tuples):

- :class:`Net`: the layer shapes and where each starts, the activation code and the prior;
- :class:`Objective`: the training rows, the likelihood, the KL weight and scale, the training-noise key, and the
  dropout rate and mask key (MC dropout);
- :class:`Adam`: the learning rate and Adam's constants;
- :class:`State`: the parameters, a learned noise log σ, and Adam's moments, updated in place;
- :class:`Workspace`: buffers allocated once per run, so a step allocates nothing.

Activations are laid out (units, N), points last, so every inner loop runs along the N
training rows, contiguous and long, and vectorises. No BLAS is called: its thread pool
would spin against other sessions' work on a shared machine.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .jit import jit
from .noise import fill_normals, uniform_at

RELU, TANH, SIGMOID = 0, 1, 2
# The likelihoods of bnn_core.model.likelihood:
# softmax over classes; a Gaussian with one σ; a Gaussian head with log σ(x).
CATEGORICAL, GAUSSIAN, HETEROSCEDASTIC = 0, 1, 2
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Reassociation lets LLVM vectorise the sums along N; no "nnan"/"ninf", so a diverging run still shows NaN or inf.
# Only the loops along N have it: the sums over the parameters (the KL and its gradient, in step_gradients and
# kl_sum) keep IEEE order, because there the code numba compiles in a process and the code it loads from its cache
# reassociated differently, and a run's last bits then depended on whether the cache was warm (a heteroscedastic run's
# σ(x) ended 2,000× apart); they cost no measurable time.
_FAST = {"reassoc", "contract", "nsz", "arcp"}


class Net(NamedTuple):
    """The network. Shape: ``shapes`` (L, 2) as (fan_in, fan_out); ``starts`` (L,) first weight of each layer."""

    shapes: np.ndarray
    starts: np.ndarray
    activation: int
    prior_mu: float
    prior_sigma: float


class Objective(NamedTuple):
    """What is minimised: the mean data term on the rows + kl_weight × kl_scale × KL sum.

    Shape: ``xt`` (D, N'); ``y`` (N,) int64 labels for :data:`CATEGORICAL` (else empty); ``targets`` (N,) float64
    for the Gaussian likelihoods (else empty). N' ≥ N rounds the rows up for the vector loops; ``xt``'s columns
    N … N' − 1 are zeros, and carry no loss.
    """

    xt: np.ndarray
    y: np.ndarray
    kl_weight: float
    kl_scale: float  # torchbnn's reduction: 1 for "sum", 1/P for "mean", 0 for a plain network
    noise_key: np.uint64  # stream of the training noise: step t uses positions t·P … t·P + P − 1
    noisy: bool  # False for the deterministic twin: its weights are their means
    targets: np.ndarray
    likelihood: int  # CATEGORICAL, GAUSSIAN or HETEROSCEDASTIC
    learn_noise: bool  # GAUSSIAN: the one noise log σ (State.noise[0]) is trained by Adam too
    log_std_limit: float  # HETEROSCEDASTIC: log σ(x) is clamped to ± this, as bnn_core.model.likelihood does
    dropout: float  # the probability each hidden unit of each row is dropped in a step; 0: no dropout
    mask_key: np.uint64  # stream of the dropout masks: step t uses positions t·N·H … t·N·H + N·H − 1 (H hidden units)


class Adam(NamedTuple):
    lr: float
    beta1: float
    beta2: float
    eps: float


class State(NamedTuple):
    """The parameters and Adam's moments, each (P,), updated in place; ``noise`` (3,) holds the Gaussian
    likelihood's one log σ and its two Adam moments."""

    mu: np.ndarray
    log_sigma: np.ndarray
    m_mu: np.ndarray
    v_mu: np.ndarray
    m_ls: np.ndarray
    v_ls: np.ndarray
    noise: np.ndarray


class Workspace(NamedTuple):
    """Scratch buffers.

    Shape: the first seven (P,); ``activations`` (N' · Σ widths,); ``grad_a``, ``grad_b`` (N' · max width,);
    ``grad_noise`` (1,), d loss / d the one noise log σ; ``keep`` and ``dropped`` (N' · H,) with dropout, H the
    hidden units, laid out as the hidden layers' activations, else (0,).
    """

    eps: np.ndarray
    uniforms: np.ndarray  # the uniforms behind ``eps``
    weights: np.ndarray
    transposed: np.ndarray  # one layer's sampled weights as (in, out), for the backward pass
    sigma: np.ndarray
    grad_mu: np.ndarray
    grad_ls: np.ndarray
    activations: np.ndarray
    grad_a: np.ndarray
    grad_b: np.ndarray
    grad_noise: np.ndarray
    keep: np.ndarray  # this step's dropout mask: 0 for a dropped unit, 1 / (1 − p) for a kept one
    dropped: np.ndarray  # the hidden activations times ``keep``: what the layer above sees


@jit(fastmath=_FAST, inline="always")
def _activate(row: np.ndarray, activation: int) -> None:
    """In place: row ← act(row)."""
    if activation == RELU:
        # max(v, 0) written as (v + |v|) / 2: exact, NaN stays NaN, and it vectorises (3× faster here).
        for i in range(row.shape[0]):
            row[i] = 0.5 * (row[i] + abs(row[i]))
    elif activation == TANH:
        for i in range(row.shape[0]):
            row[i] = math.tanh(row[i])
    else:
        for i in range(row.shape[0]):
            row[i] = 1.0 / (1.0 + math.exp(-row[i]))


@jit(fastmath=_FAST, inline="always")
def _times_slope(grad: np.ndarray, a: np.ndarray, activation: int) -> None:
    """In place: grad ← grad · act'(z), written with a = act(z); relu's slope at 0 is 0, as in torch."""
    if activation == RELU:
        for i in range(grad.shape[0]):
            grad[i] *= a[i] > 0.0  # a multiply, not a branch, so it vectorises (3× faster here)
    elif activation == TANH:
        for i in range(grad.shape[0]):
            grad[i] *= 1.0 - a[i] * a[i]
    else:
        for i in range(grad.shape[0]):
            grad[i] *= a[i] * (1.0 - a[i])


@jit(fastmath=_FAST, inline="always")
def _times(row: np.ndarray, factors: np.ndarray) -> None:
    """In place: row ← row · factors, element by element. Shape: both (N,)."""
    for i in range(row.shape[0]):
        row[i] *= factors[i]


@jit(fastmath=_FAST, inline="always")
def _set_weighted_rows(row: np.ndarray, start: float, weights: np.ndarray, rows: np.ndarray) -> None:
    """row ← start + Σ_k weights[k] · rows[k], up to four rows per pass, so ``row`` is written a quarter as often.

    The first pass writes ``start`` and the first K mod 4 rows (or four), so no pass only fills or
    adds a single row. Shape: row (N,), weights (K,), rows (K, N), K ≥ 1.
    """
    n, count = row.shape[0], weights.shape[0]
    lead = count - 4 * ((count - 1) // 4)  # 1 to 4 rows in the first pass
    w0, r0 = weights[0], rows[0]
    if lead == 1:
        for i in range(n):
            row[i] = start + w0 * r0[i]
    elif lead == 2:
        w1, r1 = weights[1], rows[1]
        for i in range(n):
            row[i] = start + w0 * r0[i] + w1 * r1[i]
    elif lead == 3:
        w1, w2, r1, r2 = weights[1], weights[2], rows[1], rows[2]
        for i in range(n):
            row[i] = start + w0 * r0[i] + w1 * r1[i] + w2 * r2[i]
    else:
        w1, w2, w3, r1, r2, r3 = weights[1], weights[2], weights[3], rows[1], rows[2], rows[3]
        for i in range(n):
            row[i] = start + w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i]
    for k in range(lead, count, 4):
        w0, w1, w2, w3 = weights[k], weights[k + 1], weights[k + 2], weights[k + 3]
        r0, r1, r2, r3 = rows[k], rows[k + 1], rows[k + 2], rows[k + 3]
        for i in range(n):
            row[i] += w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i]


@jit(fastmath=_FAST, inline="always")
def _dot_rows(g: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """out[k] = g · rows[k], four rows per pass so ``g`` is read a quarter as often. Shape: g (N,), rows (K, N)."""
    n, k, count = g.shape[0], 0, rows.shape[0]
    while k + 4 <= count:
        r0, r1, r2, r3 = rows[k], rows[k + 1], rows[k + 2], rows[k + 3]
        t0 = t1 = t2 = t3 = 0.0
        for i in range(n):
            t0 += g[i] * r0[i]
            t1 += g[i] * r1[i]
            t2 += g[i] * r2[i]
            t3 += g[i] * r3[i]
        out[k], out[k + 1], out[k + 2], out[k + 3] = t0, t1, t2, t3
        k += 4
    while k < count:
        r, total = rows[k], 0.0
        for i in range(n):
            total += g[i] * r[i]
        out[k] = total
        k += 1


@jit(fastmath=_FAST)
def _forward(net: Net, xt: np.ndarray, work: Workspace, masked: bool) -> np.ndarray:
    """Fill every layer's output (units, N) for the weights in ``work.weights`` into ``work.activations``; return
    the logits (C, N).

    With ``masked`` each hidden layer's output times ``work.keep`` goes into ``work.dropped``, and the layer above
    reads that; ``work.activations`` keeps the unmasked outputs, whose slope the backward pass needs.
    """
    n = xt.shape[1]
    n_layers = net.shapes.shape[0]
    h_in = xt
    offset = 0
    for layer in range(n_layers):
        fan_in, fan_out, start = net.shapes[layer, 0], net.shapes[layer, 1], net.starts[layer]
        weight = work.weights[start : start + fan_in * fan_out].reshape(fan_out, fan_in)
        bias = work.weights[start + fan_in * fan_out : start + fan_in * fan_out + fan_out]
        h = work.activations[offset : offset + fan_out * n].reshape(fan_out, n)
        for j in range(fan_out):
            _set_weighted_rows(h[j], bias[j], weight[j], h_in)
            if layer < n_layers - 1:
                _activate(h[j], net.activation)
        if masked and layer < n_layers - 1:
            keep = work.keep[offset : offset + fan_out * n]
            seen = work.dropped[offset : offset + fan_out * n]
            flat = work.activations[offset : offset + fan_out * n]
            for i in range(fan_out * n):
                seen[i] = flat[i] * keep[i]
            h = seen.reshape(fan_out, n)
        offset += fan_out * n
        h_in = h
    return h_in


@jit(fastmath=_FAST)
def _cross_entropy(logits: np.ndarray, y: np.ndarray, grad: np.ndarray) -> tuple[float, int]:
    """Mean CE of logits (C, N') against y (N,), and d CE / d logits into grad (C, N'); also the number right.

    Columns N … N' − 1 are padding: they get a zero gradient and count for nothing.
    """
    n_classes, n = logits.shape[0], y.shape[0]
    grad[:, n:] = 0.0
    ce = 0.0
    correct = 0
    for i in range(n):
        top, best = logits[0, i], 0
        for c in range(1, n_classes):
            if logits[c, i] > top:
                top, best = logits[c, i], c
        total = 0.0
        for c in range(n_classes):
            grad[c, i] = math.exp(logits[c, i] - top)
            total += grad[c, i]
        for c in range(n_classes):
            grad[c, i] /= total * n
        grad[y[i], i] -= 1.0 / n
        ce += math.log(total) + top - logits[y[i], i]
        correct += best == y[i]
    return ce / n, correct


@jit(fastmath=_FAST)
def _gaussian(
    outputs: np.ndarray, objective: Objective, log_sigma: float, grad: np.ndarray
) -> tuple[float, float, float]:
    """Mean Gaussian NLL (with ½ log 2π) of outputs (K, N') against the targets (N,), d NLL / d outputs into
    grad (K, N'); also the sum of squared errors and d NLL / d the one noise log σ (0 for the heteroscedastic head).

    Output row 0 is the mean; for the heteroscedastic head row 1 is log σ(x), clamped to ± the limit, whose
    gradient is then 0 outside it (torch.clamp's). Columns N … N' − 1 are padding, with zero gradient.
    """
    targets, limit = objective.targets, objective.log_std_limit
    n = targets.shape[0]
    per_input = objective.likelihood == HETEROSCEDASTIC
    grad[:, n:] = 0.0
    nll, squared, grad_noise = 0.0, 0.0, 0.0
    for i in range(n):
        residual = targets[i] - outputs[0, i]
        squared += residual * residual
        log_std = min(max(outputs[1, i], -limit), limit) if per_input else log_sigma
        z2 = residual * residual * math.exp(-2.0 * log_std)
        nll += _HALF_LOG_2PI + log_std + 0.5 * z2
        grad[0, i] = -residual * math.exp(-2.0 * log_std) / n
        if per_input:
            grad[1, i] = (1.0 - z2) / n if -limit <= outputs[1, i] <= limit else 0.0
        else:
            grad_noise += (1.0 - z2) / n
    return nll / n, squared, grad_noise


@jit(fastmath=_FAST)
def _backward(net: Net, xt: np.ndarray, work: Workspace, grad_logits: np.ndarray, masked: bool) -> None:
    """d CE / d weight for every weight and bias, into ``work.grad_mu`` (the sampled weight's gradient).

    With ``masked`` (dropout) a layer's input is its masked activations, ``work.dropped``, and the gradient passed
    below is multiplied by the mask before the activation's slope.
    """
    n = xt.shape[1]
    grad = grad_logits  # lives in grad_a; each layer below writes into the other buffer
    into_b = True
    offset = work.activations.shape[0]
    for layer in range(net.shapes.shape[0] - 1, -1, -1):
        fan_in, fan_out, start = net.shapes[layer, 0], net.shapes[layer, 1], net.starts[layer]
        offset -= fan_out * n
        below_start = offset - fan_in * n
        inputs = work.dropped if masked else work.activations
        below = inputs[below_start:offset].reshape(fan_in, n) if layer > 0 else xt
        grad_weight = work.grad_mu[start : start + fan_in * fan_out].reshape(fan_out, fan_in)
        for j in range(fan_out):
            g = grad[j]
            work.grad_mu[start + fan_in * fan_out + j] = g.sum()
            _dot_rows(g, below, grad_weight[j])
        if layer == 0:
            break
        activated = work.activations[below_start:offset].reshape(fan_in, n)  # unmasked: act(z), for the slope
        weight = work.weights[start : start + fan_in * fan_out].reshape(fan_out, fan_in)
        weight_t = work.transposed[: fan_in * fan_out].reshape(fan_in, fan_out)
        for j in range(fan_out):
            for k in range(fan_in):
                weight_t[k, j] = weight[j, k]
        grad_below = (work.grad_b if into_b else work.grad_a)[: fan_in * n].reshape(fan_in, n)
        for k in range(fan_in):
            _set_weighted_rows(grad_below[k], 0.0, weight_t[k], grad)
            if masked:
                _times(grad_below[k], work.keep[below_start + k * n : below_start + (k + 1) * n])
            _times_slope(grad_below[k], activated[k], net.activation)
        into_b = not into_b
        grad = grad_below


@jit(inline="always")
def _kl_term(mu: float, log_sigma: float, sigma: float, prior_mu: float, prior_log_sigma: float, prior_var: float):
    """KL(N(μ, σ²) ‖ N(μ₀, σ₀²)) of one parameter: log σ₀ − log σ + (σ² + (μ − μ₀)²) / 2σ₀² − ½."""
    gap = mu - prior_mu
    return prior_log_sigma - log_sigma + (sigma * sigma + gap * gap) / (2.0 * prior_var) - 0.5


@jit
def kl_sum(mu: np.ndarray, log_sigma: np.ndarray, prior_mu: float, prior_sigma: float) -> float:
    """Σ of :func:`_kl_term` over all parameters (P,)."""
    prior_log_sigma, prior_var = math.log(prior_sigma), prior_sigma * prior_sigma
    total = 0.0
    for k in range(mu.shape[0]):
        total += _kl_term(mu[k], log_sigma[k], math.exp(log_sigma[k]), prior_mu, prior_log_sigma, prior_var)
    return total


@jit
def step_gradients(
    net: Net, objective: Objective, mu: np.ndarray, log_sigma: np.ndarray, noise_log_sigma: float, work: Workspace
):
    """One step for the noise in ``work.eps``: loss parts, and gradients into ``work.grad_mu``, ``work.grad_ls``
    and ``work.grad_noise`` (the one noise log σ's, set to 0 when there is none).

    Returns (data term, KL in BKLLoss units, score): the score is the number of training rows predicted right
    (classification) or the sum of squared errors of the mean (regression).
    """
    for k in range(mu.shape[0]):
        work.sigma[k] = math.exp(log_sigma[k])
        work.weights[k] = mu[k] + work.sigma[k] * work.eps[k]
    masked = objective.dropout > 0.0  # then work.keep holds this step's mask
    outputs = _forward(net, objective.xt, work, masked)
    grad_outputs = work.grad_a[: outputs.size].reshape(outputs.shape)
    if objective.likelihood == CATEGORICAL:
        data, correct = _cross_entropy(outputs, objective.y, grad_outputs)
        score, work.grad_noise[0] = float(correct), 0.0
    else:
        data, score, work.grad_noise[0] = _gaussian(outputs, objective, noise_log_sigma, grad_outputs)
    _backward(net, objective.xt, work, grad_outputs, masked)
    # dw/dμ = 1 and dw/d log σ = σ ε; then the KL's closed-form gradient.
    pull = objective.kl_weight * objective.kl_scale
    prior_var, prior_log_sigma = net.prior_sigma * net.prior_sigma, math.log(net.prior_sigma)
    kl = 0.0
    for k in range(mu.shape[0]):
        sigma = work.sigma[k]
        work.grad_ls[k] = work.grad_mu[k] * work.eps[k] * sigma
        work.grad_mu[k] += pull * (mu[k] - net.prior_mu) / prior_var
        work.grad_ls[k] += pull * (sigma * sigma / prior_var - 1.0)
        kl += _kl_term(mu[k], log_sigma[k], sigma, net.prior_mu, prior_log_sigma, prior_var)
    return data, kl * objective.kl_scale, score


@jit(fastmath=_FAST)
def negative_log_likelihood(net: Net, objective: Objective, noise_log_sigma: float, work: Workspace) -> float:
    """−log p(y | x, w) summed over the rows, for the deterministic weights in ``work.weights`` (P,); its gradient
    d / d w into ``work.grad_mu`` (P,). HMC's potential is this plus the prior's term.

    The Gaussian likelihood has one noise σ, ``exp(noise_log_sigma)``, fixed (never the heteroscedastic head).
    No dropout: HMC's network is the whole one.
    """
    outputs = _forward(net, objective.xt, work, False)
    grad_outputs = work.grad_a[: outputs.size].reshape(outputs.shape)
    if objective.likelihood == CATEGORICAL:
        data, _ = _cross_entropy(outputs, objective.y, grad_outputs)
        n_rows = objective.y.shape[0]
    else:
        data, _, _ = _gaussian(outputs, objective, noise_log_sigma, grad_outputs)
        n_rows = objective.targets.shape[0]
    _backward(net, objective.xt, work, grad_outputs, False)
    # The data terms above are means over the rows; the likelihood is their sum.
    for k in range(work.grad_mu.shape[0]):
        work.grad_mu[k] *= n_rows
    return data * n_rows


@jit
def _adam_update(
    parameter: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, adam: Adam, step: float
) -> None:
    """torch.optim.Adam's single-tensor update, written in the same order (lerp for m, then addcdiv)."""
    step_size = adam.lr / (1.0 - adam.beta1**step)
    root_correction = math.sqrt(1.0 - adam.beta2**step)
    for k in range(parameter.shape[0]):
        m[k] += (1.0 - adam.beta1) * (grad[k] - m[k])
        v[k] = v[k] * adam.beta2 + (1.0 - adam.beta2) * grad[k] * grad[k]
        parameter[k] += -step_size * (m[k] / (math.sqrt(v[k]) / root_correction + adam.eps))


@jit
def fill_keep(net: Net, key: np.uint64, p: float, step: int, n_rows: int, keep: np.ndarray) -> None:
    """Step ``step``'s (0-based) dropout masks into ``keep`` (N' · H,), laid out as the hidden activations.

    The uniforms are those of a mask (N, units) per hidden layer, row by row, layer after layer, from position
    step · N · H of stream ``key``: unit j of row i in a hidden layer whose masks start at position s is kept if the
    uniform at s + i · units + j is ≥ p, and then scaled by 1 / (1 − p) so its expected value is unchanged. Padding
    rows N … N' − 1 get 0.
    """
    hidden = net.shapes[:-1, 1].sum()
    n_padded = keep.shape[0] // hidden
    scale = 1.0 / (1.0 - p)
    position = step * n_rows * hidden
    offset = 0
    for layer in range(net.shapes.shape[0] - 1):
        units = net.shapes[layer, 1]
        mask = keep[offset : offset + units * n_padded].reshape(units, n_padded)
        for j in range(units):
            for i in range(n_rows):
                mask[j, i] = scale if uniform_at(key, position + i * units + j) >= p else 0.0
            mask[j, n_rows:] = 0.0
        position += n_rows * units
        offset += units * n_padded


@jit
def train_steps(
    net: Net, objective: Objective, adam: Adam, state: State, work: Workspace, first_step: int, history: np.ndarray
) -> None:
    """Run ``len(history)`` Adam steps in place, from step ``first_step`` (0-based), recording each step's
    (data term, kl, total, score) in ``history`` (T, 4): the score is the train accuracy, or the train RMSE."""
    n_params = state.mu.shape[0]
    regression = objective.likelihood != CATEGORICAL
    n_rows = objective.targets.shape[0] if regression else objective.y.shape[0]
    noise = state.noise
    for s in range(history.shape[0]):
        step = first_step + s
        if objective.noisy:
            fill_normals(objective.noise_key, step * n_params, work.eps, work.uniforms)
        if objective.dropout > 0.0:
            fill_keep(net, objective.mask_key, objective.dropout, step, n_rows, work.keep)
        data, kl, score = step_gradients(net, objective, state.mu, state.log_sigma, noise[0], work)
        history[s, 0] = data
        history[s, 1] = kl
        history[s, 2] = data + objective.kl_weight * kl
        history[s, 3] = math.sqrt(score / n_rows) if regression else score / n_rows
        _adam_update(state.mu, work.grad_mu, state.m_mu, state.v_mu, adam, float(step + 1))
        _adam_update(state.log_sigma, work.grad_ls, state.m_ls, state.v_ls, adam, float(step + 1))
        if objective.learn_noise:
            _adam_update(noise[0:1], work.grad_noise, noise[1:2], noise[2:3], adam, float(step + 1))
