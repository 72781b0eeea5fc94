"""The vectorised sampler against a loop of torchbnn forward passes given the same noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bnn_core import ModelConfig, bayes_layers, build_bnn, draw_noise, draw_probs, sample_probs
from bnn_core.posterior import sample as sample_module


def _torchbnn_loop(model: torch.nn.Sequential, x: torch.Tensor, n_samples: int, seed: int) -> torch.Tensor:
    """S plain torchbnn forward passes, each with its layers frozen to draw k's noise."""
    outputs = []
    layers = bayes_layers(model)
    with torch.no_grad():
        for k in range(n_samples):
            for layer, (weight_eps, bias_eps) in zip(layers, draw_noise(model, seed, k), strict=True):
                layer.weight_eps, layer.bias_eps = weight_eps, bias_eps
            outputs.append(model(x).softmax(dim=-1))
    for layer in layers:
        layer.unfreeze()
    return torch.stack(outputs)


@pytest.mark.parametrize("config", [ModelConfig(), ModelConfig(hidden=(16, 8), activation="tanh", prior_sigma=0.3)])
def test_vectorised_sampler_equals_a_loop_of_torchbnn_forward_passes(config: ModelConfig) -> None:
    model = build_bnn(4, 3, config, seed=0)
    x = torch.randn(150, 4, generator=torch.Generator().manual_seed(0))
    ours = sample_probs(model, x, 20, seed=9)
    assert ours.shape == (20, 150, 3)
    torch.testing.assert_close(ours, _torchbnn_loop(model, x, 20, seed=9), rtol=1e-5, atol=1e-6)


def test_draw_k_is_the_same_alone_and_inside_a_batch() -> None:
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    x = torch.randn(30, 4)
    batch = sample_probs(model, x, 10, seed=4)
    torch.testing.assert_close(draw_probs(model, x, seed=4, index=7), batch[7])
    torch.testing.assert_close(sample_probs(model, x, 3, seed=4, first=5), batch[5:8])
    assert not torch.allclose(batch[0], batch[1])
    assert not torch.allclose(draw_probs(model, x, seed=5, index=7), batch[7])


def test_chunked_sampling_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_bnn(4, 3, ModelConfig(hidden=(32,)), seed=0)
    x = torch.randn(200, 4)
    whole = sample_probs(model, x, 12, seed=1)
    monkeypatch.setattr(sample_module, "_CHUNK_FLOATS", 500)  # forces chunks of draws and of rows
    torch.testing.assert_close(sample_probs(model, x, 12, seed=1), whole)


def test_noise_is_standard_normal_and_independent_between_draws() -> None:
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    draws = torch.stack(
        [torch.cat([e.flatten() for pair in draw_noise(model, 0, k) for e in pair]) for k in range(400)]
    )
    assert draws.shape == (400, 803)
    # 321,200 standard normals: the mean's standard error is 0.0018, the std's 0.0013.
    assert abs(draws.mean().item()) < 0.01
    assert abs(draws.std().item() - 1.0) < 0.01
    correlation = torch.corrcoef(draws[:, :50].T)
    off_diagonal = correlation[~torch.eye(50, dtype=torch.bool)]
    assert off_diagonal.abs().max().item() < 0.25  # 400 draws: |r| beyond 0.25 is a > 5σ event


def test_sampling_refuses_misuse_and_accepts_float64_inputs() -> None:
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    x = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(sample_probs(model, x, 2, seed=0), sample_probs(model, x.float(), 2, seed=0))
    with pytest.raises(ValueError, match="draw index must be 0 or more"):
        draw_probs(model, x, seed=0, index=-1)
    with pytest.raises(ValueError, match="n_samples ≥ 1"):
        sample_probs(model, x, 0, seed=0)


def test_counter_normals_are_standard_normal_and_addressable() -> None:
    from scipy import stats

    from bnn_core.compiled import noise

    values = noise.normals(12345, 0, 200_000)
    assert stats.kstest(values, "norm").pvalue > 1e-3  # a correct generator fails this 1 time in 1000
    assert abs(np.corrcoef(values[:-1], values[1:])[0, 1]) < 0.01  # neighbours are uncorrelated
    np.testing.assert_array_equal(noise.normals(12345, 5_000, 10), values[5_000:5_010])
    assert not np.allclose(noise.normals(12346, 0, 10), values[:10])


def test_the_inverse_normal_cdf_matches_scipy_in_the_tails_too() -> None:
    from scipy import stats

    from bnn_core.compiled import noise

    uniforms = noise.uniforms(99, 0, 100_000)
    assert uniforms.min() > 0.0 and uniforms.max() < 1.0
    np.testing.assert_allclose(noise.normals(99, 0, 100_000), stats.norm.ppf(uniforms), rtol=1e-13, atol=1e-13)


def _key_whose_first_hash_is(value: int) -> int:
    """The stream key whose position 0 hashes to ``value``: SplitMix64's finaliser inverted step by step."""
    mask = 2**64 - 1

    def unshift(x: int, shift: int) -> int:  # inverse of x ^ (x >> shift)
        result = x
        for _ in range(64 // shift):
            result = x ^ (result >> shift)
        return result & mask

    z = unshift(value, 31)
    z = (z * pow(0x94D049BB133111EB, -1, 2**64)) & mask
    z = unshift(z, 27)
    z = (z * pow(0xBF58476D1CE4E5B9, -1, 2**64)) & mask
    z = unshift(z, 30)
    return (z - 0x9E3779B97F4A7C15) & mask  # position 0 adds the golden gamma once


def test_the_largest_and_smallest_hash_give_uniforms_strictly_inside_zero_and_one() -> None:
    """With 53 bits the largest hash rounded to exactly 1.0, where the inverse normal CDF is infinite."""
    from scipy import stats

    from bnn_core.compiled import noise

    top, bottom = _key_whose_first_hash_is(2**64 - 1), _key_whose_first_hash_is(0)
    assert noise.uniforms(top, 0, 1)[0] == 1.0 - 2.0**-53
    assert noise.uniforms(bottom, 0, 1)[0] == 2.0**-53
    high, low = noise.normals(top, 0, 1)[0], noise.normals(bottom, 0, 1)[0]
    assert high == pytest.approx(stats.norm.isf(2.0**-53), rel=1e-12) and low == pytest.approx(-high, rel=1e-12)
