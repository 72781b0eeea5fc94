"""``tune``: choose σ₀ and the KL weight on held-out training rows (:mod:`bnn_core.tune`), then train into ``--out``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..errors import BNNInputError
from ..experiment import train_run
from ..runs.store import check_run_target, save_run
from ..sweep import SweepProgress, pool_cells
from ..tune import FACTORS, PRIOR_SIGMAS, search_set, tune
from .common import TrainingBar, config_from_args, load_data, warning_lines
from .exit_codes import INTERRUPTED
from .sweep import MAX_WORKERS
from .train import csv_note, summary


def execute(args: argparse.Namespace) -> int:
    """Search, print the search's validation NLLs and the choice, then train, save and summarise as ``train``."""
    if not 1 <= args.workers <= MAX_WORKERS:
        raise BNNInputError(f"--workers takes 1 to {MAX_WORKERS} processes, got {args.workers}.")
    dataset = load_data(args)
    config = config_from_args(args, dataset)
    out = Path(args.out)
    check_run_target(out)  # refuse a bad --out before the search
    search_set(dataset, config)  # refuse too few training rows before printing anything
    search = out.with_name(f"{out.name}-search")
    total = len(PRIOR_SIGMAS) * len(FACTORS)
    print(f"search of {total} cells on the training rows of {dataset.name}, in {search}/", file=sys.stderr)
    with tqdm(total=total, unit="cell", file=sys.stderr, dynamic_ncols=True) as bar:

        def advance(progress: SweepProgress) -> None:
            bar.update(1)

        try:
            result = tune(dataset, config, search, pool_cells(args.workers), advance)
        except KeyboardInterrupt:
            bar.close()
            print(f"\ninterrupted: the finished cells are in {search}/; the same command resumes.", file=sys.stderr)
            return INTERRUPTED
    assert result is not None  # the callback above never stops the search
    print(search_text(result.table))
    best = result.best
    print(f"chosen: prior σ₀ {best['prior_sigma']:g}, KL weight {result.config.train.kl_weight} (sum): validation "
          f"NLL {best['nll']:.3f}")  # fmt: skip
    bar = TrainingBar(sys.stderr, regression=dataset.task == "regression")
    try:
        run = train_run(dataset, result.config, on_progress=bar)
    finally:
        bar.close()
    save_run(run, out)
    if dataset.column_fates:
        print(csv_note(dataset))
    print(summary(run, out), flush=True)
    for line in warning_lines(run.config, run.metrics):
        print(line, file=sys.stderr)
    return 0


def search_text(table: pd.DataFrame) -> str:
    """The validation NLL of every cell as a σ₀ × F table (F: the KL weight × N)."""
    grid = table.pivot(index="prior_sigma", columns="factor", values="nll")
    grid.index = [f"σ₀ {value:g}" for value in grid.index]
    grid.columns = [f"{value:g}/N" for value in grid.columns]
    return "validation NLL (lower is better):\n" + grid.to_string(float_format=lambda value: f"{value:.3f}")
