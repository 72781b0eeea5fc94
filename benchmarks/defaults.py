"""The prior and KL weight the defaults use, against the article's, on every built-in classification set.

    python benchmarks/defaults.py [--seeds 0-2]

For each set and seed it trains the 100-unit network twice: with the defaults (the textbook ELBO, KL sum weighted
exactly 1/N, prior σ₀ 1, the decay schedule) and with the article's settings (σ₀ 0.1, KL weight 0.01 with
``mean``, 3000 steps at one rate from σ = σ₀). It prints held-out accuracy, NLL and ECE as ranges over the seeds,
and how many runs said they had converged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import DataConfig, RunConfig, load_builtin, train_run, with_article_training
from bnn_core.settings import CLASSIFICATION_DATASETS

WAYS = {"defaults (textbook ELBO)": False, "the article's": True}


def spread(values: list[float], digits: int) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f}–{high:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2", help="a range such as 0-2")
    args = parser.parse_args()
    low, _, high = args.seeds.partition("-")
    seeds = range(int(low), int(high or low) + 1)
    print("| set | settings | test accuracy | test NLL | ECE | converged |")
    print("|---|---|---|---|---|---|")
    for name in CLASSIFICATION_DATASETS:
        dataset = load_builtin(name)
        for way, article in WAYS.items():
            runs = []
            for seed in seeds:
                config = RunConfig(data=DataConfig(dataset=name), seed=seed)
                runs.append(train_run(dataset, with_article_training(config) if article else config))
            metrics = [run.metrics for run in runs]
            print(
                f"| {name} | {way} | {spread([100 * m['test_accuracy'] for m in metrics], 1)}% | "
                f"{spread([m['nll'] for m in metrics], 3)} | {spread([m['ece'] for m in metrics], 3)} | "
                f"{sum(bool(m['converged']) for m in metrics)} of {len(runs)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
