"""The command line: ``python -m bnn_core train --out DIR`` and ``python -m bnn_core show DIR``.

Every mistake a user can make ends in one line on stderr and exit code 2, with
nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from tqdm import tqdm

from .config import CSV_PREFIX, RunConfig
from .data.csv_file import guess_task, read_csv, rows_note
from .data.datasets import Dataset, load_builtin
from .engine.threads import one_thread_per_call
from .engine.train import Progress
from .errors import BNNInputError
from .experiment import TrainedRun, train_run
from .methods.alternatives import DROPOUT_P, DROPOUT_SAMPLES, ENSEMBLE_MEMBERS, METHODS, MethodsConfig, train_method
from .methods.compare import compare as compare_methods
from .methods.compare import table_text
from .model.network import layer_sizes
from .runs.archive import unpacked_run
from .runs.gallery import Preset, build_gallery
from .runs.loading import LoadedRun, load_run
from .runs.store import (
    CONFIG_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    check_run_target,
    save_run,
)
from .settings import SECTIONS, SETTINGS, Setting
from .sweep import (
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

USAGE_ERROR = 2
INTERRUPTED = 130
MAX_WORKERS = 256


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"error: {message} (see {self.prog} --help).\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for flags that have none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser(prog: str = "python -m bnn_core") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Train and inspect Bayesian neural networks (torchbnn BayesLinear layers).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser(
        "train",
        help="train a BNN and save the run to a folder",
        description="Train a Bayesian neural network on a built-in dataset or your CSV, then save the weights, "
        "settings, metrics and per-point predictions to --out.",
        formatter_class=_HelpFormatter,
    )
    _add_train_arguments(train)
    compare = commands.add_parser(
        "compare",
        help="train the BNN and its alternatives on the same data and print the which-to-use table",
        description="Train the BNN with the settings below, then MC dropout, a deep ensemble, the plain network and "
        "(for small networks) an HMC reference on the same data, split and shape, and print their test metrics, "
        "OOD AUROC and far/near uncertainty ratio.",
        formatter_class=_HelpFormatter,
    )
    _add_train_arguments(compare, out_help="CSV file to write the table to (optional)")
    _add_method_arguments(compare)
    _add_sweep_command(commands)
    show = commands.add_parser("show", help="check a saved run and print its settings and metrics")
    gallery = commands.add_parser(
        "gallery",
        help="retrain the dashboard's gallery of ready runs",
        description="Train every preset of the dashboard's gallery (bnn_core/gallery.py); write each to OUT/<name>/.",
        formatter_class=_HelpFormatter,
    )
    gallery.add_argument("--out", default="gallery", metavar="DIR", help="the gallery folder")
    show.add_argument(
        "run_dir", metavar="DIR", help="a folder written by 'train --out DIR', or a run zip downloaded from the app"
    )
    return parser


def _add_train_arguments(train: argparse.ArgumentParser, out_help: str = "") -> None:
    """Every setting of the schema as a flag, with its bounds and default in ``--help``; ``--out`` is a required
    run folder, or, given ``out_help``, an optional file."""
    if out_help:
        train.add_argument("--out", metavar="FILE", help=out_help)
    else:
        train.add_argument(
            "--out", required=True, metavar="DIR", help="folder to save the run in (new, empty, or an earlier run)"
        )
    groups = {name: train.add_argument_group(title) for name, title in GROUP_TITLES.items()}
    source = groups["data"].add_mutually_exclusive_group()
    for section, settings in SECTIONS.items():
        for setting in settings:
            where = source if setting.name == "dataset" else groups[section]
            where.add_argument(setting.flag, **_flag_options(setting))
            if setting.name == "dataset":
                source.add_argument(
                    "--csv",
                    metavar="FILE",
                    help="your own CSV: features and one label column (short text one-hot, dates and IDs left out)",
                )
                groups["data"].add_argument(
                    "--label",
                    "--target",
                    dest="label",
                    metavar="COLUMN",
                    help="with --csv: the column of the classes, or the regression target",
                )


def _add_method_arguments(compare: argparse.ArgumentParser) -> None:
    """The alternatives' own settings (:class:`~bnn_core.methods.alternatives.MethodsConfig`) and which methods
    to run."""
    group = compare.add_argument_group("methods")
    defaults = MethodsConfig()
    group.add_argument(
        "--methods",
        default=",".join(METHODS),
        metavar="LIST",
        help=f"comma-separated, from {', '.join(METHODS)} (hmc only for small networks)",
    )
    group.add_argument("--dropout-p", type=float, default=defaults.dropout_p, metavar="P",
                       help=f"MC dropout's drop probability, {DROPOUT_P[0]:g} to {DROPOUT_P[1]:g}")  # fmt: skip
    group.add_argument("--dropout-samples", type=int, default=defaults.dropout_samples, metavar="T",
                       help=f"dropout masks at prediction, {DROPOUT_SAMPLES[0]} to {DROPOUT_SAMPLES[1]}")  # fmt: skip
    group.add_argument("--members", type=int, default=defaults.ensemble_members, metavar="M",
                       help=f"deep-ensemble members, {ENSEMBLE_MEMBERS[0]} to {ENSEMBLE_MEMBERS[1]}")  # fmt: skip


def _add_sweep_command(commands: argparse._SubParsersAction) -> None:
    """``sweep``: every train flag, with the grid's four taking ranges or lists instead of one value."""
    sweep = commands.add_parser(
        "sweep",
        help="train a grid of runs over the prior σ₀ × KL weight (× reduction × seeds) and write their metrics",
        description="Train one run per cell of the grid with the settings below (each an ordinary train run), "
        "locally or on Ray, and write OUT/results.csv. A rerun into the same --out skips the finished cells.",
        formatter_class=_HelpFormatter,
        conflict_handler="resolve",  # the grid's flags replace the one-value flags of the same names
    )
    _add_train_arguments(sweep)
    grid = sweep.add_argument_group("grid and execution")
    grid.add_argument("--out", required=True, metavar="DIR", help="the sweep's folder: new, empty, or one to resume")
    grid.add_argument("--prior-sigma", default="0.01:10:7", metavar="GRID",
                      help="σ₀ values: LOW:HIGH:COUNT on a log scale, or a list such as 0.1,1")  # fmt: skip
    grid.add_argument("--kl-weight", default="1e-4:1:9", metavar="GRID",
                      help="KL weights: LOW:HIGH:COUNT on a log scale, or a list such as 0,0.01,1")  # fmt: skip
    grid.add_argument("--kl-reduction", default="mean", metavar="LIST", help="mean, sum, or mean,sum")
    grid.add_argument("--seeds", "--seed", dest="seeds", default="0", metavar="SEEDS",
                      help="a range such as 0-4, or a list such as 0,3")  # fmt: skip
    grid.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                      help="local worker processes (1 runs the cells in this process)")  # fmt: skip
    grid.add_argument("--ray", metavar="ADDRESS",
                      help="run the cells as Ray tasks: 'local' starts a local Ray runtime (--workers CPUs), any "
                      "other address joins that cluster, e.g. auto or ray://head:10001")  # fmt: skip
    grid.add_argument("--keep-runs", action="store_true", help="also save each cell's run folder under OUT/runs/")


GROUP_TITLES = {"data": "data", "model": "model", "train": "training", "run": "sampling and seed"}


def _flag_options(setting: Setting) -> dict[str, Any]:
    """argparse options for one setting: its type, placeholder, default, and help with the allowed values."""
    if isinstance(setting.default, tuple):  # the hidden layers: repeat the flag or separate with commas
        fewest, most = setting.length
        return {
            "action": "append",
            "metavar": setting.metavar,
            "help": f"{setting.help} Repeat or use commas for more layers, e.g. {setting.flag} 64,64; "
            f"{fewest} to {most} layers of {setting.bounds()} units (default: {','.join(map(str, setting.default))})",
        }
    if setting.name == "task":  # no default: it is the built-in dataset's, or guessed from a CSV's target column
        return {"choices": setting.choices, "help": f"{setting.help} (default: the dataset's, or a CSV's guess)"}
    if setting.kind is str and setting.prefix is None:
        return {"default": setting.default, "choices": setting.choices, "help": setting.help}
    return {
        "default": setting.default,
        "type": setting.kind,
        "metavar": setting.metavar,
        "help": f"{setting.help} ({setting.allowed()})",
    }


def _hidden(values: list[str] | None) -> tuple[int, ...]:
    """The hidden layers from ``--hidden`` flags: ``64,64`` is two layers, a lone ``0`` none."""
    if not values:
        return SETTINGS["hidden"].default
    units = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if units == ["0"]:
        return ()
    try:
        return tuple(int(u) for u in units)
    except ValueError:
        raise BNNInputError(
            f"--hidden takes whole numbers of units such as 100 or 64,64; got {','.join(values)!r}."
        ) from None


def config_from_args(args: argparse.Namespace, dataset: Dataset) -> RunConfig:
    """Build and validate the run's settings from parsed flags (one per schema setting)."""
    values = {name: getattr(args, name) for name in SETTINGS}
    values["hidden"] = _hidden(args.hidden)
    values["dataset"] = dataset.name
    values["task"] = dataset.task
    return RunConfig.from_flat(values)


def _load_data(args: argparse.Namespace) -> Dataset:
    if args.csv is None:
        if args.label is not None:
            raise BNNInputError("--label only applies with --csv FILE; so does --target.")
        dataset = load_builtin(args.dataset)
        if args.task is not None and args.task != dataset.task:
            raise BNNInputError(f"{dataset.name} is a {dataset.task} set; --task {args.task} does not apply to it.")
        return dataset
    if args.label is None:
        raise BNNInputError(
            "--csv needs --label COLUMN (the classes) or --target COLUMN (a regression target), the column to predict."
        )
    return read_csv(args.csv, args.label, task=args.task or guess_task(args.csv, args.label))


class ProgressBar:
    """A one-line progress bar on a terminal; a line per 10% when output is redirected.

    ``regression`` names the data term NLL and the score RMSE (both in the units the network is trained in);
    ``label`` starts each line (which method trains); ``losses=False`` shows steps and time only (a sampler).
    """

    def __init__(
        self, stream: TextIO, width: int = 28, regression: bool = False, label: str = "", losses: bool = True
    ) -> None:
        self.stream, self.width, self.label, self.losses = stream, width, f"{label}  " if label else "", losses
        self.data_name, self.score = ("NLL", "RMSE {:.3f}") if regression else ("CE", "acc {:6.1%}")
        self.interactive = stream.isatty()
        self.last_tenth = -1
        self.line_open = False  # a \r-updated line is on screen without its newline

    def __call__(self, progress: Progress) -> None:
        p = progress
        share = p.step / p.epochs
        filled = round(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        losses = f"  {self.data_name} {p.ce:.3f}  KL {p.kl:.3f}  {self.score.format(p.train_accuracy)}"
        line = (
            f"{self.label}[{bar}] {p.step:>{len(str(p.epochs))}}/{p.epochs}{losses if self.losses else ''}"
            f"  {p.elapsed:5.1f}s"
        )
        done = p.step == p.epochs
        if self.interactive:
            self.stream.write("\r" + line + ("\n" if done else ""))
            self.line_open = not done
        elif int(share * 10) > self.last_tenth:
            self.last_tenth = int(share * 10)
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End an unfinished bar's line, so a following message starts on its own line."""
        if self.line_open:
            self.stream.write("\n")
            self.line_open = False


def _percent(value: object) -> str:
    return "n/a (no test rows)" if value is None else f"{float(value):.1%}"


def _number(value: object) -> str:
    return "n/a (no test rows)" if value is None else f"{float(value):.4g}"


def _regression_lines(metrics: dict[str, Any], samples: int) -> list[str]:
    sigma = metrics["noise_sigma"]
    coverage = ", ".join(f"{level}% {metrics[f'coverage_{level}']:.0%}" for level in (50, 90, 95))
    return [
        f"  RMSE, mean of {samples} samples: train {_number(metrics['train_rmse'])}, "
        f"test {_number(metrics['test_rmse'])}",
        f"  RMSE, one sample (#0):      train {_number(metrics['sample_train_rmse'])}, "
        f"test {_number(metrics['sample_test_rmse'])}",
        f"  on {metrics['metrics_on']} rows: NLL {metrics['nll']:.3f}; interval coverage {coverage}",
        f"  noise σ {'per input (heteroscedastic)' if sigma is None else f'{sigma:.4g}'}; "
        f"final step: NLL {metrics['final_nll']:.3f}, KL {metrics['final_kl']:.3f}",
    ]


def _metric_lines(metrics: dict[str, Any], samples: int) -> list[str]:
    if "train_rmse" in metrics:
        return _regression_lines(metrics, samples)
    return [
        f"  accuracy, mean of {samples} samples: train {_percent(metrics['train_accuracy'])}, "
        f"test {_percent(metrics['test_accuracy'])}",
        f"  accuracy, one sample (#0):      train {_percent(metrics['sample_train_accuracy'])}, "
        f"test {_percent(metrics['sample_test_accuracy'])}",
        f"  on {metrics['metrics_on']} rows: NLL {metrics['nll']:.3f}, Brier {metrics['brier']:.3f}, "
        f"ECE {metrics['ece']:.3f}",
        f"  final step: CE {metrics['final_ce']:.3f}, KL {metrics['final_kl']:.3f}",
    ]


def _shape(n_features: int, n_outputs: int, config: RunConfig) -> str:
    return " → ".join(str(s) for s in layer_sizes(n_features, n_outputs, config.model))


def summary(run: TrainedRun, out: Path) -> str:
    """The short report printed after training."""
    m, dataset, config = run.metrics, run.data.dataset, run.config
    n_train, n_test = int((~run.data.is_test).sum()), int(run.data.is_test.sum())
    outputs = run.likelihood.n_outputs(dataset.n_classes)
    return "\n".join(
        [
            f"Trained a {_shape(dataset.n_features, outputs, config)} BNN on {dataset.name} "
            f"({n_train} train / {n_test} test rows): {m['steps']} steps in {m['train_seconds']:.1f} s.",
            *_metric_lines(m, config.samples),
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


def _train(args: argparse.Namespace) -> int:
    dataset = _load_data(args)
    config = config_from_args(args, dataset)
    out = Path(args.out)
    check_run_target(out)  # refuse a bad --out before spending time on training
    bar = ProgressBar(sys.stderr, regression=dataset.task == "regression")
    try:
        run = train_run(dataset, config, on_progress=bar)
    finally:
        bar.close()
    save_run(run, out)
    if dataset.column_fates:  # after training, so that a refusal stays the only line on stderr
        print(csv_note(dataset))
    print(summary(run, out))
    return 0


def _compare(args: argparse.Namespace) -> int:
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise BNNInputError(f"--methods takes names from {', '.join(METHODS)}, not {args.methods!r}.")
    settings = MethodsConfig(args.dropout_p, args.dropout_samples, args.members)
    dataset = _load_data(args)
    config = config_from_args(args, dataset)
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise BNNInputError(f"--out {args.out}: the folder {out.parent} does not exist.")
    bar = ProgressBar(sys.stderr, label=METHODS["bnn"])
    try:
        run = train_run(dataset, config, on_progress=bar)
    finally:
        bar.close()
    predictors = []
    for method in ["bnn", *(name for name in methods if name != "bnn")]:  # the BNN always leads the table
        bar = ProgressBar(sys.stderr, label=METHODS[method], losses=method != "hmc")
        try:
            predictors.append(train_method(run, method, settings, bar))
        finally:
            bar.close()
    table = compare_methods(predictors, run.data, config.seed)
    print(table_text(table))
    if out is not None:
        table.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    if not 1 <= args.workers <= MAX_WORKERS:
        raise BNNInputError(f"--workers takes 1 to {MAX_WORKERS} processes, got {args.workers}.")
    grid = {
        "prior_sigmas": parse_grid(args.prior_sigma, "prior_sigma"),
        "kl_weights": parse_grid(args.kl_weight, "kl_weight"),
        "reductions": parse_reductions(args.kl_reduction),
        "seeds": parse_seeds(args.seeds),
    }
    dataset = _load_data(args)
    one_value = {"prior_sigma": grid["prior_sigmas"][0], "kl_weight": grid["kl_weights"][0],
                 "kl_reduction": grid["reductions"][0], "seed": grid["seeds"][0]}  # fmt: skip
    config = config_from_args(argparse.Namespace(**{**vars(args), **one_value}), dataset)
    spec = SweepSpec(config, **grid)
    runner = ray_cells(args.ray, args.workers) if args.ray else pool_cells(args.workers)
    where = f"Ray ({args.ray})" if args.ray else f"{args.workers} local worker(s)"
    out = Path(args.out)
    total = len(spec.cells())
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


def _show(args: argparse.Namespace) -> int:
    path = Path(args.run_dir)
    if path.is_file() and zipfile.is_zipfile(path):  # a run zip downloaded from the dashboard
        with unpacked_run(path.read_bytes(), str(path)) as folder:
            return _print_run(load_run(folder), path)
    return _print_run(load_run(path), path)


def _print_run(run: LoadedRun, shown: Path) -> int:
    c = run.config
    outputs = run.likelihood.n_outputs(len(run.class_names))
    print(f"{shown} is a valid run: {_shape(len(run.feature_names), outputs, c)} BNN on {run.dataset}")
    if run.task == "regression":
        noise = f"{c.model.noise} noise" + (f" (σ {c.model.noise_sigma:g})" if c.model.noise == "fixed" else "")
        print(f"  regression of {run.label_column or 'y'} with {noise}; features: {', '.join(run.feature_names)}")
    else:
        print(f"  classes: {', '.join(run.class_names)}; features: {', '.join(run.feature_names)}")
    print(
        f"  settings: {c.model.activation}, prior N({c.model.prior_mu:g}, {c.model.prior_sigma:g}²), "
        f"KL weight {c.train.kl_weight:g} ({c.train.kl_reduction}), {c.train.epochs} epochs, lr {c.train.lr:g}, "
        f"test share {c.data.test_size:g}, scaling {c.data.scale}, seed {c.seed}"
    )
    try:
        print("\n".join(_metric_lines(run.metrics, c.samples)))
    except (KeyError, TypeError, ValueError):  # metrics.json is informative only; show it as stored
        print(f"  metrics: {json.dumps(run.metrics)}")
    return 0


def _gallery(args: argparse.Namespace) -> int:
    def announce(preset: Preset) -> None:
        print(f"training {preset.slug}: {preset.title}", file=sys.stderr)

    for folder in build_gallery(Path(args.out), announce):
        print(f"wrote {folder}")
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "python -m bnn_core") -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    args = build_parser(prog).parse_args(argv)
    one_thread_per_call()
    try:
        commands = {"train": _train, "compare": _compare, "sweep": _sweep, "show": _show, "gallery": _gallery}
        return commands[args.command](args)
    except BNNInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was written.", file=sys.stderr)
        return INTERRUPTED


def run() -> None:
    """The ``bnn`` console command that ``pip install`` creates: the same as ``python -m bnn_core``."""
    sys.exit(main(prog="bnn"))
