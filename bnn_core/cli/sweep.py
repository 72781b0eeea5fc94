"""``sweep``: one ordinary train run per cell of a grid, locally or on Ray, into ``OUT/results.csv``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..config import RunConfig
from ..errors import BNNInputError
from ..limits import MAX_WORKERS
from ..sweep import (
    RESULTS_FILE,
    SweepProgress,
    SweepSpec,
    cell_label,
    finished_cells,
    parse_grid,
    parse_reductions,
    parse_seeds,
    pool_cells,
    ray_cells,
    run_sweep,
)
from .common import config_from_args, load_data
from .exit_codes import INTERRUPTED


def execute(args: argparse.Namespace) -> int:
    """Run the grid's missing cells with a bar counting cells; Ctrl-C keeps the finished ones for a resume."""
    if not 1 <= args.workers <= MAX_WORKERS:
        raise BNNInputError(f"--workers takes 1 to {MAX_WORKERS} processes, got {args.workers}.")
    grid = {
        "prior_sigmas": parse_grid(args.prior_sigma, "prior_sigma"),
        "kl_weights": parse_grid(args.kl_weight, "kl_weight"),
        "reductions": parse_reductions(args.kl_reduction),
        "seeds": parse_seeds(args.seeds),
    }
    SweepSpec(RunConfig(), **grid, max_cells=args.max_cells)  # the grid's size, refused before the data is read
    dataset = load_data(args)
    one_value = {"prior_sigma": grid["prior_sigmas"][0], "kl_weight": grid["kl_weights"][0],
                 "kl_reduction": grid["reductions"][0], "seed": grid["seeds"][0]}  # fmt: skip
    config = config_from_args(argparse.Namespace(**{**vars(args), **one_value}), dataset)
    spec = SweepSpec(config, **grid, max_cells=args.max_cells)
    runner = ray_cells(args.ray, args.workers) if args.ray else pool_cells(args.workers)
    where = f"Ray ({args.ray})" if args.ray else f"{args.workers} local worker(s)"
    out = Path(args.out)
    total = spec.n_cells
    print(f"sweep of {total} cells on {dataset.name}, {where}", file=sys.stderr)
    already = len(finished_cells(out, spec))
    with tqdm(total=total, initial=already, unit="cell", file=sys.stderr, dynamic_ncols=True) as bar:

        def advance(progress: SweepProgress) -> None:
            bar.update(1)
            if progress.row["status"] != "ok":
                bar.write(f"cell {cell_label(progress.row)} failed: {progress.row['message']}")

        try:
            table, resumed = run_sweep(dataset, spec, out, runner, args.keep_runs, advance)
        except KeyboardInterrupt:
            bar.close()
            print(f"\ninterrupted: the finished cells are in {out / RESULTS_FILE}; the same command resumes.",
                  file=sys.stderr)  # fmt: skip
            return INTERRUPTED
    failed = int((table["status"] == "failed").sum())
    print(f"wrote {out / RESULTS_FILE}: {len(table)} of {total} cells ({resumed} already there, {failed} failed)")
    return 0
