"""Bayesian linear regression, trained as a BNN with no hidden layer, against its exact posterior.

    python benchmarks/linear_oracle.py [--seeds 0-4] [--epochs 6000]

The case tests/test_regression.py checks: 30 rows, 2 features, noise σ 0.5 (fixed), prior N(0, 1),
KL sum with weight 1/N (the textbook ELBO ÷ N), Adam at lr 0.01, the torchbnn engine. For each training-noise
seed it prints the largest gap between a trained and an exact posterior mean, in exact posterior stds, and the
largest relative gap between a trained σ and the mean-field optimum 1/√diag(precision).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core.config import TrainConfig
from bnn_core.likelihood import Gaussian
from bnn_core.network import NetworkSpec
from bnn_core.regression import linear_posterior
from bnn_core.train import fit

ROWS, NOISE_SIGMA, PRIOR_SIGMA = 30, 0.5, 1.0


def oracle_rows() -> tuple[np.ndarray, np.ndarray]:
    """x (30, 2) and y (30,): the oracle's rows, the same every time."""
    generator = np.random.default_rng(7)
    x = generator.normal(0, 1, (ROWS, 2))
    return x, x @ np.array([1.5, -0.7]) + 0.3 + generator.normal(0, NOISE_SIGMA, ROWS)


def gaps(seed: int, epochs: int) -> tuple[float, float]:
    """(largest |trained μ − exact mean| ÷ exact std, largest |trained σ ÷ mean-field σ − 1|) for one seed."""
    x, y = oracle_rows()
    exact = linear_posterior(x, y, NOISE_SIGMA, 0.0, PRIOR_SIGMA)
    spec = NetworkSpec((2, 1), "relu", 0.0, PRIOR_SIGMA)
    model = spec.build(spec.init(seed)).double()
    config = TrainConfig(epochs=epochs, lr=0.01, kl_weight=1 / ROWS, kl_reduction="sum", engine="torchbnn")
    fit(model, torch.tensor(x), torch.tensor(y), config, seed, likelihood=Gaussian("fixed", NOISE_SIGMA))
    params = spec.pack(model)
    mean_gap = np.max(np.abs(params.mu - exact.mean) / exact.std)
    sigma_gap = np.max(np.abs(np.exp(params.log_sigma) / exact.mean_field_std - 1))
    return float(mean_gap), float(sigma_gap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4", help="a range such as 0-4")
    parser.add_argument("--epochs", type=int, default=6000)
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    print("| seed | max mean gap (exact stds) | max σ gap (relative) |\n|---|---|---|")
    for seed in range(low, high + 1):
        mean_gap, sigma_gap = gaps(seed, args.epochs)
        print(f"| {seed} | {mean_gap:.3f} | {sigma_gap:.1%} |")


if __name__ == "__main__":
    main()
