"""tune: σ₀ and the KL weight chosen by NLL on held-out training rows; the test rows are never read."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bnn_core import DataConfig, ModelConfig, RunConfig, TrainConfig, load_builtin
from bnn_core.cli import main
from bnn_core.data.prepared import prepare
from bnn_core.tune import FACTORS, PRIOR_SIGMAS, search_set, tune

QUICK = TrainConfig(epochs=600)  # short cells: the test is about which rows are read, not about the winner


def _config(dataset: str) -> RunConfig:
    return RunConfig(data=DataConfig(dataset=dataset), model=ModelConfig(hidden=(8,)), train=QUICK, samples=20)


def _poisoned(name: str, config: RunConfig):
    """The dataset with every test row's features (and a regression target) replaced by nonsense: a search that
    read them would change. (A class label is left alone: the stratified split itself depends on the labels.)"""
    dataset = load_builtin(name)
    is_test = prepare(dataset, config.data, config.seed).is_test
    x, y = dataset.x.copy(), dataset.y.copy()
    x[is_test] = 1e6
    if dataset.task == "regression":
        y[is_test] = 1e6
    return replace(dataset, x=x, y=y), is_test


@pytest.mark.parametrize("name", ["two_moons", "sine_gap"])
def test_the_search_never_reads_the_test_rows(name: str, tmp_path: Path) -> None:
    config = _config(name)
    clean = tune(load_builtin(name), config, tmp_path / "clean")
    poisoned_set, is_test = _poisoned(name, config)
    assert is_test.any()
    poisoned = tune(poisoned_set, config, tmp_path / "poisoned")
    columns = ["prior_sigma", "factor", "nll"]
    np.testing.assert_array_equal(clean.table[columns].to_numpy(float), poisoned.table[columns].to_numpy(float))
    assert clean.config == poisoned.config


def test_the_search_set_is_the_training_rows_with_a_validation_share_held_out() -> None:
    dataset, config = load_builtin("iris"), _config("iris")
    rows = search_set(dataset, config)
    train = ~prepare(dataset, config.data, config.seed).is_test
    assert rows.n_rows == int(train.sum()) == 120
    np.testing.assert_array_equal(rows.x, dataset.x[train])
    assert rows.held_out.sum() == 24  # 20% of 120, stratified
    assert set(np.bincount(rows.y[rows.held_out])) == {8}


def test_the_choice_is_the_lowest_validation_nll_written_per_training_row(tmp_path: Path) -> None:
    result = tune(load_builtin("two_moons"), _config("two_moons"), tmp_path / "s")
    assert len(result.table) == len(PRIOR_SIGMAS) * len(FACTORS)
    assert result.best["nll"] == result.table["nll"].min()
    assert result.config.model.prior_sigma == result.best["prior_sigma"]
    assert result.config.train.kl_weight == f"{result.best['factor']:g}/N"
    assert result.config.train.kl_reduction == "sum"
    assert set(result.table["factor"]) == set(FACTORS)  # the weights are exactly F over the rows the cells train on


def test_the_command_trains_the_chosen_run_and_keeps_the_search(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["tune", "--dataset", "two_moons", "--hidden", "8", "--epochs", "600", "--samples", "20",
                 "--workers", "1", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "validation NLL (lower is better)" in printed and "chosen: prior σ₀" in printed
    assert (out / "config.json").exists() and (tmp_path / "run-search" / "results.csv").exists()


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [(["--workers", "0"], "--workers takes 1 to 256"), (["--dataset", "cubic", "--test-size", "0.9"], "at least 8")],
)
def test_tune_mistakes_are_one_sentence_and_exit_2(flags, fragment: str, tmp_path: Path, capsys) -> None:
    assert main(["tune", "--out", str(tmp_path / "run"), "--epochs", "100", *flags]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
