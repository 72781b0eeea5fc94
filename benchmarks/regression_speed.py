"""Training time of a regression on both engines: the compiled loop against torchbnn's autograd loop.

    python benchmarks/regression_speed.py [--seeds 0-2] [--dataset cubic] [--epochs 3000]

The default settings (1 → 100 → 1 or 2, 3000 steps) for each noise model and seed; each pair of runs is timed back
to back, so the ratio holds on a busy machine. Times are ``train_seconds``: the optimisation loop only.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import ModelConfig, RunConfig, load_builtin, train_run
from bnn_core.model.likelihood import NOISE_MODELS


def seconds(dataset: str, noise: str, seed: int, engine: str, epochs: int) -> float:
    config = RunConfig(model=ModelConfig(noise=noise), seed=seed)
    config = replace(config, train=replace(config.train, engine=engine, epochs=epochs))
    run = train_run(load_builtin(dataset), config)
    assert run.fit.engine == engine, run.fit.note
    return float(run.metrics["train_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2", help="a range such as 0-2")
    parser.add_argument("--dataset", default="cubic", choices=("cubic", "sine_gap", "heteroscedastic"))
    parser.add_argument("--epochs", type=int, default=3000)
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    seconds(args.dataset, "learned", 0, "fast", 1)  # loads the compiled kernels outside the table
    print(f"| {args.dataset}: noise | seed | fast (s) | torchbnn (s) | torchbnn ÷ fast |\n|---|---|---|---|---|")
    for noise in NOISE_MODELS:
        for seed in range(low, high + 1):
            fast = seconds(args.dataset, noise, seed, "fast", args.epochs)
            reference = seconds(args.dataset, noise, seed, "torchbnn", args.epochs)
            print(f"| {noise} | {seed} | {fast:.3f} | {reference:.2f} | {reference / fast:.0f}× |")


if __name__ == "__main__":
    main()
