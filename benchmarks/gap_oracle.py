"""In-between uncertainty on the gap set: is the epistemic std higher in the middle of the gap than at its edges?

    python benchmarks/gap_oracle.py [--seeds 0-2] [--epochs 6000,20000] [--hmc-draws 150] [--hmc-only]

sine_gap has no data for |x| < 1. An exact Bayesian posterior is most unsure in the middle of such a gap; a
mean-field Gaussian posterior is known not to be (Foong et al. 2019, "'In-Between' Uncertainty in Bayesian
Neural Networks"). For each network, prior and KL weight (KL sum, every row trained on) it prints, per seed, the
epistemic std at x = 0 divided by the larger of those at x = ±1: above 1 means the band bulges in the gap.
Then the same ratio for HMC (NUTS, bnn_core.methods.hmc) on one hidden layer of 16 units with the noise σ fixed at the
data's 0.1, beside mean-field VI on that same network and likelihood: the reference posterior against the
approximation.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import DataConfig, ModelConfig, RunConfig, TrainConfig, load_builtin, train_run
from bnn_core.data.datasets import SINE_GAP
from bnn_core.data.geometry import gap_points
from bnn_core.data.prepared import prepare
from bnn_core.methods import regression_table
from bnn_core.methods.hmc import HMCConfig, run_hmc
from bnn_core.posterior.regression import curve_bands

EDGES_AND_MIDDLE = gap_points(np.zeros(0), SINE_GAP)[:, None]  # x = −1, 0, 1 (3, 1)
NETWORKS = (((50,), "relu"), ((50,), "tanh"), ((50, 50), "relu"), ((50, 50), "tanh"))
PRIORS = (1.0, 0.3)
KL_WEIGHTS_TIMES_N = (1.0, 3.0)  # the KL weight × N: 1 is the textbook ELBO ÷ N
HMC_NETWORKS = (((16,), "tanh"), ((16,), "relu"))  # small enough for NUTS in about a minute
NOISE_SIGMA = 0.1  # sine_gap's own noise (bnn_core.data.datasets.sine_gap)


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
    return vi_middle_over_edges(config)


def fixed_noise_config(hidden: tuple[int, ...], activation: str, seed: int, epochs: int = 6000) -> RunConfig:
    """sine_gap, every row trained on, prior N(0, 1), the noise σ fixed at the data's, the textbook ELBO ÷ N."""
    model = ModelConfig(hidden=hidden, activation=activation, prior_sigma=1.0, noise="fixed", noise_sigma=NOISE_SIGMA)
    return RunConfig(
        data=DataConfig(dataset="sine_gap", test_size=0.0),
        model=model,
        train=TrainConfig(epochs=epochs, kl_reduction="sum", kl_weight=1.0 / load_builtin("sine_gap").n_rows),
        seed=seed,
    )


def hmc_middle_over_edges(config: RunConfig, draws: int) -> tuple[float, float]:
    """The middle-over-edges ratio of NUTS's posterior (the default chains, each of ``draws`` warm-up and ``draws``
    kept iterations) for ``config``'s network, and the chains' largest R-hat."""
    data = prepare(load_builtin("sine_gap"), config.data, config.seed)
    posterior = run_hmc(data, config, HMCConfig(samples=draws, warmup=draws))
    means = posterior.outputs(data.inputs(EDGES_AND_MIDDLE))[..., 0].double().numpy()  # (S, 3), trained units
    return regression_table.middle_over_edges(means.std(axis=0)), posterior.rhat_max


def vi_middle_over_edges(config: RunConfig) -> float:
    """The same ratio for the mean-field BNN trained with ``config``."""
    run = train_run(load_builtin("sine_gap"), config)
    bands = curve_bands(run.model, run.likelihood, run.data, EDGES_AND_MIDDLE, 300, 0)
    return regression_table.middle_over_edges(bands.epistemic)


def print_hmc_table(seeds: range, draws: int, steps: list[int]) -> None:
    chains, first, last = HMCConfig().chains, seeds.start, seeds.stop - 1
    print(f"\nHMC ({chains} chains × {draws} warm-up + {draws} kept) against mean-field VI, noise σ fixed at "
          f"{NOISE_SIGMA}, prior σ₀ 1, KL weight 1/N; middle ÷ edges for seeds {first}–{last}:")  # fmt: skip
    vi_heads = " | ".join(f"VI, {n} steps" for n in steps)
    print(f"| network | HMC | HMC R-hat max | {vi_heads} |\n|---|---|---|{'---|' * len(steps)}")
    for hidden, activation in HMC_NETWORKS:
        hmc = [hmc_middle_over_edges(fixed_noise_config(hidden, activation, seed), draws) for seed in seeds]
        vi = [[vi_middle_over_edges(fixed_noise_config(hidden, activation, seed, n)) for seed in seeds] for n in steps]
        shape = "×".join(map(str, hidden))
        print(f"| 1×{shape} {activation} | {' · '.join(f'{r:.2f}' for r, _ in hmc)} | "
              f"{' · '.join(f'{rhat:.3f}' for _, rhat in hmc)} | "
              f"{' | '.join(' · '.join(f'{r:.2f}' for r in row) for row in vi)} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2", help="a range such as 0-2")
    parser.add_argument("--epochs", default="6000,20000", help="comma-separated step counts")
    parser.add_argument("--hmc-draws", type=int, default=150, help="NUTS warm-up and kept iterations per chain")
    parser.add_argument("--hmc-only", action="store_true", help="only the table of HMC against mean-field VI")
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    seeds = range(low, high + 1)
    epochs = [int(e) for e in args.epochs.split(",")]
    if args.hmc_only:
        print_hmc_table(seeds, args.hmc_draws, epochs)
        return
    print(f"| network | prior σ₀ | KL weight × N | steps | middle ÷ edges, seeds {low}–{high} |\n|---|---|---|---|---|")
    for (hidden, activation), prior, weight, steps in itertools.product(NETWORKS, PRIORS, KL_WEIGHTS_TIMES_N, epochs):
        ratios = [middle_over_edges(hidden, activation, prior, weight, steps, seed) for seed in seeds]
        shape = "×".join(map(str, hidden))
        print(f"| {shape} {activation} | {prior:g} | {weight:g} | {steps} | {' · '.join(f'{r:.2f}' for r in ratios)} |")
    print_hmc_table(seeds, args.hmc_draws, epochs)


if __name__ == "__main__":
    main()
