"""How well Markov chains mixed: rank-normalised split R-hat and bulk effective sample size.

Both follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and localization:
an improved R-hat for assessing convergence of MCMC", as ArviZ and Stan compute them, for many quantities at once
(every prediction of every draw): each chain is split in halves, the draws are replaced by the normal scores of their
ranks, and R-hat is the larger of the bulk's (those scores) and the tails' (the scores of the distances from the
median). ``tests/engine/test_mixing.py`` checks both against ArviZ.

Arrays are laid out (Q, C, S), quantities first and draws last, as ArviZ's array functions take them: ranking and
the FFT then run along contiguous memory.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft, special, stats


def _split(draws: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as chains of their own: (Q, C, S) → (Q, 2C, S // 2); an odd S drops the
    middle draw."""
    half = draws.shape[2] // 2
    return np.concatenate([draws[:, :, :half], draws[:, :, draws.shape[2] - half :]], axis=1)


def _normal_scores(draws: np.ndarray) -> np.ndarray:
    """Blom's normal scores of the ranks over all chains and draws of each quantity: (Q, C, S) → (Q, C, S)."""
    flat = draws.reshape(draws.shape[0], -1)
    ranks = stats.rankdata(flat, method="average", axis=1)
    return special.ndtri((ranks - 0.375) / (flat.shape[1] + 0.25)).reshape(draws.shape)


def _rhat(draws: np.ndarray) -> np.ndarray:
    """Gelman-Rubin R-hat of each quantity, (Q, C, S) → (Q,)."""
    samples = draws.shape[2]
    between = samples * draws.mean(axis=2).var(axis=1, ddof=1)
    within = draws.var(axis=2, ddof=1).mean(axis=1)
    return np.sqrt((between / within + samples - 1) / samples)


def rank_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat, the larger of the bulk's and the tails', of each quantity.

    Shape: draws (Q, C, S), C ≥ 2 chains of S ≥ 4 draws → (Q,). A quantity equal in every draw gives NaN.
    """
    split = _split(draws)
    median = np.median(split.reshape(split.shape[0], -1), axis=1)
    folded = np.abs(split - median[:, None, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.maximum(_rhat(_normal_scores(split)), _rhat(_normal_scores(folded)))


def _autocovariance(draws: np.ndarray) -> np.ndarray:
    """Each chain's autocovariance at lags 0 … S − 1 (divided by S), by FFT: (Q, C, S) → (Q, C, S)."""
    samples = draws.shape[2]
    centred = draws - draws.mean(axis=2, keepdims=True)
    size = fft.next_fast_len(2 * samples)
    spectrum = fft.rfft(centred, n=size, axis=2)
    return fft.irfft(spectrum * spectrum.conj(), n=size, axis=2)[:, :, :samples] / samples


def _ess(draws: np.ndarray) -> np.ndarray:
    """Effective sample size of each quantity by Geyer's initial monotone sequence over the chains' combined
    autocorrelation (Stan's estimator), (Q, C, S) → (Q,).

    The autocorrelations are summed in pairs of lags (0, 1), (2, 3), …; the sum stops before the first pair that is
    not positive (or near the end of the chains), each pair is lowered to the smallest before it, and the even lag
    after the last pair is added when positive.
    """
    quantities, chains, samples = draws.shape
    autocovariance = _autocovariance(draws)
    mean_var = autocovariance[:, :, 0].mean(axis=1) * samples / (samples - 1.0)
    var_plus = mean_var * (samples - 1.0) / samples + draws.mean(axis=2).var(axis=1, ddof=1)
    rho = 1.0 - (mean_var[:, None] - autocovariance.mean(axis=1)) / var_plus[:, None]  # (Q, S)
    rho[:, 0] = 1.0
    n_pairs = samples // 2
    pairs = rho[:, 0 : 2 * n_pairs : 2] + rho[:, 1 : 2 * n_pairs : 2]  # (Q, S // 2)
    # Pairs 0 … K − 1 count: K stops at the first pair that is not positive, and at most at the last pair that
    # leaves two more lags in the chain (Stan's and ArviZ's loop bound).
    most = max(math.ceil((samples - 2) / 2) - 1, 0)
    stops = np.concatenate([pairs[:, :most] <= 0.0, np.ones((quantities, 1), dtype=bool)], axis=1)
    counted = stops.argmax(axis=1)  # K per quantity: the first stop
    monotone = np.minimum.accumulate(pairs, axis=1)
    total = np.where(np.arange(n_pairs) < counted[:, None], monotone, 0.0).sum(axis=1)
    rows = np.arange(quantities)
    last_even, last_pair = rho[rows, 2 * counted], pairs[rows, counted]
    extra = np.where((last_even > 0.0) | (last_pair >= 0.0), last_even, 0.0)
    tau = np.maximum(-1.0 + 2.0 * total + extra, 1.0 / math.log10(chains * samples))
    return chains * samples / tau


def bulk_ess(draws: np.ndarray) -> np.ndarray:
    """Bulk effective sample size (the ESS of the rank-normalised split chains) of each quantity.

    Shape: draws (Q, C, S), S ≥ 4 → (Q,). A quantity equal in every draw gives NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _ess(_normal_scores(_split(draws)))
