"""Frozen, validated settings for the data split, the model and training.

Each field's bounds, default and wording live in :mod:`bnn_core.settings`; every
dataclass here checks its fields against that schema in ``__post_init__``, so the
command line, the dashboard and the API refuse the same values with the same
sentence. The dataclasses are frozen and hashable, so they work as cache keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import BNNInputError
from .settings import (
    BUILTIN_DATASETS,
    CSV_PREFIX,
    REGRESSION_DATASETS,
    SECTIONS,
    SETTINGS,
    TASKS,
    default,
    per_row_factor,
)

__all__ = [
    "BUILTIN_DATASETS",
    "CSV_PREFIX",
    "REGRESSION_DATASETS",
    "TASKS",
    "DataConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "with_article_training",
]


def _validate(config: object) -> None:
    """Check and normalise every schema field of a frozen config in place (ints, floats, tuples)."""
    for item in fields(config):
        if item.name in SETTINGS:
            # Frozen dataclasses forbid normal assignment; normalising in __post_init__ is the documented way.
            object.__setattr__(config, item.name, SETTINGS[item.name].check(getattr(config, item.name)))


@dataclass(frozen=True)
class DataConfig:
    """How the chosen dataset is split and scaled."""

    dataset: str = default("dataset")  # a built-in name, or "csv:<file name>" for a user's CSV
    task: str = default("task")  # "classification" or "regression": a built-in set's own; a CSV's as it was read
    test_size: float = default("test_size")  # share of rows held out, stratified; 0 trains on everything
    scale: str = default("scale")  # "standard": z-score fitted on training rows only; "none": raw features

    def __post_init__(self) -> None:
        _validate(self)
        if self.dataset in BUILTIN_DATASETS:  # a built-in set has one task, so equal runs have equal configs
            task = "regression" if self.dataset in REGRESSION_DATASETS else "classification"
            object.__setattr__(self, "task", task)


@dataclass(frozen=True)
class ModelConfig:
    """The Bayesian network's shape and its Gaussian prior N(prior_mu, prior_sigma²) on every weight."""

    hidden: tuple[int, ...] = default("hidden")  # units per hidden layer; the article has one layer of 100
    activation: str = default("activation")  # between layers: relu, tanh or sigmoid
    prior_mu: float = default("prior_mu")  # prior mean of every weight and bias
    prior_sigma: float = default("prior_sigma")  # prior std of every weight and bias; also the starting std
    noise: str = default("noise")  # regression: "learned", "fixed" or "heteroscedastic" noise σ
    noise_sigma: float = default("noise_sigma")  # regression, target units: the fixed σ

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True)
class TrainConfig:
    """How the ELBO is optimised: full batch, Adam, one step per epoch."""

    epochs: int = default("epochs")  # optimisation steps (the cap, with the plateau schedule); one full batch each
    lr: float = default("lr")  # Adam learning rate
    kl_weight: float | str = default("kl_weight")  # loss = data term + kl_weight × KL; "F/N": F ÷ the training rows
    kl_reduction: str = default("kl_reduction")  # torchbnn BKLLoss: "mean" divides the KL sum by the parameter count
    engine: str = default("engine")  # "fast": compiled loop, same maths; "torchbnn": autograd through torchbnn
    schedule: str = default("schedule")  # "plateau": lr ÷ 10 twice on a plateau, then stop; "constant": epochs steps
    sigma_start: float = default("sigma_start")  # each weight's starting σ ÷ the prior's σ₀; 1 is torchbnn's start

    def __post_init__(self) -> None:
        _validate(self)

    def kl_weight_for(self, n_rows: int) -> float:
        """The KL weight as a number, for ``n_rows`` training rows: "F/N" is F / n_rows."""
        factor = per_row_factor(self.kl_weight)
        return float(self.kl_weight) if factor is None else factor / n_rows

    def resolved(self, n_rows: int) -> TrainConfig:
        """This config with the KL weight as the number it is for ``n_rows`` training rows."""
        return replace(self, kl_weight=self.kl_weight_for(n_rows))


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run; with the same data, the same config gives the same run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = default("seed")  # drives the split, the initial weights and every noise draw
    samples: int = default("samples")  # posterior samples used for uncertainty and metrics

    def __post_init__(self) -> None:
        _validate(self)

    def to_flat(self) -> dict[str, Any]:
        """All settings as one flat, JSON-ready dict (``hidden`` as a list)."""
        flat = {**asdict(self.data), **asdict(self.model), **asdict(self.train)}
        flat["hidden"] = list(self.model.hidden)
        return {**flat, "seed": self.seed, "samples": self.samples}

    @classmethod
    def from_flat(cls, flat: dict[str, Any]) -> RunConfig:
        """Rebuild (and re-validate) a config from :meth:`to_flat` output; extra keys are ignored.

        A setting added after runs were first saved (``optional`` in the schema) may be missing: it takes the
        value runs had before it existed (its ``legacy`` value), so older runs still open as they were trained.

        Raises:
            BNNInputError: a setting is missing or invalid.
        """
        missing = [key for key, setting in SETTINGS.items() if key not in flat and not setting.optional]
        if missing:
            raise BNNInputError(f"settings missing: {', '.join(missing)}.")
        flat = {**{key: s.old_default for key, s in SETTINGS.items() if s.optional}, **flat}
        pick = {section: {s.name: flat[s.name] for s in settings} for section, settings in SECTIONS.items()}
        return cls(
            data=DataConfig(**pick["data"]),
            model=ModelConfig(**pick["model"]),
            train=TrainConfig(**pick["train"]),
            **pick["run"],
        )


# The article's prior and training (prior N(0, 0.1²), KL weight 0.01 with torchbnn's "mean", 3000 steps at one rate,
# every σ starting at σ₀): kept by name, since the defaults now give the Bayesian posterior (KL sum, 1/N, σ₀ 1).
ARTICLE_MODEL = {"prior_sigma": 0.1}
ARTICLE_TRAIN = {"kl_weight": 0.01, "kl_reduction": "mean", "epochs": 3000, "schedule": "constant", "sigma_start": 1.0}


def with_article_training(config: RunConfig) -> RunConfig:
    """``config`` with the article's prior and training settings (its data and network unchanged)."""
    return replace(config, model=replace(config.model, **ARTICLE_MODEL), train=replace(config.train, **ARTICLE_TRAIN))
