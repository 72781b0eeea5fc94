"""``compare``: train the BNN and its alternatives on the same data and print the which-to-use table: for classes
accuracy, calibration and out-of-data scores, for a regression RMSE, NLL, 90% coverage and the gap ratio."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..data.prepared import prepare
from ..errors import BNNInputError
from ..experiment import train_run
from ..methods.alternatives import train_method
from ..methods.compare import compare, table_text
from ..methods.hmc import hmc_spec
from ..methods.options import METHODS, MethodsConfig
from ..methods.regression import train_regression_method
from ..methods.regression_table import compare_regression, regression_table_text
from ..runs.store import check_writable
from .common import TrainingBar, config_from_args, load_data

T = TypeVar("T")


def _methods(args: argparse.Namespace) -> list[str] | None:
    """The methods named by ``--methods``, the BNN first; None when it was not given (every method that applies).

    Raises:
        BNNInputError: an unknown name, or none.
    """
    if args.methods is None:
        return None
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise BNNInputError(f"--methods takes names from {', '.join(METHODS)}, not {args.methods!r}.")
    return ["bnn", *(name for name in dict.fromkeys(methods) if name != "bnn")]  # the BNN always leads the table


def _check_out(args: argparse.Namespace) -> Path | None:
    """The table's file, refused now when it could not be written later."""
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise BNNInputError(f"--out {args.out}: the folder {out.parent} does not exist.")
    if out is not None and out.is_dir():
        raise BNNInputError(f"--out {args.out} is a folder; give a file name for the table, e.g. table.csv.")
    if out is not None:
        check_writable(out.parent, out)  # before the trainings, not after them
    return out


def execute(args: argparse.Namespace) -> int:
    """Train the run and each chosen method with a progress bar each, print the table and write it to ``--out``.

    Without ``--methods`` every method runs, HMC only where the network and the noise model suit it (a note says
    why not); with ``--methods`` naming hmc, an unsuitable run is refused before anything trains.
    """
    chosen = _methods(args)
    settings = MethodsConfig(args.dropout_p, args.dropout_samples, args.members)
    dataset = load_data(args)
    config = config_from_args(args, dataset)
    out = _check_out(args)
    methods = chosen or list(METHODS)
    if "hmc" in methods:
        try:
            hmc_spec(prepare(dataset, config.data, config.seed), config)
        except BNNInputError as err:
            if chosen is not None:
                raise
            print(f"note: no HMC row: {err}", file=sys.stderr)
            methods.remove("hmc")
    run = _trained(lambda bar: train_run(dataset, config, on_progress=bar), "bnn", dataset.task)
    regression = run.task == "regression"
    train = train_regression_method if regression else train_method
    predictors = [_trained(lambda bar, m=m: train(run, m, settings, bar), m, run.task) for m in methods]
    if regression:
        table = compare_regression(predictors, run.data)
        print(regression_table_text(table))
    else:
        table = compare(predictors, run.data, config.seed)
        print(table_text(table))
    if out is not None:
        table.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0


def _trained(train: Callable[[TrainingBar], T], method: str, task: str) -> T:
    """``train(bar)`` with a progress bar labelled with the method, closed even when it fails."""
    bar = TrainingBar(sys.stderr, regression=task == "regression", label=METHODS[method], losses=method != "hmc")
    try:
        return train(bar)
    finally:
        bar.close()
