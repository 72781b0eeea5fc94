"""Per-point uncertainty from posterior samples, and calibration metrics. All logs are natural (nats).

Notation: ``probs`` (S, N, C) are S sampled predictions for N points over C
classes; ``p̄ = probs.mean(0)`` is the posterior-mean prediction (N, C).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

ECE_BINS = 15


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy over the last axis, in nats; 0·log 0 counts as 0. Shape: (..., C) → (...).

    A sure prediction's entropy is +0, never −0 (which prints as "-0.00"): 0 − 0 is +0, where −0 negated is −0.
    """
    return 0.0 - torch.special.xlogy(probs, probs).sum(dim=-1)


@dataclass(frozen=True, eq=False)
class PointUncertainty:
    """Uncertainty of each of N points, from S posterior samples.

    Shape: ``mean_probs`` (N, C); every other field (N,).
    """

    mean_probs: torch.Tensor  # p̄, the posterior-mean class probabilities
    entropy: torch.Tensor  # total: H[p̄]
    aleatoric: torch.Tensor  # expected entropy: mean over samples of H[p_s]
    epistemic: torch.Tensor  # mutual information: H[p̄] − mean_s H[p_s]
    variation_ratio: torch.Tensor  # 1 − share of samples voting for the modal class
    predicted_std: torch.Tensor  # std over samples of p_s[ĉ], ĉ = argmax p̄

    @property
    def predicted(self) -> torch.Tensor:
        """Posterior-mean predicted class (N,)."""
        return self.mean_probs.argmax(dim=-1)

    @classmethod
    def concatenate(cls, parts: list[PointUncertainty]) -> PointUncertainty:
        """Join the uncertainties of consecutive chunks of points."""
        fields = ("mean_probs", "entropy", "aleatoric", "epistemic", "variation_ratio", "predicted_std")
        return cls(**{name: torch.cat([getattr(part, name) for part in parts]) for name in fields})


def uncertainty_split(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The mean prediction p̄ (N, C) and the total, aleatoric and epistemic uncertainty (N,) each of ``probs``
    (S, N, C): what a map needs of :func:`point_uncertainty`, without the votes and the spread, which took more
    than half of its time on 1,200 draws."""
    mean_probs = probs.mean(dim=0)
    total = entropy(mean_probs)
    aleatoric = entropy(probs).mean(dim=0)
    # Mutual information is ≥ 0 (Jensen); clamping removes float round-off below zero.
    return mean_probs, total, aleatoric, (total - aleatoric).clamp(min=0.0)


def point_uncertainty(probs: torch.Tensor) -> PointUncertainty:
    """Split each point's predictive uncertainty into its parts. ``probs``: (S, N, C)."""
    n_samples, _, n_classes = probs.shape
    mean_probs, total, aleatoric, epistemic = uncertainty_split(probs)  # (N, C), then (N,) each
    choices = probs.argmax(dim=-1).T  # (N, S): each sample's vote
    votes = torch.zeros(choices.shape[0], n_classes, dtype=torch.int64).scatter_add_(
        1, choices, torch.ones_like(choices)
    )  # (N, C)
    variation_ratio = 1.0 - votes.max(dim=-1).values.to(probs.dtype) / n_samples
    predicted = mean_probs.argmax(dim=-1)  # (N,)
    predicted_probs = probs.gather(2, predicted.expand(n_samples, -1).unsqueeze(-1)).squeeze(-1)  # (S, N)
    return PointUncertainty(
        mean_probs=mean_probs,
        entropy=total,
        aleatoric=aleatoric,
        epistemic=epistemic,
        variation_ratio=variation_ratio,
        predicted_std=predicted_probs.std(dim=0, correction=0),
    )


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of points whose most probable class is the label. ``probs`` (N, C), ``labels`` (N,)."""
    return float((probs.argmax(dim=-1) == labels).to(torch.float64).mean())


def nll(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean of −log p(true class); probabilities are floored at 1e-12 so a confident miss stays finite."""
    true_probs = probs.gather(1, labels.unsqueeze(1)).squeeze(1).to(torch.float64)
    return float(-true_probs.clamp(min=1e-12).log().mean())


def brier(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over points of Σ_k (p_k − y_k)², with y one-hot; 0 is perfect, 2 is the worst."""
    one_hot = torch.nn.functional.one_hot(labels, probs.shape[1]).to(torch.float64)
    return float(((probs.to(torch.float64) - one_hot) ** 2).sum(dim=1).mean())


@dataclass(frozen=True, eq=False)
class ReliabilityBins:
    """Top-label reliability over equal-width confidence bins (lo, hi].

    Shape: ``edges`` (B+1,); ``counts``, ``confidence``, ``accuracy`` (B,).
    Empty bins have NaN confidence and accuracy.
    """

    edges: torch.Tensor
    counts: torch.Tensor
    confidence: torch.Tensor  # mean top probability of the points in the bin
    accuracy: torch.Tensor  # share of those points predicted correctly

    @property
    def ece(self) -> float:
        """Expected calibration error: Σ_b (n_b / N) · |accuracy_b − confidence_b|."""
        filled = self.counts > 0
        weights = self.counts[filled].to(torch.float64) / self.counts.sum()
        gaps = (self.accuracy[filled] - self.confidence[filled]).abs()
        return float((weights * gaps).sum())


def reliability(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = ECE_BINS) -> ReliabilityBins:
    """Bin points by top-label confidence. ``probs`` (N, C), ``labels`` (N,)."""
    probs = probs.to(torch.float64)
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).to(torch.float64)
    edges = torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64)
    # right=False puts x in bin b when edges[b] < x ≤ edges[b + 1].
    bins = torch.bucketize(confidence, edges[1:]).clamp(max=n_bins - 1)
    counts = torch.bincount(bins, minlength=n_bins)
    safe = counts.clamp(min=1).to(torch.float64)
    empty = counts == 0
    mean_conf = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, bins, confidence) / safe
    mean_acc = torch.zeros(n_bins, dtype=torch.float64).index_add_(0, bins, correct) / safe
    return ReliabilityBins(
        edges=edges,
        counts=counts,
        confidence=mean_conf.masked_fill(empty, float("nan")),
        accuracy=mean_acc.masked_fill(empty, float("nan")),
    )


def ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = ECE_BINS) -> float:
    """Top-label expected calibration error over ``n_bins`` equal-width bins, weighted by bin count."""
    return reliability(probs, labels, n_bins).ece


@dataclass(frozen=True, eq=False)
class Calibration:
    """How well a model's confidence matches its accuracy on a set of labelled points.

    Shape: ``confidence`` (N,), the top-class probability of each point.
    """

    bins: ReliabilityBins
    confidence: torch.Tensor
    ece: float
    nll: float
    brier: float


def calibration(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = ECE_BINS) -> Calibration:
    """Reliability bins, confidences, ECE, NLL and Brier of ``probs`` (N, C) against ``labels`` (N,)."""
    bins = reliability(probs, labels, n_bins)
    return Calibration(
        bins=bins,
        confidence=probs.max(dim=1).values,
        ece=bins.ece,
        nll=nll(probs, labels),
        brier=brier(probs, labels),
    )


BOOTSTRAP = 200  # resamples behind an interval
BOOTSTRAP_SEED = 0  # fixed, so the same rows give the same interval
INTERVAL = 0.9


def bootstrap_interval(statistic: Callable[[np.ndarray], float], *groups: int) -> tuple[float, float]:
    """The 90% percentile interval of ``statistic`` over BOOTSTRAP resamples of row indices.

    With one group of n rows each resample is n indices drawn with replacement from 0 … n − 1; with two groups
    (n₁, n₂) each group is resampled on its own, the second's indices shifted by n₁ (for a score that compares an
    inside set with an outside one).
    """
    generator = np.random.default_rng(BOOTSTRAP_SEED)
    starts = np.cumsum((0, *groups[:-1]))

    def resample() -> np.ndarray:
        return np.concatenate([start + generator.integers(0, n, n) for start, n in zip(starts, groups, strict=True)])

    values = [statistic(resample()) for _ in range(BOOTSTRAP)]
    tail = (1 - INTERVAL) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)
