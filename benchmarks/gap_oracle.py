"""In-between uncertainty on the gap set: is the epistemic std higher in the middle of the gap than at its edges?

    python benchmarks/gap_oracle.py [--seeds 0-2] [--epochs 6000,20000]

sine_gap has no data for |x| < 1. An exact Bayesian posterior is most unsure in the middle of such a gap; a
mean-field Gaussian posterior is known not to be (Foong et al. 2019, "'In-Between' Uncertainty in Bayesian
Neural Networks"). For each network, prior and KL weight (KL sum, every row trained on) it prints, per seed, the
epistemic std at x = 0 divided by the larger of those at x = ±1: above 1 means the band bulges in the gap.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import DataConfig, ModelConfig, RunConfig, TrainConfig, load_builtin, train_run
from bnn_core.regression import curve_bands

EDGES_AND_MIDDLE = np.array([[-1.0], [0.0], [1.0]])
NETWORKS = (((50,), "relu"), ((50,), "tanh"), ((50, 50), "relu"), ((50, 50), "tanh"))
PRIORS = (1.0, 0.3)
KL_WEIGHTS_TIMES_N = (1.0, 3.0)  # the KL weight × N: 1 is the textbook ELBO ÷ N


def middle_over_edges(hidden: tuple[int, ...], activation: str, prior: float, weight: float, epochs: int,
                      seed: int) -> float:  # fmt: skip
    """The epistemic std at x = 0 over the larger at x = ±1, for one trained run on sine_gap."""
    dataset = load_builtin("sine_gap")
    config = RunConfig(
        data=DataConfig(test_size=0.0),
        model=ModelConfig(hidden=hidden, activation=activation, prior_sigma=prior),
        train=TrainConfig(epochs=epochs, kl_reduction="sum", kl_weight=weight / dataset.n_rows),
        seed=seed,
    )
    run = train_run(dataset, config)
    epistemic = curve_bands(run.model, run.likelihood, run.data, EDGES_AND_MIDDLE, 300, 0).epistemic
    return float(epistemic[1] / max(epistemic[0], epistemic[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2", help="a range such as 0-2")
    parser.add_argument("--epochs", default="6000,20000", help="comma-separated step counts")
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    seeds = range(low, high + 1)
    print(f"| network | prior σ₀ | KL weight × N | steps | middle ÷ edges, seeds {low}–{high} |\n|---|---|---|---|---|")
    for (hidden, activation), prior, weight, epochs in itertools.product(
        NETWORKS, PRIORS, KL_WEIGHTS_TIMES_N, [int(e) for e in args.epochs.split(",")]
    ):
        ratios = [middle_over_edges(hidden, activation, prior, weight, epochs, seed) for seed in seeds]
        shape = "×".join(map(str, hidden))
        print(
            f"| {shape} {activation} | {prior:g} | {weight:g} | {epochs} | {' · '.join(f'{r:.2f}' for r in ratios)} |"
        )


if __name__ == "__main__":
    main()
