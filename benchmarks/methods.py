"""The "which to use?" table over seeds: the figures of the README's "Is a BNN worth it?"; and the methods' training
times side by side.

    python benchmarks/methods.py [--dataset two_moons] [--seeds 0-4] [--epochs N] [--hmc shipped|sample|none]
    python benchmarks/methods.py --dataset sine_gap --seeds 0-2 --hmc sample
    python benchmarks/methods.py --speed [--seeds 0-2] [--epochs 3000] [--repeats 3]

Each seed is one run of the textbook ELBO (KL sum, weight 1/N, prior σ₀ 1) on a 16-unit ReLU network, the size the
HMC reference is offered for, at the default length (20,000 epochs) unless ``--epochs`` says otherwise, then MC
dropout (p 0.1, T 100), a deep ensemble (M 5), the plain network and the Laplace approximation around it on the
same split. ``--hmc shipped`` adds the reference where one ships (seed 0 of two_moons and circles), ``sample``
samples it for every seed (seconds each), ``none`` leaves it out. Prints every seed's table, then each column's
range over the seeds, per method.

On a regression set (sine_gap, cubic) the noise σ is fixed at ``--noise-sigma`` (sine_gap's own 0.1 by default), as
HMC needs, and the table is the regression one: RMSE, NLL, 90% coverage and the gap ratio
(bnn_core.methods.regression_table). No regression reference ships: ``--hmc sample`` samples one per seed.

``--speed`` instead times the training of the BNN, MC dropout, the plain network and the deep ensemble (M 5), all
on the compiled loop, in this one process: on that 16-unit network (the textbook ELBO) and on the two-moons gallery
preset's network (the defaults: 100 ReLU units), for each seed ``--repeats`` rounds taking the four in turn, so
the machine's load hits them alike. It prints each seed's median loop seconds (``train_seconds``: the optimisation
alone) with the ratios MC dropout / BNN and ensemble / (M × plain), then their ranges over the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import RunConfig, TrainConfig, load_builtin, train_run, train_twin
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.methods.alternatives import (
    MethodsConfig,
    ensemble_keys,
    hmc_method,
    train_dropout,
    train_ensemble,
    train_method,
)
from bnn_core.methods.compare import COLUMNS, compare, table_text
from bnn_core.methods.hmc import HMCConfig
from bnn_core.methods.references import reference_run_config, shipped_reference
from bnn_core.methods.regression import train_regression_method
from bnn_core.methods.regression_table import COLUMNS as REGRESSION_COLUMNS
from bnn_core.methods.regression_table import compare_regression, regression_table_text
from bnn_core.runs.gallery import PRESETS_BY_SLUG, textbook_config

_DIGITS = {"mi_gap": 3, "train_seconds": 2, "gap_ratio": 2}
RANGED = ("train_seconds", "accuracy", "nll", "ece", "brier", "auroc_mi", "auroc_max_softmax", "mi_gap", "dist_to_hmc")
REGRESSION_RANGED = ("train_seconds", "rmse", "nll", "coverage_90", "gap_ratio")
METHODS = ("bnn", "plain", "dropout", "ensemble", "laplace")


def reference_config(dataset: str, seed: int, epochs: int | None) -> RunConfig:
    """The reference-sized textbook run of ``seed``, ``epochs`` long (None: the default length)."""
    return _length(textbook_config(replace(reference_run_config(dataset), seed=seed)), epochs)


def seed_table(dataset: str, seed: int, epochs: int | None, hmc: str) -> pd.DataFrame:
    """The table for one seed of the reference-sized textbook run."""
    run = train_run(load_builtin(dataset), reference_config(dataset, seed, epochs))
    settings = MethodsConfig()
    predictors = [train_method(run, method, settings) for method in METHODS]
    if hmc == "sample" or (hmc == "shipped" and shipped_reference(run.config, HMCConfig()) is not None):
        predictors.append(hmc_method(run))
    return compare(predictors, run.data, seed)


def _length(config: RunConfig, epochs: int | None) -> RunConfig:
    """``config`` trained for ``epochs`` steps, if given (after textbook_config, which sets the default length)."""
    return config if epochs is None else replace(config, train=replace(config.train, epochs=epochs))


def regression_seed_table(dataset: str, seed: int, epochs: int | None, hmc: str, noise_sigma: float) -> pd.DataFrame:
    """The regression table for one seed of the reference-sized textbook run with the noise σ fixed."""
    base = reference_run_config(dataset)
    model = replace(base.model, noise="fixed", noise_sigma=noise_sigma)
    config = _length(textbook_config(replace(base, model=model, seed=seed)), epochs)
    run = train_run(load_builtin(dataset), config)
    methods = [*METHODS, "hmc"] if hmc == "sample" else list(METHODS)  # no regression reference ships
    predictors = [train_regression_method(run, method, MethodsConfig()) for method in methods]
    return compare_regression(predictors, run.data)


def ranges(tables: list[pd.DataFrame]) -> str:
    """Per method and column: "low–high" over the seeds (one value when they agree)."""
    every = pd.concat(tables)
    regression = "gap_ratio" in every
    ranged, headings = (REGRESSION_RANGED, REGRESSION_COLUMNS) if regression else (RANGED, COLUMNS)
    lines = ["| method | " + " | ".join(headings[c] for c in ranged) + " |", "|---" * (len(ranged) + 1) + "|"]
    for method, rows in every.groupby("method", sort=False):
        cells = []
        for column in ranged:
            values = rows[column].astype(float).dropna()
            percent = column in ("accuracy", "coverage_90")
            scale, digits = (100, 1 if column == "accuracy" else 0) if percent else (1, _DIGITS.get(column, 3))
            low, high = scale * values.min(), scale * values.max()
            shown = f"{low:.{digits}f}–{high:.{digits}f}" if high > low else f"{low:.{digits}f}"
            cells.append("—" if values.empty else shown)
        lines.append(f"| {method} ({len(rows)} seeds) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TIMED = ("BNN", "MC dropout", "plain", "ensemble")


def training_seconds(config: RunConfig) -> dict[str, float]:
    """One training of each method of :data:`TIMED` on ``config``'s run, in turn: their loop seconds."""
    run = train_run(load_builtin(config.data.dataset), config)
    settings = MethodsConfig()
    dropout = train_dropout(run, settings.dropout_p)
    keys = ensemble_keys(config.seed, settings.ensemble_members)
    ensemble = train_ensemble(run, keys)
    assert dropout is not None and ensemble is not None  # nothing cancels them here
    plain = train_twin(run).fit.train_seconds
    return {"BNN": run.fit.train_seconds, "MC dropout": dropout[1], "plain": plain, "ensemble": ensemble.train_seconds}


def _span(values: list[float], digits: int) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}" if f"{low:.{digits}f}" == f"{high:.{digits}f}" else f"{low:.{digits}f}–{high:.{digits}f}"


def speed(seeds: range, epochs: int, repeats: int) -> None:
    """Print the methods' training seconds and the ratios, per seed and as ranges, for both networks."""
    members = MethodsConfig().ensemble_members
    preset = PRESETS_BY_SLUG["two-moons"].config
    networks = {
        "two_moons, 16 units (textbook)": lambda seed: reference_config("two_moons", seed, epochs),
        "two-moons preset (100 units)": lambda seed: replace(
            preset, seed=seed, train=replace(preset.train, epochs=epochs)
        ),
    }
    columns = " | ".join(f"{name} (s)" for name in TIMED) + " | MC dropout / BNN | ensemble / (M × plain) |"
    print(f"\nTraining seconds (loop only), {epochs} epochs, median of {repeats} rounds per seed; M = {members}")
    print(f"| network | seed | {columns}\n" + "|---" * (len(TIMED) + 4) + "|")
    summary = []
    for network, config_of in networks.items():
        rows = []
        for seed in seeds:
            rounds = [training_seconds(config_of(seed)) for _ in range(repeats)]
            median = {name: statistics.median(r[name] for r in rounds) for name in TIMED}
            ratios = (median["MC dropout"] / median["BNN"], median["ensemble"] / (members * median["plain"]))
            rows.append((median, ratios))
            cells = " | ".join(f"{median[name]:.3f}" for name in TIMED)
            print(f"| {network} | {seed} | {cells} | {ratios[0]:.2f} | {ratios[1]:.2f} |")
        spans = [_span([row[0][name] for row in rows], 3) for name in TIMED]
        spans += [_span([row[1][k] for row in rows], 2) for k in (0, 1)]
        summary.append(f"| {network} | " + " | ".join(spans) + " |")
    print(f"\nRanges over seeds {seeds.start}–{seeds.stop - 1}:")
    print(f"| network | {columns}")
    print("|---" * (len(TIMED) + 3) + "|")
    print("\n".join(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="two_moons")
    parser.add_argument("--seeds", default="0-4", help="a range such as 0-4")
    parser.add_argument("--epochs", type=int, default=None, help="the run's length (default: the default epochs)")
    parser.add_argument("--hmc", choices=("shipped", "sample", "none"), default="shipped")
    parser.add_argument("--noise-sigma", type=float, default=0.1, help="a regression's fixed noise σ")
    parser.add_argument("--speed", action="store_true", help="time the methods' training instead (two_moons)")
    parser.add_argument("--repeats", type=int, default=3, help="--speed: rounds per seed")
    args = parser.parse_args()
    one_thread_per_call()
    low, high = (int(part) for part in args.seeds.split("-"))
    if args.speed:
        speed(range(low, high + 1), args.epochs or 3000, args.repeats)
        return
    tables = []
    regression = load_builtin(args.dataset).task == "regression"
    for seed in range(low, high + 1):
        if regression:
            table = regression_seed_table(args.dataset, seed, args.epochs, args.hmc, args.noise_sigma)
            print(f"\nSeed {seed}:\n{regression_table_text(table)}", flush=True)
        else:
            table = seed_table(args.dataset, seed, args.epochs, args.hmc)
            print(f"\nSeed {seed}:\n{table_text(table)}", flush=True)
        tables.append(table)
    percent = "coverage" if regression else "test accuracy"
    epochs = args.epochs or TrainConfig().epochs
    print(f"\nRanges over seeds {low}–{high} ({args.dataset}, {epochs} epochs, {percent} in %):")
    print(ranges(tables))


if __name__ == "__main__":
    main()
