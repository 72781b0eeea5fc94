"""The curves that chose the training defaults: how far from the exact mean-field optimum σ and the means end, by
training length, schedule and starting σ, on Bayesian linear regression.

    python benchmarks/convergence.py [--sets 200-209] [--seeds 0-1]

For each way of training (the decay schedule from σ₀/10,000, the default; the decay schedule from torchbnn's σ₀;
one constant rate from σ₀, the article's way) and each length it prints, over the drawn sets of
``benchmarks/linear_oracle.py`` and the seeds, the worst |σ ÷ optimal σ − 1|, the worst mean gap in exact posterior
stds, how many runs said they converged, and how many of those were not within the goal (σ within 5%, means within
0.1 sd) after all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from linear_oracle import gaps, linear_set

from bnn_core.config import TrainConfig

LENGTHS = (2500, 5000, 10000, 20000, 40000)
WAYS = {  # name: (schedule, σ start ÷ σ₀)
    "decay from σ₀/10,000 (default)": ("decay", 1e-4),
    "decay from σ₀": ("decay", 1.0),
    "constant rate from σ₀ (the article's)": ("constant", 1.0),
}


def _range(text: str) -> range:
    low, _, high = text.partition("-")
    return range(int(low), int(high or low) + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="200-209")
    parser.add_argument("--seeds", default="0-1")
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    args = parser.parse_args()
    sets = [linear_set(index) for index in _range(args.sets)]
    seeds = _range(args.seeds)
    print("| way | epochs | worst σ gap | worst mean gap (sds) | said converged | of those, off the goal |")
    print("|---|---|---|---|---|---|")
    for way, (schedule, start) in WAYS.items():
        for epochs in (int(value) for value in args.lengths.split(",")):
            config = TrainConfig(kl_weight="1/N", kl_reduction="sum", schedule=schedule, epochs=epochs)
            results = [gaps(data, seed, config, start) for data in sets for seed in seeds]
            sigma = max(result[1] for result in results)
            mean = max(result[0] for result in results)
            said = sum(result[2] for result in results)
            wrong = sum(result[2] and (result[1] > 0.05 or result[0] > 0.1) for result in results)
            print(f"| {way} | {epochs:,} | {sigma:.1%} | {mean:.3f} | {said} of {len(results)} | {wrong} |", flush=True)


if __name__ == "__main__":
    main()
