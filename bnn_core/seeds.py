"""Independent random streams from one user seed.

The split, the initial weights, the training noise and every posterior draw each
get their own seed, derived with NumPy's SeedSequence, so no two of them reuse
the same random numbers.
"""

from __future__ import annotations

import numpy as np
import torch

INIT = 1  # initial weights of the Bayesian network
TRAIN_NOISE = 2  # the weight samples drawn during training
DRAWS = 3  # the stream of posterior draws; draw k is its k-th stretch of normals
TWIN_INIT = 4  # initial weights of the deterministic twin


def stream_seed(seed: int, *key: int) -> int:
    """A 63-bit seed for the stream named by ``key`` under the user's ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=key).generate_state(1, dtype=np.uint64)[0]
    return int(state >> 1)  # torch.Generator.manual_seed takes a signed 64-bit value


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's constants
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def counter_normals(key: int, start: int, count: int) -> torch.Tensor:
    """Standard normals at positions ``start … start + count − 1`` of the stream ``key``, float64 (count,).

    Each value is a pure function of (key, position): SplitMix64 of the position gives 53
    uniform bits, u ∈ (0, 1), and the inverse normal CDF turns u into a normal. So any
    stretch of the stream (posterior draw k, or draws k … k + S − 1 at once) is computed
    directly and is identical however it is asked for.
    """
    positions = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):  # the hash multiplies modulo 2⁶⁴ on purpose
        z = np.uint64(key) + (positions + np.uint64(1)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX_1
        z = (z ^ (z >> np.uint64(27))) * _MIX_2
        z ^= z >> np.uint64(31)
    uniforms = ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return torch.special.ndtri(torch.from_numpy(uniforms))
