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

from . import fast
from .config import TrainConfig
from .errors import BNNInputError
from .model import bayes_layers


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


# Return True to stop training early; the result then has ``cancelled=True``.
ProgressCallback = Callable[[Progress], bool | None]


@dataclass(frozen=True, eq=False)
class History:
    """Every step's losses. Shape: each field (T,), T = steps run."""

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


def default_progress_every(epochs: int) -> int:
    """About 100 progress reports per run."""
    return max(1, epochs // 100)


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    seed: int,
    on_progress: ProgressCallback | None = None,
    progress_every: int | None = None,
) -> FitResult:
    """Train ``model`` in place on the full batch ``(x, y)`` for ``config.epochs`` Adam steps.

    Works for the Bayesian network and for its deterministic twin (whose KL is 0).
    ``config.engine`` picks the trainer: ``"fast"`` (the compiled loop of
    :mod:`bnn_core.fast`) or ``"torchbnn"`` (the article's loop with autograd). A
    model the fast path cannot train, or a problem so large that torch is faster,
    falls back to torchbnn, and the result's ``note`` says why. The global RNG is
    left untouched: noise comes from ``seed``.

    Args:
        model: from :func:`~bnn_core.model.build_bnn` or :func:`~bnn_core.model.build_twin`.
        x: training inputs (N, D) float32.
        y: training labels (N,) int64.
        config: epochs, learning rate, KL weight and reduction.
        seed: seed of the training noise; the same seed repeats the run exactly.
        on_progress: called every ``progress_every`` steps and at the end; return True to stop.
        progress_every: steps between callbacks (default: about 100 calls a run).

    Raises:
        BNNInputError: the loss became NaN or infinite; the message names the setting to change.
    """
    every = progress_every or default_progress_every(config.epochs)
    note = ""
    if config.engine == "fast":
        reason = fast.unsupported_reason(model) or fast.slower_reason(model, x)
        if reason is None:
            return _fit_fast(model, x, y, config, seed, on_progress, every)
        note = f"trained with torchbnn autograd: {reason}"
    return _fit_reference(model, x, y, config, seed, on_progress, every, note)


class _Clock:
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
    model: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    seed: int,
    on_progress: ProgressCallback | None,
    every: int,
) -> FitResult:
    """The compiled loop of :mod:`bnn_core.fast`, a chunk of steps between progress reports."""
    trainer = fast.FastTrainer(model, x, y, config.lr, config.kl_weight, config.kl_reduction, seed)
    record = np.empty((config.epochs, 4))  # ce, kl, total, train accuracy
    steps, cancelled = 0, False
    clock = _Clock()
    while steps < config.epochs and not cancelled:
        report_at = min(steps + every, config.epochs)
        while steps < report_at:
            chunk = min(report_at - steps, trainer.max_chunk())
            record[steps : steps + chunk] = trainer.run(chunk)
            steps += chunk
        _refuse_divergence(record[:, 2], report_at - every, report_at, config)
        progress = Progress(steps, config.epochs, *record[steps - 1].tolist(), clock.elapsed())
        cancelled = clock.report(on_progress, progress)
    train_seconds = clock.elapsed()
    trainer.write_back()
    return FitResult(_history(record[:steps]), steps, train_seconds, cancelled, "fast")


def _fit_reference(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    seed: int,
    on_progress: ProgressCallback | None,
    every: int,
    note: str,
) -> FitResult:
    """The article's loop: torchbnn forward, BKLLoss, autograd and torch's Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    cross_entropy = nn.CrossEntropyLoss()
    kl_loss = torchbnn.BKLLoss(reduction=config.kl_reduction, last_layer_only=False)
    is_bayesian = bool(bayes_layers(model))
    record = torch.empty(config.epochs, 4)  # ce, kl, total, train accuracy
    steps, cancelled = 0, False
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clock = _Clock()
        for step in range(config.epochs):
            logits = model(x)  # (N, C), one fresh sample of every weight
            ce = cross_entropy(logits, y)
            kl = kl_loss(model).squeeze(0) if is_bayesian else torch.zeros(())  # BKLLoss returns shape (1,)
            total = ce + config.kl_weight * kl
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            with torch.no_grad():
                accuracy = (logits.argmax(dim=1) == y).float().mean()
                record[step] = torch.stack([ce, kl, total, accuracy])
            steps = step + 1
            if steps % every == 0 or steps == config.epochs:
                _refuse_divergence(record[:, 2].numpy(), steps - every, steps, config)
                progress = Progress(steps, config.epochs, *record[step].tolist(), clock.elapsed())
                cancelled = clock.report(on_progress, progress)
                if cancelled:
                    break
        train_seconds = clock.elapsed()
    return FitResult(_history(record[:steps].numpy()), steps, train_seconds, cancelled, "torchbnn", note)


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
