"""The "which to use?" table over seeds: the figures of the README's "Is a BNN worth it?".

    python benchmarks/methods.py [--dataset two_moons] [--seeds 0-4] [--epochs N] [--hmc shipped|sample|none]

Each seed is one run of the textbook ELBO (KL sum, weight 1/N, prior σ₀ 1) on a 16-unit ReLU network, the size the
HMC reference is offered for, at the default length (20,000 epochs) unless ``--epochs`` says otherwise, then MC
dropout (p 0.1, T 100), a deep ensemble (M 5), the plain network and the Laplace approximation around it on the
same split. ``--hmc shipped`` adds the reference where one ships (seed 0 of two_moons and circles), ``sample``
samples it for every seed (seconds each), ``none`` leaves it out. Prints every seed's table, then each column's
range over the seeds, per method.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import RunConfig, load_builtin, train_run
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.methods.alternatives import MethodsConfig, hmc_method, train_method
from bnn_core.methods.compare import COLUMNS, compare, table_text
from bnn_core.methods.hmc import HMCConfig
from bnn_core.methods.references import reference_run_config, shipped_reference
from bnn_core.runs.gallery import textbook_config

_DIGITS = {"mi_gap": 3, "train_seconds": 2}
RANGED = ("train_seconds", "accuracy", "nll", "ece", "brier", "auroc_mi", "auroc_max_softmax", "mi_gap", "dist_to_hmc")


def reference_config(dataset: str, seed: int, epochs: int | None) -> RunConfig:
    """The reference-sized textbook run of ``seed``, ``epochs`` long (None: the default length)."""
    config = textbook_config(replace(reference_run_config(dataset), seed=seed))
    return config if epochs is None else replace(config, train=replace(config.train, epochs=epochs))


def seed_table(dataset: str, seed: int, epochs: int | None, hmc: str) -> pd.DataFrame:
    """The table for one seed of the reference-sized textbook run."""
    run = train_run(load_builtin(dataset), reference_config(dataset, seed, epochs))
    settings = MethodsConfig()
    predictors = [train_method(run, method, settings) for method in ("bnn", "plain", "dropout", "ensemble", "laplace")]
    if hmc == "sample" or (hmc == "shipped" and shipped_reference(run.config, HMCConfig()) is not None):
        predictors.append(hmc_method(run))
    return compare(predictors, run.data, seed)


def ranges(tables: list[pd.DataFrame]) -> str:
    """Per method and column: "low–high" over the seeds (one value when they agree)."""
    every = pd.concat(tables)
    lines = ["| method | " + " | ".join(COLUMNS[c] for c in RANGED) + " |", "|---" * (len(RANGED) + 1) + "|"]
    for method, rows in every.groupby("method", sort=False):
        cells = []
        for column in RANGED:
            values = rows[column].astype(float).dropna()
            scale, digits = (100, 1) if column == "accuracy" else (1, _DIGITS.get(column, 3))
            low, high = scale * values.min(), scale * values.max()
            shown = f"{low:.{digits}f}–{high:.{digits}f}" if high > low else f"{low:.{digits}f}"
            cells.append("—" if values.empty else shown)
        lines.append(f"| {method} ({len(rows)} seeds) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="two_moons")
    parser.add_argument("--seeds", default="0-4", help="a range such as 0-4")
    parser.add_argument("--epochs", type=int, default=None, help="the run's length (default: the default epochs)")
    parser.add_argument("--hmc", choices=("shipped", "sample", "none"), default="shipped")
    args = parser.parse_args()
    one_thread_per_call()
    low, high = (int(part) for part in args.seeds.split("-"))
    tables = []
    for seed in range(low, high + 1):
        table = seed_table(args.dataset, seed, args.epochs, args.hmc)
        print(f"\nSeed {seed}:\n{table_text(table)}")
        tables.append(table)
    print(f"\nRanges over seeds {low}–{high} ({args.dataset}, {args.epochs} epochs, test accuracy in %):")
    print(ranges(tables))


if __name__ == "__main__":
    main()
