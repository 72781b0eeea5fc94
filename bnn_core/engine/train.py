"""fit(): full-batch ELBO training with progress, cancellation and a per-step history.

The loss is the article's: ``CE + kl_weight × KL``, with the KL in torchbnn
``BKLLoss`` units. With ``kl_reduction="sum"`` and ``kl_weight = 1/N`` this is
the negative ELBO divided by N (Blundell et al. 2015); ``"mean"`` also divides
the KL by the number of Bayesian parameters, so the prior pulls far more weakly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torchbnn
from torch import nn

from ..compiled import noise
from ..config import TrainConfig
from ..data.checks import check_training_inputs
from ..errors import BNNInputError
from ..model.likelihood import Categorical, Likelihood
from ..model.network import (
    ADAM_BETAS,
    ADAM_EPS,
    NetworkSpec,
    UnsupportedNetwork,
    bayes_layers,
    linear_layers,
    n_bayes_parameters,
    pack_layers,
    unpack_layers,
)
from . import fast
from .schedule import WINDOW, Schedule, Verdict


@dataclass(frozen=True)
class Progress:
    """What the progress callback sees every k steps (and at the last step)."""

    step: int  # steps done so far, 1-based
    epochs: int  # steps planned
    ce: float  # cross-entropy of this step's sampled network
    kl: float  # KL term in BKLLoss units
    total: float  # ce + kl_weight × kl
    train_accuracy: float  # accuracy of this step's sampled network on the training rows
    elapsed: float  # seconds in the optimisation loop so far
    layer_sigma: tuple[float, ...] = ()  # each layer's mean posterior σ (weights and biases); () for a plain network
    lr: float = 0.0  # the learning rate of the step just taken (the plateau schedule lowers it)


# Return True to stop training early; the result then has ``cancelled=True``.
ProgressCallback = Callable[[Progress], bool | None]


@dataclass(frozen=True, eq=False)
class History:
    """Every step's losses. Shape: each field (T,), T = steps run.

    For regression ``ce`` holds the data term, the Gaussian NLL, and ``train_accuracy`` the train RMSE
    (:mod:`bnn_core.model.likelihood`).
    """

    ce: np.ndarray
    kl: np.ndarray
    total: np.ndarray
    train_accuracy: np.ndarray

    def frame(self) -> pd.DataFrame:
        """One row per step: ``step`` (1-based), ``ce``, ``kl``, ``total``, ``train_accuracy``."""
        return pd.DataFrame(
            {
                "step": np.arange(1, len(self.ce) + 1),
                "ce": self.ce,
                "kl": self.kl,
                "total": self.total,
                "train_accuracy": self.train_accuracy,
            }
        )


@dataclass(frozen=True, eq=False)
class FitResult:
    """What :func:`fit` learned about the run (the model itself is trained in place)."""

    history: History
    steps: int  # steps actually run
    train_seconds: float  # the optimisation loop only, without time spent in the callback
    cancelled: bool  # True when the callback stopped the run early
    engine: str  # the trainer that ran: "fast" or "torchbnn"
    note: str = ""  # why the requested engine was not used, if it was not
    verdict: Verdict | None = None  # whether the loss and σ had settled (engine.schedule); None: not judged
    final_lr: float | None = None  # the learning rate of the last step
    kl_weight: float | None = None  # the KL weight used, as a number ("1/N" resolved for these training rows)

    @property
    def converged(self) -> bool | None:
        """True if the loss and every σ had settled when training ended; None for a run that was never judged."""
        return None if self.verdict is None else self.verdict.converged

    def metrics(self) -> dict[str, float | int | str | bool | None]:
        """What ``metrics.json`` records of the training itself."""
        return {
            "train_seconds": self.train_seconds,
            "steps": self.steps,
            "engine": self.engine,
            "engine_note": self.note,
            "converged": self.converged,
            "convergence_note": "" if self.verdict is None else self.verdict.reason,
            "final_lr": self.final_lr,
            "kl_weight_used": self.kl_weight,
        }


def default_progress_every(epochs: int) -> int:
    """About 100 progress reports per run (the torchbnn loop's default)."""
    return max(1, epochs // 100)


# The compiled loop's default block of steps between reports lasts about this long. Each report needs Python's GIL,
# which a server's sessions share: with 100 reports a run, 8 sessions' trainings at once queued for it and took
# 7.1× their time alone on 2 cores, against 5.5× with a tenth as many (benchmarks/room.py).
REPORT_SECONDS = 0.1
_FIRST_BLOCK = 10  # steps, before the loop's speed on this machine is known


def next_block(steps: int, seconds: float) -> int:
    """The steps of the next block, after ``steps`` took ``seconds``: about REPORT_SECONDS' worth, at most 10×
    the last block (one quick block on a noisy machine must not make the next one run for minutes)."""
    wanted = steps * REPORT_SECONDS / max(seconds, 1e-9)
    return max(1, min(int(wanted), 10 * steps))


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    seed: int,
    on_progress: ProgressCallback | None = None,
    progress_every: int | None = None,
    likelihood: Likelihood | None = None,
    dropout: fast.Dropout | None = None,
) -> FitResult:
    """Train ``model`` in place on the full batch ``(x, y)`` for ``config.epochs`` Adam steps.

    Works for the Bayesian network and for its deterministic twin (whose KL is 0).
    ``config.engine`` picks the trainer: ``"fast"`` (the compiled loop of
    :mod:`bnn_core.engine.fast`) or ``"torchbnn"`` (the article's loop with autograd). Both
    start from the model's weights and draw step t's weight noise from the same
    positions of stream ``seed``, so they differ only by arithmetic. A model the fast
    path cannot describe, or a problem so large that torch is faster, falls back to
    torchbnn, and the result's ``note`` says why. No global random generator is read.

    Args:
        model: from :func:`~bnn_core.model.network.build_bnn` or :func:`~bnn_core.model.network.build_twin`.
        x: training inputs (N, D), float32 (or float64 with a float64 model).
        y: training labels (N,) int64.
        config: epochs, learning rate, KL weight and reduction, engine.
        seed: key of the training-noise stream; the same key repeats the run exactly.
        on_progress: called every ``progress_every`` steps and at the end; return True to stop.
        progress_every: steps between callbacks (default: the compiled loop reports about every REPORT_SECONDS,
            torchbnn's about 100 times a run). The run is the same whatever the blocks.
        likelihood: the data term: :class:`~bnn_core.model.likelihood.Categorical` (the default; y (N,) int64 labels)
            or :class:`~bnn_core.model.likelihood.Gaussian` (y (N,) float targets; a learned noise σ is trained in place
            too). Both engines train either.
        dropout: drop hidden units while training (MC dropout), with masks from their own stream
            (:class:`~bnn_core.engine.fast.Dropout`). Only the compiled loop draws masks, so it trains such a run
            whatever ``config.engine`` says and however large the problem.

    Raises:
        BNNInputError: the rows do not fit the network (feature count, labels beyond its classes, NaN), or the
            loss became NaN or infinite; the message names the setting to change.
    """
    layers = linear_layers(model)
    if not layers:
        raise UnsupportedNetwork("fit() trains networks of BayesLinear or nn.Linear layers; this model has none")
    likelihood = likelihood if likelihood is not None else Categorical()
    config = config.resolved(len(x))  # a weight "F/N" is F over these training rows
    check_training_inputs(x, layers[0].in_features)
    likelihood.check_targets(y, len(x), layers[-1].out_features)
    fast.warm_up()  # compile (or load) the kernels now, never inside the training clock
    if dropout is not None:
        spec = NetworkSpec.of(model)
        return _fit_fast(model, spec, x, y, config, seed, on_progress, progress_every, likelihood, dropout)
    note = ""
    if config.engine == "fast":
        try:
            spec = NetworkSpec.of(model)
            reason = fast.slower_reason(spec, len(x))
        except UnsupportedNetwork as err:
            reason = f"the fast path needs {err}"
        if reason is None:
            return _fit_fast(model, spec, x, y, config, seed, on_progress, progress_every, likelihood)
        note = f"trained with torchbnn autograd: {reason}"
    every = progress_every or default_progress_every(config.epochs)
    return _fit_reference(model, x, y, config, seed, on_progress, every, note, likelihood)


class TrainingClock:
    """Optimisation time, with the time spent in the progress callback left out."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.paused = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def report(self, on_progress: ProgressCallback | None, progress: Progress) -> bool:
        """Call the callback outside the clock; True if it asked to stop."""
        if on_progress is None:
            return False
        tick = time.perf_counter()
        stop = bool(on_progress(progress))
        self.paused += time.perf_counter() - tick
        return stop


def _fit_fast(
    model: nn.Module,
    spec: NetworkSpec,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    seed: int,
    on_progress: ProgressCallback | None,
    every: int | None,
    likelihood: Likelihood,
    dropout: fast.Dropout | None = None,
) -> FitResult:
    """The compiled loop of :mod:`bnn_core.engine.fast`, a block of steps at a time: blocks end at the schedule's
    snapshots (every WINDOW steps, where the rate may change) and, given ``every``, at its multiples. Progress is
    reported every ``every`` steps, or (None) about every REPORT_SECONDS."""
    trainer = fast.FastTrainer(spec, spec.pack(model), x, y, config, seed, likelihood, dropout)
    schedule = Schedule(config)
    record = np.empty((config.epochs, 4))  # ce, kl, total, train accuracy
    steps, cancelled, block, reported = 0, False, every or _FIRST_BLOCK, 0.0
    clock = TrainingClock()
    while steps < config.epochs and not cancelled:
        report_at = min(steps + block, config.epochs, schedule.next_change(steps))
        if every is not None:
            report_at = min(report_at, _next_multiple(steps, every))
        lr = schedule.lr(steps)  # one rate per block: blocks end where the rate changes
        trainer.set_lr(lr)
        started = time.perf_counter()
        record[steps:report_at] = trainer.run(report_at - steps)
        if every is None:
            block = next_block(report_at - steps, time.perf_counter() - started)
        _refuse_divergence(record[:, 2], steps, report_at, config)
        steps = report_at
        schedule.observe(steps, record[:steps, 2], trainer.params, spec.bayesian)
        due = steps % every == 0 if every is not None else clock.elapsed() - reported >= REPORT_SECONDS
        if due or steps == config.epochs:
            reported = clock.elapsed()
            sigma = _layer_sigma(spec, trainer.params.log_sigma)
            progress = Progress(steps, config.epochs, *record[steps - 1].tolist(), reported, sigma, lr)
            cancelled = clock.report(on_progress, progress)
    train_seconds = clock.elapsed()
    spec.unpack(schedule.final(trainer.params), model)
    if trainer.objective.learn_noise:
        with torch.no_grad():
            likelihood.log_sigma.fill_(trainer.noise_log_sigma)
    history = _history(record[:steps])
    return FitResult(history, steps, train_seconds, cancelled, "fast", "", schedule.verdict, lr, config.kl_weight)


def _next_multiple(steps: int, every: int) -> int:
    """The first multiple of ``every`` after ``steps``."""
    return (steps // every + 1) * every


# Steps of noise drawn at once by the reference loop; it only bounds memory (steps × P floats).
_NOISE_BLOCK_FLOATS = 2**20


def _fit_reference(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    seed: int,
    on_progress: ProgressCallback | None,
    every: int,
    note: str,
    likelihood: Likelihood,
) -> FitResult:
    """The article's loop: torchbnn forward, BKLLoss, autograd and torch's Adam; ``likelihood`` gives the data term.

    Each step's ``weight_eps``/``bias_eps`` are set from the noise stream, in the packed order,
    instead of letting torchbnn draw from torch's global generator.
    """
    trained = [*model.parameters(), *likelihood.parameters()]  # a learned noise σ is trained with the weights
    optimizer = torch.optim.Adam(trained, lr=config.lr, betas=ADAM_BETAS, eps=ADAM_EPS)
    layers = bayes_layers(model)
    n_params = n_bayes_parameters(model)
    dtype = next(model.parameters()).dtype
    block = max(1, _NOISE_BLOCK_FLOATS // max(n_params, 1))
    record = torch.empty(config.epochs, 4, dtype=torch.float64)  # ce, kl, total, train accuracy
    schedule = Schedule(config)
    steps, cancelled, lr = 0, False, schedule.lr(0)
    clock = TrainingClock()
    try:
        for step in range(config.epochs):
            lr = schedule.lr(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if layers and step % block == 0:
                count = min(block, config.epochs - step)
                eps = torch.from_numpy(noise.normals(seed, step * n_params, count * n_params)).to(dtype)
                eps = eps.view(count, n_params)
            if layers:
                _freeze_noise(layers, eps[step % block])
            outputs = model(x)  # (N, C) logits, or (N, 1 or 2) for regression, with this step's weights
            data_term = likelihood.data_term(outputs, y)
            kl = _bkl_loss(layers, config.kl_reduction, dtype)
            total = data_term + config.kl_weight * kl
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            with torch.no_grad():
                score = likelihood.score(outputs, y)
                record[step] = torch.stack([data_term, kl, total, score]).to(torch.float64)
            steps = step + 1
            if steps % WINDOW == 0:
                _refuse_divergence(record[:, 2].numpy(), steps - WINDOW, steps, config)
                schedule.observe(steps, record[:steps, 2].numpy(), pack_layers(model), bool(layers))
            if steps % every == 0 or steps == config.epochs:
                _refuse_divergence(record[:, 2].numpy(), steps - every, steps, config)
                sigma = tuple(_mean_sigma(layer) for layer in layers)
                progress = Progress(steps, config.epochs, *record[step].tolist(), clock.elapsed(), sigma, lr)
                cancelled = clock.report(on_progress, progress)
                if cancelled:
                    break
    finally:
        for layer in layers:
            layer.unfreeze()  # back to torchbnn's default, so the state_dict holds parameters only
    train_seconds = clock.elapsed()
    unpack_layers(schedule.final(pack_layers(model)), model)
    history = _history(record[:steps].numpy())
    return FitResult(history, steps, train_seconds, cancelled, "torchbnn", note, schedule.verdict, lr, config.kl_weight)


def _bkl_loss(layers: list[torchbnn.BayesLinear], reduction: str, dtype: torch.dtype) -> torch.Tensor:
    """torchbnn's ``BKLLoss`` of these layers, a scalar () added up in the layers' own dtype.

    It sums torchbnn's own per-tensor KL (``torchbnn.functional._kl_loss``) exactly as ``BKLLoss``
    does, and divides by the parameter count for ``mean``. ``BKLLoss`` itself accumulates into
    float32 tensors whatever the layers' dtype, which would make a float64 reference run only
    as exact as float32.
    """
    total, count = torch.zeros((), dtype=dtype), 0
    for layer in layers:
        for mu, log_sigma in ((layer.weight_mu, layer.weight_log_sigma), (layer.bias_mu, layer.bias_log_sigma)):
            total = total + torchbnn.functional._kl_loss(mu, log_sigma, layer.prior_mu, layer.prior_log_sigma)
            count += mu.numel()
    return total / count if reduction == "mean" and count else total


def _layer_sigma(spec: NetworkSpec, log_sigma: np.ndarray) -> tuple[float, ...]:
    """Each layer's mean σ over its weights and biases, from packed log σ (P,); () for a plain network."""
    if not spec.bayesian:
        return ()
    return tuple(float(np.exp(log_sigma[layer.start : layer.biases.stop]).mean()) for layer in spec.layers)


@torch.no_grad()
def _mean_sigma(layer: torchbnn.BayesLinear) -> float:
    """The layer's mean σ over its weights and biases, as :func:`_layer_sigma` computes it from packed values."""
    total = layer.weight_log_sigma.exp().sum() + layer.bias_log_sigma.exp().sum()
    return float(total) / (layer.weight_log_sigma.numel() + layer.bias_log_sigma.numel())


def _freeze_noise(layers: list[torchbnn.BayesLinear], eps: torch.Tensor) -> None:
    """Set each layer's weight and bias noise from one step's packed noise (P,): per layer, weights then biases."""
    position = 0
    for layer in layers:
        for name, like in (("weight_eps", layer.weight_mu), ("bias_eps", layer.bias_mu)):
            setattr(layer, name, eps[position : position + like.numel()].view_as(like))
            position += like.numel()


def _history(record: np.ndarray) -> History:
    done = record.astype(np.float64)
    return History(ce=done[:, 0], kl=done[:, 1], total=done[:, 2], train_accuracy=done[:, 3])


def _refuse_divergence(totals: np.ndarray, start: int, stop: int, config: TrainConfig) -> None:
    """Raise if any total loss in steps ``start … stop − 1`` (0-based) is NaN or infinite."""
    start = max(start, 0)
    bad = np.flatnonzero(~np.isfinite(totals[start:stop]))
    if len(bad) == 0:
        return
    step = start + int(bad[0]) + 1
    what = "NaN" if math.isnan(float(totals[step - 1])) else "infinite"
    raise BNNInputError(
        f"Training diverged at step {step}: the loss became {what}. Lower the learning rate "
        f"(now {config.lr:g}) or the KL weight (now {config.kl_weight:g}), or use a prior sigma nearer 0.1."
    )
