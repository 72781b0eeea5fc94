"""Independent random streams from one user seed.

The split, the initial weights, the training noise and every posterior draw each
get their own seed, derived with NumPy's SeedSequence, so no two of them reuse
the same random numbers.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
import torch

INIT = 1  # initial weights of the Bayesian network
TRAIN_NOISE = 2  # the weight samples drawn during training
DRAWS = 3  # the stream of posterior draws; draw k is its k-th stretch of normals
TWIN_INIT = 4  # initial weights of the deterministic twin


@functools.lru_cache(maxsize=1024)  # a SeedSequence costs ~0.1 ms, and sampling asks on every Resample
def stream_seed(seed: int, *key: int) -> int:
    """A 63-bit seed for the stream named by ``key`` under the user's ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=key).generate_state(1, dtype=np.uint64)[0]
    return int(state >> 1)  # torch.Generator.manual_seed takes a signed 64-bit value


_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's constants
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB


@numba.njit(cache=True, nogil=True)
def _uniforms(key: np.uint64, start: int, count: int) -> np.ndarray:
    """SplitMix64 of (key, position) per position, as float32 in (0, 1): 23 random bits and a half step,
    so that 2u − 1 stays strictly inside (−1, 1) in float32 (24 bits would round the top value to 1)."""
    out = np.empty(count, dtype=np.float32)
    for i in range(count):
        z = key + np.uint64(start + i + 1) * np.uint64(_GOLDEN)  # wraps modulo 2⁶⁴ on purpose
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX_1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX_2)
        z = z ^ (z >> np.uint64(31))
        out[i] = (np.float32(z >> np.uint64(41)) + np.float32(0.5)) * np.float32(2.0**-23)
    return out


def counter_normals(key: int, start: int, count: int) -> torch.Tensor:
    """Standard normals at positions ``start … start + count − 1`` of the stream ``key``, float32 (count,).

    Each value is a pure function of (key, position): SplitMix64 hashes the position into a
    uniform u, and √2 · erfinv(2u − 1) (the inverse normal CDF, vectorised by torch) turns it
    into a normal. So any stretch of the stream (posterior draw k, or draws k … k + S − 1 at
    once) is computed directly and is identical however it is asked for. With 23-bit uniforms
    the tails stop at ±5.3σ, a probability of 10⁻⁷.
    """
    uniforms = torch.from_numpy(_uniforms(np.uint64(key), start, count))
    return torch.erfinv(uniforms.mul_(2.0).sub_(1.0)).mul_(math.sqrt(2.0))
