"""Independent random streams from one user seed.

The split, the initial weights, the training noise and every posterior draw each
get their own seed, derived with NumPy's SeedSequence, so no two of them reuse
the same random numbers.
"""

from __future__ import annotations

import numpy as np

INIT = 1  # initial weights of the Bayesian network
TRAIN_NOISE = 2  # the weight samples drawn during training
DRAWS = 3  # posterior draw k uses the key (DRAWS, k)
TWIN_INIT = 4  # initial weights of the deterministic twin


def stream_seed(seed: int, *key: int) -> int:
    """A 63-bit seed for the stream named by ``key`` under the user's ``seed``."""
    state = np.random.SeedSequence(seed, spawn_key=key).generate_state(1, dtype=np.uint64)[0]
    return int(state >> 1)  # torch.Generator.manual_seed takes a signed 64-bit value
