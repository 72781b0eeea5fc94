"""The HMC reference posterior: against the exact posterior of Bayesian linear regression, reproducible in any
thread, cancellable, refused for big networks, and its shipped files current."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from pyro.ops.stats import effective_sample_size

from bnn_core.config import DataConfig, ModelConfig, RunConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.data.prepared import prepare
from bnn_core.errors import BNNInputError
from bnn_core.methods.hmc import (
    REFERENCE_DATASETS,
    REFERENCES,
    HMCConfig,
    HMCPosterior,
    HMCProgress,
    check_hmc_size,
    hmc_posterior,
    load_reference,
    reference_key,
    reference_run_config,
    run_hmc,
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
    """Two short chains of the two_moons reference run (depth 6 keeps it to seconds), with every progress report."""
    run = reference_run_config("two_moons")
    data = prepare(load_builtin("two_moons"), run.data, run.seed)
    reports: list[HMCProgress] = []
    posterior = run_hmc(data, run, HMCConfig(samples=30, warmup=30, max_tree_depth=6), reports.append)
    assert posterior is not None
    return posterior, reports


def test_hmc_matches_the_exact_posterior_of_bayesian_linear_regression() -> None:
    samples, chains = 300, 2
    posterior = _linear_hmc(HMCConfig(samples=samples, warmup=200, chains=chains), seed=0)
    draws = posterior.samples  # (600, 3): the two weights, then the bias
    exact = linear_posterior(*_linear_rows(), NOISE_SIGMA, 0.0, PRIOR_SIGMA)
    # No hidden units, so no symmetry: the parameters' own ESS gives each mean's Monte-Carlo standard error.
    ess = effective_sample_size(torch.from_numpy(draws).view(chains, samples, -1), 0, 1).numpy()
    mean, std = draws.mean(axis=0), draws.std(axis=0)
    assert np.all(np.abs(mean - exact.mean) <= 4 * std / np.sqrt(ess)), (mean, exact.mean, ess)
    assert np.all(np.abs(std / exact.std - 1) <= 0.15), (std, exact.std)
    assert posterior.rhat_max < 1.05 and posterior.divergences == 0


def test_the_forward_pass_hmc_samples_through_has_exact_gradients_despite_its_in_place_activations() -> None:
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


def test_the_same_seed_gives_the_same_draws_in_any_thread_and_leaves_the_global_generators_alone() -> None:
    torch.manual_seed(123)
    random.seed(123)
    np.random.seed(123)
    before = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    alone = {seed: _linear_hmc(TINY, seed).samples for seed in (1, 2)}
    assert torch.equal(torch.get_rng_state(), before[0]) and random.getstate() == before[1]
    assert np.array_equal(np.random.get_state()[1], before[2])
    assert not np.array_equal(alone[1], alone[2])
    assert np.array_equal(_linear_hmc(TINY, 1).samples, alone[1])
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two runs' chains interleave
        together = dict(zip((1, 2), pool.map(lambda seed: _linear_hmc(TINY, seed).samples, (1, 2)), strict=True))
    assert all(np.array_equal(together[seed], alone[seed]) for seed in (1, 2))


def test_on_progress_returning_true_cancels_the_run_quickly() -> None:
    reports: list[HMCProgress] = []
    before = torch.get_rng_state()
    start = time.perf_counter()
    cancelled = _linear_hmc(HMCConfig(samples=5000, warmup=5000), 0, lambda p: reports.append(p) or len(reports) == 5)
    assert cancelled is None and len(reports) == 5 and time.perf_counter() - start < 20
    assert reports[0] == HMCProgress(0, 2, 1, 10000, True, reports[0].elapsed)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.slow
def test_progress_is_reported_after_every_iteration_of_every_chain(moons) -> None:
    _, reports = moons
    assert len(reports) == 2 * 60
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
    learned = RunConfig(data=DataConfig(dataset="cubic"), model=ModelConfig(hidden=(4,), noise="learned"))
    with pytest.raises(BNNInputError, match=r"^HMC samples regression with a fixed noise σ only"):
        run_hmc(prepare(load_builtin("cubic"), learned.data, learned.seed), learned, TINY)


def test_a_two_moons_posterior_has_finite_diagnostics_and_probabilities_that_sum_to_one(moons) -> None:
    posterior, _ = moons
    assert posterior.samples.shape == (60, 82) and posterior.samples.dtype == np.float64
    assert all(np.isfinite([posterior.rhat_max, posterior.rhat_median, posterior.ess_min, posterior.ess_median]))
    assert 0.9 < posterior.rhat_median <= posterior.rhat_max  # split R-hat can dip just under 1
    x = torch.randn(9, 2, generator=torch.Generator().manual_seed(0))
    probs = posterior.probs(x)
    assert probs.shape == (60, 9, 2) and probs.dtype == torch.float32
    torch.testing.assert_close(probs.sum(dim=-1), torch.ones(60, 9))
    torch.testing.assert_close(probs, posterior.outputs(x).softmax(dim=-1))


def test_a_saved_reference_loads_equal_with_its_key(moons, tmp_path: Path) -> None:
    posterior, _ = moons
    key = {"dataset": "two_moons", "seed": 0, "prior_sigma": 1.0}
    save_reference(tmp_path / "moons.safetensors", posterior, key)
    loaded, loaded_key = load_reference(tmp_path / "moons.safetensors")
    assert loaded_key == {"dataset": "two_moons", "seed": "0", "prior_sigma": "1.0"}
    assert np.array_equal(loaded.samples, posterior.samples) and loaded.spec == posterior.spec
    for name in ("likelihood", "rhat_max", "ess_min", "divergences", "accept_prob", "seconds", "config"):
        assert getattr(loaded, name) == getattr(posterior, name)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.probs(x), posterior.probs(x))


@pytest.mark.slow
def test_the_references_script_prints_its_table_and_writes_loadable_files(tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "hmc_references.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| dataset | seconds | rhat_max |" in result.stdout
    for dataset in REFERENCE_DATASETS:
        assert f"| {dataset} |" in result.stdout
        posterior, key = load_reference(tmp_path / f"{dataset}.safetensors")
        assert key["dataset"] == dataset and posterior.samples.shape == (2 * int(key["samples"]), 82)


@pytest.mark.parametrize("dataset", REFERENCE_DATASETS)
def test_the_shipped_references_are_the_reference_runs_with_the_default_hmc_config(dataset: str) -> None:
    posterior, key = load_reference(REFERENCES / f"{dataset}.safetensors")
    run = reference_run_config(dataset)
    assert key == reference_key(run, HMCConfig()), "rerun benchmarks/hmc_references.py"
    config = HMCConfig()
    assert posterior.samples.shape == (config.chains * config.samples, 82) and np.isfinite(posterior.rhat_max)
    assert np.array_equal(shipped_reference(run, config).samples, posterior.samples)
    assert shipped_reference(run, HMCConfig(samples=201)) is None
