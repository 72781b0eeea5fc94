"""The truck probe over seeds: how unsure the BNN and how sure the plain network are, far outside the data.

    python benchmarks/truck.py                 # seeds 0–9, 3000 epochs (about a minute)
    python benchmarks/truck.py --seeds 2 --epochs 50   # a quick check that it runs

For the article's settings (KL weight 0.01, ``mean``, prior σ₀ 0.1) and the textbook ELBO the
dashboard's button loads (``sum``, weight 0.01 ≈ 1/120 for iris's 120 training rows, σ₀ 1), it
trains iris with each seed, trains the plain twin, and probes the truck preset: 8 standard
deviations out along the direction in which the data varies least. The README quotes these ranges.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bnn_core import DataConfig, RunConfig, load_builtin, prepare, probe, probe_presets, train_run, train_twin
from bnn_core.posterior.probing import IN_RANGE, TRUCK

SETTINGS = {
    "article (mean, 0.01, σ₀ 0.1)": RunConfig(),
    "textbook (sum, 0.01, σ₀ 1)": replace(
        RunConfig(),
        model=replace(RunConfig().model, prior_sigma=1.0),
        train=replace(RunConfig().train, kl_reduction="sum", kl_weight=0.01),
    ),
}


def truck_row(config: RunConfig) -> list[float]:
    """Epistemic nats at the truck, the BNN's and the plain network's top probability, and test accuracy."""
    run = train_run(load_builtin("iris"), config)
    twin = train_twin(run)
    result = probe(run.model, twin.model, run.data, probe_presets(run.data)[TRUCK], config.samples, config.seed)
    return [
        result.epistemic,
        float(result.mean_probs.max()),
        float(result.twin_probs.max()),
        run.metrics["test_accuracy"],
    ]


def preset_table() -> None:
    """The two presets off the data on iris (seed 0's split): their features, and how far they are from the data by
    its own covariance (Mahalanobis), against the farthest training row."""
    data = prepare(load_builtin("iris"), DataConfig(), seed=0)
    rows = data.dataset.x[~data.is_test]
    centred_inverse = np.linalg.inv(np.cov(rows, rowvar=False))

    def mahalanobis(points: np.ndarray) -> np.ndarray:
        centred = points - rows.mean(axis=0)
        return np.sqrt(np.einsum("ij,jk,ik->i", centred, centred_inverse, centred))

    names = data.dataset.feature_names
    print(f"\n| iris preset | {' | '.join(names)} | Mahalanobis |\n|---|{'---|' * (len(names) + 1)}")
    print(f"| training range | {' | '.join(f'{lo:g}–{hi:g}' for lo, hi in zip(rows.min(0), rows.max(0), strict=True))}"
          f" | up to {mahalanobis(rows).max():.1f} |")  # fmt: skip
    presets = probe_presets(data)
    for name in (IN_RANGE, TRUCK):
        point = presets[name]
        print(f"| {name} | {' | '.join(f'{v:.2f}' for v in point)} | {mahalanobis(point[None])[0]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 … N − 1")
    parser.add_argument("--epochs", type=int, default=3000)
    args = parser.parse_args()
    columns = ["epistemic nats", "BNN top probability", "plain top probability", "test accuracy"]
    print("| settings | seed | " + " | ".join(columns) + " |")
    print("|" + "---|" * (len(columns) + 2))
    ranges = {}
    for name, config in SETTINGS.items():
        rows = []
        for seed in range(args.seeds):
            row = truck_row(replace(config, train=replace(config.train, epochs=args.epochs), seed=seed))
            rows.append(row)
            print(f"| {name} | {seed} | {row[0]:.2f} | {row[1]:.1%} | {row[2]:.1%} | {row[3]:.1%} |")
        ranges[name] = [(min(column), max(column)) for column in zip(*rows, strict=True)]
    print("\nRanges over the seeds:")
    for name, spans in ranges.items():
        (e_lo, e_hi), (b_lo, b_hi), (p_lo, p_hi), (a_lo, a_hi) = spans
        print(
            f"- {name}: epistemic {e_lo:.2f}–{e_hi:.2f} nats; BNN top {b_lo:.0%}–{b_hi:.0%}; "
            f"plain network top {p_lo:.1%}–{p_hi:.1%}; test accuracy {a_lo:.1%}–{a_hi:.1%}"
        )
    preset_table()


if __name__ == "__main__":
    main()
