"""Uncertainty maps, single-point probes and the deterministic twin, on toy networks with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bnn_core import (
    DataConfig,
    ModelConfig,
    Probe,
    RunConfig,
    TrainConfig,
    bayes_layers,
    bnn_map,
    build_bnn,
    build_twin,
    calibration,
    csv_columns,
    feature_grid,
    load_builtin,
    nll,
    prepare,
    probe,
    probe_presets,
    read_csv,
    sample_probs,
    train_run,
    train_twin,
    twin_map,
)
from bnn_core.posterior.probing import COARSEST_MAP, FINEST_MAP, IN_RANGE, MAP_WORK, TRUCK, map_resolution
from ui.figures.probe_text import describe


@pytest.fixture(scope="module")
def toy_data():
    """Two raw features on [-1, 1], unscaled; class 1 where x1 > 0."""
    rows = b"x1,x2,label\n-1,-1,neg\n-0.5,1,neg\n0.5,-1,pos\n1,1,pos\n"
    return prepare(read_csv(rows, "label"), DataConfig(test_size=0.0, scale="none"), seed=0)


def _sign_network(bayesian: bool, scale: float = 5.0) -> torch.nn.Sequential:
    """2 → 2 → 2 with hidden = relu(±x1): logit_pos − logit_neg = scale·x1. σ ≈ 0 for the BNN."""
    model = (build_bnn if bayesian else build_twin)(2, 2, ModelConfig(hidden=(2,)), seed=0)
    first, second = (model[0], model[2])
    with torch.no_grad():
        weights = [torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), torch.tensor([[-scale, scale], [scale, -scale]]) / 2]
        for layer, weight in zip((first, second), weights, strict=True):
            (layer.weight_mu if bayesian else layer.weight).copy_(weight)
            (layer.bias_mu if bayesian else layer.bias).zero_()
            if bayesian:
                layer.weight_log_sigma.fill_(-30.0)
                layer.bias_log_sigma.fill_(-30.0)
    return model


def test_grid_covers_the_data_and_a_margin_with_other_features_at_the_median() -> None:
    data = prepare(load_builtin("iris"), DataConfig(), seed=0)
    grid = feature_grid(data, x_feature=2, y_feature=0, resolution=30)
    raw = data.dataset.x
    assert grid.xs.shape == grid.ys.shape == (30,) and grid.points.shape == (900, 4)
    span = raw[:, 2].max() - raw[:, 2].min()
    assert grid.xs[0] == pytest.approx(raw[:, 2].min() - 0.75 * span)
    assert grid.xs[-1] == pytest.approx(raw[:, 2].max() + 0.75 * span)
    cube = grid.points.reshape(30, 30, 4)  # [y, x, feature]
    assert cube[4, 7, 2] == grid.xs[7] and cube[4, 7, 0] == grid.ys[4]
    median = np.median(raw[~data.is_test], axis=0)
    np.testing.assert_allclose(cube[..., 1], median[1])
    np.testing.assert_allclose(cube[..., 3], median[3])


def test_maps_of_a_known_network(toy_data) -> None:
    grid = feature_grid(toy_data, 0, 1, resolution=21)
    expected = np.broadcast_to(grid.xs > 0, (21, 21)).astype(int)
    bnn = bnn_map(_sign_network(bayesian=True), toy_data, grid, samples=10, seed=0)
    twin = twin_map(_sign_network(bayesian=False), toy_data, grid)
    for result in (bnn, twin):
        assert result.predicted.shape == (21, 21)
        off_axis = np.abs(grid.xs) > 1e-9
        np.testing.assert_array_equal(result.predicted[:, off_axis], expected[:, off_axis])
        # p(pos) = sigmoid(5·x1), so confidence is known in closed form.
        np.testing.assert_allclose(result.confidence[0], 1 / (1 + np.exp(-5 * np.abs(grid.xs))), rtol=1e-5)
    np.testing.assert_allclose(bnn.epistemic, 0.0, atol=1e-6)  # σ ≈ 0: every sample is the same network
    np.testing.assert_allclose(twin.epistemic, 0.0)
    np.testing.assert_allclose(bnn.entropy, twin.entropy, atol=1e-5)


def test_probe_of_a_zero_network_is_uniform_and_purely_aleatoric(toy_data) -> None:
    model = _sign_network(bayesian=True, scale=0.0)
    result = probe(model, _sign_network(bayesian=False, scale=0.0), toy_data, np.array([3.0, -2.0]), 8, seed=0)
    assert result.sample_probs.shape == (8, 2) and result.twin_probs.shape == (2,)
    np.testing.assert_allclose(result.mean_probs, [0.5, 0.5])
    assert result.entropy == pytest.approx(math.log(2)) and result.aleatoric == pytest.approx(math.log(2))
    assert result.epistemic == pytest.approx(0.0, abs=1e-6)


def test_probe_matches_the_sampler_at_that_point(toy_data) -> None:
    model = build_bnn(2, 2, ModelConfig(hidden=(8,), prior_sigma=0.5), seed=1)
    point = np.array([0.3, -0.7])
    result = probe(model, build_twin(2, 2, ModelConfig(hidden=(8,)), seed=1), toy_data, point, 25, seed=3)
    expected = sample_probs(model, toy_data.inputs(point[None]), 25, seed=3)[:, 0]
    np.testing.assert_allclose(result.sample_probs, expected.numpy())


def test_presets_name_typical_points_a_boundary_and_two_points_off_the_data() -> None:
    data = prepare(load_builtin("iris"), DataConfig(), seed=0)
    presets = probe_presets(data)
    assert list(presets) == [
        "typical setosa",
        "typical versicolor",
        "typical virginica",
        "between versicolor and virginica",
        IN_RANGE,
        TRUCK,
    ]
    train = ~data.is_test
    np.testing.assert_allclose(presets["typical setosa"], np.median(data.dataset.x[train & (data.dataset.y == 0)], 0))
    scale = data.dataset.x[train].std(axis=0)
    distance = np.abs(presets[TRUCK] - data.dataset.x[train].mean(axis=0)) / scale
    assert distance.max() == pytest.approx(8.0)


def _mahalanobis(rows: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Each point's (M, D) Mahalanobis distance from the rows (N, D), by the rows' own mean and covariance."""
    centred = points - rows.mean(axis=0)
    inverse = np.linalg.inv(np.atleast_2d(np.cov(rows, rowvar=False)))
    return np.sqrt(np.einsum("ij,jk,ik->i", centred, inverse, centred))


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "two_moons"])
def test_the_in_range_preset_has_every_feature_in_range_and_is_far_from_the_data(name: str) -> None:
    """The honest "unlike anything seen": each feature within its training range (one at its end), yet farther
    from the data than any training row, by the data's own covariance. The truck leaves the ranges."""
    data = prepare(load_builtin(name), DataConfig(), seed=0)
    rows = data.dataset.x[~data.is_test]
    presets = probe_presets(data)
    point, low, high = presets[IN_RANGE], rows.min(axis=0), rows.max(axis=0)
    assert np.all(point >= low - 1e-9) and np.all(point <= high + 1e-9)
    assert np.any(np.isclose(point, low) | np.isclose(point, high))  # as far as the ranges allow
    assert _mahalanobis(rows, point[None])[0] > _mahalanobis(rows, rows).max()
    truck = presets[TRUCK]
    assert np.any((truck < low) | (truck > high))  # openly off the chart


def test_describe_reads_the_result_aloud() -> None:
    names = ("setosa", "versicolor", "virginica")

    def made(mean, epistemic, aleatoric, twin) -> Probe:
        return Probe(
            np.zeros(4), np.zeros((1, 3)), np.array(mean), epistemic + aleatoric, aleatoric, epistemic, np.array(twin)
        )

    truck = made([0.3, 0.3, 0.4], 0.41, 0.6, [0.001, 0.001, 0.998])
    assert describe(truck, names) == (
        "The BNN's samples disagree: epistemic 0.41 nats. The plain network is 99.8% sure it is virginica."
    )
    overlap = made([0.0, 0.5, 0.5], 0.01, 0.69, [0.0, 0.4, 0.6])
    assert describe(overlap, names).startswith("The BNN's samples agree, but each is unsure: aleatoric 0.69 nats")
    sure = made([0.99, 0.01, 0.0], 0.0, 0.05, [1.0, 0.0, 0.0])
    assert describe(sure, names).startswith("The BNN is sure: 99.0% setosa")


def test_the_deterministic_twin_reaches_90_percent_test_accuracy() -> None:
    run = train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=1000), samples=10))
    twin = train_twin(run)
    test = run.data.test_mask
    accuracy = (twin.probs.argmax(1)[test] == run.data.y[test]).float().mean().item()
    assert accuracy >= 0.9
    assert twin.fit.steps == 1000 and (twin.fit.history.kl == 0).all()
    assert not bayes_layers(twin.model)


@pytest.mark.parametrize("seed", range(3))
def test_far_from_the_data_the_bnn_is_more_epistemically_unsure(seed: int) -> None:
    run = train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=1000), seed=seed))
    raw = run.data.dataset.x
    directions = np.random.default_rng(seed).normal(size=(200, 4))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    far = raw.mean(0) + 6 * raw.std(0) * directions
    from bnn_core import point_uncertainty

    far_epistemic = point_uncertainty(sample_probs(run.model, run.data.inputs(far), 100, seed)).epistemic.mean()
    train_epistemic = run.evaluation.uncertainty.epistemic[run.data.train_mask].mean()
    assert far_epistemic > 2 * train_epistemic


@pytest.mark.parametrize("seed", range(3))
def test_with_the_textbook_elbo_the_truck_gets_high_epistemic_and_the_twin_is_surer(seed: int) -> None:
    config = RunConfig(
        model=ModelConfig(prior_sigma=1.0),
        train=TrainConfig(epochs=2000, kl_reduction="sum", kl_weight=0.01),
        seed=seed,
    )
    run = train_run(load_builtin("iris"), config)
    twin = train_twin(run)
    truck = probe_presets(run.data)[TRUCK]
    result = probe(run.model, twin.model, run.data, truck, 100, seed)
    assert result.epistemic > 0.3
    assert result.twin_probs.max() > result.mean_probs.max()  # the plain network is the surer of the two


def test_calibration_bundles_the_metrics() -> None:
    probs = torch.softmax(torch.randn(200, 3, generator=torch.Generator().manual_seed(0)), dim=1)
    labels = torch.randint(0, 3, (200,), generator=torch.Generator().manual_seed(1))
    result = calibration(probs, labels)
    assert result.nll == pytest.approx(nll(probs, labels))
    assert result.bins.counts.sum().item() == 200 and result.confidence.shape == (200,)


def test_csv_columns_reads_only_the_header() -> None:
    assert csv_columns(b"a;b;kind\n1;2;x\nbroken,row") == ["a", "b", "kind"]


def test_a_wide_network_gets_a_coarser_map_and_no_network_a_coarser_one_than_40() -> None:
    """100 samples of 1,024 units over 100 × 100 points took 25 s; the map page must draw in about a second."""
    assert map_resolution(100, 100) == FINEST_MAP == 100  # the gallery's 100-unit presets keep the full map
    assert map_resolution(16, 100) == 100 and map_resolution(16, 100, finest=60) == 60
    assert map_resolution(1024, 100) == COARSEST_MAP == 40
    assert map_resolution(200, 100) < 100 and 200 * 100 * map_resolution(200, 100) ** 2 <= MAP_WORK
