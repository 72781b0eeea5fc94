"""Seed derivation: one user seed → an independent key for each random stream of a run.

``stream_seed(seed, STREAM)`` is ``SeedSequence(seed, spawn_key=(STREAM,))``'s first
64-bit word, halved to 63 bits. Each stream below is used for one job only, so no two
jobs share random numbers, and changing one (say, the number of posterior draws) never
moves another (the training noise). The keys feed :mod:`bnn_core.compiled.noise`, except the
split's, which seeds scikit-learn's stratified split.
"""

from __future__ import annotations

import functools

import numpy as np

SPLIT = 0  # which rows are held out for testing
INIT = 1  # initial weights of the Bayesian network
TRAIN_NOISE = 2  # the weight noise of every training step
DRAWS = 3  # posterior draws: draw k is the k-th stretch of this stream
TWIN_INIT = 4  # initial weights of the deterministic twin
HMC = 5  # the reference posterior's Markov chains: chain c is seeded by stream_seed(this key, c)
DROPOUT_INIT = 6  # initial weights of the MC-dropout network
DROPOUT_MASKS = 7  # its dropout masks, in training and in prediction
ENSEMBLE = 8  # member m of the deep ensemble starts from stream_seed(this key, m)
VALIDATION = 9  # which training rows tune holds out to choose the settings on
LAPLACE_DRAWS = 10  # the Laplace approximation's weight draws at prediction


@functools.lru_cache(maxsize=1024)  # a SeedSequence costs ~0.1 ms, and sampling asks on every Resample
def stream_seed(seed: int, stream: int) -> int:
    """A 63-bit key for ``stream`` under the user's ``seed`` (63 bits: torch and NumPy take it as a signed int)."""
    state = np.random.SeedSequence(seed, spawn_key=(stream,)).generate_state(1, dtype=np.uint64)[0]
    return int(state >> 1)


def split_seed(seed: int) -> int:
    """The seed of the stratified split, in the 32-bit range scikit-learn's ``random_state`` takes."""
    return stream_seed(seed, SPLIT) >> 31
