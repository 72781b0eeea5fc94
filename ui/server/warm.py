"""Compile the engine's kernels once per server process, in the background, so no click waits for a compile."""

from __future__ import annotations

import threading

from bnn_core.compiled import noise  # NumPy and numba only: this module is imported before torch

# Set by the shell when a page has been drawn to its end.
FIRST_PAGE_DRAWN = threading.Event()
_FIRST_PAGE_WAIT_S = 30.0  # a first page that never finishes must not leave the trainer uncompiled
_started = threading.Lock()


def _warm_up() -> None:
    """The noise generator first, then, once the first page is drawn, torch's first skip_init, the trainer's kernels
    and the sampler's.

    The first chart needs only the generator (0.6 s cold), which compiles while the server is still
    importing torch. The trainer's kernels (about 12 s cold) wait: their compile holds the GIL for much
    of that time and slowed the first chart by about a second. A Train pressed before then compiles
    them itself.
    """
    noise.warm_up()
    FIRST_PAGE_DRAWN.wait(_FIRST_PAGE_WAIT_S)
    from torch import nn  # the page has loaded torch by now

    from bnn_core.engine import fast
    from bnn_core.methods import nuts

    # torch imports sympy (0.7 s) on the first skip_init, which builds every plain network: the Methods page
    # waited for it when it loaded a preset's shipped twin.
    nn.utils.skip_init(nn.Linear, in_features=1, out_features=1)
    fast.warm_up()
    nuts.warm_up()  # the HMC reference's sampler, last: only the Methods page uses it


def start() -> None:
    """Start the background compile; later calls do nothing."""
    if _started.acquire(blocking=False):
        threading.Thread(target=_warm_up, name="bnn-warm-up", daemon=True).start()
