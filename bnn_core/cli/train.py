"""``train``: train a BNN on a built-in set or a CSV and save the run to ``--out``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import CSV_PREFIX
from ..data.csv_file import rows_note
from ..data.datasets import Dataset
from ..experiment import TrainedRun, train_run
from ..runs.store import (
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    check_run_target,
    save_run,
)
from .common import (
    TrainingBar,
    config_from_args,
    load_data,
    metric_lines,
    network_shape,
    posterior_line,
    warning_lines,
)


def execute(args: argparse.Namespace) -> int:
    """Train, save, then print what was read from a CSV and the summary; returns the exit code."""
    dataset = load_data(args)
    config = config_from_args(args, dataset)
    out = Path(args.out)
    check_run_target(out)  # refuse a bad --out before spending time on training
    bar = TrainingBar(sys.stderr, regression=dataset.task == "regression")
    try:
        run = train_run(dataset, config, on_progress=bar)
    finally:
        bar.close()
    save_run(run, out)
    if dataset.column_fates:  # after training, so that a refusal stays the only line on stderr
        print(csv_note(dataset))
    print(summary(run, out), flush=True)  # before the warnings on stderr
    for line in warning_lines(run.config, run.metrics):
        print(line, file=sys.stderr)
    return 0


def summary(run: TrainedRun, out: Path) -> str:
    """The short report printed after training."""
    m, dataset, config = run.metrics, run.data.dataset, run.config
    n_train, n_test = int((~run.data.is_test).sum()), int(run.data.is_test.sum())
    outputs = run.likelihood.n_outputs(dataset.n_classes)
    return "\n".join(
        [
            f"Trained a {network_shape(dataset.n_features, outputs, config)} BNN on {dataset.name} "
            f"({n_train} train / {n_test} test rows): {m['steps']} steps in {m['train_seconds']:.1f} s.",
            *metric_lines(m, config.samples),
            posterior_line(config, m),
            f"Saved to {out}/: {MODEL_FILE}, {CONFIG_FILE}, {METRICS_FILE}, {PREDICTIONS_FILE}, {HISTORY_FILE}",
        ]
    )


def csv_note(dataset: Dataset) -> str:
    """What was read from a CSV: the rows used, then each column and what it is used as."""
    width = max(len(column) for column, _ in dataset.column_fates)
    return "\n".join(
        [
            f"read {dataset.name.removeprefix(CSV_PREFIX)}: {rows_note(dataset)}",
            *(f"  {column:<{width}}  {fate}" for column, fate in dataset.column_fates),
        ]
    )
