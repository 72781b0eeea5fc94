"""Settings found from the data: the prior σ₀ and the KL weight that give the lowest NLL on held-out training rows.

No fixed setting serves every file: mean-field VI at the textbook ELBO can collapse to the prior on a small set,
and the article's weak KL gives overconfident intervals on a real one. So :func:`tune` searches, the way a careful
user would by hand:

1. The run's own split is made as ``train`` makes it; its test rows are set aside and never read again until the
   final run reports on them.
2. :data:`VALIDATION_SHARE` of the *training* rows are held out (stratified for classes, from the run's
   validation stream), and every cell of a σ₀ × KL-factor grid is trained on the rest: an ordinary sweep
   (:mod:`bnn_core.sweep`), with KL ``sum`` and weight F/N, F from :data:`FACTORS` (1 is Bayes' rule, below 1 a
   cold posterior).
3. The cell with the lowest validation NLL wins (ties: the larger F, then the larger σ₀: the less the prior is
   overruled); the final run trains on all training rows with it, its weight written "F/N" so that the run says
   how it weighs the prior, and is measured on the test rows as any run is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .data.datasets import Dataset
from .data.prepared import held_out_rows, prepare
from .errors import BNNInputError
from .experiment import TrainedRun, train_run
from .seeds import VALIDATION, stream_seed
from .settings import per_row_text
from .sweep import CellRunner, SweepProgress, SweepSpec, inline_cells, run_sweep

VALIDATION_SHARE = 0.2  # of the training rows, held out to choose on
PRIOR_SIGMAS = (0.1, 0.3, 1.0, 3.0)
FACTORS = (0.01, 0.1, 0.3, 1.0)  # KL weight F/N: the prior weighed F times as much as Bayes' rule says
MIN_SEARCH_ROWS = 8  # training rows a search needs: each side of the validation split must have some


@dataclass(frozen=True, eq=False)
class TuneResult:
    """What the search chose and saw: the final run's settings, every cell's validation metrics (one row per
    cell, with ``factor``, the KL weight × N), and the cell that won."""

    config: RunConfig
    table: pd.DataFrame
    best: pd.Series


def search_set(dataset: Dataset, config: RunConfig) -> Dataset:
    """The run's training rows only, with a validation share of them held out: the rows the search trains and
    chooses on. The run's test rows are not in it.

    Raises:
        BNNInputError: too few training rows to hold some out.
    """
    is_test = prepare(dataset, config.data, config.seed).is_test
    train = np.flatnonzero(~is_test)
    if len(train) < MIN_SEARCH_ROWS:
        raise BNNInputError(
            f"tune needs at least {MIN_SEARCH_ROWS} training rows to hold some out for choosing; "
            f"{dataset.name} has {len(train)}. Lower the test share or add rows."
        )
    rows = replace(dataset, x=dataset.x[train], y=dataset.y[train], held_out=None, dropped_rows=0)
    validation = held_out_rows(rows, VALIDATION_SHARE, stream_seed(config.seed, VALIDATION) >> 31)
    return replace(rows, held_out=validation)


def search_spec(config: RunConfig, n_search_train: int) -> SweepSpec:
    """The grid: σ₀ × F/N for the ``n_search_train`` rows the cells train on, KL ``sum``, the run's seed."""
    weights = tuple(factor / n_search_train for factor in FACTORS)
    train = replace(config.train, kl_reduction="sum")
    return SweepSpec(replace(config, train=train), PRIOR_SIGMAS, weights, ("sum",), (config.seed,))


def tune(
    dataset: Dataset,
    config: RunConfig,
    folder: Path,
    runner: CellRunner = inline_cells,
    on_cell: Callable[[SweepProgress], bool | None] | None = None,
) -> TuneResult | None:
    """Search σ₀ × the KL weight on the training rows (a sweep kept in ``folder``, resumable), and return the
    settings chosen; None if ``on_cell`` stopped the search.

    Raises:
        BNNInputError: too few training rows, or every cell failed.
    """
    rows = search_set(dataset, config)
    n_search_train = int((~rows.held_out).sum())
    spec = search_spec(config, n_search_train)
    stopped = []

    def heard(progress: SweepProgress) -> bool | None:
        if on_cell is not None and on_cell(progress) is False:
            stopped.append(True)
            return False
        return None

    table, _ = run_sweep(rows, spec, folder, runner, on_cell=heard)
    if stopped:
        return None
    table = table.assign(factor=(table["kl_weight"] * n_search_train).round(6))
    ok = table[(table["status"] == "ok") & np.isfinite(table["nll"].astype(float))]
    if ok.empty:
        raise BNNInputError(f"Every cell of the search failed; the first said: {table['message'].iloc[0]}")
    best = ok.sort_values(["nll", "factor", "prior_sigma"], ascending=[True, False, False]).iloc[0]
    return TuneResult(chosen_config(config, best), table, best)


def chosen_config(config: RunConfig, best: pd.Series) -> RunConfig:
    """``config`` with the winning cell's σ₀ and KL weight, the weight written per training row ("F/N")."""
    model = replace(config.model, prior_sigma=float(best["prior_sigma"]))
    train = replace(config.train, kl_reduction="sum", kl_weight=per_row_text(float(best["factor"])))
    return replace(config, model=model, train=train)


def tune_and_train(
    dataset: Dataset, config: RunConfig, folder: Path, runner: CellRunner = inline_cells
) -> tuple[TuneResult, TrainedRun]:
    """:func:`tune`, then the final run with the settings chosen, on all the run's training rows."""
    result = tune(dataset, config, folder, runner)
    if result is None:  # only an on_cell callback stops a search, and this one has none
        raise RuntimeError("the search stopped without a callback asking it to")
    return result, train_run(dataset, result.config)
