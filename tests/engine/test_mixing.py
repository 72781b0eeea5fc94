"""Rank-normalised split R-hat and bulk ESS against ArviZ's own (arviz-stats), on chains built to be hard for them:
autocorrelated, with ties, shifted chains, odd lengths and very short chains."""

from __future__ import annotations

import numpy as np
import pytest
from arviz_stats.base import array_stats

from bnn_core.methods.mixing import bulk_ess, rank_rhat


def _chains(chains: int, samples: int, seed: int) -> np.ndarray:
    """(300, chains, samples): AR(1) chains with coefficients from −0.5 to 0.99, a third of the quantities with
    chains shifted apart, and 5% of the values rounded (ties)."""
    rng = np.random.default_rng(seed)
    quantities = 300
    phi = rng.uniform(-0.5, 0.99, (quantities, 1))
    draws = np.zeros((quantities, chains, samples))
    draws[..., 0] = rng.normal(size=(quantities, chains))
    for t in range(1, samples):
        draws[..., t] = phi * draws[..., t - 1] + rng.normal(size=(quantities, chains))
    draws += rng.normal(0.0, 0.3, (quantities, chains, 1)) * (rng.uniform(size=(quantities, 1, 1)) < 0.3)
    return np.where(rng.uniform(size=draws.shape) < 0.05, np.round(draws), draws)


@pytest.mark.parametrize(("chains", "samples"), [(4, 300), (4, 301), (2, 9), (8, 50), (3, 5), (2, 4)])
def test_rank_rhat_and_bulk_ess_equal_arviz(chains: int, samples: int) -> None:
    draws = _chains(chains, samples, seed=chains * 1000 + samples)
    expected_rhat = array_stats.rhat(draws, method="rank", chain_axis=-2, draw_axis=-1)
    expected_ess = array_stats.ess(draws, method="bulk", chain_axis=-2, draw_axis=-1)
    np.testing.assert_allclose(rank_rhat(draws), expected_rhat, rtol=1e-12)
    np.testing.assert_allclose(bulk_ess(draws), expected_ess, rtol=1e-10)


def test_chains_apart_give_a_large_rhat_and_independent_draws_an_ess_near_their_number() -> None:
    rng = np.random.default_rng(0)
    apart = rng.normal(size=(1, 4, 500)) + np.arange(4)[None, :, None]
    assert rank_rhat(apart)[0] > 1.5
    independent = rng.normal(size=(200, 4, 500))
    assert abs(np.median(bulk_ess(independent)) / 2000 - 1) < 0.1
    assert np.all(rank_rhat(independent) < 1.02)
