"""``show``: check a saved run (a folder, or a run zip from the dashboard) and print its settings and metrics."""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from ..runs.archive import unpacked_run
from ..runs.loading import LoadedRun, load_run
from ..settings import weight_text
from .common import metric_lines, network_shape, posterior_line, warning_lines


def execute(args: argparse.Namespace) -> int:
    """Load the run as the dashboard would (every check included) and print it; returns the exit code."""
    path = Path(args.run_dir)
    if path.is_file() and zipfile.is_zipfile(path):  # a run zip downloaded from the dashboard
        with unpacked_run(path.read_bytes(), str(path)) as folder:
            return _print_run(load_run(folder), path)
    return _print_run(load_run(path), path)


def _print_run(run: LoadedRun, shown: Path) -> int:
    c = run.config
    outputs = run.likelihood.n_outputs(len(run.class_names))
    print(f"{shown} is a valid run: {network_shape(len(run.feature_names), outputs, c)} BNN on {run.dataset}")
    if run.task == "regression":
        noise = f"{c.model.noise} noise" + (f" (σ {c.model.noise_sigma:g})" if c.model.noise == "fixed" else "")
        print(f"  regression of {run.label_column or 'y'} with {noise}; features: {', '.join(run.feature_names)}")
    else:
        print(f"  classes: {', '.join(run.class_names)}; features: {', '.join(run.feature_names)}")
    print(
        f"  settings: {c.model.activation}, prior N({c.model.prior_mu:g}, {c.model.prior_sigma:g}²), "
        f"KL weight {weight_text(c.train.kl_weight)} ({c.train.kl_reduction}), {c.train.epochs} epochs "
        f"({c.train.schedule} schedule), lr {c.train.lr:g}, "
        f"test share {c.data.test_size:g}, scaling {c.data.scale}, seed {c.seed}"
    )
    try:
        print("\n".join([*metric_lines(run.metrics, c.samples), posterior_line(c, run.metrics)]), flush=True)
        warnings = warning_lines(c, run.metrics)
    except (KeyError, TypeError, ValueError):  # metrics.json is informative only; show it as stored
        print(f"  metrics: {json.dumps(run.metrics)}")
        warnings = []
    for line in warnings:
        print(line, file=sys.stderr)
    return 0
