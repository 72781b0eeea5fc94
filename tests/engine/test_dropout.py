"""MC dropout on the compiled loop: against an independent float64 torch loop drawing the same masks, against the
plain network at p = 0, the masks' rate and layout, progress and cancellation, and a regression run."""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch

from bnn_core import DataConfig, ModelConfig, NetworkSpec, RunConfig, TrainConfig, load_builtin, prepare, train_run
from bnn_core.compiled import kernels, noise
from bnn_core.engine import fast
from bnn_core.engine.fast import Dropout
from bnn_core.engine.schedule import Schedule
from bnn_core.engine.train import fit
from bnn_core.experiment import train_twin
from bnn_core.methods.alternatives import dropout_predictor, train_dropout
from bnn_core.model.likelihood import Categorical, Gaussian, Likelihood
from bnn_core.model.network import Params
from bnn_core.seeds import DROPOUT_INIT, DROPOUT_MASKS, TWIN_INIT, stream_seed

_ACTIVATE = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def _torch_dropout(
    spec: NetworkSpec, start: Params, x: torch.Tensor, y: torch.Tensor, likelihood: Likelihood, config: TrainConfig,
    dropout: Dropout,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """MC dropout as the project trained it before the compiled loop, in float64: autograd through a packed
    forward pass, torch's Adam (with a learned noise σ, if any) and the schedule's rates and final average.

    Step t's (from 0) masks are the uniforms at t·N·H … of the mask stream, (N, units) per hidden layer row-major,
    layer after layer; a unit is kept if its uniform is ≥ p and then scaled by 1 / (1 − p).

    Returns:
        The weights kept (P,) and every step's data term (T,).
    """
    flat = torch.tensor(start.mu, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([flat, *likelihood.parameters()], lr=config.lr)
    schedule = Schedule(config)
    hidden, n = spec.sizes[1:-1], len(x)
    losses = np.empty(config.epochs)
    for step in range(config.epochs):
        for group in optimiser.param_groups:
            group["lr"] = schedule.lr(step)
        position = step * n * sum(hidden)
        h = x.double()
        layers = spec.split(flat)
        for index, (weight, bias) in enumerate(layers):
            h = h @ weight.T + bias
            if index < len(layers) - 1:
                uniforms = torch.from_numpy(noise.uniforms(dropout.key, position, n * hidden[index]))
                keep = (uniforms.view(n, hidden[index]) >= dropout.p).double() / (1.0 - dropout.p)
                h = _ACTIVATE[spec.activation](h) * keep
                position += n * hidden[index]
        loss = likelihood.data_term(h, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses[step] = loss.item()
        schedule.observe(step + 1, losses[: step + 1], Params(flat.detach().numpy().copy(), np.zeros(len(flat))), False)
    return schedule.final(Params(flat.detach().numpy().copy(), np.zeros(len(flat)))).mu, losses


def _rows(dataset: str) -> tuple[torch.Tensor, torch.Tensor]:
    data = prepare(load_builtin(dataset), DataConfig(dataset=dataset), seed=0)
    return data.x[data.train_mask], data.y[data.train_mask]


def _float64_network(spec: NetworkSpec, start: Params) -> torch.nn.Module:
    """The network in float64 holding ``start`` unrounded (``build`` makes float32)."""
    model = spec.build(start).double()
    spec.unpack(start, model)
    return model


CASES = [  # dataset, hidden, activation, likelihood, epochs
    ("two_moons", (16,), "relu", Categorical(), 60),
    ("two_moons", (12, 7), "tanh", Categorical(), 60),
    ("iris", (9,), "sigmoid", Categorical(), 60),
    ("cubic", (10,), "tanh", Gaussian("learned", 0.8), 60),
    ("heteroscedastic", (8, 6), "relu", Gaussian("heteroscedastic"), 60),
    ("two_moons", (16,), "relu", Categorical(), 1000),  # the decay's lower rates and the final average
]


@pytest.mark.parametrize(("dataset", "hidden", "activation", "likelihood", "epochs"), CASES)
def test_compiled_dropout_equals_a_float64_torch_loop_with_the_same_masks(
    dataset: str, hidden: tuple[int, ...], activation: str, likelihood: Likelihood, epochs: int
) -> None:
    """Both loops run in float64 from the same start with the same masks, so only the order of the sums separates
    them (the compiled loop's sums along the rows are reassociated): measured 3e-16 to 9e-16 of the largest weight
    after 60 steps, 2e-15 after 1,000. 1e-9 leaves room for that, while one mask drawn differently moves the weights
    by far more (checked below: without the masks they end 1e-2 and more away)."""
    x, y = _rows(dataset)
    spec = NetworkSpec((x.shape[1], *hidden, likelihood.n_outputs(int(y.max()) + 1)), activation, bayesian=False)
    start = spec.init(3)
    config = TrainConfig(epochs=epochs, engine="torchbnn").resolved(len(x))  # dropout trains compiled regardless
    dropout = Dropout(0.3, 12345)
    model = _float64_network(spec, start)
    compiled_noise, torch_noise = copy.deepcopy(likelihood), copy.deepcopy(likelihood)  # each trains a learned σ
    fitted = fit(model, x.double(), y, config, 0, likelihood=compiled_noise, dropout=dropout)
    expected, losses = _torch_dropout(spec, start, x, y, torch_noise, config, dropout)
    got = spec.pack(model).mu
    assert fitted.engine == "fast"
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    np.testing.assert_allclose(fitted.history.ce, losses, rtol=1e-9)
    for learned, reference in zip(compiled_noise.parameters(), torch_noise.parameters(), strict=True):
        assert learned.item() == pytest.approx(reference.item(), rel=1e-9)
        assert learned.item() != likelihood.log_sigma.item()  # it was trained
    unmasked = _float64_network(spec, start)
    fit(unmasked, x.double(), y, config, 0, likelihood=copy.deepcopy(likelihood))
    assert np.abs(spec.pack(unmasked).mu - got).max() > 1e-2


@pytest.fixture(scope="module")
def moons_run():
    config = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(16,)),
                       train=TrainConfig(epochs=300), samples=10)  # fmt: skip
    return train_run(load_builtin("two_moons"), config)


def test_train_dropout_equals_the_torch_loop_on_the_runs_rows_keys_and_schedule(moons_run) -> None:
    """End to end: the run's training rows, its initial-weight and mask streams, its Adam and schedule. The network
    keeps its weights in float32, as the torch network it predicts with, so each is the float64 result rounded to
    about 6e-8 relative: hence 1e-6 (a weight near 0 by the largest weight's scale)."""
    p = 0.2
    network, seconds = train_dropout(moons_run, p)
    seed, data = moons_run.config.seed, moons_run.data
    spec = network.spec
    start = spec.pack(spec.build(spec.init(stream_seed(seed, DROPOUT_INIT))))  # the float32 start it trained from
    config = moons_run.config.train.resolved(int(data.train_mask.sum()))
    dropout = Dropout(p, stream_seed(seed, DROPOUT_MASKS))
    x, y = data.x[data.train_mask], data.y[data.train_mask]
    expected, _ = _torch_dropout(spec, start, x, y, Categorical(), config, dropout)
    got = network.flat.double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    assert seconds > 0.0


def test_dropout_with_p_zero_is_the_plain_network_bit_for_bit(moons_run) -> None:
    """p = 0 draws no masks: the compiled loop of the plain twin, from the twin's start, the same bits."""
    twin = train_twin(moons_run)
    network, _ = train_dropout(moons_run, 0.0, init_key=stream_seed(moons_run.config.seed, TWIN_INIT))
    np.testing.assert_array_equal(network.flat.numpy(), _weights(twin.model))
    probs = dropout_predictor(network, 4, moons_run.config.seed, 0.0).probs(moons_run.data.x)  # (4, N, C)
    np.testing.assert_allclose(probs.numpy(), twin.probs.expand(4, -1, -1).numpy(), atol=1e-6)


def _weights(model: torch.nn.Module) -> np.ndarray:
    """A plain network's weights, packed (P,) float32."""
    return NetworkSpec.of(model).pack(model).mu.astype(np.float32)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_the_masks_drop_a_share_p_of_units_from_the_streams_positions(p: float) -> None:
    """Every hidden unit of every row: 0 or 1 / (1 − p); dropped in a share p of cases, within 4 binomial standard
    errors; each from its own position of the stream (layer by layer, (rows, units) row-major) and padding 0."""
    spec = NetworkSpec((3, 40, 25, 2), "relu", bayesian=False)
    rows, step, key = 301, 4, 99
    padded, units = fast.padded_rows(rows), (40, 25)
    keep = np.full(padded * sum(units), np.nan)
    kernels.fill_keep(fast.kernel_net(spec), np.uint64(key), p, step, rows, keep)
    uniforms = noise.uniforms(key, step * rows * sum(units), rows * sum(units))
    offset, position = 0, 0
    for width in units:
        mask = keep[offset : offset + width * padded].reshape(width, padded)  # (units, N')
        drawn = uniforms[position : position + rows * width].reshape(rows, width)  # (N, units)
        np.testing.assert_array_equal(mask[:, :rows], np.where(p <= drawn.T, 1.0 / (1.0 - p), 0.0))
        assert not mask[:, rows:].any()
        offset, position = offset + width * padded, position + rows * width
    real = keep.reshape(-1, padded)[:, :rows]  # (H, N)
    dropped = float((real == 0.0).mean())
    assert abs(dropped - p) < 4.0 * np.sqrt(p * (1.0 - p) / real.size)
    again = keep.copy()
    kernels.fill_keep(fast.kernel_net(spec), np.uint64(key), p, step + 1, rows, again)
    assert not np.array_equal(again, keep)  # the next step draws new masks


def test_dropout_training_reports_progress_and_can_be_cancelled(moons_run) -> None:
    seen = []
    assert train_dropout(moons_run, 0.1, lambda progress: seen.append(progress)) is not None
    assert seen and seen[-1].step == seen[-1].epochs == 300
    assert [p.step for p in seen] == sorted({p.step for p in seen}) and 0.0 < seen[-1].train_accuracy <= 1.0
    assert seen[-1].kl == 0.0 and seen[-1].total == seen[-1].ce
    assert train_dropout(moons_run, 0.1, lambda progress: True) is None


def test_dropout_trains_a_regression_with_the_runs_noise_model() -> None:
    """A learned noise σ is trained with the weights, from the run's start, and the run's own stays as it was."""
    config = RunConfig(data=DataConfig(dataset="cubic"), model=ModelConfig(hidden=(20,)),
                       train=TrainConfig(epochs=400), samples=5)  # fmt: skip
    run = train_run(load_builtin("cubic"), config)
    run_sigma = run.likelihood.log_sigma.item()
    network, _ = train_dropout(run, 0.2)
    assert isinstance(network.likelihood, Gaussian) and network.likelihood.noise == "learned"
    start = math.log(run.data.y[run.data.train_mask].double().std(correction=0).item())
    assert abs(network.likelihood.log_sigma.item() - start) > 0.05
    assert run.likelihood.log_sigma.item() == run_sigma
    outputs = network.sample_outputs(run.data.x, 6, run.config.seed)  # (6, N, 1)
    assert outputs.shape == (6, len(run.data.x), 1) and float(outputs.std(dim=0).mean()) > 0.0
    assert torch.equal(outputs, network.sample_outputs(run.data.x, 6, run.config.seed))
    head = dataclasses.replace(run.config.model, noise="heteroscedastic")
    heteroscedastic = train_run(load_builtin("cubic"), dataclasses.replace(config, model=head))
    two, _ = train_dropout(heteroscedastic, 0.2)
    assert two.sample_outputs(run.data.x, 3, run.config.seed).shape == (3, len(run.data.x), 2)
