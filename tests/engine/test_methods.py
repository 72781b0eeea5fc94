"""The alternatives to the BNN and the "which to use?" table, against independent computations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from bnn_core import BNNInputError, RunConfig, train_run, train_twin
from bnn_core.cli import main
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.methods.alternatives import (
    MethodsConfig,
    Predictor,
    bnn_predictor,
    dropout_predictor,
    ensemble_keys,
    plain_predictor,
    train_dropout,
    train_ensemble,
    train_method,
)
from bnn_core.methods.compare import (
    COLUMNS,
    MAP_RESOLUTION,
    SHIFTED_POINTS,
    auroc,
    compare,
    distance_to_reference,
    grid_mean,
    readable,
    shifted_points,
)
from bnn_core.posterior.probing import IN_RANGE, TRUCK, feature_grid, probe_presets
from bnn_core.posterior.uncertainty import point_uncertainty
from bnn_core.seeds import TWIN_INIT, stream_seed

SMALL = RunConfig(
    data=DataConfig(dataset="iris"),
    model=ModelConfig(hidden=(16,)),
    train=TrainConfig(epochs=300, engine="torchbnn"),
    samples=20,
)


@pytest.fixture(scope="module")
def run():
    return train_run(load_builtin("iris"), SMALL)


def test_dropout_with_p_zero_is_the_plain_network(run) -> None:
    """The compiled loop without masks and its torch predictor against the twin trained by fit()'s autograd through
    nn.Linear (this module's runs train with engine="torchbnn"), from the same start; test_dropout.py has the
    bit-for-bit check on the compiled engine."""
    twin = train_twin(run)
    network, _ = train_dropout(run, 0.0, init_key=stream_seed(run.config.seed, TWIN_INIT))
    probs = dropout_predictor(network, 5, run.config.seed, 0.0).probs(run.data.x)  # (5, N, C)
    np.testing.assert_allclose(probs.numpy(), twin.probs.expand(5, -1, -1).numpy(), atol=1e-6)
    assert point_uncertainty(probs).epistemic.max() < 1e-6


def test_dropout_masks_keep_one_minus_p_and_rescale(run) -> None:
    network, _ = train_dropout(replace(run, config=replace(run.config, train=replace(run.config.train, epochs=2))), 0.3)
    (mask,) = network.masks(rows=50, samples=40, key=7, first=0)  # (40, 50, 16)
    kept = mask > 0
    assert mask.shape == (40, 50, 16) and kept.float().mean().item() == pytest.approx(0.7, abs=0.02)
    np.testing.assert_allclose(mask[kept].numpy(), 1 / 0.7, rtol=1e-6)
    (again,) = network.masks(rows=50, samples=40, key=7, first=0)
    assert torch.equal(mask, again)  # addressed positions of the stream: the same masks every time


def test_mc_dropout_disagrees_and_repeats_itself(run) -> None:
    predictor = train_method(run, "dropout", MethodsConfig(dropout_p=0.3, dropout_samples=30))
    first, second = predictor.probs(run.data.x), predictor.probs(run.data.x)
    assert first.shape == (30, run.data.dataset.n_rows, 3) and torch.equal(first, second)
    assert point_uncertainty(first).epistemic.max() > 0.01


def test_an_ensemble_of_identical_seeds_has_no_epistemic_uncertainty(run) -> None:
    key = stream_seed(run.config.seed, TWIN_INIT)
    same = train_ensemble(run, [key, key, key])
    far = run.data.inputs(shifted_points(run.data))
    assert point_uncertainty(same.probs(far)).epistemic.max() < 1e-6
    different = train_ensemble(run, ensemble_keys(run.config.seed, 3))
    assert point_uncertainty(different.probs(far)).epistemic.max() > 0.05


def test_the_ensembles_first_member_is_the_plain_network(run) -> None:
    members = train_ensemble(run, ensemble_keys(run.config.seed, 2)).probs(run.data.x)
    np.testing.assert_allclose(members[0].numpy(), train_twin(run).probs.numpy(), atol=1e-6)
    assert len(set(ensemble_keys(run.config.seed, 5))) == 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_matches_scikit_learn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inside = rng.integers(0, 6, 80).astype(float)  # small integers: many ties, within and across the groups
    outside = rng.integers(2, 9, 50).astype(float)
    expected = roc_auc_score(np.r_[np.zeros(80), np.ones(50)], np.r_[inside, outside])
    assert auroc(inside, outside) == pytest.approx(expected, abs=1e-12)


def test_auroc_of_separated_and_swapped_scores() -> None:
    assert auroc(np.array([0.1, 0.2]), np.array([0.5, 0.9, 0.7])) == 1.0
    assert auroc(np.array([0.5, 0.9]), np.array([0.1, 0.2])) == 0.0
    assert auroc(np.array([0.3, 0.3]), np.array([0.3])) == 0.5


def test_shifted_points_lie_k_spans_beyond_the_training_box(run) -> None:
    points = shifted_points(run.data, spans=1.5)
    train = run.data.dataset.x[~run.data.is_test]
    low, high = train.min(axis=0), train.max(axis=0)
    span = high - low
    beyond = np.maximum(low - points, points - high) / span  # (M, D): spans outside the box, negative inside
    far = points[:SHIFTED_POINTS]
    np.testing.assert_allclose(beyond[:SHIFTED_POINTS].max(axis=1), 1.5, rtol=1e-9)
    assert far.shape == (SHIFTED_POINTS, 4)
    presets = probe_presets(run.data)
    np.testing.assert_array_equal(points[-2:], np.vstack([presets[IN_RANGE], presets[TRUCK]]))


def test_the_table_scores_each_method_as_the_run_scores_itself(run) -> None:
    twin = train_twin(run)
    table = compare([bnn_predictor(run), plain_predictor(twin.model, twin.fit.train_seconds)], run.data)
    bnn, plain = table.iloc[0], table.iloc[1]
    assert bnn["accuracy"] == pytest.approx(run.metrics["test_accuracy"])
    assert bnn["nll"] == pytest.approx(run.metrics["nll"], rel=1e-6)
    assert bnn["ece"] == pytest.approx(run.metrics["ece"], rel=1e-6)
    assert bnn["brier"] == pytest.approx(run.metrics["brier"], rel=1e-6)
    assert np.isnan(plain["auroc_mi"]) and np.isnan(plain["mi_gap"])  # one network: no MI
    assert bnn["mi_gap"] == pytest.approx(bnn["mi_far"] - bnn["mi_near"])
    assert bnn["ece_low"] <= bnn["ece"] <= bnn["ece_high"] and bnn["auroc_mi_low"] <= bnn["auroc_mi_high"]
    test = run.data.test_mask
    confidence = twin.probs[test].max(dim=1).values.numpy()
    far = run.data.inputs(shifted_points(run.data, seed=run.config.seed))
    far_confidence = plain_predictor(twin.model, 0.0).probs(far)[0].max(dim=1).values.numpy()
    labels = np.r_[np.zeros(len(confidence)), np.ones(len(far_confidence))]
    expected = roc_auc_score(labels, np.r_[1 - confidence, 1 - far_confidence])
    assert plain["auroc_max_softmax"] == pytest.approx(expected)
    assert readable(table).columns[0] == COLUMNS["method"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"dropout_p": 0.95}, "between 0 and 0.9"),
        ({"dropout_samples": 1}, "from 2 to 1000"),
        ({"ensemble_members": 50}, "from 2 to 20"),
    ],
)
def test_bad_method_settings_get_one_sentence(settings: dict, words: str) -> None:
    with pytest.raises(BNNInputError, match=words):
        MethodsConfig(**settings)


def test_the_alternatives_refuse_a_regression_run() -> None:
    regression = train_run(
        load_builtin("cubic"), RunConfig(data=DataConfig(dataset="cubic"), train=TrainConfig(epochs=5))
    )
    for method in ("plain", "dropout", "ensemble", "laplace", "hmc"):
        with pytest.raises(BNNInputError, match="regression"):
            train_method(regression, method, MethodsConfig())


def test_cli_compare_prints_the_table_and_writes_it(tmp_path, capsys) -> None:
    out = tmp_path / "table.csv"
    code = main(
        [
            "compare",
            "--dataset",
            "iris",
            "--hidden",
            "16",
            "--epochs",
            "200",
            "--methods",
            "plain,dropout,ensemble",
            "--members",
            "3",
            "--samples",
            "20",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    for name in ("BNN (torchbnn)", "plain network", "MC dropout", "deep ensemble", "OOD AUROC (MI)"):
        assert name in printed.out
    assert out.read_text().count("\n") == 5  # a header and four methods


def test_cli_compare_refuses_an_unknown_method(capsys) -> None:
    assert main(["compare", "--dataset", "iris", "--methods", "bnn,gp"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--methods takes names from bnn, plain, dropout, ensemble, laplace, hmc" in err[0]


def test_the_distance_to_hmc_is_the_mean_absolute_gap_on_the_maps_grid() -> None:
    """Against a brute-force loop over the grid: a reference of uniform probabilities, a method sure of class 0
    everywhere (distance 0.5 for two classes), and the reference itself (0)."""
    run = train_run(load_builtin("two_moons"), RunConfig(model=ModelConfig(hidden=(4,)), train=TrainConfig(epochs=50),
                                                          samples=5))  # fmt: skip
    uniform = Predictor("hmc", 0.0, lambda x: torch.full((3, len(x), 2), 0.5))
    sure = Predictor("plain", 0.0, lambda x: torch.tensor([1.0, 0.0]).expand(1, len(x), 2))
    exact = grid_mean(uniform, run.data)
    assert distance_to_reference(exact, exact) == 0.0
    assert distance_to_reference(grid_mean(sure, run.data), exact) == pytest.approx(0.5)
    bnn = bnn_predictor(run)
    grid = feature_grid(run.data, 0, 1, resolution=MAP_RESOLUTION)
    inputs = run.data.inputs(grid.points)
    mean = bnn.probs(inputs).double().mean(dim=0)
    brute = sum(abs(float(mean[i, c]) - 0.5) for i in range(len(inputs)) for c in range(2)) / (2 * len(inputs))
    assert distance_to_reference(grid_mean(bnn, run.data), exact) == pytest.approx(brute, rel=1e-12)
    table = compare([bnn, sure, uniform], run.data)
    assert list(table["dist_to_hmc"].round(12)) == [round(brute, 12), 0.5, 0.0]
