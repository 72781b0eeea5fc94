"""The fast trainer against torchbnn itself: same loss and gradients for the same noise, same results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchbnn

from bnn_core import (
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    bayes_layers,
    build_bnn,
    build_twin,
    fast,
    fit,
    load_builtin,
    prepare,
    train_run,
)


def _autograd_reference(model, x, y, noise: np.ndarray, kl_weight: float, reduction: str):
    """Loss and gradients by autograd through torchbnn BayesLinear + BKLLoss, in float64, with frozen ε."""
    model = model.double()
    position = 0
    for layer in bayes_layers(model):
        for eps_name, like in (("weight_eps", layer.weight_mu), ("bias_eps", layer.bias_mu)):
            n = like.numel()
            setattr(layer, eps_name, torch.from_numpy(noise[position : position + n]).view_as(like))
            position += n
    model.zero_grad()
    ce = torch.nn.functional.cross_entropy(model(x.double()), y)
    kl = torchbnn.BKLLoss(reduction=reduction, last_layer_only=False)(model)[0]
    total = ce + kl_weight * kl
    total.backward()
    grad_mu = torch.cat([p.grad.flatten() for layer in bayes_layers(model) for p in (layer.weight_mu, layer.bias_mu)])
    grad_ls = torch.cat(
        [p.grad.flatten() for layer in bayes_layers(model) for p in (layer.weight_log_sigma, layer.bias_log_sigma)]
    )
    return ce.item(), kl.item(), total.item(), grad_mu.numpy(), grad_ls.numpy()


def _interleaved(model, kind: str) -> np.ndarray:
    """The packed order of fast.py: per layer, weights then biases."""
    names = ("weight_mu", "bias_mu") if kind == "mu" else ("weight_log_sigma", "bias_log_sigma")
    return np.concatenate(
        [getattr(layer, n).detach().double().flatten().numpy() for layer in bayes_layers(model) for n in names]
    )


@pytest.mark.parametrize(
    ("config", "reduction", "kl_weight"),
    [
        (ModelConfig(), "mean", 0.01),
        (ModelConfig(), "sum", 0.3),
        (ModelConfig(hidden=(16, 8), activation="tanh", prior_mu=0.2, prior_sigma=0.5), "mean", 1.0),
        (ModelConfig(hidden=(12, 10, 6), activation="sigmoid", prior_sigma=1.0), "sum", 0.01),
    ],
)
def test_loss_and_gradients_equal_autograd_through_torchbnn(config, reduction: str, kl_weight: float) -> None:
    data = prepare(load_builtin("iris"), DataConfig(test_size=0.0), seed=0)
    model = build_bnn(4, 3, config, seed=1)
    with torch.no_grad():  # move the posterior off its initial values so every term matters
        for layer in bayes_layers(model):
            layer.weight_log_sigma.add_(torch.randn_like(layer.weight_log_sigma) * 0.3)
            layer.bias_log_sigma.add_(torch.randn_like(layer.bias_log_sigma) * 0.3)
    n_params = sum(p.numel() for p in model.parameters()) // 2
    noise = np.random.default_rng(7).standard_normal(n_params)
    ce, kl, total, grad_mu, grad_ls = fast.loss_and_gradients(model, data.x, data.y, noise, kl_weight, reduction)
    ref_ce, ref_kl, ref_total, ref_mu, ref_ls = _autograd_reference(model, data.x, data.y, noise, kl_weight, reduction)
    assert ce == pytest.approx(ref_ce, rel=1e-5) and kl == pytest.approx(ref_kl, rel=1e-5)
    assert total == pytest.approx(ref_total, rel=1e-5)
    np.testing.assert_allclose(grad_mu, ref_mu, rtol=1e-5, atol=1e-5 * np.abs(ref_mu).max())
    np.testing.assert_allclose(grad_ls, ref_ls, rtol=1e-5, atol=1e-5 * np.abs(ref_ls).max())


def test_pack_and_unpack_round_trip_in_torchbnn_order() -> None:
    model = build_bnn(4, 3, ModelConfig(hidden=(5, 6)), seed=0)
    packed = fast.pack(model)
    np.testing.assert_array_equal(packed.mu, _interleaved(model, "mu"))
    other = build_bnn(4, 3, ModelConfig(hidden=(5, 6)), seed=9)
    fast.unpack(packed, other)
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_the_fast_engine_is_the_default_and_unsupported_models_fall_back() -> None:
    data = prepare(load_builtin("iris"), DataConfig(test_size=0.0), seed=0)
    assert TrainConfig().engine == "fast"
    bnn = fit(build_bnn(4, 3, ModelConfig(), 0), data.x, data.y, TrainConfig(epochs=5), seed=0)
    assert bnn.engine == "fast" and bnn.note == ""
    twin = fit(build_twin(4, 3, ModelConfig(), 0), data.x, data.y, TrainConfig(epochs=5), seed=0)
    assert twin.engine == "torchbnn" and "BayesLinear networks only" in twin.note
    big = torch.zeros(7000, 4)
    assert "torch's kernels are faster" in fast.slower_reason(build_bnn(4, 3, ModelConfig(), 0), big)
    assert fast.slower_reason(build_bnn(4, 3, ModelConfig(), 0), big[:150]) is None
    layers = build_bnn(4, 3, ModelConfig(hidden=(5,)), 0)
    odd = torch.nn.Sequential(layers[0], torch.nn.GELU(), layers[2])
    assert "relu, tanh or sigmoid" in fast.unsupported_reason(odd)


def test_same_seed_same_run_on_the_fast_engine() -> None:
    data = prepare(load_builtin("iris"), DataConfig(test_size=0.0), seed=0)
    runs = []
    for _ in range(2):
        model = build_bnn(4, 3, ModelConfig(), seed=0)
        result = fit(model, data.x, data.y, TrainConfig(epochs=100), seed=3, progress_every=7)
        runs.append((result.history.total, model.state_dict()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1].values(), runs[1][1].values(), strict=True):
        assert torch.equal(a, b)


def test_fast_and_reference_engines_reach_the_same_results_over_seeds() -> None:
    """Different noise streams, so equal within run-to-run noise, not to the digit."""
    article = DataConfig(test_size=0.0, scale="none")
    results = {}
    for engine in ("fast", "torchbnn"):
        runs = [
            train_run(load_builtin("iris"), RunConfig(data=article, train=TrainConfig(engine=engine), seed=s)).metrics
            for s in range(5)
        ]
        results[engine] = {k: np.array([m[k] for m in runs]) for k in ("train_accuracy", "final_ce", "final_kl")}
    fast_runs, reference = results["fast"], results["torchbnn"]
    assert (fast_runs["train_accuracy"] >= 0.95).all() and (reference["train_accuracy"] >= 0.95).all()
    assert abs(fast_runs["train_accuracy"].mean() - reference["train_accuracy"].mean()) < 0.02
    assert abs(fast_runs["final_kl"].mean() - reference["final_kl"].mean()) < 0.3
    assert abs(np.median(fast_runs["final_ce"]) - np.median(reference["final_ce"])) < 0.05
