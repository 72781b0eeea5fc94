"""The thread policy for a server shared by many sessions: one OpenMP/BLAS thread per call.

Every browser session is a thread of one process, and torch's and BLAS's thread pools are
process-wide. With two pool threads per call, two sessions put four busy threads on two cores,
and any other load made them spin against each other: the article's loop took 37.5 s instead
of 3.4 s, and breast_cancer 17.7 s instead of 1.1 s (docs/design.md, the thread policy). With one thread per call the
parallelism comes from the sessions themselves, each on its own core: torch's kernels and the
compiled trainer release the GIL, so two sessions run side by side (benchmarks/load.py).
"""

from __future__ import annotations

import contextlib

import torch
from threadpoolctl import threadpool_limits


def one_thread_per_call() -> None:
    """Make torch, OpenMP and every loaded BLAS run each call on one thread, for the whole process.

    Idempotent. Also right for a command-line run on a shared machine: a single call loses at most
    about 1.4× alone (100 posterior samples of a 100 × 100 map: 153 ms against 107 ms with two
    threads), and avoids the 5–10× loss when the cores are busy.
    """
    torch.set_num_threads(1)
    # Only settable before torch's first parallel work; its inter-op pool then stays as it was.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    threadpool_limits(limits=1)  # OpenBLAS/MKL under NumPy and scikit-learn, and any OpenMP runtime loaded
