"""Uncertainty and calibration on hand-made probabilities with known answers, and a brute-force ECE."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from bnn_core import accuracy, brier, ece, entropy, nll, point_uncertainty, reliability
from bnn_core.posterior.uncertainty import bootstrap_interval


def test_entropy_matches_torch_distributions_and_handles_zeros() -> None:
    probs = torch.softmax(torch.randn(50, 4, dtype=torch.float64), dim=-1)
    torch.testing.assert_close(entropy(probs), Categorical(probs=probs).entropy())
    assert entropy(torch.tensor([1.0, 0.0, 0.0])).item() == 0.0


def test_a_sure_prediction_reads_zero_never_minus_zero() -> None:
    """-0.0 == 0.0, so only the printed text tells them apart: the truck page once read "epistemic -0.00 nats"."""
    u = point_uncertainty(torch.tensor([[[1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]]]))
    for value in (entropy(torch.tensor([0.0, 1.0])), u.entropy, u.aleatoric, u.epistemic):
        assert f"{value.item():.2f}" == "0.00"


def test_disagreeing_confident_samples_are_purely_epistemic() -> None:
    # Two samples, each certain, of different classes: total = log 2, aleatoric = 0, MI = log 2.
    probs = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    u = point_uncertainty(probs)
    assert u.entropy.item() == pytest.approx(math.log(2))
    assert u.aleatoric.item() == pytest.approx(0.0)
    assert u.epistemic.item() == pytest.approx(math.log(2))
    assert u.variation_ratio.item() == pytest.approx(0.5)


def test_agreeing_uniform_samples_are_purely_aleatoric() -> None:
    probs = torch.full((5, 1, 3), 1 / 3)
    u = point_uncertainty(probs)
    assert u.entropy.item() == pytest.approx(math.log(3))
    assert u.aleatoric.item() == pytest.approx(math.log(3))
    assert u.epistemic.item() == pytest.approx(0.0, abs=1e-7)
    assert u.predicted_std.item() == pytest.approx(0.0, abs=1e-7)


def test_mixed_case_by_hand() -> None:
    # Samples for one point: [0.9, 0.1], [0.5, 0.5], [0.2, 0.8]; mean [8/15, 7/15].
    probs = torch.tensor([[[0.9, 0.1]], [[0.5, 0.5]], [[0.2, 0.8]]], dtype=torch.float64)
    h = lambda p: -sum(q * math.log(q) for q in p)  # noqa: E731
    total = h([8 / 15, 7 / 15])
    aleatoric = (h([0.9, 0.1]) + h([0.5, 0.5]) + h([0.2, 0.8])) / 3
    u = point_uncertainty(probs)
    assert u.entropy.item() == pytest.approx(total)
    assert u.aleatoric.item() == pytest.approx(aleatoric)
    assert u.epistemic.item() == pytest.approx(total - aleatoric)
    # Votes: class 0, a tie resolved to class 0 by argmax, class 1 → modal share 2/3.
    assert u.variation_ratio.item() == pytest.approx(1 / 3)
    # Predicted class 0; its probabilities 0.9, 0.5, 0.2 have population std:
    assert u.predicted_std.item() == pytest.approx(torch.tensor([0.9, 0.5, 0.2]).std(correction=0).item(), rel=1e-6)
    assert u.predicted.tolist() == [0]


def test_decomposition_holds_on_random_samples() -> None:
    probs = torch.softmax(3 * torch.randn(30, 40, 5, dtype=torch.float64), dim=-1)
    u = point_uncertainty(probs)
    torch.testing.assert_close(u.entropy, u.aleatoric + u.epistemic)
    assert (u.epistemic >= 0).all() and (u.variation_ratio >= 0).all() and (u.variation_ratio < 1).all()


def test_nll_brier_and_accuracy_by_hand() -> None:
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    labels = torch.tensor([0, 1])
    assert nll(probs, labels) == pytest.approx((-math.log(0.7) - math.log(0.3)) / 2)
    assert brier(probs, labels) == pytest.approx(((0.09 + 0.04 + 0.01) + (0.01 + 0.49 + 0.36)) / 2)
    assert accuracy(probs, labels) == 0.5
    assert math.isfinite(nll(torch.tensor([[1.0, 0.0]]), torch.tensor([1])))


def _brute_force_ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> float:
    confidences = [max(row) for row in probs.tolist()]
    predictions = [row.index(max(row)) for row in probs.tolist()]
    total, n = 0.0, len(confidences)
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i, c in enumerate(confidences) if lo < c <= hi]
        if members:
            accuracy_b = sum(predictions[i] == labels[i].item() for i in members) / len(members)
            confidence_b = sum(confidences[i] for i in members) / len(members)
            total += len(members) / n * abs(accuracy_b - confidence_b)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_ece_matches_a_brute_force_loop(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    probs = torch.softmax(2 * torch.randn(500, 3, generator=generator, dtype=torch.float64), dim=-1)
    labels = torch.randint(0, 3, (500,), generator=generator)
    assert ece(probs, labels) == pytest.approx(_brute_force_ece(probs, labels, 15), abs=1e-12)


def test_ece_by_hand_and_reliability_counts() -> None:
    # Two points at confidence 0.9 (one right), two at 0.6 (both right): ECE = ½·0.4 + ½·0.4 = 0.4.
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])
    assert ece(probs, labels) == pytest.approx(0.4)
    bins = reliability(probs, labels)
    assert bins.counts.sum().item() == 4
    assert bins.counts[13].item() == 2 and bins.counts[8].item() == 2  # 0.9 ∈ (13/15, 14/15], 0.6 ∈ (8/15, 9/15]
    assert bins.accuracy[13].item() == pytest.approx(0.5)
    assert torch.isnan(bins.confidence[0])
    assert ece(torch.tensor([[1.0, 0.0]]), torch.tensor([0])) == 0.0


def test_a_bootstrap_interval_of_a_mean_is_the_normal_theory_one() -> None:
    """For 400 normal draws, the 90% bootstrap interval of the mean is within 15% of mean ± 1.645 sd / √n."""
    values = np.random.default_rng(3).normal(2.0, 1.5, 400)
    low, high = bootstrap_interval(lambda pick: float(values[pick].mean()), len(values))
    half = 1.645 * values.std(ddof=1) / np.sqrt(len(values))
    assert low == pytest.approx(values.mean() - half, abs=0.15 * half)
    assert high == pytest.approx(values.mean() + half, abs=0.15 * half)


def test_a_two_group_bootstrap_resamples_each_group_on_its_own() -> None:
    """Indices 0–9 are the first group, 10–14 the second: every resample keeps 10 of the first and 5 of the second."""
    seen = []

    def record(pick: np.ndarray) -> float:
        seen.append(((pick < 10).sum(), (pick >= 10).sum(), pick.min(), pick.max()))
        return 0.0

    bootstrap_interval(record, 10, 5)
    assert all(first == 10 and second == 5 and low >= 0 and high <= 14 for first, second, low, high in seen)
