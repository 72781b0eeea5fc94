"""The gallery: ready runs that show one idea each, shipped as small run folders and rebuilt by one command.

    python -m bnn_core gallery --out gallery     # retrain every preset and rewrite its folder

Each :class:`Preset` names its settings and what to notice in it. The folders are plain
run folders (as :func:`~bnn_core.runs.store.write_run_files` writes them), so loading one is
:func:`~bnn_core.runs.restore.restore_run`: no training. A classification preset's folder also
holds its deterministic twin (:data:`TWIN_FILE`), the plain network that the map, truck,
calibration and methods pages set beside the BNN, so that no page trains it on arrival.
Training is deterministic, so the command rebuilds the same runs and twins
(``tests/engine/test_gallery.py`` checks the shipped ones).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.torch import load_file, save

from ..config import DataConfig, ModelConfig, RunConfig, TrainConfig, with_article_training
from ..data.datasets import load_builtin
from ..engine.train import FitResult, History
from ..experiment import TrainedRun, TwinRun, train_run, train_twin
from ..model.network import NetworkSpec
from ..posterior.sample import twin_probs
from .store import write_run_files

TWIN_FILE = "twin.safetensors"  # a classification preset's plain twin: its weights, and its training in metadata


def textbook_config(config: RunConfig) -> RunConfig:
    """``config`` with the textbook ELBO: KL summed and weighted exactly 1/N (N, the training rows, counted when
    training starts), prior σ₀ 1, and the default schedule that brings σ to the posterior's.

    ``mean`` with weight 0.01 (the article) weighs the prior hundreds of times less, so the
    posterior collapses to nearly one network and the BNN becomes as sure as a plain one.
    """
    defaults = TrainConfig()
    train = {
        name: getattr(defaults, name) for name in ("kl_weight", "kl_reduction", "epochs", "schedule", "sigma_start")
    }
    return replace(config, model=replace(config.model, prior_sigma=1.0), train=replace(config.train, **train))


@dataclass(frozen=True)
class Preset:
    """One ready run of the gallery."""

    slug: str  # its folder, and its name in links (?preset=…)
    title: str
    notice: str  # what to look at, in one line
    config: RunConfig  # everything it was trained with, the dataset included


def _on(dataset: str, **changes: object) -> RunConfig:
    """The defaults on ``dataset``, with model or training settings changed by name."""
    model = {k: v for k, v in changes.items() if k in ModelConfig.__dataclass_fields__}
    train = {k: v for k, v in changes.items() if k in TrainConfig.__dataclass_fields__}
    data = {k: v for k, v in changes.items() if k in DataConfig.__dataclass_fields__}
    base = RunConfig()
    return replace(
        base,
        data=replace(base.data, dataset=dataset, **data),
        model=replace(base.model, **model),
        train=replace(base.train, **train),
    )


PRESETS = (
    Preset(
        "article",
        "The article's network",
        "Hardly any uncertainty: with the article's KL (weight 0.01, mean) the posterior is nearly one network, so "
        "Resample barely changes a point and the truck gets an answer as sure as a plain network's.",
        with_article_training(RunConfig()),
    ),
    Preset(
        "textbook",
        "The textbook ELBO",
        "The same network with KL sum weighted exactly 1/N and prior σ₀ 1, the posterior Bayes' rule gives: "
        "samples now disagree between versicolor and virginica (press Resample), and on the truck page the BNN stops "
        "being sure.",
        _on("iris"),
    ),
    Preset(
        "tight-prior",
        "A prior that is too tight (σ₀ = 0.01)",
        "Every weight is held near 0: each class gets a third, every sample predicts the same class, accuracy "
        "falls to chance. The prior leaves the data no say.",
        _on("iris", prior_sigma=0.01),
    ),
    Preset(
        "no-prior",
        "No prior (KL weight 0)",
        "Nothing holds the weights' spread open: σ shrinks, the training rows are all right, and the BNN is as "
        "sure as a plain network everywhere, far from the data too.",
        _on("iris", kl_weight=0.0),
    ),
    Preset(
        "overfit",
        "Overfit: 30 training rows, 1,024 units, no KL",
        "100% on the training rows, fewer right on the 120 held-out rows, and confidently wrong on some: compare "
        "the test NLL and ECE with the textbook preset's.",
        _on("iris", test_size=0.8, hidden=(1024,), kl_weight=0.0),
    ),
    Preset(
        "two-moons",
        "Two moons, textbook ELBO",
        "Two interleaved half-moons: on the map page the plain network is sure almost everywhere, the BNN's "
        "samples disagree along the boundary and its confidence drops away from the moons.",
        _on("two_moons"),
    ),
    Preset(
        "wine",
        "Wine: 13 features, textbook ELBO",
        "Thirteen chemical measurements: pick any two for the axes. Every point is classified right, yet the "
        "samples still disagree on a few: uncertainty is not the same as error.",
        _on("wine"),
    ),
    Preset(
        "breast-cancer",
        "Breast cancer: 30 features, textbook ELBO",
        "Thirty features and 455 training rows: about 95% right on held-out patients, yet on the truck page, a "
        "patient unlike any seen, the BNN's samples split while the plain network is certain.",
        _on("breast_cancer"),
    ),
    Preset(
        "cubic",
        "Regression: x³ with noise, textbook ELBO",
        "Twenty noisy points of y = x³, 50 units, the set's known noise σ 3: the epistemic band (orange) is narrow "
        "among the points and widens past ±4, where there is no data. Click the chart to add a point.",
        _on("cubic", task="regression", hidden=(50,), noise="fixed", noise_sigma=3.0),
    ),
    Preset(
        "two-moons-hmc",
        "Two moons beside the exact posterior (HMC)",
        "One hidden layer of 16 units, small enough for HMC: its reference posterior (NUTS, 4 chains, 1,200 draws) "
        "ships with the app, so the Methods page sets the gold standard beside the BNN at once, and every method's "
        "map can be held against it.",
        _on("two_moons", hidden=(16,)),
    ),
)
PRESETS_BY_SLUG = {preset.slug: preset for preset in PRESETS}


def train_preset(preset: Preset) -> TrainedRun:
    """Train ``preset`` from scratch (deterministic: the same run every time)."""
    return train_run(load_builtin(preset.config.data.dataset), preset.config)


def write_twin(twin: TwinRun, folder: Path) -> None:
    """The twin's weights into ``folder``/:data:`TWIN_FILE`, with its steps, training time and engine; written with
    the umask, as the run's own files are (safetensors' ``save_file`` makes it 0600)."""
    tensors = {key: value.contiguous() for key, value in twin.model.state_dict().items()}
    fit = twin.fit
    metadata = {"steps": str(fit.steps), "train_seconds": repr(fit.train_seconds), "engine": fit.engine}
    (folder / TWIN_FILE).write_bytes(save(tensors, metadata=metadata))


def read_twin(run: TrainedRun, folder: Path) -> TwinRun | None:
    """The twin shipped beside ``run`` in ``folder``, or None if there is none (a regression, an older folder).

    It is not trained again: its history is empty, its steps and time are those it was trained in.
    """
    path = folder / TWIN_FILE
    if run.task != "classification" or not path.is_file():
        return None
    dataset = run.data.dataset
    spec = NetworkSpec.for_data(dataset.n_features, dataset.n_classes, run.config.model, bayesian=False)
    model = spec.build(spec.init(0))
    model.load_state_dict(load_file(str(path)))
    with safe_open(str(path), "pt") as file:
        metadata = file.metadata()
    empty = History(*(np.zeros(0) for _ in range(4)))
    fit = FitResult(empty, int(metadata["steps"]), float(metadata["train_seconds"]), False, metadata["engine"])
    return TwinRun(model=model, fit=fit, probs=twin_probs(model, run.data.x))


def build_gallery(folder: Path, on_preset: Callable[[Preset], None] | None = None) -> list[Path]:
    """Train every preset (and a classification preset's twin) and write it to ``folder/<slug>/``, replacing what
    was there; return the folders."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for preset in PRESETS:
        if on_preset is not None:
            on_preset(preset)
        run = train_preset(preset)
        target = folder / preset.slug
        staging = Path(tempfile.mkdtemp(prefix=f".{preset.slug}-", dir=folder))
        write_run_files(run, staging)
        if run.task == "classification":
            write_twin(train_twin(run), staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        written.append(target)
    return written
