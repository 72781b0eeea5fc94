"""``compare``: train the BNN and its alternatives on the same data and print the which-to-use table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import BNNInputError
from ..experiment import train_run
from ..methods.alternatives import train_method
from ..methods.compare import compare, table_text
from ..methods.options import METHODS, MethodsConfig
from ..runs.store import check_writable
from .common import TrainingBar, config_from_args, load_data


def execute(args: argparse.Namespace) -> int:
    """Train the run and each chosen method with a progress bar each, print the table and write it to ``--out``."""
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise BNNInputError(f"--methods takes names from {', '.join(METHODS)}, not {args.methods!r}.")
    settings = MethodsConfig(args.dropout_p, args.dropout_samples, args.members)
    dataset = load_data(args)
    config = config_from_args(args, dataset)
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise BNNInputError(f"--out {args.out}: the folder {out.parent} does not exist.")
    if out is not None and out.is_dir():
        raise BNNInputError(f"--out {args.out} is a folder; give a file name for the table, e.g. table.csv.")
    if out is not None:
        check_writable(out.parent, out)  # before the trainings, not after them
    bar = TrainingBar(sys.stderr, label=METHODS["bnn"])
    try:
        run = train_run(dataset, config, on_progress=bar)
    finally:
        bar.close()
    predictors = []
    for method in ["bnn", *(name for name in methods if name != "bnn")]:  # the BNN always leads the table
        bar = TrainingBar(sys.stderr, label=METHODS[method], losses=method != "hmc")
        try:
            predictors.append(train_method(run, method, settings, bar))
        finally:
            bar.close()
    table = compare(predictors, run.data, config.seed)
    print(table_text(table))
    if out is not None:
        table.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0
