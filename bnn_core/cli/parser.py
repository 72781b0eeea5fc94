"""The command line's parser, built from the settings schema (:mod:`bnn_core.settings`).

Pure Python on purpose: ``python -m bnn_core --help`` imports this module and nothing heavy (no torch, NumPy or
pandas), so help and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, NoReturn

from ..limits import MAX_GRID_CELLS
from ..methods.options import (
    DROPOUT_P,
    DROPOUT_SAMPLES,
    ENSEMBLE_MEMBERS,
    HMC_BOUNDS,
    METHODS,
    SAMPLERS,
    HMCConfig,
    MethodsConfig,
)
from ..settings import SECTIONS, Setting
from .exit_codes import USAGE_ERROR


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
    """Every command and its flags; ``args.command`` names the module of :mod:`bnn_core.cli` that runs it."""
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
        description="Train the BNN with the settings below, then MC dropout, a deep ensemble, the plain network, the "
        "Laplace approximation and (for small networks) an HMC reference on the same data, split and shape, and print "
        "their test metrics: for classes the OOD AUROC and far/near uncertainty too, for a regression (sine_gap, "
        "cubic, heteroscedastic or a CSV's --target) RMSE, NLL, 90% coverage and the gap ratio.",
        formatter_class=_HelpFormatter,
    )
    _add_train_arguments(compare, out_help="CSV file to write the table to (optional)", out_metavar="FILE")
    _add_method_arguments(compare)
    _add_sweep_command(commands)
    tune = commands.add_parser(
        "tune",
        help="choose the prior σ₀ and the KL weight by held-out NLL on the training rows, then train with them",
        description="Hold out 20% of the training rows (the test rows are never read), train a grid of prior σ₀ "
        "(0.1, 0.3, 1, 3) × KL weight F/N (F 0.01, 0.1, 0.3, 1; KL sum) on the rest, and keep the cell with the "
        "lowest validation NLL. Then train that run on all the training rows into --out, like train, and keep the "
        "search (a sweep folder, resumable) in OUT-search/. The grid's flags below are taken from the search.",
        formatter_class=_HelpFormatter,
    )
    _add_train_arguments(tune)
    tune.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                      help="local worker processes for the search (1 runs it in this process)")  # fmt: skip
    _add_hmc_command(commands)
    show = commands.add_parser("show", help="check a saved run and print its settings and metrics")
    gallery = commands.add_parser(
        "gallery",
        help="retrain the dashboard's gallery of ready runs",
        description="Train every preset of the dashboard's gallery (bnn_core/runs/gallery.py); "
        "write each to OUT/<name>/.",
        formatter_class=_HelpFormatter,
    )
    gallery.add_argument("--out", default="gallery", metavar="DIR", help="the gallery folder")
    show.add_argument(
        "run_dir", metavar="DIR", help="a folder written by 'train --out DIR', or a run zip downloaded from the app"
    )
    return parser


def _add_train_arguments(
    train: argparse.ArgumentParser,
    out_help: str = "folder to save the run in (new, empty, or an earlier run)",
    out_metavar: str = "DIR",
) -> None:
    """Every setting of the schema as a flag, with its bounds and default in ``--help``, and ``--out``: required
    for a folder (``out_metavar`` DIR), optional for a file."""
    train.add_argument("--out", required=out_metavar == "DIR", metavar=out_metavar, help=out_help)
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
    """The alternatives' own settings (:class:`~bnn_core.methods.options.MethodsConfig`) and which methods
    to run."""
    group = compare.add_argument_group("methods")
    defaults = MethodsConfig()
    group.add_argument(
        "--methods",
        metavar="LIST",
        help=f"comma-separated, from {', '.join(METHODS)} (default: all; hmc only for a small network and, for a "
        "regression, a fixed noise σ: a run that does not suit it is refused when hmc is named, else left without "
        "an HMC row)",
    )
    group.add_argument("--dropout-p", type=float, default=defaults.dropout_p, metavar="P",
                       help=f"MC dropout's drop probability, {DROPOUT_P[0]:g} to {DROPOUT_P[1]:g}")  # fmt: skip
    group.add_argument("--dropout-samples", type=int, default=defaults.dropout_samples, metavar="T",
                       help=f"dropout masks at prediction, {DROPOUT_SAMPLES[0]} to {DROPOUT_SAMPLES[1]}")  # fmt: skip
    group.add_argument("--members", type=int, default=defaults.ensemble_members, metavar="M",
                       help=f"deep-ensemble members, {ENSEMBLE_MEMBERS[0]} to {ENSEMBLE_MEMBERS[1]}")  # fmt: skip


def _add_hmc_command(commands: argparse._SubParsersAction) -> None:
    """``hmc``: every train flag (the data, the network and the prior; training's own are unused), and NUTS's."""
    hmc = commands.add_parser(
        "hmc",
        help="sample the HMC reference posterior of a small network and save it",
        description="Sample the exact posterior of the network and prior below with NUTS (at most 2 hidden layers of "
        "32 units and 500 training rows; regression with a fixed noise σ), print the time, R-hat, ESS and "
        "divergences, and write OUT/reference.safetensors in the format of the shipped references. It always "
        "samples, even where a reference ships. The training flags are accepted and unused: sampling does not train.",
        formatter_class=_HelpFormatter,
    )
    _add_train_arguments(hmc, out_help="folder to write reference.safetensors in (made if missing)")
    group = hmc.add_argument_group("NUTS")
    defaults = HMCConfig()
    for name, flag, kind, what in (
        ("samples", "--draws", int, "kept draws per chain"),
        ("warmup", "--warmup", int, "warm-up iterations per chain (step size and mass matrix), discarded"),
        ("chains", "--chains", int, "chains, from their own seeds and prior draws"),
        ("max_tree_depth", "--max-tree-depth", int, "an iteration takes at most 2^depth − 1 leapfrog steps"),
        ("target_accept", "--target-accept", float, "the mean acceptance probability the step size aims for"),
    ):
        low, high, _ = HMC_BOUNDS[name]
        group.add_argument(flag, dest=f"hmc_{name}", type=kind, default=getattr(defaults, name),
                           metavar="N" if kind is int else "P", help=f"{what} ({low} to {high})")  # fmt: skip
    group.add_argument("--sampler", dest="hmc_sampler", choices=SAMPLERS, default=defaults.sampler,
                       help="compiled: NUTS in numba on the engine's gradient; pyro: pyro's NUTS, its slower "
                       "reference")  # fmt: skip


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
    grid.add_argument("--kl-reduction", default="sum", metavar="LIST", help="mean, sum, or mean,sum")
    grid.add_argument("--seeds", "--seed", dest="seeds", default="0", metavar="SEEDS",
                      help="a range such as 0-4, or a list such as 0,3")  # fmt: skip
    grid.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                      help="local worker processes (1 runs the cells in this process)")  # fmt: skip
    grid.add_argument("--ray", metavar="ADDRESS",
                      help="run the cells as Ray tasks: 'local' starts a local Ray runtime (--workers CPUs), any "
                      "other address joins that cluster, e.g. auto or ray://head:10001")  # fmt: skip
    grid.add_argument("--keep-runs", action="store_true", help="also save each cell's run folder under OUT/runs/")
    grid.add_argument("--max-cells", type=int, default=MAX_GRID_CELLS, metavar="N",
                      help="refuse a grid of more cells than this; raise it on purpose for a bigger grid")  # fmt: skip


GROUP_TITLES = {"data": "data", "model": "model", "train": "training", "run": "sampling and seed"}


def _flag_options(setting: Setting) -> dict[str, Any]:
    """argparse options for one setting: its type, placeholder, default, and help with the allowed values (a "%"
    doubled, as argparse formats help text with %)."""
    options = _unescaped_flag_options(setting)
    return {**options, "help": options["help"].replace("%", "%%")}


def _unescaped_flag_options(setting: Setting) -> dict[str, Any]:
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
    if setting.per_row:  # a number or "F/N": the schema reads the text
        allowed = f"{setting.allowed()}, or F/N"
        return {"default": setting.default, "metavar": setting.metavar, "help": f"{setting.help} ({allowed})"}
    return {
        "default": setting.default,
        "type": setting.kind,
        "metavar": setting.metavar,
        "help": f"{setting.help} ({setting.allowed()})",
    }
