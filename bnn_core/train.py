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
    engine: str  # the trainer that ran


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
    The global RNG is left untouched: noise comes from ``seed``.

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
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    cross_entropy = nn.CrossEntropyLoss()
    kl_loss = torchbnn.BKLLoss(reduction=config.kl_reduction, last_layer_only=False)
    is_bayesian = bool(bayes_layers(model))
    record = torch.empty(config.epochs, 4)  # ce, kl, total, train accuracy
    callback_seconds, checked, steps, cancelled = 0.0, 0, 0, False
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        start = time.perf_counter()
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
                _refuse_divergence(record, checked, steps, config)
                checked = steps
                if on_progress is not None:
                    tick = time.perf_counter()
                    report = Progress(steps, config.epochs, *record[step].tolist(), tick - start - callback_seconds)
                    cancelled = bool(on_progress(report))
                    callback_seconds += time.perf_counter() - tick
                    if cancelled:
                        break
        train_seconds = time.perf_counter() - start - callback_seconds
    done = record[:steps].numpy().astype(np.float64)
    history = History(ce=done[:, 0], kl=done[:, 1], total=done[:, 2], train_accuracy=done[:, 3])
    return FitResult(history, steps, train_seconds, cancelled, config.engine)


def _refuse_divergence(record: torch.Tensor, start: int, stop: int, config: TrainConfig) -> None:
    """Raise if any total loss in steps ``start … stop − 1`` is NaN or infinite."""
    bad = torch.nonzero(~torch.isfinite(record[start:stop, 2]))
    if len(bad) == 0:
        return
    step = start + int(bad[0]) + 1
    value = float(record[step - 1, 2])
    what = "NaN" if math.isnan(value) else "infinite"
    raise BNNInputError(
        f"Training diverged at step {step}: the loss became {what}. Lower the learning rate "
        f"(now {config.lr:g}) or the KL weight (now {config.kl_weight:g}), or use a prior sigma nearer 0.1."
    )
