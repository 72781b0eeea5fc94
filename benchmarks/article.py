"""The article's run over seeds, on both engines: the figures of the README's "The article, reproduced".

    python benchmarks/article.py [--seeds 0-9] [--engines fast,torchbnn]

The article trains 4 → 100 → 3 with prior N(0, 0.1²), KL weight 0.01 (mean), lr 0.01 and 3000 steps on all 150
raw iris rows (``--test-size 0 --scale none``). For each engine and seed it prints the posterior-mean train
accuracy, the final step's CE and KL and the training time, then the range of each over the seeds.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import DataConfig, RunConfig, load_builtin, train_run
from bnn_core.config import with_article_training

ARTICLE = with_article_training(RunConfig(data=DataConfig(test_size=0.0, scale="none")))


def article_row(engine: str, seed: int) -> tuple[float, float, float, float]:
    """(train accuracy, final CE, final KL, train seconds) of the article's run with ``seed`` on ``engine``."""
    config = replace(ARTICLE, train=replace(ARTICLE.train, engine=engine), seed=seed)
    metrics = train_run(load_builtin("iris"), config).metrics
    return metrics["train_accuracy"], metrics["final_ce"], metrics["final_kl"], metrics["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9", help="a range such as 0-9")
    parser.add_argument("--engines", default="fast,torchbnn")
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    print("| engine | seed | train accuracy | final CE | final KL | seconds |\n|---|---|---|---|---|---|")
    ranges = {}
    for engine in args.engines.split(","):
        rows = [article_row(engine, seed) for seed in range(low, high + 1)]
        for seed, (accuracy, ce, kl, seconds) in zip(range(low, high + 1), rows, strict=True):
            print(f"| {engine} | {seed} | {accuracy:.1%} | {ce:.3f} | {kl:.2f} | {seconds:.1f} |")
        ranges[engine] = [(min(column), max(column)) for column in zip(*rows, strict=True)]
    print(f"\nRanges over seeds {low}–{high}:")
    for engine, ((a_lo, a_hi), (c_lo, c_hi), (k_lo, k_hi), (s_lo, s_hi)) in ranges.items():
        print(
            f"- {engine}: train accuracy {a_lo:.1%}–{a_hi:.1%}, final CE {c_lo:.3f}–{c_hi:.3f}, "
            f"final KL {k_lo:.2f}–{k_hi:.2f}, {s_lo:.1f}–{s_hi:.1f} s"
        )


if __name__ == "__main__":
    main()
