"""What a trained network says about every row: S posterior samples → per-point uncertainty → headline metrics."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.prepared import PreparedData
from ..engine.train import FitResult
from ..model.network import NetworkSpec
from .sample import sample_probs
from .uncertainty import PointUncertainty, accuracy, brier, ece, nll, point_uncertainty


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What S posterior samples say about each of the N rows.

    Shape: ``first_draw`` (N, C), the probabilities of posterior draw #0.
    """

    uncertainty: PointUncertainty
    first_draw: torch.Tensor


# Rows per chunk keep S × rows × C probabilities near 16M floats (64 MB), whatever S and N are.
_EVALUATION_FLOATS = 2**24


def posterior_uncertainty(
    model: nn.Sequential, x: torch.Tensor, samples: int, seed: int
) -> tuple[PointUncertainty, torch.Tensor]:
    """Uncertainty of every row of ``x`` (N, D) from draws ``0 … samples − 1``, and draw #0's probabilities (N, C).

    Rows are processed in chunks, so memory stays bounded for large inputs; draws are
    addressable, so chunking does not change any number.
    """
    n_classes = NetworkSpec.of(model).sizes[-1]
    rows = max(1, _EVALUATION_FLOATS // (samples * n_classes))
    parts, first = [], []
    for start in range(0, len(x), rows):
        probs = sample_probs(model, x[start : start + rows], samples, seed)  # (S, rows, C)
        parts.append(point_uncertainty(probs))
        first.append(probs[0])
    return PointUncertainty.concatenate(parts), torch.cat(first)


def evaluate(model: nn.Sequential, data: PreparedData, samples: int, seed: int) -> Evaluation:
    """Draw samples ``0 … samples − 1`` on every row and measure each row's uncertainty."""
    uncertainty, first_draw = posterior_uncertainty(model, data.x, samples, seed)
    return Evaluation(uncertainty=uncertainty, first_draw=first_draw)


def run_metrics(evaluation: Evaluation, data: PreparedData, fitted: FitResult) -> dict[str, float | int | str | None]:
    """The run's headline numbers (the keys of ``metrics.json``).

    Accuracies use the posterior mean; ``sample_*_accuracy`` use draw 0 alone.
    NLL, Brier and ECE are measured on the test rows, or on the training rows
    when the test share is 0 (``metrics_on`` says which). ``engine_note`` says why
    the requested engine was not used, if it was not.
    """
    mean_probs, labels = evaluation.uncertainty.mean_probs, data.y
    one_draw = evaluation.first_draw
    train, test = data.train_mask, data.test_mask
    held_out = test if data.has_test else train
    return {
        "train_accuracy": accuracy(mean_probs[train], labels[train]),
        "test_accuracy": accuracy(mean_probs[test], labels[test]) if data.has_test else None,
        "sample_train_accuracy": accuracy(one_draw[train], labels[train]),
        "sample_test_accuracy": accuracy(one_draw[test], labels[test]) if data.has_test else None,
        "nll": nll(mean_probs[held_out], labels[held_out]),
        "brier": brier(mean_probs[held_out], labels[held_out]),
        "ece": ece(mean_probs[held_out], labels[held_out]),
        "metrics_on": "test" if data.has_test else "train",
        **_class_share_baseline(labels[train], labels[held_out], mean_probs.shape[1]),
        "final_ce": float(fitted.history.ce[-1]),
        "final_kl": float(fitted.history.kl[-1]),
        **fitted.metrics(),
    }


def _class_share_baseline(train: torch.Tensor, held_out: torch.Tensor, n_classes: int) -> dict[str, float | int]:
    """What knowing only the training rows' class shares gives on the held-out rows (N,): the NLL of predicting
    the shares (each count plus one, so no class gets 0) and the accuracy of always guessing the commonest class;
    with the row counts."""
    counts = torch.bincount(train, minlength=n_classes).to(torch.float64) + 1.0
    shares = counts / counts.sum()
    return {
        "train_rows": len(train),
        "held_out_rows": len(held_out),
        "baseline_nll": float(-shares[held_out].log().mean()),
        "baseline_accuracy": float((held_out == int(shares.argmax())).to(torch.float64).mean()),
    }
