"""numba's compiled-code cache, kept where this install can write and keyed by the kernels' source, and the
decorator every kernel uses.

numba keys a cached function by its own source file's time stamp only. A kernel in
``kernels.py`` that inlines code from ``noise.py`` therefore stays cached when only
``noise.py`` changes, and then runs the old code (here, once, a segfault). So the
cache goes in a folder named after a hash of every file that holds compiled code:
a change to any of them starts a fresh folder. The folder is under the user's cache
folder, or, when that is not writable (a read-only install run by a user without a
writable home), a private folder under the system's temp folder; if neither can be
had, kernels compile once per process instead of failing. A ``NUMBA_CACHE_DIR`` the
user set is left alone. The folder is set in numba's settings (``numba.config.CACHE_DIR``),
so other numba code in the same process caches there too.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import sys
import tempfile
from pathlib import Path

import numba
from numba.core import config as numba_config
from numba.misc.appdirs import AppDirs

# Every module with compiled code; the benchmarks' timing loops compile against these too.
COMPILED_SOURCES = ("jit.py", "noise.py", "kernels.py", "nuts.py")


def source_fingerprint() -> str:
    """A short hash of :data:`COMPILED_SOURCES` and numba's version: the name of this code's cache folder."""
    digest = hashlib.sha256(numba.__version__.encode())
    for name in COMPILED_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def _can_write(folder: Path) -> bool:
    """True if ``folder`` exists or can be made, and a file can be created in it (numba's own test)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _private(folder: Path) -> bool:
    """True if ``folder`` belongs to this user and nobody else can write to it: cached code is loaded and run."""
    if not hasattr(os, "getuid"):
        return True
    info = folder.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _temp_folder() -> Path | None:
    """A private folder under the temp folder, or None if none can be had."""
    user = os.getuid() if hasattr(os, "getuid") else "user"
    folder = Path(tempfile.gettempdir()) / f"bnn_core-numba-{user}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder if _private(folder) and _can_write(folder) else None


def _cache_root() -> Path | None:
    """The user's cache folder for bnn_core, or the private temp folder, or None."""
    user_wide = Path(AppDirs(appname="bnn_core", appauthor=False).user_cache_dir)
    if _can_write(user_wide):
        return user_wide
    return _temp_folder()


def _configure_cache() -> bool:
    """Point numba at this code's cache folder; return False if kernels must compile uncached."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return True  # the user chose a folder; numba uses it
    root = _cache_root()
    folder = None if root is None else root / f"numba-{source_fingerprint()}"
    if folder is None or not _can_write(folder):
        print("bnn_core: no writable cache folder; compiled kernels are rebuilt in every process.", file=sys.stderr)
        return False
    # numba's settings object, not the environment: children do not inherit it, and reload_config() would undo
    # numba settings the host program made in code.
    numba_config.CACHE_DIR = str(folder)
    return True


CACHE = _configure_cache()

# nogil: browser sessions are threads of one process; kernels that held the GIL would make them take turns.
# error_model="numpy": a division by zero gives inf or NaN, as in NumPy and torch, instead of a check before every
# division that raises ZeroDivisionError; that check keeps LLVM from vectorising any loop that divides (Adam's
# update ran 4× slower with it).
jit = functools.partial(numba.njit, cache=CACHE, nogil=True, error_model="numpy")
