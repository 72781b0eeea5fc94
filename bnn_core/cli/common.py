"""What the commands share: the data and the run's settings from the flags, the training progress bar, and the
metric lines that ``train`` and ``show`` print."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from tqdm import tqdm

from ..config import RunConfig
from ..data.csv_file import guess_task, read_csv
from ..data.datasets import Dataset, load_builtin
from ..engine.train import Progress
from ..errors import BNNInputError
from ..model.network import layer_sizes
from ..posterior.health import health_checks, posterior_kind
from ..settings import SETTINGS


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


def load_data(args: argparse.Namespace) -> Dataset:
    """The built-in set of ``--dataset``, or the CSV of ``--csv`` with its ``--label`` column."""
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


class TrainingBar:
    """Training progress with tqdm: a live bar on a terminal, and a line per tenth of the steps when the stream is
    redirected, so a log holds about ten readable lines instead of one line rewritten with carriage returns.

    ``regression`` names the data term NLL and the score RMSE (both in the units the network is trained in);
    ``label`` starts each line (which method trains); ``losses=False`` shows steps and time only (a sampler).
    """

    def __init__(self, stream: TextIO, regression: bool = False, label: str = "", losses: bool = True) -> None:
        self.stream, self.label, self.losses = stream, label, losses
        self.data_name, self.score = ("NLL", "RMSE {:.3f}") if regression else ("CE", "acc {:.1%}")
        self.interactive = stream.isatty()
        self.bar: tqdm | None = None  # the live bar, made at the first report: only then is the step count known
        self.last_tenth = -1  # redirected: the tenth of the steps the last line was written at

    def __call__(self, progress: Progress) -> None:
        p = progress
        losses = f"{self.data_name} {p.ce:.3f}, KL {p.kl:.3f}, {self.score.format(p.train_accuracy)}"
        postfix = losses if self.losses else None
        if self.interactive:
            if self.bar is None:
                self.bar = tqdm(total=p.epochs, desc=self.label or None, unit="step", file=self.stream,
                                dynamic_ncols=True)  # fmt: skip
            self.bar.set_postfix_str(postfix or "", refresh=False)
            self.bar.update(p.step - self.bar.n)
        elif int(10 * p.step / p.epochs) > self.last_tenth:
            self.last_tenth = int(10 * p.step / p.epochs)
            line = tqdm.format_meter(p.step, p.epochs, p.elapsed, prefix=self.label, unit="step", postfix=postfix,
                                     ascii=True)  # fmt: skip
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End a live bar's line, so a following message starts on its own line."""
        if self.bar is not None:
            self.bar.close()


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


def metric_lines(metrics: dict[str, Any], samples: int) -> list[str]:
    """A run's ``metrics.json`` as indented lines: accuracy or RMSE, train and test, then the calibration."""
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


def network_shape(n_features: int, n_outputs: int, config: RunConfig) -> str:
    """The layer sizes as ``4 → 100 → 3``."""
    return " → ".join(str(s) for s in layer_sizes(n_features, n_outputs, config.model))


def posterior_line(config: RunConfig, metrics: dict[str, Any]) -> str:
    """What the posterior is and whether training reached it, in one indented line."""
    rows, parameters = metrics.get("train_rows"), metrics.get("bayes_parameters")
    kind = posterior_kind(config, int(rows), int(parameters)) if rows and parameters else "not recorded"
    converged = metrics.get("converged")
    state = {True: "training converged", False: "training had NOT converged", None: "convergence not recorded"}
    return f"  posterior: {kind}; {state[converged]}."


def warning_lines(config: RunConfig, metrics: dict[str, Any]) -> list[str]:
    """The run's health checks (:mod:`bnn_core.posterior.health`), one ``warning:`` line each."""
    return [f"warning: {problem}" for problem in health_checks(config, metrics)]
