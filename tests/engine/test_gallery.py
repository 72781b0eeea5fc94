"""The shipped gallery: every preset loads without training, equals what `python -m bnn_core gallery` trains, and
shows what its one line says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bnn_core import bnn_map, feature_grid, inside_data, probe, probe_presets, train_twin, training_median, twin_map
from bnn_core.errors import BNNInputError
from bnn_core.methods.hmc import HMCConfig, hmc_spec
from bnn_core.methods.references import shipped_reference
from bnn_core.posterior.probing import TRUCK
from bnn_core.posterior.regression import curve_bands
from bnn_core.runs.gallery import PRESETS, PRESETS_BY_SLUG, TWIN_FILE, read_twin, textbook_config, train_preset
from bnn_core.runs.restore import restore_run

GALLERY = Path(__file__).resolve().parents[2] / "gallery"
SLOW_PRESETS = {"overfit", "breast-cancer"}  # 8 to 10 s each to train again


@pytest.fixture(scope="module")
def shipped() -> dict[str, object]:
    return {preset.slug: restore_run(GALLERY / preset.slug) for preset in PRESETS}


def test_the_gallery_folder_holds_exactly_the_presets() -> None:
    assert sorted(p.name for p in GALLERY.iterdir() if p.is_dir()) == sorted(PRESETS_BY_SLUG)


@pytest.mark.parametrize(
    "preset",
    [pytest.param(p, id=p.slug, marks=[pytest.mark.slow] if p.slug in SLOW_PRESETS else []) for p in PRESETS],
)
def test_a_shipped_preset_is_what_the_gallery_command_trains(preset, shipped) -> None:
    """Training is deterministic; between machines the float64 trainer may round differently in the last bits."""
    run, fresh = shipped[preset.slug], train_preset(preset)
    assert run.config == fresh.config == preset.config
    for key, value in fresh.model.state_dict().items():
        torch.testing.assert_close(run.model.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)
    for key, value in fresh.metrics.items():
        if key != "train_seconds":
            assert run.metrics[key] == (pytest.approx(value, rel=1e-5, abs=1e-6) if isinstance(value, float) else value)


SLOW_TWINS = {"overfit", "breast-cancer", "wine"}  # 3 to 12 s each to train again
TWINS = [
    pytest.param(preset, id=preset.slug, marks=[pytest.mark.slow] if preset.slug in SLOW_TWINS else [])
    for preset in PRESETS
    if preset.config.data.task == "classification"
]


@pytest.mark.parametrize("preset", TWINS)
def test_a_shipped_twin_is_the_presets_twin_trained_again(preset, shipped) -> None:
    """The map, truck, calibration and methods pages set it beside the BNN without training it."""
    run = shipped[preset.slug]
    twin, fresh = read_twin(run, GALLERY / preset.slug), train_twin(run)
    assert twin is not None and twin.fit.steps == fresh.fit.steps == run.config.train.epochs
    for key, value in fresh.model.state_dict().items():
        torch.testing.assert_close(twin.model.state_dict()[key], value, rtol=1e-5, atol=1e-6, msg=key)
    torch.testing.assert_close(twin.probs, fresh.probs, rtol=1e-4, atol=1e-5)


def test_a_written_twin_has_the_run_files_mode(shipped, tmp_path: Path) -> None:
    """safetensors' save_file wrote it 0600 beside the run's 0644 files: a gallery copied to a server hid it."""
    from bnn_core.runs.gallery import write_twin
    from bnn_core.runs.store import MODEL_FILE, write_run_files

    run = shipped["article"]
    write_run_files(run, tmp_path)
    write_twin(read_twin(run, GALLERY / "article"), tmp_path)
    assert (tmp_path / TWIN_FILE).stat().st_mode == (tmp_path / MODEL_FILE).stat().st_mode


def test_a_regression_preset_has_no_twin(shipped) -> None:
    assert not (GALLERY / "cubic" / TWIN_FILE).exists() and read_twin(shipped["cubic"], GALLERY / "cubic") is None


@pytest.mark.slow  # 10 s: maps and probes of every preset
def test_the_presets_show_what_their_notices_say(shipped) -> None:
    article, textbook = shipped["article"], shipped["textbook"]

    def train_rows_epistemic(run) -> float:
        return run.evaluation.uncertainty.epistemic[run.data.train_mask].mean().item()

    def truck(run):
        return probe(run.model, train_twin(run).model, run.data, probe_presets(run.data)[TRUCK], 100, run.config.seed)

    assert train_rows_epistemic(textbook) > 10 * train_rows_epistemic(article)
    assert truck(article).epistemic < 0.05 and truck(article).mean_probs.max() > 0.95
    assert truck(textbook).epistemic > 0.3 and truck(textbook).mean_probs.max() < 0.8
    tight = shipped["tight-prior"]
    assert tight.metrics["test_accuracy"] < 0.4 and tight.evaluation.uncertainty.predicted.unique().numel() == 1
    assert shipped["no-prior"].metrics["train_accuracy"] == 1.0
    overfit = shipped["overfit"]
    assert overfit.metrics["train_accuracy"] == 1.0 > overfit.metrics["test_accuracy"]
    assert overfit.metrics["nll"] > 3 * article.metrics["nll"]
    cancer = truck(shipped["breast-cancer"])
    assert shipped["breast-cancer"].metrics["test_accuracy"] > 0.95
    assert cancer.epistemic > 0.3 and cancer.mean_probs.max() < 0.8 < cancer.twin_probs.max()
    moons = shipped["two-moons"]
    grid = feature_grid(moons.data, 0, 1, training_median(moons.data), resolution=40)
    outside = ~inside_data(grid.points, moons.data.dataset.x).reshape(40, 40)
    bnn, plain = bnn_map(moons.model, moons.data, grid, 100, 0), twin_map(train_twin(moons).model, moons.data, grid)
    assert bnn.confidence[outside].mean() < plain.confidence[outside].mean() - 0.05
    assert bnn.epistemic.max() > 0.3
    wine = shipped["wine"]
    assert wine.metrics["test_accuracy"] == 1.0 and wine.evaluation.uncertainty.epistemic.max() > 0.1


def test_every_classification_preset_hmc_can_take_ships_its_reference(shipped) -> None:
    """The Methods page then shows the HMC reference at once; two-moons-hmc is the preset made for it."""
    taken = []
    for preset in PRESETS:
        run = shipped[preset.slug]
        try:
            hmc_spec(run.data, run.config)
        except BNNInputError:
            continue
        if run.task == "classification":
            taken.append(preset.slug)
            assert shipped_reference(run.config, HMCConfig()) is not None, f"{preset.slug}: run hmc_references.py"
    assert taken == ["two-moons-hmc"]


def test_the_regression_preset_widens_its_band_beyond_the_data(shipped) -> None:
    run = shipped["cubic"]
    at = np.array([[-6.0], [0.0], [6.0]])
    epistemic = curve_bands(run.model, run.likelihood, run.data, at, 200, run.config.seed).epistemic
    assert run.task == "regression" and min(epistemic[0], epistemic[2]) >= 3 * epistemic[1]


@pytest.mark.parametrize("slug", ["textbook", "two-moons", "wine", "breast-cancer", "cubic"])
def test_textbook_presets_use_the_sidebar_buttons_settings(slug: str, shipped) -> None:
    run = shipped[slug]
    assert textbook_config(run.config) == run.config
    assert run.config.train.kl_weight == "1/N" and run.fit.kl_weight == 1 / int(run.data.train_mask.sum())
