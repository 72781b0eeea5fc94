"""The server's C heap: few malloc arenas, and freed pages handed back to the system.

glibc gives each thread that allocates while another holds an arena a new arena, up to 8 per core. Streamlit runs
every script run in a thread of its own, so a room of sessions spreads the server's allocations over many arenas,
and what a closed room freed stays scattered among pages still partly in use. With two arenas,
``benchmarks/memory.py`` (8 sessions x 5 trainings, twice) left the server 26-28 MB above its level before the room,
against 53-80 MB with glibc's default, on the same busy machine at the same time. The server's threads mostly hold
the GIL while they allocate, so they rarely wait for each other's arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number for the arena limit (glibc's malloc.h)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name)


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let the process's threads share at most ``arenas`` malloc arenas from now on; False where the C library is
    not glibc (nothing to do there). Call it first, before the threads that would open arenas of their own."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    return mallopt is not None and mallopt(_M_ARENA_MAX, arenas) == 1


def return_free_memory() -> None:
    """Collect what was just released, then ask glibc to hand freed heap pages back to the system (elsewhere:
    nothing more to do). A run's torch modules refer to each other in cycles: without the collection they would
    be freed only by a later one, after the trim."""
    gc.collect()
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
