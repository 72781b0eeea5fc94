"""Bayesian linear regression, trained as a BNN with no hidden layer, against its exact posterior.

    python benchmarks/linear_oracle.py [--seeds 0-9] [--epochs 6000]

The case tests/engine/test_regression.py checks: 30 rows, 2 features, noise σ 0.5 (fixed), prior N(0, 1),
KL sum with weight 1/N (the textbook ELBO ÷ N), Adam at lr 0.01. For each training-noise seed it prints the
largest gap between a trained and an exact posterior mean, in exact posterior stds, and the largest relative
gap between a trained σ and the mean-field optimum 1/√diag(precision), for plain Adam and for Adam whose
learning rate then decays: the same steps at lr 0.01, then DECAY_STEPS more at each of 0.001 and 0.0001.
One noise draw per step is the noise of the gradient; a smaller final step averages it out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core.config import TrainConfig
from bnn_core.engine.train import fit
from bnn_core.model.likelihood import Gaussian
from bnn_core.model.network import NetworkSpec
from bnn_core.posterior.regression import linear_posterior

ROWS, NOISE_SIGMA, PRIOR_SIGMA = 30, 0.5, 1.0
DECAY_STEPS = 2000  # steps at each lower learning rate of the decaying schedule


def oracle_rows() -> tuple[np.ndarray, np.ndarray]:
    """x (30, 2) and y (30,): the oracle's rows, the same every time."""
    generator = np.random.default_rng(7)
    x = generator.normal(0, 1, (ROWS, 2))
    return x, x @ np.array([1.5, -0.7]) + 0.3 + generator.normal(0, NOISE_SIGMA, ROWS)


def gaps(seed: int, epochs: int, decay: bool = False) -> tuple[float, float]:
    """(largest |trained μ − exact mean| ÷ exact std, largest |trained σ ÷ mean-field σ − 1|) for one seed,
    after ``epochs`` steps at lr 0.01 and, with ``decay``, DECAY_STEPS more at each of 0.001 and 0.0001 (each stage
    a new Adam, with its own stretch of the noise stream)."""
    x, y = oracle_rows()
    exact = linear_posterior(x, y, NOISE_SIGMA, 0.0, PRIOR_SIGMA)
    spec = NetworkSpec((2, 1), "relu", 0.0, PRIOR_SIGMA)
    model = spec.build(spec.init(seed)).double()
    stages = [(epochs, 0.01)] + ([(DECAY_STEPS, 0.001), (DECAY_STEPS, 0.0001)] if decay else [])
    for stage, (steps, lr) in enumerate(stages):
        config = TrainConfig(epochs=steps, lr=lr, kl_weight=1 / ROWS, kl_reduction="sum")
        noise_key = seed + 1000 * stage  # a later stage must not replay the first stage's noise
        fit(model, torch.tensor(x), torch.tensor(y), config, noise_key, likelihood=Gaussian("fixed", NOISE_SIGMA))
    params = spec.pack(model)
    mean_gap = np.max(np.abs(params.mu - exact.mean) / exact.std)
    sigma_gap = np.max(np.abs(np.exp(params.log_sigma) / exact.mean_field_std - 1))
    return float(mean_gap), float(sigma_gap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9", help="a range such as 0-9")
    parser.add_argument("--epochs", type=int, default=6000)
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    print("| seed | plain Adam: mean gap (exact stds) | σ gap | with lr decay: mean gap | σ gap |")
    print("|---|---|---|---|---|")
    for seed in range(low, high + 1):
        plain, decayed = gaps(seed, args.epochs), gaps(seed, args.epochs, decay=True)
        print(f"| {seed} | {plain[0]:.3f} | {plain[1]:.1%} | {decayed[0]:.3f} | {decayed[1]:.1%} |")


if __name__ == "__main__":
    main()
