"""The settings schema: every setting's name, type, bounds, default, label and help, declared once.

The config dataclasses validate with it (:mod:`bnn_core.config`), the command line
builds its flags and ``--help`` from it (:mod:`bnn_core.cli`), and the dashboard
builds its sidebar widgets from it (``ui/controls.py``). A setting's ``name`` is
its config field, its CLI flag (``test_size`` → ``--test-size``) and its widget key.

Plain dataclasses rather than pydantic: the schema is about fifteen bounded scalars whose
refusals must read as one plain sentence naming the allowed range, and whose bounds the
CLI and the widgets reuse. pydantic would validate them, but its messages would have to be
rewritten and its field metadata unpacked for both front ends, for no gain in what is checked.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

from .errors import BNNInputError
from .text import quoted

CLASSIFICATION_DATASETS = ("iris", "wine", "breast_cancer", "two_moons", "circles")
REGRESSION_DATASETS = ("cubic", "sine_gap", "heteroscedastic")  # 1-D sets with a real-valued target
BUILTIN_DATASETS = CLASSIFICATION_DATASETS + REGRESSION_DATASETS
TASKS = ("classification", "regression")
CSV_PREFIX = "csv:"  # a user's CSV is named "csv:<file name>"
MAX_SEED = 2**32 - 1
# "1/N", "0.1/N": a KL weight given per training row, N counted when training starts (the textbook ELBO is 1/N).
PER_ROW = re.compile(r"^\s*(?P<factor>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)?\s*/\s*N\s*$")
MAX_PER_ROW_FACTOR = 100.0
_LONGEST_SHOWN = 40  # characters of a refused value quoted in the message


@dataclass(frozen=True)
class Setting:
    """One user-facing setting and its limits."""

    name: str  # config field, CLI flag (with dashes) and widget key
    label: str  # widget label; also names the setting in error messages
    help: str  # the widget's tooltip and the CLI's --help text
    default: Any
    kind: type = float  # float, int or str; a tuple default means a list of ints (the hidden layers)
    low: float | None = None  # smallest allowed value (for a list: of each item)
    high: float | None = None  # largest allowed value
    choices: tuple[str, ...] = ()  # the allowed words of a str setting
    ladder: tuple[float, ...] = ()  # the values a log-scale slider offers; runs from low to high
    step: float | None = None  # the widget's step for a linear slider or number field
    length: tuple[int, int] | None = None  # for a list: fewest and most items
    metavar: str | None = None  # the CLI's placeholder, e.g. SHARE
    example: str | None = None  # a sensible value, shown when a value is refused
    prefix: str | None = None  # a word starting with this is allowed too (a user's CSV: "csv:<file name>")
    # Added after runs were first saved: a saved run without it gets ``legacy`` (or the default if that is None).
    optional: bool = False
    per_row: bool = False  # the value may also be "F/N", F times one over the training rows (the KL weight)
    # The value before this version's defaults: what a saved run without the setting, or a link without ``v=2``,
    # meant. None: the same as ``default``.
    legacy: Any = None

    @property
    def old_default(self) -> Any:
        """The value a run saved, or a link written, before this setting or its current default existed."""
        return self.default if self.legacy is None else self.legacy

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """The allowed values in words, e.g. "from 0 to 0.9" or "one of mean, sum"."""
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        return f"from {self.bounds()}"

    def bounds(self) -> str:
        """The numeric bounds in words, e.g. "1 to 1,024"."""
        return f"{_number(self.low)} to {_number(self.high)}"

    def check(self, value: Any) -> Any:
        """``value`` normalised (float, int, str or tuple of ints), or a one-sentence BNNInputError."""
        if self.per_row and isinstance(value, str):
            return self._check_per_row(value) if "/" in value else self.check(_typed_number(value, self))
        if self.kind is str:
            return self._check_word(value)
        if isinstance(self.default, tuple):
            return self._check_list(value)
        number = self._check_number(value)
        return int(number) if self.kind is int else number

    def _refuse(self, problem: str, value: Any) -> BNNInputError:
        example = f" (e.g. {self.example})" if self.example else ""
        return BNNInputError(f"{self.label} must {problem}{example}, got {quoted(value, _LONGEST_SHOWN)}.")

    def _check_word(self, value: Any) -> str:
        if value in self.choices or (self.prefix and isinstance(value, str) and value.startswith(self.prefix)):
            return value
        if self.prefix:
            raise BNNInputError(
                f"Unknown {self.label.lower()} {quoted(value)}; choose one of {', '.join(self.choices)}, or a CSV file."
            )
        raise BNNInputError(f"{self.label} must be one of {', '.join(self.choices)}; got {quoted(value)}.")

    def _check_number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._refuse(f"be a whole number {self.allowed()}" if self.kind is int else "be a number", value)
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range, e.g. a seed of 400 digits
            raise self._refuse(f"be {self.allowed()}", value) from None
        if not math.isfinite(number):
            raise self._refuse("be a finite number", value)
        if self.kind is int and not number.is_integer():
            raise self._refuse(f"be a whole number {self.allowed()}", value)
        if not self.low <= number <= self.high:
            raise self._refuse(f"be {self.allowed()}", value)
        return number

    def _check_per_row(self, value: str) -> str:
        """ "F/N" normalised ("1/N", "0.3/N"), or a sentence naming both forms the setting takes."""
        factor = per_row_factor(value)
        if factor is None or not 0 < factor <= MAX_PER_ROW_FACTOR:
            raise self._refuse(
                f"be a number {self.allowed()}, or F/N for F (above 0, at most {MAX_PER_ROW_FACTOR:g}) times one over "
                "the training rows",
                value,
            )
        return per_row_text(factor)

    def _check_list(self, value: Any) -> tuple[int, ...]:
        fewest, most = self.length
        if not isinstance(value, tuple | list):
            raise BNNInputError(f"{self.label} must be a list of unit counts such as [100], got {quoted(value)}.")
        if not fewest <= len(value) <= most:
            raise BNNInputError(f"The network needs {fewest} to {most} hidden layers, got {len(value)}.")
        return tuple(int(self._check_number(item)) for item in value)


def _typed_number(text: str, setting: Setting) -> float:
    """A number typed as text (a form field, a link); a sentence naming both forms if it is not one."""
    try:
        return float(text)
    except ValueError:
        raise setting._refuse(
            f"be a number {setting.allowed()}, or F/N for F (above 0, at most {MAX_PER_ROW_FACTOR:g}) times one over "
            "the training rows",
            text,
        ) from None


def per_row_factor(value: object) -> float | None:
    """F of a per-row value "F/N" ("/N" alone is 1), or None if ``value`` is not one."""
    match = PER_ROW.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    factor = float(match["factor"] or 1.0)
    return factor if math.isfinite(factor) else None


def per_row_text(factor: float) -> str:
    """The normal form of a per-row value: "1/N", "0.3/N"."""
    return f"{factor:.6g}/N"


def weight_text(value: float | str) -> str:
    """A KL weight as people read it: "0.01", "1/N", "0.3/N"."""
    return value if isinstance(value, str) else f"{value:g}"


def _number(value: float | None) -> str:
    """A bound in words: thousands separated, no trailing zeros."""
    if value is None:
        return "any"
    return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1000 else f"{value:g}"


DATA = (
    Setting(
        "dataset",
        "Dataset",
        "What the network learns: a built-in dataset (two_moons and circles are 2-D classification sets; cubic, "
        "sine_gap and heteroscedastic are 1-D regression sets; all generated with a fixed seed), or your CSV.",
        default="iris",
        kind=str,
        choices=BUILTIN_DATASETS,
        metavar="NAME",
        prefix=CSV_PREFIX,
    ),
    Setting(
        "task",
        "Task",
        "classification: the target is a class; regression: the target is a real number, predicted with a "
        "Gaussian likelihood. Set by the data: each built-in set has its task, and a CSV is read as one or the other.",
        default="classification",
        kind=str,
        choices=TASKS,
        optional=True,
    ),
    Setting(
        "test_size",
        "Test share",
        "Share of rows held out (stratified by class for classification) for honest test metrics. 0 trains on "
        "every row, as the article does.",
        default=0.2,
        low=0.0,
        high=0.9,
        step=0.05,
        metavar="SHARE",
    ),
    Setting(
        "scale",
        "Feature scaling",
        "standard: rescale each feature (and a regression target) to mean 0 and std 1 using the training rows "
        "only; none: raw values. Charts and metrics always use raw values.",
        default="standard",
        kind=str,
        choices=("standard", "none"),
    ),
)

MODEL = (
    Setting(
        "hidden",
        "Hidden units",
        "Units per hidden layer, input to output; the article has one layer of 100. No hidden layer (0 on the "
        "command line) is Bayesian linear (or logistic) regression.",
        default=(100,),
        kind=int,
        low=1,
        high=1024,
        step=10,
        length=(0, 4),
        metavar="UNITS",
    ),
    Setting(
        "activation",
        "Activation",
        "The nonlinearity between layers.",
        default="relu",
        kind=str,
        choices=("relu", "tanh", "sigmoid"),
    ),
    Setting(
        "prior_mu",
        "Prior mean μ₀",
        "Centre of the Gaussian prior N(μ₀, σ₀²) on every weight and bias: what the KL term pulls them towards.",
        default=0.0,
        low=-5.0,
        high=5.0,
        step=0.05,
        metavar="MU",
        example="0",
    ),
    Setting(
        "prior_sigma",
        "Prior spread σ₀",
        "Width of the Gaussian prior on every weight (log scale). Wider: more varied networks. The article uses "
        "0.1; 1 is the textbook's standard normal.",
        default=1.0,
        low=0.001,
        high=10.0,
        ladder=(0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
        metavar="SIGMA",
        example="0.1",
        legacy=0.1,
    ),
    Setting(
        "noise",
        "Noise model",
        "Regression only: y ~ N(f(x), σ²). learned: one σ for every input, trained with the network; fixed: σ is "
        "the noise sigma; heteroscedastic: the network also outputs log σ(x), so the noise may vary with x.",
        default="learned",
        kind=str,
        choices=("learned", "fixed", "heteroscedastic"),
        optional=True,
    ),
    Setting(
        "noise_sigma",
        "Noise sigma",
        "Regression only, in the target's units (log scale): the noise σ of the fixed model. A learned σ starts at "
        "the training targets' std.",
        default=1.0,
        low=1e-4,
        high=1e4,
        ladder=(1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e4),
        metavar="SIGMA",
        example="1",
        optional=True,
    ),
)

TRAIN = (
    Setting(
        "kl_weight",
        "KL weight",
        "Loss = cross-entropy (Gaussian NLL for regression) + weight × KL. Higher pulls the weights towards the "
        "prior: more uncertainty. 1/N (N the training rows) with reduction sum is the textbook ELBO, the Bayesian "
        "posterior; F/N weighs the prior F times as much (F < 1: a cold posterior, narrower than Bayes'; F > 1: a "
        "tempered one, wider). A plain number is used as it is.",
        default="1/N",
        low=0.0,
        high=100.0,
        ladder=(0.0, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
        metavar="W",
        example="1/N or 0.01",
        per_row=True,
        legacy=0.01,
    ),
    Setting(
        "kl_reduction",
        "KL reduction",
        "torchbnn BKLLoss: 'sum' adds every weight's KL, as the ELBO does; 'mean' (the article's) divides it by the "
        "number of weights (803 for iris), so the prior pulls hundreds of times more weakly.",
        default="sum",
        kind=str,
        choices=("mean", "sum"),
        legacy="mean",
    ),
    Setting(
        "epochs",
        "Epochs",
        "Adam steps over the whole training set (one full batch per step); the article uses 3000. With the decay "
        "schedule, 20,000 bring every σ within 5% of the posterior's on Bayesian linear regression.",
        default=20_000,
        kind=int,
        low=1,
        high=100_000,
        step=100,
        metavar="N",
        legacy=3000,
    ),
    Setting(
        "lr",
        "Learning rate",
        "Adam's step size (log scale). Too high and training can diverge.",
        default=0.01,
        low=1e-5,
        high=1.0,
        ladder=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0),
        metavar="RATE",
        example="0.01",
    ),
    Setting(
        "schedule",
        "Learning-rate schedule",
        "decay: the learning rate for the first 40% of the epochs, then lower and lower, to 1/300 of it at the end, "
        "with the last stretch averaged: σ has time to travel, and the small last steps take out the noise. "
        "constant: one rate throughout, as in the article. Either way the run says whether σ had settled.",
        default="decay",
        kind=str,
        choices=("decay", "constant"),
        optional=True,
        legacy="constant",
    ),
    Setting(
        "sigma_start",
        "Starting σ ÷ σ₀",
        "Each weight's posterior σ when training starts, as a share of the prior's σ₀ (log scale). 1 is torchbnn's "
        "start, σ = σ₀, as in the article: σ then takes thousands of steps to shrink. A small start is near a point "
        "estimate: σ grows to the posterior's in a few hundred steps, where shrinking to it takes thousands.",
        default=1e-4,
        low=1e-5,
        high=1.0,
        ladder=(1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.3, 1.0),
        metavar="SHARE",
        example="0.0001",
        optional=True,
        legacy=1.0,
    ),
    Setting(
        "engine",
        "Engine",
        "fast: the compiled training loop, the same maths and the same random numbers, many times quicker; "
        "torchbnn: autograd through torchbnn's layers and BKLLoss, the reference.",
        default="fast",
        kind=str,
        choices=("fast", "torchbnn"),
    ),
)

RUN = (
    Setting(
        "seed",
        "Seed",
        "Fixes the split, the starting weights and every random draw: the same seed gives the same run.",
        default=0,
        kind=int,
        low=0,
        high=MAX_SEED,
        step=1,
        metavar="N",
    ),
    Setting(
        "samples",
        "Posterior samples",
        "Networks drawn from the posterior to measure each point's uncertainty and the metrics.",
        default=100,
        kind=int,
        low=1,
        high=1000,
        ladder=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        metavar="S",
    ),
)

SECTIONS = {"data": DATA, "model": MODEL, "train": TRAIN, "run": RUN}
SETTINGS: dict[str, Setting] = {setting.name: setting for section in SECTIONS.values() for setting in section}


def default(name: str) -> Any:
    """The schema's default for ``name``, for a dataclass field."""
    return SETTINGS[name].default
