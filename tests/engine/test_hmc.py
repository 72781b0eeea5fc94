"""The HMC reference posterior: the compiled sampler's potential against autograd, its warm-up against pyro's,
its draws against the exact posterior of Bayesian linear regression and against pyro's NUTS on the same network;
reproducible in any thread, cancellable, refused for big networks, and its shipped files current."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from pyro.infer.mcmc.adaptation import WarmupAdapter
from pyro.ops.dual_averaging import DualAveraging as PyroDualAveraging
from pyro.ops.stats import effective_sample_size

from bnn_core.compiled import nuts as kernel
from bnn_core.config import DataConfig, ModelConfig, RunConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.data.prepared import prepare
from bnn_core.errors import BNNInputError
from bnn_core.methods import nuts
from bnn_core.methods.hmc import (
    MAP_RESOLUTION,
    HMCConfig,
    HMCPosterior,
    HMCProgress,
    check_hmc_size,
    hmc_posterior,
    map_points,
    run_hmc,
)
from bnn_core.methods.mixing import bulk_ess, rank_rhat
from bnn_core.methods.references import (
    REFERENCE_DATASETS,
    REFERENCES,
    load_reference,
    reference_key,
    reference_run_config,
    save_reference,
    shipped_reference,
)
from bnn_core.model.network import NetworkSpec
from bnn_core.posterior.regression import linear_posterior

# pyro's jit_compile traces the potential with torch.jit.trace, which torch 2.13 marks deprecated but still runs.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
ROOT = Path(__file__).resolve().parents[2]
NOISE_SIGMA, PRIOR_SIGMA = 0.5, 1.0
LINEAR = NetworkSpec((2, 1), "relu", 0.0, PRIOR_SIGMA)  # no hidden layer: Bayesian linear regression
TINY = HMCConfig(samples=30, warmup=30)
ON_BOTH = ["compiled", pytest.param("pyro", marks=pytest.mark.slow)]


def _linear_rows() -> tuple[np.ndarray, np.ndarray]:
    """x (40, 2) and y (40,) from a known line with noise σ NOISE_SIGMA."""
    generator = np.random.default_rng(11)
    x = generator.normal(0.0, 1.0, (40, 2))
    return x, x @ np.array([1.5, -0.7]) + 0.3 + generator.normal(0.0, NOISE_SIGMA, 40)


def _linear_hmc(config: HMCConfig, seed: int, on_progress=None) -> HMCPosterior | None:
    x, y = _linear_rows()
    return hmc_posterior(LINEAR, torch.tensor(x), torch.tensor(y), config, seed, "gaussian", NOISE_SIGMA, on_progress)


@pytest.fixture(scope="module")
def moons() -> tuple[HMCPosterior, list[HMCProgress]]:
    """Four short chains of the two_moons reference run (depth 6 keeps it quick), with every progress report."""
    run = reference_run_config("two_moons")
    data = prepare(load_builtin("two_moons"), run.data, run.seed)
    reports: list[HMCProgress] = []
    posterior = run_hmc(data, run, HMCConfig(samples=30, warmup=30, max_tree_depth=6), reports.append)
    assert posterior is not None
    return posterior, reports


def _log_posterior(spec: NetworkSpec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, noise: float | None):
    """log p(y | x, θ) + log p(θ) by hand, with torch.distributions: a categorical likelihood, or a Gaussian one
    with noise σ ``noise``."""
    h, position = x, 0
    for index, (fan_in, fan_out) in enumerate(zip(spec.sizes, spec.sizes[1:], strict=False)):
        weight = theta[position : position + fan_in * fan_out].view(fan_out, fan_in)
        bias = theta[position + fan_in * fan_out : position + fan_in * fan_out + fan_out]
        position += fan_in * fan_out + fan_out
        h = (getattr(torch, spec.activation)(h) if index else h) @ weight.T + bias
    if noise is None:
        likelihood = torch.distributions.Categorical(logits=h).log_prob(y).sum()
    else:
        likelihood = torch.distributions.Normal(h[:, 0], noise).log_prob(y).sum()
    prior = torch.distributions.Normal(*torch.tensor([spec.prior_mu, spec.prior_sigma], dtype=torch.float64))
    return likelihood + prior.log_prob(theta).sum()  # float64 μ₀ and σ₀: as floats, torch would round them to float32


@pytest.mark.parametrize(("activation", "noise"), [("relu", None), ("tanh", None), ("sigmoid", 0.3), ("tanh", 2.0)])
def test_the_compiled_potential_and_its_gradient_equal_autograd_through_the_log_posterior(activation, noise) -> None:
    generator = torch.Generator().manual_seed(0)
    spec = NetworkSpec((3, 5, 4, 1 if noise else 3), activation, 0.2, 0.7)
    x = torch.randn(37, 3, dtype=torch.float64, generator=generator)
    y = torch.randn(37, dtype=torch.float64, generator=generator) if noise else torch.randint(0, 3, (37,))
    posterior = nuts.target(spec, x, y, "gaussian" if noise else "categorical", noise or 1.0)
    values = []
    for _ in range(2):
        theta = torch.randn(spec.n_params, dtype=torch.float64, generator=generator, requires_grad=True)
        grad = np.zeros(spec.n_params)
        value = kernel.potential(posterior, theta.detach().numpy().copy(), grad)
        expected = -_log_posterior(spec, theta, x, y, noise)
        (expected_grad,) = torch.autograd.grad(expected, theta)
        np.testing.assert_allclose(grad, expected_grad.numpy(), rtol=1e-9, atol=1e-9)
        values.append((value, expected.item()))
    # The potential drops constants (log 2π, log σ's): differences between two points must agree.
    (first, first_expected), (second, second_expected) = values
    assert first - second == pytest.approx(first_expected - second_expected, rel=1e-10)


@pytest.mark.parametrize("warmup", [10, 19, 20, 60, 149, 150, 151, 200, 500, 1000])
def test_the_warm_up_windows_are_pyros(warmup: int) -> None:
    adapter = WarmupAdapter()
    adapter._warmup_steps = warmup
    assert nuts.adaptation_windows(warmup) == [tuple(w) for w in adapter._build_adaptation_schedule()]


def test_the_step_size_averaging_is_pyros() -> None:
    ours, theirs = nuts.DualAveraging(centre=math.log(10 * 0.3)), PyroDualAveraging(prox_center=math.log(10 * 0.3))
    for miss in np.random.default_rng(0).uniform(-0.8, 0.3, 50):
        ours.update(float(miss))
        theirs.step(float(miss))
        assert (ours.log_step, ours.log_average) == pytest.approx(theirs.get_state(), rel=1e-12)


@pytest.mark.parametrize("sampler", ON_BOTH)
def test_hmc_matches_the_exact_posterior_of_bayesian_linear_regression(sampler: str) -> None:
    samples, chains = 300, 4
    posterior = _linear_hmc(HMCConfig(samples=samples, warmup=200, chains=chains, sampler=sampler), seed=0)
    draws = posterior.samples  # (1200, 3): the two weights, then the bias
    exact = linear_posterior(*_linear_rows(), NOISE_SIGMA, 0.0, PRIOR_SIGMA)
    # No hidden units, so no symmetry: the parameters' own ESS gives each mean's Monte-Carlo standard error.
    ess = effective_sample_size(torch.from_numpy(draws).view(chains, samples, -1), 0, 1).numpy()
    mean, std = draws.mean(axis=0), draws.std(axis=0)
    assert np.all(np.abs(mean - exact.mean) <= 4 * std / np.sqrt(ess)), (mean, exact.mean, ess)
    assert np.all(np.abs(std / exact.std - 1) <= 0.1), (std, exact.std)
    assert posterior.rhat_max < 1.02 and posterior.divergences == 0


def _moments(posterior: HMCPosterior, points: torch.Tensor) -> tuple[np.ndarray, ...]:
    """Per point, p(class 1)'s posterior mean and sd, and the standard errors of both from its ESS (pyro's)."""
    chains = posterior.config.chains
    p = posterior.probs(points)[..., 1].double()  # (S, M)
    ess = effective_sample_size(p.view(chains, -1, p.shape[1]), 0, 1).numpy()
    p = p.numpy()
    centred = p - p.mean(axis=0)
    variance, fourth = (centred**2).mean(axis=0), (centred**4).mean(axis=0)
    sd_error = np.sqrt((fourth - variance**2) / ess) / (2 * np.sqrt(variance))  # the delta method on the variance
    return p.mean(axis=0), np.sqrt(variance), np.sqrt(variance / ess), sd_error


@pytest.mark.slow
@pytest.mark.parametrize(("activation", "seed"), [("tanh", 0), ("relu", 1)])
def test_the_compiled_sampler_draws_the_same_predictions_as_pyros_nuts(activation: str, seed: int) -> None:
    """Same network, prior, rows and settings, each sampler's own chains: p(class 1) at five points, near the rows
    and far, has the same posterior mean and sd within Monte-Carlo error (4 standard errors)."""
    generator = np.random.default_rng(5)
    x = generator.normal(size=(40, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.7 * generator.normal(size=40) > 0).astype(np.int64)
    spec = NetworkSpec((2, 3, 2), activation, 0.0, 1.0)
    points = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-2.0, 1.0], [3.0, 3.0], [0.0, 3.0]], dtype=torch.float64)
    moments = {}
    for sampler in ("compiled", "pyro"):
        config = HMCConfig(samples=250, warmup=150, chains=4, sampler=sampler)
        posterior = hmc_posterior(spec, torch.tensor(x), torch.tensor(y), config, seed)
        assert posterior.rhat_max < 1.05, (sampler, posterior.rhat_max)
        moments[sampler] = _moments(posterior, points)
    (mean, sd, mean_error, sd_error), (pyro_mean, pyro_sd, pyro_mean_error, pyro_sd_error) = moments.values()
    assert np.all(np.abs(mean - pyro_mean) <= 4 * np.hypot(mean_error, pyro_mean_error)), (mean, pyro_mean)
    assert np.all(np.abs(sd - pyro_sd) <= 4 * np.hypot(sd_error, pyro_sd_error)), (sd, pyro_sd)


def test_the_forward_pass_pyro_samples_through_has_exact_gradients_despite_its_in_place_activations() -> None:
    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    theta = torch.randn(49, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    for activation, function in (("relu", torch.relu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)):
        spec = NetworkSpec((2, 5, 4, 2), activation)  # 49 parameters

        def by_hand(flat: torch.Tensor, spec: NetworkSpec = spec, function=function) -> torch.Tensor:
            h = x
            for index, (weight, bias) in enumerate(spec.split(flat)):
                h = (function(h) if index else h) @ weight.T + bias
            return h.T

        outputs = spec.forward_samples(spec.split(theta[None]), x)[0]  # (C, N)
        (gradient,) = torch.autograd.grad(outputs.sin().sum(), theta)
        (expected,) = torch.autograd.grad(by_hand(theta).sin().sum(), theta)
        torch.testing.assert_close(gradient, expected)


@pytest.mark.parametrize("sampler", ON_BOTH)
def test_the_same_seed_gives_the_same_draws_in_any_thread_and_leaves_the_global_generators_alone(sampler) -> None:
    config = HMCConfig(samples=30, warmup=30, sampler=sampler)
    torch.manual_seed(123)
    random.seed(123)
    np.random.seed(123)
    before = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    alone = {seed: _linear_hmc(config, seed).samples for seed in (1, 2)}
    assert torch.equal(torch.get_rng_state(), before[0]) and random.getstate() == before[1]
    assert np.array_equal(np.random.get_state()[1], before[2])
    assert not np.array_equal(alone[1], alone[2])
    assert np.array_equal(_linear_hmc(config, 1).samples, alone[1])
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two runs' chains interleave
        together = dict(zip((1, 2), pool.map(lambda seed: _linear_hmc(config, seed).samples, (1, 2)), strict=True))
    assert all(np.array_equal(together[seed], alone[seed]) for seed in (1, 2))


def test_on_progress_returning_true_cancels_the_run_quickly() -> None:
    reports: list[HMCProgress] = []
    before = torch.get_rng_state()
    start = time.perf_counter()
    cancelled = _linear_hmc(HMCConfig(samples=5000, warmup=5000), 0, lambda p: reports.append(p) or len(reports) == 5)
    assert cancelled is None and len(reports) == 5 and time.perf_counter() - start < 20
    assert reports[0] == HMCProgress(0, 4, 1, 10000, True, reports[0].elapsed)
    assert torch.equal(torch.get_rng_state(), before)


def test_progress_is_reported_after_every_iteration_of_every_chain(moons) -> None:
    _, reports = moons
    assert len(reports) == 4 * 60
    assert [(p.chain, p.iteration, p.warmup) for p in reports[:2]] == [(0, 1, True), (0, 2, True)]
    assert [(p.chain, p.iteration, p.warmup) for p in reports[29:32]] == [(0, 30, True), (0, 31, False), (0, 32, False)]
    assert reports[60].chain == 1 and reports[-1].fraction == 1.0


def test_too_big_networks_and_sets_and_a_single_chain_are_refused_with_a_sentence() -> None:
    with pytest.raises(BNNInputError, match=r"^HMC is offered for networks of at most 2 hidden layers of at most "
                       r"32 units; this one has 1 hidden layer of 100 units\.$"):  # fmt: skip
        check_hmc_size(NetworkSpec((4, 100, 3), "relu"), 150)
    with pytest.raises(BNNInputError, match=r"this one has 3 hidden layers of 8, 8 and 8 units\.$"):
        check_hmc_size(NetworkSpec((2, 8, 8, 8, 2), "relu"), 150)
    with pytest.raises(BNNInputError, match=r"^HMC is offered for at most 500 training rows; this set has 501\.$"):
        check_hmc_size(NetworkSpec((2, 16, 2), "relu"), 501)
    check_hmc_size(NetworkSpec((2, 32, 32, 2), "relu"), 500)
    with pytest.raises(BNNInputError, match=r"^HMC chains must be a whole number from 2 to 8 \(R-hat compares"):
        HMCConfig(chains=1)
    with pytest.raises(BNNInputError, match=r"^HMC target accept must be a number from 0.5 to 0.99, not 1.0\.$"):
        HMCConfig(target_accept=1.0)
    with pytest.raises(BNNInputError, match=r"^The HMC sampler must be one of compiled, pyro, not 'stan'\.$"):
        HMCConfig(sampler="stan")
    learned = RunConfig(data=DataConfig(dataset="cubic"), model=ModelConfig(hidden=(4,), noise="learned"))
    with pytest.raises(BNNInputError, match=r"^HMC samples regression with a fixed noise σ only"):
        run_hmc(prepare(load_builtin("cubic"), learned.data, learned.seed), learned, TINY)


def test_a_two_moons_posterior_has_finite_diagnostics_and_probabilities_that_sum_to_one(moons) -> None:
    posterior, _ = moons
    assert posterior.samples.shape == (120, 82) and posterior.samples.dtype == np.float64
    assert all(np.isfinite([posterior.rhat_max, posterior.rhat_median, posterior.ess_min, posterior.ess_median]))
    assert 0.9 < posterior.rhat_median <= posterior.rhat_max  # split R-hat can dip just under 1
    assert 1 <= posterior.leapfrogs <= 2**6 - 1 and posterior.seconds_per_draw == posterior.seconds / 120
    x = torch.randn(9, 2, generator=torch.Generator().manual_seed(0))
    probs = posterior.probs(x)
    assert probs.shape == (120, 9, 2) and probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(dim=-1), torch.ones(120, 9))
    torch.testing.assert_close(probs, posterior.outputs(x).softmax(dim=-1))


def test_r_hat_and_ess_cover_the_training_rows_and_the_maps_grid(moons) -> None:
    """The diagnostics recomputed by hand from the draws: every class probability at the 240 training rows and
    the 50 × 50 grid, in float64, through the mixing functions."""
    posterior, _ = moons
    run = reference_run_config("two_moons")
    data = prepare(load_builtin("two_moons"), run.data, run.seed)
    grid = map_points(data)
    assert grid.shape == (MAP_RESOLUTION**2, 2)
    points = torch.cat([data.x[data.train_mask], data.inputs(grid)]).double()
    spec = posterior.spec
    logits = spec.forward_samples(spec.split(torch.from_numpy(posterior.samples)), points)  # (S, K, M)
    probs = logits.softmax(dim=1).reshape(4, 30, -1).permute(2, 0, 1).numpy()  # (K·M, chains, draws)
    probs = probs[probs.std(axis=(1, 2)) > 0]
    assert posterior.rhat_max == pytest.approx(rank_rhat(probs).max(), rel=1e-9)
    assert posterior.ess_min == pytest.approx(bulk_ess(probs).min(), rel=1e-9)


def test_a_saved_reference_loads_equal_with_its_key(moons, tmp_path: Path) -> None:
    posterior, _ = moons
    key = {"dataset": "two_moons", "seed": 0, "prior_sigma": 1.0}
    save_reference(tmp_path / "moons.safetensors", posterior, key)
    loaded, loaded_key = load_reference(tmp_path / "moons.safetensors")
    assert loaded_key == {"dataset": "two_moons", "seed": "0", "prior_sigma": "1.0"}
    assert np.array_equal(loaded.samples, posterior.samples) and loaded.spec == posterior.spec
    for name in ("likelihood", "rhat_max", "ess_min", "divergences", "accept_prob", "leapfrogs", "seconds", "config"):
        assert getattr(loaded, name) == getattr(posterior, name)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.probs(x), posterior.probs(x))


def test_the_kept_probabilities_are_those_of_the_same_inputs_only(moons) -> None:
    """The last inputs' answer is kept (the Methods page asks for its grid twice): equal values give it back,
    other values are computed afresh, and both equal a direct softmax of the draws' outputs."""
    posterior, _ = moons
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    first = posterior.probs(x)
    assert posterior.probs(x.clone()) is first
    moved = posterior.probs(x + 1.0)
    torch.testing.assert_close(moved, posterior.outputs(x + 1.0).softmax(dim=-1), rtol=0.0, atol=1e-6)
    assert not torch.equal(moved, first) and torch.equal(posterior.probs(x), first)


@pytest.mark.slow
def test_the_references_script_prints_its_table_and_writes_loadable_files(tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "hmc_references.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| reference | seconds | ms per draw | rhat_max |" in result.stdout
    for dataset in REFERENCE_DATASETS:
        assert f"| {dataset} |" in result.stdout
        posterior, key = load_reference(tmp_path / f"{dataset}.safetensors")
        assert key["dataset"] == dataset and posterior.samples.shape == (4 * int(key["samples"]), 82)


@pytest.mark.parametrize("dataset", REFERENCE_DATASETS)
def test_the_shipped_references_are_the_reference_runs_with_the_default_hmc_config(dataset: str) -> None:
    posterior, key = load_reference(REFERENCES / f"{dataset}.safetensors")
    run = reference_run_config(dataset)
    assert key == reference_key(run, HMCConfig()), "rerun benchmarks/hmc_references.py"
    config = HMCConfig()
    assert posterior.samples.shape == (config.chains * config.samples, 82) and posterior.rhat_max <= 1.01
    assert np.array_equal(shipped_reference(run, config).samples, posterior.samples)
    assert shipped_reference(run, HMCConfig(samples=301)) is None
