"""The compiled trainer against torchbnn itself: the same loss and gradients, and the same 50 steps in float64."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torchbnn

from bnn_core import (
    BNNInputError,
    DataConfig,
    ModelConfig,
    NetworkSpec,
    TrainConfig,
    bayes_layers,
    build_bnn,
    build_twin,
    fit,
    load_builtin,
    prepare,
)
from bnn_core.compiled import noise
from bnn_core.engine import fast, train

ARCHITECTURES = [
    (ModelConfig(), "mean", 0.01),
    (ModelConfig(), "sum", 0.3),
    (ModelConfig(hidden=(16, 8), activation="tanh", prior_mu=0.2, prior_sigma=0.5), "mean", 1.0),
    (ModelConfig(hidden=(12, 10, 6), activation="sigmoid", prior_sigma=1.0), "sum", 0.01),
]


@pytest.fixture(scope="module")
def iris_rows() -> tuple[torch.Tensor, torch.Tensor]:
    data = prepare(load_builtin("iris"), DataConfig(test_size=0.0), seed=0)
    return data.x, data.y


def _autograd_reference(model, x, y, eps: np.ndarray, kl_weight: float, reduction: str):
    """Loss and gradients by autograd through torchbnn BayesLinear + BKLLoss, in float64, with frozen ε."""
    model = copy.deepcopy(model).double()
    position = 0
    for layer in bayes_layers(model):
        for eps_name, like in (("weight_eps", layer.weight_mu), ("bias_eps", layer.bias_mu)):
            n = like.numel()
            setattr(layer, eps_name, torch.from_numpy(eps[position : position + n]).view_as(like))
            position += n
    ce = torch.nn.functional.cross_entropy(model(x.double()), y)
    kl = torchbnn.BKLLoss(reduction=reduction, last_layer_only=False)(model)[0]
    total = ce + kl_weight * kl
    total.backward()
    grad_mu = torch.cat([p.grad.flatten() for layer in bayes_layers(model) for p in (layer.weight_mu, layer.bias_mu)])
    grad_ls = torch.cat(
        [p.grad.flatten() for layer in bayes_layers(model) for p in (layer.weight_log_sigma, layer.bias_log_sigma)]
    )
    return ce.item(), kl.item(), total.item(), grad_mu.numpy(), grad_ls.numpy()


def _off_initial_values(model: torch.nn.Module) -> None:
    """Move every log σ off the prior's, so every term of the loss matters."""
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for layer in bayes_layers(model):
            for tensor in (layer.weight_log_sigma, layer.bias_log_sigma):
                tensor.add_(torch.randn(tensor.shape, generator=generator) * 0.3)


@pytest.mark.parametrize(("config", "reduction", "kl_weight"), ARCHITECTURES)
def test_loss_and_gradients_equal_autograd_through_torchbnn(iris_rows, config, reduction: str, kl_weight) -> None:
    x, y = iris_rows
    model = build_bnn(4, 3, config, seed=1)
    _off_initial_values(model)
    spec = NetworkSpec.of(model)
    eps = noise.normals(7, 0, spec.n_params)
    ce, kl, total, grad_mu, grad_ls, _ = fast.loss_and_gradients(
        spec, spec.pack(model), x, y, eps, kl_weight, reduction
    )
    ref_ce, ref_kl, ref_total, ref_mu, ref_ls = _autograd_reference(model, x, y, eps, kl_weight, reduction)
    # BKLLoss adds its terms up in float32 even for float64 layers, hence 1e-6 and not 1e-12 here.
    assert ce == pytest.approx(ref_ce, rel=1e-12) and kl == pytest.approx(ref_kl, rel=1e-6)
    assert total == pytest.approx(ref_total, rel=1e-6)
    np.testing.assert_allclose(grad_mu, ref_mu, rtol=1e-6, atol=1e-6 * np.abs(ref_mu).max())
    np.testing.assert_allclose(grad_ls, ref_ls, rtol=1e-6, atol=1e-6 * np.abs(ref_ls).max())


def _train_both(model: torch.nn.Module, x, y, config: TrainConfig, dtype: torch.dtype):
    """The same starting network trained by each engine, in ``dtype``; returns both state_dicts and histories."""
    results = {}
    for engine in ("fast", "torchbnn"):
        copy_ = copy.deepcopy(model).to(dtype)
        fitted = fit(copy_, x.to(dtype), y, dataclasses.replace(config, engine=engine), seed=11)
        assert fitted.engine == engine and fitted.note == ""
        results[engine] = (copy_.state_dict(), fitted.history)
    return results["fast"], results["torchbnn"]


@pytest.mark.parametrize(("config", "reduction", "kl_weight"), ARCHITECTURES)
def test_fifty_steps_of_both_engines_agree_in_float64(iris_rows, config, reduction: str, kl_weight: float) -> None:
    """Same init, same noise, same loss, same Adam: in float64 only rounding separates the two engines."""
    x, y = iris_rows
    model = build_bnn(4, 3, config, seed=2)
    train_config = TrainConfig(epochs=50, lr=0.01, kl_weight=kl_weight, kl_reduction=reduction)
    (fast_state, fast_history), (ref_state, ref_history) = _train_both(model, x, y, train_config, torch.float64)
    for key, value in ref_state.items():
        moved = (value - model.state_dict()[key].double()).abs().max().item()
        assert moved > 1e-3, f"{key} barely trained; the comparison would prove little"
        np.testing.assert_allclose(fast_state[key].numpy(), value.numpy(), rtol=1e-8, atol=1e-15, err_msg=key)
    np.testing.assert_allclose(fast_history.total, ref_history.total, rtol=1e-8)
    np.testing.assert_array_equal(fast_history.train_accuracy, ref_history.train_accuracy)


def test_fifty_steps_of_the_twin_agree_in_float64(iris_rows) -> None:
    x, y = iris_rows
    twin = build_twin(4, 3, ModelConfig(hidden=(20, 10), activation="tanh"), seed=3)
    (fast_state, _), (ref_state, _) = _train_both(twin, x, y, TrainConfig(epochs=50), torch.float64)
    for key, value in ref_state.items():
        np.testing.assert_allclose(fast_state[key].numpy(), value.numpy(), rtol=1e-8, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("rows", [1, 2, 31, 32, 33, 65])
@pytest.mark.parametrize("bayesian", [True, False])
def test_any_row_count_trains_alike_on_both_engines(iris_rows, rows: int, bayesian: bool) -> None:
    """The compiled loop pads the rows to a multiple of 32: the padding must carry no loss and no gradient."""
    x, y = iris_rows
    x, y = x[::2][:rows], y[::2][:rows]  # every other row, so even a few rows hold more than one class
    build = build_bnn if bayesian else build_twin
    model = build(4, 3, ModelConfig(hidden=(7, 5), activation="sigmoid"), seed=4)
    (fast_state, fast_history), (ref_state, ref_history) = _train_both(
        model, x, y, TrainConfig(epochs=50), torch.float64
    )
    for key, value in ref_state.items():
        np.testing.assert_allclose(fast_state[key].numpy(), value.numpy(), rtol=1e-8, atol=1e-15, err_msg=key)
    np.testing.assert_allclose(fast_history.total, ref_history.total, rtol=1e-8)
    np.testing.assert_array_equal(fast_history.train_accuracy, ref_history.train_accuracy)


@pytest.mark.parametrize("engine", ["fast", "torchbnn"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x, y: (x, y + 2), r"class numbers from 0 to 2, got labels from 2 to 4"),
        (lambda x, y: (x, y - 1), r"class numbers from 0 to 2, got labels from -1 to 1"),
        (lambda x, y: (torch.cat([x, x[:, :1]], dim=1), y), r"rows of 4 feature values, got an array of shape"),
        (lambda x, y: (x, y[:-1]), r"must be 150 integers, one per row, got \(149,\)"),
        (lambda x, y: (x.index_put((torch.tensor([3]), torch.tensor([1])), torch.tensor(float("nan"))), y),
         r"Row 3, feature 1 of the training inputs is nan"),
        (lambda x, y: (x, y.float()), r"must be 150 integers"),
    ],
)  # fmt: skip
def test_rows_a_network_cannot_learn_from_are_refused_by_both_engines(iris_rows, engine, change, message) -> None:
    x, y = change(*iris_rows)
    with pytest.raises(BNNInputError, match=message):
        fit(build_bnn(4, 3, ModelConfig(), seed=0), x, y, TrainConfig(epochs=5, engine=engine), seed=0)


def test_pack_and_unpack_round_trip_in_torchbnn_order() -> None:
    model = build_bnn(4, 3, ModelConfig(hidden=(5, 6)), seed=0)
    spec = NetworkSpec.of(model)
    packed = spec.pack(model)
    by_hand = np.concatenate(
        [
            getattr(layer, n).detach().double().flatten().numpy()
            for layer in model[::2]
            for n in ("weight_mu", "bias_mu")
        ]
    )
    np.testing.assert_array_equal(packed.mu, by_hand)
    other = build_bnn(4, 3, ModelConfig(hidden=(5, 6)), seed=9)
    spec.unpack(packed, other)
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_initial_weights_follow_torchbnn_and_differ_by_seed() -> None:
    spec = NetworkSpec((4, 100, 3), "relu", prior_sigma=0.1)
    params = spec.init(123)
    first, second = spec.layers
    assert np.abs(params.mu[first.weights]).max() <= 1 / np.sqrt(4)
    assert np.abs(params.mu[second.biases]).max() <= 1 / np.sqrt(100)
    assert np.abs(params.mu[first.weights]).max() > 0.45  # 400 uniforms on ±0.5 reach near the bound
    np.testing.assert_array_equal(params.log_sigma, np.log(0.1))
    assert not np.array_equal(spec.init(124).mu, params.mu)
    np.testing.assert_array_equal(spec.init(123).mu, params.mu)


def test_the_fast_engine_is_the_default_and_unsupported_models_fall_back(iris_rows) -> None:
    x, y = iris_rows
    assert TrainConfig().engine == "fast"
    bnn = fit(build_bnn(4, 3, ModelConfig(), 0), x, y, TrainConfig(epochs=5), seed=0)
    assert bnn.engine == "fast" and bnn.note == ""
    twin = fit(build_twin(4, 3, ModelConfig(), 0), x, y, TrainConfig(epochs=5), seed=0)
    assert twin.engine == "fast" and (twin.history.kl == 0).all()
    wide = NetworkSpec((4, 1024, 1024, 3), "relu")  # 1,055,744 weights a row
    assert "torch's matrix kernels are faster" in fast.slower_reason(wide, 150)
    assert fast.slower_reason(wide, 10) is None
    assert fast.slower_reason(NetworkSpec((30, 100, 2), "relu"), 455) is None  # breast_cancer at the defaults
    big = fit(build_bnn(4, 3, ModelConfig(hidden=(1024, 1024)), 0), x[:10], y[:10], TrainConfig(epochs=1), seed=0)
    assert big.engine == "fast"  # 10 rows: small enough
    bigger = fit(build_bnn(4, 3, ModelConfig(hidden=(1024, 1024)), 0), x, y, TrainConfig(epochs=1), seed=0)
    assert bigger.engine == "torchbnn" and "150 rows × 1,055,744 weights" in bigger.note
    layers = build_bnn(4, 3, ModelConfig(hidden=(5,)), 0)
    odd = torch.nn.Sequential(layers[0], torch.nn.GELU(), layers[2])
    fell_back = fit(odd, x, y, TrainConfig(epochs=5), seed=0)
    assert fell_back.engine == "torchbnn" and "relu, tanh or sigmoid" in fell_back.note


def test_same_seed_same_run_on_the_fast_engine(iris_rows) -> None:
    x, y = iris_rows
    runs = []
    for _ in range(2):
        model = build_bnn(4, 3, ModelConfig(), seed=0)
        result = fit(model, x, y, TrainConfig(epochs=100), seed=3, progress_every=7)
        runs.append((result.history.total, model.state_dict()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1].values(), runs[1][1].values(), strict=True):
        assert torch.equal(a, b)


def test_the_kernels_are_compiled_before_the_clock_starts(iris_rows, monkeypatch: pytest.MonkeyPatch) -> None:
    """train_seconds never includes numba's compile: fit compiles (or loads) first, then starts the clock."""
    x, y = iris_rows
    seen: list[bool] = []
    clock = train.TrainingClock

    def watched_clock() -> train.TrainingClock:
        seen.append(fast._ready.is_set())
        return clock()

    monkeypatch.setattr(train, "TrainingClock", watched_clock)
    monkeypatch.setattr(fast, "_ready", type(fast._ready)())  # as in a fresh process: nothing compiled yet
    for engine in ("fast", "torchbnn"):
        fit(build_bnn(4, 3, ModelConfig(hidden=(4,)), 0), x, y, TrainConfig(epochs=3, engine=engine), seed=0)
    assert seen == [True, True]
