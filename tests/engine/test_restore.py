"""A saved run comes back whole, as train_run returned it, without training: the app's gallery and saved runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bnn_core import (
    BNNInputError,
    RunConfig,
    TrainConfig,
    TrainedRun,
    load_run,
    n_bayes_parameters,
    read_csv,
    save_run,
    train_run,
)
from bnn_core.limits import MAX_RESTORE_COST
from bnn_core.runs import restore as restore_module
from bnn_core.runs.gallery import PRESETS
from bnn_core.runs.restore import restore_run

ROOT = Path(__file__).resolve().parents[2]


def _assert_same_run(restored: TrainedRun, original: TrainedRun) -> None:
    assert restored.config == original.config
    np.testing.assert_array_equal(restored.data.is_test, original.data.is_test)
    np.testing.assert_array_equal(restored.data.dataset.x, original.data.dataset.x)
    np.testing.assert_array_equal(restored.data.dataset.y, original.data.dataset.y)
    assert restored.data.dataset.feature_names == original.data.dataset.feature_names
    assert restored.data.dataset.class_names == original.data.dataset.class_names
    assert torch.equal(restored.data.x, original.data.x)
    for key, value in original.model.state_dict().items():
        assert torch.equal(restored.model.state_dict()[key], value), key
    # Addressable draws: the recomputed evaluation is the one computed after training, bit for bit.
    assert torch.equal(restored.evaluation.uncertainty.mean_probs, original.evaluation.uncertainty.mean_probs)
    assert torch.equal(restored.evaluation.first_draw, original.evaluation.first_draw)
    np.testing.assert_array_equal(restored.fit.history.total, original.fit.history.total)
    assert (restored.fit.steps, restored.fit.engine, restored.fit.note) == (original.fit.steps, "fast", "")
    assert restored.metrics == json.loads(json.dumps(original.metrics))


def test_a_saved_run_comes_back_whole(tmp_path: Path, quick_run: TrainedRun) -> None:
    _assert_same_run(restore_run(save_run(quick_run, tmp_path / "run")), quick_run)


def test_a_csv_run_comes_back_with_its_data_from_predictions_csv(tmp_path: Path) -> None:
    text = "a,b,kind,note\n" + "".join(f"{i},{(i * 7) % 5},{'xy'[i % 2]},n{i}\n" for i in range(40))
    dataset = read_csv(text.encode(), "kind", name="mine.csv")
    run = train_run(dataset, RunConfig(train=TrainConfig(epochs=30), samples=5))
    restored = restore_run(save_run(run, tmp_path / "csv"))
    _assert_same_run(restored, run)
    assert restored.data.dataset.name == "csv:mine.csv" and restored.data.dataset.label_column == "kind"
    assert restored.data.dataset.ignored_columns == ("note",)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "predictions.csv").write_text("split,label\ntrain,setosa\n"), "lacks the columns"),
        (lambda d: (d / "history.csv").unlink(), "history.csv could not be read"),
        (
            lambda d: (d / "predictions.csv").write_text(
                (d / "predictions.csv").read_text().replace(",setosa,", ",rose,", 1)
            ),
            r"labels \['rose'\] are not among",
        ),
        (lambda d: (d / "predictions.csv").write_text((d / "predictions.csv").read_text().replace("train", "x", 1)),
         "split column must hold only"),
        (lambda d: (d / "history.csv").write_text("ce,kl,total,train_accuracy\n1,2,3,0.5\n"),
         r"history\.csv has 1 row but metrics\.json gives \d+ steps"),
    ],
)  # fmt: skip
def test_a_damaged_run_folder_is_refused_in_one_sentence(tmp_path: Path, quick_run: TrainedRun, damage, message):
    folder = save_run(quick_run, tmp_path / "run").resolve()
    damage(folder)
    with pytest.raises(BNNInputError, match=message):
        restore_run(tmp_path / "run")


def test_a_restore_too_costly_to_recompute_is_refused_before_it_starts(
    tmp_path: Path, quick_run: TrainedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The widest network's zip took 5 minutes to restore; the cost, rows × samples × weights, is checked first."""
    folder = save_run(quick_run, tmp_path / "run")
    cost = quick_run.data.dataset.n_rows * quick_run.config.samples * n_bayes_parameters(quick_run.model)
    monkeypatch.setattr(restore_module, "MAX_RESTORE_COST", cost - 1)
    monkeypatch.setattr(restore_module, "evaluate", lambda *args: pytest.fail("the posterior was recomputed"))
    refusal = f"= {cost:.1e} steps to restore, more than the {cost - 1:.0e} a restore may take"
    with pytest.raises(BNNInputError, match=re.escape(refusal)):
        restore_run(folder)
    monkeypatch.undo()
    assert restore_run(folder).config == quick_run.config


@pytest.mark.parametrize("preset", PRESETS, ids=lambda preset: preset.slug)
def test_every_gallery_run_is_far_below_the_restore_limit(preset) -> None:
    loaded = load_run(ROOT / "gallery" / preset.slug)
    rows = len(pd.read_csv(ROOT / "gallery" / preset.slug / "predictions.csv"))
    assert rows * loaded.config.samples * n_bayes_parameters(loaded.model) < MAX_RESTORE_COST / 100
