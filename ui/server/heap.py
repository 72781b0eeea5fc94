"""The server's C heap: freed pages handed back to the system, and why a shared server should run with few malloc
arenas.

glibc gives each new thread an arena of its own, up to 8 per core, and Streamlit runs every script run in a
thread. What a closed room freed then stays scattered among pages still partly in use, in many arenas.
``MALLOC_ARENA_MAX=2`` in the server's environment keeps every thread to two. It must be set before the process
starts: by the time ``app.py`` first runs, Streamlit's own threads have opened 12 arenas here, so a ``mallopt``
from the app would change nothing. ``deploy/run.sh`` sets it, and ``benchmarks/memory.py`` measures the difference
(docs/server.md#memory-after-a-room). The server's threads mostly hold the GIL while they allocate, so they rarely
wait for each other's arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

ARENAS = 2  # MALLOC_ARENA_MAX for a shared server


def return_free_memory() -> None:
    """Collect what was just released, then ask glibc to hand freed heap pages back to the system (elsewhere:
    nothing more to do). A run's torch modules refer to each other in cycles: without the collection they would
    be freed only by a later one, after the trim."""
    gc.collect()
    name = ctypes.util.find_library("c")
    trim = None if name is None else getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim(0)
