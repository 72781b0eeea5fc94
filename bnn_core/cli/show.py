"""``show``: check a saved run (a folder, or a run zip from the dashboard) and print its settings and metrics."""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

from ..runs.archive import unpacked_run
from ..runs.loading import LoadedRun, load_run
from ..settings import weight_text
from ..text import cut
from .common import metric_lines, network_shape, posterior_line, warning_lines


def execute(args: argparse.Namespace) -> int:
    """Load the run as the dashboard would (every check included) and print it; returns the exit code."""
    path = Path(args.run_dir)
    if path.is_file() and zipfile.is_zipfile(path):  # a run zip downloaded from the dashboard
        with unpacked_run(path, str(path)) as folder:
            return _print_run(load_run(folder), path)
    return _print_run(load_run(path), path)


def _print_run(run: LoadedRun, shown: Path) -> int:
    """Print the run's shape, names, settings and metrics (its names and notes as printable text: the run may be
    anyone's, and a name could hold a terminal's control sequences)."""
    c = run.config
    outputs = run.likelihood.n_outputs(len(run.class_names))
    print(f"{shown} is a valid run: {network_shape(len(run.feature_names), outputs, c)} BNN on {cut(run.dataset)}")
    features = cut(", ".join(run.feature_names))
    if run.task == "regression":
        noise = f"{c.model.noise} noise" + (f" (σ {c.model.noise_sigma:g})" if c.model.noise == "fixed" else "")
        print(f"  regression of {cut(run.label_column or 'y')} with {noise}; features: {features}")
    else:
        print(f"  classes: {cut(', '.join(run.class_names))}; features: {features}")
    print(
        f"  settings: {c.model.activation}, prior N({c.model.prior_mu:g}, {c.model.prior_sigma:g}²), "
        f"KL weight {weight_text(c.train.kl_weight)} ({c.train.kl_reduction}), {c.train.epochs} epochs "
        f"({c.train.schedule} schedule), lr {c.train.lr:g}, "
        f"test share {c.data.test_size:g}, scaling {c.data.scale}, seed {c.seed}"
    )
    if not run.metrics:  # a run saved without metrics.json
        print("  no metrics.json")
        return 0
    print("\n".join([*metric_lines(run.metrics, c.samples), posterior_line(c, run.metrics)]), flush=True)
    for line in warning_lines(c, run.metrics):  # checked against the schema, so every field is what it should be
        print(cut(line), file=sys.stderr)
    return 0
