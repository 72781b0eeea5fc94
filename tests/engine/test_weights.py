"""bnn_core.posterior.weights against independent oracles: torch.distributions for each layer's KL,
torchbnn's own forward
pass for the prior draws, and the limits a prior must reach; and the per-layer σ that training reports live."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from bnn_core import (
    DataConfig,
    ModelConfig,
    NetworkSpec,
    Params,
    RunConfig,
    TrainConfig,
    TrainedRun,
    bayes_layers,
    build_bnn,
    build_twin,
    draw_noise,
    feature_grid,
    fit,
    load_builtin,
    prepare,
    train_run,
)
from bnn_core import kl_divergence as network_kl
from bnn_core.posterior.regression import axis_grid
from bnn_core.posterior.sample import sample_outputs
from bnn_core.posterior.weights import (
    LayerWeights,
    layer_weights,
    packed_layer_weights,
    prior_curves,
    prior_map,
    prior_network,
    prior_params,
    weight_counts,
)


@pytest.fixture(scope="module")
def deep() -> tuple[NetworkSpec, Params]:
    """A 3 → 5 → 4 → 2 tanh network whose means and spreads all differ from the prior's."""
    spec = NetworkSpec((3, 5, 4, 2), "tanh", prior_mu=0.2, prior_sigma=0.3)
    rng = np.random.default_rng(0)
    return spec, Params(rng.normal(0.0, 0.5, spec.n_params), rng.normal(-1.5, 0.4, spec.n_params))


@pytest.fixture(scope="module")
def cubic_run() -> TrainedRun:
    return train_run(load_builtin("cubic"), RunConfig(train=TrainConfig(epochs=50)))


def test_the_layers_kls_add_up_to_the_networks_kl(quick_run: TrainedRun, deep) -> None:
    trained = layer_weights(quick_run.model)
    assert sum(layer.kl for layer in trained) == pytest.approx(float(network_kl(quick_run.model, "sum")), rel=1e-6)
    spec, params = deep
    model = spec.build(params)
    assert sum(layer.kl for layer in layer_weights(model)) == pytest.approx(float(network_kl(model, "sum")), rel=1e-6)


def test_each_layers_kl_is_torch_distributions_kl_over_its_weights_and_biases(quick_run: TrainedRun, deep) -> None:
    spec, params = deep
    for model in (quick_run.model, spec.build(params)):
        prior = NetworkSpec.of(model)
        for ours, layer in zip(layer_weights(model), bayes_layers(model), strict=True):
            oracle = sum(
                kl_divergence(Normal(mu.double(), log_sigma.double().exp()), Normal(prior.prior_mu, prior.prior_sigma))
                .sum()
                .item()
                for mu, log_sigma in ((layer.weight_mu, layer.weight_log_sigma), (layer.bias_mu, layer.bias_log_sigma))
            )
            assert ours.kl == pytest.approx(oracle, rel=1e-6)


def test_a_layer_holds_its_weights_then_biases_with_its_name_and_snr(quick_run: TrainedRun) -> None:
    layers = layer_weights(quick_run.model)
    assert [layer.name for layer in layers] == ["layer 1 (4 → 100)", "layer 2 (100 → 3)"]
    assert [layer.n for layer in layers] == [500, 303]
    for ours, layer in zip(layers, bayes_layers(quick_run.model), strict=True):
        mu = torch.cat([layer.weight_mu.flatten(), layer.bias_mu.flatten()]).detach().double().numpy()
        log_sigma = torch.cat([layer.weight_log_sigma.flatten(), layer.bias_log_sigma.flatten()]).detach().double()
        np.testing.assert_array_equal(ours.mu, mu)
        np.testing.assert_allclose(ours.sigma, log_sigma.exp().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.snr, np.abs(mu) / ours.sigma)


def test_a_plain_network_has_no_weight_posterior() -> None:
    with pytest.raises(ValueError, match="BayesLinear"):
        layer_weights(build_twin(4, 3, ModelConfig(), seed=0))


def test_weight_counts_sort_parameters_by_what_the_data_did_to_them() -> None:
    # σ₀ = 0.1, μ₀ = 0: kept the prior; narrowed and pinned (|μ|/σ = 10); kept the width but moved (|μ|/σ = 2);
    # narrowed but near zero (|μ|/σ = 0.5).
    layer = LayerWeights("layer 1 (1 → 4)", np.array([0.01, 0.1, 0.2, 0.005]), np.array([0.1, 0.01, 0.1, 0.01]), 0.0)
    counts = weight_counts([layer], prior_mu=0.0, prior_sigma=0.1)
    assert (counts.total, counts.low_snr, counts.high_snr, counts.kept_width, counts.switched_off) == (4, 2, 1, 2, 1)


def test_the_prior_as_a_posterior_is_the_prior_with_no_kl(deep) -> None:
    spec, _ = deep
    params = prior_params(spec)
    np.testing.assert_array_equal(params.mu, 0.2)
    np.testing.assert_allclose(np.exp(params.log_sigma), 0.3)
    layers = layer_weights(prior_network(spec))
    assert all(layer.kl == pytest.approx(0.0, abs=1e-5) for layer in layers)  # float32 tensors: log σ rounds
    assert sum(layer.n for layer in layers) == spec.n_params


def test_prior_maps_are_torchbnns_forward_pass_with_each_draws_noise(quick_run: TrainedRun) -> None:
    spec = replace(NetworkSpec.of(quick_run.model), prior_sigma=1.0)
    grid = feature_grid(quick_run.data, 0, 1, resolution=12)
    maps = prior_map(spec, quick_run.data, grid, 3, seed=5, draws=10)
    model = prior_network(spec)
    x = quick_run.data.inputs(grid.points)
    with torch.no_grad():
        for k in range(3):
            for layer, (weight_eps, bias_eps) in zip(bayes_layers(model), draw_noise(model, 5, k), strict=True):
                layer.weight_eps, layer.bias_eps = weight_eps, bias_eps
            np.testing.assert_array_equal(maps.predicted[k], model(x).argmax(dim=-1).numpy().reshape(12, 12))
    assert maps.predicted.shape == (3, 12, 12) and maps.epistemic.shape == maps.draw_confidence.shape == (12, 12)


def test_a_tiny_prior_sigma_gives_the_zero_mean_networks_uniform_answer_one_class_a_draw(quick_run: TrainedRun) -> None:
    """With σ₀ → 0 a draw's logits are σ₀ × its output biases plus O(σ₀²): every draw answers 1/C, like the
    all-zero network, and each picks one class everywhere, the one its output-bias noise favours."""
    spec = replace(NetworkSpec.of(quick_run.model), prior_sigma=1e-3)
    grid = feature_grid(quick_run.data, 0, 1, resolution=20)
    maps = prior_map(spec, quick_run.data, grid, 8, seed=0)
    np.testing.assert_allclose(maps.draw_confidence, 1 / 3, atol=0.01)
    assert float(maps.epistemic.max()) < 1e-4
    model = prior_network(spec)
    for k in range(8):
        output_bias = draw_noise(model, 0, k)[-1][1].numpy()  # (C,) the last layer's bias noise
        top, second = np.sort(output_bias)[::-1][:2]
        assert top - second > 0.1  # no near tie in these draws, where the O(σ₀²) part could decide
        assert np.all(maps.predicted[k] == int(output_bias.argmax()))


def test_a_wider_prior_draws_surer_networks_that_disagree_more(quick_run: TrainedRun) -> None:
    base = NetworkSpec.of(quick_run.model)
    grid = feature_grid(quick_run.data, 0, 1, resolution=20)
    narrow, wide = (
        prior_map(replace(base, prior_sigma=sigma), quick_run.data, grid, 4, seed=0) for sigma in (0.03, 3.0)
    )
    assert narrow.draw_confidence.mean() < 0.4 < 0.9 < wide.draw_confidence.mean()
    assert narrow.epistemic.mean() < 0.05 < 0.5 < wide.epistemic.mean()


def test_prior_maps_repeat_with_the_seed_and_change_with_it(quick_run: TrainedRun) -> None:
    spec = replace(NetworkSpec.of(quick_run.model), prior_sigma=1.0)
    grid = feature_grid(quick_run.data, 0, 1, resolution=20)
    first, again, other = (prior_map(spec, quick_run.data, grid, 4, seed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first.predicted, again.predicted)
    np.testing.assert_array_equal(first.epistemic, again.epistemic)
    assert not np.array_equal(first.predicted, other.predicted)


def test_prior_curves_are_the_prior_networks_means_in_target_units(cubic_run: TrainedRun) -> None:
    data = cubic_run.data
    spec = replace(NetworkSpec.of(cubic_run.model), prior_sigma=2.0)
    raw = axis_grid(data, 0)
    curves = prior_curves(spec, data, raw, 20, seed=3)
    assert curves.shape == (20, len(raw))
    outputs = sample_outputs(prior_network(spec), data.inputs(raw), 20, 3)[..., 0].double().numpy()
    np.testing.assert_allclose(curves, outputs * data.target_std + float(data.target_scaler.mean[0]))
    np.testing.assert_array_equal(curves, prior_curves(spec, data, raw, 20, seed=3))


def test_a_tiny_prior_draws_flat_functions_at_the_training_targets_mean(cubic_run: TrainedRun) -> None:
    data = cubic_run.data
    spec = replace(NetworkSpec.of(cubic_run.model), prior_sigma=1e-4)
    curves = prior_curves(spec, data, axis_grid(data, 0), 5, seed=0)
    mean = float(data.dataset.y[~data.is_test].mean())
    np.testing.assert_allclose(curves, mean, atol=1e-3 * data.target_std)


def test_packed_and_model_layer_weights_agree(deep) -> None:
    spec, params = deep
    packed = packed_layer_weights(spec, params)
    built = layer_weights(spec.build(params))  # float32 tensors in between
    for a, b in zip(packed, built, strict=True):
        assert a.name == b.name
        np.testing.assert_allclose(a.mu, b.mu, rtol=1e-6)
        assert a.kl == pytest.approx(b.kl, rel=1e-5)


@pytest.mark.parametrize("engine", ["fast", "torchbnn"])
def test_training_reports_each_layers_mean_sigma_live(iris, engine: str) -> None:
    data = prepare(iris, DataConfig(), seed=0)
    x, y = data.x[data.train_mask], data.y[data.train_mask]
    model = build_bnn(4, 3, ModelConfig(hidden=(8, 6)), seed=0)
    seen = []
    fit(model, x, y, TrainConfig(epochs=30, engine=engine), seed=0, on_progress=seen.append, progress_every=10)
    assert all(len(report.layer_sigma) == 3 for report in seen)
    final = [float(layer.sigma.mean()) for layer in layer_weights(model)]
    np.testing.assert_allclose(seen[-1].layer_sigma, final, rtol=1e-6)
    assert seen[0].layer_sigma != pytest.approx([0.1] * 3, rel=1e-9)  # they start at σ₀ = 0.1; training moved them


def test_the_plain_twin_reports_no_layer_sigma(iris) -> None:
    data = prepare(iris, DataConfig(), seed=0)
    seen = []
    fit(build_twin(4, 3, ModelConfig(), seed=0), data.x, data.y, TrainConfig(epochs=10), 0, seen.append, 5)
    assert seen and all(report.layer_sigma == () for report in seen)
