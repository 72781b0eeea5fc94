"""Frozen, validated settings for the data split, the model and training.

Every limit a user can hit is checked here, in ``__post_init__``, so the
command line, the dashboard and the API refuse the same values with the same
sentence. The dataclasses are frozen and hashable, so they work as cache keys.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import BNNInputError

BUILTIN_DATASETS = ("iris", "wine", "breast_cancer", "two_moons", "circles")
CSV_PREFIX = "csv:"  # a user's CSV is named "csv:<file name>"
ACTIVATIONS = ("relu", "tanh", "sigmoid")
KL_REDUCTIONS = ("mean", "sum")
SCALINGS = ("standard", "none")
ENGINES = ("fast", "torchbnn")

MAX_EPOCHS = 100_000
MAX_TEST_SIZE = 0.9
MAX_HIDDEN_LAYERS = 4
MAX_HIDDEN_UNITS = 1024
MAX_SAMPLES = 1000
MAX_SEED = 2**32 - 1
# Beyond these the KL term or the first forward pass overflows float32.
PRIOR_SIGMA_RANGE = (1e-6, 100.0)
MAX_ABS_PRIOR_MU = 100.0


def _finite(name: str, value: float) -> float:
    """Return ``value`` as a float, refusing NaN, infinities, text and booleans."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BNNInputError(f"{name} must be a number, got {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise BNNInputError(f"{name} must be a finite number, got {value!r}.")
    return number


def _integer(name: str, value: Any, low: int, high: int) -> int:
    """Return ``value`` as an int in [low, high], refusing fractions and bools."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or int(value) != value
    ):
        raise BNNInputError(f"{name} must be a whole number from {low:,} to {high:,}, got {value!r}.")
    if not low <= value <= high:
        raise BNNInputError(f"{name} must be from {low:,} to {high:,}, got {value!r}.")
    return int(value)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BNNInputError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _set(obj: object, name: str, value: Any) -> None:
    # Frozen dataclasses forbid normal assignment; normalising in __post_init__ is the documented way.
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class DataConfig:
    """How the chosen dataset is split and scaled."""

    dataset: str = "iris"  # a built-in name, or "csv:<file name>" for a user's CSV
    test_size: float = 0.2  # share of rows held out, stratified; 0 trains on everything (the article)
    scale: str = "standard"  # "standard": z-score fitted on training rows only; "none": raw features

    def __post_init__(self) -> None:
        if self.dataset not in BUILTIN_DATASETS and not str(self.dataset).startswith(CSV_PREFIX):
            raise BNNInputError(
                f"Unknown dataset {self.dataset!r}; choose one of {', '.join(BUILTIN_DATASETS)}, or a CSV file."
            )
        test_size = _finite("Test share", self.test_size)
        if not 0.0 <= test_size <= MAX_TEST_SIZE:
            raise BNNInputError(f"Test share must be from 0 to {MAX_TEST_SIZE}, got {self.test_size!r}.")
        _set(self, "test_size", test_size)
        _choice("Scaling", self.scale, SCALINGS)


@dataclass(frozen=True)
class ModelConfig:
    """The Bayesian network's shape and its Gaussian prior N(prior_mu, prior_sigma²) on every weight."""

    hidden: tuple[int, ...] = (100,)  # units per hidden layer; the article has one layer of 100
    activation: str = "relu"  # between layers: relu, tanh or sigmoid
    prior_mu: float = 0.0  # prior mean of every weight and bias
    prior_sigma: float = 0.1  # prior std of every weight and bias; also the posterior's starting std

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, tuple | list):
            raise BNNInputError(f"Hidden layers must be a list of unit counts such as [100], got {self.hidden!r}.")
        hidden = tuple(self.hidden)
        if not 1 <= len(hidden) <= MAX_HIDDEN_LAYERS:
            raise BNNInputError(f"The network needs 1 to {MAX_HIDDEN_LAYERS} hidden layers, got {len(hidden)}.")
        _set(self, "hidden", tuple(_integer("Hidden units", h, 1, MAX_HIDDEN_UNITS) for h in hidden))
        _choice("Activation", self.activation, ACTIVATIONS)
        mu = _finite("Prior mean", self.prior_mu)
        if abs(mu) > MAX_ABS_PRIOR_MU:
            raise BNNInputError(f"Prior mean must be from -{MAX_ABS_PRIOR_MU:g} to {MAX_ABS_PRIOR_MU:g}, got {mu:g}.")
        _set(self, "prior_mu", mu)
        sigma = _finite("Prior sigma", self.prior_sigma)
        low, high = PRIOR_SIGMA_RANGE
        if sigma <= 0:
            raise BNNInputError(f"Prior sigma must be greater than 0 (e.g. 0.1), got {self.prior_sigma!r}.")
        if not low <= sigma <= high:
            raise BNNInputError(f"Prior sigma must be from {low:g} to {high:g} (e.g. 0.1), got {sigma:g}.")
        _set(self, "prior_sigma", sigma)


@dataclass(frozen=True)
class TrainConfig:
    """How the ELBO is optimised: full batch, Adam, one step per epoch."""

    epochs: int = 3000  # optimisation steps; the data is one full batch, so epochs = steps
    lr: float = 0.01  # Adam learning rate
    kl_weight: float = 0.01  # loss = CE + kl_weight × KL
    kl_reduction: str = "mean"  # torchbnn BKLLoss: "mean" divides the KL sum by the parameter count
    engine: str = "fast"  # "fast": compiled loop, same maths; "torchbnn": autograd through torchbnn and BKLLoss

    def __post_init__(self) -> None:
        _set(self, "epochs", _integer("Epochs", self.epochs, 1, MAX_EPOCHS))
        lr = _finite("Learning rate", self.lr)
        if lr <= 0:
            raise BNNInputError(f"Learning rate must be greater than 0 (e.g. 0.01), got {self.lr!r}.")
        _set(self, "lr", lr)
        kl_weight = _finite("KL weight", self.kl_weight)
        if kl_weight < 0:
            raise BNNInputError(f"KL weight must be 0 or more (e.g. 0.01), got {self.kl_weight!r}.")
        _set(self, "kl_weight", kl_weight)
        _choice("KL reduction", self.kl_reduction, KL_REDUCTIONS)
        _choice("Engine", self.engine, ENGINES)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run; with the same data, the same config gives the same run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0  # drives the split, the initial weights and every noise draw
    samples: int = 100  # posterior samples used for uncertainty and metrics

    def __post_init__(self) -> None:
        _set(self, "seed", _integer("Seed", self.seed, 0, MAX_SEED))
        _set(self, "samples", _integer("Posterior samples", self.samples, 1, MAX_SAMPLES))

    def to_flat(self) -> dict[str, Any]:
        """All settings as one flat, JSON-ready dict (``hidden`` as a list)."""
        flat = {**asdict(self.data), **asdict(self.model), **asdict(self.train)}
        flat["hidden"] = list(self.model.hidden)
        return {**flat, "seed": self.seed, "samples": self.samples}

    @classmethod
    def from_flat(cls, flat: dict[str, Any]) -> RunConfig:
        """Rebuild (and re-validate) a config from :meth:`to_flat` output; extra keys are ignored.

        Raises:
            BNNInputError: a setting is missing or invalid.
        """
        missing = [key for key in RunConfig().to_flat() if key not in flat]
        if missing:
            raise BNNInputError(f"settings missing: {', '.join(missing)}.")

        def pick(kind: type) -> dict[str, Any]:
            return {name: flat[name] for name in kind.__dataclass_fields__}

        return cls(
            data=DataConfig(**pick(DataConfig)),
            model=ModelConfig(**pick(ModelConfig)),
            train=TrainConfig(**pick(TrainConfig)),
            seed=flat["seed"],
            samples=flat["samples"],
        )
